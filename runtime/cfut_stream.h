/*
 * cfut_stream.h: a duplex byte stream as a poll-style vtable (read some
 * bytes, write some bytes from a gather list, shut the write side, close):
 * the generic byte I/O that buffered readers and writers (cfut_bufio.h),
 * TCP connections (cfut_net.h) and the transport run over; an in-memory
 * duplex pair for tests and lessons; and fd streams on the reactor. The
 * WebSocket stream (cfut_ws.h) implements the same four slots.
 *
 * Threading: a stream is used from one thread. At most one reader and one
 * writer use it at a time; each direction keeps the waker of its latest
 * poll, so a reader task and a writer task may share one stream.
 * Lifetime: a stream is created by its kind's constructor and ends with
 * cfut_stream_close(), which wakes nobody and drops the wakers it kept.
 */
#ifndef CFUT_STREAM_H
#define CFUT_STREAM_H

#include <stddef.h>

#include "cfut_future.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One piece of a gather write (the layout of POSIX struct iovec). */
struct cfut_iovec {
    const void *base;
    size_t len;
};

/* The result of a finished stream poll. */
struct cfut_stream_result {
    int status; /* 0; CFUT_EEOF (read: clean end); an error (see below) */
    size_t n;   /* bytes moved when 'status' is 0 (at least 1) */
};

struct cfut_stream;

/*
 * Reads up to 'cap' (> 0) bytes into 'buf'. CFUT_READY with '*res' written;
 * or CFUT_PENDING with the waker of 'cx' kept for the read direction.
 */
typedef enum cfut_poll cfut_stream_read_fn(struct cfut_stream *s,
                                           struct cfut_context *cx, void *buf,
                                           size_t cap,
                                           struct cfut_stream_result *res);
/*
 * Writes some bytes of the 'n_iov' pieces at 'iov' (total > 0), in order.
 * CFUT_READY with '*res' written ('n' may be short); or CFUT_PENDING with
 * the waker kept for the write direction.
 */
typedef enum cfut_poll cfut_stream_write_fn(struct cfut_stream *s,
                                            struct cfut_context *cx,
                                            const struct cfut_iovec *iov,
                                            size_t n_iov,
                                            struct cfut_stream_result *res);
/*
 * Shuts the write side (the peer reads CFUT_EEOF after the bytes already
 * written). CFUT_READY with '*res' written, or CFUT_PENDING.
 */
typedef enum cfut_poll cfut_stream_shutdown_fn(struct cfut_stream *s,
                                               struct cfut_context *cx,
                                               struct cfut_stream_result *res);
/* Releases the stream (its fd, its memory) and the wakers it kept. */
typedef void cfut_stream_close_fn(struct cfut_stream *s);

/* The operations of a stream kind. */
struct cfut_stream_vtable {
    cfut_stream_read_fn *read;
    cfut_stream_write_fn *write;
    cfut_stream_shutdown_fn *shutdown;
    cfut_stream_close_fn *close;
    const char *name;
};

/* The base of every stream: its first member. */
struct cfut_stream {
    /* read-only */
    const struct cfut_stream_vtable *vtable;
};

/* ---------------------------------------------------------------------- */
/* Calls through the vtable                                                */
/* ---------------------------------------------------------------------- */

/*
 * Polls a read of up to 'cap' bytes into 'buf' (see cfut_stream_read_fn).
 * Ownership: 's', 'cx', 'buf' and 'res' are borrowed.
 * Returns: CFUT_READY with 'res->status' 0 ('res->n' bytes read),
 *   CFUT_EEOF (the peer shut its write side), CFUT_ECONNRESET (the peer
 *   reset the connection) or another failure (an fd stream's is the
 *   system's error as -errno); CFUT_PENDING otherwise.
 * Context: inside a poll, on the stream's thread.
 */
static inline enum cfut_poll
cfut_stream_poll_read(struct cfut_stream *s, struct cfut_context *cx, void *buf,
                      size_t cap, struct cfut_stream_result *res)
{
    return s->vtable->read(s, cx, buf, cap, res);
}

