/*
 * cfut_kind_int.h: the two kinds, for the one-to-many primitives, whose
 * calls are written once for both: a call takes its kind's lock (NULL in
 * the local kind), runs the core with a wake list of its kind, and ends by
 * waking what the core released: at once in the local kind, after
 * unlocking in the thread-safe kind. Each kind's public functions pass the
 * lock as a constant NULL or as the state's mutex, so once inlined the
 * local kind's code has no lock and no deferral. Internal; never included
 * by a public header. Nothing here allocates: a batch of waiters is woken
 * a round at a time, its wakers cloned under the lock.
 */
#ifndef CFUT_KIND_INT_H
#define CFUT_KIND_INT_H

#include "cfut_lock_int.h"
#include <stddef.h>

#include "cfut_count_int.h"
#include "cfut_owner_int.h"
#include "cfut_waitq_int.h"

/* Wakers cloned under the lock per round while a batch is woken. */
#define CFUT__KIND_WAKE_ROUND 16

/*
 * Marks a call written for either kind: it is inlined into each binding,
 * so the local kind's copy is compiled for its constant NULL lock (no lock,
 * no deferral). A value that only knows its lock at run time (a future, a
 * permit) picks a copy with CFUT__KIND_DISPATCH.
 */
#if defined(__GNUC__)
#define CFUT__KIND_INLINE static inline __attribute__((always_inline))
#else
#define CFUT__KIND_INLINE static inline
#endif

/* Calls 'call'(m, args...) with a constant NULL when 'm' is NULL (the
 * local kind's copy), else with 'm'. */
#define CFUT__KIND_DISPATCH(call, m, ...)                                      \
    ((m) == NULL ? call(NULL, __VA_ARGS__) : call((m), __VA_ARGS__))

/* A wake list for a call of the kind whose lock is 'm': deferred when 'm'
 * is a lock, immediate when it is NULL (the local kind). */
#define CFUT__WAKE_LIST_OF(m)                                                  \
    ((struct cfut__wake_list){(m) != NULL, CFUT_WAKER_EMPTY, CFUT_WAKER_EMPTY, \
                              NULL, CFUT_WAKER_EMPTY})

/* Takes the lock 'm' (none in the local kind). */
static inline void
cfut__kind_lock(struct cfut__lock *m)
{
    if (m != NULL)
        cfut__lock(m);
}

/* Releases the lock 'm' (none in the local kind). */
static inline void
cfut__kind_unlock(struct cfut__lock *m)
{
    if (m != NULL)
        cfut__unlock(m);
}

/*
 * The thread-safe kind's end of a call (cfut__kind_finish()), out of line:
 * detaches 'wl', then up to CFUT__KIND_WAKE_ROUND waiters leave 'batch'
 * (may be NULL) with a clone of their waker each, and after unlocking 'wl'
 * runs and the clones are woken; then the next round, under the lock
 * again, until the batch is empty. A waiter polled or dropped meanwhile
 * has left the batch by itself.
 * Context: with 'm' held; returns with it released.
 */
void cfut__kind_finish_sync(struct cfut__lock *m, struct cfut__wake_list *wl,
                            struct cfut_list *batch);

/*
 * Ends a call that took 'm' and ran the core with 'wl' (of the same kind):
 * wakes every waiter of 'batch' (may be NULL). The local kind's 'wl' has
 * woken and dropped its wakers already; the batch is woken at once. The
 * thread-safe kind wakes after unlocking (cfut__kind_finish_sync()).
 * Context: with 'm' held; returns with it released.
 */
static inline void
cfut__kind_finish(struct cfut__lock *m, struct cfut__wake_list *wl,
                  struct cfut_list *batch)
{
    if (m != NULL)
        cfut__kind_finish_sync(m, wl, batch);
    else if (batch != NULL)
        cfut__waitq_wake_all_now(batch);
}

/*
 * The local kind's wake list for calls that keep one in memory: an
 * immediate list holds nothing and is never written (cfut_wake_list_int.h),
 * so one constant serves every call on every thread.
 */
static const struct cfut__wake_list cfut__kind_wake_now = {
    false, {NULL, NULL}, {NULL, NULL}, NULL, {NULL, NULL}};

/*
 * One call on a state, from its lock to its wakes: the kind's lock 'm'
 * (NULL: the local kind), a wake list of the kind and a batch of waiters
 * for the core to fill.
 */
