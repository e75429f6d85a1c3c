/*
 * cfut_executor.c: the single-threaded executor: pooled one-piece tasks, an
 * intrusive FIFO run queue, counted task wakers with a lock-free owner-thread
 * path and a locked inbox for other threads, join handles, block_on and run.
 * It does not know about I/O or timers: it parks in a driver, which is the
 * reactor (cfut_reactor.c: epoll, timers, and the eventfd for unparks).
 */
#define _GNU_SOURCE
#include "cfut_executor_int.h"
#include "cfut_alloc_int.h"
#include "cfut_trace_int.h"
#include "cfut_reactor_int.h"

#include <stdlib.h>
#include <string.h>

/* Pool size classes: 64-byte steps up to CFUT__POOL_MAX; larger: malloc. */
#define CFUT__POOL_STEP 64u
#define CFUT__POOL_CLASSES 32u
#define CFUT__POOL_MAX (CFUT__POOL_STEP * CFUT__POOL_CLASSES)
#define CFUT__BIG 0xFFFFu

/* How many polls between two looks at the inbox and the driver. */
#define CFUT__EVENT_INTERVAL 61u

#define ALIGN_UP(n, a) (((n) + (a)-1) & ~((size_t)(a)-1))
#define MAX_ALIGN ((size_t) _Alignof(max_align_t))

struct free_block {
    struct free_block *next;
};

struct cfut_executor {
    /* run queue: singly linked FIFO of SCHEDULED tasks */
    struct cfut__task *run_head;
    struct cfut__task *run_tail;
    uint32_t budget; /* of the task being polled */
    uint32_t tick;   /* polls since the last maintenance */
    size_t n_tasks;  /* spawned tasks with a live future */
    size_t n_wakers; /* task waker clones alive */
    size_t n_blocks; /* task blocks in use (not pooled) */
    uint64_t n_polls;
    uint64_t next_id;
    const void *owner;          /* owner thread token */
    bool running;               /* inside block_on or run */
    struct cfut_list all_tasks; /* every allocated task */
    struct free_block *pool[CFUT__POOL_CLASSES];
    struct cfut__remote *remote;
    void *drv;
    const struct cfut__driver_vtable *drv_vt;
};

/* ---------------------------------------------------------------------- */
/* Thread identity                                                         */
/* ---------------------------------------------------------------------- */

#if defined(__GNUC__)
#define TLS_FAST __attribute__((tls_model("initial-exec")))
#else
#define TLS_FAST
#endif

static _Thread_local char tls_token TLS_FAST;
static _Thread_local struct cfut_executor *tls_current TLS_FAST;
/* Executors this thread owns: freeing the last flushes its block cache. */
static _Thread_local unsigned tls_n_executors;

/* Returns a value unique to the calling thread while it lives. */
static inline const void *
thread_token(void)
{
    return &tls_token;
}

struct cfut_executor *
cfut_executor_current(void)
{
    return tls_current;
}

void *
cfut__executor_driver(struct cfut_executor *ex)
{
    return ex->drv;
}

void
cfut__executor_set_driver(struct cfut_executor *ex, void *drv,
                          const struct cfut__driver_vtable *vt)
{
    pthread_mutex_lock(&ex->remote->lock);
    void *old = ex->drv;
    const struct cfut__driver_vtable *old_vt = ex->drv_vt;
    ex->drv = drv;
    ex->drv_vt = vt;
    ex->remote->drv = drv;
    ex->remote->drv_vt = vt;
    pthread_mutex_unlock(&ex->remote->lock);
    old_vt->free(old);
}

/* ---------------------------------------------------------------------- */
/* The remote inbox                                                        */
/* ---------------------------------------------------------------------- */

static void
remote_release(struct cfut__remote *r)
{
    if (atomic_fetch_sub_explicit(&r->refs, 1, memory_order_acq_rel) == 1) {
        pthread_mutex_destroy(&r->lock);
        cfut_free(r);
    }
}

static void task_free_memory(struct cfut__task *t);
static void schedule(struct cfut_executor *ex, struct cfut__task *t);

/*
 * Applies a waker operation made on a thread other than the owner's (or on
 * a task whose executor is gone): 'delta' references and a wake.
 */
