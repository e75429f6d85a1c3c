/*
 * test_ws.c: the WebSocket stream: the opening handshake accepted and
 * refused with each status, frames as they appear on the wire (masking,
 * one message per transport frame, fragmentation both ways, pings), every
 * protocol violation closing with its code, the closing handshake, the
 * transport over WebSocket (an in-memory pair moving one byte at a time,
 * and real TCP sockets), allocation failure at every allocation, and
 * closing or dropping at every step. The peer is often played by hand
 * over the other end of an in-memory pair, byte for byte.
 */
#define _GNU_SOURCE
#include "testkit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "echo_handler.h"

static struct cfut_executor *ex;
static struct cfut_stream *raw; /* the peer played by hand */
static struct cfut_stream *ws;  /* the WebSocket stream under test */
static bool client_side;        /* 'ws' is a client */

/* The sample request and answer of RFC 6455 section 1.2/1.3. */
static const char rfc_request[] =
    "GET /chat HTTP/1.1\r\n"
    "Host: server.example.com\r\n"
    "Upgrade: websocket\r\n"
    "Connection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Origin: http://example.com\r\n"
    "Sec-WebSocket-Version: 13\r\n"
    "\r\n";
static const char rfc_answer[] =
    "HTTP/1.1 101 Switching Protocols\r\n"
    "Upgrade: websocket\r\n"
    "Connection: Upgrade\r\n"
    "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
    "\r\n";

static void
ws_setup(void)
{
    testkit_setup();
    ck_assert_int_eq(cfut_executor_new(&ex), 0);
}

static void
ws_teardown(void)
{
    cfut_stream_close(ws);
    ws = NULL;
    cfut_stream_close(raw);
    raw = NULL;
    (void)cfut_executor_run_ready(ex);
    cfut_executor_free(ex);
    ex = NULL;
    testkit_teardown();
}

/* Makes 'ws' of 'role' over one end of a pair and 'raw' the other end. */
static void
make(enum cfut_ws_role role, const struct cfut_ws_config *cfg)
{
    struct cfut_stream *inner;
    ck_assert_int_eq(cfut_mem_stream_pair_new(1 << 16, &inner, &raw), 0);
    ck_assert_int_eq(cfut_ws_stream_new(inner, role, cfg, &ws), 0);
    client_side = role == CFUT_WS_CLIENT;
}

/* ---- polling by hand ---- */

static struct cfut_context
noop_cx(void)
{
    struct cfut_context cx;
    cfut_context_init(&cx, cfut_waker_noop());
    return cx;
}

/* Writes all 'n' bytes to 's' (which must not stay pending). */
static void
put(struct cfut_stream *s, const void *data, size_t n)
{
    struct cfut_context cx = noop_cx();
    const unsigned char *p = data;
    while (n > 0) {
        struct cfut_iovec iov = {p, n};
        struct cfut_stream_result res;
        ck_assert_int_eq(cfut_stream_poll_write(s, &cx, &iov, 1, &res),
                         CFUT_READY);
        ck_assert_int_eq(res.status, 0);
        p += res.n;
        n -= res.n;
    }
}

static void
put_str(struct cfut_stream *s, const char *text)
{
    put(s, text, strlen(text));
}

/*
 * Reads what 's' has now into 'buf' (up to 'cap'); '*end' gets the status
 * that ended the reading (0 when it is merely pending).
 */
static size_t
take(struct cfut_stream *s, void *buf, size_t cap, int *end)
{
    struct cfut_context cx = noop_cx();
    size_t n = 0;
    *end = 0;
    while (n < cap) {
        struct cfut_stream_result res;
        if (cfut_stream_poll_read(s, &cx, (char *)buf + n, cap - n, &res) ==
            CFUT_PENDING)
            break;
        if (res.status != 0) {
            *end = res.status;
            break;
        }
        n += res.n;
    }
    return n;
}

/* Polls one read of 'ws'; returns the poll result, fills 'res'. */
static enum cfut_poll
ws_read(void *buf, size_t cap, struct cfut_stream_result *res)
{
    struct cfut_context cx = noop_cx();
    return cfut_stream_poll_read(ws, &cx, buf, cap, res);
}

static enum cfut_poll
ws_write(const void *data, size_t n, struct cfut_stream_result *res)
{
    struct cfut_context cx = noop_cx();
    struct cfut_iovec iov = {data, n};
    return cfut_stream_poll_write(ws, &cx, &iov, 1, res);
}

static int
handshake(struct cfut_stream *s)
{
    struct cfut_ws_handshake h;
    cfut_ws_handshake_init(&h, s);
    int out = 1;
    enum cfut_poll p = testkit_poll(&h.base, cfut_waker_noop(), &out);
    cfut_future_drop(&h.base);
    return p == CFUT_READY ? out : 1;
}

static struct cfut_ws_stats
stats(struct cfut_stream *s)
{
    struct cfut_ws_stats st;
    cfut_ws_get_stats(s, &st);
    return st;
}

/* Opens a server 'ws' with the RFC request; the answer is consumed. */
static void
open_server(const struct cfut_ws_config *cfg)
{
    make(CFUT_WS_SERVER, cfg);
    put_str(raw, rfc_request);
    ck_assert_int_eq(handshake(ws), 0);
    char buf[512];
    int end;
    size_t n = take(raw, buf, sizeof buf, &end);
    ck_assert_uint_eq(n, strlen(rfc_answer));
}

/* Builds a frame from the client side: 'b0' (FIN, opcode), masked. */
static size_t
client_frame(unsigned char *out, uint8_t b0, const void *payload, size_t len)
{
    static const unsigned char key[4] = {0x37, 0xfa, 0x21, 0x3d};
    size_t n = 0;
    out[n++] = b0;
    if (len < 126) {
        out[n++] = (unsigned char)(0x80 | len);
    } else {
        out[n++] = 0x80 | 126;
        out[n++] = (unsigned char)(len >> 8);
        out[n++] = (unsigned char)len;
    }
    memcpy(out + n, key, 4);
    n += 4;
    for (size_t i = 0; i < len; i++)
        out[n + i] = ((const unsigned char *)payload)[i] ^ key[i % 4];
    return n + len;
}

static void
send_client_frame(uint8_t b0, const void *payload, size_t len)
{
    unsigned char buf[1024];
    put(raw, buf, client_frame(buf, b0, payload, len));
}

/* A server frame as it appears on the wire. */
struct wire_frame {
    uint8_t b0; /* FIN and opcode */
    bool masked;
    uint64_t len;
    unsigned char payload[4096];
};

/* Parses one frame from 'p' ('n' bytes); returns the bytes it took. */
static size_t
parse_frame(const unsigned char *p, size_t n, struct wire_frame *f)
{
    ck_assert_uint_ge(n, 2);
    f->b0 = p[0];
    f->masked = (p[1] & 0x80) != 0;
    uint64_t len = p[1] & 0x7f;
    size_t h = 2;
    if (len == 126) {
        len = (uint64_t)p[2] << 8 | p[3];
        h = 4;
    } else if (len == 127) {
        len = 0;
        for (int i = 0; i < 8; i++)
            len = len << 8 | p[2 + i];
        h = 10;
    }
    const unsigned char *key = p + h;
    if (f->masked)
        h += 4;
    ck_assert_uint_le(h + len, n);
    ck_assert_uint_le(len, sizeof f->payload);
    for (size_t i = 0; i < len; i++)
        f->payload[i] = f->masked ? p[h + i] ^ key[i % 4] : p[h + i];
    f->len = len;
    return h + (size_t)len;
}

/* Reads what the peer sent and expects it to be exactly a close frame with
 * 'code' (masked when 'ws' is a client), then the end of the stream. */
static void
expect_close(uint16_t code)
{
    bool masked = client_side; /* a client masks its frames */
    unsigned char buf[256];
    int end;
    size_t n = take(raw, buf, sizeof buf, &end);
    struct wire_frame f;
    ck_assert_uint_eq(parse_frame(buf, n, &f), n);
    ck_assert_uint_eq(f.b0, 0x88);
    ck_assert(f.masked == masked);
    ck_assert_uint_ge(f.len, 2);
    ck_assert_uint_eq((uint16_t)(f.payload[0] << 8 | f.payload[1]), code);
    ck_assert_int_eq(end, CFUT_EEOF);
}

/* ---- the opening handshake ---- */

