/*
 * http_parse.c: an HTTP/1.x request head parser with limits (see
 * http_parse.h): one pass over the buffer, line by line, each line checked
 * against the grammar of RFC 9110/9112 as it comes. It does not allocate.
 */
#include "http_parse.h"

#include <string.h>

/* A tchar of RFC 9110, 5.6.2 (the characters of a token). */
static bool
is_tchar(unsigned char c)
{
    return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') ||
           (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* A field-value character: VCHAR, SP, HTAB or obs-text. */
static bool
is_vchar(unsigned char c)
{
    return c == ' ' || c == '\t' || (c > 0x20 && c != 0x7f);
}

/* Case-insensitive comparison of 'n' bytes of 'a' with the lowercase 'b'. */
static bool
same(const char *a, size_t n, const char *b)
{
    if (strlen(b) != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (((unsigned char)a[i] | 0x20) != (unsigned char)b[i] && a[i] != b[i])
            return false;
    return true;
}

/*
 * Finds the end of the line at 'p' within 'end': sets '*next' past its
 * ending and returns its length without it; -1 if the line is not whole
 * yet, -2 if it holds a bare CR, -3 if it is longer than 'max' (its ending
 * included). The bytes are judged in order, each once what it needs has
 * arrived, so that a prefix of the input says "not whole yet" or the same
 * as the whole: a line too long is so from its 'max'th byte, whatever
 * comes after (a bare CR past that point included).
 */
static long
line_end(const char *p, const char *end, size_t max, const char **next)
{
    for (const char *c = p; c < end; c++) {
        size_t i = (size_t)(c - p);
        if (*c == '\n') {
            if (i + 1 > max)
                return -3;
            *next = c + 1;
            return (long)(i > 0 && c[-1] == '\r' ? i - 1 : i);
        }
        if (i + 2 > max)
            return -3; /* no room left for its ending */
        if (*c == '\r' && c + 1 < end && c[1] != '\n')
            return -2; /* (a CR last may yet be followed by LF) */
    }
    return -1;
}

/* Parses "METHOD SP TARGET SP HTTP/1.x" (without its ending). */
static int
request_line(const char *p, size_t n, struct http_request *req)
{
    const char *end = p + n, *sp = memchr(p, ' ', n);
    if (sp == NULL || sp == p)
        return -400;
    for (const char *c = p; c < sp; c++)
        if (!is_tchar((unsigned char)*c))
            return -400;
    req->method = p;
    req->method_len = (size_t)(sp - p);
    const char *t = sp + 1, *sp2 = memchr(t, ' ', (size_t)(end - t));
    if (sp2 == NULL || sp2 == t)
        return -400;
    for (const char *c = t; c < sp2; c++)
        if ((unsigned char)*c <= 0x20 || (unsigned char)*c >= 0x7f)
            return -400;
    req->target = t;
    req->target_len = (size_t)(sp2 - t);
    const char *v = sp2 + 1;
    if (end - v != 8 || memcmp(v, "HTTP/", 5) != 0 || v[6] != '.' ||
        v[5] < '0' || v[5] > '9' || v[7] < '0' || v[7] > '9')
        return -400;
    if (v[5] != '1' || v[7] > '1')
        return -505;
    req->minor = v[7] - '0';
    req->keep_alive = req->minor == 1;
    return 0;
}

/* Reads the comma-separated tokens of a Connection field. */
static void
connection(const char *v, size_t n, struct http_request *req)
{
    const char *end = v + n;
    while (v < end) {
        const char *comma = memchr(v, ',', (size_t)(end - v));
        const char *stop = comma != NULL ? comma : end, *a = v, *b = stop;
        while (a < b && (*a == ' ' || *a == '\t'))
            a++;
        while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
            b--;
        if (same(a, (size_t)(b - a), "close"))
            req->keep_alive = false;
        else if (same(a, (size_t)(b - a), "keep-alive"))
            req->keep_alive = true;
        v = stop + 1;
    }
}

/* Reads a Content-Length value: digits only, the same if repeated. */
static int
content_length(const char *v, size_t n, struct http_request *req)
{
    uint64_t x = 0;
    if (n == 0 || n > 18) /* 18 digits cannot overflow */
        return -400;
    for (size_t i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9')
            return -400;
        x = x * 10 + (uint64_t)(v[i] - '0');
    }
    if (req->has_length && req->content_length != x)
        return -400;
    req->has_length = true;
    req->content_length = x;
    return 0;
}

/* Parses "NAME: VALUE" (without its ending) and notes what the server
 * needs; 'n_host' counts Host fields. */
static int
header(const char *p, size_t n, struct http_request *req, int *n_host)
{
    const char *end = p + n, *colon = memchr(p, ':', n);
    if (colon == NULL || colon == p)
        return -400;
    for (const char *c = p; c < colon; c++)
        if (!is_tchar((unsigned char)*c)) /* a space before ':' too */
            return -400;
    const char *v = colon + 1, *ve = end;
    while (v < ve && (*v == ' ' || *v == '\t'))
        v++;
    while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
        ve--;
    for (const char *c = v; c < ve; c++)
        if (!is_vchar((unsigned char)*c))
            return -400;
    size_t name = (size_t)(colon - p), vn = (size_t)(ve - v);
    if (same(p, name, "host"))
        ++*n_host;
    else if (same(p, name, "connection"))
        connection(v, vn, req);
    else if (same(p, name, "content-length"))
        return content_length(v, vn, req);
    else if (same(p, name, "transfer-encoding"))
        req->has_encoding = true;
    return 0;
}

int
http_parse(const char *buf, size_t len, const struct http_limits *lim,
           struct http_request *req)
{
    struct http_request r = {0};
    const char *p = buf,
               *end = buf + (len < lim->max_head ? len : lim->max_head);
    const char *next = NULL;
    int n_host = 0;
    long n;
    /* Step 1: empty lines, then the request line. */
    while ((n = line_end(p, end, lim->max_line, &next)) == 0)
        p = next;
    if (n == -2)
        return -400;
    if (n == -3)
        return -414;
    if (n == -1)
        return len >= lim->max_head ? -431 : 0;
    int st = request_line(p, (size_t)n, &r);
    if (st != 0)
        return st;
    p = next;
    /* Step 2: header fields up to the blank line. */
    for (;;) {
        n = line_end(p, end, lim->max_line, &next);
        if (n == -2)
            return -400;
        if (n == -3)
            return -431;
        if (n == -1)
            return len >= lim->max_head ? -431 : 0;
        if (n == 0)
            break;
        if (*p == ' ' || *p == '\t')
            return -400; /* obs-fold: rejected (RFC 9112, 5.2) */
        if (++r.n_headers > lim->max_headers)
            return -431;
        if ((st = header(p, (size_t)n, &r, &n_host)) != 0)
            return st;
        p = next;
    }
    /* Step 3: what holds for the head as a whole. */
    if ((r.has_length && r.has_encoding) || n_host > 1 ||
        (r.minor == 1 && n_host == 0))
        return -400;
    *req = r;
    return (int)(next - buf);
}
