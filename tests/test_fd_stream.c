/*
 * test_fd_stream.c: hang-ups on real sockets. A peer (a raw fd the test
 * drives by hand while the executor is not running) sends its last bytes
 * and closes, so that the data and the end of stream reach the reactor in
 * one epoll event; every test runs over a socketpair and over TCP on
 * 127.0.0.1. Reads, the fd stream, the client transport and the server
 * must all see the end. No test has a guard timeout of its own: a lost
 * hang-up shows as a hang that the suite's timeout fails.
 */
#define _GNU_SOURCE
#include "testkit.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>
#include "echo_handler.h"

#define ex testkit_ex

/* Loop-test index bit 0: the kind of connection. */
enum { KIND_SOCKETPAIR = 0, KIND_TCP = 1 };

static const char *
kind_name(int kind)
{
    return kind == KIND_TCP ? "TCP" : "socketpair";
}

/*
 * Makes a connected pair of raw fds: 'out[0]' for cfut, 'out[1]' for the
 * peer (blocking, so the test's own reads and writes are simple).
 */
static void
conn_pair(int kind, int out[2])
{
    if (kind == KIND_SOCKETPAIR) {
        ck_assert_int_eq(
            socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, out), 0);
        return;
    }
    int lfd;
    ck_assert_int_eq(cfut_tcp_listen_fd("127.0.0.1", 0, 4, &lfd), CFUT_OK);
    uint16_t port;
    ck_assert_int_eq(cfut_socket_local_port(lfd, &port), CFUT_OK);
    int c = testkit_tcp_connect(port);
    struct pollfd p = {lfd, POLLIN, 0};
    ck_assert_int_eq(poll(&p, 1, -1), 1);
    int a = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    ck_assert_int_ge(a, 0);
    close(lfd);
    out[0] = c;
    out[1] = a;
}

/*
 * Waits (outside the executor) until 'fd' sees the peer's end of stream,
 * so that the reactor's next look finds the bytes and the end together.
 */
static void
wait_peer_end(int fd)
{
    struct pollfd p = {fd, POLLRDHUP, 0};
    ck_assert_int_eq(poll(&p, 1, -1), 1);
    ck_assert(p.revents & (POLLRDHUP | POLLHUP));
}

/* ---- a task that reads twice ---- */

/*
 * Reads a stream (or, with 'io' set, a registration through cfut_read)
 * twice into 'res[0]' and 'res[1]'. Spawned and run before the peer acts,
 * so that its first read finds nothing and it waits in the reactor: the
 * peer's bytes and end of stream then arrive in one readiness event.
 */
struct two_reads {
    struct cfut_future base;
    struct cfut_stream *s;
    struct cfut_io *io;
    bool reading; /* 'rd' is initialised */
    struct cfut_read rd;
    int i;
    char *buf;
    size_t cap;
    struct cfut_stream_result *res;
};

static enum cfut_poll
two_reads_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    (void)out;
    struct two_reads *r = cfut_container_of(f, struct two_reads, base);
    while (r->i < 2) {
        if (r->s != NULL) {
            if (cfut_stream_poll_read(r->s, cx, r->buf, r->cap,
                                      &r->res[r->i]) == CFUT_PENDING)
                return CFUT_PENDING;
        } else {
            if (!r->reading) {
                cfut_read_init(&r->rd, r->io, r->buf, r->cap);
                r->reading = true;
            }
            struct cfut_io_result io_res;
            if (cfut_future_poll(&r->rd.base, cx, &io_res) == CFUT_PENDING)
                return CFUT_PENDING;
            cfut_future_drop(&r->rd.base);
            r->reading = false;
            r->res[r->i].status = io_res.status;
            r->res[r->i].n = io_res.n;
        }
        r->i++;
    }
    return CFUT_READY;
}

static void
two_reads_drop(struct cfut_future *f)
{
    struct two_reads *r = cfut_container_of(f, struct two_reads, base);
    if (r->reading)
        cfut_future_drop(&r->rd.base);
}

static const struct cfut_future_vtable two_reads_vtable = {
    two_reads_poll, two_reads_drop, 0, "two_reads", NULL};

