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
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cfut_future.h"

/* The end of a list of child indexes. */
#define CFUT__WAKESET_EMPTY UINT32_MAX

/* An extern thread-local read on hot paths: one instruction to reach. */
#if defined(__GNUC__)
#define CFUT__WAKESET_TLS                                                      \
    __attribute__((tls_model("initial-exec"), visibility("hidden")))
#else
#define CFUT__WAKESET_TLS
#endif

/* A byte per thread whose address names the thread while it lives
 * (cfut_wakeset.c; the futures layer's own, the runtime has another). */
extern _Thread_local char cfut__wakeset_token CFUT__WAKESET_TLS;

/* The owner value of a set that has fallen back to atomics for good. */
extern const char cfut__wakeset_shared;

/*
 * One child's place in the wake block; a sub-waker's data points here.
 * Two ways onto the woken list: the local list ('lnext', 'lqueued': plain
 * fields of the local side, see struct cfut__wakeset) and the foreign stack
 * ('next', 'queued': atomics, any thread).
 */
struct cfut__wakeset_slot {
    uint32_t idx;          /* this slot's index in 'slots' */
    uint32_t lnext;        /* the next index on the local list */
    _Atomic uint32_t next; /* the next index on the foreign stack */
    bool lqueued;          /* on the local list (or being drained) */
    atomic_bool queued;    /* on the foreign stack */
};

/*
 * The shared block: the combinator holds one reference, each live sub-waker
 * clone one more. The combinator's private data ('extra') follows the slots
 * in the same allocation, so init allocates once.
 *
 * References come in two kinds. While the set has an owner, the
 * combinator's reference and every clone made on the owner thread (a local
 * waker, cfut__wakeset_local_vtable) are counted in 'lrefs' with plain
 * stores, and together hold a single reference in 'refs'; a clone made on
 * another thread (a shared waker) is counted in 'refs'. A local waker
 * dropped on another thread adds 1 to 'ldebt'. When the owner path ends
 * (at release, or when another thread takes over), the live local
 * references ('lrefs' - 'ldebt') replace that single reference in 'refs'
 * (see local_convert() for the order of the steps) and 'ldebt' is marked
 * converted, so a local waker dropped elsewhere afterwards decrements
 * 'refs' instead.
 *
 * Owner-thread wakes. 'owner' names the thread that polls the set (the
 * first poll sets it). A wake on that thread takes the local path: plain
 * loads and stores on the local list and a plain read of 'parent', no
 * locked instruction. A wake on any other thread pushes on the foreign
 * stack with atomics, and the poll merges that stack into the local list.
 * The local side is the owner thread; once the set has fallen back
 * ('owner' == &cfut__wakeset_shared) it is whichever thread polls (polls
 * are ordered by whoever hands the combinator over), and every wake takes
 * the foreign path.
 *
 * The owner never changes to another thread: a poll or release on a thread
 * other than the owner falls back for good (cfut__wakeset_adopt()). The
 * difficulty is a local wake that the old owner has begun (it read 'owner'
 * == itself) while the new thread polls: without a full fence on the wake
 * side the two cannot see each other's stores (store buffering). The wake
 * side therefore marks itself 'busy' (a plain store) before it reads
 * 'owner' again, and the thread that takes over stores the fallback,
 * then runs membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED), which makes every
 * thread of the process execute a full barrier, then waits until 'busy' is
 * 0 (acquire; the waker clears it with release). After the membarrier,
 * either the old owner's 'busy' store is visible (the takeover waits for
 * its local wake to finish, and then sees its stores) or the old owner's
 * second read of 'owner' sees the fallback (it takes the foreign path).
 * The cost is one system call per combinator that changes thread, never on
 * the wake path. Where membarrier is unavailable, every set starts in the
 * fallback.
 */
struct cfut__wakeset {
    atomic_size_t refs;  /* shared references (see local_convert()) */
    size_t lrefs;        /* local references (owner thread only) */
    atomic_size_t ldebt; /* local references dropped elsewhere */
    const struct cfut_waker_vtable *sub_vt; /* of the borrowed sub-wakers */
    _Atomic uint32_t head;       /* foreign stack (Treiber), or EMPTY */
    uint32_t lhead;              /* local list (newest first), or EMPTY */
    _Atomic(const void *) owner; /* NULL before the first poll */
    _Atomic uint32_t busy;       /* local wakes in progress (owner only) */
    atomic_flag lock;            /* guards 'parent' against foreign wakes */
    struct cfut_waker parent;    /* written only by the polling thread */
    uint32_t n;
    bool started;      /* the first drain has happened (polling thread only) */
    size_t extra_off;  /* offset of the combinator's data from the block */
    size_t alloc_size; /* bytes allocated, for cfut__free_small() */
    struct cfut__wakeset_slot slots[];
};

/* 'ldebt' flag: the local references have become shared ones. */
#define CFUT__WAKESET_CONVERTED ((size_t)1 << (sizeof(size_t) * 8 - 1))

/* The vtables of the sub-wakers (cfut_wakeset.c): a shared one counts its
 * reference in 'refs', a local one (made on the owner thread) in 'lrefs'. */
