/*
 * cfut_wakeset_int.h: the wake set behind join and select (internal, never
 * included by a public header): one refcounted block per combinator holds
 * a lock-free stack of woken child indexes and the parent's waker, and
 * each child is polled with a sub-waker that points at its slot in it.
 * It does not poll anything: the combinators drain the stack themselves.
 * Implemented in cfut_wakeset.c.
 */
#ifndef CFUT_WAKESET_INT_H
#define CFUT_WAKESET_INT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "cfut_future.h"

/* The end of a list of child indexes. */
#define CFUT__WAKESET_EMPTY UINT32_MAX

/* One child's place in the wake block; a sub-waker's data points here. */
struct cfut__wakeset_slot {
    uint32_t idx;          /* this slot's index in 'slots' */
    _Atomic uint32_t next; /* the next index on the woken stack */
    atomic_bool queued;    /* on the woken stack (or being drained) */
};

/*
 * The shared block: the combinator holds one reference, each live sub-waker
 * clone one more. The combinator's private data ('extra') follows the slots
 * in the same allocation, so init allocates once.
 */
struct cfut__wakeset {
    atomic_size_t refs;
    _Atomic uint32_t head;    /* woken stack (Treiber), CFUT__WAKESET_EMPTY */
    atomic_flag lock;         /* guards 'parent' against waking threads */
    struct cfut_waker parent; /* written only by the polling thread */
    uint32_t n;
    size_t extra_off;  /* offset of the combinator's data from the block */
    size_t alloc_size; /* bytes allocated, for cfut__free_small() */
    struct cfut__wakeset_slot slots[];
};

/* The vtable of every sub-waker (cfut_wakeset.c). */
extern const struct cfut_waker_vtable cfut__wakeset_vtable;

/*
 * Allocates a block for 'n' children with 'extra' bytes (max-aligned) for
 * the combinator; every child starts queued, so the first drain yields
 * 0..n-1 in order. Returns 0 or CFUT_ENOMEM.
 */
int cfut__wakeset_new(uint32_t n, size_t extra, struct cfut__wakeset **out);

/* Drops the parent waker (under the lock) and releases the combinator's
 * reference; stale sub-wakers then wake nothing. */
void cfut__wakeset_release(struct cfut__wakeset *ws);

/* Drops the parent waker, so later wakes are no-ops. */
void cfut__wakeset_clear_parent(struct cfut__wakeset *ws);

/* Replaces the parent waker by 'w' unless it already wakes the same. */
void cfut__wakeset_set_parent(struct cfut__wakeset *ws,
                              const struct cfut_waker *w);

/* Returns the combinator's private data area. */
static inline void *
cfut__wakeset_extra(struct cfut__wakeset *ws)
{
    return (char *)ws + ws->extra_off;
}

/*
 * Makes the parent waker 'w' before the combinator returns PENDING: the
 * common case (the same waker as last time) is one compare and no atomic
 * operation. When the waker changes, a child woken earlier in this poll
 * may have woken the old one (or none, at the first poll), so a non-empty
 * stack after the swap wakes 'w' at once: nothing is lost, and a poll that
 * finishes never registers at all.
 */
static inline void
cfut__wakeset_register(struct cfut__wakeset *ws, const struct cfut_waker *w)
{
    /* Only this (polling) thread writes 'parent': reading it unlocked here
     * races with nothing. */
    if (cfut_waker_will_wake(&ws->parent, w))
        return;
    cfut__wakeset_set_parent(ws, w);
    if (atomic_load_explicit(&ws->head, memory_order_acquire) !=
        CFUT__WAKESET_EMPTY)
        cfut_waker_wake_by_ref(w);
}

/*
 * Takes the whole woken stack and returns it in wake order (oldest first).
 * The nodes of the returned list belong to the caller until it clears each
 * one with cfut__wakeset_next().
 */
static inline uint32_t
cfut__wakeset_take(struct cfut__wakeset *ws)
{
    if (atomic_load_explicit(&ws->head, memory_order_relaxed) ==
        CFUT__WAKESET_EMPTY)
        return CFUT__WAKESET_EMPTY;
    uint32_t i = atomic_exchange_explicit(&ws->head, CFUT__WAKESET_EMPTY,
                                          memory_order_acquire);
    uint32_t prev = CFUT__WAKESET_EMPTY;
    while (i != CFUT__WAKESET_EMPTY) {
        uint32_t nx =
            atomic_load_explicit(&ws->slots[i].next, memory_order_relaxed);
        atomic_store_explicit(&ws->slots[i].next, prev, memory_order_relaxed);
        prev = i;
        i = nx;
    }
    return prev;
}

/*
 * Returns the index after 'i' in a taken list and clears 'i's queued flag,
 * so that a wake from now on (even during the child's coming poll) queues it
 * again.
 */
static inline uint32_t
cfut__wakeset_next(struct cfut__wakeset *ws, uint32_t i)
{
    uint32_t nx =
        atomic_load_explicit(&ws->slots[i].next, memory_order_relaxed);
    atomic_store_explicit(&ws->slots[i].queued, false, memory_order_release);
    return nx;
}

/* Reads the index after 'i' in a taken list without clearing 'i'. */
static inline uint32_t
cfut__wakeset_peek(struct cfut__wakeset *ws, uint32_t i)
{
    return atomic_load_explicit(&ws->slots[i].next, memory_order_relaxed);
}

/* Clears 'i's queued flag (see cfut__wakeset_next()). */
static inline void
cfut__wakeset_clear(struct cfut__wakeset *ws, uint32_t i)
{
    atomic_store_explicit(&ws->slots[i].queued, false, memory_order_release);
}

/* Returns child 'i's sub-waker, borrowed from the block (no reference). */
static inline struct cfut_waker
cfut__wakeset_waker(struct cfut__wakeset *ws, uint32_t i)
{
    return (struct cfut_waker){&cfut__wakeset_vtable, &ws->slots[i]};
}

#endif /* CFUT_WAKESET_INT_H */
