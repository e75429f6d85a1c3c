/*
 * test_io.c: fd I/O on the reactor: readiness wakes exactly the waiting
 * task, partial writes complete, EOF and reset are told apart, writes to a
 * closed peer fail without SIGPIPE, dropped reads unregister, TCP echo of
 * 1 MiB each way with many tasks, Unix sockets, connect errors, a busy task
 * does not starve I/O, bytes written by another thread wake a read blocked
 * in epoll_wait, allocation failure.
 */
#define _GNU_SOURCE
#include "testkit.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* The executor under test: made by the testkit's executor fixture. */
#define ex testkit_ex

/* Registers one end of a new socketpair; the other end stays raw. */
static struct cfut_io *
pair_io(int *peer)
{
    int fds[2];
    ck_assert_int_eq(cfut_socketpair(fds), CFUT_OK);
    struct cfut_io *io = NULL;
    ck_assert_int_eq(cfut_io_new(ex, fds[0], &io), CFUT_OK);
    *peer = fds[1];
    return io;
}

static void
block(struct cfut_future *f, void *out)
{
    ck_assert_int_eq(cfut_block_on(ex, f, out), CFUT_OK);
}

static unsigned char
pattern(unsigned id, size_t i)
{
    return (unsigned char)(i * 31u + id * 7u + (i >> 10));
}

/* ---- readiness ---- */

START_TEST(test_io_readable_wakes_only_the_waiting_waker)
{
    int p1, p2;
    struct cfut_io *io1 = pair_io(&p1);
    struct cfut_io *io2 = pair_io(&p2);
    struct testkit_waker tw1, tw2;
    struct cfut_waker w1 = testkit_waker_init(&tw1);
    struct cfut_waker w2 = testkit_waker_init(&tw2);
    struct cfut_readiness r1, r2;
    cfut_readable_init(&r1, io1);
    cfut_readable_init(&r2, io2);
    int st = 99;
    ck_assert_int_eq(testkit_poll(&r1.base, &w1, &st), CFUT_PENDING);
    ck_assert_int_eq(testkit_poll(&r2.base, &w2, &st), CFUT_PENDING);
    ck_assert_uint_eq(cfut_reactor_n_waiters(ex), 2);

    ck_assert_int_eq(write(p2, "x", 1), 1);
    ck_assert_int_eq(cfut_executor_run_ready(ex), CFUT_OK);

    ck_assert_int_eq(testkit_waker_n_wakes(&tw1), 0);
    ck_assert_int_eq(testkit_waker_n_wakes(&tw2), 1);
    ck_assert_uint_eq(cfut_reactor_n_waiters(ex), 1);
    ck_assert_int_eq(testkit_poll(&r2.base, &w2, &st), CFUT_READY);
    ck_assert_int_eq(st, CFUT_OK);
    cfut_future_drop(&r1.base);
    cfut_future_drop(&r2.base);
    ck_assert_uint_eq(cfut_reactor_n_waiters(ex), 0);
    cfut_io_free(io1);
    cfut_io_free(io2);
    close(p1);
    close(p2);
}
END_TEST

/* A task that awaits readability, then counts itself done. */
struct reader_task {
    struct cfut_future base;
    struct cfut_coro co;
    struct cfut_readiness r;
    int st;
    int *done;
};

static enum cfut_poll
reader_task_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct reader_task *self = cfut_container_of(f, struct reader_task, base);
    (void)out;
    CFUT_ASYNC_BEGIN(&self->co);
    CFUT_AWAIT(&self->co, cx, &self->r.base, &self->st);
    (*self->done)++;
    CFUT_ASYNC_END(&self->co);
}

static void
reader_task_drop(struct cfut_future *f)
{
    cfut_coro_drop(&cfut_container_of(f, struct reader_task, base)->co);
}

static const struct cfut_future_vtable reader_task_vtable = {
    reader_task_poll, reader_task_drop, 0, "reader_task", NULL};

START_TEST(test_io_readable_runs_the_right_task)
{
    int p1, p2;
    struct cfut_io *io1 = pair_io(&p1);
    struct cfut_io *io2 = pair_io(&p2);
    int done1 = 0, done2 = 0;
    struct reader_task t;
    cfut_future_init(&t.base, &reader_task_vtable);
    cfut_coro_init(&t.co);
    cfut_readable_init(&t.r, io1);
    t.done = &done1;
    struct cfut_join_handle h1;
    ck_assert_int_eq(cfut_spawn(ex, &t.base, sizeof t, &h1), CFUT_OK);
    cfut_future_init(&t.base, &reader_task_vtable);
    cfut_coro_init(&t.co);
    cfut_readable_init(&t.r, io2);
    t.done = &done2;
    ck_assert_int_eq(cfut_spawn(ex, &t.base, sizeof t, NULL), CFUT_OK);
    ck_assert_int_eq(cfut_executor_run_ready(ex), CFUT_OK);

    ck_assert_int_eq(write(p2, "x", 1), 1);
    ck_assert_int_eq(cfut_executor_run_ready(ex), CFUT_OK);

    ck_assert_int_eq(done1, 0);
    ck_assert_int_eq(done2, 1);
    ck_assert_uint_eq(cfut_executor_n_tasks(ex), 1);
    cfut_join_handle_cancel(&h1);
    ck_assert_int_eq(cfut_executor_run_ready(ex), CFUT_OK);
    cfut_future_drop(&h1.base);
    ck_assert_uint_eq(cfut_reactor_n_waiters(ex), 0);
    cfut_io_free(io1);
    cfut_io_free(io2);
    close(p1);
    close(p2);
}
END_TEST