struct cfut__call {
    struct cfut__lock *m;
    struct cfut__wake_list *wl;      /* 'deferred', or the immediate list */
    struct cfut__wake_list deferred; /* the thread-safe kind's only */
    struct cfut_list batch;          /* waiters to wake at the end */
};

/* Begins a call on the state whose lock is 'm': takes the lock. */
static inline void
cfut__call_begin(struct cfut__call *k, struct cfut__lock *m)
{
    k->m = m;
    if (m != NULL) {
        k->deferred = CFUT__WAKE_LIST_DEFERRED;
        k->wl = &k->deferred;
    } else {
        /* Never written: see cfut__kind_wake_now. */
        k->wl = (struct cfut__wake_list *)&cfut__kind_wake_now;
    }
    cfut_list_init(&k->batch);
    cfut__kind_lock(m);
}

/* The lock of the call 'k' (NULL: the local kind). */
static inline struct cfut__lock *
cfut__call_lock(const struct cfut__call *k)
{
    return k->m;
}

/* Ends the call 'k': wakes what the core released (cfut__kind_finish()).
 * Context: returns with the lock released. */
static inline void
cfut__call_end(struct cfut__call *k)
{
    cfut__kind_finish(k->m, k->wl, &k->batch);
}

/*
 * Runs 'body' (statements) as one call on the state 'c' whose lock is 'm':
 * the call 'k' is begun before it (the core gets 'k.wl' and 'k.batch') and
 * ended after it (cfut__call_end()). The "lock, core, unlock, wake" of
 * every call that releases wakers, written once; like every call on a
 * state, it aborts when 'c' is NULL (a call on an empty handle).
 */
#define CFUT__KIND_CALL(m, k, c, body)                                         \
    do {                                                                       \
        struct cfut__call k;                                                   \
        CFUT__KIND_NOT_EMPTY(c);                                               \
        CFUT__KIND_OWNED(m, c);                                                \
        cfut__call_begin(&k, (m));                                             \
        body;                                                                  \
        cfut__call_end(&k);                                                    \
    } while (0)

/* Runs 'body' (statements that release no waker) on the state 'c' with its
 * lock 'm' held (see CFUT__KIND_CALL). */
#define CFUT__KIND_LOCKED(m, c, body)                                          \
    do {                                                                       \
        CFUT__KIND_NOT_EMPTY(c);                                               \
        CFUT__KIND_OWNED(m, c);                                                \
        cfut__kind_lock(m);                                                    \
        body;                                                                  \
        cfut__kind_unlock(m);                                                  \
    } while (0)

/* Aborts when the state 'c' of a call is NULL: the handle was empty
 * (dropped, or never made). */
#define CFUT__KIND_NOT_EMPTY(c)                                                \
    CFUT_ASSERT((c) != NULL, "a call on an empty handle")

/* Debug builds: aborts when the state 'c' of the local kind ('m' NULL)
 * is used on a thread other than the one that made it (cfut_owner_int.h).
 * The local kind's copy of a call is compiled for a constant NULL. */
#define CFUT__KIND_OWNED(m, c) ((m) == NULL ? CFUT__OWNER_CHECK(c) : (void)0)

/* Counts one more handle in the count 'field' of the state 'c' (guarded by
 * 'm') with 'count_up' (cfut_count_int.h); aborts with 'msg' when the
 * count is full. */
#define CFUT__KIND_COUNT_UP(m, c, count_up, field, msg)                        \
    do {                                                                       \
        bool is_counted_;                                                      \
        CFUT__KIND_LOCKED(m, c, is_counted_ = count_up(&(c)->field));          \
        CFUT_ASSERT(is_counted_, msg);                                         \
    } while (0)

/* A waiting future goes, of the kind of 'm': it leaves its wait list (or
 * batch), and its waker is released (after unlocking, in the thread-safe
 * kind). */
CFUT__KIND_INLINE void
cfut__call_waiter_gone_in(struct cfut__lock *m, struct cfut__waiter *w)
{
    struct cfut__call k; /* (a waiter, not a state: no owner to check) */
    CFUT__KIND_NOT_EMPTY(w);
    cfut__call_begin(&k, m);
    cfut__waiter_gone(w, k.wl);
    cfut__call_end(&k);
}

/* A waiting future whose kind's lock is 'lock' (NULL: the local kind)
 * goes (see cfut__call_waiter_gone_in()). */
static inline void
cfut__call_waiter_gone(void *lock, struct cfut__waiter *w)
{
    CFUT__KIND_DISPATCH(cfut__call_waiter_gone_in, lock, w);
}

