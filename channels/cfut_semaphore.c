/*
 * cfut_semaphore.c: the local semaphore (Rust's Rc<RefCell>): the core of
 * cfut_semaphore_core_int.h as it is, with no lock and no atomics, waking
 * the waiters it serves at once. The thread-safe kind is in
 * cfut_semaphore_sync.c; this file knows no threads.
 */
#include "cfut_semaphore.h"

#include "cfut_semaphore_core_int.h"

struct cfut__semaphore {
    struct cfut__semaphore_core core; /* and nothing else: one thread */
};

/* Ends a call: wakes the waiters served ('batch'), then frees the state if
 * the core found it unreferenced. */
static void
finish(struct cfut__semaphore *s, struct cfut_list *batch, bool unreferenced)
{
    cfut__waitq_wake_all_now(batch);
    if (unreferenced)
        cfut_free(s);
}

int
cfut_semaphore_new(size_t permits, struct cfut_semaphore *sem)
{
    if (sem == NULL || permits > CFUT_SEMAPHORE_MAX_PERMITS)
        return CFUT_EINVAL;
    struct cfut__semaphore *s = cfut_alloc(sizeof *s);
    if (s == NULL)
        return CFUT_ENOMEM;
    cfut__semaphore_core_init(&s->core, permits);
    sem->shared = s;
    return CFUT_OK;
}

struct cfut_semaphore
cfut_semaphore_clone(const struct cfut_semaphore *sem)
{
    CFUT_ASSERT(sem->shared != NULL, "semaphore: clone of an empty handle");
    sem->shared->core.refs++;
    return *sem;
}

void
cfut_semaphore_drop(struct cfut_semaphore *sem)
{
    struct cfut__semaphore *s = sem->shared;
    sem->shared = NULL;
    if (s != NULL && cfut__semaphore_unref(&s->core))
        cfut_free(s);
}

/* ---- acquiring ---- */

int
cfut_semaphore_try_acquire(const struct cfut_semaphore *sem, size_t n,
                           struct cfut_semaphore_permit *permit)
{
    CFUT_ASSERT(sem->shared != NULL, "semaphore: acquire on an empty handle");
    int rc = cfut__semaphore_try_acquire(&sem->shared->core, n);
    if (rc == CFUT_OK) {
        permit->n = n;
        permit->shared = sem->shared;
    }
    return rc;
}

static enum cfut_poll
acquire_poll(struct cfut_future *fut, struct cfut_context *cx, void *out)
{
    struct cfut_semaphore_acquire *f =
        cfut_container_of(fut, struct cfut_semaphore_acquire, base);
    struct cfut_semaphore_acquired *o = out;
    if (cfut__semaphore_acquire_poll(&f->shared->core, &f->waiter, cx,
                                     &o->status) == CFUT_PENDING)
        return CFUT_PENDING;
    bool ok = o->status == CFUT_OK;
    o->permit.n = ok ? f->waiter.n : 0;
    o->permit.shared = ok ? f->shared : NULL;
    return CFUT_READY;
}

static void
acquire_drop(struct cfut_future *fut)
{
    struct cfut_semaphore_acquire *f =
        cfut_container_of(fut, struct cfut_semaphore_acquire, base);
    struct cfut_list batch;
    cfut_list_init(&batch);
    bool unreferenced = cfut__semaphore_acquire_gone(
        &f->shared->core, &f->waiter, &batch, CFUT__WAKE_NOW);
    finish(f->shared, &batch, unreferenced);
}

static const struct cfut_future_vtable acquire_vtable = {
    acquire_poll, acquire_drop, sizeof(struct cfut_semaphore_acquired),
    "semaphore_acquire", NULL};

void
cfut_semaphore_acquire_init(struct cfut_semaphore_acquire *f,
                            const struct cfut_semaphore *sem, size_t n)
{
    struct cfut_semaphore ref = cfut_semaphore_clone(sem);
    cfut_future_init(&f->base, &acquire_vtable);
    f->shared = ref.shared;
    cfut__semaphore_waiter_init(&f->waiter, n);
}

/* ---- permits ---- */

void
cfut_semaphore_permit_drop(struct cfut_semaphore_permit *permit)
{
    struct cfut__semaphore *s = permit->shared;
    permit->shared = NULL;
    if (s == NULL)
        return;
    struct cfut_list batch;
    cfut_list_init(&batch);
    bool unreferenced =
        cfut__semaphore_permit_gone(&s->core, permit->n, &batch);
    permit->n = 0;
    finish(s, &batch, unreferenced);
}

void
cfut_semaphore_permit_forget(struct cfut_semaphore_permit *permit)
{
    struct cfut__semaphore *s = permit->shared;
    permit->shared = NULL;
    if (s != NULL && cfut__semaphore_permit_forgotten(&s->core, permit->n))
        cfut_free(s);
    permit->n = 0;
}

/* ---- the count ---- */

int
cfut_semaphore_add_permits(const struct cfut_semaphore *sem, size_t n)
{
    CFUT_ASSERT(sem->shared != NULL, "semaphore: add to an empty handle");
    struct cfut_list batch;
    cfut_list_init(&batch);
    int rc = cfut__semaphore_add(&sem->shared->core, n, &batch);
    finish(sem->shared, &batch, false);
    return rc;
}

void
cfut_semaphore_close(const struct cfut_semaphore *sem)
{
    CFUT_ASSERT(sem->shared != NULL, "semaphore: close of an empty handle");
    struct cfut_list batch;
    cfut_list_init(&batch);
    cfut__semaphore_close(&sem->shared->core, &batch);
    finish(sem->shared, &batch, false);
}

bool
cfut_semaphore_is_closed(const struct cfut_semaphore *sem)
{
    CFUT_ASSERT(sem->shared != NULL, "semaphore: is_closed on an empty handle");
    return sem->shared->core.closed;
}

size_t
cfut_semaphore_available(const struct cfut_semaphore *sem)
{
    CFUT_ASSERT(sem->shared != NULL, "semaphore: available on an empty handle");
    return sem->shared->core.available;
}