START_TEST(test_ws_server_answers_the_rfc_request_with_the_rfc_key)
{
    make(CFUT_WS_SERVER, NULL);
    put_str(raw, rfc_request);

    ck_assert_int_eq(handshake(ws), 0);

    char buf[512];
    int end;
    size_t n = take(raw, buf, sizeof buf, &end);
    ck_assert_uint_eq(n, strlen(rfc_answer));
    ck_assert_mem_eq(buf, rfc_answer, n);
    ck_assert_int_eq(stats(ws).http_status, 101);
}
END_TEST

/* Sends 'request' to a fresh server; checks its answer and the status. */
static void
expect_refusal(const char *request, const struct cfut_ws_config *cfg, int http,
               const char *status_line, int status)
{
    make(CFUT_WS_SERVER, cfg);
    put_str(raw, request);

    int rc = handshake(ws);

    ck_assert_int_eq(rc, status);
    ck_assert_int_eq(stats(ws).http_status, http);
    static char buf[1024];
    int end;
    size_t n = take(raw, buf, sizeof buf - 1, &end);
    buf[n] = '\0';
    ck_assert_msg(strncmp(buf, status_line, strlen(status_line)) == 0,
                  "answer to %s: %s", request, buf);
    if (http == 426)
        ck_assert_ptr_nonnull(strstr(buf, "\r\nSec-WebSocket-Version: 13\r\n"));
    ck_assert_int_eq(end, CFUT_EEOF); /* the server shut its side */
    /* Every later poll reports the same failure. */
    struct cfut_stream_result res;
    ck_assert_int_eq(ws_read(buf, sizeof buf, &res), CFUT_READY);
    ck_assert_int_eq(res.status, status);
    ck_assert_int_eq(ws_write("x", 1, &res), CFUT_READY);
    ck_assert_int_eq(res.status, status);
    cfut_stream_close(ws);
    ws = NULL;
    cfut_stream_close(raw);
    raw = NULL;
}

#define KEY "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
#define UPG "Upgrade: websocket\r\nConnection: Upgrade\r\n"
#define VER "Sec-WebSocket-Version: 13\r\n"

static const char *const malformed[] = {
    "GET /\r\nHost: a\r\n" UPG KEY VER "\r\n",           /* no version */
    "POST / HTTP/1.1\r\nHost: a\r\n" UPG KEY VER "\r\n", /* method */
    "GET / HTTP/1.0\r\nHost: a\r\n" UPG KEY VER "\r\n",  /* version */
    "GET  / HTTP/1.1\r\nHost: a\r\n" UPG KEY VER "\r\n", /* spaces */
    "GET / HTTP/1.1\r\nHost a\r\n" UPG KEY VER "\r\n",   /* no colon */
    "GET / HTTP/1.1\r\nHost : a\r\n" UPG KEY VER "\r\n", /* name */
    "GET / HTTP/1.1\r\nHost: a\r\n folded\r\n" UPG KEY VER "\r\n",
    "GET / HTTP/1.1\nHost: a\n" UPG KEY VER "\n",           /* bare LF */
    "GET / HTTP/1.1\r\nHost: a\rb\r\n" UPG KEY VER "\r\n",  /* bare CR */
    "GET / HTTP/1.1\r\nHost: a\x01\r\n" UPG KEY VER "\r\n", /* control */
    "GET / HTTP/1.1\r\n" UPG KEY VER "\r\n",                /* no Host */
    "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n" UPG KEY VER "\r\n",
    "GET / HTTP/1.1\r\nHost: a\r\n" UPG VER "\r\n",         /* no key */
    "GET / HTTP/1.1\r\nHost: a\r\n" UPG KEY KEY VER "\r\n", /* two keys */
    "GET / HTTP/1.1\r\nHost: a\r\n" UPG
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ\r\n" VER "\r\n", /* short */
    "GET / HTTP/1.1\r\nHost: a\r\n" UPG
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub2*jZQ==\r\n" VER "\r\n",
    "GET / HTTP/1.1\r\nHost: a\r\n" UPG
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==AAAA\r\n" VER "\r\n",
};

START_TEST(test_ws_server_refuses_malformed_requests_with_400)
{
    const char *req = malformed[_i];

    expect_refusal(req, NULL, 400, "HTTP/1.1 400 Bad Request\r\n", CFUT_EPROTO);
}
END_TEST

static const char *const not_upgrades[] = {
    "GET / HTTP/1.1\r\nHost: a\r\n\r\n", /* plain */
    "GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\n" KEY VER "\r\n",
    "GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n"
    "Connection: keep-alive\r\n" KEY VER "\r\n",
    "GET / HTTP/1.1\r\nHost: a\r\nUpgrade: h2c\r\n"
    "Connection: Upgrade\r\n" KEY VER "\r\n",
    "GET / HTTP/1.1\r\nHost: a\r\n" UPG KEY "\r\n", /* no ver */
    "GET / HTTP/1.1\r\nHost: a\r\n" UPG KEY
    "Sec-WebSocket-Version: 8\r\n\r\n", /* old */
};

START_TEST(test_ws_server_refuses_non_upgrades_with_426)
{
    expect_refusal(not_upgrades[_i], NULL, 426,
                   "HTTP/1.1 426 Upgrade Required\r\n", CFUT_EPROTO);
}
END_TEST

START_TEST(test_ws_server_accepts_token_lists_and_any_case)
{
    make(CFUT_WS_SERVER, NULL);
    put_str(raw, "GET /x?y=1 HTTP/1.1\r\nhost:a.example\r\n"
                 "UPGRADE:  WebSocket \r\nconnection: keep-alive, upgrade\r\n"
                 "sec-websocket-key:dGhlIHNhbXBsZSBub25jZQ==\r\n"
                 "SEC-WEBSOCKET-VERSION: 13\r\n\r\n");

    ck_assert_int_eq(handshake(ws), 0);

    ck_assert_int_eq(stats(ws).http_status, 101);
}
END_TEST

START_TEST(test_ws_server_refuses_a_head_over_the_size_limit_with_431)
{
    struct cfut_ws_config cfg = {.max_head = 256};
    static char req[512];
    snprintf(
        req, sizeof req,
        "GET / HTTP/1.1\r\nHost: a\r\n" UPG KEY VER "X-Pad: %0200d\r\n\r\n", 0);

    expect_refusal(req, &cfg, 431,
                   "HTTP/1.1 431 Request Header Fields Too Large\r\n",
                   CFUT_EMSGSIZE);
}
END_TEST

START_TEST(test_ws_server_refuses_too_many_fields_with_431)
{
    struct cfut_ws_config cfg = {.max_fields = 5};

    expect_refusal(
        "GET / HTTP/1.1\r\nHost: a\r\n" UPG KEY VER "X-A: 1\r\n\r\n", &cfg, 431,
        "HTTP/1.1 431 Request Header Fields Too Large\r\n", CFUT_EMSGSIZE);
}
END_TEST

START_TEST(test_ws_server_head_at_the_limits_is_accepted)
{
    size_t len = strlen(rfc_request);
    struct cfut_ws_config cfg = {.max_head = len, .max_fields = 6};
    make(CFUT_WS_SERVER, &cfg);
    put_str(raw, rfc_request);

    ck_assert_int_eq(handshake(ws), 0);
}
END_TEST

START_TEST(test_ws_handshake_fails_when_the_peer_leaves_mid_head)
{
    make(CFUT_WS_SERVER, NULL);
    put_str(raw, "GET / HTTP/1.1\r\nHost: a\r\n");
    ck_assert_int_eq(handshake(ws), 1); /* pending */

    cfut_stream_close(raw);
    raw = NULL;

    ck_assert_int_eq(handshake(ws), CFUT_ECONNRESET);
    ck_assert_int_eq(stats(ws).http_status, 0);
}
END_TEST

START_TEST(test_ws_the_first_read_runs_the_handshake)
{
    make(CFUT_WS_SERVER, NULL);
    /* The request and a first frame arrive together. */
    unsigned char buf[1024];
    size_t n = strlen(rfc_request);
    memcpy(buf, rfc_request, n);
    n += client_frame(buf + n, 0x82, "hello", 5);
    put(raw, buf, n);

    struct cfut_stream_result res;
    ck_assert_int_eq(ws_read(buf, sizeof buf, &res), CFUT_READY);

    ck_assert_int_eq(res.status, 0);
    ck_assert_uint_eq(res.n, 5);
    ck_assert_mem_eq(buf, "hello", 5);
    ck_assert_int_eq(stats(ws).http_status, 101);
}
END_TEST

