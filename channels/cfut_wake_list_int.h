/*
 * cfut_wake_list_int.h: the wake list, where a channel core puts the
 * wakers a state transition lets go of: woken or dropped at once (the local
 * kinds), or kept until the kind has released its lock (the thread-safe
 * kinds). Internal; never included by a public header. It holds a fixed
 * few wakers and never allocates.
 */
#ifndef CFUT_WAKE_LIST_INT_H
#define CFUT_WAKE_LIST_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "cfut_future.h"

/*
 * A wake list is either immediate or deferred, for the life of the list:
 *   - immediate (the local kinds): there is no lock to release first, so
 *     each waker is woken or dropped at once, where the core releases it
 *     (the core releases wakers only where its state is consistent). The
 *     list never holds anything, and the compiled local kind is what a
 *     hand-written single-threaded channel would be.
 *   - deferred (the thread-safe kinds): the wakers wait in the list until
 *     the kind has unlocked and runs it. Each slot holds at most one
 *     waker: no transition releases more than one of each sort (a loop
 *     that releases many, such as a receiver's drop waking every waiting
 *     sender, runs the list once a step).
 */
struct cfut__wake_list {
    bool is_deferred;       /* a constant for the list's life */
    struct cfut_waker wake; /* moved out of the state: woken (consumed) */
    struct cfut_waker drop; /* moved out of the state: released */
    /*
     * A waker that stays registered in the state and is woken by
     * reference (the parked mpsc receiver's). The state may change once
     * the lock is released, so cfut__wake_list_detach() clones it into
     * 'kept_clone' first.
     */
    const struct cfut_waker *kept;
    struct cfut_waker kept_clone;
};

/* An immediate wake list, for the local kinds: a pointer to a fresh one,
 * to pass straight to a core function. */
#define CFUT__WAKE_NOW                                                         \
    (&(struct cfut__wake_list){false, CFUT_WAKER_EMPTY, CFUT_WAKER_EMPTY,      \
                               NULL, CFUT_WAKER_EMPTY})

/* A deferred wake list, for the thread-safe kinds (run it after unlocking). */
#define CFUT__WAKE_LIST_DEFERRED                                               \
    ((struct cfut__wake_list){true, CFUT_WAKER_EMPTY, CFUT_WAKER_EMPTY, NULL,  \
                              CFUT_WAKER_EMPTY})

/*
 * The waker in 'slot' is to be released ('drop') or else woken (consumed);
 * 'slot' becomes empty. A deferred list keeps it, and stores nothing for an
 * empty slot (the common case).
 */
static inline void
cfut__wake_list_move(struct cfut__wake_list *wl, struct cfut_waker *slot,
                     bool drop)
{
    if (!wl->is_deferred) {
        if (drop)
            cfut_waker_drop(slot);
        else
            cfut_waker_wake(slot);
    } else if (slot->vtable != NULL) {
        struct cfut_waker *to = drop ? &wl->drop : &wl->wake;
        CFUT_DEBUG_ASSERT(to->vtable == NULL, "wake list: slot taken twice");
        *to = *slot;
        slot->vtable = NULL;
    }
}

/* The waker in 'slot' is to be woken (consumed); 'slot' becomes empty. */
static inline void
cfut__wake_list_take(struct cfut__wake_list *wl, struct cfut_waker *slot)
{
    cfut__wake_list_move(wl, slot, false);
}

/* The waker in 'slot' is to be released; 'slot' becomes empty. */
static inline void
cfut__wake_list_take_drop(struct cfut__wake_list *wl, struct cfut_waker *slot)
{
    cfut__wake_list_move(wl, slot, true);
}

/* The waker registered in 'slot' is to be woken by reference; it stays. */
static inline void
cfut__wake_list_keep(struct cfut__wake_list *wl, const struct cfut_waker *slot)
{
    if (wl->is_deferred)
        wl->kept = slot;
    else
        cfut_waker_wake_by_ref(slot);
}

/*
 * Makes a deferred 'wl' independent of the state it came from: the kept
 * waker is cloned. What the thread-safe kinds call just before unlocking.
 * Context: with the lock that guards the kept waker held.
 */
static inline void
cfut__wake_list_detach(struct cfut__wake_list *wl)
{
    if (wl->kept != NULL) {
        wl->kept_clone = cfut_waker_clone(wl->kept);
        wl->kept = NULL;
    }
}

/*
 * Drops, then wakes, what a detached 'wl' holds, and empties it (so a loop
 * may reuse it). An immediate list holds nothing. Context: with no channel
 * lock held.
 */
static inline void
cfut__wake_list_run(struct cfut__wake_list *wl)
{
    CFUT_DEBUG_ASSERT(wl->kept == NULL, "wake list: run before detach");
    cfut_waker_drop(&wl->drop);
    cfut_waker_wake(&wl->wake);
    cfut_waker_wake(&wl->kept_clone);
}

#endif /* CFUT_WAKE_LIST_INT_H */
