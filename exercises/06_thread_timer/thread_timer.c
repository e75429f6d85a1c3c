/*
 * thread_timer.c: exercise 06, a timer future completed by another thread.
 * This is your file: fill in the functions below, then run
 *     ./run exercise 6
 * The README beside this file says what to build and gives hints.
 */
#include "thread_timer.h"

#include <time.h>

/* The timer's thread: 'arg' is the struct thread_timer. */
static void *
timer_thread(void *arg)
{
    /* Exercise: sleep t->ms milliseconds (nanosleep()); then, under the
     * lock, set 'done' and take the waker out of the struct; then, outside
     * the lock, wake it (cfut_waker_wake() consumes the clone). */
    (void)arg;
    return NULL;
}

static enum cfut_poll
thread_timer_poll(struct cfut_future *self, struct cfut_context *cx, void *out)
{
    /* Exercise: under the lock, look at 'done' and, if it is not set,
     * keep the newest waker (cfut_waker_register()). READY when done.
     * Otherwise, at the first poll, start the thread; then PENDING. */
    (void)self;
    (void)cx;
    (void)out;
    (void)timer_thread;
    return CFUT_PENDING;
}

static void
thread_timer_drop(struct cfut_future *self)
{
    /* Exercise: join the thread if it was started (so it never touches
     * freed memory), release the waker, destroy the lock. */
    (void)self;
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