/* Spawns a two_reads task and runs it until it waits for the peer. */
static void
spawn_two_reads(struct cfut_stream *s, struct cfut_io *io, char *buf,
                size_t cap, struct cfut_stream_result res[2])
{
    struct two_reads r;
    memset(&r, 0, sizeof r);
    cfut_future_init(&r.base, &two_reads_vtable);
    r.s = s;
    r.io = io;
    r.buf = buf;
    r.cap = cap;
    r.res = res;
    res[0].status = res[1].status = 99;
    ck_assert_int_eq(cfut_spawn(ex, &r.base, sizeof r, NULL), CFUT_OK);
    ck_assert_int_eq(cfut_executor_run_ready(ex), CFUT_OK);
    ck_assert_uint_eq(cfut_executor_n_tasks(ex), 1);
}

/* ---- reads ---- */

START_TEST(test_fd_stream_read_after_data_and_close_gives_eof)
{
    int kind = _i;
    int fds[2];
    conn_pair(kind, fds);
    struct cfut_stream *s;
    ck_assert_int_eq(cfut_fd_stream_new(ex, fds[0], &s), CFUT_OK);
    char buf[16];
    struct cfut_stream_result res[2];
    spawn_two_reads(s, NULL, buf, sizeof buf, res);
    testkit_write_all(fds[1], "abc", 3);
    close(fds[1]);
    wait_peer_end(fds[0]);

    ck_assert_int_eq(cfut_executor_run(ex), CFUT_OK);

    ck_assert_msg(res[0].status == 0 && res[0].n == 3, "%s: first read",
                  kind_name(kind));
    ck_assert_mem_eq(buf, "abc", 3);
    ck_assert_int_eq(res[1].status, CFUT_EEOF);
    ck_assert_uint_eq(res[1].n, 0);
    cfut_stream_close(s);
}
END_TEST

START_TEST(test_fd_stream_read_future_after_data_and_close_gives_eof)
{
    int fds[2];
    conn_pair(_i, fds);
    struct cfut_io *io;
    ck_assert_int_eq(cfut_io_new(ex, fds[0], &io), CFUT_OK);
    char buf[16];
    struct cfut_stream_result res[2];
    spawn_two_reads(NULL, io, buf, sizeof buf, res);
    testkit_write_all(fds[1], "abc", 3);
    close(fds[1]);
    wait_peer_end(fds[0]);

    ck_assert_int_eq(cfut_executor_run(ex), CFUT_OK);

    ck_assert_int_eq(res[0].status, CFUT_OK);
    ck_assert_uint_eq(res[0].n, 3);
    ck_assert_int_eq(res[1].status, CFUT_EEOF);
    cfut_io_free(io);
}
END_TEST

START_TEST(test_fd_stream_hangup_bit_survives_clearing_readable)
{
    int fds[2];
    conn_pair(_i, fds);
    struct cfut_io *io;
    ck_assert_int_eq(cfut_io_new(ex, fds[0], &io), CFUT_OK);
    testkit_write_all(fds[1], "abc", 3);
    close(fds[1]);
    wait_peer_end(fds[0]);
    struct cfut_readiness r;
    int st = 99;
    cfut_readable_init(&r, io);
    ck_assert_int_eq(cfut_block_on(ex, &r.base, &st), CFUT_OK);

    cfut_io_clear_ready(io, CFUT_IO_READABLE | CFUT_IO_HUP);

    ck_assert_uint_eq(cfut_io_ready(io) & CFUT_IO_READABLE, 0);
    ck_assert_uint_ne(cfut_io_ready(io) & CFUT_IO_HUP, 0);
    cfut_io_free(io);
}
END_TEST

/* ---- a read known to return EAGAIN is skipped ---- */

/* One cfut_read on 'io', run to completion with block_on. */
static struct cfut_io_result
read_once(struct cfut_io *io, char *buf, size_t cap)
{
    struct cfut_read rd;
    struct cfut_io_result res = {99, 0};
    cfut_read_init(&rd, io, buf, cap);
    ck_assert_int_eq(cfut_block_on(ex, &rd.base, &res), CFUT_OK);
    return res;
}

