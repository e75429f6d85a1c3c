/*
 * cfut_executor.c: the single-threaded executor: task wakers (a lock-free
 * owner-thread path, the inbox for other threads), polling a task and
 * finishing it, passes over the intrusive FIFO run queue, parking in the
 * driver, and the public calls (new, free, spawn, block_on, run,
 * run_ready, introspection, the task dump). Task memory and references are
 * cfut_task.c's, join handles cfut_join_handle.c's; it knows the driver
 * only through its interface (cfut_driver_int.h) and turns it through the
 * timers (cfut_timers_int.h).
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime(), in every libc */
#include "cfut_executor_int.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cfut_alloc_int.h"
#include "cfut_coro_int.h"
#include "cfut_trace_int.h"

/* How many polls between two looks at the inbox (and the clock). */
#define EVENT_INTERVAL 61u

/*
 * The least time between two zero-timeout driver turns of the tick: a busy
 * executor sees I/O and timers at most this late (plus the poll running),
 * and pays at most one epoll_wait per interval for it, instead of one per
 * 61 polls (a third system call per 64 requests on the transport).
 */
#define TURN_INTERVAL_NS 1000000u

/* 'last_turn' after a park: the driver turned; the next tick dates it. */
#define PARKED_TURN UINT64_MAX

/* Where the future and the output of a task start in its block. */
#define TASK_FUT_OFF CFUT__ALIGN_UP(sizeof(struct cfut__task), CFUT__MAX_ALIGN)

#if defined(__GNUC__)
static _Thread_local struct cfut_executor *tls_current
    __attribute__((tls_model("initial-exec")));
#else
static _Thread_local struct cfut_executor *tls_current;
#endif
/* Executors this thread owns: freeing the last flushes its block cache. */
static _Thread_local unsigned tls_n_executors;

struct cfut_executor *
cfut_executor_current(void)
{
    return tls_current;
}

/* The name of the future of 't', for the trace and the dump. */
static const char *
task_name(const struct cfut__task *t)
{
    return t->fut != NULL ? cfut_future_name(t->fut) : "?";
}

/* ---------------------------------------------------------------------- */
/* Task wakers                                                             */
/* ---------------------------------------------------------------------- */

static const struct cfut_waker_vtable task_waker_vtable;

static struct cfut_waker
task_waker_clone(void *data)
{
    struct cfut__task *t = data;
    if (cfut__task_is_local(t)) {
        t->refs++;
        t->ex->n_wakers++;
    } else {
        cfut__task_remote_op(t, 1, false);
    }
    return (struct cfut_waker){&task_waker_vtable, t};
}

static void
task_waker_wake_by_ref(void *data)
{
    struct cfut__task *t = data;
    if (cfut__task_is_local(t)) {
        CFUT__TRACE(wake(t->ex, t->id, task_name(t)));
        cfut__task_schedule(t->ex, t);
    } else {
        cfut__task_remote_op(t, 0, true);
    }
}

static void
task_waker_drop(void *data)
{
    struct cfut__task *t = data;
    if (cfut__task_is_local(t)) {
        t->ex->n_wakers--;
        cfut__task_release(t->ex, t);
    } else {
        cfut__task_remote_op(t, -1, false);
    }
}

static void
task_waker_wake(void *data)
{
    struct cfut__task *t = data;
    if (cfut__task_is_local(t)) {
        struct cfut_executor *ex = t->ex;
        CFUT__TRACE(wake(ex, t->id, task_name(t)));
        cfut__task_schedule(ex, t);
        ex->n_wakers--;
        cfut__task_release(ex, t);
    } else {
        cfut__task_remote_op(t, -1, true);
    }
}

static const struct cfut_waker_vtable task_waker_vtable = {
    task_waker_clone, task_waker_wake, task_waker_wake_by_ref, task_waker_drop};

/* ---------------------------------------------------------------------- */
/* Polling                                                                 */
/* ---------------------------------------------------------------------- */