static void
remote_op(struct cfut__task *t, int32_t delta, bool wake)
{
    struct cfut__remote *r = t->remote;
    pthread_mutex_lock(&r->lock);
    if (r->ex == NULL) {
        /* Orphan: the executor is gone; only the count matters now. */
        t->refs = (uint32_t)((int32_t)t->refs + delta);
        bool last = t->refs == 0;
        pthread_mutex_unlock(&r->lock);
        if (last) {
            task_free_memory(t);
            remote_release(r);
        }
        return;
    }
    atomic_store_explicit(&r->used, true, memory_order_relaxed);
    t->remote_delta += delta;
    t->remote_woken = t->remote_woken || wake;
    if (!cfut_list_is_linked(&t->inbox_link))
        cfut_list_push_back(&r->inbox, &t->inbox_link);
    atomic_store_explicit(&r->has_items, true, memory_order_release);
    if (r->parked && !r->notified) {
        r->notified = true;
        r->drv_vt->unpark(r->drv);
    }
    pthread_mutex_unlock(&r->lock);
}

/*
 * Takes one task's pending remote operations into the owner's view.
 * Pre: 'r->lock' held; 't' on the inbox. Returns whether it was woken.
 */
static bool
absorb(struct cfut_executor *ex, struct cfut__task *t)
{
    cfut_list_remove(&t->inbox_link);
    t->refs = (uint32_t)((int32_t)t->refs + t->remote_delta);
    ex->n_wakers = (size_t)((ptrdiff_t)ex->n_wakers + t->remote_delta);
    t->remote_delta = 0;
    bool woken = t->remote_woken;
    t->remote_woken = false;
    return woken;
}

static void task_free(struct cfut_executor *ex, struct cfut__task *t);

/*
 * Takes in every task on the inbox: applies their reference changes, frees
 * those left with none and schedules the woken ones. schedule() and
 * task_free() call no user code and take no lock, so this all happens under
 * the inbox lock.
 */
static void
drain_inbox(struct cfut_executor *ex)
{
    struct cfut__remote *r = ex->remote;
    if (!atomic_load_explicit(&r->has_items, memory_order_acquire))
        return;
    pthread_mutex_lock(&r->lock);
    atomic_store_explicit(&r->has_items, false, memory_order_relaxed);
    cfut_list_for_each_safe(it, nx, &r->inbox)
    {
        struct cfut__task *t =
            cfut_container_of(it, struct cfut__task, inbox_link);
        bool woken = absorb(ex, t);
        if (t->refs == 0)
            task_free(ex, t);
        else if (woken)
            schedule(ex, t);
    }
    pthread_mutex_unlock(&r->lock);
}

/* ---------------------------------------------------------------------- */
/* Task memory                                                             */
/* ---------------------------------------------------------------------- */

static void
task_free_memory(struct cfut__task *t)
{
#if CFUT_DEBUG_CHECKS
    t->all_link.next = t->all_link.prev = NULL; /* poison */
    t->state = 0xEE;
#endif
    cfut_free(t);
}

/*
 * Sets the header fields that stay the same while a block is reused by the
 * same executor: when a task is freed they are back at these values (its
 * inbox link unlinked, no remote change pending, no join waker).
 */
static void
block_init_once(struct cfut_executor *ex, struct cfut__task *t)
{
    t->ex = ex;
    t->owner = ex->owner;
    t->remote = ex->remote;
    t->join_waker = CFUT_WAKER_EMPTY;
    cfut_list_init(&t->inbox_link);
    t->remote_delta = 0;
    t->remote_woken = false;
}

/* Returns a block of 'size' bytes from the pool, or NULL. */
static struct cfut__task *
task_alloc(struct cfut_executor *ex, size_t size)
{
    if (size > CFUT__POOL_MAX) {
        struct cfut__task *t = cfut_alloc(size);
        if (t != NULL) {
            block_init_once(ex, t);
            t->size_class = CFUT__BIG;
            ex->n_blocks++;
        }
        return t;
    }
    unsigned c = (unsigned)((size - 1) / CFUT__POOL_STEP);
    struct free_block *b = ex->pool[c];
    struct cfut__task *t;
    if (b != NULL) {
        ex->pool[c] = b->next;
        t = (struct cfut__task *)(void *)b;
    } else {
        t = cfut_alloc((size_t)(c + 1) * CFUT__POOL_STEP);
        if (t == NULL)
            return NULL;
        block_init_once(ex, t);
        t->size_class = (uint16_t)c;
    }
    ex->n_blocks++;
    return t;
}