/*
 * A short read of a stream socket leaves it empty: the readable bit is
 * cleared, the next read waits without a read(2) (the rule of
 * cfut__io_read_would_block()), and bytes that come later still wake it.
 * The first read finds bytes written before the registration (no event
 * is needed for them: a fresh registration never skips).
 */
START_TEST(test_fd_stream_read_future_after_a_short_read_waits_for_new_bytes)
{
    int fds[2];
    conn_pair(_i, fds);
    testkit_write_all(fds[1], "abc", 3); /* before the registration */
    struct cfut_io *io;
    ck_assert_int_eq(cfut_io_new(ex, fds[0], &io), CFUT_OK);
    char buf[16];
    struct cfut_stream_result res[2];
    spawn_two_reads(NULL, io, buf, sizeof buf, res);
    ck_assert_int_eq(res[0].status, CFUT_OK);
    ck_assert_uint_eq(res[0].n, 3);
    ck_assert_int_eq(res[1].status, 99); /* the second read waits */
    ck_assert_uint_eq(cfut_io_ready(io) & CFUT_IO_READABLE, 0);

    testkit_write_all(fds[1], "de", 2);
    ck_assert_int_eq(cfut_executor_run(ex), CFUT_OK);

    ck_assert_int_eq(res[1].status, CFUT_OK);
    ck_assert_uint_eq(res[1].n, 2);
    ck_assert_mem_eq(buf, "de", 2);
    close(fds[1]);
    cfut_io_free(io);
}
END_TEST

/* A read that fills its buffer says nothing of what is left: the next
 * read is made and finds the rest without an event. */
START_TEST(test_fd_stream_read_future_after_a_full_read_reads_the_rest)
{
    int fds[2];
    conn_pair(_i, fds);
    struct cfut_io *io;
    ck_assert_int_eq(cfut_io_new(ex, fds[0], &io), CFUT_OK);
    testkit_write_all(fds[1], "abcdefgh", 8);
    char buf[4];
    struct cfut_io_result r = read_once(io, buf, 4);
    ck_assert_int_eq(r.status, CFUT_OK);
    ck_assert_uint_eq(r.n, 4);
    r = read_once(io, buf, 4);
    ck_assert_int_eq(r.status, CFUT_OK);
    ck_assert_uint_eq(r.n, 4);
    ck_assert_mem_eq(buf, "efgh", 4);
    close(fds[1]);
    cfut_io_free(io);
}
END_TEST

/* A message socket's short read is one message of several: the next read
 * is made and finds the second message (no event would come for it). */
START_TEST(test_fd_stream_read_future_on_seqpacket_reads_every_message)
{
    int fds[2];
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds),
                     0);
    struct cfut_io *io;
    ck_assert_int_eq(cfut_io_new(ex, fds[0], &io), CFUT_OK);
    ck_assert_int_eq(send(fds[1], "abc", 3, 0), 3);
    char buf[16];
    struct cfut_io_result r = read_once(io, buf, sizeof buf);
    ck_assert_uint_eq(r.n, 3);
    ck_assert_int_eq(send(fds[1], "de", 2, 0), 2);
    ck_assert_int_eq(send(fds[1], "f", 1, 0), 1);
    r = read_once(io, buf, sizeof buf); /* after an event */
    ck_assert_uint_eq(r.n, 2);
    r = read_once(io, buf, sizeof buf); /* no event for this one */
    ck_assert_int_eq(r.status, CFUT_OK);
    ck_assert_uint_eq(r.n, 1);
    ck_assert_mem_eq(buf, "f", 1);
    close(fds[1]);
    cfut_io_free(io);
}
END_TEST

/* The fd stream's own skip after a short read: not on a message socket,
 * whose short read is one message of several (both messages come in one
 * event, so no event would come for the second). */