/* ---- read and write ---- */

#define BIG (1u << 20)

/* Writes BIG bytes of pattern 'id'; counts its own polls. */
struct big_writer {
    struct cfut_future base;
    struct cfut_coro co;
    struct cfut_io *io;
    unsigned char *buf;
    struct cfut_write_all w;
    struct cfut_io_result res;
    int polls;
};

static enum cfut_poll
big_writer_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct big_writer *self = cfut_container_of(f, struct big_writer, base);
    (void)out;
    self->polls++;
    CFUT_ASYNC_BEGIN(&self->co);
    cfut_write_all_init(&self->w, self->io, self->buf, BIG);
    CFUT_AWAIT(&self->co, cx, &self->w.base, &self->res);
    CFUT_ASYNC_END(&self->co);
}

static void
big_writer_drop(struct cfut_future *f)
{
    cfut_coro_drop(&cfut_container_of(f, struct big_writer, base)->co);
}

static const struct cfut_future_vtable big_writer_vtable = {
    big_writer_poll, big_writer_drop, 0, "big_writer", NULL};

/* Reads until BIG bytes have arrived (or an error). */
struct big_reader {
    struct cfut_future base;
    struct cfut_coro co;
    struct cfut_io *io;
    unsigned char *buf;
    size_t got;
    struct cfut_read r;
    struct cfut_io_result res;
};

static enum cfut_poll
big_reader_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct big_reader *self = cfut_container_of(f, struct big_reader, base);
    (void)out;
    CFUT_ASYNC_BEGIN(&self->co);
    while (self->got < BIG) {
        cfut_read_init(&self->r, self->io, self->buf + self->got,
                       BIG - self->got);
        CFUT_AWAIT(&self->co, cx, &self->r.base, &self->res);
        if (self->res.status != CFUT_OK)
            break;
        self->got += self->res.n;
    }
    CFUT_ASYNC_END(&self->co);
}

static void
big_reader_drop(struct cfut_future *f)
{
    cfut_coro_drop(&cfut_container_of(f, struct big_reader, base)->co);
}

static const struct cfut_future_vtable big_reader_vtable = {
    big_reader_poll, big_reader_drop, 0, "big_reader", NULL};