/* Runs the client and server handshakes against each other by hand. */
static void
shake_pair(struct cfut_stream *c, struct cfut_stream *s)
{
    struct cfut_ws_handshake hc, hs;
    cfut_ws_handshake_init(&hc, c);
    cfut_ws_handshake_init(&hs, s);
    int oc = 1, os = 1;
    bool dc = false, ds = false;
    for (int i = 0; i < 100000 && !(dc && ds); i++) {
        if (!dc)
            dc = testkit_poll(&hc.base, cfut_waker_noop(), &oc) == CFUT_READY;
        if (!ds)
            ds = testkit_poll(&hs.base, cfut_waker_noop(), &os) == CFUT_READY;
    }
    cfut_future_drop(&hc.base);
    cfut_future_drop(&hs.base);
    ck_assert(dc && ds);
    ck_assert_int_eq(oc, 0);
    ck_assert_int_eq(os, 0);
}

START_TEST(test_ws_client_and_server_shake_hands_one_byte_at_a_time)
{
    struct cfut_stream *a, *b, *c, *s;
    ck_assert_int_eq(cfut_mem_stream_pair_new(1, &a, &b), 0);
    struct cfut_ws_config cc = {.host = "example.com:80", .path = "/rpc"};
    ck_assert_int_eq(cfut_ws_stream_new(a, CFUT_WS_CLIENT, &cc, &c), 0);
    ck_assert_int_eq(cfut_ws_stream_new(b, CFUT_WS_SERVER, NULL, &s), 0);

    shake_pair(c, s);

    ck_assert_int_eq(stats(c).http_status, 101);
    ck_assert_int_eq(stats(s).http_status, 101);
    cfut_stream_close(c);
    cfut_stream_close(s);
}
END_TEST

/* Plays a server that answers the client's request with 'answer'. */
static int
client_against(const char *answer_fmt)
{
    make(CFUT_WS_CLIENT, NULL);
    ck_assert_int_eq(handshake(ws), 1); /* the request went out */
    static char req[1024];
    int end;
    size_t n = take(raw, req, sizeof req - 1, &end);
    req[n] = '\0';
    ck_assert_ptr_nonnull(strstr(req, "GET / HTTP/1.1\r\nHost: localhost\r\n"));
    /* Compute the right accept key with a server stream of our own. */
    struct cfut_stream *a, *b, *srv;
    ck_assert_int_eq(cfut_mem_stream_pair_new(4096, &a, &b), 0);
    ck_assert_int_eq(cfut_ws_stream_new(b, CFUT_WS_SERVER, NULL, &srv), 0);
    put(a, req, n);
    ck_assert_int_eq(handshake(srv), 0);
    static char good[512];
    size_t g = take(a, good, sizeof good - 1, &end);
    good[g] = '\0';
    char *acc = strstr(good, "Sec-WebSocket-Accept: ") + 22;
    acc[28] = '\0';
    cfut_stream_close(srv);
    cfut_stream_close(a);
    static char answer[1024];
    snprintf(answer, sizeof answer, answer_fmt, acc);
    put_str(raw, answer);
    return handshake(ws);
}

START_TEST(test_ws_client_accepts_the_right_answer)
{
    int rc = client_against("HTTP/1.1 101 Switching Protocols\r\n"
                            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                            "Sec-WebSocket-Accept: %s\r\n\r\n");

    ck_assert_int_eq(rc, 0);
    ck_assert_int_eq(stats(ws).http_status, 101);
}
END_TEST

static const char *const bad_answers[] = {
    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
    "Connection: Upgrade\r\n"
    "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n%.0s",
    "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Accept: %s\r\n\r\n",
    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
    "Sec-WebSocket-Accept: %s\r\n\r\n",
    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
    "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n"
    "Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n",
    "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n%.0s",
    "HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 13\r\n\r\n%.0s",
    "HTTP/1.0 101 Switching Protocols\r\nUpgrade: websocket\r\n"
    "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
    "garbage\r\n\r\n%.0s",
};

START_TEST(test_ws_client_refuses_wrong_answers)
{
    int rc = client_against(bad_answers[_i]);

    ck_assert_int_eq(rc, CFUT_EPROTO);
}
END_TEST

START_TEST(test_ws_client_records_the_status_of_a_refusal)
{
    int rc = client_against("HTTP/1.1 426 Upgrade Required\r\n\r\n%.0s");

    ck_assert_int_eq(rc, CFUT_EPROTO);
    ck_assert_int_eq(stats(ws).http_status, 426);
}
END_TEST

START_TEST(test_ws_stream_new_refuses_bad_settings)
{
    struct cfut_stream *a, *b, *out = NULL;
    ck_assert_int_eq(cfut_mem_stream_pair_new(16, &a, &b), 0);
    struct cfut_ws_config small = {.write_buffer = 512};
    struct cfut_ws_config host = {.host = "a b"};
    struct cfut_ws_config path = {.path = "rel"};
    struct cfut_ws_config ctl = {.path = "/a\r\nX: y"};

    ck_assert_int_eq(cfut_ws_stream_new(a, CFUT_WS_SERVER, &small, &out),
                     CFUT_EINVAL);
    ck_assert_int_eq(cfut_ws_stream_new(a, CFUT_WS_CLIENT, &host, &out),
                     CFUT_EINVAL);
    ck_assert_int_eq(cfut_ws_stream_new(a, CFUT_WS_CLIENT, &path, &out),
                     CFUT_EINVAL);
    ck_assert_int_eq(cfut_ws_stream_new(a, CFUT_WS_CLIENT, &ctl, &out),
                     CFUT_EINVAL);
    ck_assert_int_eq(cfut_ws_stream_new(a, (enum cfut_ws_role)7, NULL, &out),
                     CFUT_EINVAL);
    ck_assert_int_eq(cfut_ws_stream_new(NULL, CFUT_WS_SERVER, NULL, &out),
                     CFUT_EINVAL);

    ck_assert_ptr_null(out);
    ck_assert(!cfut_ws_is_ws(a));
    cfut_stream_close(a);
    cfut_stream_close(b);
}
END_TEST

/* ---- frames on the wire ---- */

START_TEST(test_ws_server_frames_are_unmasked_and_client_frames_masked)
{
    struct cfut_stream_result res;
    unsigned char buf[64];
    int end;
    open_server(NULL);

    ck_assert_int_eq(ws_write("abc", 3, &res), CFUT_READY);

    ck_assert_uint_eq(res.n, 3);
    ck_assert_uint_eq(take(raw, buf, sizeof buf, &end), 5);
    ck_assert_mem_eq(buf,
                     "\x82\x03"
                     "abc",
                     5);
    cfut_stream_close(ws);
    cfut_stream_close(raw);
    ws = raw = NULL;

    ck_assert_int_eq(client_against("HTTP/1.1 101 Switching Protocols\r\n"
                                    "Upgrade: websocket\r\n"
                                    "Connection: Upgrade\r\n"
                                    "Sec-WebSocket-Accept: %s\r\n\r\n"),
                     0);
    ck_assert_int_eq(ws_write("abc", 3, &res), CFUT_READY);
    ck_assert_int_eq(ws_write("abc", 3, &res), CFUT_READY);

    size_t n = take(raw, buf, sizeof buf, &end);
    struct wire_frame f1, f2;
    size_t used = parse_frame(buf, n, &f1);
    ck_assert_uint_eq(used + parse_frame(buf + used, n - used, &f2), n);
    ck_assert(f1.masked && f2.masked);
    ck_assert_uint_eq(f1.b0, 0x82);
    ck_assert_mem_eq(f1.payload, "abc", 3);
    ck_assert_mem_eq(f2.payload, "abc", 3);
    ck_assert_mem_ne(buf + 2, buf + used + 2, 4); /* a fresh key each time */
}
END_TEST

START_TEST(test_ws_empty_write_is_ready_and_sends_nothing)
{
    open_server(NULL);
    struct cfut_stream_result res;

    ck_assert_int_eq(ws_write("", 0, &res), CFUT_READY);

    ck_assert_int_eq(res.status, 0);
    ck_assert_uint_eq(res.n, 0);
    unsigned char buf[16];
    int end;
    ck_assert_uint_eq(take(raw, buf, sizeof buf, &end), 0);
    ck_assert_uint_eq(stats(ws).n_frames_out, 0);
}
END_TEST

/* Encodes a transport frame with 'len' payload bytes of 'fill'. */
static size_t
tframe(unsigned char *out, size_t cap, size_t len, unsigned char fill)
{
    static unsigned char payload[8192];
    memset(payload, fill, len);
    struct cfut_id id = {{fill}};
    size_t w = 0;
    ck_assert_int_eq(cfut_frame_encode(out, cap, CFUT_FRAME_RESPONSE, &id,
                                       payload, len, 0, &w),
                     0);
    return w;
}

