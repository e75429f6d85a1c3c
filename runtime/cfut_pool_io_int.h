/*
 * cfut_pool_io_int.h: the pool's shared driver (cfut_pool_io.c): one
 * epoll driver and one timer heap per pool, under one lock, turned by a
 * worker that parks (or, every so often, by a busy one), and what the
 * leaf futures of time and I/O reach through it when they are polled on
 * a worker or in cfut_pool_block_on(), where no single-threaded executor
 * runs. docs/pool.md ("I/O and time") explains the design. Internal:
 * never included by a public header.
 */
#ifndef CFUT_POOL_IO_INT_H
#define CFUT_POOL_IO_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "cfut_driver_int.h"
#include "cfut_reactor_int.h"
#include "cfut_time.h"
#include "cfut_timers_int.h"

struct cfut_pool;

/*
 * A pool's shared driver: embedded in the pool. 'sh.lock' guards the
 * timer heap, the driver's counts, every registration made on it (their
 * wait lists and the writes of their readiness bits) and the fields
 * marked below. Only the worker that holds 'busy' turns the driver.
 */
struct cfut__pool_io {
    struct cfut__io_shared sh; /* the lock, and the turn's reaping */
    struct cfut__driver *drv;  /* epoll; its clock is CLOCK_MONOTONIC */
    struct cfut__timers timers;
    struct cfut_pool *pool;
    /* guarded by 'sh.lock' */
    bool blocking;       /* a turn waits in epoll_wait with a timeout */
    uint64_t wait_until; /* ... up to this deadline (UINT64_MAX: none) */
    /* the worker that holds 'busy' only */
    uint64_t last_turn; /* clock of the last turn of the fairness tick */
    /* any thread */
    atomic_bool busy; /* a worker turns the driver (try-lock) */
    atomic_bool used; /* a timer or registration was ever made: turn it */
};

/*
 * The shared driver of the pool the calling thread runs for (a worker, or
 * a thread inside cfut_pool_block_on()), or NULL. Leaf futures fall back
 * on it when cfut_executor_current() is NULL.
 */
extern _Thread_local struct cfut__pool_io *cfut__tls_pool_io;

/* Makes 'pio' for 'p'. Returns: 0; CFUT_ENOMEM; -errno (epoll, eventfd). */
int cfut__pool_io_init(struct cfut__pool_io *pio, struct cfut_pool *p);

/*
 * Frees the driver and the heap, once no future uses them (the pool's
 * tasks are dropped). A registration still alive aborts (as for an
 * executor: free them first).
 */
void cfut__pool_io_deinit(struct cfut__pool_io *pio);

/*
 * One turn of the shared driver: fires the timers due, waits for fd events
 * (with 'block': until an event, an unpark or the next deadline; without:
 * just looks), dispatches them and fires the timers due again. Wakes go
 * to the calling worker's queue.
 * Context: a worker holding 'pio->busy'.
 */
void cfut__pool_io_turn(struct cfut__pool_io *pio, bool block);

/* Makes a blocked turn return. Context: any thread. */
void cfut__pool_io_unpark(struct cfut__pool_io *pio);

/*
 * Called the first time a timer or registration is made on 'p': from then
 * on parking workers turn the driver, and one is unparked so that a worker
 * turns it even when all were asleep already (cfut_pool.c).
 */
void cfut__pool_io_first_use(struct cfut_pool *p);

/*
 * The first poll of a sleep where no executor runs: arms its timer in the
 * shared driver of this thread's pool (and from then on the sleep polls
 * and drops through the pool's versions), or finishes it: CFUT_ESTATE
 * when the thread runs for no pool either.
 */
enum cfut_poll cfut__pool_sleep_start(struct cfut_sleep *s,
                                      struct cfut_context *cx, int *status);

/*
 * The clock of this thread's pool, for an interval started on it.
 * Returns: 0 ('*now' set); CFUT_ESTATE when the thread runs for no pool.
 */
int cfut__pool_io_now(uint64_t *now);

/*
 * Registers 'fd' with the executor running on this thread or, with none,
 * the shared driver of this thread's pool (a connect made inside a task).
 * Returns: as cfut_io_new(); CFUT_ESTATE with neither.
 */
int cfut__io_new_current(int fd, struct cfut_io **out);

#endif /* CFUT_POOL_IO_INT_H */
