/*
 * fuzz_http.c: a libFuzzer target for the HTTP request head parser of the
 * example server (examples/http_parse.h), a pure function of its input.
 *
 * The first three bytes choose the limits and how the input is cut; the
 * rest is what a client sends on one connection (heads may follow each
 * other, as pipelined requests do). The input is parsed the way
 * examples/httpd.c does it: parse what has arrived, consume a whole head
 * and parse again, stop at the first error; once with every byte at hand
 * and once arriving in pieces of fuzzer-chosen sizes. Checked:
 *   - the result is a head length, 0 or one of the documented statuses;
 *   - the parser reads nothing past the bytes it was given (the rest of
 *     the buffer is poisoned for ASan while it runs);
 *   - '*req' is left alone unless a whole head parses;
 *   - a whole head lies within the input and within max_head, ends with
 *     its blank line, has no bare CR and no line above max_line, and what
 *     it reports (method, target, version, field count, Host, framing)
 *     agrees with a second, simpler reading of the same bytes;
 *   - a head that parses under the limits parses the same without them;
 *   - the results, heads and reports of the two ways agree: how the bytes
 *     were cut changes nothing the server would answer.
 * Built by tests/fuzz/run_fuzz with clang -fsanitize=fuzzer,address,undefined.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzzkit.h"
#include "http_parse.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FUZZ_HTTP_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define FUZZ_HTTP_ASAN 1
#endif
#ifdef FUZZ_HTTP_ASAN
#include <sanitizer/asan_interface.h>
#define POISON(p, n) __asan_poison_memory_region((p), (n))
#define UNPOISON(p, n) __asan_unpoison_memory_region((p), (n))
#else
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#define MAX_EVENTS 64 /* results kept per way of parsing */

/* One result: a status (or a head length) and, for a head, what it says,
 * with its pointers as offsets from the start of the input. */
struct event {
    int rc;
    size_t at; /* where in the input the parse started */
    size_t method, method_len, target, target_len, n_headers;
    int minor;
    bool keep_alive, has_length, has_encoding;
    uint64_t content_length;
};

struct trace {
    struct event ev[MAX_EVENTS];
    size_t n;
};

static bool
documented(int rc)
{
    return rc >= 0 || rc == -400 || rc == -414 || rc == -431 || rc == -505;
}