START_TEST(test_ws_each_transport_frame_leaves_as_one_message)
{
    struct cfut_ws_config cfg = {.frame_messages = true};
    open_server(&cfg);
    unsigned char two[256];
    size_t n1 = tframe(two, sizeof two, 10, 'a');
    size_t n2 = tframe(two + n1, sizeof two - n1, 30, 'b');
    struct cfut_stream_result res;

    ck_assert_int_eq(ws_write(two, n1 + n2, &res), CFUT_READY);

    ck_assert_uint_eq(res.n, n1 + n2);
    unsigned char buf[512];
    int end;
    size_t n = take(raw, buf, sizeof buf, &end);
    struct wire_frame f;
    size_t used = parse_frame(buf, n, &f);
    ck_assert_uint_eq(f.b0, 0x82);
    ck_assert_uint_eq(f.len, n1);
    ck_assert_mem_eq(f.payload, two, n1);
    ck_assert_uint_eq(used + parse_frame(buf + used, n - used, &f), n);
    ck_assert_uint_eq(f.b0, 0x82);
    ck_assert_uint_eq(f.len, n2);
    ck_assert_mem_eq(f.payload, two + n1, n2);
    ck_assert_uint_eq(stats(ws).n_messages_out, 2);
}
END_TEST

START_TEST(test_ws_transport_frame_written_in_pieces_is_still_one_message)
{
    struct cfut_ws_config cfg = {.frame_messages = true};
    open_server(&cfg);
    unsigned char fr[64];
    size_t n = tframe(fr, sizeof fr, 20, 'c');
    struct cfut_stream_result res;

    /* The length prefix split, then the rest in two writes. */
    ck_assert_int_eq(ws_write(fr, 2, &res), CFUT_READY);
    ck_assert_int_eq(ws_write(fr + 2, 10, &res), CFUT_READY);
    ck_assert_int_eq(ws_write(fr + 12, n - 12, &res), CFUT_READY);

    unsigned char buf[256];
    int end;
    size_t got = take(raw, buf, sizeof buf, &end);
    struct wire_frame f;
    size_t used = parse_frame(buf, got, &f);
    ck_assert_uint_eq(f.b0, 0x02); /* binary, more to come */
    size_t total = f.len;
    unsigned char all[64];
    memcpy(all, f.payload, f.len);
    used += parse_frame(buf + used, got - used, &f);
    ck_assert_uint_eq(f.b0, 0x80); /* continuation, final */
    memcpy(all + total, f.payload, f.len);
    total += f.len;
    ck_assert_uint_eq(used, got);
    ck_assert_uint_eq(total, n);
    ck_assert_mem_eq(all, fr, n);
    ck_assert_uint_eq(stats(ws).n_messages_out, 1);
}
END_TEST

START_TEST(test_ws_large_frames_are_fragmented_and_reassembled)
{
    /* A 1 KiB write buffer makes a 6 KiB transport frame go out in
     * fragments; the client stream reads it back whole. */
    struct cfut_stream *a, *b, *c, *s;
    ck_assert_int_eq(cfut_mem_stream_pair_new(1 << 16, &a, &b), 0);
    struct cfut_ws_config sc = {.frame_messages = true, .write_buffer = 1024};
    ck_assert_int_eq(cfut_ws_stream_new(a, CFUT_WS_CLIENT, NULL, &c), 0);
    ck_assert_int_eq(cfut_ws_stream_new(b, CFUT_WS_SERVER, &sc, &s), 0);
    shake_pair(c, s);
    static unsigned char fr[8192], back[8192];
    size_t n = tframe(fr, sizeof fr, 6000, 'z');
    struct cfut_context cx = noop_cx();

    size_t off = 0, got = 0;
    while (off < n || got < n) {
        struct cfut_iovec iov = {fr + off, n - off};
        struct cfut_stream_result res;
        if (off < n &&
            cfut_stream_poll_write(s, &cx, &iov, 1, &res) == CFUT_READY) {
            ck_assert_int_eq(res.status, 0);
            off += res.n;
        }
        if (cfut_stream_poll_read(c, &cx, back + got, sizeof back - got,
                                  &res) == CFUT_READY) {
            ck_assert_int_eq(res.status, 0);
            got += res.n;
        }
    }

    ck_assert_uint_eq(got, n);
    ck_assert_mem_eq(back, fr, n);
    ck_assert_uint_eq(stats(s).n_messages_out, 1);
    ck_assert_uint_gt(stats(s).n_frames_out, 6);
    ck_assert_uint_eq(stats(c).n_messages_in, 1);
    ck_assert_uint_eq(stats(c).n_frames_in, stats(s).n_frames_out);
    cfut_stream_close(c);
    cfut_stream_close(s);
}
END_TEST

START_TEST(test_ws_reads_take_messages_split_anyhow)
{
    open_server(NULL);
    /* "abcdef" in a message of three fragments, then "gh" + "ij" in one. */
    send_client_frame(0x02, "ab", 2);
    send_client_frame(0x00, "cd", 2);
    send_client_frame(0x80, "ef", 2);
    send_client_frame(0x82, "ghij", 4);
    unsigned char buf[64];
    struct cfut_stream_result res;

    ck_assert_int_eq(ws_read(buf, sizeof buf, &res), CFUT_READY);

    ck_assert_int_eq(res.status, 0);
    ck_assert_uint_eq(res.n, 10);
    ck_assert_mem_eq(buf, "abcdefghij", 10);
    ck_assert_uint_eq(stats(ws).n_messages_in, 2);
    ck_assert_uint_eq(stats(ws).n_frames_in, 4);
    ck_assert_int_eq(ws_read(buf, sizeof buf, &res), CFUT_PENDING);
}
END_TEST

START_TEST(test_ws_reads_fill_a_small_buffer_piece_by_piece)
{
    open_server(NULL);
    send_client_frame(0x82, "0123456789", 10);
    unsigned char buf[4];
    struct cfut_stream_result res;
    char got[16];
    size_t n = 0;

    while (n < 10) {
        ck_assert_int_eq(ws_read(buf, 3, &res), CFUT_READY);
        ck_assert_int_eq(res.status, 0);
        ck_assert_uint_le(res.n, 3);
        memcpy(got + n, buf, res.n);
        n += res.n;
    }

    ck_assert_mem_eq(got, "0123456789", 10);
}
END_TEST

START_TEST(test_ws_ping_inside_a_message_is_answered_with_its_payload)
{
    open_server(NULL);
    send_client_frame(0x02, "ab", 2);
    send_client_frame(0x89, "hi!", 3);
    send_client_frame(0x80, "cd", 2);
    unsigned char buf[64];
    struct cfut_stream_result res;

    ck_assert_int_eq(ws_read(buf, sizeof buf, &res), CFUT_READY);

    ck_assert_uint_eq(res.n, 4);
    ck_assert_mem_eq(buf, "abcd", 4);
    int end;
    size_t n = take(raw, buf, sizeof buf, &end);
    struct wire_frame f;
    ck_assert_uint_eq(parse_frame(buf, n, &f), n);
    ck_assert_uint_eq(f.b0, 0x8a);
    ck_assert_uint_eq(f.len, 3);
    ck_assert_mem_eq(f.payload, "hi!", 3);
    ck_assert_uint_eq(stats(ws).n_pings_in, 1);
}
END_TEST

START_TEST(test_ws_pongs_are_counted_and_ignored)
{
    open_server(NULL);
    send_client_frame(0x8a, "x", 1);
    send_client_frame(0x82, "data", 4);
    unsigned char buf[64];
    struct cfut_stream_result res;

    ck_assert_int_eq(ws_read(buf, sizeof buf, &res), CFUT_READY);

    ck_assert_uint_eq(res.n, 4);
    ck_assert_uint_eq(stats(ws).n_pongs_in, 1);
    int end;
    ck_assert_uint_eq(take(raw, buf, sizeof buf, &end), 0);
}
END_TEST

/* ---- protocol violations ---- */

struct violation {
    const char *what;
    unsigned char bytes[32];
    size_t n;
    uint16_t code;
};

