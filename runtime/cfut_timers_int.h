/*
 * cfut_timers_int.h: an executor's timers and clock: a binary min-heap of
 * armed timers (struct cfut__timer, embedded in the futures that sleep),
 * the clock they are measured on (the driver's, or a paused one moved by
 * hand), and the turn that waits in the driver no longer than the next
 * deadline and then wakes the timers that are due. It knows the driver
 * interface, not the executor. Internal: never included by a public
 * header.
 */
#ifndef CFUT_TIMERS_INT_H
#define CFUT_TIMERS_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cfut_driver_int.h"
#include "cfut_time.h"

struct cfut__timer_slot;

/* The timers of one executor (embedded in it). */
struct cfut__timers {
    struct cfut__driver *drv;      /* its clock, and what a turn waits in */
    const void *trace_key;         /* names the executor in trace events */
    struct cfut__timer_slot *heap; /* min-heap on (deadline, seq) */
    size_t n;                      /* armed timers */
    size_t cap;
    uint64_t next_seq;
    bool paused;         /* the clock moves only by hand (and auto-advance) */
    uint64_t paused_now; /* the paused clock's time */
    uint64_t now_cache;  /* the clock at its last reading (never ahead) */
};

/*
 * Initialises 'tm' with no timer, on the clock of 'drv'.
 * Ownership: 'drv' and 'trace_key' are kept until cfut__timers_deinit().
 */
void cfut__timers_init(struct cfut__timers *tm, struct cfut__driver *drv,
                       const void *trace_key);

/* Frees the heap. Timers still armed are forgotten (their futures must
 * not be polled or dropped afterwards). */
void cfut__timers_deinit(struct cfut__timers *tm);

/* Returns the time now (paused, or the driver's clock) and caches it. */
uint64_t cfut__timers_now(struct cfut__timers *tm);

/*
 * Returns the clock as last read (by a turn or a sleep): never ahead of
 * the true time, so a deadline it shows as passed has passed. Costs no
 * clock read.
 */
static inline uint64_t
cfut__timers_now_cached(const struct cfut__timers *tm)
{
    return tm->paused ? tm->paused_now : tm->now_cache;
}

/*
 * Arms 't' (its 'deadline' set) with a clone of 'w'.
 * Returns: 0; CFUT_ENOMEM when the heap cannot grow ('t' stays unarmed).
 */
int cfut__timers_insert(struct cfut__timers *tm, struct cfut__timer *t,
                        const struct cfut_waker *w);

/* Disarms 't' if it is armed and drops its waker. */
void cfut__timers_remove(struct cfut__timers *tm, struct cfut__timer *t);

/* Tells whether 't' is in the heap (not yet fired or removed). */
static inline bool
cfut__timer_is_armed(const struct cfut__timer *t)
{
    return t->index != SIZE_MAX;
}

/*
 * Wakes every timer due at 'now' (a clock reading), earliest first, and
 * returns how many. For a turn made by hand (the pool's shared driver,
 * which holds its lock around it).
 */
size_t cfut__timers_fire_due(struct cfut__timers *tm, uint64_t now);

/* Returns the earliest deadline armed, or UINT64_MAX when none is. */
uint64_t cfut__timers_next_deadline(const struct cfut__timers *tm);

/* The half of cfut__timers_turn() for when timers are armed. */
int cfut__timers_turn_armed(struct cfut__timers *tm, int64_t timeout_ns);

/*
 * Turns the driver for at most 'timeout_ns' (CFUT__DRIVER_FOREVER: no
 * limit; 0: just look), and less when a timer is due sooner, then wakes
 * every timer that is due, earliest first. With no timer armed it is just
 * the driver's turn (no clock read). With a paused clock the turn never
 * waits; a turn with a timeout other than 0 that finds no event then
 * moves the clock to the earliest deadline (auto-advance).
 * Returns: what the driver's turn returned (its count of events, or its
 *   error).
 * Context: the executor's thread, outside any poll.
 */
static inline int
cfut__timers_turn(struct cfut__timers *tm, int64_t timeout_ns)
{
    if (tm->n == 0)
        return tm->drv->vt->turn(tm->drv, timeout_ns);
    return cfut__timers_turn_armed(tm, timeout_ns);
}

/* Pauses the clock at its current value (no-op when paused). */
void cfut__timers_pause(struct cfut__timers *tm);

/*
 * Moves the paused clock forward by 'ns' and wakes the timers then due.
 * Returns: 0; CFUT_ESTATE if the clock is not paused.
 */
int cfut__timers_advance(struct cfut__timers *tm, uint64_t ns);

#endif /* CFUT_TIMERS_INT_H */