/* Drops the task's future and makes 'status' final; wakes the handle. */
static void
finish(struct cfut_executor *ex, struct cfut__task *t, int status)
{
    t->state = CFUT__TASK_DONE;
    t->status = status;
    if (!(t->flags & CFUT__TASK_MAIN))
        ex->n_tasks--;
    CFUT__TRACE(finish(ex, t->id, task_name(t), status));
    cfut_future_drop(t->fut);
    t->fut = NULL;
    cfut_waker_wake(&t->join_waker);
    cfut__task_release(ex, t); /* the executor's reference */
}

/*
 * Whether polls are watched: the coroutine hook notes where a task
 * suspends, for the dump (debug builds) and the trace (while it runs).
 */
#if CFUT_DEBUG_CHECKS
#define WATCH_POLLS 1
#else
#define WATCH_POLLS cfut__trace_on
#endif

/* Before a watched poll: forgets notes left by futures polled by hand. */
static void
watch_begin(struct cfut_executor *ex, struct cfut__task *t)
{
    int line;
    (void)cfut__coro_take_note(&line);
    CFUT__TRACE(poll_begin(ex, t->id, task_name(t)));
}

/* After a watched poll: takes where the task suspended, if it did. */
static void
watch_end(struct cfut_executor *ex, struct cfut__task *t, enum cfut_poll r)
{
    int line = 0;
    const char *file = cfut__coro_take_note(&line);
    if (r == CFUT_READY)
        file = NULL;
#if CFUT_DEBUG_CHECKS
    t->dbg_await_file = file;
    t->dbg_await_line = line;
#endif
    CFUT__TRACE(poll_end(ex, t->id, task_name(t), r, file, line));
}

/*
 * Polls a task the queue handed over (SCHEDULED), or finishes it when it
 * was cancelled; see the task states in cfut_executor_int.h.
 */
static void
poll_task(struct cfut_executor *ex, struct cfut__task *t)
{
    if (t->flags & CFUT__TASK_CANCEL) {
        finish(ex, t, CFUT_ECANCELED);
        return;
    }
    t->state = CFUT__TASK_RUNNING;
    ex->budget = CFUT_BUDGET;
    ex->n_polls++;
    struct cfut_waker w = {&task_waker_vtable, t};
    struct cfut_context cx;
    cx.waker = &w;
    cx.budget = &ex->budget;
    /* Read once: tracing switches on and off between polls only. */
    bool watch = WATCH_POLLS;
    if (CFUT__UNLIKELY(watch))
        watch_begin(ex, t);
    enum cfut_poll r = cfut_future_poll(t->fut, &cx, t->out);
    if (CFUT__UNLIKELY(watch))
        watch_end(ex, t, r);
    if (r == CFUT_READY) {
        finish(ex, t, CFUT_OK);
    } else if (t->flags & CFUT__TASK_CANCEL) {
        finish(ex, t, CFUT_ECANCELED);
    } else if (t->state == CFUT__TASK_RUNNING_WOKEN) {
        t->state = CFUT__TASK_SCHEDULED;
        cfut__run_push(ex, t);
    } else {
        t->state = CFUT__TASK_IDLE;
    }
}

/* ---------------------------------------------------------------------- */
/* Running                                                                 */
/* ---------------------------------------------------------------------- */

/* Looks at the inbox and the driver (and the timers) without blocking. */
static void
maintenance(struct cfut_executor *ex)
{
    ex->tick = 0;
    cfut__inbox_drain(ex);
    (void)cfut__timers_turn(&ex->timers, 0);
    cfut__inbox_drain(ex);
}

static uint64_t
monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * The fairness tick, every EVENT_INTERVAL polls of a pass: takes in the
 * inbox, and turns the driver with a zero timeout only when the last such
 * turn is TURN_INTERVAL_NS old (the first tick of an executor always
 * turns; with a paused clock, every tick turns: no real time in it). A run
 * queue that empties parks in the driver anyway.
 */
static void
tick(struct cfut_executor *ex)
{
    ex->tick = 0;
    if (ex->timers.paused) {
        /* A paused clock makes runs replayable (the transport's seeded
         * simulation): the tick then counts polls only, with no real time
         * in the decision. */
        maintenance(ex);
        return;
    }
    uint64_t now = monotonic_ns();
    if (ex->last_turn == PARKED_TURN)
        ex->last_turn = now; /* a park turned the driver since the last tick */
    if (now - ex->last_turn < TURN_INTERVAL_NS) {
        cfut__inbox_drain(ex);
        return;
    }
    ex->last_turn = now;
    maintenance(ex);
}

