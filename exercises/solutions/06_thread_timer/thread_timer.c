/*
 * thread_timer.c: exercise 06, the reference solution (spoilers: try the
 * exercise first). The classic timer future: shared state behind a mutex,
 * a thread that sets it and wakes the latest waker, a drop that joins.
 */
#include "thread_timer.h"

#include <time.h>

static void *
timer_thread(void *arg)
{
    struct thread_timer *t = arg;
    struct timespec ts = {t->ms / 1000, (long)(t->ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ; /* interrupted: sleep the rest */
    /* Set the state and take the waker under the lock ... */
    pthread_mutex_lock(&t->lock);
    t->done = true;
    struct cfut_waker w = t->waker;
    t->waker = CFUT_WAKER_EMPTY;
    pthread_mutex_unlock(&t->lock);
    /* ... and wake outside it: the wake may run the executor's code. */
    cfut_waker_wake(&w); /* consumes the clone the poll kept */
    return NULL;
}

static enum cfut_poll
thread_timer_poll(struct cfut_future *self, struct cfut_context *cx, void *out)
{
    struct thread_timer *t = cfut_container_of(self, struct thread_timer, base);
    (void)out;
    pthread_mutex_lock(&t->lock);
    bool done = t->done;
    if (!done) /* keep the newest waker: the thread wakes that one */
        cfut_waker_register(&t->waker, cx->waker);
    pthread_mutex_unlock(&t->lock);
    if (done)
        return CFUT_READY;
    /* Start the thread at the first poll, never in init: only now is the
     * future pinned, so the thread may keep its address. */
    if (!t->started) {
        t->started = pthread_create(&t->thread, NULL, timer_thread, t) == 0;
        if (!t->started) { /* no thread: finish at once instead */
            pthread_mutex_lock(&t->lock);
            t->done = true;
            pthread_mutex_unlock(&t->lock);
            cfut_waker_wake_by_ref(cx->waker);
        }
    }
    return CFUT_PENDING;
}

static void
thread_timer_drop(struct cfut_future *self)
{
    struct thread_timer *t = cfut_container_of(self, struct thread_timer, base);
    if (t->started) /* the thread uses our memory: wait until it is gone */
        pthread_join(t->thread, NULL);
    cfut_waker_drop(&t->waker); /* still here if the thread never woke it */
    pthread_mutex_destroy(&t->lock);
}

static const struct cfut_future_vtable thread_timer_vtable = {
    thread_timer_poll, thread_timer_drop, 0, "thread_timer", NULL};

void
thread_timer_init(struct thread_timer *t, unsigned ms)
{
    cfut_future_init(&t->base, &thread_timer_vtable);
    t->ms = ms;
    t->started = false;
    pthread_mutex_init(&t->lock, NULL);
    t->done = false;
    t->waker = CFUT_WAKER_EMPTY;
}