/* Frees a task whose last reference is gone (owner thread, executor alive). */
static void
task_free(struct cfut_executor *ex, struct cfut__task *t)
{
    cfut_list_remove(&t->all_link);
    ex->n_blocks--;
    if (t->size_class == CFUT__BIG) {
        task_free_memory(t);
        return;
    }
    struct free_block *b = (struct free_block *)(void *)t;
    b->next = ex->pool[t->size_class];
    ex->pool[t->size_class] = b;
}

/*
 * The slow half of task_release(): the last owner-thread reference is gone;
 * frees the task unless other threads gave it references not yet taken in.
 */
static void
task_last_ref(struct cfut_executor *ex, struct cfut__task *t)
{
    struct cfut__remote *r = t->remote;
    if (atomic_load_explicit(&r->used, memory_order_relaxed)) {
        bool woken = false;
        pthread_mutex_lock(&r->lock);
        if (cfut_list_is_linked(&t->inbox_link))
            woken = absorb(ex, t);
        pthread_mutex_unlock(&r->lock);
        if (t->refs != 0) {
            if (woken)
                schedule(ex, t);
            return;
        }
    }
    task_free(ex, t);
}

/* Drops one reference on the owner thread (see task_last_ref()). */
static inline void
task_release(struct cfut_executor *ex, struct cfut__task *t)
{
    if (--t->refs == 0)
        task_last_ref(ex, t);
}

/* ---------------------------------------------------------------------- */
/* Scheduling and polling                                                  */
/* ---------------------------------------------------------------------- */

static inline void
push_run(struct cfut_executor *ex, struct cfut__task *t)
{
    t->run_next = NULL;
    if (ex->run_tail != NULL)
        ex->run_tail->run_next = t;
    else
        ex->run_head = t;
    ex->run_tail = t;
}

/* Wakes 't' on the owner thread: it is queued at most once. */
static void
schedule(struct cfut_executor *ex, struct cfut__task *t)
{
    switch (t->state) {
    case CFUT__TASK_IDLE:
        t->state = CFUT__TASK_SCHEDULED;
        push_run(ex, t);
        break;
    case CFUT__TASK_RUNNING:
        t->state = CFUT__TASK_RUNNING_WOKEN;
        break;
    default: /* already queued, already requeueing, or done */
        break;
    }
}

/* ---- task wakers ---- */

static inline bool
is_local(const struct cfut__task *t)
{
    /* Other threads stop at the first test and never read 't->ex'. */
    return t->owner == thread_token() && t->ex != NULL;
}

static const struct cfut_waker_vtable task_waker_vtable;

static struct cfut_waker
task_waker_clone(void *data)
{
    struct cfut__task *t = data;
    if (is_local(t)) {
        t->refs++;
        t->ex->n_wakers++;
    } else {
        remote_op(t, 1, false);
    }
    return (struct cfut_waker){&task_waker_vtable, t};
}

static void
task_waker_wake_by_ref(void *data)
{
    struct cfut__task *t = data;
    CFUT__TRACE(wake(t, is_local(t)));
    if (is_local(t))
        schedule(t->ex, t);
    else
        remote_op(t, 0, true);
}

static void
task_waker_drop(void *data)
{
    struct cfut__task *t = data;
    if (is_local(t)) {
        t->ex->n_wakers--;
        task_release(t->ex, t);
    } else {
        remote_op(t, -1, false);
    }
}

static void
task_waker_wake(void *data)
{
    struct cfut__task *t = data;
    CFUT__TRACE(wake(t, is_local(t)));
    if (is_local(t)) {
        struct cfut_executor *ex = t->ex;
        schedule(ex, t);
        ex->n_wakers--;
        task_release(ex, t);
    } else {
        remote_op(t, -1, true);
    }
}

