/*
 * cfut_task.c: task memory and task references: the executor's pool of
 * task blocks (64-byte size classes, one allocation per task), a task's
 * header, and its reference count: kept without atomics on the owner
 * thread, with the changes other threads make posted to the executor's
 * locked inbox and taken in by the owner; a task is freed when the last
 * reference goes, and outlives its executor (an orphan) while other
 * references remain. It polls nothing and decides no scheduling.
 */
#include "cfut_executor_int.h"

#include "cfut_trace_int.h"

_Thread_local char cfut__thread_token CFUT__TLS_FAST;

/* ---------------------------------------------------------------------- */
/* The pool of blocks                                                      */
/* ---------------------------------------------------------------------- */

void
cfut__task_free_memory(struct cfut__task *t)
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

struct cfut__task *
cfut__task_alloc_new(struct cfut_executor *ex, size_t size)
{
    size_t alloc = size;
    uint16_t size_class = CFUT__TASK_BIG;
    if (size <= CFUT__TASK_POOL_MAX) {
        unsigned c = (unsigned)((size - 1) / CFUT__TASK_POOL_STEP);
        alloc = (size_t)(c + 1) * CFUT__TASK_POOL_STEP;
        size_class = (uint16_t)c;
    }
    struct cfut__task *t = cfut_alloc(alloc);
    if (t == NULL)
        return NULL;
    block_init_once(ex, t);
    t->size_class = size_class;
    cfut_list_init(&t->all_link);
    cfut_list_push_back(&ex->blocks, &t->all_link);
    return t;
}

void
cfut__task_pool_free(struct cfut_executor *ex)
{
    for (unsigned c = 0; c < CFUT__TASK_POOL_CLASSES; c++) {
        struct cfut__free_block *b = ex->pool[c];
        while (b != NULL) {
            struct cfut__free_block *next = b->next;
            cfut_free(b);
            b = next;
        }
        ex->pool[c] = NULL;
    }
}

/* ---------------------------------------------------------------------- */
/* References from other threads: the inbox                                */
/* ---------------------------------------------------------------------- */

void
cfut__remote_release(struct cfut__remote *r)
{
    if (atomic_fetch_sub_explicit(&r->refs, 1, memory_order_acq_rel) == 1) {
        pthread_mutex_destroy(&r->lock);
        cfut_free(r);
    }
}

void
cfut__task_remote_op(struct cfut__task *t, int32_t delta, bool wake)
{
    struct cfut__remote *r = t->remote;
    pthread_mutex_lock(&r->lock);
    if (wake) /* r->ex is read under the lock: NULL once it is gone */
        CFUT__TRACE(wake(r->ex, t->id, NULL));
    if (r->ex == NULL) {
        /* Orphan: the executor is gone; only the count matters now. */
        t->refs = (uint32_t)((int32_t)t->refs + delta);
        bool last = t->refs == 0;
        pthread_mutex_unlock(&r->lock);
        if (last) {
            cfut__task_free_memory(t);
            cfut__remote_release(r);
        }
        return;
    }
    atomic_store_explicit(&r->used, true, memory_order_relaxed);
    t->remote_delta += delta;
    t->remote_woken = t->remote_woken || wake;
    if (!cfut_list_is_linked(&t->inbox_link))
        cfut_list_push_back(&r->inbox, &t->inbox_link);
    /* Store, then load (see 'parked'): the owner stores 'parked', then
     * loads 'has_items'. */
    atomic_store_explicit(&r->has_items, true, memory_order_seq_cst);
    if (atomic_load_explicit(&r->parked, memory_order_seq_cst) &&
        atomic_exchange_explicit(&r->parked, false, memory_order_seq_cst))
        r->drv->vt->unpark(r->drv);
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

/*
 * schedule() and cfut__task_free() call no user code and take no lock, so
 * this all happens under the inbox lock.
 */
void
cfut__inbox_take(struct cfut_executor *ex)
{
    struct cfut__remote *r = ex->remote;
    pthread_mutex_lock(&r->lock);
    atomic_store_explicit(&r->has_items, false, memory_order_relaxed);
    cfut_list_for_each_safe(it, nx, &r->inbox)
    {
        struct cfut__task *t =
            cfut_container_of(it, struct cfut__task, inbox_link);
        bool woken = absorb(ex, t);
        if (t->refs == 0)
            cfut__task_free(ex, t);
        else if (woken)
            cfut__task_schedule(ex, t);
    }
    pthread_mutex_unlock(&r->lock);
}

void
cfut__inbox_orphan(struct cfut_executor *ex)
{
    struct cfut__remote *r = ex->remote;
    pthread_mutex_lock(&r->lock);
    cfut_list_for_each_safe(it, nx, &r->inbox)
    {
        struct cfut__task *t =
            cfut_container_of(it, struct cfut__task, inbox_link);
        (void)absorb(ex, t);
    }
    unsigned n_orphans = 0;
    cfut_list_for_each_safe(it, nx, &ex->blocks)
    {
        struct cfut__task *t =
            cfut_container_of(it, struct cfut__task, all_link);
        cfut_list_remove(&t->all_link);
        if (t->state == CFUT__TASK_FREE)
            continue; /* pooled: cfut__task_pool_free() frees it */
        if (t->refs == 0) {
            cfut__task_free_memory(t); /* last reference came in just now */
            continue;
        }
        t->ex = NULL;
        n_orphans++;
    }
    r->ex = NULL;
    atomic_fetch_add_explicit(&r->refs, n_orphans, memory_order_relaxed);
    r->drv = NULL;
    pthread_mutex_unlock(&r->lock);
}

/* ---------------------------------------------------------------------- */
/* The last reference                                                      */
/* ---------------------------------------------------------------------- */

void
cfut__task_last_ref(struct cfut_executor *ex, struct cfut__task *t)
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
                cfut__task_schedule(ex, t);
            return;
        }
    }
    cfut__task_free(ex, t);
}