#define M 0x80, 0x00, 0x00, 0x00, 0x00 /* mask bit, length 0, zero key */
static const struct violation violations[] = {
    {"unmasked frame", {0x82, 0x01, 'x'}, 3, 1002},
    {"reserved opcode 3", {0x83, M}, 6, 1002},
    {"reserved control opcode 0xb", {0x8b, M}, 6, 1002},
    {"RSV1 set", {0xc2, M}, 6, 1002},
    {"RSV3 set", {0x92, M}, 6, 1002},
    {"text frame", {0x81, 0x82, 0, 0, 0, 0, 'h', 'i'}, 8, 1003},
    {"continuation of nothing", {0x80, M}, 6, 1002},
    {"message inside a message", {0x02, M, 0x82, M}, 12, 1002},
    {"text inside a message", {0x02, M, 0x81, M}, 12, 1003},
    {"ping of 126 bytes", {0x89, 0xfe, 0x00, 0x7e}, 4, 1002},
    {"fragmented ping", {0x09, M}, 6, 1002},
    {"non-minimal 16-bit length", {0x82, 0xfe, 0x00, 0x05}, 4, 1002},
    {"non-minimal 64-bit length",
     {0x82, 0xff, 0, 0, 0, 0, 0, 0, 0x01, 0x00},
     10,
     1002},
    {"64-bit length with the top bit",
     {0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0},
     10,
     1002},
    {"frame over the limit (2^40 bytes)",
     {0x82, 0xff, 0, 0, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 'x'},
     15,
     1009},
    {"close with one byte", {0x88, 0x81, 0, 0, 0, 0, 0x03}, 7, 1002},
    {"close code 999", {0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe7}, 8, 1002},
    {"close code 1004", {0x88, 0x82, 0, 0, 0, 0, 0x03, 0xec}, 8, 1002},
    {"close code 1005", {0x88, 0x82, 0, 0, 0, 0, 0x03, 0xed}, 8, 1002},
    {"close code 1006", {0x88, 0x82, 0, 0, 0, 0, 0x03, 0xee}, 8, 1002},
    {"close code 1015", {0x88, 0x82, 0, 0, 0, 0, 0x03, 0xf7}, 8, 1002},
    {"close code 2999", {0x88, 0x82, 0, 0, 0, 0, 0x0b, 0xb7}, 8, 1002},
    {"close code 5000", {0x88, 0x82, 0, 0, 0, 0, 0x13, 0x88}, 8, 1002},
    {"close reason not UTF-8",
     {0x88, 0x84, 0, 0, 0, 0, 0x03, 0xe8, 0xc0, 0xaf},
     10,
     1007},
};

START_TEST(test_ws_each_violation_closes_with_its_code)
{
    const struct violation *v = &violations[_i];
    open_server(NULL);
    put(raw, v->bytes, v->n);
    unsigned char buf[64];
    struct cfut_stream_result res;

    enum cfut_poll p = ws_read(buf, sizeof buf, &res);

    ck_assert_msg(p == CFUT_READY && res.status == CFUT_EPROTO, "%s", v->what);
    expect_close(v->code);
    ck_assert_uint_eq(stats(ws).close_sent, v->code);
    ck_assert_int_eq(ws_write("x", 1, &res), CFUT_READY);
    ck_assert_int_eq(res.status, CFUT_ECONNRESET);
    ck_assert_int_eq(ws_read(buf, sizeof buf, &res), CFUT_READY);
    ck_assert_int_eq(res.status, CFUT_EPROTO); /* sticky */
}
END_TEST

START_TEST(test_ws_message_over_the_limit_closes_with_1009)
{
    struct cfut_ws_config cfg = {.max_message = 10};
    open_server(&cfg);
    send_client_frame(0x02, "123456", 6);
    send_client_frame(0x00, "789", 3);
    send_client_frame(0x80, "ab", 2); /* 11 bytes in all */
    unsigned char buf[64];
    struct cfut_stream_result res;
    size_t n = 0;

    while (ws_read(buf + n, sizeof buf - n, &res) == CFUT_READY &&
           res.status == 0)
        n += res.n;

    ck_assert_int_eq(res.status, CFUT_EPROTO);
    ck_assert_uint_eq(n, 9); /* what came before the limit was delivered */
    expect_close(1009);
}
END_TEST

START_TEST(test_ws_message_at_the_limit_is_accepted)
{
    struct cfut_ws_config cfg = {.max_message = 10, .max_frame = 6};
    open_server(&cfg);
    send_client_frame(0x02, "123456", 6);
    send_client_frame(0x80, "7890", 4);
    unsigned char buf[64];
    struct cfut_stream_result res;

    ck_assert_int_eq(ws_read(buf, sizeof buf, &res), CFUT_READY);

    ck_assert_int_eq(res.status, 0);
    ck_assert_uint_eq(res.n, 10);
}
END_TEST

START_TEST(test_ws_client_fails_on_a_masked_server_frame)
{
    ck_assert_int_eq(client_against("HTTP/1.1 101 Switching Protocols\r\n"
                                    "Upgrade: websocket\r\n"
                                    "Connection: Upgrade\r\n"
                                    "Sec-WebSocket-Accept: %s\r\n\r\n"),
                     0);
    send_client_frame(0x82, "x", 1); /* masked, as a client would */
    unsigned char buf[64];
    struct cfut_stream_result res;

    ck_assert_int_eq(ws_read(buf, sizeof buf, &res), CFUT_READY);

    ck_assert_int_eq(res.status, CFUT_EPROTO);
    int end;
    size_t n = take(raw, buf, sizeof buf, &end);
    struct wire_frame f;
    ck_assert_uint_eq(parse_frame(buf, n, &f), n);
    ck_assert_uint_eq(f.b0, 0x88);
    ck_assert(f.masked); /* a client's close frame is masked too */
    ck_assert_uint_eq((uint16_t)(f.payload[0] << 8 | f.payload[1]), 1002);
}
END_TEST

/* ---- the closing handshake ---- */

START_TEST(test_ws_peer_close_is_answered_with_its_code_and_reads_end)
{
    open_server(NULL);
    send_client_frame(0x82, "last", 4);
    send_client_frame(0x88,
                      "\x03\xe9"
                      "bye",
                      5); /* 1001 going away */
    unsigned char buf[64];
    struct cfut_stream_result res;

    ck_assert_int_eq(ws_read(buf, sizeof buf, &res), CFUT_READY);
    ck_assert_uint_eq(res.n, 4);
    ck_assert_int_eq(ws_read(buf, sizeof buf, &res), CFUT_READY);

    ck_assert_int_eq(res.status, CFUT_EEOF);
    expect_close(1001);
    ck_assert_uint_eq(stats(ws).close_received, 1001);
    ck_assert_uint_eq(stats(ws).close_sent, 1001);
    ck_assert_int_eq(ws_write("x", 1, &res), CFUT_READY);
    ck_assert_int_eq(res.status, CFUT_ECONNRESET);
}
END_TEST

START_TEST(test_ws_close_without_a_code_is_answered_without_one)
{
    open_server(NULL);
    send_client_frame(0x88, "", 0);
    unsigned char buf[64];
    struct cfut_stream_result res;

    ck_assert_int_eq(ws_read(buf, sizeof buf, &res), CFUT_READY);

    ck_assert_int_eq(res.status, CFUT_EEOF);
    int end;
    ck_assert_uint_eq(take(raw, buf, sizeof buf, &end), 2);
    ck_assert_mem_eq(buf, "\x88\x00", 2);
    ck_assert_uint_eq(stats(ws).close_received, 1005);
    ck_assert_uint_eq(stats(ws).close_sent, 1005);
}
END_TEST

START_TEST(test_ws_shutdown_sends_close_and_reads_go_on_until_the_answer)
{
    open_server(NULL);
    struct cfut_context cx = noop_cx();
    struct cfut_stream_result res;
    ck_assert_int_eq(ws_write("bye", 3, &res), CFUT_READY);

    ck_assert_int_eq(cfut_stream_poll_shutdown(ws, &cx, &res), CFUT_READY);

    ck_assert_int_eq(res.status, 0);
    unsigned char buf[64];
    int end;
    ck_assert_uint_eq(take(raw, buf, sizeof buf, &end), 9);
    ck_assert_mem_eq(buf,
                     "\x82\x03"
                     "bye\x88\x02\x03\xe8",
                     9);
    ck_assert_int_eq(ws_write("x", 1, &res), CFUT_READY);
    ck_assert_int_eq(res.status, CFUT_ESTATE);
    /* The peer still sends data, then answers the close. */
    send_client_frame(0x82, "tail", 4);
    send_client_frame(0x88, "\x03\xe8", 2);
    ck_assert_int_eq(ws_read(buf, sizeof buf, &res), CFUT_READY);
    ck_assert_uint_eq(res.n, 4);
    ck_assert_int_eq(ws_read(buf, sizeof buf, &res), CFUT_READY);
    ck_assert_int_eq(res.status, CFUT_EEOF);
    ck_assert_uint_eq(take(raw, buf, sizeof buf, &end), 0); /* no 2nd close */
    ck_assert_int_eq(end, CFUT_EEOF);
}
END_TEST