static const struct cfut_waker_vtable task_waker_vtable = {
    task_waker_clone, task_waker_wake, task_waker_wake_by_ref, task_waker_drop};

/* ---- completion ---- */

/* Drops the task's future and makes 'status' final; wakes the handle. */
static void
finish(struct cfut_executor *ex, struct cfut__task *t, int status)
{
    t->state = CFUT__TASK_DONE;
    t->status = status;
    if (!(t->flags & CFUT__TASK_MAIN))
        ex->n_tasks--;
    CFUT__TRACE(finish(ex, t, status));
    cfut_future_drop(t->fut);
    t->fut = NULL;
    cfut_waker_wake(&t->join_waker);
    task_release(ex, t); /* the executor's reference */
}

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
    CFUT__TRACE_POLL(poll_begin(ex, t));
    enum cfut_poll r = cfut_future_poll(t->fut, &cx, t->out);
    CFUT__TRACE_POLL(poll_end(ex, t, r));
    if (r == CFUT_READY) {
        finish(ex, t, CFUT_OK);
    } else if (t->flags & CFUT__TASK_CANCEL) {
        finish(ex, t, CFUT_ECANCELED);
    } else if (t->state == CFUT__TASK_RUNNING_WOKEN) {
        t->state = CFUT__TASK_SCHEDULED;
        push_run(ex, t);
    } else {
        t->state = CFUT__TASK_IDLE;
    }
}

/* Looks at the inbox and the driver without blocking. */
static void
maintenance(struct cfut_executor *ex)
{
    ex->tick = 0;
    drain_inbox(ex);
    ex->drv_vt->turn(ex->drv, 0);
    drain_inbox(ex);
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
    cfut_list_for_each(it, &ex->all_tasks)
    {
        struct cfut__task *t =
            cfut_container_of(it, struct cfut__task, all_link);
        if (t->state == CFUT__TASK_IDLE)
            schedule(ex, t);
    }
#endif
    struct cfut__task *t = ex->run_head;
    ex->run_head = ex->run_tail = NULL;
    while (t != NULL) {
        struct cfut__task *next = t->run_next;
        poll_task(ex, t);
        if (++ex->tick >= CFUT__EVENT_INTERVAL)
            maintenance(ex);
        t = next;
    }
}

/* Blocks in the driver until a wake, an event or a timer. */
static void
park(struct cfut_executor *ex)
{
    struct cfut__remote *r = ex->remote;
    pthread_mutex_lock(&r->lock);
    if (!cfut_list_is_empty(&r->inbox)) {
        pthread_mutex_unlock(&r->lock);
        return;
    }
    r->parked = true;
    r->notified = false;
    pthread_mutex_unlock(&r->lock);
    CFUT__TRACE(park(ex, true));
    ex->drv_vt->turn(ex->drv, -1);
    CFUT__TRACE(park(ex, false));
    pthread_mutex_lock(&r->lock);
    r->parked = false;
    pthread_mutex_unlock(&r->lock);
}

/*
 * The loop behind block_on and run: until 'main' is done (or, without
 * 'main', until no task is alive). Returns 0 or CFUT_EDEADLK.
 */
static int
run_loop(struct cfut_executor *ex, struct cfut__task *main)
{
    for (;;) {
        if (main != NULL ? main->state == CFUT__TASK_DONE : ex->n_tasks == 0)
            return CFUT_OK;
        if (ex->run_head != NULL) {
            run_pass(ex);
            continue;
        }
        maintenance(ex);
        if (ex->run_head != NULL)
            continue;
        if (main != NULL ? main->state == CFUT__TASK_DONE : ex->n_tasks == 0)
            return CFUT_OK;
        if (ex->n_wakers == 0)
            return CFUT_EDEADLK;
        park(ex);
        drain_inbox(ex);
    }
}

/* ---------------------------------------------------------------------- */
/* Public API                                                              */
/* ---------------------------------------------------------------------- */

