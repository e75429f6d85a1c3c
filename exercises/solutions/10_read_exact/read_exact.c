/*
 * read_exact.c: exercise 10, the reference solution (spoilers: try the
 * exercise first). A leaf future: it makes the system call itself and,
 * on EAGAIN, waits on the reactor's readiness instead of polling again.
 */
#include "read_exact.h"

#include <errno.h>
#include <unistd.h>

static enum cfut_poll
read_exact_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct read_exact *r = cfut_container_of(f, struct read_exact, base);
    for (;;) {
        if (r->waiting) { /* has the reactor seen the socket readable? */
            int st;
            if (cfut_future_poll(&r->ready.base, cx, &st) == CFUT_PENDING)
                return CFUT_PENDING; /* still on the socket's wait list */
            cfut_future_drop(&r->ready.base);
            r->waiting = false;
        }
        if (r->got == r->len) {
            *(int *)out = CFUT_OK;
            return CFUT_READY;
        }
        ssize_t n = read(cfut_io_fd(r->io), r->buf + r->got, r->len - r->got);
        if (n > 0) {
            r->got += (size_t)n;
            continue; /* more to read, maybe already there */
        }
        if (n == 0) { /* the peer closed before the end */
            *(int *)out = CFUT_EEOF;
            return CFUT_READY;
        }
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            *(int *)out = -errno;
            return CFUT_READY;
        }
        /* EAGAIN: forget the readiness we saw (it is stale), then wait for
         * the next event: the readiness future joins the wait list. */
        cfut_io_clear_ready(r->io, CFUT_IO_READABLE);
        cfut_readable_init(&r->ready, r->io);
        r->waiting = true;
    }
}

static void
read_exact_drop(struct cfut_future *f)
{
    struct read_exact *r = cfut_container_of(f, struct read_exact, base);
    if (r->waiting) /* leave the socket's wait list */
        cfut_future_drop(&r->ready.base);
}

static const struct cfut_future_vtable read_exact_vtable = {
    read_exact_poll, read_exact_drop, sizeof(int), "read_exact", NULL};

void
read_exact_init(struct read_exact *r, struct cfut_io *io, void *buf, size_t len)
{
    cfut_future_init(&r->base, &read_exact_vtable);
    r->io = io;
    r->buf = buf;
    r->len = len;
    r->got = 0;
    r->waiting = false;
}