/*
 * Runs one pass: every task queued when the pass starts, once. Tasks woken
 * during the pass wait for the next one, so a task that wakes itself cannot
 * starve the others.
 */
static void
run_pass(struct cfut_executor *ex)
{
#if CFUT_HARD_TESTS
    /* Spurious polls: every live idle task is polled every pass. */
    cfut_list_for_each(it, &ex->blocks)
    {
        struct cfut__task *t =
            cfut_container_of(it, struct cfut__task, all_link);
        if (t->state == CFUT__TASK_IDLE)
            cfut__task_schedule(ex, t);
    }
#endif
    struct cfut__task *t = ex->run_head;
    ex->run_head = ex->run_tail = NULL;
    while (t != NULL) {
        struct cfut__task *next = t->run_next;
        poll_task(ex, t);
        if (++ex->tick >= EVENT_INTERVAL)
            tick(ex);
        t = next;
    }
}

/*
 * Waits for something to run: blocks in the driver (through the timers,
 * so no longer than the next deadline) until a wake, an event or a
 * timer. A hosted driver does not block: the turn tells it when the next
 * timer is due, and the run ends unless that made tasks runnable (a paused
 * clock's auto-advance). Returns whether the run goes on.
 */
static bool
park(struct cfut_executor *ex)
{
    struct cfut__remote *r = ex->remote;
    if (ex->drv->vt->hosted) {
        (void)cfut__timers_turn(&ex->timers, CFUT__DRIVER_FOREVER);
        cfut__inbox_drain(ex);
        return ex->run_head != NULL;
    }
    /* No lock (see 'parked'): store, then load; a foreign op stores
     * 'has_items', then loads 'parked'. A wake that arrives between the
     * two sees 'parked' and unparks the driver, whose turn then returns at
     * once. */
    atomic_store_explicit(&r->parked, true, memory_order_seq_cst);
    if (atomic_load_explicit(&r->has_items, memory_order_seq_cst)) {
        atomic_store_explicit(&r->parked, false, memory_order_relaxed);
        return true;
    }
    CFUT__TRACE(park(ex, true));
    (void)cfut__timers_turn(&ex->timers, CFUT__DRIVER_FOREVER);
    CFUT__TRACE(park(ex, false));
    /* The driver just turned: the fairness tick counts from here, so a
     * run that parks often (one request in flight, or a batch of 64) makes
     * no zero-timeout turn of its own. No clock is read here: the next
     * tick takes its own reading as the time of this turn. */
    ex->tick = 0;
    ex->last_turn = PARKED_TURN;
    atomic_store_explicit(&r->parked, false, memory_order_relaxed);
    return true;
}

/* Whether the run is over: 'main' done, or (without it) no task alive. */
static bool
run_is_over(const struct cfut_executor *ex, const struct cfut__task *main)
{
    return main != NULL ? main->state == CFUT__TASK_DONE : ex->n_tasks == 0;
}

/*
 * The loop behind block_on and run: until 'main' is done (or, without
 * 'main', until no task is alive). Returns 0, CFUT_EDEADLK, or (hosted
 * driver) CFUT_EAGAIN when it would have to wait.
 */
static int
run_loop(struct cfut_executor *ex, struct cfut__task *main)
{
    for (;;) {
        if (run_is_over(ex, main))
            return CFUT_OK;
        if (ex->run_head != NULL) {
            run_pass(ex);
            continue;
        }
        /* Nothing to run: a blocking driver parks at once (its turn
         * returns at once when events are ready: no zero-timeout look
         * first); a hosted one looks without blocking, as before. */
        if (ex->drv->vt->hosted)
            maintenance(ex);
        else
            cfut__inbox_drain(ex);
        if (ex->run_head != NULL)
            continue;
        if (run_is_over(ex, main))
            return CFUT_OK;
        if (ex->n_wakers == 0) {
            /* Before calling it a deadlock, one look at the driver. */
            maintenance(ex);
            if (ex->run_head != NULL)
                continue;
            if (run_is_over(ex, main))
                return CFUT_OK;
            if (ex->n_wakers == 0)
                return CFUT_EDEADLK;
        }
        if (!park(ex))
            return CFUT_EAGAIN;
        cfut__inbox_drain(ex);
    }
}

