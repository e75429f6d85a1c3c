/*
 * cfut_kind.c: the thread-safe kind's end of a call, for the one-to-many
 * primitives (cfut_kind_int.h): unlock, then wake, a round at a time. Out
 * of line, so the local kind's inlined calls stay small.
 */
#define _GNU_SOURCE
#include "cfut_kind_int.h"

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#ifdef __linux__
#include <linux/futex.h>
#include <sys/syscall.h>
#endif

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
cfut__kind_finish_sync(struct cfut__lock *m, struct cfut__wake_list *wl,
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
        cfut__unlock(m);
        cfut__wake_list_run(wl);
        for (size_t i = 0; i < n; i++)
            cfut_waker_wake(&w[i]);
        if (!more)
            return;
        cfut__lock(m);
    }
}

/* ---- the lock's contended paths (cfut_lock_int.h) ---- */

/* Spins this many times on a held lock before it sleeps on the futex. */
#define SPINS 64

void
cfut__lock_slow(struct cfut__lock *l)
{
    for (int i = 0; i < SPINS; i++) {
        uint32_t free = 0;
        if (atomic_load_explicit(&l->word, memory_order_relaxed) == 0 &&
            atomic_compare_exchange_weak_explicit(
                &l->word, &free, 1, memory_order_acquire, memory_order_relaxed))
            return;
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
    }
    /* Held: mark it slept on (2) and sleep until an unlock wakes us; the
     * lock taken this way stays marked, so its unlock wakes the next. */
    while (atomic_exchange_explicit(&l->word, 2, memory_order_acquire) != 0)
#ifdef __linux__
        (void)syscall(SYS_futex, (void *)&l->word, FUTEX_WAIT_PRIVATE, 2, NULL,
                      NULL, 0);
#else
        sched_yield(); /* no futex (the WebAssembly build): yield and retry */
#endif
}

void
cfut__unlock_wake(struct cfut__lock *l)
{
#ifdef __linux__
    (void)syscall(SYS_futex, (void *)&l->word, FUTEX_WAKE_PRIVATE, 1, NULL,
                  NULL, 0);
#else
    (void)l;           /* the waiters yield and retry */
#endif
}
