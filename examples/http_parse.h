/*
 * http_parse.h: the parser of examples/httpd.c: an HTTP/1.x request head
 * (request line and header fields, RFC 9112) parsed from a byte buffer,
 * with a limit on everything it reads. A pure function of its input, with
 * no I/O and no allocation, so that a fuzzer can call it alone.
 *
 * It does not read bodies (it reports their framing), decode the target,
 * or keep the header fields beyond the few the server needs.
 */
#ifndef HTTP_PARSE_H
#define HTTP_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The limits; each one crossed has its own status (see http_parse()). */
struct http_limits {
    size_t max_head;    /* the whole head, its blank line included */
    size_t max_line;    /* one line, its line ending included */
    size_t max_headers; /* header fields */
};

/* What a head says. Pointers are views into the buffer parsed. */
struct http_request {
    const char *method;
    size_t method_len;
    const char *target;
    size_t target_len;
    int minor;               /* HTTP/1.minor: 0 or 1 */
    bool keep_alive;         /* the connection may carry another request */
    bool has_length;         /* a Content-Length was given */
    uint64_t content_length; /* its value */
    bool has_encoding;       /* a Transfer-Encoding was given */
    size_t n_headers;
};

/*
 * Parses the request head at the start of the 'len' bytes at 'buf'. Lines
 * end with "\r\n" or a bare "\n"; empty lines before the request line are
 * skipped (RFC 9112, 2.2).
 * Ownership: 'buf' and 'lim' are borrowed; '*req' is written only when a
 *   whole head parses, and points into 'buf'.
 * Returns: the length of the head (its blank line included) when it is
 *   whole and valid; 0 when more bytes are needed (and no limit is
 *   crossed yet); else a negative HTTP status:
 *   -400 malformed (a bad method, target, version, header field name or
 *        value, a bare CR, a folded line, a Content-Length that is not a
 *        number or disagrees with another, both framings, no Host in
 *        HTTP/1.1 or two of them);
 *   -414 the request line is longer than 'max_line';
 *   -431 a header line is longer than 'max_line', there are more than
 *        'max_headers' fields, or the head is longer than 'max_head';
 *   -505 a version other than HTTP/1.0 and HTTP/1.1.
 *   A line is too long as soon as its first 'max_line' bytes hold no line
 *   ending, whatever follows (a bare CR further on makes it no 400).
 * How the bytes arrive changes nothing: a parse of any prefix of the
 *   input returns 0 or what the parse of the whole input returns
 *   (tests/fuzz/fuzz_http.c checks it).
 * Context: anywhere (no state, no I/O).
 */
int http_parse(const char *buf, size_t len, const struct http_limits *lim,
               struct http_request *req);

#endif /* HTTP_PARSE_H */