/* Enters a run on this thread; returns CFUT_EBUSY when nested. */
static int
enter(struct cfut_executor *ex)
{
    CFUT_ASSERT(ex->owner == cfut__thread_id(),
                "an executor was run from a thread that does not own it");
    if (tls_current != NULL || ex->running)
        return CFUT_EBUSY;
    ex->running = true;
    tls_current = ex;
    if (ex->drv->vt->hosted) {
        ex->host_idle = false;
        atomic_store_explicit(&ex->remote->parked, false, memory_order_seq_cst);
    }
    return CFUT_OK;
}

/*
 * Leaves a run. On a hosted driver the executor now waits for its host:
 * wakes from this thread and others unpark the driver from now on, and
 * if something is runnable already, it is unparked at once.
 */
static void
leave(struct cfut_executor *ex)
{
    ex->running = false;
    tls_current = NULL;
    CFUT__TRACE(run_end(ex));
    if (ex->drv->vt->hosted) {
        /* Parked first, then a look (see 'parked'): a foreign wake from
         * now on unparks the driver, or this look sees it. */
        struct cfut__remote *r = ex->remote;
        atomic_store_explicit(&r->parked, true, memory_order_seq_cst);
        bool more = ex->run_head != NULL ||
                    atomic_load_explicit(&r->has_items, memory_order_seq_cst);
        ex->host_idle = !more;
        /* Unparked once: by this call, or by a foreign op that won. */
        if (more &&
            atomic_exchange_explicit(&r->parked, false, memory_order_seq_cst))
            ex->drv->vt->unpark(ex->drv);
    }
}

/* ---------------------------------------------------------------------- */
/* Public API                                                              */
/* ---------------------------------------------------------------------- */

int
cfut__executor_new_with_driver(struct cfut__driver *drv,
                               struct cfut_executor **out)
{
    if (drv == NULL || out == NULL)
        return CFUT_EINVAL;
    struct cfut_executor *ex = cfut_alloc(sizeof *ex);
    if (ex == NULL)
        return CFUT_ENOMEM;
    memset(ex, 0, sizeof *ex);
    struct cfut__remote *r = cfut_alloc(sizeof *r);
    if (r == NULL) {
        cfut_free(ex);
        return CFUT_ENOMEM;
    }
    pthread_mutex_init(&r->lock, NULL);
    atomic_init(&r->refs, 1);
    atomic_init(&r->has_items, false);
    atomic_init(&r->used, false);
    cfut_list_init(&r->inbox);
    r->ex = ex;
    /* A hosted driver waits for its host. */
    atomic_init(&r->parked, drv->vt->hosted);
    r->drv = drv;
    ex->remote = r;
    ex->drv = drv;
    ex->host_idle = drv->vt->hosted;
    ex->owner = cfut__thread_id();
    ex->next_id = 1;
    cfut_list_init(&ex->blocks);
    cfut__timers_init(&ex->timers, drv, ex);
    cfut__trace_executor_new(ex); /* reads CFUT_TRACE once */
    tls_n_executors++;
    if (drv->vt->attach != NULL)
        drv->vt->attach(drv, ex);
    *out = ex;
    return CFUT_OK;
}

int
cfut_executor_new(struct cfut_executor **out)
{
    if (out == NULL)
        return CFUT_EINVAL;
    struct cfut__driver *drv;
    int rc = cfut__driver_default_new(&drv);
    if (rc != CFUT_OK)
        return rc;
    rc = cfut__executor_new_with_driver(drv, out);
    if (rc != CFUT_OK)
        drv->vt->free(drv);
    return rc;
}

