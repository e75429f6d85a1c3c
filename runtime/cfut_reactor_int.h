/*
 * cfut_reactor_int.h: what the executor, the timers and the I/O futures
 * need from the reactor: its creation as the executor's driver, its clock,
 * timer insert/remove, and fd wait lists. Internal: never included by a
 * public header.
 */
#ifndef CFUT_REACTOR_INT_H
#define CFUT_REACTOR_INT_H

#include "cfut_executor_int.h"
#include "cfut_reactor.h"
#include "cfut_time.h"

struct cfut__reactor;

/* The driver vtable of the reactor (turn, unpark, free). */
extern const struct cfut__driver_vtable cfut__reactor_vtable;

/*
 * Creates a reactor (epoll fd + eventfd) for an executor to park in.
 * Returns: 0; CFUT_ENOMEM; the error of epoll_create1(), eventfd() or
 *   epoll_ctl() as -errno (-EMFILE, ...).
 */
int cfut__reactor_new(struct cfut__reactor **out);

/* Returns the reactor of 'ex' (every executor has one). */
struct cfut__reactor *cfut__reactor_of(const struct cfut_executor *ex);

/* Returns the reactor of the executor running on this thread, or NULL. */
struct cfut__reactor *cfut__reactor_current(void);

/* Returns the time now on the reactor's clock (paused or monotonic). */
uint64_t cfut__reactor_now(struct cfut__reactor *r);

/*
 * Returns the reactor's clock as last read (by a turn or a sleep): never
 * ahead of the true time, so a deadline it shows as passed has passed.
 * Costs no clock read.
 */
uint64_t cfut__reactor_now_cached(const struct cfut__reactor *r);

/*
 * Arms 't' (its 'deadline' set) with a clone of 'w'.
 * Returns: 0; CFUT_ENOMEM when the heap cannot grow ('t' stays unarmed).
 */
int cfut__timer_insert(struct cfut__reactor *r, struct cfut__timer *t,
                       const struct cfut_waker *w);

/* Disarms 't' if it is armed and drops its waker. */
void cfut__timer_remove(struct cfut__reactor *r, struct cfut__timer *t);

/* Tells whether 't' is in the heap (not yet fired or removed). */
static inline bool
cfut__timer_is_armed(const struct cfut__timer *t)
{
    return t->index != SIZE_MAX;
}

/* Which wait list of a registration. */
enum cfut__io_dir { CFUT__IO_READ = 0, CFUT__IO_WRITE = 1 };

/*
 * Puts 'w' on the 'dir' wait list of 'io' with a clone of 'waker' (or
 * refreshes its waker when it is already there).
 */
void cfut__io_wait(struct cfut_io *io, enum cfut__io_dir dir,
                   struct cfut__io_waiter *w, const struct cfut_waker *waker);

/* Takes 'w' off its wait list (if on one) and drops its waker. */
void cfut__io_unwait(struct cfut_io *io, struct cfut__io_waiter *w);

/* Tells whether the registration is a socket (MSG_NOSIGNAL applies). */
bool cfut__io_is_socket(const struct cfut_io *io);

#endif /* CFUT_REACTOR_INT_H */