int
cfut_executor_new(struct cfut_executor **out)
{
    if (out == NULL)
        return CFUT_EINVAL;
    int rc = CFUT_ENOMEM;
    struct cfut_executor *ex = cfut_alloc(sizeof *ex);
    if (ex == NULL)
        goto fail;
    memset(ex, 0, sizeof *ex);
    struct cfut__remote *r = cfut_alloc(sizeof *r);
    if (r == NULL)
        goto free_ex;
    struct cfut__reactor *d;
    rc = cfut__reactor_new(&d);
    if (rc != CFUT_OK)
        goto free_remote;
    pthread_mutex_init(&r->lock, NULL);
    atomic_init(&r->refs, 1);
    atomic_init(&r->has_items, false);
    atomic_init(&r->used, false);
    cfut_list_init(&r->inbox);
    r->ex = ex;
    r->parked = false;
    r->notified = false;
    r->drv = d;
    r->drv_vt = &cfut__reactor_vtable;
    ex->remote = r;
    ex->drv = d;
    ex->drv_vt = &cfut__reactor_vtable;
    ex->owner = thread_token();
    ex->next_id = 1;
    cfut_list_init(&ex->all_tasks);
    cfut__trace_executor_new(ex); /* reads CFUT_TRACE once */
    tls_n_executors++;
    *out = ex;
    return CFUT_OK;

free_remote:
    cfut_free(r);
free_ex:
    cfut_free(ex);
fail:
    return rc;
}

void
cfut_executor_free(struct cfut_executor *ex)
{
    if (ex == NULL)
        return;
    CFUT_ASSERT(ex->owner == thread_token(),
                "cfut_executor_free() called from another thread");
    CFUT_ASSERT(!ex->running, "cfut_executor_free() called while running");
    struct cfut__remote *r = ex->remote;

    /*
     * Cancel every live task, in one walk: finishing a task may free others
     * (its future held their wakers) or spawn new ones (appended at the
     * tail), so the next node is read only after the finish, while a
     * reference of our own keeps the current task alive.
     */
    drain_inbox(ex);
    struct cfut_list *it = ex->all_tasks.next;
    while (it != &ex->all_tasks) {
        struct cfut__task *t =
            cfut_container_of(it, struct cfut__task, all_link);
        if (t->state == CFUT__TASK_DONE) {
            it = it->next;
            continue;
        }
        /* The run queue is abandoned: nothing in it will run again. */
        ex->run_head = ex->run_tail = NULL;
        t->refs++;
        t->state = CFUT__TASK_RUNNING;
        finish(ex, t, CFUT_ECANCELED);
        drain_inbox(ex);
        it = it->next;
        task_release(ex, t);
    }
    ex->run_head = ex->run_tail = NULL;
    CFUT_ASSERT(ex->n_tasks == 0, "a task survived cfut_executor_free()");

    /* Tasks still referenced (handles, wakers) become orphans. */
    pthread_mutex_lock(&r->lock);
    cfut_list_for_each_safe(it, nx, &r->inbox)
    {
        struct cfut__task *t =
            cfut_container_of(it, struct cfut__task, inbox_link);
        (void)absorb(ex, t);
    }
    unsigned n_orphans = 0;
    cfut_list_for_each_safe(it, nx, &ex->all_tasks)
    {
        struct cfut__task *t =
            cfut_container_of(it, struct cfut__task, all_link);
        cfut_list_remove(&t->all_link);
        if (t->refs == 0) {
            task_free_memory(t); /* last reference came in just now */
            continue;
        }
        t->ex = NULL;
        n_orphans++;
    }
    r->ex = NULL;
    atomic_fetch_add_explicit(&r->refs, n_orphans, memory_order_relaxed);
    r->drv = NULL;
    pthread_mutex_unlock(&r->lock);

    for (unsigned c = 0; c < CFUT__POOL_CLASSES; c++) {
        struct free_block *b = ex->pool[c];
        while (b != NULL) {
            struct free_block *next = b->next;
            cfut_free(b);
            b = next;
        }
    }
    ex->drv_vt->free(ex->drv);
    remote_release(r);
    CFUT__TRACE(executor_free(ex));
    cfut_free(ex);
    if (--tls_n_executors == 0)
        cfut_thread_cleanup(); /* nothing left to reuse the blocks soon */
}

