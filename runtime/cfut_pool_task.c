/*
 * cfut_pool_task.c: a pool task's life in its state word: the wakers
 * (clone, wake, drop from any thread), running a popped task, completing
 * it (dropping its future once, waking its join handle), references and
 * the block's free, and the join handle future with cancel and detach.
 * The rule of every transition is in cfut_pool_int.h. It decides no
 * queue: cfut__pool_schedule() (cfut_pool.c) does.
 */
#include <sched.h>

#include "cfut_alloc_int.h"
#include "cfut_pool_int.h"
#include "cfut_trace_int.h"

/* ---------------------------------------------------------------------- */
/* References                                                              */
/* ---------------------------------------------------------------------- */

/* Subtracts 'sub' (references, and maybe HANDLE) and frees at zero. */
static void
release_bits(struct cfut__ptask *t, size_t sub)
{
    CFUT__SCHED_POINT();
    size_t s = atomic_fetch_sub_explicit(&t->state, sub, memory_order_acq_rel);
    if (((s - sub) >> CFUT__PT_REF_SHIFT) != 0)
        return;
    struct cfut_pool *p = t->pool;
    CFUT_DEBUG_ASSERT((s - sub) & CFUT__PT_COMPLETED,
                      "a pool task was freed before it completed");
    cfut__free_small(t, t->block_size);
    cfut__pool_release(p);
}

void
cfut__ptask_release(struct cfut__ptask *t, size_t n)
{
    release_bits(t, n * CFUT__PT_REF_ONE);
}

/* The join waker's lock: a spin bit (held for a few instructions). */
static void
join_lock(struct cfut__ptask *t)
{
    while (
        atomic_exchange_explicit(&t->join_lock, true, memory_order_acquire)) {
        while (atomic_load_explicit(&t->join_lock, memory_order_relaxed))
            sched_yield();
    }
}

static void
join_unlock(struct cfut__ptask *t)
{
    atomic_store_explicit(&t->join_lock, false, memory_order_release);
}

/* ---------------------------------------------------------------------- */
/* Completing                                                              */
/* ---------------------------------------------------------------------- */

/*
 * Drops the future of 't', leaves the registry, makes 'status' final
 * (COMPLETED), wakes the handle and drops the pool's reference.
 * Pre: the caller owns the future (RUNNING, or the shutdown).
 */
static void
complete(struct cfut__ptask *t, int status)
{
    CFUT__TRACE(finish(t->pool, t->id, cfut_future_name(t->fut), status));
    cfut_future_drop(t->fut);
    t->status = status;
    /* Off the registry first: whoever sees COMPLETED sees it gone. */
    struct cfut__shard *sh = &t->pool->shards[t->shard];
    pthread_mutex_lock(&sh->lock);
    cfut_list_remove(&t->all_link);
    sh->n_tasks--;
    pthread_mutex_unlock(&sh->lock);
    size_t s = atomic_load_explicit(&t->state, memory_order_relaxed);
    size_t next;
    do {
        next = (s & ~(size_t)(CFUT__PT_RUNNING | CFUT__PT_SCHEDULED)) |
               CFUT__PT_COMPLETED;
        CFUT__SCHED_POINT();
    } while (!atomic_compare_exchange_weak_explicit(
        &t->state, &s, next, memory_order_acq_rel, memory_order_relaxed));
    if (s & CFUT__PT_HANDLE) {
        join_lock(t);
        struct cfut_waker w = t->join_waker;
        t->join_waker = CFUT_WAKER_EMPTY;
        join_unlock(t);
        cfut_waker_wake(&w);
    }
    cfut__ptask_release(t, 1);
}

void
cfut__ptask_shutdown(struct cfut__ptask *t)
{
    size_t s = atomic_fetch_or_explicit(&t->state, CFUT__PT_CLOSED,
                                        memory_order_acq_rel);
    CFUT_ASSERT(!(s & (CFUT__PT_RUNNING | CFUT__PT_COMPLETED)),
                "a pool task ran during the shutdown");
    complete(t, CFUT_ECANCELED);
}

