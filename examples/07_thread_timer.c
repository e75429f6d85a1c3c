/*
 * Lesson 07: a timer completed by another thread.
 *
 * What you will learn:
 *   - the classic timer future: shared state {done, waker} behind a mutex;
 *     poll checks 'done' and otherwise stores the waker; a helper thread
 *     sleeps, sets 'done' and wakes the stored waker;
 *   - a waker may be woken from any thread: the executor, parked with
 *     nothing to run, is woken up (through its eventfd) and polls again;
 *   - drop must not leave the thread touching freed memory: it joins it.
 * Builds on: lesson 06 (wakers); lesson 08 looks at the executor itself.
 * API introduced: cfut_executor_new/free, cfut_block_on (see lesson 08).
 * Run it: build/examples/07_thread_timer   (try CFUT_TRACE=- too)
 * Expected output: examples/expected/07_thread_timer.txt
 */
#include <cfut.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <time.h>

/* The timer future. 'lock', 'done' and 'waker' are shared with the thread. */
struct thread_timer {
    struct cfut_future base;
    unsigned ms;  /* how long the thread sleeps */
    bool started; /* the thread exists (join it in drop) */
    int n_polls;
    pthread_t thread;
    pthread_mutex_t lock;    /* guards 'done' and 'waker' */
    bool done;               /* set by the thread when time is up */
    struct cfut_waker waker; /* the latest poll's waker, or empty */
};

/* The helper thread: sleep, then mark the timer done and wake the task. */
static void *
timer_thread(void *arg)
{
    struct thread_timer *t = arg;
    struct timespec ts = {t->ms / 1000, (long)(t->ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
    /* Step: set the shared state and take the waker, under the lock. */
    pthread_mutex_lock(&t->lock);
    t->done = true;
    struct cfut_waker w = t->waker;
    t->waker = CFUT_WAKER_EMPTY;
    pthread_mutex_unlock(&t->lock);
    /* Step: wake outside the lock; the executor is on another thread. */
    printf("  timer thread: %u ms are up, waking the task\n", t->ms);
    cfut_waker_wake(&w); /* consumes the reference the future cloned */
    return NULL;
}

static enum cfut_poll
thread_timer_poll(struct cfut_future *self, struct cfut_context *cx, void *out)
{
    struct thread_timer *t = cfut_container_of(self, struct thread_timer, base);
    t->n_polls++;
    pthread_mutex_lock(&t->lock);
    bool done = t->done;
    if (!done) /* keep the newest waker; the thread will take it */
        cfut_waker_register(&t->waker, cx->waker);
    pthread_mutex_unlock(&t->lock);
    if (done) {
        printf("  poll %d: done -> READY\n", t->n_polls);
        *(int *)out = t->n_polls;
        return CFUT_READY;
    }
    printf("  poll %d: not yet -> PENDING\n", t->n_polls);
    /* Step: start the thread at the first poll, never in init: we are
     * pinned now, so the thread may keep our address. */
    if (!t->started) {
        printf("  poll %d: starting the timer thread\n", t->n_polls);
        t->started = pthread_create(&t->thread, NULL, timer_thread, t) == 0;
        if (!t->started) { /* could not start: finish at once instead */
            t->done = true;
            cfut_waker_wake_by_ref(cx->waker);
        }
    }
    return CFUT_PENDING;
}

/* Drop joins the thread (so it never outlives our memory), frees the rest. */
static void
thread_timer_drop(struct cfut_future *self)
{
    struct thread_timer *t = cfut_container_of(self, struct thread_timer, base);
    if (t->started)
        pthread_join(t->thread, NULL);
    cfut_waker_drop(&t->waker);
    pthread_mutex_destroy(&t->lock);
}

static const struct cfut_future_vtable thread_timer_vtable = {
    thread_timer_poll, thread_timer_drop, sizeof(int), "thread_timer", NULL};

static void
thread_timer_init(struct thread_timer *t, unsigned ms)
{
    cfut_future_init(&t->base, &thread_timer_vtable);
    t->ms = ms;
    t->started = false;
    t->n_polls = 0;
    pthread_mutex_init(&t->lock, NULL);
    t->done = false;
    t->waker = CFUT_WAKER_EMPTY;
}

int
main(void)
{
    struct cfut_executor *ex;
    /* Step 1: an executor on this thread. */
    if (cfut_executor_new(&ex) != CFUT_OK)
        return 1;

    /* Step 2: block on a 50 ms timer. After poll 1 nothing is runnable,
     * so the executor parks this thread until the timer thread's wake. */
    struct thread_timer t;
    thread_timer_init(&t, 50);
    printf("main: block_on(thread_timer)\n");
    int n_polls = 0;
    int rc = cfut_block_on(ex, &t.base, &n_polls);

    /* Step 3: two polls, however long the wait: no busy polling. */
    printf("main: block_on -> %s after %d polls\n", cfut_status_name(rc),
           n_polls);
    cfut_executor_free(ex);
    return 0;
}
