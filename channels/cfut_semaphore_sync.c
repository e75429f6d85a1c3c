/*
 * cfut_semaphore_sync.c: the thread-safe semaphore (Rust's Arc<Mutex>):
 * the core of cfut_semaphore_core_int.h guarded by one mutex. Each call
 * locks, runs the core, unlocks, then wakes the waiters it served and
 * frees the state if nothing refers to it any more.
 */
#include "cfut_semaphore.h"

#include "cfut_semaphore_core_int.h"
#include "cfut_sync_int.h"

struct cfut__semaphore_sync {
    pthread_mutex_t lock;             /* first: its address is the block's */
    struct cfut__semaphore_core core; /* guarded by 'lock' */
};

static inline struct cfut__semaphore_core *
lock(struct cfut__semaphore_sync *s)
{
    pthread_mutex_lock(&s->lock);
    return &s->core;
}

/* Unlocks 's', runs 'wl' (may be NULL), wakes 'batch' (may be NULL), and
 * frees the state when the core found it unreferenced. */
static void
unlock_finish(struct cfut__semaphore_sync *s, struct cfut__wake_list *wl,
              struct cfut_list *batch, bool unreferenced)
{
    cfut__sync_unlock_run(&s->lock, wl != NULL ? wl : &CFUT__WAKE_LIST_DEFERRED,
                          batch);
    if (unreferenced) {
        pthread_mutex_destroy(&s->lock);
        cfut_free(s);
    }
}

int
cfut_semaphore_sync_new(size_t permits, struct cfut_semaphore_sync *sem)
{
    if (sem == NULL || permits > CFUT_SEMAPHORE_MAX_PERMITS)
        return CFUT_EINVAL;
    struct cfut__semaphore_sync *s = cfut_alloc(sizeof *s);
    if (s == NULL)
        return CFUT_ENOMEM;
    pthread_mutex_init(&s->lock, NULL);
    cfut__semaphore_core_init(&s->core, permits);
    sem->shared = s;
    return CFUT_OK;
}

struct cfut_semaphore_sync
cfut_semaphore_sync_clone(const struct cfut_semaphore_sync *sem)
{
    CFUT_ASSERT(sem->shared != NULL, "semaphore: clone of an empty handle");
    lock(sem->shared)->refs++;
    pthread_mutex_unlock(&sem->shared->lock);
    return *sem;
}

void
cfut_semaphore_sync_drop(struct cfut_semaphore_sync *sem)
{
    struct cfut__semaphore_sync *s = sem->shared;
    sem->shared = NULL;
    if (s != NULL)
        unlock_finish(s, NULL, NULL, cfut__semaphore_unref(lock(s)));
}

/* ---- acquiring ---- */

int
cfut_semaphore_sync_try_acquire(const struct cfut_semaphore_sync *sem, size_t n,
                                struct cfut_semaphore_sync_permit *permit)
{
    CFUT_ASSERT(sem->shared != NULL, "semaphore: acquire on an empty handle");
    int rc = cfut__semaphore_try_acquire(lock(sem->shared), n);
    pthread_mutex_unlock(&sem->shared->lock);
    if (rc == CFUT_OK) {
        permit->n = n;
        permit->shared = sem->shared;
    }
    return rc;
}

static enum cfut_poll
acquire_poll(struct cfut_future *fut, struct cfut_context *cx, void *out)
{
    struct cfut_semaphore_sync_acquire *f =
        cfut_container_of(fut, struct cfut_semaphore_sync_acquire, base);
    struct cfut_semaphore_sync_acquired *o = out;
    enum cfut_poll r = cfut__semaphore_acquire_poll(lock(f->shared), &f->waiter,
                                                    cx, &o->status);
    pthread_mutex_unlock(&f->shared->lock);
    if (r == CFUT_PENDING)
        return CFUT_PENDING;
    bool ok = o->status == CFUT_OK;
    o->permit.n = ok ? f->waiter.n : 0;
    o->permit.shared = ok ? f->shared : NULL;
    return CFUT_READY;
}

static void
acquire_drop(struct cfut_future *fut)
{
    struct cfut_semaphore_sync_acquire *f =
        cfut_container_of(fut, struct cfut_semaphore_sync_acquire, base);
    struct cfut_list batch;
    cfut_list_init(&batch);
    struct cfut__wake_list wl = CFUT__WAKE_LIST_DEFERRED;
    bool unreferenced =
        cfut__semaphore_acquire_gone(lock(f->shared), &f->waiter, &batch, &wl);
    unlock_finish(f->shared, &wl, &batch, unreferenced);
}

static const struct cfut_future_vtable acquire_vtable = {
    acquire_poll, acquire_drop, sizeof(struct cfut_semaphore_sync_acquired),
    "semaphore_sync_acquire", NULL};

void
cfut_semaphore_sync_acquire_init(struct cfut_semaphore_sync_acquire *f,
                                 const struct cfut_semaphore_sync *sem,
                                 size_t n)
{
    struct cfut_semaphore_sync ref = cfut_semaphore_sync_clone(sem);
    cfut_future_init(&f->base, &acquire_vtable);
    f->shared = ref.shared;
    cfut__semaphore_waiter_init(&f->waiter, n);
}

/* ---- permits ---- */

void
cfut_semaphore_sync_permit_drop(struct cfut_semaphore_sync_permit *permit)
{
    struct cfut__semaphore_sync *s = permit->shared;
    permit->shared = NULL;
    if (s == NULL)
        return;
    struct cfut_list batch;
    cfut_list_init(&batch);
    bool unreferenced = cfut__semaphore_permit_gone(lock(s), permit->n, &batch);
    permit->n = 0;
    unlock_finish(s, NULL, &batch, unreferenced);
}

void
cfut_semaphore_sync_permit_forget(struct cfut_semaphore_sync_permit *permit)
{
    struct cfut__semaphore_sync *s = permit->shared;
    permit->shared = NULL;
    if (s != NULL)
        unlock_finish(s, NULL, NULL,
                      cfut__semaphore_permit_forgotten(lock(s), permit->n));
    permit->n = 0;
}

/* ---- the count ---- */

int
cfut_semaphore_sync_add_permits(const struct cfut_semaphore_sync *sem, size_t n)
{
    CFUT_ASSERT(sem->shared != NULL, "semaphore: add to an empty handle");
    struct cfut_list batch;
    cfut_list_init(&batch);
    int rc = cfut__semaphore_add(lock(sem->shared), n, &batch);
    unlock_finish(sem->shared, NULL, &batch, false);
    return rc;
}

void
cfut_semaphore_sync_close(const struct cfut_semaphore_sync *sem)
{
    CFUT_ASSERT(sem->shared != NULL, "semaphore: close of an empty handle");
    struct cfut_list batch;
    cfut_list_init(&batch);
    cfut__semaphore_close(lock(sem->shared), &batch);
    unlock_finish(sem->shared, NULL, &batch, false);
}

bool
cfut_semaphore_sync_is_closed(const struct cfut_semaphore_sync *sem)
{
    CFUT_ASSERT(sem->shared != NULL, "semaphore: is_closed on an empty handle");
    bool closed = lock(sem->shared)->closed;
    pthread_mutex_unlock(&sem->shared->lock);
    return closed;
}

size_t
cfut_semaphore_sync_available(const struct cfut_semaphore_sync *sem)
{
    CFUT_ASSERT(sem->shared != NULL, "semaphore: available on an empty handle");
    size_t n = lock(sem->shared)->available;
    pthread_mutex_unlock(&sem->shared->lock);
    return n;
}