/* Initialises the header of a freshly allocated task. */
static void
task_init(struct cfut_executor *ex, struct cfut__task *t, uint32_t refs)
{
    /* The rest was set by block_init_once() and is still valid. */
    t->refs = refs;
    t->state = CFUT__TASK_SCHEDULED;
    t->flags = 0;
    t->status = CFUT_OK;
    struct cfut_list *tail = ex->all_tasks.prev;
    t->all_link.next = &ex->all_tasks;
    t->all_link.prev = tail;
    tail->next = &t->all_link;
    ex->all_tasks.prev = &t->all_link;
    t->id = ex->next_id++;
#if CFUT_DEBUG_CHECKS
    t->dbg_await_file = NULL;
    t->dbg_await_line = 0;
#endif
}

static const struct cfut_future_vtable cfut_join_handle_vtable;

int
cfut_spawn(struct cfut_executor *ex, struct cfut_future *fresh, size_t size,
           struct cfut_join_handle *handle)
{
    CFUT_ASSERT(ex != NULL && ex->owner == thread_token(),
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
    size_t fut_off = ALIGN_UP(sizeof(struct cfut__task), MAX_ALIGN);
    size_t out_off = ALIGN_UP(fut_off + size, MAX_ALIGN);
    struct cfut__task *t = task_alloc(ex, out_off + out_size);
    if (t == NULL)
        return CFUT_ENOMEM;
    task_init(ex, t, handle != NULL ? 2 : 1);
    t->fut = (struct cfut_future *)(void *)((char *)t + fut_off);
    t->out = (char *)t + out_off;
    t->output_size = out_size;
    cfut__copy(t->fut, fresh, size);
#if CFUT_DEBUG_CHECKS
    fresh->dbg_magic = CFUT_MAGIC_DEAD; /* its bytes moved into the task */
    fresh->dbg_state = CFUT_DBG_DROPPED;
#endif
    ex->n_tasks++;
    push_run(ex, t);
    if (handle != NULL) {
        t->flags |= CFUT__TASK_HAS_HANDLE;
        cfut_future_init(&handle->base, &cfut_join_handle_vtable);
        handle->task = t;
    }
    CFUT__TRACE(spawn(ex, t));
    return CFUT_OK;
}

/* Enters a run on this thread; returns CFUT_EBUSY when nested. */
static int
enter(struct cfut_executor *ex)
{
    CFUT_ASSERT(ex->owner == thread_token(),
                "an executor was run from a thread that does not own it");
    if (tls_current != NULL || ex->running)
        return CFUT_EBUSY;
    ex->running = true;
    tls_current = ex;
    return CFUT_OK;
}

static void
leave(struct cfut_executor *ex)
{
    ex->running = false;
    tls_current = NULL;
    CFUT__TRACE(run_end(ex));
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
    size_t out_off = ALIGN_UP(sizeof(struct cfut__task), MAX_ALIGN);
    bool discard = out == NULL && out_size != 0;
    struct cfut__task *t =
        task_alloc(ex, discard ? out_off + out_size : sizeof *t);
    if (t == NULL) {
        leave(ex);
        cfut_future_drop(f);
        return CFUT_ENOMEM;
    }
    /* References: the executor's (until done) and ours (until return). */
    task_init(ex, t, 2);
    t->flags = CFUT__TASK_MAIN;
    t->fut = f;
    t->out = discard ? (char *)t + out_off : out;
    t->output_size = out_size;
    push_run(ex, t);
    CFUT__TRACE(spawn(ex, t));
    rc = run_loop(ex, t);
    if (rc != CFUT_OK) {
        /* Nothing can ever wake it: cancel it (block_on took it). */
        if (t->state != CFUT__TASK_DONE) {
            if (t->state == CFUT__TASK_SCHEDULED) {
                /* Not reachable: run_loop returns only with an empty queue. */
                t->state = CFUT__TASK_RUNNING;
            }
            finish(ex, t, CFUT_ECANCELED);
        }
    }
    leave(ex);
    task_release(ex, t);
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
        if (ex->run_head == NULL)
            break;
    }
    leave(ex);
    return CFUT_OK;
}

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
    return ex->n_blocks;
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
    cfut_list_for_each(it, &ex->all_tasks)
    {
        const struct cfut__task *t =
            cfut_container_of(it, const struct cfut__task, all_link);
        if (t->state == CFUT__TASK_DONE)
            continue;
        fprintf(f, "task %llu '%s' %s%s", (unsigned long long)t->id,
                cfut_future_name(t->fut), state_names[t->state],
                (t->flags & CFUT__TASK_MAIN) ? " (block_on)" : "");
#if CFUT_DEBUG_CHECKS
        if (t->dbg_await_file != NULL) /* recorded by the poll hook */
            fprintf(f, ", suspended at %s:%d", t->dbg_await_file,
                    t->dbg_await_line);
#endif
        fputc('\n', f);
    }
}

