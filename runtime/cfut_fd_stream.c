/*
 * cfut_fd_stream.c: a duplex stream over a non-blocking fd registered with
 * the reactor: read(2), sendmsg(2)/writev(2) and shutdown(2), waiting on
 * embedded readiness futures when a call would block. It knows nothing of
 * frames.
 */
#define _GNU_SOURCE
#include "cfut_stream.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "cfut_io.h"
#include "cfut_reactor.h"
#include "cfut_reactor_int.h"

_Static_assert(sizeof(struct cfut_iovec) == sizeof(struct iovec),
               "cfut_iovec must have the layout of struct iovec");
_Static_assert(offsetof(struct cfut_iovec, len) ==
                   offsetof(struct iovec, iov_len),
               "cfut_iovec must have the layout of struct iovec");

/* The most pieces one write passes to the kernel. */
#define MAX_IOV 64

struct fd_stream {
    struct cfut_stream base;
    struct cfut_io *io;
    bool is_socket;
    bool rd_active; /* 'rd' was initialised and not yet dropped */
    bool wr_active;
    bool drained; /* a short read emptied the fd since the last event */
    /* a short read empties the fd: not a datagram or seqpacket socket */
    bool short_read_drains;
    struct cfut_readiness rd; /* pinned: the stream is a heap block */
    struct cfut_readiness wr;
};

static bool
would_block(int e)
{
    return e == EAGAIN || e == EWOULDBLOCK;
}

/*
 * Waits for 'mask' readiness after a call returned EAGAIN: clears the bit,
 * then polls the embedded readiness future. Returns CFUT_PENDING, or
 * CFUT_READY when an event came meanwhile (the caller retries).
 */
static enum cfut_poll
wait_ready(struct fd_stream *s, struct cfut_context *cx, bool read)
{
    struct cfut_readiness *r = read ? &s->rd : &s->wr;
    bool *active = read ? &s->rd_active : &s->wr_active;
    cfut_io_clear_ready(s->io, read ? CFUT_IO_READABLE : CFUT_IO_WRITABLE);
    if (!*active) {
        if (read)
            cfut_readable_init(r, s->io);
        else
            cfut_writable_init(r, s->io);
        *active = true;
    }
    int st;
    if (cfut_future_poll(&r->base, cx, &st) == CFUT_PENDING)
        return CFUT_PENDING;
    cfut_future_drop(&r->base);
    *active = false;
    return CFUT_READY;
}

static void
stop_waiting(struct cfut_readiness *r, bool *active)
{
    if (*active) {
        cfut_future_drop(&r->base);
        *active = false;
    }
}

static enum cfut_poll
fd_read(struct cfut_stream *base, struct cfut_context *cx, void *buf,
        size_t cap, struct cfut_stream_result *res)
{
    struct fd_stream *s = (struct fd_stream *)base;
    if (!cfut_context_consume_budget(cx))
        return CFUT_PENDING;
    for (;;) {
        /*
         * A short read drained the fd; the edge-triggered reactor reports
         * the next bytes as a new event, so until then a read would only
         * return EAGAIN: wait without the system call. Not after a
         * hang-up, though: the end of stream (or the error) may have come
         * in the same event as the bytes just read, and it is reported
         * only once; the sticky HUP bit says a read will not block.
         */
        if (s->drained &&
            !(cfut_io_ready(s->io) & (CFUT_IO_READABLE | CFUT_IO_HUP))) {
            if (wait_ready(s, cx, true) == CFUT_PENDING)
                return CFUT_PENDING;
        }
        s->drained = false;
        ssize_t n = read(cfut_io_fd(s->io), buf, cap);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && would_block(errno)) {
            if (wait_ready(s, cx, true) == CFUT_PENDING)
                return CFUT_PENDING;
            continue;
        }
        res->n = n > 0 ? (size_t)n : 0;
        res->status = n > 0 ? 0 : n == 0 ? CFUT_EEOF : -errno;
        if (n > 0 && (size_t)n < cap && s->short_read_drains) {
            s->drained = true;
            cfut_io_clear_ready(s->io, CFUT_IO_READABLE);
        }
        stop_waiting(&s->rd, &s->rd_active);
        return CFUT_READY;
    }
}

