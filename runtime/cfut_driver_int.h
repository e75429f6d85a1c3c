/*
 * cfut_driver_int.h: the driver interface: what an executor parks in and
 * is woken through. A driver waits for events (a turn with a timeout),
 * can be woken from another thread (unpark), tells the time (now) and, if
 * it can, watches file descriptors (register/deregister interest). It
 * knows nothing about executors, tasks or timers: the executor calls it,
 * the time module (cfut_timers.c) turns it with the timeout of the next
 * timer, and the reactor (cfut_reactor.c) registers fds with it.
 * Internal: never included by a public header.
 *
 * Two kinds of driver fit:
 *   - a blocking driver (epoll on Linux: cfut_epoll.c; io_uring would be
 *     another) owns the thread while the executor parks: its turn blocks
 *     until an event, an unpark or the timeout;
 *   - a hosted driver (a browser's event loop under WebAssembly) never
 *     blocks: its host's event loop runs the executor, with
 *     cfut_executor_run_ready(), whenever the driver asks it to (after an
 *     unpark, or when a turn's timeout has passed).
 * tests/test_driver.c has a driver of each kind, with a fake clock.
 */
#ifndef CFUT_DRIVER_INT_H
#define CFUT_DRIVER_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Readiness bits a driver reports (the values of CFUT_IO_*). */
#define CFUT__DRIVER_READABLE 0x1u /* readable, peer hung up, or error */
#define CFUT__DRIVER_WRITABLE 0x2u /* writable, peer hung up, or error */
#define CFUT__DRIVER_HUP 0x4u      /* the peer hung up, or an error */

/* A turn's timeout that means "until something happens". */
#define CFUT__DRIVER_FOREVER (-1)

struct cfut__driver;
struct cfut_executor;

/*
 * Interest in an fd: what a driver reports readiness to. The reactor
 * embeds one in each registration.
 */
struct cfut__fd_interest {
    /*
     * Called by the driver, inside a turn, with the readiness bits
     * (CFUT__DRIVER_*) of an event on the fd. It only records them and
     * wakes wakers: it never frees the interest or calls the driver back.
     */
    void (*ready)(struct cfut__fd_interest *self, unsigned bits);
};

/* The operations of a driver. Every slot but 'fd_register' is required. */
struct cfut__driver_vtable {
    const char *name; /* "epoll", ... (for messages) */
    /*
     * Hosted: true for a driver that never blocks and whose host runs the
     * executor (see the top of this file). The executor then never parks:
     * a run that would park ends instead (cfut_block_on() and
     * cfut_executor_run() return CFUT_EAGAIN; cfut_executor_run_ready()
     * returns as always), after a turn that tells the driver when the next
     * timer is due; and a task made runnable while no run is in progress
     * unparks the driver, so that the host runs the executor.
     */
    bool hosted;
    /*
     * Waits at most 'timeout_ns' (CFUT__DRIVER_FOREVER: no limit; 0: just
     * look) for fd events and unparks, reports each fd event to its
     * interest, and consumes any unpark.
     * A hosted driver never waits: it looks, then (for a timeout other
     * than 0) asks its host to run the executor again when the timeout
     * has passed, replacing any earlier such request
     * (CFUT__DRIVER_FOREVER: only on an unpark or an event).
     * Returns: the number of events and unparks it took in (0: none); the
     *   system's error as -errno.
     * Context: the executor's thread, outside any poll.
     */
    int (*turn)(struct cfut__driver *d, int64_t timeout_ns);
    /*
     * Makes a turn that is blocked, or the next one, return (a hosted
     * driver asks its host to run the executor soon). Cheap when repeated.
     * Context: any thread.
     */
    void (*unpark)(struct cfut__driver *d);
    /*
     * Returns the time now in nanoseconds on a clock that never goes back
     * (CLOCK_MONOTONIC, the page's performance.now(), a test's fake one).
     * Context: the executor's thread.
     */
    uint64_t (*now)(struct cfut__driver *d);
    /*
     * Starts watching 'fd' for reading and writing, edge-triggered: each
     * new readiness is reported once to 'interest'. NULL for a driver
     * that has no fds (then registering fails with -ENOTSUP).
     * Ownership: 'interest' is kept until fd_deregister().
     * Returns: 0; the system's error as -errno (-EPERM: the fd cannot be
     *   watched, -EEXIST, -EBADF, -ENOMEM).
     * Context: the executor's thread, outside a turn.
     */
    int (*fd_register)(struct cfut__driver *d, int fd,
                       struct cfut__fd_interest *interest);
    /*
     * Stops watching 'fd' (registered with 'interest'): no report reaches
     * 'interest' afterwards. Required when 'fd_register' is not NULL.
     * Context: the executor's thread, outside a turn; before 'fd' closes.
     */
    void (*fd_deregister)(struct cfut__driver *d, int fd,
                          struct cfut__fd_interest *interest);
    /* Frees the driver. Context: the executor's thread, once, last. */
    void (*free)(struct cfut__driver *d);
    /*
     * Optional (NULL: none): tells the driver which executor it serves,
     * once, when the executor is made on it. A hosted driver needs it to
     * run the executor (cfut_executor_run_ready()) when its host calls it.
     * Ownership: 'ex' is kept until 'free'.
     * Context: the executor's thread, inside cfut_executor_new().
     */
    void (*attach)(struct cfut__driver *d, struct cfut_executor *ex);
};

/*
 * The base of every driver: its first member. The counts are the
 * reactor's (cfut_reactor.c), kept here because they describe the
 * driver's fds; a driver only reads them.
 */
struct cfut__driver {
    const struct cfut__driver_vtable *vt;
    size_t n_regs;    /* fds registered (live struct cfut_io) */
    size_t n_waiters; /* futures waiting for readiness: with none, a
                         turn(0) may skip looking for fd events */
};

/*
 * Creates the platform's default driver, the one cfut_executor_new() uses
 * (epoll on Linux: cfut_epoll.c).
 * Returns: 0; CFUT_ENOMEM; the system's error as -errno (-EMFILE, ...).
 * Context: any thread.
 */
int cfut__driver_default_new(struct cfut__driver **out);

/*
 * A turn of the default (epoll) driver in two halves, for a driver that
 * several threads share (the pool's, cfut_pool_io.c): the wait blocks at
 * most 'timeout_ns' (CFUT__DRIVER_FOREVER: no limit) and keeps the events
 * in the driver, without reporting them; the dispatch then reports the
 * 'n' events the wait returned (and consumes an unpark), so that its
 * caller can hold the lock that guards the interests around it only.
 * cfut__epoll_wait() returns the number of events, or -errno.
 * Context: one thread at a time per driver, dispatch after wait.
 */
int cfut__epoll_wait(struct cfut__driver *d, int64_t timeout_ns);
void cfut__epoll_dispatch(struct cfut__driver *d, int n);

/* Initialises the base of a driver of type 'vt'. */
static inline void
cfut__driver_init(struct cfut__driver *d, const struct cfut__driver_vtable *vt)
{
    d->vt = vt;
    d->n_regs = 0;
    d->n_waiters = 0;
}

#endif /* CFUT_DRIVER_INT_H */