void
cfut_executor_free(struct cfut_executor *ex)
{
    if (ex == NULL)
        return;
    CFUT_ASSERT(ex->owner == cfut__thread_id(),
                "cfut_executor_free() called from another thread");
    CFUT_ASSERT(!ex->running, "cfut_executor_free() called while running");
    ex->host_idle = false; /* nothing will run again: no unpark */

    /*
     * Cancel every live task, in walks over the blocks: finishing a task
     * may free others (its future held their wakers) or spawn new ones
     * (in a new block, appended at the tail, or in a pooled block passed
     * already: hence another walk while tasks are left), so the next node
     * is read only after the finish, while a reference of our own keeps
     * the current task alive.
     */
    cfut__inbox_drain(ex);
    for (bool again = true; again && ex->n_tasks != 0;) {
        again = false;
        struct cfut_list *it = ex->blocks.next;
        while (it != &ex->blocks) {
            struct cfut__task *t =
                cfut_container_of(it, struct cfut__task, all_link);
            if (t->state == CFUT__TASK_DONE || t->state == CFUT__TASK_FREE ||
                (t->flags & CFUT__TASK_MAIN)) {
                it = it->next;
                continue;
            }
            /* The run queue is abandoned: nothing in it will run again. */
            ex->run_head = ex->run_tail = NULL;
            t->refs++;
            t->state = CFUT__TASK_RUNNING;
            again = true;
            finish(ex, t, CFUT_ECANCELED);
            cfut__inbox_drain(ex);
            it = it->next;
            cfut__task_release(ex, t);
        }
    }
    ex->run_head = ex->run_tail = NULL;
    CFUT_ASSERT(ex->n_tasks == 0, "a task survived cfut_executor_free()");

    /* Tasks still referenced (handles, wakers) become orphans. */
    struct cfut__remote *r = ex->remote;
    cfut__inbox_orphan(ex);
    cfut__task_pool_free(ex);
    cfut__timers_deinit(&ex->timers);
    ex->drv->vt->free(ex->drv);
    cfut__remote_release(r);
    CFUT__TRACE(executor_free(ex));
    cfut_free(ex);
    if (--tls_n_executors == 0)
        cfut_thread_cleanup(); /* nothing left to reuse the blocks soon */
}

int
cfut_spawn(struct cfut_executor *ex, struct cfut_future *fresh, size_t size,
           struct cfut_join_handle *handle)
{
    CFUT_ASSERT(ex != NULL && ex->owner == cfut__thread_id(),
                "cfut_spawn() called from a thread that does not own the "
                "executor");
    if (fresh == NULL || size < sizeof(struct cfut_future))
        return CFUT_EINVAL;
#if CFUT_DEBUG_CHECKS
    if (fresh->dbg_magic != CFUT_MAGIC_LIVE ||
        fresh->dbg_state != CFUT_DBG_FRESH)
        return CFUT_EINVAL;
#endif
    size_t out_size = cfut_future_output_size(fresh);
    size_t out_off = CFUT__ALIGN_UP(TASK_FUT_OFF + size, CFUT__MAX_ALIGN);
    struct cfut__task *t = cfut__task_alloc(ex, out_off + out_size);
    if (t == NULL)
        return CFUT_ENOMEM;
    cfut__task_init(ex, t, handle != NULL ? 2 : 1);
    t->fut = (struct cfut_future *)(void *)((char *)t + TASK_FUT_OFF);
    t->out = (char *)t + out_off;
    t->output_size = out_size;
    cfut__copy(t->fut, fresh, size);
#if CFUT_DEBUG_CHECKS
    fresh->dbg_magic = CFUT_MAGIC_DEAD; /* its bytes moved into the task */
    fresh->dbg_state = CFUT_DBG_DROPPED;
#endif
    ex->n_tasks++;
    cfut__run_push(ex, t);
    if (handle != NULL)
        cfut__join_handle_init(handle, t);
    CFUT__TRACE(spawn(ex, t->id, task_name(t), false));
    return CFUT_OK;
}

