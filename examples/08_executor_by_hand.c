/*
 * Lesson 08: an executor built by hand.
 *
 * What you will learn:
 *   - an executor is a FIFO queue of tasks and a loop: take the first task,
 *     poll its future under a waker that points at the task, repeat;
 *   - a task's waker puts its task back in the queue, once: a task woken
 *     twice, or woken during its own poll, is queued one time;
 *   - when the queue is empty the executor parks on a condition variable;
 *     a wake from another thread queues the task and signals it.
 * Builds on: lesson 06 (waker vtables) and lesson 07 (the thread timer,
 *   repeated here: lessons share no code, and a parked block_on).
 * API introduced: none new; the library's executor comes in lesson 09.
 * Run it: build/examples/08_executor_by_hand
 * Expected output: examples/expected/08_executor_by_hand.txt
 */
#include <cfut.h>
#include <pthread.h>
#include <stdio.h>
#include <time.h>

/* Lesson 07's timer, shorter: a thread sleeps 'ms', then wakes us. */
struct timer {
    struct cfut_future base;
    unsigned ms;
    bool started, done; /* 'done' and 'waker' are shared: under 'lock' */
    pthread_t thread;
    pthread_mutex_t lock;
    struct cfut_waker waker;
};

static void *
timer_thread(void *arg)
{
    struct timer *t = arg;
    nanosleep(&(struct timespec){0, (long)t->ms * 1000000L}, NULL); /* <1 s */
    pthread_mutex_lock(&t->lock);
    t->done = true;
    struct cfut_waker w = t->waker;
    t->waker = CFUT_WAKER_EMPTY;
    pthread_mutex_unlock(&t->lock);
    printf("  timer thread: %u ms are up, waking the task\n", t->ms);
    cfut_waker_wake(&w); /* a wake from another thread */
    return NULL;
}

static enum cfut_poll
timer_poll(struct cfut_future *self, struct cfut_context *cx, void *out)
{
    struct timer *t = cfut_container_of(self, struct timer, base);
    (void)out;
    pthread_mutex_lock(&t->lock);
    bool done = t->done;
    if (!done)
        cfut_waker_register(&t->waker, cx->waker);
    pthread_mutex_unlock(&t->lock);
    if (!done && !t->started) {
        t->started = pthread_create(&t->thread, NULL, timer_thread, t) == 0;
        if (!t->started) /* no thread: finish at once instead */
            done = true;
    }
    printf("  poll timer -> %s\n", done ? "READY" : "PENDING");
    return done ? CFUT_READY : CFUT_PENDING;
}

static void
timer_drop(struct cfut_future *self)
{
    struct timer *t = cfut_container_of(self, struct timer, base);
    if (t->started)
        pthread_join(t->thread, NULL);
    cfut_waker_drop(&t->waker);
    pthread_mutex_destroy(&t->lock);
}

static const struct cfut_future_vtable timer_vtable = {timer_poll, timer_drop,
                                                       0, "timer", NULL};

/* ---- the executor: about 60 lines ---- */
#define MAX_TASKS 8
struct task {
    struct cfut_future *future; /* NULL once finished */
    bool queued;                /* in the queue: a second wake adds nothing */
};

static struct {
    pthread_mutex_t lock;          /* the queue is shared with waking threads */
    pthread_cond_t wakeup;         /* signalled when a task is queued */
    struct task *queue[MAX_TASKS]; /* a ring: each task is in it once */
    unsigned head, tail, n_live, n_polls;
} ex = {.lock = PTHREAD_MUTEX_INITIALIZER, .wakeup = PTHREAD_COND_INITIALIZER};

/* The task waker's wake: puts the task at the back of the queue, unless
 * it is queued already or finished. Any thread may call it. */
static void
schedule(void *data)
{
    struct task *t = data;
    pthread_mutex_lock(&ex.lock);
    if (!t->queued && t->future != NULL) {
        t->queued = true;
        ex.queue[ex.tail++ % MAX_TASKS] = t;
        pthread_cond_signal(&ex.wakeup); /* unpark the executor */
    }
    pthread_mutex_unlock(&ex.lock);
}

/* The task waker: {vtable, the task}; the tasks outlive their wakers, so
 * clone and drop count nothing (the library's count references). */
static const struct cfut_waker_vtable task_waker_vtable;
static struct cfut_waker
task_clone(void *data)
{
    return (struct cfut_waker){&task_waker_vtable, data};
}
static void
task_drop(void *data)
{
    (void)data;
}
static const struct cfut_waker_vtable task_waker_vtable = {task_clone, schedule,
                                                           schedule, task_drop};

static void
spawn(struct task *t, struct cfut_future *f)
{
    *t = (struct task){f, false};
    ex.n_live++;
    schedule(t);
}

/* Runs until every task has finished, parking when the queue is empty. */
static void
run(void)
{
    pthread_mutex_lock(&ex.lock);
    while (ex.n_live > 0) {
        if (ex.head == ex.tail) {
            printf("  executor: queue empty: parked\n");
            while (ex.head == ex.tail)
                pthread_cond_wait(&ex.wakeup, &ex.lock);
        }
        struct task *t = ex.queue[ex.head++ % MAX_TASKS]; /* the first */
        t->queued = false; /* from now on a wake queues it again */
        struct cfut_future *f = t->future;
        if (f == NULL)
            continue; /* it finished after a wake had queued it */
        pthread_mutex_unlock(&ex.lock); /* poll without the lock */
        struct cfut_waker w = {&task_waker_vtable, t};
        struct cfut_context cx;
        cfut_context_init(&cx, &w);
        ex.n_polls++;
        bool ready = cfut_future_poll(f, &cx, NULL) == CFUT_READY;
        pthread_mutex_lock(&ex.lock);
        if (ready) {
            t->future = NULL; /* finished: a later wake queues nothing */
            ex.n_live--;
            pthread_mutex_unlock(&ex.lock);
            cfut_future_drop(f); /* without the lock: a drop may wake */
            pthread_mutex_lock(&ex.lock);
        }
    }
    pthread_mutex_unlock(&ex.lock);
}

/* A task that wakes itself twice per poll (a yield): queued once. */
static enum cfut_poll
yielder_poll(struct cfut_future *self, struct cfut_context *cx, void *out)
{
    static int n_polls;
    (void)self, (void)out;
    printf("  poll yielder (%d)\n", ++n_polls);
    if (n_polls == 3)
        return CFUT_READY;
    cfut_waker_wake_by_ref(cx->waker); /* during the poll: queued after */
    cfut_waker_wake_by_ref(cx->waker); /* again: already queued */
    return CFUT_PENDING;
}

static const struct cfut_future_vtable yielder_vtable = {yielder_poll, NULL, 0,
                                                         "yielder", NULL};

int
main(void)
{
    /* Step 1: two tasks: a 20 ms timer and the yielder. */
    struct timer tm = {.ms = 20, .waker = CFUT_WAKER_EMPTY};
    cfut_future_init(&tm.base, &timer_vtable);
    pthread_mutex_init(&tm.lock, NULL);
    struct cfut_future y;
    cfut_future_init(&y, &yielder_vtable);
    struct task tasks[2];
    spawn(&tasks[0], &tm.base);
    spawn(&tasks[1], &y);

    /* Step 2: run both: FIFO order, parked while the thread sleeps. */
    run();
    printf("done in %u polls; the yielder woke itself 4 times\n", ex.n_polls);
    return 0;
}