START_TEST(test_fd_stream_stream_on_seqpacket_reads_every_message)
{
    int fds[2];
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds),
                     0);
    struct cfut_stream *s;
    ck_assert_int_eq(cfut_fd_stream_new(ex, fds[0], &s), CFUT_OK);
    char buf[16];
    struct cfut_stream_result res[2];
    spawn_two_reads(s, NULL, buf, sizeof buf, res); /* waits: no bytes */
    ck_assert_int_eq(send(fds[1], "abc", 3, 0), 3); /* one event for both */
    ck_assert_int_eq(send(fds[1], "de", 2, 0), 2);
    ck_assert_int_eq(cfut_executor_run(ex), CFUT_OK);
    ck_assert_uint_eq(res[0].n, 3);
    ck_assert_int_eq(res[1].status, 0);
    ck_assert_uint_eq(res[1].n, 2);
    ck_assert_mem_eq(buf, "de", 2);
    close(fds[1]);
    cfut_stream_close(s);
}
END_TEST

/*
 * Nor on a terminal: in canonical mode one read returns one line, however
 * many are waiting, so a short read does not empty it (two lines come in
 * one event, so no event would come for the second).
 */
START_TEST(test_fd_stream_stream_on_a_terminal_reads_every_line)
{
    int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    ck_assert_int_ge(master, 0);
    ck_assert_int_eq(grantpt(master), 0);
    ck_assert_int_eq(unlockpt(master), 0);
    int slave = open(ptsname(master), O_RDWR | O_NOCTTY | O_CLOEXEC);
    ck_assert_int_ge(slave, 0);
    struct termios t;
    ck_assert_int_eq(tcgetattr(slave, &t), 0);
    t.c_lflag |= ICANON;
    t.c_lflag &= ~(tcflag_t)ECHO;
    ck_assert_int_eq(tcsetattr(slave, TCSANOW, &t), 0);
    struct cfut_stream *s;
    ck_assert_int_eq(cfut_fd_stream_new(ex, slave, &s), CFUT_OK);
    char buf[16];
    struct cfut_stream_result res[2];
    spawn_two_reads(s, NULL, buf, sizeof buf, res);     /* waits: no line */
    ck_assert_int_eq(write(master, "abc\nde\n", 7), 7); /* one event */
    ck_assert_int_eq(cfut_executor_run(ex), CFUT_OK);
    ck_assert_uint_eq(res[0].n, 4);
    ck_assert_int_eq(res[1].status, 0);
    ck_assert_uint_eq(res[1].n, 3);
    ck_assert_mem_eq(buf, "de\n", 3);
    cfut_stream_close(s);
    close(master);
}
END_TEST

/* ---- the client transport against a peer played by hand ---- */

/* Reads 'n' request frames from the raw peer 'fd' into 'ids'. */
static void
peer_read_requests(int fd, struct cfut_id *ids, int n)
{
    struct cfut_frame_decoder d;
    ck_assert_int_eq(cfut_frame_decoder_init(&d, 0), 0);
    int got = 0;
    while (got < n) {
        unsigned char hdr[CFUT_FRAME_HEADER_SIZE + 64];
        testkit_read_exact(fd, hdr, CFUT_FRAME_HEADER_SIZE);
        size_t len = ((size_t)hdr[0] << 24 | (size_t)hdr[1] << 16 |
                      (size_t)hdr[2] << 8 | hdr[3]) -
                     CFUT_FRAME_MIN_LEN;
        ck_assert_uint_le(len, 64);
        testkit_read_exact(fd, hdr + CFUT_FRAME_HEADER_SIZE, len);
        size_t used = 0;
        struct cfut_frame f;
        ck_assert_int_eq(cfut_frame_decoder_next(
                             &d, hdr, CFUT_FRAME_HEADER_SIZE + len, &used, &f),
                         1);
        ck_assert_int_eq(f.kind, CFUT_FRAME_REQUEST);
        ids[got++] = f.id;
    }
    cfut_frame_decoder_deinit(&d);
}

static size_t
encode(unsigned char *buf, size_t cap, enum cfut_frame_kind kind,
       const struct cfut_id *id, const void *payload, size_t len)
{
    size_t w = 0;
    ck_assert_int_eq(cfut_frame_encode(buf, cap, kind, id, payload, len, 0, &w),
                     0);
    return w;
}

