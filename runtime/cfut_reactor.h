/*
 * cfut_reactor.h: the reactor: file descriptors registered with an
 * executor (struct cfut_io), whose readiness wakes the tasks waiting on
 * them. The executor's driver watches the fds (epoll on Linux: one
 * edge-triggered registration per fd) and reports readiness to the
 * registrations; the executor's timers are counted here too
 * (cfut_reactor_n_timers(); the timers themselves are cfut_time.h's).
 *
 * Threading: single-threaded. A registration belongs to the executor it was
 * created on; it is used, polled and freed on that executor's thread. Only
 * the executor's unpark (through task wakers) crosses threads. A
 * registration made on a pool (cfut_pool_io_new() in cfut_pool.h) is the
 * exception: its futures are polled by the pool's tasks on any worker, and
 * it may be freed from any thread, before the pool. Debug builds abort
 * when cfut_io_new() is called on an executor from another thread.
 * Lifetime: a registration is one heap block, created by cfut_io_new() and
 * freed by cfut_io_free(), which also closes its fd. It must outlive every
 * future that uses it, and be freed before its executor.
 */
#ifndef CFUT_REACTOR_H
#define CFUT_REACTOR_H

#include <stddef.h>
#include <stdint.h>

#include "cfut_executor.h"
#include "cfut_future.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Readiness bits of a registration (cfut_io_ready()).
 *
 * READABLE and WRITABLE are edge state: the reactor sets them when epoll
 * reports an event, and code that gets EAGAIN from the fd clears them
 * (cfut_io_clear_ready()) so that the next wait is for a new event.
 *
 * HUP is sticky state: the reactor sets it when epoll reports that the
 * peer hung up (EPOLLRDHUP: it shut its write side or closed; EPOLLHUP:
 * both directions are shut) or that the fd has an error (EPOLLERR), and
 * nothing clears it, cfut_io_clear_ready() included. An event that carries
 * a hang-up also sets READABLE (and, for HUP and ERR, WRITABLE), so the
 * futures waiting on the fd wake. Once HUP is set, a read never blocks for
 * want of data: it returns the bytes left, then 0 (end of stream) or the
 * error. So code that skips a read because it believes the fd empty (after
 * a short read, say) must not skip it while HUP is set: with edge-triggered
 * epoll the hang-up is reported once, possibly in the same event as the
 * last bytes, and a skipped read would wait for an event that never comes.
 */
#define CFUT_IO_READABLE 0x1u /* readable, peer hung up, or error */
#define CFUT_IO_WRITABLE 0x2u /* writable, peer hung up, or error */
#define CFUT_IO_HUP 0x4u      /* sticky: the peer hung up, or an error */

/* A file descriptor registered with an executor's reactor (opaque). */
struct cfut_io;

/*
 * A place in a registration's wait list: embedded in every future that
 * waits for readiness. Unlinked while 'link.next' is NULL (so a fresh
 * future may still be moved).
 */
struct cfut__io_waiter {
    /* private: do not touch */
    struct cfut_list link;   /* on the registration's readers/writers */
    struct cfut_waker waker; /* a clone while linked */
};

/* An unlinked waiter value (one line: clang-format would split it). */
/* clang-format off */
#define CFUT__IO_WAITER_INIT {{NULL, NULL}, {NULL, NULL}}
/* clang-format on */

/* ---------------------------------------------------------------------- */
/* Registrations                                                           */
/* ---------------------------------------------------------------------- */

/*
 * Registers 'fd' with the reactor of 'ex' (edge-triggered, for reading and
 * writing) and makes it non-blocking. A descriptor that is not a socket
 * (a pipe) makes the process ignore SIGPIPE if it had the default action,
 * so that a write to a closed pipe reports an error instead of killing
 * the process (sockets use MSG_NOSIGNAL and need no such change).
 * Ownership: 'fd' is taken on success (cfut_io_free() closes it) and left
 *   to the caller on failure; '*out' receives the registration.
 * Returns: 0; CFUT_EINVAL if 'ex' or 'out' is NULL or 'fd' is negative;
 *   CFUT_ENOMEM; the error of fcntl() or epoll_ctl() as -errno when the
 *   descriptor is refused: -EPERM (a regular file or a directory, which
 *   epoll cannot watch), -EBADF, -EEXIST (already registered); -ENOTSUP
 *   when the executor's driver watches no fds (a browser build's).
 * Context: the executor's thread, inside or outside a task.
 */
CFUT_API int cfut_io_new(struct cfut_executor *ex, int fd,
                         struct cfut_io **out);

/*
 * Deregisters 'io', closes its fd and frees it.
 * Ownership: 'io' is taken. NULL is a no-op. No future may still wait on it
 *   (debug and release builds abort with a message if one does: drop the
 *   futures first).
 * Context: the executor's thread, outside the reactor's own turn.
 */
CFUT_API void cfut_io_free(struct cfut_io *io);

/* Returns the fd of 'io' (still owned by 'io'). */
CFUT_API int cfut_io_fd(const struct cfut_io *io);

/*
 * Returns the readiness bits (CFUT_IO_*) the reactor has seen for 'io' and
 * not yet cleared, CFUT_IO_HUP included once a hang-up was seen.
 */
CFUT_API unsigned cfut_io_ready(const struct cfut_io *io);

/*
 * Clears the readiness bits 'mask' of 'io' (CFUT_IO_READABLE and/or
 * CFUT_IO_WRITABLE): call it after an operation of your own on the fd
 * returned EAGAIN, so that the next readiness future waits for a new
 * event instead of finishing at once. CFUT_IO_HUP in 'mask' is ignored:
 * a hang-up stays recorded for the life of the registration.
 * Context: the executor's thread.
 */
CFUT_API void cfut_io_clear_ready(struct cfut_io *io, unsigned mask);

/* ---------------------------------------------------------------------- */
/* Introspection (tests, lessons)                                          */
/* ---------------------------------------------------------------------- */

/* Returns the number of timers armed on the executor 'ex'. */
CFUT_API size_t cfut_reactor_n_timers(const struct cfut_executor *ex);

/* Returns the number of futures waiting for fd readiness on 'ex'. */
CFUT_API size_t cfut_reactor_n_waiters(const struct cfut_executor *ex);

/* Returns the number of live registrations (struct cfut_io) on 'ex'. */
CFUT_API size_t cfut_reactor_n_registrations(const struct cfut_executor *ex);

#ifdef __cplusplus
}
#endif

#endif /* CFUT_REACTOR_H */