START_TEST(test_io_write_all_completes_across_partial_writes)
{
    int fds[2];
    ck_assert_int_eq(cfut_socketpair(fds), CFUT_OK);
    int small = 4096;
    setsockopt(fds[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    struct cfut_io *wio, *rio;
    ck_assert_int_eq(cfut_io_new(ex, fds[0], &wio), CFUT_OK);
    ck_assert_int_eq(cfut_io_new(ex, fds[1], &rio), CFUT_OK);
    unsigned char *src = malloc(BIG), *dst = malloc(BIG);
    for (size_t i = 0; i < BIG; i++)
        src[i] = pattern(1, i);
    struct big_writer *w = malloc(sizeof *w);
    struct big_reader *r = malloc(sizeof *r);
    cfut_future_init(&w->base, &big_writer_vtable);
    cfut_coro_init(&w->co);
    w->io = wio;
    w->buf = src;
    w->polls = 0;
    cfut_future_init(&r->base, &big_reader_vtable);
    cfut_coro_init(&r->co);
    r->io = rio;
    r->buf = dst;
    r->got = 0;
    ck_assert_int_eq(cfut_spawn(ex, &r->base, sizeof *r, NULL), CFUT_OK);

    int rc = cfut_block_on(ex, &w->base, NULL);
    ck_assert_int_eq(rc, CFUT_OK);
    ck_assert_int_eq(cfut_executor_run(ex), CFUT_OK);

    ck_assert_int_eq(w->res.status, CFUT_OK);
    ck_assert_uint_eq(w->res.n, BIG);
    ck_assert_int_gt(w->polls, 1); /* it had to wait: writes were partial */
    ck_assert_uint_eq(cfut_executor_n_tasks(ex), 0);
    ck_assert(memcmp(src, dst, BIG) == 0);
    cfut_io_free(wio);
    cfut_io_free(rio);
    free(src);
    free(dst);
    free(w);
    free(r);
}
END_TEST

START_TEST(test_io_peer_close_gives_data_then_eof)
{
    int peer;
    struct cfut_io *io = pair_io(&peer);
    ck_assert_int_eq(write(peer, "hi", 2), 2);
    close(peer);
    char buf[8];
    struct cfut_read rd;
    struct cfut_io_result res = {99, 99};

    cfut_read_init(&rd, io, buf, sizeof buf);
    block(&rd.base, &res);
    ck_assert_int_eq(res.status, CFUT_OK);
    ck_assert_uint_eq(res.n, 2);
    ck_assert_mem_eq(buf, "hi", 2);
    cfut_read_init(&rd, io, buf, sizeof buf);
    block(&rd.base, &res);

    ck_assert_int_eq(res.status, CFUT_EEOF);
    ck_assert_uint_eq(res.n, 0);
    cfut_io_free(io);
}
END_TEST

START_TEST(test_io_write_to_a_closed_peer_is_epipe_without_sigpipe)
{
    /* Both a socket (MSG_NOSIGNAL) and a pipe (SIGPIPE ignored). */
    int peer;
    struct cfut_io *io = pair_io(&peer);
    close(peer);
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    close(p[0]);
    struct cfut_io *pio;
    ck_assert_int_eq(cfut_io_new(ex, p[1], &pio), CFUT_OK);
    struct cfut_write_all w;
    struct cfut_io_result res = {99, 99};

    cfut_write_all_init(&w, io, "data", 4);
    block(&w.base, &res);
    ck_assert_int_eq(res.status, -EPIPE);
    ck_assert_uint_eq(res.n, 0);
    cfut_write_all_init(&w, pio, "data", 4);
    block(&w.base, &res);

    ck_assert_int_eq(res.status, -EPIPE);
    cfut_io_free(io);
    cfut_io_free(pio);
}
END_TEST

/* Opens a TCP connection on 127.0.0.1: 'cli' (registered) and 'srv'. */
static void
tcp_pair(struct cfut_io **cli, struct cfut_io **srv)
{
    int lfd;
    ck_assert_int_eq(cfut_tcp_listen_fd("127.0.0.1", 0, 16, &lfd), CFUT_OK);
    uint16_t port;
    ck_assert_int_eq(cfut_socket_local_port(lfd, &port), CFUT_OK);
    ck_assert_uint_ne(port, 0);
    struct cfut_io *lio;
    ck_assert_int_eq(cfut_io_new(ex, lfd, &lio), CFUT_OK);
    struct cfut_connect c;
    ck_assert_int_eq(cfut_connect_tcp_init(&c, "127.0.0.1", port), CFUT_OK);
    struct cfut_connect_result cres = {99, NULL};
    block(&c.base, &cres);
    ck_assert_int_eq(cres.status, CFUT_OK);
    struct cfut_accept a;
    cfut_accept_init(&a, lio);
    struct cfut_accept_result ares = {.status = 99, .fd = -1};
    block(&a.base, &ares);
    ck_assert_int_eq(ares.status, CFUT_OK);
    ck_assert_int_eq(cfut_io_new(ex, ares.fd, srv), CFUT_OK);
    *cli = cres.io;
    cfut_io_free(lio);
}

START_TEST(test_io_reset_gives_econnreset)
{
    struct cfut_io *cli, *srv;
    tcp_pair(&cli, &srv);
    struct linger lg = {1, 0}; /* close() sends RST */
    ck_assert_int_eq(
        setsockopt(cfut_io_fd(srv), SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0);
    cfut_io_free(srv);
    char buf[8];
    struct cfut_read rd;
    struct cfut_io_result res = {99, 99};

    cfut_read_init(&rd, cli, buf, sizeof buf);
    block(&rd.base, &res);

    ck_assert_int_eq(res.status, CFUT_ECONNRESET);
    cfut_io_free(cli);
}
END_TEST

START_TEST(test_io_dropped_pending_read_unregisters)
{
    int peer;
    struct cfut_io *io = pair_io(&peer);
    struct testkit_waker tw;
    struct cfut_waker w = testkit_waker_init(&tw);
    char buf[8];
    struct cfut_read rd;
    struct cfut_io_result res;
    cfut_read_init(&rd, io, buf, sizeof buf);
    ck_assert_int_eq(testkit_poll(&rd.base, &w, &res), CFUT_PENDING);
    ck_assert_uint_eq(cfut_reactor_n_waiters(ex), 1);
    ck_assert_int_eq(atomic_load(&tw.refs), 1);

    cfut_future_drop(&rd.base);
    ck_assert_int_eq(write(peer, "x", 1), 1);
    ck_assert_int_eq(cfut_executor_run_ready(ex), CFUT_OK);

    ck_assert_uint_eq(cfut_reactor_n_waiters(ex), 0);
    ck_assert_int_eq(atomic_load(&tw.refs), 0);
    ck_assert_int_eq(testkit_waker_n_wakes(&tw), 0);
    cfut_io_free(io);
    close(peer);
}
END_TEST

/* ---- TCP echo: many clients, 1 MiB each way each ---- */

#define N_CLIENTS 8
#define CHUNK (32u * 1024u)

struct echo {
    struct cfut_future base;
    struct cfut_coro co;
    struct cfut_io *io;
    struct cfut_read r;
    struct cfut_write_all w;
    struct cfut_io_result res;
    unsigned char buf[16 * 1024];
};

static enum cfut_poll
echo_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct echo *self = cfut_container_of(f, struct echo, base);
    (void)out;
    CFUT_ASYNC_BEGIN(&self->co);
    for (;;) {
        cfut_read_init(&self->r, self->io, self->buf, sizeof self->buf);
        CFUT_AWAIT(&self->co, cx, &self->r.base, &self->res);
        if (self->res.status != CFUT_OK)
            break;
        cfut_write_all_init(&self->w, self->io, self->buf, self->res.n);
        CFUT_AWAIT(&self->co, cx, &self->w.base, &self->res);
        if (self->res.status != CFUT_OK)
            break;
    }
    cfut_io_free(self->io);
    self->io = NULL;
    CFUT_ASYNC_END(&self->co);
}

static void
echo_drop(struct cfut_future *f)
{
    struct echo *self = cfut_container_of(f, struct echo, base);
    cfut_coro_drop(&self->co);
    cfut_io_free(self->io);
}

static const struct cfut_future_vtable echo_vtable = {echo_poll, echo_drop, 0,
                                                      "echo", NULL};

struct acceptor {
    struct cfut_future base;
    struct cfut_coro co;
    struct cfut_io *lio;
    int i;
    struct cfut_accept a;
    struct cfut_accept_result ares;
    struct echo e;
};

static enum cfut_poll
acceptor_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct acceptor *self = cfut_container_of(f, struct acceptor, base);
    (void)out;
    CFUT_ASYNC_BEGIN(&self->co);
    for (self->i = 0; self->i < N_CLIENTS; self->i++) {
        cfut_accept_init(&self->a, self->lio);
        CFUT_AWAIT(&self->co, cx, &self->a.base, &self->ares);
        ck_assert_int_eq(self->ares.status, CFUT_OK);
        cfut_future_init(&self->e.base, &echo_vtable);
        cfut_coro_init(&self->e.co);
        ck_assert_int_eq(
            cfut_io_new(cfut_executor_current(), self->ares.fd, &self->e.io),
            CFUT_OK);
        ck_assert_int_eq(cfut_spawn(cfut_executor_current(), &self->e.base,
                                    sizeof self->e, NULL),
                         CFUT_OK);
    }
    CFUT_ASYNC_END(&self->co);
}

static void
acceptor_drop(struct cfut_future *f)
{
    cfut_coro_drop(&cfut_container_of(f, struct acceptor, base)->co);
}

static const struct cfut_future_vtable acceptor_vtable = {
    acceptor_poll, acceptor_drop, 0, "acceptor", NULL};

struct client {
    struct cfut_future base;
    struct cfut_coro co;
    unsigned id;
    uint16_t port;
    int *n_ok;
    struct cfut_connect c;
    struct cfut_connect_result cres;
    struct cfut_io *io;
    size_t off;
    size_t got;
    struct cfut_read r;
    struct cfut_write_all w;
    struct cfut_io_result res;
    unsigned char out[CHUNK];
    unsigned char in[CHUNK];
};

static enum cfut_poll
client_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct client *self = cfut_container_of(f, struct client, base);
    (void)out;
    CFUT_ASYNC_BEGIN(&self->co);
    ck_assert_int_eq(cfut_connect_tcp_init(&self->c, "127.0.0.1", self->port),
                     CFUT_OK);
    CFUT_AWAIT(&self->co, cx, &self->c.base, &self->cres);
    ck_assert_int_eq(self->cres.status, CFUT_OK);
    self->io = self->cres.io;
    for (self->off = 0; self->off < BIG; self->off += CHUNK) {
        for (size_t i = 0; i < CHUNK; i++)
            self->out[i] = pattern(self->id, self->off + i);
        cfut_write_all_init(&self->w, self->io, self->out, CHUNK);
        CFUT_AWAIT(&self->co, cx, &self->w.base, &self->res);
        ck_assert_int_eq(self->res.status, CFUT_OK);
        for (self->got = 0; self->got < CHUNK; self->got += self->res.n) {
            cfut_read_init(&self->r, self->io, self->in + self->got,
                           CHUNK - self->got);
            CFUT_AWAIT(&self->co, cx, &self->r.base, &self->res);
            ck_assert_int_eq(self->res.status, CFUT_OK);
        }
        if (memcmp(self->in, self->out, CHUNK) != 0)
            CFUT_ASYNC_RETURN_VOID(&self->co);
    }
    (*self->n_ok)++;
    CFUT_ASYNC_END(&self->co);
}

