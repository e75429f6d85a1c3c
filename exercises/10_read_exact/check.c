/*
 * check.c: the checks of exercise 10 (a leaf future on a socket, with the
 * reactor). It links your read_exact.c; run it with ./run exercise 10.
 * Each check makes a real socket pair: your future reads one end, which
 * is registered with cfut's reactor; the check, or a writer task that
 * sleeps on the reactor's timers, writes to the other end. The trace
 * shows who woke your task.
 */
#include "exkit.h"
#include "read_exact.h"

#include <string.h>
#include <unistd.h>

/* One test bench: an executor, a socket pair, the registered end. */
struct bench {
    struct cfut_executor *ex;
    struct cfut_io *io; /* the reading end, registered */
    int peer;           /* the writing end, a plain fd */
};

static void
bench_open(struct bench *b)
{
    int fds[2];
    EXKIT_REQUIRE(cfut_executor_new(&b->ex) == CFUT_OK &&
                      cfut_socketpair(fds) == CFUT_OK &&
                      cfut_io_new(b->ex, fds[0], &b->io) == CFUT_OK,
                  "(the check could not set up an executor and a socket "
                  "pair)");
    b->peer = fds[1];
}

static void
bench_close(struct bench *b)
{
    if (b->peer >= 0)
        close(b->peer);
    cfut_io_free(b->io); /* aborts if a future still waits on it */
    cfut_executor_free(b->ex);
}

static void
write_all(int fd, const char *s)
{
    size_t n = strlen(s);
    EXKIT_REQUIRE(write(fd, s, n) == (ssize_t)n,
                  "(the check could not write to the socket)");
}

/* A writer task: after each 'ms' sleep, writes the next piece. */
struct writer {
    struct cfut_future base;
    struct cfut_coro co;
    int fd, status, i;
    int ms;
    const char *pieces[3]; /* NULL-terminated */
    struct cfut_sleep nap;
};

static enum cfut_poll
writer_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct writer *w = cfut_container_of(f, struct writer, base);
    (void)out;
    CFUT_ASYNC_BEGIN(&w->co);
    for (w->i = 0; w->pieces[w->i] != NULL; w->i++) {
        cfut_sleep_init(&w->nap, CFUT_MSEC(w->ms));
        CFUT_AWAIT(&w->co, cx, &w->nap.base, &w->status);
        write_all(w->fd, w->pieces[w->i]);
    }
    CFUT_ASYNC_END(&w->co);
}

static void
writer_drop(struct cfut_future *f)
{
    cfut_coro_drop(&cfut_container_of(f, struct writer, base)->co);
}

static const struct cfut_future_vtable writer_vtable = {
    writer_poll, writer_drop, 0, "writer", NULL};

/* Spawns a writer of 'a' then 'second' (may be NULL), 'ms' apart. */
static void
spawn_writer(struct bench *b, int ms, const char *a, const char *second)
{
    struct writer w = {.fd = b->peer, .ms = ms, .pieces = {a, second, NULL}};
    cfut_future_init(&w.base, &writer_vtable);
    cfut_coro_init(&w.co);
    EXKIT_REQUIRE(cfut_spawn(b->ex, &w.base, sizeof w, NULL) == CFUT_OK,
                  "(the check could not spawn the writer)");
}

/* Runs a read of 'len' bytes under block_on with the trace captured. */
static int
read_traced(struct bench *b, char *buf, size_t len, const char **trace)
{
    struct read_exact r;
    read_exact_init(&r, b->io, buf, len);
    int status = 12345;
    exkit_trace_begin();
    int rc = cfut_block_on(b->ex, &r.base, &status);
    *trace = exkit_trace_end();
    exkit_note_trace(*trace);
    EXKIT_REQUIRE(rc == CFUT_OK, "cfut_block_on() on your future returned %s%s",
                  cfut_status_name(rc),
                  rc == CFUT_EDEADLK
                      ? ": it was PENDING, but no waker was left anywhere "
                        "to wake it (is it on the socket's wait list?)"
                      : "");
    return status;
}

/* ---------------------------------------------------------------------- */

static void
check_data_already_there(void)
{
    struct bench b;
    bench_open(&b);
    write_all(b.peer, "hello");
    char buf[6] = {0};
    const char *trace;

    int status = read_traced(&b, buf, 5, &trace);
    uint64_t polls = cfut_executor_n_polls(b.ex);

    EXKIT_REQUIRE(status == CFUT_OK && memcmp(buf, "hello", 5) == 0,
                  "with \"hello\" already in the socket, reading 5 bytes gave "
                  "%s and \"%.5s\"",
                  cfut_status_name(status), buf);
    EXKIT_REQUIRE(polls == 1,
                  "the bytes were there already, yet your future took %llu "
                  "polls instead of 1: read first, wait only on EAGAIN",
                  (unsigned long long)polls);
    bench_close(&b);
}

