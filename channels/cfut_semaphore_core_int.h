/*
 * cfut_semaphore_core_int.h: the semaphore's state and every one of its
 * transitions, written once for both kinds (internal; never included by a
 * public header): the permits available, the FIFO of acquire futures with
 * the permits assigned to each so far, a count of references and the
 * closed flag. Permits given back are assigned to the first waiter until it
 * has all it asked for; the waiters served are moved to a batch that the
 * kind wakes (at once, or after unlocking). The core never locks, never
 * allocates and calls no user code.
 */
#ifndef CFUT_SEMAPHORE_CORE_INT_H
#define CFUT_SEMAPHORE_CORE_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "cfut_count_int.h"
#include "cfut_owner_int.h"
#include "cfut_semaphore.h"
#include "cfut_waitq_int.h"

/*
 * An acquire future's states (its waiter's 'state'):
 *   FRESH    not polled yet, or polled with a spent budget: holds nothing;
 *   WAITING  on 'waiters', with 'n' - 'needed' permits assigned so far;
 *   GRANTED  all 'n' assigned, off 'waiters' (perhaps on a batch): the next
 *            poll is READY with them;
 *   DONE     READY with CFUT_OK: the permits and the future's reference
 *            moved to the permit in the output;
 *   FAILED   READY with an error: holds nothing but its reference.
 */
enum {
    CFUT__SEM_FRESH,
    CFUT__SEM_WAITING,
    CFUT__SEM_GRANTED,
    CFUT__SEM_DONE,
    CFUT__SEM_FAILED
};

/*
 * The state both kinds share (the thread-safe kind guards all of it with
 * its lock). Invariant: 'available' <= 'total' <= the maximum, and while
 * anyone waits, 'available' is 0 (every permit given back goes to the
 * waiters first).
 */
struct cfut__semaphore {
    CFUT__OWNER_FIELD; /* debug builds: the local kind's thread */
    size_t available;  /* permits nobody holds or is assigned */
    size_t total;      /* available + held by permits + assigned to waiters */
    size_t refs;       /* handles, permits, acquire futures */
    bool closed;
    struct cfut_list waiters; /* acquire futures, FIFO */
};

/* Initialises 'c' with 'permits' available and one reference (a handle).
 * Returns false when 'permits' is more than the maximum. */
static inline bool
cfut__semaphore_core_init(struct cfut__semaphore *c, size_t permits)
{
    if (permits > CFUT_SEMAPHORE_MAX_PERMITS)
        return false;
    *c = (struct cfut__semaphore){
        .available = permits, .total = permits, .refs = 1};
    CFUT__OWNER_INIT(c, "semaphore");
    cfut_list_init(&c->waiters);
    return true;
}

/* Initialises an acquire future's waiter for 'n' permits. */
static inline void
cfut__semaphore_waiter_init(struct cfut__semaphore_waiter *w, size_t n)
{
    cfut__waiter_init(&w->w);
    w->n = n;
    w->needed = n;
    w->state = CFUT__SEM_FRESH;
}

/* The first waiter of 'c', or NULL. */
static inline struct cfut__semaphore_waiter *
cfut__semaphore_first(const struct cfut__semaphore *c)
{
    struct cfut__waiter *w = cfut__waitq_first(&c->waiters);
    return w != NULL ? cfut_container_of(w, struct cfut__semaphore_waiter, w)
                     : NULL;
}

/*
 * Gives 'n' permits back: to the first waiters in turn, each until it has
 * all it asked for (it then moves to 'batch', to be woken), the rest to
 * 'available'.
 */
static inline void
cfut__semaphore_give(struct cfut__semaphore *c, size_t n,
                     struct cfut_list *batch)
{
    struct cfut__semaphore_waiter *w;
    while (n != 0 && (w = cfut__semaphore_first(c)) != NULL) {
        size_t k = n < w->needed ? n : w->needed;
        w->needed -= k;
        n -= k;
        if (w->needed == 0) {
            w->state = CFUT__SEM_GRANTED;
            cfut__waiter_unlink(&w->w);
            cfut__waiter_link(batch, &w->w);
        }
    }
    c->available += n;
}

/* Tells whether 'n' permits may be taken at once: enough are available
 * and nobody waits ahead (0 permits always may). */
static inline bool
cfut__semaphore_has_room(const struct cfut__semaphore *c, size_t n)
{
    return n == 0 || (c->available >= n && cfut_list_is_empty(&c->waiters));
}

/* A reference goes (a handle, a permit, a future's). Returns whether the
 * state is now unreferenced. */
static inline bool
cfut__semaphore_unref(struct cfut__semaphore *c)
{
    return --c->refs == 0;
}

/*
 * try_acquire: takes 'n' permits for a new permit (which takes a
 * reference).
 * Returns: 0; CFUT_EINVAL ('n' over the maximum); CFUT_ECLOSED;
 *   CFUT_EAGAIN (too few available, or others wait).
 */