/* A client transport over 'fds[0]' with 'n' requests written to the peer. */
static struct cfut_transport *
client_with_requests(int kind, int fds[2], struct cfut_request *r, int n,
                     struct cfut_id *ids)
{
    conn_pair(kind, fds);
    struct cfut_stream *s;
    ck_assert_int_eq(cfut_fd_stream_new(ex, fds[0], &s), CFUT_OK);
    struct cfut_transport *t;
    ck_assert_int_eq(cfut_transport_new(ex, s, NULL, &t), CFUT_OK);
    for (int i = 0; i < n; i++)
        ck_assert_int_eq(cfut_request_init(&r[i], t, "q", 1), CFUT_OK);
    ck_assert_int_eq(cfut_executor_run_ready(ex), CFUT_OK);
    peer_read_requests(fds[1], ids, n);
    return t;
}

/* Awaits request 'r' (taken) and returns its response. */
static struct cfut_response
await_request(struct cfut_request *r)
{
    struct cfut_response out;
    memset(&out, 0, sizeof out);
    out.status = 99;
    ck_assert_int_eq(cfut_block_on(ex, &r->base, &out), CFUT_OK);
    return out;
}

START_TEST(test_fd_stream_server_answering_2_of_3_then_closing_fails_the_third)
{
    int fds[2];
    struct cfut_request r[3];
    struct cfut_id ids[3];
    struct cfut_transport *t = client_with_requests(_i, fds, r, 3, ids);
    unsigned char out[128];
    size_t n = encode(out, sizeof out, CFUT_FRAME_RESPONSE, &ids[0], "a", 1);
    n += encode(out + n, sizeof out - n, CFUT_FRAME_RESPONSE, &ids[1], "b", 1);
    testkit_write_all(fds[1], out, n);
    close(fds[1]);
    wait_peer_end(fds[0]);

    struct cfut_response a = await_request(&r[0]);
    struct cfut_response b = await_request(&r[1]);
    struct cfut_response c = await_request(&r[2]);

    ck_assert_int_eq(a.status, 0);
    ck_assert_mem_eq(cfut_response_data(&a), "a", 1);
    ck_assert_int_eq(b.status, 0);
    ck_assert_mem_eq(cfut_response_data(&b), "b", 1);
    ck_assert_int_eq(c.status, CFUT_ECONNRESET);
    ck_assert_int_eq(cfut_transport_status(t), CFUT_ECONNRESET);
    cfut_transport_free(t);
    ck_assert_int_eq(cfut_executor_run_ready(ex), CFUT_OK);
}
END_TEST

/*
 * Loop index: bit 0 the kind of connection, bit 1 where the last frame is
 * cut (0: in its header, 1: in its payload).
 */
START_TEST(test_fd_stream_frame_cut_then_close_fails_pending_with_eproto)
{
    int kind = _i & 1;
    bool in_payload = (_i & 2) != 0;
    int fds[2];
    struct cfut_request r[2];
    struct cfut_id ids[2];
    struct cfut_transport *t = client_with_requests(kind, fds, r, 2, ids);
    unsigned char out[128];
    size_t n = encode(out, sizeof out, CFUT_FRAME_RESPONSE, &ids[0], "a", 1);
    size_t whole = encode(out + n, sizeof out - n, CFUT_FRAME_RESPONSE, &ids[1],
                          "0123", 4);
    n += in_payload ? whole - 2 : 10;
    testkit_write_all(fds[1], out, n);
    close(fds[1]);
    wait_peer_end(fds[0]);

    struct cfut_response a = await_request(&r[0]);
    struct cfut_response b = await_request(&r[1]);

    ck_assert_int_eq(a.status, 0);
    ck_assert_msg(b.status == CFUT_EPROTO, "%s, cut in the %s: %s",
                  kind_name(kind), in_payload ? "payload" : "header",
                  cfut_status_name(b.status));
    ck_assert_int_eq(cfut_transport_status(t), CFUT_EPROTO);
    cfut_transport_free(t);
    ck_assert_int_eq(cfut_executor_run_ready(ex), CFUT_OK);
}
END_TEST

/* ---- the server against a client played by hand ---- */