static void
client_drop(struct cfut_future *f)
{
    struct client *self = cfut_container_of(f, struct client, base);
    cfut_coro_drop(&self->co);
    cfut_io_free(self->io);
}

static const struct cfut_future_vtable client_vtable = {
    client_poll, client_drop, 0, "client", NULL};

START_TEST(test_io_tcp_echo_of_1mib_both_ways_with_many_tasks)
{
    int lfd;
    ck_assert_int_eq(cfut_tcp_listen_fd("127.0.0.1", 0, 64, &lfd), CFUT_OK);
    uint16_t port;
    ck_assert_int_eq(cfut_socket_local_port(lfd, &port), CFUT_OK);
    struct cfut_io *lio;
    ck_assert_int_eq(cfut_io_new(ex, lfd, &lio), CFUT_OK);
    struct acceptor a;
    cfut_future_init(&a.base, &acceptor_vtable);
    cfut_coro_init(&a.co);
    a.lio = lio;
    ck_assert_int_eq(cfut_spawn(ex, &a.base, sizeof a, NULL), CFUT_OK);
    int n_ok = 0;
    struct client *c = malloc(sizeof *c);
    for (unsigned i = 0; i < N_CLIENTS; i++) {
        cfut_future_init(&c->base, &client_vtable);
        cfut_coro_init(&c->co);
        c->id = i;
        c->port = port;
        c->n_ok = &n_ok;
        c->io = NULL;
        ck_assert_int_eq(cfut_spawn(ex, &c->base, sizeof *c, NULL), CFUT_OK);
    }
    free(c);

    int rc = cfut_executor_run(ex);

    ck_assert_int_eq(rc, CFUT_OK);
    ck_assert_int_eq(n_ok, N_CLIENTS);
    ck_assert_uint_eq(cfut_reactor_n_registrations(ex), 1);
    cfut_io_free(lio);
}
END_TEST

