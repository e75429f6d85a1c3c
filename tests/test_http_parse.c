/*
 * test_http_parse.c: the request head parser of the example HTTP server
 * (examples/http_parse.h): what a valid head reports, each documented
 * status with the limit or rule behind it, and that how the bytes arrive
 * never changes the result (every prefix of an input parses to 0 or to
 * what the whole input parses to), the fuzzer's finding included.
 */
#include "testkit.h"

#include <string.h>

#include "http_parse.h"

static const struct http_limits httpd_limits = {8192, 4096, 64};

static int
parse_lim(const char *s, size_t len, const struct http_limits *lim,
          struct http_request *req)
{
    return http_parse(s, len, lim, req);
}

static int
parse(const char *s, struct http_request *req)
{
    return parse_lim(s, strlen(s), &httpd_limits, req);
}

/* Every prefix of 's' parses to 0 or to what all of 's' parses to, which
 * is returned. */
static int
parse_every_prefix(const char *s, size_t len, const struct http_limits *lim)
{
    struct http_request req;
    int whole = parse_lim(s, len, lim, &req);
    for (size_t k = 0; k < len; k++) {
        int rc = parse_lim(s, k, lim, &req);
        if (rc != 0 && rc != whole)
            ck_abort_msg("prefix of %zu bytes: %d, the whole %zu bytes: %d", k,
                         rc, len, whole);
    }
    return whole;
}

START_TEST(test_http_parse_reports_a_valid_head)
{
    const char *s = "\r\nGET /index.html HTTP/1.1\r\nHost: example.com\r\n"
                    "Accept: */*\r\nContent-Length: 0\r\n\r\nNEXT";
    struct http_request req;
    int rc = parse(s, &req);
    ck_assert_int_eq(rc, (int)(strlen(s) - 4));
    ck_assert_int_eq((int)req.method_len, 3);
    ck_assert(memcmp(req.method, "GET", 3) == 0);
    ck_assert_ptr_eq(req.method, s + 2);
    ck_assert_int_eq((int)req.target_len, 11);
    ck_assert(memcmp(req.target, "/index.html", 11) == 0);
    ck_assert_int_eq(req.minor, 1);
    ck_assert(req.keep_alive);
    ck_assert(req.has_length);
    ck_assert_uint_eq(req.content_length, 0);
    ck_assert(!req.has_encoding);
    ck_assert_uint_eq(req.n_headers, 3);
}
END_TEST

START_TEST(test_http_parse_connection_and_version_decide_keep_alive)
{
    struct http_request req;
    ck_assert_int_gt(parse("GET / HTTP/1.0\r\n\r\n", &req), 0);
    ck_assert(!req.keep_alive);
    ck_assert_int_eq(req.minor, 0);
    ck_assert_int_gt(
        parse("GET / HTTP/1.0\nConnection: foo, Keep-Alive\n\n", &req), 0);
    ck_assert(req.keep_alive);
    ck_assert_int_gt(
        parse("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", &req),
        0);
    ck_assert(!req.keep_alive);
}
END_TEST

START_TEST(test_http_parse_needs_more_until_the_blank_line)
{
    const char *s = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
    struct http_request req;
    for (size_t k = 0; k < strlen(s); k++)
        ck_assert_int_eq(parse_lim(s, k, &httpd_limits, &req), 0);
    ck_assert_int_eq(parse_every_prefix(s, strlen(s), &httpd_limits),
                     (int)strlen(s));
}
END_TEST

START_TEST(test_http_parse_malformed_heads_are_400)
{
    static const char *bad[] = {
        "G(T / HTTP/1.1\r\nHost: a\r\n\r\n",      /* not a token */
        " / HTTP/1.1\r\nHost: a\r\n\r\n",         /* no method */
        "GET /a\x01 HTTP/1.1\r\nHost: a\r\n\r\n", /* a control in the target */
        "GET / HTTP/1.1 \r\nHost: a\r\n\r\n",     /* after the version */
        "GET / HTTP/1.1\r\n\r\n",                 /* no Host */
        "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
        "GET / HTTP/1.1\r\nHost : a\r\n\r\n", /* space before the colon */
        "GET / HTTP/1.1\r\nHost: a\r\nX: y\r\n z\r\n\r\n", /* folded */
        "GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n",            /* bare CR */
        "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1x\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n"
        "Content-Length: 2\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n"
        "Transfer-Encoding: chunked\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_msg(
            parse_every_prefix(bad[i], strlen(bad[i]), &httpd_limits) == -400,
            "case %zu", i);
    }
}
END_TEST