static inline int
cfut__semaphore_try_acquire(struct cfut__semaphore *c, size_t n)
{
    if (n > CFUT_SEMAPHORE_MAX_PERMITS)
        return CFUT_EINVAL;
    if (c->closed)
        return CFUT_ECLOSED;
    if (!cfut__semaphore_has_room(c, n))
        return CFUT_EAGAIN;
    c->available -= n;
    c->refs++;
    return CFUT_OK;
}

/*
 * The acquire future's poll, for its waiter 'w' (see the states above).
 * FRESH: a bad 'n' or a closed semaphore fails; room (has_room) is
 * READY at once (budget allowing); else it queues with
 * the waker of 'cx', taking what is available if it is first. WAITING:
 * PENDING (re-registering the waker) until given all it asked for, or
 * READY with CFUT_ECLOSED once closed. GRANTED: READY. READY writes the
 * status to '*status'; with CFUT_OK the future's reference goes to the
 * permit (DONE).
 */
static inline enum cfut_poll
cfut__semaphore_acquire_poll(struct cfut__semaphore *c,
                             struct cfut__semaphore_waiter *w,
                             struct cfut_context *cx, int *status)
{
    switch (w->state) {
    case CFUT__SEM_FRESH:
        if (w->n > CFUT_SEMAPHORE_MAX_PERMITS) {
            *status = CFUT_EINVAL;
        } else if (c->closed) {
            *status = CFUT_ECLOSED;
        } else if (cfut__semaphore_has_room(c, w->n)) {
            if (!cfut_context_consume_budget(cx))
                return CFUT_PENDING;
            c->available -= w->n;
            w->state = CFUT__SEM_DONE;
            *status = CFUT_OK;
            return CFUT_READY;
        } else {
            if (cfut_list_is_empty(&c->waiters)) {
                w->needed -= c->available; /* all there is: fewer than n */
                c->available = 0;
            }
            w->state = CFUT__SEM_WAITING;
            cfut__waiter_park(&c->waiters, &w->w, cx);
            return CFUT_PENDING;
        }
        break;
    case CFUT__SEM_WAITING:
        if (!c->closed) {
            cfut__waiter_park(&c->waiters, &w->w, cx);
            return CFUT_PENDING;
        }
        cfut__waiter_unlink(&w->w);
        *status = CFUT_ECLOSED;
        break;
    default:
        CFUT_DEBUG_ASSERT(w->state == CFUT__SEM_GRANTED,
                          "semaphore: acquire polled after READY");
        cfut__waiter_unlink(&w->w);
        w->state = CFUT__SEM_DONE;
        *status = CFUT_OK;
        return CFUT_READY;
    }
    w->state = CFUT__SEM_FAILED;
    return CFUT_READY;
}

/*
 * An acquire future goes: off its list, its waker to 'wl' to drop, the
 * permits assigned to it given back (waiters served go to 'batch'), and
 * its reference dropped unless a permit took it. Returns whether the state
 * is now unreferenced.
 */
static inline bool
cfut__semaphore_acquire_gone(struct cfut__semaphore *c,
                             struct cfut__semaphore_waiter *w,
                             struct cfut_list *batch,
                             struct cfut__wake_list *wl)
{
    cfut__waiter_gone(&w->w, wl);
    if (w->state == CFUT__SEM_DONE)
        return false;
    if (w->state == CFUT__SEM_WAITING || w->state == CFUT__SEM_GRANTED)
        cfut__semaphore_give(c, w->n - w->needed, batch);
    return cfut__semaphore_unref(c);
}

/* A permit of 'n' goes: they are given back. Returns whether the state is
 * now unreferenced. */
static inline bool
cfut__semaphore_permit_gone(struct cfut__semaphore *c, size_t n,
                            struct cfut_list *batch)
{
    cfut__semaphore_give(c, n, batch);
    return cfut__semaphore_unref(c);
}

/* A permit of 'n' is forgotten: the semaphore has 'n' fewer. Returns
 * whether the state is now unreferenced. */
static inline bool
cfut__semaphore_permit_forgotten(struct cfut__semaphore *c, size_t n)
{
    c->total -= n;
    return cfut__semaphore_unref(c);
}

/*
 * add_permits: 'n' more permits, given as a permit's drop gives them.
 * Returns: 0; CFUT_EINVAL when the total would pass the maximum.
 */
static inline int
cfut__semaphore_add(struct cfut__semaphore *c, size_t n,
                    struct cfut_list *batch)
{
    if (n > CFUT_SEMAPHORE_MAX_PERMITS - c->total)
        return CFUT_EINVAL;
    c->total += n;
    cfut__semaphore_give(c, n, batch);
    return CFUT_OK;
}

/*
 * close: later acquires fail; every waiter gives back what it was assigned
 * (it holds nothing now) and moves to 'batch', to wake and see the close.
 */
static inline void
cfut__semaphore_close(struct cfut__semaphore *c, struct cfut_list *batch)
{
    c->closed = true;
    struct cfut__semaphore_waiter *w;
    while ((w = cfut__semaphore_first(c)) != NULL) {
        c->available += w->n - w->needed;
        w->needed = w->n;
        cfut__waiter_unlink(&w->w);
        cfut__waiter_link(batch, &w->w);
    }
}

#endif /* CFUT_SEMAPHORE_CORE_INT_H */