/*
 * Polls a gather write (see cfut_stream_write_fn).
 * Returns: CFUT_READY with 'res->status' 0 ('res->n' bytes written, maybe
 *   fewer than asked), CFUT_ECONNRESET or -EPIPE (the peer is gone: the
 *   in-memory pair says CFUT_ECONNRESET, an fd stream the system's error),
 *   or another failure as -errno; CFUT_PENDING otherwise.
 * Context: inside a poll, on the stream's thread.
 */
static inline enum cfut_poll
cfut_stream_poll_write(struct cfut_stream *s, struct cfut_context *cx,
                       const struct cfut_iovec *iov, size_t n_iov,
                       struct cfut_stream_result *res)
{
    return s->vtable->write(s, cx, iov, n_iov, res);
}

/*
 * Polls shutting the write side.
 * Returns: CFUT_READY with 'res->status' 0 or shutdown()'s error as
 *   -errno; CFUT_PENDING otherwise.
 * Context: inside a poll, on the stream's thread.
 */
static inline enum cfut_poll
cfut_stream_poll_shutdown(struct cfut_stream *s, struct cfut_context *cx,
                          struct cfut_stream_result *res)
{
    return s->vtable->shutdown(s, cx, res);
}

/*
 * Closes 's' and frees it; the peer of a pair or socket sees the end.
 * Ownership: 's' is taken. NULL is a no-op.
 * Context: the stream's thread, not inside one of its own polls.
 */
static inline void
cfut_stream_close(struct cfut_stream *s)
{
    if (s != NULL)
        s->vtable->close(s);
}

/* ---------------------------------------------------------------------- */
/* The in-memory duplex pair                                               */
/* ---------------------------------------------------------------------- */

/*
 * Creates two connected streams: bytes written to '*a' are read from '*b'
 * and the other way round, through two buffers of 'capacity' bytes each (a
 * writer waits while its buffer is full). A capacity of 1 moves the bytes
 * one by one, which splits every frame at every byte boundary.
 * Closing one end makes the other read CFUT_EEOF (after the bytes left)
 * and write CFUT_ECONNRESET.
 * Ownership: '*a' and '*b' receive the two ends, each closed with
 *   cfut_stream_close().
 * Returns: 0; CFUT_EINVAL if 'capacity' is 0 or a pointer is NULL;
 *   CFUT_ENOMEM (nothing is then allocated).
 * Context: single-threaded: both ends on one thread.
 */
CFUT_API int cfut_mem_stream_pair_new(size_t capacity, struct cfut_stream **a,
                                      struct cfut_stream **b);

/* ---------------------------------------------------------------------- */
/* File-descriptor streams on the reactor                                  */
/* ---------------------------------------------------------------------- */

struct cfut_executor;
struct cfut_io;

/*
 * Makes a stream of the connected socket or pipe 'fd' (a socketpair end,
 * a TCP or Unix connection), registered with the reactor of 'ex'. Reads
 * and writes are non-blocking system calls; when one would block, the
 * stream waits for readiness from the reactor. Writes to sockets use
 * MSG_NOSIGNAL (a closed peer gives CFUT_ECONNRESET, never SIGPIPE).
 * Ownership: 'fd' is taken on success (closing the stream closes it) and
 *   left to the caller on failure; '*out' receives the stream.
 * Returns: 0; CFUT_EINVAL; CFUT_ENOMEM; the system's error as -errno when
 *   the reactor refuses the descriptor (see cfut_io_new()).
 * Context: the executor's thread; the stream is then used only there.
 */
CFUT_API int cfut_fd_stream_new(struct cfut_executor *ex, int fd,
                                struct cfut_stream **out);

/*
 * Makes a stream of the registration 'io' (for instance the output of a
 * connect future), as cfut_fd_stream_new().
 * Ownership: 'io' is taken on success, left to the caller on failure.
 * Returns: 0; CFUT_EINVAL; CFUT_ENOMEM.
 */
CFUT_API int cfut_fd_stream_from_io(struct cfut_io *io,
                                    struct cfut_stream **out);

#ifdef __cplusplus
}
#endif

#endif /* CFUT_STREAM_H */
