/*
 * cfut_kind.c: the thread-safe kind's end of a call, for the one-to-many
 * primitives (cfut_kind_int.h): unlock, then wake, a round at a time. Out
 * of line, so the local kind's inlined calls stay small.
 */
#include "cfut_kind_int.h"

void
cfut__kind_finish_sync(pthread_mutex_t *m, struct cfut__wake_list *wl,
                       struct cfut_list *batch)
{
    cfut__wake_list_detach(wl);
    for (;;) {
        struct cfut_waker w[CFUT__KIND_WAKE_ROUND];
        size_t n = 0;
        struct cfut__waiter *x;
        while (batch != NULL && n < CFUT__KIND_WAKE_ROUND &&
               (x = cfut__waitq_first(batch)) != NULL) {
            cfut__waiter_unlink(x);
            w[n++] = cfut_waker_clone(&x->waker);
        }
        bool more = n == CFUT__KIND_WAKE_ROUND && !cfut_list_is_empty(batch);
        pthread_mutex_unlock(m);
        cfut__wake_list_run(wl);
        for (size_t i = 0; i < n; i++)
            cfut_waker_wake(&w[i]);
        if (!more)
            return;
        pthread_mutex_lock(m);
    }
}