/* ---- Unix sockets and connect errors ---- */

START_TEST(test_io_unix_connect_accept_and_exchange)
{
    char path[64];
    snprintf(path, sizeof path, "/tmp/cfut-test-io-%d.sock", (int)getpid());
    unlink(path);
    int lfd;
    ck_assert_int_eq(cfut_unix_listen_fd(path, 4, &lfd), CFUT_OK);
    struct cfut_io *lio;
    ck_assert_int_eq(cfut_io_new(ex, lfd, &lio), CFUT_OK);
    struct cfut_connect c;
    ck_assert_int_eq(cfut_unix_connect_init(&c, path), CFUT_OK);
    struct cfut_connect_result cres = {99, NULL};
    block(&c.base, &cres);
    ck_assert_int_eq(cres.status, CFUT_OK);
    struct cfut_accept a;
    cfut_accept_init(&a, lio);
    struct cfut_accept_result ares = {.status = 99, .fd = -1};
    block(&a.base, &ares);
    ck_assert_int_eq(ares.status, CFUT_OK);
    struct cfut_io *srv;
    ck_assert_int_eq(cfut_io_new(ex, ares.fd, &srv), CFUT_OK);

    struct cfut_write_all w;
    struct cfut_io_result res = {99, 99};
    cfut_write_all_init(&w, cres.io, "ping", 4);
    block(&w.base, &res);
    ck_assert_int_eq(res.status, CFUT_OK);
    char buf[8];
    struct cfut_read rd;
    cfut_read_init(&rd, srv, buf, sizeof buf);
    block(&rd.base, &res);

    ck_assert_int_eq(res.status, CFUT_OK);
    ck_assert_uint_eq(res.n, 4);
    ck_assert_mem_eq(buf, "ping", 4);
    ck_assert_int_eq(cfut_unix_listen_fd(path, 4, &lfd), -EADDRINUSE);
    cfut_io_free(srv);
    cfut_io_free(cres.io);
    cfut_io_free(lio);
    unlink(path);
}
END_TEST

/*
 * Connects to 'host' on a port of 127.0.0.1 that was just closed; returns
 * the connect's status, after checking nothing was left registered.
 */
static int
connect_to_a_closed_port(const char *host)
{
    int lfd;
    ck_assert_int_eq(cfut_tcp_listen_fd("127.0.0.1", 0, 1, &lfd), CFUT_OK);
    uint16_t port;
    ck_assert_int_eq(cfut_socket_local_port(lfd, &port), CFUT_OK);
    close(lfd);
    struct cfut_connect c;
    ck_assert_int_eq(cfut_connect_tcp_init(&c, host, port), CFUT_OK);
    struct cfut_connect_result cres = {99, NULL};
    block(&c.base, &cres);
    ck_assert_ptr_null(cres.io);
    ck_assert_uint_eq(cfut_reactor_n_registrations(ex), 0);
    return cres.status;
}

START_TEST(test_io_connect_to_a_closed_port_is_econnrefused)
{
    int st = connect_to_a_closed_port("127.0.0.1");

    ck_assert_int_eq(st, -ECONNREFUSED);
    ck_assert_str_eq(cfut_status_name(st), "ECONNREFUSED");
    ck_assert_ptr_nonnull(strcasestr(cfut_strerror(st), "refused"));
}
END_TEST

START_TEST(test_io_listen_on_a_port_in_use_is_eaddrinuse)
{
    int lfd, again = -1;
    ck_assert_int_eq(cfut_tcp_listen_fd("127.0.0.1", 0, 1, &lfd), CFUT_OK);
    uint16_t port;
    ck_assert_int_eq(cfut_socket_local_port(lfd, &port), CFUT_OK);

    int rc = cfut_tcp_listen_fd("127.0.0.1", port, 1, &again);

    ck_assert_int_eq(rc, -EADDRINUSE);
    ck_assert_int_eq(again, -1); /* untouched on failure */
    ck_assert_str_eq(cfut_status_name(rc), "EADDRINUSE");
    ck_assert_ptr_nonnull(
        strcasestr(cfut_strerror(rc), "address already in use"));
    close(lfd);
}
END_TEST