/* ---------------------------------------------------------------------- */
/* Join handles                                                            */
/* ---------------------------------------------------------------------- */

/*
 * States: the task is not DONE: register the waker, PENDING. The task is
 * DONE: write the status (and the output when OK), READY.
 */
static enum cfut_poll
cfut_join_handle_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct cfut_join_handle *h =
        cfut_container_of(f, struct cfut_join_handle, base);
    struct cfut__task *t = h->task;
    CFUT_ASSERT(t->owner == thread_token(),
                "a join handle was polled on another thread than its "
                "executor's");
    if (t->state != CFUT__TASK_DONE) {
        cfut_waker_register(&t->join_waker, cx->waker);
        return CFUT_PENDING;
    }
    CFUT_DEBUG_ASSERT(!(t->flags & CFUT__TASK_TAKEN),
                      "join handle output taken twice");
    t->flags |= CFUT__TASK_TAKEN;
    *(int *)out = t->status;
    if (t->status == CFUT_OK && t->output_size != 0)
        cfut__copy((char *)out + CFUT_JOIN_VALUE_OFFSET, t->out,
                   t->output_size);
    return CFUT_READY;
}

static void
cfut_join_handle_drop(struct cfut_future *f)
{
    struct cfut_join_handle *h =
        cfut_container_of(f, struct cfut_join_handle, base);
    struct cfut__task *t = h->task;
    CFUT_ASSERT(t->owner == thread_token(),
                "a join handle was dropped on another thread than its "
                "executor's");
    h->task = NULL;
    t->flags &= (uint8_t)~CFUT__TASK_HAS_HANDLE;
    cfut_waker_drop(&t->join_waker);
    if (is_local(t))
        task_release(t->ex, t);
    else
        remote_op(t, -1, false); /* orphan: the executor is gone */
}

static size_t
cfut_join_handle_output_size(const struct cfut_future *f)
{
    const struct cfut_join_handle *h =
        cfut_container_of(f, const struct cfut_join_handle, base);
    if (h->task->output_size == 0)
        return sizeof(int);
    return CFUT_JOIN_VALUE_OFFSET + h->task->output_size;
}

static const struct cfut_future_vtable cfut_join_handle_vtable = {
    cfut_join_handle_poll, cfut_join_handle_drop, CFUT_OUTPUT_DYNAMIC,
    "join_handle", cfut_join_handle_output_size};

void
cfut_join_handle_cancel(struct cfut_join_handle *h)
{
    struct cfut__task *t = h->task;
    CFUT_ASSERT(t != NULL, "cfut_join_handle_cancel() on a join handle that "
                           "was dropped or detached");
    if (t->state == CFUT__TASK_DONE || t->ex == NULL)
        return;
    CFUT_ASSERT(t->owner == thread_token(),
                "cfut_join_handle_cancel() called from another thread");
    t->flags |= CFUT__TASK_CANCEL;
    schedule(t->ex, t);
}

void
cfut_join_handle_detach(struct cfut_join_handle *h)
{
    cfut_future_drop(&h->base);
}

bool
cfut_join_handle_is_finished(const struct cfut_join_handle *h)
{
    CFUT_ASSERT(h->task != NULL, "cfut_join_handle_is_finished() on a join "
                                 "handle that was dropped or detached");
    return h->task->state == CFUT__TASK_DONE;
}

uint64_t
cfut_join_handle_id(const struct cfut_join_handle *h)
{
    CFUT_ASSERT(h->task != NULL, "cfut_join_handle_id() on a join handle "
                                 "that was dropped or detached");
    return h->task->id;
}
