/*
 * Lesson 07: a timer completed by another thread.
 *
 * What you will learn:
 *   - the classic timer future: shared state {done, waker} behind a mutex;
 *     poll checks 'done' and otherwise stores the waker; a helper thread
 *     sleeps, sets 'done' and wakes the stored waker;
 *   - a waker may be woken from any thread: the thread that drives the
 *     future parks on a condition variable, and the wake signals it;
 *   - drop must not leave the thread touching freed memory: it joins it.
 * Builds on: lesson 05 (the contract) and lesson 06 (a waker vtable, a
 *   mini block_on).
 * API introduced: none new; pthreads do the waiting.
 * Run it: build/examples/07_thread_timer
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
    /* Step: wake outside the lock: the waker may do anything. */
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

/*
 * The driver's side: a parker. Its waker may be woken from any thread, so
 * the flag sits behind a mutex, and a condition variable lets the driving
 * thread sleep until the flag is set. (Lesson 06 counted references; here
 * the parker outlives every clone: block_on drops the future, which joins
 * the thread, before it returns.)
 */
struct parker {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool woken;
};

static const struct cfut_waker_vtable parker_vtable;
static struct cfut_waker
parker_clone(void *data)
{
    return (struct cfut_waker){&parker_vtable, data};
}
static void
parker_wake(void *data) /* wake and wake_by_ref: nothing to release */
{
    struct parker *p = data;
    pthread_mutex_lock(&p->lock);
    p->woken = true;
    pthread_cond_signal(&p->cond); /* unparks the driving thread */
    pthread_mutex_unlock(&p->lock);
}
static void
parker_drop(void *data)
{
    (void)data;
}
static const struct cfut_waker_vtable parker_vtable = {
    parker_clone, parker_wake, parker_wake, parker_drop};

/* block_on: poll; when PENDING, park until the waker was woken. */
static void
block_on(struct cfut_future *f, void *out)
{
    struct parker p = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER,
                       false};
    struct cfut_waker w = {&parker_vtable, &p};
    struct cfut_context cx;
    cfut_context_init(&cx, &w);
    /* Step: the flag is cleared only after a wait, so that a wake which
     * arrives during the poll itself is not lost. */
    while (cfut_future_poll(f, &cx, out) == CFUT_PENDING) {
        pthread_mutex_lock(&p.lock);
        if (!p.woken) {
            printf("  block_on: nothing to do: parked\n");
            while (!p.woken) /* a loop: a condition may wake spuriously */
                pthread_cond_wait(&p.cond, &p.lock);
            printf("  block_on: woken: unparked\n");
        }
        p.woken = false;
        pthread_mutex_unlock(&p.lock);
    }
    cfut_future_drop(f);
    pthread_cond_destroy(&p.cond);
}

int
main(void)
{
    /* Step 1: a 50 ms timer, polled by our block_on. */
    struct thread_timer t = {.ms = 50, .waker = CFUT_WAKER_EMPTY};
    cfut_future_init(&t.base, &thread_timer_vtable);
    pthread_mutex_init(&t.lock, NULL);
    printf("main: block_on(thread_timer)\n");
    int n_polls = 0;
    block_on(&t.base, &n_polls);

    /* Step 2: two polls, however long the wait: no busy polling. */
    printf("main: READY after %d polls\n", n_polls);
    return 0;
}