START_TEST(test_ws_shutdown_sends_the_chosen_code_and_reason)
{
    open_server(NULL);
    ck_assert_int_eq(cfut_ws_set_close_code(ws, 4001, "done \xc3\xa9"), 0);
    struct cfut_context cx = noop_cx();
    struct cfut_stream_result res;

    ck_assert_int_eq(cfut_stream_poll_shutdown(ws, &cx, &res), CFUT_READY);

    unsigned char buf[64];
    int end;
    size_t n = take(raw, buf, sizeof buf, &end);
    struct wire_frame f;
    ck_assert_uint_eq(parse_frame(buf, n, &f), n);
    ck_assert_uint_eq(f.len, 9);
    ck_assert_mem_eq(f.payload,
                     "\x0f\xa1"
                     "done \xc3\xa9",
                     9);
    ck_assert_int_eq(cfut_ws_set_close_code(ws, 1000, NULL), CFUT_ESTATE);
}
END_TEST

START_TEST(test_ws_set_close_code_refuses_what_may_not_be_sent)
{
    open_server(NULL);
    char long_reason[125];
    memset(long_reason, 'r', 124);
    long_reason[124] = '\0';

    ck_assert_int_eq(cfut_ws_set_close_code(ws, 1005, NULL), CFUT_EINVAL);
    ck_assert_int_eq(cfut_ws_set_close_code(ws, 999, NULL), CFUT_EINVAL);
    ck_assert_int_eq(cfut_ws_set_close_code(ws, 5000, NULL), CFUT_EINVAL);
    ck_assert_int_eq(cfut_ws_set_close_code(ws, 1000, long_reason),
                     CFUT_EINVAL);
    ck_assert_int_eq(cfut_ws_set_close_code(ws, 1000, "\xc0\xaf"),
                     CFUT_EINVAL); /* overlong */
    ck_assert_int_eq(cfut_ws_set_close_code(ws, 1000, "\xed\xa0\x80"),
                     CFUT_EINVAL); /* a surrogate */
    ck_assert_int_eq(cfut_ws_set_close_code(ws, 1000, "\xf4\x90\x80\x80"),
                     CFUT_EINVAL); /* past U+10FFFF */
    ck_assert_int_eq(cfut_ws_set_close_code(ws, 1000, "\xe2\x82"),
                     CFUT_EINVAL); /* cut short */
    ck_assert_int_eq(cfut_ws_set_close_code(raw, 1000, NULL), CFUT_EINVAL);
    ck_assert_int_eq(cfut_ws_set_close_code(ws, 3000, "\xf0\x9f\x98\x80"), 0);
}
END_TEST

START_TEST(test_ws_end_of_stream_without_close_is_a_reset)
{
    open_server(NULL);
    send_client_frame(0x82, "ab", 2);
    cfut_stream_close(raw);
    raw = NULL;
    unsigned char buf[64];
    struct cfut_stream_result res;

    ck_assert_int_eq(ws_read(buf, sizeof buf, &res), CFUT_READY);
    ck_assert_uint_eq(res.n, 2);
    ck_assert_int_eq(ws_read(buf, sizeof buf, &res), CFUT_READY);

    ck_assert_int_eq(res.status, CFUT_ECONNRESET);
    ck_assert_uint_eq(stats(ws).close_received, 0);
}
END_TEST

/* ---- the transport over WebSocket ---- */

static const struct cfut_ws_config client_cfg = {.frame_messages = true};

START_TEST(test_ws_transport_answers_shuffled_requests_one_byte_at_a_time)
{
    struct cfut_stream *a, *b, *c, *s;
    ck_assert_int_eq(cfut_mem_stream_pair_new(1, &a, &b), 0);
    ck_assert_int_eq(cfut_ws_stream_new(a, CFUT_WS_CLIENT, &client_cfg, &c), 0);
    struct cfut_ws_config sc = {.frame_messages = true};
    ck_assert_int_eq(cfut_ws_stream_new(b, CFUT_WS_SERVER, &sc, &s), 0);
    struct cfut_transport *t;
    ck_assert_int_eq(cfut_transport_new(ex, c, NULL, &t), 0);
    struct echo_config echo = {true, 99};
    struct cfut_server *srv;
    ck_assert_int_eq(cfut_server_new(ex, echo_handler, &echo, NULL, &srv), 0);
    ck_assert_int_eq(cfut_server_add_stream(srv, s), 0);
    enum { N = 100 };
    static struct cfut_request r[N];
    static struct cfut_response out[N];
    static char msg[N][48];
    for (int i = 0; i < N; i++) {
        snprintf(msg[i], sizeof msg[i], "request %d of a hundred, %*d", i,
                 i % 20, i);
        ck_assert_int_eq(cfut_request_init(&r[i], t, msg[i], strlen(msg[i])),
                         0);
    }

    testkit_await_requests(ex, r, out, N);

    for (int i = 0; i < N; i++) {
        ck_assert_int_eq(out[i].status, 0);
        ck_assert_uint_eq(out[i].len, strlen(msg[i]));
        ck_assert_mem_eq(cfut_response_data(&out[i]), msg[i], out[i].len);
        cfut_response_deinit(&out[i]);
    }
    ck_assert_uint_eq(stats(c).n_messages_out, N);
    ck_assert_uint_eq(stats(s).n_messages_out, N);
    cfut_transport_free(t);
    cfut_server_free(srv);
    ck_assert_int_eq(cfut_executor_run_ready(ex), 0);
}
END_TEST

/* Connects to 127.0.0.1:'port' and makes a transport over it (over a
 * WebSocket when 'ws'). */
struct dial {
    struct cfut_future base;
    struct cfut_connect conn;
    bool ws;
    struct cfut_transport **t;
};

static enum cfut_poll
dial_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct dial *d = cfut_container_of(f, struct dial, base);
    struct cfut_connect_result r;
    if (cfut_future_poll(&d->conn.base, cx, &r) == CFUT_PENDING)
        return CFUT_PENDING;
    int rc = r.status;
    struct cfut_stream *fd_s = NULL, *w = NULL;
    if (rc == 0 && (rc = cfut_fd_stream_from_io(r.io, &fd_s)) < 0)
        cfut_io_free(r.io);
    w = fd_s;
    if (rc == 0 && d->ws &&
        (rc = cfut_ws_stream_new(fd_s, CFUT_WS_CLIENT, &client_cfg, &w)) < 0)
        cfut_stream_close(fd_s);
    if (rc == 0 && (rc = cfut_transport_new(ex, w, NULL, d->t)) < 0)
        cfut_stream_close(w);
    *(int *)out = rc;
    return CFUT_READY;
}

static void
dial_drop(struct cfut_future *f)
{
    struct dial *d = cfut_container_of(f, struct dial, base);
    cfut_future_drop(&d->conn.base);
}

static const struct cfut_future_vtable dial_vtable = {
    dial_poll, dial_drop, sizeof(int), "dial", NULL,
};

static struct cfut_transport *
dial(uint16_t port, bool ws)
{
    struct dial d;
    struct cfut_transport *t = NULL;
    cfut_future_init(&d.base, &dial_vtable);
    d.ws = ws;
    d.t = &t;
    ck_assert_int_eq(cfut_connect_tcp_init(&d.conn, "127.0.0.1", port), 0);
    int rc = 1;
    ck_assert_int_eq(cfut_block_on(ex, &d.base, &rc), 0);
    ck_assert_int_eq(rc, 0);
    return t;
}