extern const struct cfut_waker_vtable cfut__wakeset_vtable;
extern const struct cfut_waker_vtable cfut__wakeset_local_vtable;

/*
 * Allocates a block for 'n' children with 'extra' bytes (max-aligned) for
 * the combinator. The slots are left unwritten and the lists empty: the
 * combinator's first poll polls every child itself (cfut__wakeset_start()),
 * setting up each one's slot (cfut__wakeset_init_slot()) just before its
 * poll (no sub-waker of a child exists before it), so init walks no slot
 * and the first poll walks no list. Returns 0 or CFUT_ENOMEM.
 */
int cfut__wakeset_new(uint32_t n, size_t extra, struct cfut__wakeset **out);

/* Drops the parent waker (under the lock) and releases the combinator's
 * reference; stale sub-wakers then wake nothing. Any thread (it falls back
 * first when it is not the owner). */
void cfut__wakeset_release(struct cfut__wakeset *ws);

/* Drops the parent waker, so later wakes are no-ops. */
void cfut__wakeset_clear_parent(struct cfut__wakeset *ws);

/* Replaces the parent waker by 'w' unless it already wakes the same. */
void cfut__wakeset_set_parent(struct cfut__wakeset *ws,
                              const struct cfut_waker *w);

/* The slow half of cfut__wakeset_enter(): the first poll takes ownership,
 * a poll on another thread falls back for good (see struct cfut__wakeset). */
void cfut__wakeset_adopt(struct cfut__wakeset *ws);

/* Moves the foreign stack onto the local list (polling thread). */
void cfut__wakeset_merge(struct cfut__wakeset *ws);

/*
 * Makes the calling (polling) thread the local side before it touches the
 * local list: nothing when it owns the set or the set has fallen back.
 */
static inline void
cfut__wakeset_enter(struct cfut__wakeset *ws)
{
    const void *o = atomic_load_explicit(&ws->owner, memory_order_relaxed);
    if (o != &cfut__wakeset_token && o != &cfut__wakeset_shared)
        cfut__wakeset_adopt(ws);
}

/*
 * Returns true exactly once, at the combinator's first poll: it must then
 * poll every child (cfut__wakeset_init_slot() first), not drain the lists.
 * Only the polling thread calls it.
 */
static inline bool
cfut__wakeset_start(struct cfut__wakeset *ws)
{
    if (ws->started)
        return false;
    ws->started = true;
    cfut__wakeset_enter(ws);
    return true;
}

/*
 * Sets up child 'i's slot at the first poll, before the child's poll: not
 * queued on either list.
 */
static inline void
cfut__wakeset_init_slot(struct cfut__wakeset *ws, uint32_t i)
{
    ws->slots[i].idx = i;
    ws->slots[i].lqueued = false;
    atomic_store_explicit(&ws->slots[i].queued, false, memory_order_relaxed);
}

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
 * list after the swap wakes 'w' at once: nothing is lost, and a poll that
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
    if (ws->lhead != CFUT__WAKESET_EMPTY ||
        atomic_load_explicit(&ws->head, memory_order_acquire) !=
            CFUT__WAKESET_EMPTY)
        cfut_waker_wake_by_ref(w);
}

/*
 * Takes every woken child (the foreign stack merged into the local list)
 * and returns the list in wake order (oldest first, roughly: the foreign
 * wakes count as made at the merge). The nodes of the returned list belong
 * to the caller until it clears each one with cfut__wakeset_next().
 */
static inline uint32_t
cfut__wakeset_take(struct cfut__wakeset *ws)
{
    cfut__wakeset_enter(ws);
    if (atomic_load_explicit(&ws->head, memory_order_relaxed) !=
        CFUT__WAKESET_EMPTY)
        cfut__wakeset_merge(ws);
    uint32_t i = ws->lhead;
    ws->lhead = CFUT__WAKESET_EMPTY;
    uint32_t prev = CFUT__WAKESET_EMPTY;
    while (i != CFUT__WAKESET_EMPTY) {
        uint32_t nx = ws->slots[i].lnext;
        ws->slots[i].lnext = prev;
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
    uint32_t nx = ws->slots[i].lnext;
    ws->slots[i].lqueued = false;
    return nx;
}

/* Reads the index after 'i' in a taken list without clearing 'i'. */
static inline uint32_t
cfut__wakeset_peek(struct cfut__wakeset *ws, uint32_t i)
{
    return ws->slots[i].lnext;
}

/* Clears 'i's queued flag (see cfut__wakeset_next()). */
static inline void
cfut__wakeset_clear(struct cfut__wakeset *ws, uint32_t i)
{
    ws->slots[i].lqueued = false;
}

/* Returns child 'i's sub-waker, borrowed from the block (no reference). */
static inline struct cfut_waker
cfut__wakeset_waker(struct cfut__wakeset *ws, uint32_t i)
{
    return (struct cfut_waker){ws->sub_vt, &ws->slots[i]};
}

#endif /* CFUT_WAKESET_INT_H */