static void
check_waits_on_the_socket(void)
{
    struct bench b;
    bench_open(&b);
    spawn_writer(&b, 20, "ping", NULL);
    char buf[5] = {0};
    const char *trace;

    int status = read_traced(&b, buf, 4, &trace);

    EXKIT_REQUIRE(status == CFUT_OK && memcmp(buf, "ping", 4) == 0,
                  "a writer sent \"ping\" after 20 ms; your future gave %s "
                  "and \"%.4s\"",
                  cfut_status_name(status), buf);
    EXKIT_REQUIRE(exkit_trace_count(trace, "'read_exact' woken by the "
                                           "reactor: fd") >= 1,
                  "the trace shows no wake of your task by the reactor for "
                  "the socket: PENDING must put the task on the socket's "
                  "wait list (poll a cfut_readable_init() future)");
    bench_close(&b);
}

static void
check_no_busy_polling(void)
{
    struct bench b;
    bench_open(&b);
    spawn_writer(&b, 30, "ping", NULL);
    char buf[5] = {0};
    const char *trace;

    int status = read_traced(&b, buf, 4, &trace);
    int polls = exkit_trace_count(trace, "'read_exact' polled");

    EXKIT_REQUIRE(status == CFUT_OK, "reading 4 bytes gave %s",
                  cfut_status_name(status));
    EXKIT_REQUIRE(polls == 2,
                  "your future was polled %d times while it waited 30 ms for "
                  "4 bytes: 2 polls are enough (PENDING at EAGAIN, READY "
                  "after the reactor's wake); more means it woke itself "
                  "instead of waiting for readiness",
                  polls);
    bench_close(&b);
}

static void
check_reads_in_pieces(void)
{
    struct bench b;
    bench_open(&b);
    spawn_writer(&b, 10, "abc", "defghij");
    char buf[11] = {0};
    const char *trace;

    int status = read_traced(&b, buf, 10, &trace);

    EXKIT_REQUIRE(status == CFUT_OK && memcmp(buf, "abcdefghij", 10) == 0,
                  "10 bytes arrived as 3, then 7 (10 ms later); your future "
                  "gave %s and \"%.10s\": keep what each read got, and read "
                  "the rest after the next wake",
                  cfut_status_name(status), buf);
    bench_close(&b);
}

static void
check_eof(void)
{
    struct bench b;
    bench_open(&b);
    write_all(b.peer, "ab");
    close(b.peer); /* the peer leaves after 2 bytes */
    b.peer = -1;
    char buf[6] = {0};
    const char *trace;

    int status = read_traced(&b, buf, 5, &trace);

    EXKIT_REQUIRE(status == CFUT_EEOF,
                  "the peer wrote 2 bytes and closed; reading 5 gave %s "
                  "instead of CFUT_EEOF (read() returns 0 at the end)",
                  cfut_status_name(status));
    bench_close(&b);
}

static void
check_drop_while_waiting(void)
{
    struct bench b;
    bench_open(&b);
    char buf[4];
    struct read_exact r;
    read_exact_init(&r, b.io, buf, 4);
    struct cfut_join_handle h;
    EXKIT_REQUIRE(cfut_spawn(b.ex, &r.base, sizeof r, &h) == CFUT_OK,
                  "(the check could not spawn your future)");
    struct cfut_yield turn; /* one turn of the executor: the first poll */
    cfut_yield_now_init(&turn);
    cfut_block_on(b.ex, &turn.base, NULL);
    size_t waiting = cfut_reactor_n_waiters(b.ex);

    cfut_join_handle_cancel(&h); /* drops it, pending */
    struct cfut_join_status st;
    cfut_block_on(b.ex, &h.base, &st);
    size_t left = cfut_reactor_n_waiters(b.ex);

    EXKIT_REQUIRE(waiting == 1,
                  "with nothing to read, your future should wait on the "
                  "socket: 1 waiter on the reactor, not %zu",
                  waiting);
    EXKIT_REQUIRE(left == 0,
                  "your future was dropped while waiting, but it is still on "
                  "the socket's wait list: drop the readiness future in "
                  "drop");
    bench_close(&b);
}

static const struct exkit_check checks[] = {
    {"data-already-there", "bytes already there: READY at the first poll",
     check_data_already_there},
    {"waits-on-the-socket",
     "no bytes yet: the task waits and the reactor wakes it",
     check_waits_on_the_socket},
    {"no-busy-polling", "a wait of 30 ms costs 2 polls, not more",
     check_no_busy_polling},
    {"reads-in-pieces", "bytes that come in two pieces are all read",
     check_reads_in_pieces},
    {"eof", "the peer closes first: CFUT_EEOF", check_eof},
    {"drop-while-waiting", "dropped while waiting, it leaves the wait list",
     check_drop_while_waiting},
};

int
main(int argc, char **argv)
{
    return exkit_main(argc, argv, "12_read_exact",
                      "a leaf future on a socket, with the reactor", checks,
                      EXKIT_N(checks));
}