START_TEST(test_ws_transport_runs_over_tcp_beside_a_plain_listener)
{
    struct cfut_listener *l_ws, *l_tcp;
    ck_assert_int_eq(cfut_tcp_listen(ex, "127.0.0.1:0", NULL, &l_ws), 0);
    uint16_t port_ws = cfut_listener_port(l_ws);
    ck_assert_int_eq(cfut_tcp_listen(ex, "127.0.0.1:0", NULL, &l_tcp), 0);
    uint16_t port_tcp = cfut_listener_port(l_tcp);
    struct cfut_server *srv;
    ck_assert_int_eq(cfut_server_new(ex, echo_handler, NULL, NULL, &srv), 0);
    ck_assert_int_eq(cfut_server_listen_ws(srv, l_ws, NULL), 0);
    ck_assert_int_eq(cfut_server_listen(srv, l_tcp), 0);
    struct cfut_transport *t[3] = {dial(port_ws, true), dial(port_ws, true),
                                   dial(port_tcp, false)};
    enum { N = 300 };
    static struct cfut_request r[N];
    static struct cfut_response out[N];
    static unsigned char big[N][2000];
    for (int i = 0; i < N; i++) {
        memset(big[i], i, sizeof big[i]);
        ck_assert_int_eq(cfut_request_init(&r[i], t[i % 3], big[i],
                                           1 + (size_t)i * 7 % 2000),
                         0);
    }

    testkit_await_requests(ex, r, out, N);

    for (int i = 0; i < N; i++) {
        ck_assert_int_eq(out[i].status, 0);
        ck_assert_uint_eq(out[i].len, 1 + (size_t)i * 7 % 2000);
        ck_assert_mem_eq(cfut_response_data(&out[i]), big[i], out[i].len);
        cfut_response_deinit(&out[i]);
    }
    struct cfut_server_stats st;
    cfut_server_get_stats(srv, &st);
    ck_assert_uint_eq(st.n_connections, 3);
    ck_assert_uint_eq(st.n_replies, N);
    for (int i = 0; i < 3; i++)
        cfut_transport_free(t[i]);
    cfut_server_free(srv);
    ck_assert_int_eq(cfut_executor_run(ex), 0);
}
END_TEST

START_TEST(test_ws_close_from_the_server_fails_pending_requests)
{
    ck_assert_int_eq(client_against("HTTP/1.1 101 Switching Protocols\r\n"
                                    "Upgrade: websocket\r\n"
                                    "Connection: Upgrade\r\n"
                                    "Sec-WebSocket-Accept: %s\r\n\r\n"),
                     0);
    struct cfut_transport *t;
    ck_assert_int_eq(cfut_transport_new(ex, ws, NULL, &t), 0);
    ws = NULL; /* the transport owns it now */
    struct cfut_request r[3];
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(cfut_request_init(&r[i], t, "q", 1), 0);
    ck_assert_int_eq(cfut_executor_run_ready(ex), 0);
    unsigned char buf[512];
    int end;
    ck_assert_uint_gt(take(raw, buf, sizeof buf, &end), 0); /* requests */

    /* The server closes (unmasked, as a server does) mid-request. */
    put(raw, "\x88\x02\x03\xe8", 4);
    struct cfut_response out[3];

    testkit_await_requests(ex, r, out, 3);

    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(out[i].status, CFUT_ECONNRESET);
    ck_assert_int_eq(cfut_transport_status(t), CFUT_ECONNRESET);
    unsigned char cl[64];
    size_t n = take(raw, cl, sizeof cl, &end);
    struct wire_frame f;
    ck_assert_uint_eq(parse_frame(cl, n, &f), n);
    ck_assert_uint_eq(f.b0, 0x88); /* answered before the end */
    ck_assert(f.masked);
    ck_assert_uint_eq((uint16_t)(f.payload[0] << 8 | f.payload[1]), 1000);
    ck_assert_int_eq(end, CFUT_EEOF);
    cfut_transport_free(t);
}
END_TEST