START_TEST(test_io_unix_connect_to_a_missing_path_is_enoent)
{
    char path[64];
    snprintf(path, sizeof path, "/tmp/cfut-test-io-missing-%d.sock",
             (int)getpid());
    unlink(path);
    struct cfut_connect c;
    ck_assert_int_eq(cfut_unix_connect_init(&c, path), CFUT_OK);
    struct cfut_connect_result cres = {99, NULL};

    block(&c.base, &cres);

    ck_assert_int_eq(cres.status, -ENOENT);
    ck_assert_ptr_null(cres.io);
}
END_TEST

START_TEST(test_io_registering_a_regular_file_is_eperm)
{
    FILE *f = tmpfile();
    ck_assert_ptr_nonnull(f);
    struct cfut_io *io = NULL;

    int rc = cfut_io_new(ex, fileno(f), &io);

    ck_assert_int_eq(rc, -EPERM); /* epoll refuses regular files */
    ck_assert_ptr_null(io);
    ck_assert_uint_eq(cfut_reactor_n_registrations(ex), 0);
    fclose(f);
}
END_TEST

START_TEST(test_io_bad_addresses_are_refused)
{
    struct cfut_connect c;
    int fd;
    char long_path[200];
    memset(long_path, 'a', sizeof long_path - 1);
    long_path[sizeof long_path - 1] = '\0';

    ck_assert_int_eq(cfut_tcp_listen_fd("300.1.1.1", 0, 1, &fd), CFUT_EADDR);
    ck_assert_int_eq(cfut_unix_connect_init(&c, long_path), CFUT_EINVAL);
    ck_assert_int_eq(cfut_unix_listen_fd("", 1, &fd), CFUT_EINVAL);
    ck_assert_int_eq(cfut_connect_init(&c, NULL, 4), CFUT_EINVAL);
    ck_assert_int_eq(cfut_connect_tcp_init(&c, NULL, 1), CFUT_EINVAL);
    ck_assert_int_eq(cfut_tcp_listen_fd(NULL, 0, 1, &fd), CFUT_EINVAL);
}
END_TEST

/* ---- host names ---- */

START_TEST(test_io_host_names_are_refused_with_a_clear_error)
{
    const char *names[] = {"example.com", "not-an-ip", "localhostx", "db1",
                           "a.b.c.d"};
    struct cfut_connect c;
    int fd = -1;

    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        ck_assert_int_eq(cfut_connect_tcp_init(&c, names[i], 80),
                         CFUT_EHOSTNAME);
        ck_assert_int_eq(cfut_tcp_listen_fd(names[i], 0, 1, &fd),
                         CFUT_EHOSTNAME);
    }

    ck_assert_int_eq(fd, -1);
    ck_assert_ptr_nonnull(
        strstr(cfut_strerror(CFUT_EHOSTNAME), "host names are not resolved"));
}
END_TEST

START_TEST(test_io_malformed_numeric_addresses_are_eaddr)
{
    const char *bad[] = {"300.1.1.1", "1.2.3",   "1.2.3.4.5", "",
                         "::g",       "1::2::3", "[::1]"};
    struct cfut_connect c;
    int fd;

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_int_eq(cfut_connect_tcp_init(&c, bad[i], 80), CFUT_EADDR);
        ck_assert_int_eq(cfut_tcp_listen_fd(bad[i], 0, 1, &fd), CFUT_EADDR);
    }
}
END_TEST

/* Tells whether this machine has IPv6's loopback (::1 can be bound). */
static bool
have_ipv6_loopback(void)
{
    int fd;
    if (cfut_tcp_listen_fd("::1", 0, 1, &fd) != CFUT_OK)
        return false;
    close(fd);
    return true;
}

/*
 * Connects to 'host' and 'port', accepts on 'lfd', checks that the bytes
 * go through and that the connection's family is 'family'.
 */
static void
connect_and_exchange(const char *host, uint16_t port, int lfd, int family)
{
    struct cfut_io *lio;
    ck_assert_int_eq(cfut_io_new(ex, lfd, &lio), CFUT_OK);
    struct cfut_connect c;
    ck_assert_int_eq(cfut_connect_tcp_init(&c, host, port), CFUT_OK);
    struct cfut_connect_result cres = {99, NULL};
    block(&c.base, &cres);
    ck_assert_int_eq(cres.status, CFUT_OK);
    struct sockaddr_storage peer;
    socklen_t len = sizeof peer;
    ck_assert_int_eq(
        getpeername(cfut_io_fd(cres.io), (struct sockaddr *)&peer, &len), 0);
    ck_assert_int_eq(peer.ss_family, family);
    struct cfut_accept a;
    cfut_accept_init(&a, lio);
    struct cfut_accept_result ares = {.status = 99, .fd = -1};
    block(&a.base, &ares);
    ck_assert_int_eq(ares.status, CFUT_OK);
    ck_assert_int_eq(write(ares.fd, "hey", 3), 3);
    char buf[8];
    struct cfut_read rd;
    struct cfut_io_result res = {99, 99};
    cfut_read_init(&rd, cres.io, buf, sizeof buf);
    block(&rd.base, &res);
    ck_assert_int_eq(res.status, CFUT_OK);
    ck_assert_mem_eq(buf, "hey", 3);
    close(ares.fd);
    cfut_io_free(cres.io);
    cfut_io_free(lio);
}

