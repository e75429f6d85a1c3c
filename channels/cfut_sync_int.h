/*
 * cfut_sync_int.h: how the thread-safe kinds of the one-to-many primitives
 * end a call: with the lock held, they hand over what the core released (a
 * wake list, and a batch of waiters to wake), unlock, then wake. Internal;
 * never included by a public header. It never allocates: a batch of
 * waiters is woken a few at a time, their wakers cloned under the lock.
 */
#ifndef CFUT_SYNC_INT_H
#define CFUT_SYNC_INT_H

#include <pthread.h>
#include <stddef.h>

#include "cfut_waitq_int.h"

/* Wakers cloned under the lock per round while a batch is woken. */
#define CFUT__SYNC_WAKE_ROUND 16

/*
 * Ends a call: detaches 'wl', unlocks 'm', runs 'wl', and wakes every
 * waiter of 'batch' (may be NULL): up to CFUT__SYNC_WAKE_ROUND of them
 * are taken off the batch and their wakers cloned under the lock, then
 * woken after unlocking, and so on until the batch is empty. A waiter
 * polled or dropped meanwhile has left the batch by itself.
 * Context: with 'm' held; returns with it released.
 */
static inline void
cfut__sync_unlock_run(pthread_mutex_t *m, struct cfut__wake_list *wl,
                      struct cfut_list *batch)
{
    cfut__wake_list_detach(wl);
    for (;;) {
        struct cfut_waker w[CFUT__SYNC_WAKE_ROUND];
        size_t n = 0;
        struct cfut__waiter *x;
        while (batch != NULL && n < CFUT__SYNC_WAKE_ROUND &&
               (x = cfut__waitq_first(batch)) != NULL) {
            cfut__waiter_unlink(x);
            w[n++] = cfut_waker_clone(&x->waker);
        }
        bool more = n == CFUT__SYNC_WAKE_ROUND && !cfut_list_is_empty(batch);
        pthread_mutex_unlock(m);
        cfut__wake_list_run(wl);
        for (size_t i = 0; i < n; i++)
            cfut_waker_wake(&w[i]);
        if (!more)
            return;
        pthread_mutex_lock(m);
    }
}

#endif /* CFUT_SYNC_INT_H */
