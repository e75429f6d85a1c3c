/*
 * Lesson 14: the reactor: a leaf future waiting on a socket.
 *
 * What you will learn:
 *   - a leaf future does the system call itself (read) and, when the
 *     kernel says EAGAIN, waits for readiness instead of blocking;
 *   - readiness comes from the reactor: the socket is registered once
 *     (cfut_io_new) with the driver the executor parks in (epoll on
 *     Linux), a readiness future puts the task's waker on its wait list,
 *     and when epoll_wait reports the fd readable the reactor wakes it;
 *   - timers (cfut_sleep) bound how long the executor parks: it wakes for
 *     whichever comes first.
 * Builds on: lesson 07 (a wake from elsewhere), 09 (the executor), 11 (async
 *   functions).
 * API introduced: cfut_socketpair, cfut_io_new/free, cfut_io_fd,
 *   struct cfut_readiness, cfut_readable_init, cfut_io_clear_ready,
 *   CFUT_IO_READABLE, cfut_reactor_n_waiters, cfut_sleep_init, CFUT_MSEC.
 * Run it: build/examples/14_reactor   (try CFUT_TRACE=- too)
 * Expected output: examples/expected/14_reactor.txt
 */
#include <cfut.h>
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

/* Our leaf: read some bytes from a registered socket. */
struct recv_some {
    struct cfut_future base;
    struct cfut_io *io;
    char *buf;
    size_t len;
    bool waiting;                /* 'ready' is initialised and awaited */
    struct cfut_readiness ready; /* the library's readiness future */
};

static enum cfut_poll
recv_some_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct recv_some *r = cfut_container_of(f, struct recv_some, base);
    for (;;) {
        /* Step: if we were waiting, is the socket readable yet? */
        if (r->waiting) {
            int st;
            if (cfut_future_poll(&r->ready.base, cx, &st) == CFUT_PENDING)
                return CFUT_PENDING; /* on the fd's wait list */
            cfut_future_drop(&r->ready.base);
            r->waiting = false;
            printf("reader: woken, the socket is readable\n");
        }
        /* Step: try the system call; the socket never blocks. */
        ssize_t n = read(cfut_io_fd(r->io), r->buf, r->len);
        if (n >= 0) {
            *(ssize_t *)out = n;
            return CFUT_READY;
        }
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            *(ssize_t *)out = -1;
            return CFUT_READY;
        }
        /* Step: EAGAIN: forget stale readiness, wait for the next event. */
        cfut_io_clear_ready(r->io, CFUT_IO_READABLE);
        cfut_readable_init(&r->ready, r->io);
        r->waiting = true;
        if (cfut_future_poll(&r->ready.base, cx, &(int){0}) == CFUT_PENDING) {
            printf("reader: read() -> EAGAIN; waiting (fd waiters: %zu)\n",
                   cfut_reactor_n_waiters(cfut_executor_current()));
            return CFUT_PENDING;
        }
        cfut_future_drop(&r->ready.base); /* readable already: read again */
        r->waiting = false;
    }
}

/* Dropping a waiting reader takes it off the fd's wait list. */
static void
recv_some_drop(struct cfut_future *f)
{
    struct recv_some *r = cfut_container_of(f, struct recv_some, base);
    if (r->waiting)
        cfut_future_drop(&r->ready.base);
}

static const struct cfut_future_vtable recv_some_vtable = {
    recv_some_poll, recv_some_drop, sizeof(ssize_t), "recv_some", NULL};

/* The writer task: sleep 20 ms on the executor's timers, then write. */
CFUT_ASYNC_FN(writer, void, ((int, fd)), struct cfut_sleep nap;)
{
    CFUT_BEGIN();
    cfut_sleep_init(&self->nap, CFUT_MSEC(20));
    CFUT_AWAIT(&self->nap);
    printf("writer: slept 20 ms, writing \"ping\"\n");
    if (write(self->fd, "ping", 4) != 4)
        printf("writer: write failed\n");
    CFUT_END();
}

int
main(void)
{
    struct cfut_executor *ex;
    int fds[2];
    struct cfut_io *io;
    /* Step 1: an executor (it parks in epoll) and a socket pair; the
     * reading end is registered with the executor's epoll. */
    if (cfut_executor_new(&ex) != CFUT_OK || cfut_socketpair(fds) != CFUT_OK)
        return 1;
    if (cfut_io_new(ex, fds[0], &io) != CFUT_OK)
        return 1;

    /* Step 2: spawn the reader, then the writer. */
    char buf[16];
    struct recv_some r = {.io = io, .buf = buf, .len = sizeof buf};
    cfut_future_init(&r.base, &recv_some_vtable);
    struct cfut_join_handle h;
    if (cfut_spawn(ex, &r.base, sizeof r, &h) != CFUT_OK ||
        writer_spawn(ex, NULL, fds[1]) != CFUT_OK)
        return 1;

    /* Step 3: block on the reader: the executor parks in epoll_wait until
     * the timer, then until the socket is readable. */
    CFUT_JOIN_OUTPUT(ssize_t) got;
    cfut_block_on(ex, &h.base, &got);
    printf("reader: read %zd bytes: \"%.*s\"\n", got.value, (int)got.value,
           buf);

    /* Step 4: the registration goes before its executor. */
    cfut_io_free(io); /* closes fds[0] */
    close(fds[1]);
    cfut_executor_free(ex);
    return 0;
}