START_TEST(test_io_localhost_listens_and_connects_on_ipv4)
{
    int lfd;
    ck_assert_int_eq(cfut_tcp_listen_fd("localhost", 0, 4, &lfd), CFUT_OK);
    struct sockaddr_in sa;
    socklen_t len = sizeof sa;
    ck_assert_int_eq(getsockname(lfd, (struct sockaddr *)&sa, &len), 0);
    ck_assert_int_eq(sa.sin_family, AF_INET);
    ck_assert_uint_eq(ntohl(sa.sin_addr.s_addr), INADDR_LOOPBACK);

    connect_and_exchange("localhost", ntohs(sa.sin_port), lfd, AF_INET);
}
END_TEST

START_TEST(test_io_localhost_connect_falls_back_to_ipv6)
{
    if (!have_ipv6_loopback())
        return; /* no ::1 on this machine: nothing to fall back to */
    int lfd;
    ck_assert_int_eq(cfut_tcp_listen_fd("::1", 0, 4, &lfd), CFUT_OK);
    uint16_t port;
    ck_assert_int_eq(cfut_socket_local_port(lfd, &port), CFUT_OK);

    connect_and_exchange("localhost", port, lfd, AF_INET6);
}
END_TEST

START_TEST(test_io_ipv6_literal_listens_and_connects)
{
    if (!have_ipv6_loopback())
        return;
    int lfd;
    ck_assert_int_eq(cfut_tcp_listen_fd("::1", 0, 4, &lfd), CFUT_OK);
    uint16_t port;
    ck_assert_int_eq(cfut_socket_local_port(lfd, &port), CFUT_OK);

    connect_and_exchange("::1", port, lfd, AF_INET6);
}
END_TEST

START_TEST(test_io_localhost_with_no_listener_is_econnrefused)
{
    int st = connect_to_a_closed_port("localhost");

    ck_assert_int_eq(st, -ECONNREFUSED); /* the IPv4 attempt's error */
}
END_TEST

/* ---- fairness: a busy task does not starve I/O ---- */

struct busy {
    struct cfut_future base;
    struct cfut_coro co;
    int peer;
    const bool *stop;
    long n;
};

static enum cfut_poll
busy_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct busy *self = cfut_container_of(f, struct busy, base);
    (void)out;
    CFUT_ASYNC_BEGIN(&self->co);
    while (!*self->stop && self->n < 1000000) {
        if (++self->n == 10)
            ck_assert_int_eq(write(self->peer, "x", 1), 1);
        CFUT_YIELD(&self->co, cx);
    }
    CFUT_ASYNC_END(&self->co);
}

static const struct cfut_future_vtable busy_vtable = {busy_poll, NULL, 0,
                                                      "busy", NULL};

struct flag_reader {
    struct cfut_future base;
    struct cfut_coro co;
    struct cfut_read r;
    struct cfut_io_result res;
    char buf[4];
    bool *flag;
};

static enum cfut_poll
flag_reader_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct flag_reader *self = cfut_container_of(f, struct flag_reader, base);
    (void)out;
    CFUT_ASYNC_BEGIN(&self->co);
    CFUT_AWAIT(&self->co, cx, &self->r.base, &self->res);
    *self->flag = self->res.status == CFUT_OK;
    CFUT_ASYNC_END(&self->co);
}

static void
flag_reader_drop(struct cfut_future *f)
{
    cfut_coro_drop(&cfut_container_of(f, struct flag_reader, base)->co);
}

static const struct cfut_future_vtable flag_reader_vtable = {
    flag_reader_poll, flag_reader_drop, 0, "flag_reader", NULL};

START_TEST(test_io_busy_task_does_not_starve_readiness)
{
    int peer;
    struct cfut_io *io = pair_io(&peer);
    bool flag = false;
    struct flag_reader fr;
    cfut_future_init(&fr.base, &flag_reader_vtable);
    cfut_coro_init(&fr.co);
    cfut_read_init(&fr.r, io, fr.buf, sizeof fr.buf);
    fr.flag = &flag;
    ck_assert_int_eq(cfut_spawn(ex, &fr.base, sizeof fr, NULL), CFUT_OK);
    struct busy b;
    cfut_future_init(&b.base, &busy_vtable);
    cfut_coro_init(&b.co);
    b.peer = peer;
    b.stop = &flag;
    b.n = 0;
    struct busy *bp = &b;

    int rc = cfut_block_on(ex, &bp->base, NULL);

    ck_assert_int_eq(rc, CFUT_OK);
    ck_assert(flag);
    ck_assert_int_lt(b.n, 1000); /* seen within a few event intervals */
    cfut_io_free(io);
    close(peer);
}
END_TEST

/* ---- readiness caused by another thread ---- */

#define N_REMOTE_BYTES 500

static void *
trickle_thread(void *arg)
{
    int fd = *(int *)arg;
    unsigned seed = 3;
    for (int i = 0; i < N_REMOTE_BYTES; i++) {
        seed = seed * 1103515245u + 12345u;
        for (unsigned k = (seed >> 16) % 16; k > 0; k--)
            sched_yield();
        unsigned char b = (unsigned char)i;
        /*
         * The fd is non-blocking, and each 1-byte write costs a whole
         * buffer's worth of the socket's send budget: when the reader
         * lags (TSan, a loaded machine) a write can say EAGAIN. Wait for
         * room then, rather than give up and leave the reader waiting.
         */
        while (write(fd, &b, 1) != 1) {
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                return NULL;
            struct pollfd p = {fd, POLLOUT, 0};
            (void)poll(&p, 1, -1);
        }
    }
    return NULL;
}

