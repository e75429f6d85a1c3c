/*
 * demo.c: cfut-demo, the executor demo (run it as build/plain/examples/
 * cfut-demo; './run demo' runs the transport demo, cfut-echo demo): an
 * executor running several tasks written as async functions, a
 * timer completed by a helper thread that wakes the executor while it is
 * parked, and a join handle awaited. It narrates what happens, in order.
 */
#define _POSIX_C_SOURCE 200809L
#include <cfut.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <time.h>

static double
now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static double t0;

/* ---- a timer completed by another thread ---- */

/* The state shared by the timer future and its helper thread. */
struct timer_shared {
    pthread_mutex_t lock;
    bool fired;
    struct cfut_waker waker; /* the task to wake, set by the future */
};

struct thread_timer {
    struct cfut_future base;
    struct timer_shared *shared;
    unsigned ms;
    pthread_t thread;
    bool started;
};

static void *
timer_thread(void *arg)
{
    struct thread_timer *t = arg;
    struct timespec d = {0, (long)t->ms * 1000000L};
    nanosleep(&d, NULL);
    pthread_mutex_lock(&t->shared->lock);
    t->shared->fired = true;
    struct cfut_waker w = t->shared->waker;
    t->shared->waker = CFUT_WAKER_EMPTY;
    pthread_mutex_unlock(&t->shared->lock);
    printf("[%6.1f ms] helper thread: %u ms passed, waking the task\n",
           now_ms() - t0, t->ms);
    cfut_waker_wake(&w); /* a cross-thread wake: the executor is parked */
    return NULL;
}

static enum cfut_poll
timer_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct thread_timer *t = cfut_container_of(f, struct thread_timer, base);
    (void)out;
    pthread_mutex_lock(&t->shared->lock);
    bool fired = t->shared->fired;
    if (!fired)
        cfut_waker_register(&t->shared->waker, cx->waker);
    pthread_mutex_unlock(&t->shared->lock);
    if (!t->started) {
        /* The future is pinned now: the thread may keep its address. */
        t->started = true;
        pthread_create(&t->thread, NULL, timer_thread, t);
    }
    return fired ? CFUT_READY : CFUT_PENDING;
}

static void
timer_drop(struct cfut_future *f)
{
    struct thread_timer *t = cfut_container_of(f, struct thread_timer, base);
    if (t->started)
        pthread_join(t->thread, NULL);
    cfut_waker_drop(&t->shared->waker);
}

static const struct cfut_future_vtable timer_vtable = {timer_poll, timer_drop,
                                                       0, "thread_timer", NULL};

static void
timer_init(struct thread_timer *t, struct timer_shared *s, unsigned ms)
{
    cfut_future_init(&t->base, &timer_vtable);
    t->shared = s;
    t->ms = ms;
    t->started = false;
}

/* ---- tasks written as async functions (docs/async.md) ---- */

/* A task that does a little work, yielding between steps. */
CFUT_ASYNC_FN(worker, uint64_t, ((const char *, name), (int, steps)), int i;)
{
    CFUT_BEGIN();
    for (self->i = 1; self->i <= self->steps; self->i++) {
        printf("[%6.1f ms] %s: step %d of %d, then yield\n", now_ms() - t0,
               self->name, self->i, self->steps);
        CFUT_YIELD();
    }
    CFUT_RETURN((uint64_t)self->steps);
    CFUT_END();
}

/* The main task: a timer on a helper thread, kept in its state (dropping
 * the task drops the timer it is suspended on). */
CFUT_ASYNC_FN(sleeper, uint64_t, ((struct timer_shared *, shared)),
              struct thread_timer timer;)
{
    CFUT_BEGIN();
    printf("[%6.1f ms] sleeper: starting a 100 ms timer on a helper thread\n",
           now_ms() - t0);
    timer_init(&self->timer, self->shared, 100);
    CFUT_AWAIT(&self->timer); /* no output */
    printf("[%6.1f ms] sleeper: timer fired, done\n", now_ms() - t0);
    CFUT_RETURN(100);
    CFUT_END();
}

int
main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    t0 = now_ms();
    struct cfut_executor *ex;
    int rc = cfut_executor_new(&ex);
    if (rc != CFUT_OK) {
        fprintf(stderr, "cfut_executor_new: %s\n", cfut_strerror(rc));
        return 1;
    }
    printf("cfut demo: one executor, three tasks, one helper thread\n");

    struct timer_shared shared = {PTHREAD_MUTEX_INITIALIZER, false,
                                  CFUT_WAKER_EMPTY};
    struct cfut_join_handle h_sleeper;
    if (sleeper_spawn(ex, &h_sleeper, &shared) != CFUT_OK ||
        worker_spawn(ex, NULL, "worker-a", 3) != CFUT_OK ||
        worker_spawn(ex, NULL, "worker-b", 2) != CFUT_OK) {
        fprintf(stderr, "spawn failed\n");
        return 1;
    }
    printf("[%6.1f ms] spawned %zu tasks; blocking on the sleeper's handle\n",
           now_ms() - t0, cfut_executor_n_tasks(ex));

    CFUT_JOIN_OUTPUT(uint64_t) r;
    rc = cfut_block_on(ex, &h_sleeper.base, &r);
    printf("[%6.1f ms] main: join handle gave status %s, value %" PRIu64 "\n",
           now_ms() - t0, cfut_status_name(r.status), r.value);
    printf("tasks left: %zu, polls: %" PRIu64 ", wakers alive: %zu\n",
           cfut_executor_n_tasks(ex), cfut_executor_n_polls(ex),
           cfut_executor_n_wakers(ex));
    cfut_executor_free(ex);
    return rc == CFUT_OK && r.status == CFUT_OK && r.value == 100 ? 0 : 1;
}
