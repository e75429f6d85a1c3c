/*
 * thread_timer.h: exercise 06, a timer future completed by another thread.
 * The interface the check calls; do not change it. You write
 * thread_timer.c.
 */
#ifndef THREAD_TIMER_H
#define THREAD_TIMER_H

#include <cfut.h>
#include <pthread.h>
#include <stdbool.h>

/*
 * A future with no output that is READY once 'ms' milliseconds have
 * passed since its first poll. At the first poll it starts a thread that
 * sleeps 'ms', then sets 'done' and wakes the waker the latest poll left.
 * 'lock' guards what the two threads share: 'done' and 'waker'.
 * Pinned: from its first poll (the thread keeps its address) until drop.
 */
struct thread_timer {
    struct cfut_future base;
    unsigned ms;             /* how long the thread sleeps */
    bool started;            /* the thread was started (drop joins it) */
    pthread_t thread;        /* the thread, once started */
    pthread_mutex_t lock;    /* guards 'done' and 'waker' */
    bool done;               /* set by the thread when the time is up */
    struct cfut_waker waker; /* a clone of the latest poll's waker, or empty */
};

/*
 * Initialises 't' as a fresh future (it may still be moved) for 'ms'
 * milliseconds. It starts no thread: the first poll does.
 */
void thread_timer_init(struct thread_timer *t, unsigned ms);

#endif /* THREAD_TIMER_H */