/* ---------------------------------------------------------------------- */
/* Wakers                                                                  */
/* ---------------------------------------------------------------------- */

static struct cfut_waker
waker_clone(void *data)
{
    struct cfut__ptask *t = data;
    CFUT__SCHED_POINT();
    atomic_fetch_add_explicit(&t->state, CFUT__PT_REF_ONE,
                              memory_order_relaxed);
    return (struct cfut_waker){&cfut__ptask_waker_vtable, t};
}

/*
 * Idle (neither SCHEDULED nor RUNNING): -> SCHEDULED, and this wake
 * pushes it. RUNNING: -> RUNNING|SCHEDULED; the runner pushes it after
 * the poll. SCHEDULED, COMPLETED or CLOSED: nothing to do.
 */
static void
waker_wake_by_ref(void *data)
{
    struct cfut__ptask *t = data;
    size_t s = atomic_load_explicit(&t->state, memory_order_acquire);
    for (;;) {
        if (s & (CFUT__PT_SCHEDULED | CFUT__PT_COMPLETED | CFUT__PT_CLOSED))
            return;
        CFUT__SCHED_POINT();
        if (atomic_compare_exchange_weak_explicit(
                &t->state, &s, s | CFUT__PT_SCHEDULED, memory_order_acq_rel,
                memory_order_acquire))
            break;
    }
    if (!(s & CFUT__PT_RUNNING))
        cfut__pool_schedule(t, false);
}

static void
waker_drop(void *data)
{
    cfut__ptask_release(data, 1);
}

static void
waker_wake(void *data)
{
    waker_wake_by_ref(data);
    cfut__ptask_release(data, 1);
}

const struct cfut_waker_vtable cfut__ptask_waker_vtable = {
    waker_clone, waker_wake, waker_wake_by_ref, waker_drop};

/* ---------------------------------------------------------------------- */
/* Running                                                                 */
/* ---------------------------------------------------------------------- */

void
cfut__ptask_run(struct cfut__ptask *t, struct cfut_context *cx)
{
    CFUT__SCHED_POINT();
    size_t s = atomic_fetch_xor_explicit(
        &t->state, CFUT__PT_SCHEDULED | CFUT__PT_RUNNING, memory_order_acquire);
    CFUT_ASSERT((s & (CFUT__PT_SCHEDULED | CFUT__PT_RUNNING |
                      CFUT__PT_COMPLETED)) == CFUT__PT_SCHEDULED,
                "a pool task was popped while not scheduled");
    if (s & CFUT__PT_CLOSED) {
        complete(t, CFUT_ECANCELED);
        return;
    }
    struct cfut_waker w = {&cfut__ptask_waker_vtable, t};
    cx->waker = &w;
    CFUT__TRACE(poll_begin(t->pool, t->id, cfut_future_name(t->fut)));
    enum cfut_poll r = cfut_future_poll(t->fut, cx, t->out);
    CFUT__TRACE(poll_end(t->pool, t->id, cfut_future_name(t->fut), r, NULL, 0));
    if (r == CFUT_READY) {
        complete(t, CFUT_OK);
        return;
    }
    s = atomic_load_explicit(&t->state, memory_order_acquire);
    for (;;) {
        if (s & CFUT__PT_CLOSED) {
            complete(t, CFUT_ECANCELED);
            return;
        }
        CFUT__SCHED_POINT();
        if (atomic_compare_exchange_weak_explicit(
                &t->state, &s, s & ~(size_t)CFUT__PT_RUNNING,
                memory_order_acq_rel, memory_order_acquire))
            break;
    }
    if (s & CFUT__PT_SCHEDULED) /* woken during its poll: yield */
        cfut__pool_schedule(t, true);
}

/* ---------------------------------------------------------------------- */
/* Join handles                                                            */
/* ---------------------------------------------------------------------- */

/*
 * States (the task's): not COMPLETED: register the waker under the join
 * lock, looking again under it (complete() sets COMPLETED before it takes
 * the lock, so one of the two sees the other), PENDING. COMPLETED: write
 * the status, and the output when it is CFUT_OK, READY.
 */