START_TEST(test_io_bytes_from_another_thread_wake_a_blocked_read)
{
    /* The executor blocks in epoll_wait (nothing else to do) while another
     * thread writes the bytes one by one: every one must arrive. */
    int peer;
    struct cfut_io *io = pair_io(&peer);
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, trickle_thread, &peer), 0);
    unsigned char buf[N_REMOTE_BYTES];
    size_t got = 0;

    while (got < N_REMOTE_BYTES) {
        struct cfut_read rd;
        struct cfut_io_result res = {99, 0};
        cfut_read_init(&rd, io, buf + got, sizeof buf - got);
        block(&rd.base, &res);
        ck_assert_int_eq(res.status, CFUT_OK);
        got += res.n;
    }
    pthread_join(th, NULL);

    for (int i = 0; i < N_REMOTE_BYTES; i++)
        ck_assert_uint_eq(buf[i], (unsigned char)i);
    cfut_io_free(io);
    close(peer);
}
END_TEST

/* ---- allocation failure ---- */

START_TEST(test_io_connect_fails_cleanly_at_every_allocation)
{
    int lfd;
    ck_assert_int_eq(cfut_tcp_listen_fd("127.0.0.1", 0, 16, &lfd), CFUT_OK);
    uint16_t port;
    ck_assert_int_eq(cfut_socket_local_port(lfd, &port), CFUT_OK);
    int failures = 0;
    struct cfut_connect_result cres = {99, NULL};
    for (long k = 1;; k++) {
        struct cfut_connect c;
        ck_assert_int_eq(cfut_connect_tcp_init(&c, "127.0.0.1", port), CFUT_OK);
        testkit_alloc_fail_at(k);
        int rc = cfut_block_on(ex, &c.base, &cres);
        testkit_alloc_fail_at(0);
        if (rc == CFUT_OK && cres.status == CFUT_OK)
            break;
        ck_assert(rc == CFUT_ENOMEM || cres.status == CFUT_ENOMEM);
        ck_assert_uint_eq(cfut_reactor_n_registrations(ex), 0);
        failures++;
    }
    ck_assert_int_ge(failures, 2); /* the block_on task, the registration */
    cfut_io_free(cres.io);
    close(lfd);
}
END_TEST

static Suite *
io_suite(void)
{
    Suite *s = suite_create("io");
    TCase *tc = tcase_create("readiness");
    testkit_executor_fixture(tc);
    tcase_add_test(tc, test_io_readable_wakes_only_the_waiting_waker);
    tcase_add_test(tc, test_io_readable_runs_the_right_task);
    tcase_add_test(tc, test_io_busy_task_does_not_starve_readiness);
    suite_add_tcase(s, tc);

    tc = tcase_create("read and write");
    testkit_executor_fixture(tc);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_io_write_all_completes_across_partial_writes);
    tcase_add_test(tc, test_io_peer_close_gives_data_then_eof);
    tcase_add_test(tc, test_io_write_to_a_closed_peer_is_epipe_without_sigpipe);
    tcase_add_test(tc, test_io_reset_gives_econnreset);
    tcase_add_test(tc, test_io_dropped_pending_read_unregisters);
    suite_add_tcase(s, tc);

    tc = tcase_create("sockets");
    testkit_executor_fixture(tc);
    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, test_io_tcp_echo_of_1mib_both_ways_with_many_tasks);
    tcase_add_test(tc, test_io_unix_connect_accept_and_exchange);
    tcase_add_test(tc, test_io_connect_to_a_closed_port_is_econnrefused);
    tcase_add_test(tc, test_io_listen_on_a_port_in_use_is_eaddrinuse);
    tcase_add_test(tc, test_io_unix_connect_to_a_missing_path_is_enoent);
    tcase_add_test(tc, test_io_registering_a_regular_file_is_eperm);
    tcase_add_test(tc, test_io_bad_addresses_are_refused);
    tcase_add_test(tc, test_io_host_names_are_refused_with_a_clear_error);
    tcase_add_test(tc, test_io_malformed_numeric_addresses_are_eaddr);
    tcase_add_test(tc, test_io_localhost_listens_and_connects_on_ipv4);
    tcase_add_test(tc, test_io_localhost_connect_falls_back_to_ipv6);
    tcase_add_test(tc, test_io_ipv6_literal_listens_and_connects);
    tcase_add_test(tc, test_io_localhost_with_no_listener_is_econnrefused);
    suite_add_tcase(s, tc);

    tc = tcase_create("cross-thread");
    testkit_executor_fixture(tc);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_io_bytes_from_another_thread_wake_a_blocked_read);
    suite_add_tcase(s, tc);

    tc = tcase_create("allocation");
    testkit_executor_fixture(tc);
    tcase_add_test(tc, test_io_connect_fails_cleanly_at_every_allocation);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return testkit_run(io_suite());
}