START_TEST(test_ws_server_refusal_counts_and_spares_other_connections)
{
    struct cfut_server *srv;
    ck_assert_int_eq(cfut_server_new(ex, echo_handler, NULL, NULL, &srv), 0);
    /* A bad request on one connection... */
    make(CFUT_WS_SERVER, NULL);
    ck_assert_int_eq(cfut_server_add_stream(srv, ws), 0);
    ws = NULL;
    put_str(raw, "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    /* ...and a good client on another. */
    struct cfut_stream *a, *b, *c, *s;
    ck_assert_int_eq(cfut_mem_stream_pair_new(64, &a, &b), 0);
    ck_assert_int_eq(cfut_ws_stream_new(a, CFUT_WS_CLIENT, &client_cfg, &c), 0);
    ck_assert_int_eq(cfut_ws_stream_new(b, CFUT_WS_SERVER, &client_cfg, &s), 0);
    ck_assert_int_eq(cfut_server_add_stream(srv, s), 0);
    struct cfut_transport *t;
    ck_assert_int_eq(cfut_transport_new(ex, c, NULL, &t), 0);
    struct cfut_request r;
    ck_assert_int_eq(cfut_request_init(&r, t, "still here", 10), 0);
    struct cfut_response out;

    testkit_await_requests(ex, &r, &out, 1);

    ck_assert_int_eq(out.status, 0);
    ck_assert_mem_eq(cfut_response_data(&out), "still here", 10);
    char buf[512];
    int end;
    size_t n = take(raw, buf, sizeof buf - 1, &end);
    buf[n] = '\0';
    ck_assert_ptr_nonnull(strstr(buf, "HTTP/1.1 426 Upgrade Required\r\n"));
    ck_assert_int_eq(end, CFUT_EEOF);
    struct cfut_server_stats st;
    cfut_server_get_stats(srv, &st);
    ck_assert_uint_eq(st.n_protocol_errors, 1);
    ck_assert_uint_eq(st.n_open, 1);
    cfut_transport_free(t);
    cfut_server_free(srv);
    ck_assert_int_eq(cfut_executor_run_ready(ex), 0);
}
END_TEST

/* ---- resources ---- */

START_TEST(test_ws_every_allocation_failure_is_reported_and_undone)
{
    /* The executor keeps the block of the awaiting task once it has run
     * one: its allocation is not what this test is about. */
    testkit_await_requests(ex, NULL, NULL, 0);
    int n_fail = 0;
    for (long k = 1;; k++) {
        struct cfut_stream *a, *b, *c = NULL, *s = NULL;
        ck_assert_int_eq(cfut_mem_stream_pair_new(512, &a, &b), 0);
        struct cfut_transport *t = NULL;
        struct cfut_server *srv = NULL;
        struct cfut_request r[2];
        struct cfut_response out[2];
        int n = 0;

        testkit_alloc_fail_at(k);
        int rc = cfut_ws_stream_new(a, CFUT_WS_CLIENT, &client_cfg, &c);
        if (rc == 0) {
            a = NULL;
            rc = cfut_ws_stream_new(b, CFUT_WS_SERVER, &client_cfg, &s);
        }
        if (rc == 0) {
            b = NULL;
            rc = cfut_transport_new(ex, c, NULL, &t);
        }
        if (rc == 0) {
            c = NULL;
            rc = cfut_server_new(ex, echo_handler, NULL, NULL, &srv);
        }
        if (rc == 0 && (rc = cfut_server_add_stream(srv, s)) == 0)
            s = NULL;
        while (rc == 0 && n < 2)
            if ((rc = cfut_request_init(&r[n], t, "payload", 7)) == 0)
                n++;
        if (n > 0)
            testkit_await_requests(ex, r, out, n);
        bool failed = testkit_alloc_failed();
        testkit_alloc_fail_at(0);

        if (rc != 0)
            ck_assert_int_eq(rc, CFUT_ENOMEM);
        for (int i = 0; i < n; i++) {
            ck_assert(out[i].status == 0 || out[i].status == CFUT_ENOMEM ||
                      out[i].status == CFUT_ECONNRESET);
            cfut_response_deinit(&out[i]);
        }
        cfut_transport_free(t);
        cfut_server_free(srv);
        cfut_stream_close(c);
        cfut_stream_close(s);
        cfut_stream_close(a);
        cfut_stream_close(b);
        ck_assert_int_eq(cfut_executor_run_ready(ex), 0);
        /* (The teardown checks that nothing leaked: the executor keeps
         * task blocks pooled, so live counts are compared only there.) */
        if (!failed) {
            ck_assert(rc == 0 && n == 2 && out[0].status == 0 &&
                      out[1].status == 0);
            break;
        }
        n_fail++;
    }
    ck_assert_int_gt(n_fail, 5);
}
END_TEST

static bool exchanged; /* the last exchange() went to the end */

/*
 * Drives a client and a server through the handshake and one message each
 * way over a pair that moves one byte at a time, polling by hand; stops
 * after 'steps' polls (or at the end). Returns the number of polls made.
 */
static int
exchange(int steps, bool drop_futures_midway)
{
    struct cfut_stream *a, *b, *c, *s;
    ck_assert_int_eq(cfut_mem_stream_pair_new(1, &a, &b), 0);
    ck_assert_int_eq(cfut_ws_stream_new(a, CFUT_WS_CLIENT, NULL, &c), 0);
    ck_assert_int_eq(cfut_ws_stream_new(b, CFUT_WS_SERVER, NULL, &s), 0);
    struct cfut_ws_handshake hc, hs;
    cfut_ws_handshake_init(&hc, c);
    cfut_ws_handshake_init(&hs, s);
    bool live_c = true, live_s = true;
    struct cfut_context cx = noop_cx();
    int polls = 0, done_c = 0, done_s = 0;
    unsigned char got_c[16], got_s[16];
    size_t n_c = 0, n_s = 0, w_c = 0, w_s = 0;
    int out;
    while (polls < steps && !(n_c == 5 && n_s == 5)) {
        struct cfut_stream_result res;
        polls++;
        if (live_c) {
            if (testkit_poll(&hc.base, cfut_waker_noop(), &out) == CFUT_READY) {
                ck_assert_int_eq(out, 0);
                done_c = 1;
                cfut_future_drop(&hc.base);
                live_c = false;
            } else if (drop_futures_midway && polls % 3 == 0) {
                /* Dropping the future loses nothing: a new one resumes. */
                cfut_future_drop(&hc.base);
                cfut_ws_handshake_init(&hc, c);
            }
        }
        if (live_s) {
            if (testkit_poll(&hs.base, cfut_waker_noop(), &out) == CFUT_READY) {
                ck_assert_int_eq(out, 0);
                done_s = 1;
                cfut_future_drop(&hs.base);
                live_s = false;
            }
        }
        if (done_c && w_c < 5) {
            struct cfut_iovec iov = {&"ping!"[w_c], 5 - w_c};
            if (cfut_stream_poll_write(c, &cx, &iov, 1, &res) == CFUT_READY)
                w_c += res.n;
        }
        if (done_s && w_s < 5) {
            struct cfut_iovec iov = {&"pong!"[w_s], 5 - w_s};
            if (cfut_stream_poll_write(s, &cx, &iov, 1, &res) == CFUT_READY)
                w_s += res.n;
        }
        /* Both keep reading: a read also sends what a write left in the
         * stream's buffer. */
        if (done_c &&
            cfut_stream_poll_read(c, &cx, got_c + n_c, sizeof got_c - n_c,
                                  &res) == CFUT_READY) {
            ck_assert_int_eq(res.status, 0);
            n_c += res.n;
        }
        if (done_s &&
            cfut_stream_poll_read(s, &cx, got_s + n_s, sizeof got_s - n_s,
                                  &res) == CFUT_READY) {
            ck_assert_int_eq(res.status, 0);
            n_s += res.n;
        }
    }
    exchanged = n_c == 5 && n_s == 5;
    if (exchanged) {
        ck_assert_mem_eq(got_c, "pong!", 5);
        ck_assert_mem_eq(got_s, "ping!", 5);
    }
    if (live_c)
        cfut_future_drop(&hc.base);
    if (live_s)
        cfut_future_drop(&hs.base);
    cfut_stream_close(c);
    cfut_stream_close(s);
    return polls;
}

START_TEST(test_ws_closing_at_every_step_frees_everything)
{
    long base = testkit_alloc_live(); /* the executor's own blocks */
    int total = exchange(1 << 20, false);
    ck_assert(exchanged);
    ck_assert_int_gt(total, 100); /* one byte at a time: many steps */

    for (int k = 0; k < total; k++) {
        exchange(k, false);
        ck_assert_int_eq(testkit_alloc_live(), base);
    }
}
END_TEST

START_TEST(test_ws_dropped_handshake_futures_resume_where_they_were)
{
    long base = testkit_alloc_live();

    int total = exchange(1 << 20, true);

    ck_assert(exchanged);
    ck_assert_int_gt(total, 100);
    ck_assert_int_eq(testkit_alloc_live(), base);
}
END_TEST

static Suite *
ws_suite(void)
{
    Suite *s = suite_create("ws");
    TCase *tc = tcase_create("handshake");
    tcase_add_checked_fixture(tc, ws_setup, ws_teardown);
    tcase_add_test(tc, test_ws_server_answers_the_rfc_request_with_the_rfc_key);
    tcase_add_loop_test(tc, test_ws_server_refuses_malformed_requests_with_400,
                        0, (int)(sizeof malformed / sizeof *malformed));
    tcase_add_loop_test(tc, test_ws_server_refuses_non_upgrades_with_426, 0,
                        (int)(sizeof not_upgrades / sizeof *not_upgrades));
    tcase_add_test(tc, test_ws_server_accepts_token_lists_and_any_case);
    tcase_add_test(tc,
                   test_ws_server_refuses_a_head_over_the_size_limit_with_431);
    tcase_add_test(tc, test_ws_server_refuses_too_many_fields_with_431);
    tcase_add_test(tc, test_ws_server_head_at_the_limits_is_accepted);
    tcase_add_test(tc, test_ws_handshake_fails_when_the_peer_leaves_mid_head);
    tcase_add_test(tc, test_ws_the_first_read_runs_the_handshake);
    tcase_add_test(tc,
                   test_ws_client_and_server_shake_hands_one_byte_at_a_time);
    tcase_add_test(tc, test_ws_client_accepts_the_right_answer);
    tcase_add_loop_test(tc, test_ws_client_refuses_wrong_answers, 0,
                        (int)(sizeof bad_answers / sizeof *bad_answers));
    tcase_add_test(tc, test_ws_client_records_the_status_of_a_refusal);
    tcase_add_test(tc, test_ws_stream_new_refuses_bad_settings);
    suite_add_tcase(s, tc);

    tc = tcase_create("frames");
    tcase_add_checked_fixture(tc, ws_setup, ws_teardown);
    tcase_add_test(tc,
                   test_ws_server_frames_are_unmasked_and_client_frames_masked);
    tcase_add_test(tc, test_ws_empty_write_is_ready_and_sends_nothing);
    tcase_add_test(tc, test_ws_each_transport_frame_leaves_as_one_message);
    tcase_add_test(
        tc, test_ws_transport_frame_written_in_pieces_is_still_one_message);
    tcase_add_test(tc, test_ws_large_frames_are_fragmented_and_reassembled);
    tcase_add_test(tc, test_ws_reads_take_messages_split_anyhow);
    tcase_add_test(tc, test_ws_reads_fill_a_small_buffer_piece_by_piece);
    tcase_add_test(tc,
                   test_ws_ping_inside_a_message_is_answered_with_its_payload);
    tcase_add_test(tc, test_ws_pongs_are_counted_and_ignored);
    suite_add_tcase(s, tc);

    tc = tcase_create("violations");
    tcase_add_checked_fixture(tc, ws_setup, ws_teardown);
    tcase_add_loop_test(tc, test_ws_each_violation_closes_with_its_code, 0,
                        (int)(sizeof violations / sizeof *violations));
    tcase_add_test(tc, test_ws_message_over_the_limit_closes_with_1009);
    tcase_add_test(tc, test_ws_message_at_the_limit_is_accepted);
    tcase_add_test(tc, test_ws_client_fails_on_a_masked_server_frame);
    suite_add_tcase(s, tc);

    tc = tcase_create("closing");
    tcase_add_checked_fixture(tc, ws_setup, ws_teardown);
    tcase_add_test(tc,
                   test_ws_peer_close_is_answered_with_its_code_and_reads_end);
    tcase_add_test(tc, test_ws_close_without_a_code_is_answered_without_one);
    tcase_add_test(
        tc, test_ws_shutdown_sends_close_and_reads_go_on_until_the_answer);
    tcase_add_test(tc, test_ws_shutdown_sends_the_chosen_code_and_reason);
    tcase_add_test(tc, test_ws_set_close_code_refuses_what_may_not_be_sent);
    tcase_add_test(tc, test_ws_end_of_stream_without_close_is_a_reset);
    suite_add_tcase(s, tc);

    tc = tcase_create("transport");
    tcase_add_checked_fixture(tc, ws_setup, ws_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(
        tc, test_ws_transport_answers_shuffled_requests_one_byte_at_a_time);
    tcase_add_test(tc, test_ws_transport_runs_over_tcp_beside_a_plain_listener);
    tcase_add_test(tc, test_ws_close_from_the_server_fails_pending_requests);
    tcase_add_test(tc,
                   test_ws_server_refusal_counts_and_spares_other_connections);
    suite_add_tcase(s, tc);

    tc = tcase_create("resources");
    tcase_add_checked_fixture(tc, ws_setup, ws_teardown);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_ws_every_allocation_failure_is_reported_and_undone);
    tcase_add_test(tc, test_ws_closing_at_every_step_frees_everything);
    tcase_add_test(tc,
                   test_ws_dropped_handshake_futures_resume_where_they_were);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return testkit_run(ws_suite());
}