START_TEST(test_http_parse_other_versions_are_505)
{
    struct http_request req;
    ck_assert_int_eq(parse("GET / HTTP/2.0\r\nHost: a\r\n\r\n", &req), -505);
    ck_assert_int_eq(parse("GET / HTTP/1.2\r\nHost: a\r\n\r\n", &req), -505);
    ck_assert_int_eq(parse("GET / HTTP/x.0\r\nHost: a\r\n\r\n", &req), -400);
}
END_TEST

START_TEST(test_http_parse_limits_give_414_and_431)
{
    struct http_limits lim = {200, 32, 2};
    struct http_request req;
    /* A request line of exactly 32 bytes with its ending is fine. */
    const char *fits = "GET /23456789012345678 HTTP/1.1\n"
                       "Host: a\n\n";
    ck_assert_int_eq(parse_lim(fits, strlen(fits), &lim, &req),
                     (int)strlen(fits));
    const char *over = "GET /234567890123456789 HTTP/1.1\n"
                       "Host: a\n\n";
    ck_assert_int_eq(parse_every_prefix(over, strlen(over), &lim), -414);
    /* A request line that never ends: 414 once it is too long. */
    char endless[64];
    memset(endless, 'a', sizeof endless);
    memcpy(endless, "GET /", 5);
    ck_assert_int_eq(parse_lim(endless, 31, &lim, &req), 0);
    ck_assert_int_eq(parse_lim(endless, 32, &lim, &req), -414);
    /* A field line too long, too many fields, a head too long: 431. */
    const char *field = "GET / HTTP/1.1\nHost: a\n"
                        "X: 6789012345678901234567890123456789\n\n";
    ck_assert_int_eq(parse_every_prefix(field, strlen(field), &lim), -431);
    const char *many = "GET / HTTP/1.1\nHost: a\nA: 1\nB: 2\n\n";
    ck_assert_int_eq(parse_every_prefix(many, strlen(many), &lim), -431);
    struct http_limits small = {40, 32, 8};
    const char *head = "GET / HTTP/1.1\nHost: a\nA: 1\nB: 2\nC: 3\nD: 4\n\n";
    ck_assert_int_eq(parse_every_prefix(head, strlen(head), &small), -431);
    ck_assert_int_eq(parse_lim(head, 39, &small, &req), 0);
}
END_TEST

/*
 * Found by the fuzzer (tests/fuzz/fuzz_http.c): a line longer than
 * max_line with a bare CR past that point was 400 when it came whole and
 * 414 (431 for a field) when it came in pieces, the cut before the CR: the
 * answer depended on how the bytes arrived. A line is now judged byte by
 * byte: too long from its max_line-th byte, whatever follows.
 */
START_TEST(test_http_parse_a_cr_past_the_line_limit_does_not_change_the_status)
{
    struct http_limits lim = {8192, 16, 64};
    const char *line =
        "GET /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa HTTP/1.1\r\r\n\r\n";
    ck_assert_int_eq(parse_every_prefix(line, strlen(line), &lim), -414);
    const char *field = "GET / HTTP/1.1\r\nHost: aaaaaaaaaaaaaaaaaa\rX\r\n\r\n";
    ck_assert_int_eq(parse_every_prefix(field, strlen(field), &lim), -431);
    /* Within the limit a bare CR is still malformed. */
    const char *near = "GET /a\rHTTP/1.1\r\n\r\n";
    ck_assert_int_eq(parse_every_prefix(near, strlen(near), &lim), -400);
}
END_TEST

static Suite *
http_parse_suite(void)
{
    Suite *s = suite_create("http_parse");
    TCase *tc = tcase_create("parse");
    testkit_fixture(tc);
    tcase_add_test(tc, test_http_parse_reports_a_valid_head);
    tcase_add_test(tc,
                   test_http_parse_connection_and_version_decide_keep_alive);
    tcase_add_test(tc, test_http_parse_needs_more_until_the_blank_line);
    tcase_add_test(tc, test_http_parse_malformed_heads_are_400);
    tcase_add_test(tc, test_http_parse_other_versions_are_505);
    tcase_add_test(tc, test_http_parse_limits_give_414_and_431);
    tcase_add_test(
        tc,
        test_http_parse_a_cr_past_the_line_limit_does_not_change_the_status);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return testkit_run(http_parse_suite());
}
