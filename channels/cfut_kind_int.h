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

#include <pthread.h>
#include <stddef.h>

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
cfut__kind_lock(pthread_mutex_t *m)
{
    if (m != NULL)
        pthread_mutex_lock(m);
}

/* Releases the lock 'm' (none in the local kind). */
static inline void
cfut__kind_unlock(pthread_mutex_t *m)
{
    if (m != NULL)
        pthread_mutex_unlock(m);
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
void cfut__kind_finish_sync(pthread_mutex_t *m, struct cfut__wake_list *wl,
                            struct cfut_list *batch);

/*
 * Ends a call that took 'm' and ran the core with 'wl' (of the same kind):
 * wakes every waiter of 'batch' (may be NULL). The local kind's 'wl' has
 * woken and dropped its wakers already; the batch is woken at once. The
 * thread-safe kind wakes after unlocking (cfut__kind_finish_sync()).
 * Context: with 'm' held; returns with it released.
 */
static inline void
cfut__kind_finish(pthread_mutex_t *m, struct cfut__wake_list *wl,
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
    pthread_mutex_t *m;
    struct cfut__wake_list *wl;      /* 'deferred', or the immediate list */
    struct cfut__wake_list deferred; /* the thread-safe kind's only */
    struct cfut_list batch;          /* waiters to wake at the end */
};

/* Begins a call on the state whose lock is 'm': takes the lock. */
static inline void
cfut__call_begin(struct cfut__call *k, pthread_mutex_t *m)
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

/* Ends the call 'k': wakes what the core released (cfut__kind_finish()).
 * Context: returns with the lock released. */
static inline void
cfut__call_end(struct cfut__call *k)
{
    cfut__kind_finish(k->m, k->wl, &k->batch);
}

/* A waiting future goes, of the kind of 'm': it leaves its wait list (or
 * batch), and its waker is released (after unlocking, in the thread-safe
 * kind). */
CFUT__KIND_INLINE void
cfut__call_waiter_gone_in(pthread_mutex_t *m, struct cfut__waiter *w)
{
    struct cfut__call k;
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

/* Frees a state's 'block' whose lock is 'm' (NULL: the local kind), once
 * nothing can reach it. */
static inline void
cfut__kind_free(pthread_mutex_t *m, void *block)
{
    if (m != NULL)
        pthread_mutex_destroy(m);
    cfut_free(block);
}

#endif /* CFUT_KIND_INT_H */