static bool
tchar(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
           (c >= 'A' && c <= 'Z') ||
           (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* Case-insensitive: is the 'n' bytes at 'p' the lowercase name 'name'? */
static bool
named(const unsigned char *p, size_t n, const char *name)
{
    if (strlen(name) != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((p[i] >= 'A' && p[i] <= 'Z' ? p[i] | 0x20 : p[i]) !=
            (unsigned char)name[i])
            return false;
    return true;
}

/*
 * A second reading of a head the parser accepted ('h' bytes at 'b'): its
 * lines, its request line and its field names, checked against what the
 * parser reported.
 */
static void
check_head(const unsigned char *b, size_t h, const struct http_limits *lim,
           const struct http_request *req)
{
    FUZZ_CHECK(h >= 1 && h <= lim->max_head && b[h - 1] == '\n');
    const unsigned char *end = b + h;
    /* The method and the target are within the head, the version fits. */
    FUZZ_CHECK((const unsigned char *)req->method >= b &&
               (const unsigned char *)req->method + req->method_len <= end);
    FUZZ_CHECK((const unsigned char *)req->target >= b &&
               (const unsigned char *)req->target + req->target_len <= end);
    FUZZ_CHECK(req->method_len >= 1 && req->target_len >= 1);
    FUZZ_CHECK(req->minor == 0 || req->minor == 1);
    FUZZ_CHECK(req->n_headers <= lim->max_headers);
    FUZZ_CHECK(!(req->has_length && req->has_encoding));
    FUZZ_CHECK(!req->has_length || req->content_length < 1000000000000000000u);
    for (size_t i = 0; i < req->method_len; i++)
        FUZZ_CHECK(tchar((unsigned char)req->method[i]));
    for (size_t i = 0; i < req->target_len; i++)
        FUZZ_CHECK((unsigned char)req->target[i] > 0x20 &&
                   (unsigned char)req->target[i] < 0x7f);
    /* Every CR ends a line. */
    for (size_t i = 0; i < h; i++)
        FUZZ_CHECK(b[i] != '\r' || (i + 1 < h && b[i + 1] == '\n'));
    /* The lines: empty ones first, the request line, the fields, the
     * blank line that ends the head (and nothing after it). */
    const unsigned char *p = b;
    size_t lines = 0, fields = 0, host = 0, length = 0, encoding = 0;
    bool blank = false;
    while (p < end) {
        FUZZ_CHECK(!blank);
        const unsigned char *nl = memchr(p, '\n', (size_t)(end - p));
        FUZZ_CHECK(nl != NULL);
        size_t n = (size_t)(nl - p) + 1; /* with its ending */
        size_t text = n - 1 - (n >= 2 && nl[-1] == '\r');
        if (text == 0) {
            if (lines > 0)
                blank = true;
        } else {
            FUZZ_CHECK(n <= lim->max_line);
            if (lines == 0) {
                FUZZ_CHECK((const unsigned char *)req->method == p);
                FUZZ_CHECK(p[req->method_len] == ' ');
                FUZZ_CHECK((const unsigned char *)req->target ==
                           p + req->method_len + 1);
                FUZZ_CHECK(text == req->method_len + req->target_len + 10);
                FUZZ_CHECK(
                    memcmp(req->target + req->target_len, " HTTP/1.", 8) == 0);
                FUZZ_CHECK(p[text - 1] == '0' + req->minor);
            } else {
                const unsigned char *colon = memchr(p, ':', text);
                FUZZ_CHECK(colon != NULL && colon > p);
                size_t nn = (size_t)(colon - p);
                for (size_t i = 0; i < nn; i++)
                    FUZZ_CHECK(tchar(p[i]));
                fields++;
                host += named(p, nn, "host");
                length += named(p, nn, "content-length");
                encoding += named(p, nn, "transfer-encoding");
            }
            lines++;
        }
        p = nl + 1;
    }
    FUZZ_CHECK(blank && lines >= 1);
    FUZZ_CHECK(fields == req->n_headers);
    FUZZ_CHECK(host <= 1 && (req->minor == 0 || host == 1));
    FUZZ_CHECK(req->has_length == (length > 0));
    FUZZ_CHECK(req->has_encoding == (encoding > 0));
}

/* Field by field (a struct's padding is not part of what it says). */
static bool
same_request(const struct http_request *a, const struct http_request *b)
{
    return a->method == b->method && a->method_len == b->method_len &&
           a->target == b->target && a->target_len == b->target_len &&
           a->minor == b->minor && a->keep_alive == b->keep_alive &&
           a->has_length == b->has_length &&
           a->content_length == b->content_length &&
           a->has_encoding == b->has_encoding && a->n_headers == b->n_headers;
}

/*
 * Parses the 'len' bytes at 'buf' (the input's bytes 'at' onwards, with
 * 'avail' of them arrived) with everything past them poisoned; checks the
 * result alone and returns it, with '*req' filled on a head.
 */
static int
parse(unsigned char *all, size_t at, size_t avail, size_t cap,
      const struct http_limits *lim, struct http_request *req)
{
    static const struct http_request canary = {.method = (const char *)1,
                                               .method_len = 77,
                                               .target = (const char *)2,
                                               .target_len = 88,
                                               .minor = 7,
                                               .keep_alive = true,
                                               .has_length = true,
                                               .content_length = 99,
                                               .has_encoding = true,
                                               .n_headers = 66};
    *req = canary;
    POISON(all + avail, cap - avail);
    int rc = http_parse((const char *)all + at, avail - at, lim, req);
    UNPOISON(all + avail, cap - avail);
    FUZZ_CHECK(documented(rc));
    if (rc <= 0) {
        FUZZ_CHECK(same_request(req, &canary));
        return rc;
    }
    FUZZ_CHECK((size_t)rc <= avail - at);
    check_head(all + at, (size_t)rc, lim, req);
    /* Without limits the same head parses the same. */
    struct http_limits none = {SIZE_MAX, SIZE_MAX, SIZE_MAX};
    struct http_request again;
    FUZZ_CHECK(http_parse((const char *)all + at, avail - at, &none, &again) ==
               rc);
    FUZZ_CHECK(same_request(&again, req));
    return rc;
}

static void
record(struct trace *t, int rc, size_t at, const unsigned char *all,
       const struct http_request *req)
{
    FUZZ_CHECK(t->n < MAX_EVENTS);
    struct event *e = &t->ev[t->n++];
    memset(e, 0, sizeof *e);
    e->rc = rc;
    e->at = at;
    if (rc > 0) {
        e->method = (size_t)((const unsigned char *)req->method - all);
        e->method_len = req->method_len;
        e->target = (size_t)((const unsigned char *)req->target - all);
        e->target_len = req->target_len;
        e->n_headers = req->n_headers;
        e->minor = req->minor;
        e->keep_alive = req->keep_alive;
        e->has_length = req->has_length;
        e->has_encoding = req->has_encoding;
        e->content_length = req->content_length;
    }
}

/* A small generator for the pieces' sizes. */
static uint32_t
next_rand(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

/*
 * What httpd does with the bytes as they arrive: 'piece' 0 means all at
 * once, else pieces of 1..piece bytes. Heads are consumed as they parse;
 * the first error, or the end of the input, stops it.
 */
static void
run(unsigned char *all, size_t len, const struct http_limits *lim, size_t piece,
    uint32_t seed, struct trace *t)
{
    size_t at = 0, avail = piece == 0 ? len : 0;
    uint32_t s = seed | 1;
    for (;;) {
        struct http_request req;
        int rc = parse(all, at, avail, len, lim, &req);
        if (rc > 0) {
            record(t, rc, at, all, &req);
            at += (size_t)rc;
            if (t->n == MAX_EVENTS)
                return;
        } else if (rc < 0 || avail == len) {
            record(t, rc, at, all, &req);
            return;
        } else {
            size_t n = 1 + next_rand(&s) % piece;
            avail = len - avail < n ? len : avail + n;
        }
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_input in = {data, size};
    if (size < 3)
        return 0;
    uint8_t b0 = fuzz_byte(&in), b1 = fuzz_byte(&in), b2 = fuzz_byte(&in);
    /* Index 0 of each: the limits httpd runs with. */
    static const size_t heads[4] = {8192, 64, 300, 1024};
    static const size_t lines[4] = {4096, 16, 80, 300};
    static const size_t fields[4] = {64, 0, 2, 8};
    struct http_limits lim = {heads[b0 & 3], lines[(b0 >> 2) & 3],
                              fields[(b0 >> 4) & 3]};
    /* 0: every byte at once; else pieces of 1..piece bytes (scaled up for
     * long inputs: each piece costs a parse from the head's start). */
    size_t piece = b1 & 0x3f;
    fuzz_begin();
    /* A copy of exactly the payload's size: ASan sees a read past it. */
    size_t len = in.n;
    piece *= 1 + len / 512;
    unsigned char *all = malloc(len == 0 ? 1 : len);
    FUZZ_CHECK(all != NULL);
    if (len > 0)
        memcpy(all, in.p, len);
    static struct trace whole, split;
    whole.n = split.n = 0;
    run(all, len, &lim, 0, 0, &whole);
    if (piece > 0) {
        run(all, len, &lim, piece, (uint32_t)b2 << 8 | b1, &split);
        FUZZ_CHECK(split.n == whole.n);
        for (size_t i = 0; i < whole.n; i++) {
            if (memcmp(&split.ev[i], &whole.ev[i], sizeof whole.ev[i]) != 0) {
                fprintf(stderr,
                        "event %zu at %zu: whole %d, in pieces of <= %zu %d\n",
                        i, whole.ev[i].at, whole.ev[i].rc, piece,
                        split.ev[i].rc);
                FUZZ_CHECK(!"whole and split parses agree");
            }
        }
    }
    free(all);
    FUZZ_END();
    return 0;
}