int
cfut_block_on(struct cfut_executor *ex, struct cfut_future *f, void *out)
{
    if (f == NULL)
        return CFUT_EINVAL;
    int rc = enter(ex);
    if (rc != CFUT_OK) {
        cfut_future_drop(f);
        return rc;
    }
    /* out = NULL discards the output: it then goes into the task block. */
    size_t out_size = cfut_future_output_size(f);
    bool discard = out == NULL && out_size != 0;
    struct cfut__task *t =
        cfut__task_alloc(ex, discard ? TASK_FUT_OFF + out_size : sizeof *t);
    if (t == NULL) {
        leave(ex);
        cfut_future_drop(f);
        return CFUT_ENOMEM;
    }
    /* References: the executor's (until done) and ours (until return). */
    cfut__task_init(ex, t, 2);
    t->flags = CFUT__TASK_MAIN;
    t->fut = f;
    t->out = discard ? (char *)t + TASK_FUT_OFF : out;
    t->output_size = out_size;
    cfut__run_push(ex, t);
    CFUT__TRACE(spawn(ex, t->id, task_name(t), true));
    rc = run_loop(ex, t);
    if (rc != CFUT_OK && t->state != CFUT__TASK_DONE) {
        /* Nothing can wake it, or the host must: cancel it (block_on took
         * it). run_loop() returns only with an empty queue, so it is IDLE:
         * finish it as a poll would. */
        t->state = CFUT__TASK_RUNNING;
        finish(ex, t, CFUT_ECANCELED);
    }
    leave(ex);
    cfut__task_release(ex, t);
    return rc;
}

int
cfut_executor_run(struct cfut_executor *ex)
{
    int rc = enter(ex);
    if (rc != CFUT_OK)
        return rc;
    rc = run_loop(ex, NULL);
    leave(ex);
    return rc;
}

int
cfut_executor_run_ready(struct cfut_executor *ex)
{
    int rc = enter(ex);
    if (rc != CFUT_OK)
        return rc;
    for (;;) {
        if (ex->run_head != NULL) {
            run_pass(ex);
            continue;
        }
        maintenance(ex);
        if (ex->run_head != NULL)
            continue;
        /* A hosted driver learns when the next timer is due. */
        if (!ex->drv->vt->hosted || !park(ex))
            break;
    }
    leave(ex);
    return CFUT_OK;
}

/* ---------------------------------------------------------------------- */
/* Introspection                                                           */
/* ---------------------------------------------------------------------- */

size_t
cfut_executor_n_tasks(const struct cfut_executor *ex)
{
    return ex->n_tasks;
}

size_t
cfut_executor_n_wakers(const struct cfut_executor *ex)
{
    return ex->n_wakers;
}

size_t
cfut_executor_n_task_blocks(const struct cfut_executor *ex)
{
    /* Counted here, not on every spawn and free: the blocks not pooled. */
    size_t n = 0;
    cfut_list_for_each(it, &ex->blocks)
    {
        const struct cfut__task *t =
            cfut_container_of(it, const struct cfut__task, all_link);
        n += t->state != CFUT__TASK_FREE;
    }
    return n;
}

uint64_t
cfut_executor_n_polls(const struct cfut_executor *ex)
{
    return ex->n_polls;
}

static const char *const state_names[] = {"idle", "scheduled", "running",
                                          "running (woken)", "done"};

void
cfut_executor_dump(const struct cfut_executor *ex, FILE *f)
{
    /* Blocks are reused, so their order is not the tasks': one line per
     * live task in id order (spawn order), found by a walk per line. */
    uint64_t last = 0;
    for (;;) {
        const struct cfut__task *t = NULL;
        cfut_list_for_each(it, &ex->blocks)
        {
            const struct cfut__task *c =
                cfut_container_of(it, const struct cfut__task, all_link);
            if (c->state == CFUT__TASK_DONE || c->state == CFUT__TASK_FREE ||
                c->id <= last)
                continue;
            if (t == NULL || c->id < t->id)
                t = c;
        }
        if (t == NULL)
            return;
        last = t->id;
        fprintf(f, "task %llu '%s' %s%s", (unsigned long long)t->id,
                cfut_future_name(t->fut), state_names[t->state],
                (t->flags & CFUT__TASK_MAIN) ? " (block_on)" : "");
#if CFUT_DEBUG_CHECKS
        if (t->dbg_await_file != NULL) /* noted after its last poll */
            fprintf(f, ", suspended at %s:%d", t->dbg_await_file,
                    t->dbg_await_line);
#endif
        fputc('\n', f);
    }
}