static enum cfut_poll
fd_write(struct cfut_stream *base, struct cfut_context *cx,
         const struct cfut_iovec *iov, size_t n_iov,
         struct cfut_stream_result *res)
{
    struct fd_stream *s = (struct fd_stream *)base;
    if (!cfut_context_consume_budget(cx))
        return CFUT_PENDING;
    if (n_iov > MAX_IOV)
        n_iov = MAX_IOV;
    for (;;) {
        ssize_t n;
        if (s->is_socket) {
            struct msghdr m;
            memset(&m, 0, sizeof m);
            m.msg_iov = (struct iovec *)(void *)iov;
            m.msg_iovlen = n_iov;
            n = sendmsg(cfut_io_fd(s->io), &m, MSG_NOSIGNAL);
        } else {
            n = writev(cfut_io_fd(s->io),
                       (const struct iovec *)(const void *)iov, (int)n_iov);
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && would_block(errno)) {
            if (wait_ready(s, cx, false) == CFUT_PENDING)
                return CFUT_PENDING;
            continue;
        }
        res->n = n > 0 ? (size_t)n : 0;
        res->status = n >= 0 ? 0 : -errno; /* EPIPE, ECONNRESET, ... */
        stop_waiting(&s->wr, &s->wr_active);
        return CFUT_READY;
    }
}

static enum cfut_poll
fd_shutdown(struct cfut_stream *base, struct cfut_context *cx,
            struct cfut_stream_result *res)
{
    (void)cx;
    struct fd_stream *s = (struct fd_stream *)base;
    res->n = 0;
    res->status = 0;
    if (s->is_socket && shutdown(cfut_io_fd(s->io), SHUT_WR) < 0 &&
        errno != ENOTCONN)
        res->status = -errno;
    return CFUT_READY;
}

static void
fd_close(struct cfut_stream *base)
{
    struct fd_stream *s = (struct fd_stream *)base;
    stop_waiting(&s->rd, &s->rd_active);
    stop_waiting(&s->wr, &s->wr_active);
    cfut_io_free(s->io);
    cfut_free(s);
}

static const struct cfut_stream_vtable fd_vtable = {
    fd_read, fd_write, fd_shutdown, fd_close, "fd_stream",
};

static void
fd_stream_init(struct fd_stream *s, struct cfut_io *io)
{
    memset(s, 0, sizeof *s);
    s->base.vtable = &fd_vtable;
    s->io = io;
    struct stat sb;
    s->is_socket = fstat(cfut_io_fd(io), &sb) == 0 && S_ISSOCK(sb.st_mode);
    s->short_read_drains = cfut__io_short_read_drains(io);
}

int
cfut_fd_stream_from_io(struct cfut_io *io, struct cfut_stream **out)
{
    if (io == NULL || out == NULL)
        return CFUT_EINVAL;
    struct fd_stream *s = cfut_alloc(sizeof *s);
    if (s == NULL)
        return CFUT_ENOMEM;
    fd_stream_init(s, io);
    *out = &s->base;
    return 0;
}

int
cfut_fd_stream_new(struct cfut_executor *ex, int fd, struct cfut_stream **out)
{
    if (ex == NULL || fd < 0 || out == NULL)
        return CFUT_EINVAL;
    /* The block first: once registered, the fd could not be handed back. */
    struct fd_stream *s = cfut_alloc(sizeof *s);
    if (s == NULL)
        return CFUT_ENOMEM;
    struct cfut_io *io;
    int rc = cfut_io_new(ex, fd, &io);
    if (rc < 0) {
        cfut_free(s);
        return rc;
    }
    fd_stream_init(s, io);
    *out = &s->base;
    return 0;
}