static enum cfut_poll
pool_handle_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct cfut_pool_handle *h =
        cfut_container_of(f, struct cfut_pool_handle, base);
    struct cfut__ptask *t = h->task;
    size_t s = atomic_load_explicit(&t->state, memory_order_acquire);
    if (!(s & CFUT__PT_COMPLETED)) {
        join_lock(t);
        s = atomic_load_explicit(&t->state, memory_order_acquire);
        if (!(s & CFUT__PT_COMPLETED)) {
            cfut_waker_register(&t->join_waker, cx->waker);
            join_unlock(t);
            return CFUT_PENDING;
        }
        join_unlock(t);
    }
    *(int *)out = t->status;
    if (t->status == CFUT_OK && t->output_size != 0)
        cfut__copy((char *)out + CFUT_JOIN_VALUE_OFFSET, t->out,
                   t->output_size);
    return CFUT_READY;
}

static void
pool_handle_drop(struct cfut_future *f)
{
    struct cfut_pool_handle *h =
        cfut_container_of(f, struct cfut_pool_handle, base);
    struct cfut__ptask *t = h->task;
    h->task = NULL;
    join_lock(t);
    struct cfut_waker w = t->join_waker;
    t->join_waker = CFUT_WAKER_EMPTY;
    join_unlock(t);
    cfut_waker_drop(&w);
    release_bits(t, CFUT__PT_HANDLE | CFUT__PT_REF_ONE);
}

static size_t
pool_handle_output_size(const struct cfut_future *f)
{
    const struct cfut_pool_handle *h =
        cfut_container_of(f, const struct cfut_pool_handle, base);
    if (h->task->output_size == 0)
        return sizeof(int);
    return CFUT_JOIN_VALUE_OFFSET + h->task->output_size;
}

const struct cfut_future_vtable cfut__pool_handle_vtable = {
    pool_handle_poll, pool_handle_drop, CFUT_OUTPUT_DYNAMIC, "pool_handle",
    pool_handle_output_size};

/*
 * COMPLETED or CLOSED: nothing to do. SCHEDULED or RUNNING: CLOSED, and
 * whoever owns the future next completes the task. Idle: CLOSED and
 * SCHEDULED, and this call pushes it so that a worker drops the future.
 */
void
cfut_pool_handle_cancel(struct cfut_pool_handle *h)
{
    struct cfut__ptask *t = h->task;
    CFUT_ASSERT(t != NULL, "cfut_pool_handle_cancel() on a join handle that "
                           "was dropped or detached");
    size_t s = atomic_load_explicit(&t->state, memory_order_acquire);
    size_t next;
    do {
        if (s & (CFUT__PT_COMPLETED | CFUT__PT_CLOSED))
            return;
        next = s | CFUT__PT_CLOSED;
        if (!(s & (CFUT__PT_SCHEDULED | CFUT__PT_RUNNING)))
            next |= CFUT__PT_SCHEDULED;
        CFUT__SCHED_POINT();
    } while (!atomic_compare_exchange_weak_explicit(
        &t->state, &s, next, memory_order_acq_rel, memory_order_acquire));
    if (!(s & (CFUT__PT_SCHEDULED | CFUT__PT_RUNNING)))
        cfut__pool_schedule(t, false);
}

void
cfut_pool_handle_detach(struct cfut_pool_handle *h)
{
    cfut_future_drop(&h->base);
}

bool
cfut_pool_handle_is_finished(const struct cfut_pool_handle *h)
{
    CFUT_ASSERT(h->task != NULL, "cfut_pool_handle_is_finished() on a join "
                                 "handle that was dropped or detached");
    return atomic_load_explicit(&h->task->state, memory_order_acquire) &
           CFUT__PT_COMPLETED;
}

uint64_t
cfut_pool_handle_id(const struct cfut_pool_handle *h)
{
    CFUT_ASSERT(h->task != NULL, "cfut_pool_handle_id() on a join handle "
                                 "that was dropped or detached");
    return h->task->id;
}
