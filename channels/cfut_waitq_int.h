/*
 * cfut_waitq_int.h: wait lists of futures (struct cfut__waiter), for the
 * primitives whose state many futures wait on: a future parks on the list
 * with its waker, and an event wakes the first waiter or all of them.
 * Internal; never included by a public header. Every function runs with
 * the kind's lock held (the thread-safe kinds) and none allocates.
 *
 * Waking all: the core moves the waiters to a list of its caller's (a
 * "batch": a list head on the caller's stack, guarded by the same lock),
 * then the kind wakes them one by one: the local kind at once
 * (cfut__waitq_wake_all_now()), the thread-safe kind a few at a time
 * after unlocking (cfut__sync_wake_all(), cfut_sync_int.h). A waiter that
 * is polled or dropped meanwhile leaves the batch by itself, so the batch
 * never points to a future that is gone.
 */
#ifndef CFUT_WAITQ_INT_H
#define CFUT_WAITQ_INT_H

#include <stdbool.h>

#include "cfut_channel.h"
#include "cfut_list_int.h"
#include "cfut_wake_list_int.h"

/* A waiter of a fresh future: no waker, on no list. Its link is set up
 * when it first parks (the future may move until its first poll). */
static inline void
cfut__waiter_init(struct cfut__waiter *w)
{
    w->waker = CFUT_WAKER_EMPTY;
    w->is_linked = false;
}

/* Links 'w' at the tail of 'q' (pre: on no list). */
static inline void
cfut__waiter_link(struct cfut_list *q, struct cfut__waiter *w)
{
    cfut_list_init(&w->waiter_link);
    cfut_list_push_back(q, &w->waiter_link);
    w->is_linked = true;
}

/* Takes 'w' off whatever list holds it (a wait list or a batch). */
static inline void
cfut__waiter_unlink(struct cfut__waiter *w)
{
    if (w->is_linked) {
        cfut_list_remove(&w->waiter_link);
        w->is_linked = false;
    }
}

/*
 * Parks 'w' on 'q' with the waker of 'cx' (kept registered: parking again
 * with the same waker takes no new reference). A waiter still on a list (a
 * wait list, or a batch about to wake it) stays where it is.
 */
static inline void
cfut__waiter_park(struct cfut_list *q, struct cfut__waiter *w,
                  const struct cfut_context *cx)
{
    cfut_waker_register(&w->waker, cx->waker);
    if (!w->is_linked)
        cfut__waiter_link(q, w);
}

/* The waiting future goes: off its list, and its waker to 'wl' to drop. */
static inline void
cfut__waiter_gone(struct cfut__waiter *w, struct cfut__wake_list *wl)
{
    cfut__waiter_unlink(w);
    cfut__wake_list_take_drop(wl, &w->waker);
}

/* Returns the first waiter of 'q', or NULL when it is empty. */
static inline struct cfut__waiter *
cfut__waitq_first(const struct cfut_list *q)
{
    if (cfut_list_is_empty(q))
        return NULL;
    return cfut_container_of(q->next, struct cfut__waiter, waiter_link);
}

/*
 * Moves every waiter of 'q' to the tail of 'batch' (initialised by the
 * caller, and guarded by the same lock).
 */
static inline void
cfut__waitq_take_all(struct cfut_list *q, struct cfut_list *batch)
{
    cfut_list_splice_back(batch, q);
}

/*
 * Takes the first waiter off 'batch' and hands its waker to 'wl', to be
 * woken by reference (it stays registered). Returns false when 'batch' is
 * empty.
 */
static inline bool
cfut__waitq_wake_next(struct cfut_list *batch, struct cfut__wake_list *wl)
{
    struct cfut__waiter *w = cfut__waitq_first(batch);
    if (w == NULL)
        return false;
    cfut__waiter_unlink(w);
    cfut__wake_list_keep(wl, &w->waker);
    return true;
}

/* Wakes every waiter of 'batch' at once (the local kinds). */
static inline void
cfut__waitq_wake_all_now(struct cfut_list *batch)
{
    while (cfut__waitq_wake_next(batch, CFUT__WAKE_NOW))
        ;
}

#endif /* CFUT_WAITQ_INT_H */
