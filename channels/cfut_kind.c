/*
 * cfut_kind.c: the thread-safe kind's end of a call, for the one-to-many
 * primitives (cfut_kind_int.h): unlock, then wake, a round at a time. Out
 * of line, so the local kind's inlined calls stay small.
 */
#include "cfut_kind_int.h"

#include <stdio.h>
#include <stdlib.h>

#if CFUT_DEBUG_CHECKS
_Thread_local char cfut__owner_token;

void
cfut__owner_fail(const struct cfut__owner *o)
{
    fprintf(stderr,
            "cfut: a local %s was used from a second thread (the local "
            "kind belongs to the thread that made it; use the thread-safe "
            "kind, CFUT_CHANNEL_SYNC, across threads and on a pool)\n",
            o->what);
    fflush(stderr);
    abort();
}
#endif

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