/*
 * The waiting futures (broadcast's recv, watch's changed, token's
 * cancelled, semaphore's acquire) are one type for both kinds, with the
 * fields 'base', 'shared' (the state), 'lock' (the kind's lock, NULL in the
 * local kind) and a struct cfut__waiter. CFUT__KIND_FUTURE defines their
 * slots once, for the future type 'T' on the state type 'S', whose waiter
 * 'W'(f) initialises (cfut__kind_waiter_init: the struct cfut__waiter
 * 'waiter'):
 *   - 'name'_poll: runs 'core'(f, cx, out) with the kind's lock held;
 *   - 'name'_drop: runs 'gone'(m, f) (cfut__kind_waiter_gone: the future
 *     leaves its wait list, nothing more), which takes the lock 'm' itself;
 *   - 'name'_vtable: with the output 'size', the 'label' and 'size_fn';
 *   - 'name'_start(f, m, c): initialises 'f' on the state 'c' (not NULL)
 *     of the kind of 'm', holding no waker and on no list.
 * Each picks the local kind's copy for a NULL lock (CFUT__KIND_DISPATCH).
 */
#define CFUT__KIND_FUTURE(name, T, S, W, core, gone, size, label, size_fn)     \
    CFUT__KIND_INLINE enum cfut_poll name##_poll_in(                           \
        struct cfut__lock *m, T *f, struct cfut_context *cx, void *out)        \
    {                                                                          \
        CFUT__KIND_OWNED(m, f->shared);                                        \
        cfut__kind_lock(m); /* (the state: never NULL, see _start) */          \
        enum cfut_poll r = core(f, cx, out);                                   \
        cfut__kind_unlock(m);                                                  \
        return r;                                                              \
    }                                                                          \
    static enum cfut_poll name##_poll(struct cfut_future *fut,                 \
                                      struct cfut_context *cx, void *out)      \
    {                                                                          \
        T *f = cfut_container_of(fut, T, base);                                \
        return CFUT__KIND_DISPATCH(name##_poll_in, f->lock, f, cx, out);       \
    }                                                                          \
    static void name##_drop(struct cfut_future *fut)                           \
    {                                                                          \
        T *f = cfut_container_of(fut, T, base);                                \
        CFUT__KIND_DISPATCH(gone, f->lock, f);                                 \
    }                                                                          \
    static const struct cfut_future_vtable name##_vtable = {                   \
        name##_poll, name##_drop, size, label, size_fn};                       \
    static void name##_start(T *f, struct cfut__lock *m, S *c)                 \
    {                                                                          \
        CFUT_ASSERT(c != NULL, label ": on an empty handle");                  \
        cfut_future_init(&f->base, &name##_vtable);                            \
        f->shared = c;                                                         \
        f->lock = m;                                                           \
        W(f);                                                                  \
    }

/* The 'W' of a waiting future whose waiter is the struct cfut__waiter
 * 'waiter' (see CFUT__KIND_FUTURE). */
#define cfut__kind_waiter_init(f) cfut__waiter_init(&(f)->waiter)

/* The 'W' of a waiting future whose own init sets its waiter up after
 * 'name'_start (see CFUT__KIND_FUTURE). */
#define CFUT__KIND_WAITER_LATER(f) ((void)(f))

/* The 'gone' of a waiting future that holds nothing but its place on the
 * wait list (see CFUT__KIND_FUTURE). */
#define cfut__kind_waiter_gone(m, f)                                           \
    cfut__call_waiter_gone_in((m), &(f)->waiter)

/*
 * Defines the public H_clone() and H_drop() of the handle type 'struct H'
 * (one field, 'shared'), as cfut_channel.h documents them: the clone counts
 * one more handle in the state's count 'field' with 'count_up' (aborting
 * with 'msg' when it is full; see CFUT__KIND_COUNT_UP), the drop lets one
 * go with 'release'(m, c), where 'm' is
 * 'lock_of'(c): the state's lock, or CFUT__KIND_NO_LOCK in the local kind.
 */
#define CFUT__KIND_HANDLE(H, count_up, field, msg, release, lock_of)           \
    CFUT__KIND_CLONE(H, count_up, field, msg, lock_of)                         \
    CFUT__KIND_DROP(H, release, lock_of)

/* Defines the public H_clone() alone (see CFUT__KIND_HANDLE). */
#define CFUT__KIND_CLONE(H, count_up, field, msg, lock_of)                     \
    struct H H##_clone(const struct H *h)                                      \
    {                                                                          \
        CFUT__KIND_COUNT_UP(lock_of(h->shared), h->shared, count_up, field,    \
                            msg);                                              \
        return *h;                                                             \
    }

/* Defines the public H_drop() alone (see CFUT__KIND_HANDLE). */
#define CFUT__KIND_DROP(H, release, lock_of)                                   \
    void H##_drop(struct H *h)                                                 \
    {                                                                          \
        if (h->shared != NULL)                                                 \
            release(lock_of(h->shared), h->shared);                            \
        h->shared = NULL;                                                      \
    }

/*
 * Defines the public H_drop() of a handle whose going is the core
 * transition 'gone'(c, batch) alone: true when it left the state 'c'
 * unreferenced, which 'free_fn'(m, c) then frees (see CFUT__KIND_RELEASE).
 */
#define CFUT__KIND_DROP_VIA(H, gone, free_fn, lock_of)                         \
    void H##_drop(struct H *h)                                                 \
    {                                                                          \
        if (h->shared != NULL)                                                 \
            CFUT__KIND_RELEASE(lock_of(h->shared), k, h->shared,               \
                               gone(h->shared, &k.batch), free_fn);            \
        h->shared = NULL;                                                      \
    }

/*
 * Defines the public K_new() of a channel with one sender and receivers
 * that each keep a position (watch, broadcast): its parameters are 'P1',
 * 'P2' (with the names 'a1', 'a2'), the value hooks, then the sender and
 * the receiver to fill; it calls the file's create(IS_SYNC, a1, a2, ops,
 * &tx->shared, &rx->shared, &rx->pos), and fails with CFUT_EINVAL when a
 * handle pointer is NULL.
 */
#define CFUT__KIND_NEW_PAIR(K, IS_SYNC, P1, a1, P2, a2, pos)                   \
    int K##_new(P1, P2, const struct cfut_channel_value_ops *ops,              \
                struct K##_sender *tx, struct K##_receiver *rx)                \
    {                                                                          \
        return tx == NULL || rx == NULL                                        \
                   ? CFUT_EINVAL                                               \
                   : create(IS_SYNC, a1, a2, ops, &tx->shared, &rx->shared,    \
                            &rx->pos);                                         \
    }

/*
 * Defines the public 'bool fn(const struct H *h)' that reads the state's
 * flag 'field' under its lock 'lock_of'(state) (see CFUT__KIND_HANDLE).
 */
#define CFUT__KIND_FLAG(fn, H, field, lock_of)                                 \
    bool fn(const struct H *h)                                                 \
    {                                                                          \
        bool is_set_;                                                          \
        CFUT__KIND_LOCKED(lock_of(h->shared), h->shared,                       \
                          is_set_ = h->shared->field);                         \
        return is_set_;                                                        \
    }

/* The lock of a local state: none (see CFUT__KIND_HANDLE). */
#define CFUT__KIND_NO_LOCK(c) NULL

/* Initialises the lock 'm' of a new state (NULL: the local kind, none). */
static inline void
cfut__kind_lock_init(struct cfut__lock *m)
{
    if (m != NULL)
        cfut__lock_init(m);
}

/* Frees a state's 'block' whose lock is 'm' (NULL: the local kind), once
 * nothing can reach it. */
static inline void
cfut__kind_free(struct cfut__lock *m, void *block)
{
    if (m != NULL)
        cfut__lock_destroy(m);
    cfut_free(block);
}

/*
 * Lets a reference to the state 'c' (lock 'm') go: runs the transition
 * 'gone' (an expression that may use the call 'k'; true when it left 'c'
 * unreferenced) as one call (CFUT__KIND_CALL), then, once the lock is
 * released, frees 'c' with 'free_fn'(m, c) if nothing can reach it.
 */
#define CFUT__KIND_RELEASE(m, k, c, gone, free_fn)                             \
    do {                                                                       \
        struct cfut__call k;                                                   \
        CFUT__KIND_NOT_EMPTY(c);                                               \
        CFUT__KIND_OWNED(m, c);                                                \
        cfut__call_begin(&k, (m));                                             \
        bool is_unreferenced_ = (gone);                                        \
        cfut__call_end(&k);                                                    \
        if (is_unreferenced_)                                                  \
            free_fn(cfut__call_lock(&k), c);                                   \
    } while (0)

#endif /* CFUT_KIND_INT_H */