START_TEST(test_fd_stream_server_closes_a_connection_cut_in_a_header)
{
    int kind = _i;
    struct cfut_server *srv;
    ck_assert_int_eq(cfut_server_new(ex, echo_handler, NULL, NULL, &srv),
                     CFUT_OK);
    int bad[2];
    conn_pair(kind, bad);
    struct cfut_stream *s;
    ck_assert_int_eq(cfut_fd_stream_new(ex, bad[0], &s), CFUT_OK);
    ck_assert_int_eq(cfut_server_add_stream(srv, s), CFUT_OK);
    ck_assert_int_eq(cfut_executor_run_ready(ex), CFUT_OK); /* it waits */
    unsigned char hdr[CFUT_FRAME_HEADER_SIZE];
    struct cfut_id id;
    memset(&id, 7, sizeof id);
    ck_assert_int_eq(
        cfut_frame_encode_header(hdr, CFUT_FRAME_REQUEST, &id, 100, 0), 0);
    testkit_write_all(bad[1], hdr, 10);
    ck_assert_int_eq(shutdown(bad[1], SHUT_WR), 0);
    wait_peer_end(bad[0]);

    ck_assert_int_eq(cfut_executor_run_ready(ex), CFUT_OK);

    /* The server closed it: the peer reads the end of stream. */
    char c;
    ck_assert_int_eq(read(bad[1], &c, 1), 0);
    struct cfut_server_stats st;
    cfut_server_get_stats(srv, &st);
    ck_assert_uint_eq(st.n_open, 0);
    ck_assert_uint_eq(st.n_protocol_errors, 1);
    close(bad[1]);

    /* Another connection is still served. */
    int good[2];
    conn_pair(kind, good);
    struct cfut_stream *cs, *ss;
    ck_assert_int_eq(cfut_fd_stream_new(ex, good[0], &cs), CFUT_OK);
    ck_assert_int_eq(cfut_fd_stream_new(ex, good[1], &ss), CFUT_OK);
    ck_assert_int_eq(cfut_server_add_stream(srv, ss), CFUT_OK);
    struct cfut_transport *t;
    ck_assert_int_eq(cfut_transport_new(ex, cs, NULL, &t), CFUT_OK);
    struct cfut_request r;
    ck_assert_int_eq(cfut_request_init(&r, t, "still", 5), CFUT_OK);
    struct cfut_response out = await_request(&r);
    ck_assert_int_eq(out.status, 0);
    ck_assert_mem_eq(cfut_response_data(&out), "still", 5);
    cfut_transport_free(t);
    cfut_server_free(srv);
    ck_assert_int_eq(cfut_executor_run_ready(ex), CFUT_OK);
}
END_TEST

static Suite *
fd_stream_suite(void)
{
    Suite *s = suite_create("fd_stream");
    TCase *tc = tcase_create("hang-up");
    testkit_executor_fixture(tc);
    tcase_add_loop_test(tc, test_fd_stream_read_after_data_and_close_gives_eof,
                        0, 2);
    tcase_add_loop_test(
        tc, test_fd_stream_read_future_after_data_and_close_gives_eof, 0, 2);
    tcase_add_loop_test(
        tc, test_fd_stream_hangup_bit_survives_clearing_readable, 0, 2);
    tcase_add_loop_test(
        tc, test_fd_stream_read_future_after_a_short_read_waits_for_new_bytes,
        0, 2);
    tcase_add_loop_test(
        tc, test_fd_stream_read_future_after_a_full_read_reads_the_rest, 0, 2);
    tcase_add_test(tc,
                   test_fd_stream_read_future_on_seqpacket_reads_every_message);
    tcase_add_test(tc, test_fd_stream_stream_on_a_terminal_reads_every_line);
    tcase_add_test(tc, test_fd_stream_stream_on_seqpacket_reads_every_message);
    tcase_add_loop_test(
        tc, test_fd_stream_server_answering_2_of_3_then_closing_fails_the_third,
        0, 2);
    tcase_add_loop_test(
        tc, test_fd_stream_frame_cut_then_close_fails_pending_with_eproto, 0,
        4);
    tcase_add_loop_test(
        tc, test_fd_stream_server_closes_a_connection_cut_in_a_header, 0, 2);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return testkit_run(fd_stream_suite());
}
