/*
 * cfut_semaphore.c: the semaphore, both kinds. Its calls are written once,
 * around the core of cfut_semaphore_core_int.h, for a lock 'm' (see
 * cfut_kind_int.h): NULL in the local kind (Rust's Rc<RefCell>: no lock,
 * no atomics, wakes the waiters it serves at once), the state's mutex in
 * the thread-safe kind (Arc<Mutex>: lock, core, unlock, wake). Permits and
 * acquire futures are one type in both kinds: they keep the lock (NULL in
 * the local kind). Each kind's public functions bind the calls.
 */
#include "cfut_semaphore.h"

#include "cfut_kind_int.h"
#include "cfut_semaphore_core_int.h"

/* The thread-safe kind's state: the core (where the handles point), then
 * its mutex. */
struct semaphore_sync {
    struct cfut__semaphore core;
    pthread_mutex_t lock;
};

/* The lock of a thread-safe state. */
static inline pthread_mutex_t *
lock_of(struct cfut__semaphore *c)
{
    return &cfut_container_of(c, struct semaphore_sync, core)->lock;
}

/* ---- the calls, for either kind ---- */

/* A new state of 'size' bytes with 'permits' available, or NULL with
 * CFUT_EINVAL or CFUT_ENOMEM in '*rc'. */
static struct cfut__semaphore *
create(size_t size, size_t permits, bool has_handle, int *rc)
{
    *rc = CFUT_EINVAL;
    if (!has_handle || permits > CFUT_SEMAPHORE_MAX_PERMITS)
        return NULL;
    *rc = CFUT_ENOMEM;
    struct cfut__semaphore *c = cfut_alloc(size);
    if (c != NULL && cfut__semaphore_core_init(c, permits))
        *rc = CFUT_OK;
    return c;
}

/* Ends the call 'k', freeing the state if its transition found it
 * 'unreferenced'. */
CFUT__KIND_INLINE void
end(struct cfut__call *k, struct cfut__semaphore *c, bool unreferenced)
{
    cfut__call_end(k);
    if (unreferenced)
        cfut__kind_free(k->m, c);
}

CFUT__KIND_INLINE struct cfut__semaphore *
retain(pthread_mutex_t *m, struct cfut__semaphore *c)
{
    CFUT_ASSERT(c != NULL, "semaphore: clone of an empty handle");
    cfut__kind_lock(m);
    c->refs++;
    cfut__kind_unlock(m);
    return c;
}

CFUT__KIND_INLINE void
handle_drop(pthread_mutex_t *m, struct cfut__semaphore *c)
{
    struct cfut__call k;
    cfut__call_begin(&k, m);
    end(&k, c, cfut__semaphore_unref(c));
}

/* try_acquire: 0 with 'n' permits in '*permit' (which holds a reference),
 * or the error with '*permit' untouched. */
CFUT__KIND_INLINE int
try_acquire(pthread_mutex_t *m, struct cfut__semaphore *c, size_t n,
            struct cfut_semaphore_permit *permit)
{
    CFUT_ASSERT(c != NULL, "semaphore: acquire on an empty handle");
    cfut__kind_lock(m);
    int rc = cfut__semaphore_try_acquire(c, n);
    cfut__kind_unlock(m);
    if (rc == CFUT_OK)
        *permit = (struct cfut_semaphore_permit){n, c, m};
    return rc;
}

/* A permit of the kind of 'm' goes: its permits given back, or with
 * 'forget', gone for good. */
CFUT__KIND_INLINE void
permit_end(pthread_mutex_t *m, struct cfut_semaphore_permit *permit,
           bool forget)
{
    struct cfut__semaphore *c = permit->shared;
    size_t n = permit->n;
    *permit = (struct cfut_semaphore_permit){0, NULL, NULL};
    if (c == NULL)
        return;
    struct cfut__call k;
    cfut__call_begin(&k, m);
    end(&k, c,
        forget ? cfut__semaphore_permit_forgotten(c, n)
               : cfut__semaphore_permit_gone(c, n, &k.batch));
}

CFUT__KIND_INLINE int
add(pthread_mutex_t *m, struct cfut__semaphore *c, size_t n)
{
    CFUT_ASSERT(c != NULL, "semaphore: add to an empty handle");
    struct cfut__call k;
    cfut__call_begin(&k, m);
    int rc = cfut__semaphore_add(c, n, &k.batch);
    cfut__call_end(&k);
    return rc;
}

CFUT__KIND_INLINE void
close_sem(pthread_mutex_t *m, struct cfut__semaphore *c)
{
    CFUT_ASSERT(c != NULL, "semaphore: close of an empty handle");
    struct cfut__call k;
    cfut__call_begin(&k, m);
    cfut__semaphore_close(c, &k.batch);
    cfut__call_end(&k);
}

/* Reads the closed flag ('closed') or the count available. */
CFUT__KIND_INLINE size_t
peek(pthread_mutex_t *m, const struct cfut__semaphore *c, bool closed)
{
    CFUT_ASSERT(c != NULL, "semaphore: a look at an empty handle");
    cfut__kind_lock(m);
    size_t v = closed ? (size_t)c->closed : c->available;
    cfut__kind_unlock(m);
    return v;
}

/* ---- permits and the acquire future, of either kind ---- */

void
cfut_semaphore_permit_drop(struct cfut_semaphore_permit *permit)
{
    CFUT__KIND_DISPATCH(permit_end, permit->lock, permit, false);
}

void
cfut_semaphore_permit_forget(struct cfut_semaphore_permit *permit)
{
    CFUT__KIND_DISPATCH(permit_end, permit->lock, permit, true);
}

/* acquire_poll() for the lock 'm' of the future's kind. */
CFUT__KIND_INLINE enum cfut_poll
acquire_poll_in(pthread_mutex_t *m, struct cfut_semaphore_acquire *f,
                struct cfut_context *cx, void *out)
{
    struct cfut_semaphore_acquired *o = out;
    int status = CFUT_OK;
    cfut__kind_lock(m);
    enum cfut_poll r =
        cfut__semaphore_acquire_poll(f->shared, &f->waiter, cx, &status);
    cfut__kind_unlock(m);
    if (r == CFUT_READY) {
        o->status = status;
        o->permit = (struct cfut_semaphore_permit){0, NULL, NULL};
        if (status == CFUT_OK) /* the future's reference goes with it */
            o->permit =
                (struct cfut_semaphore_permit){f->waiter.n, f->shared, m};
    }
    return r;
}

static enum cfut_poll
acquire_poll(struct cfut_future *fut, struct cfut_context *cx, void *out)
{
    struct cfut_semaphore_acquire *f =
        cfut_container_of(fut, struct cfut_semaphore_acquire, base);
    return CFUT__KIND_DISPATCH(acquire_poll_in, f->lock, f, cx, out);
}

/* acquire_drop() for the lock 'm' of the future's kind. */
CFUT__KIND_INLINE void
acquire_drop_in(pthread_mutex_t *m, struct cfut_semaphore_acquire *f)
{
    struct cfut__call k;
    cfut__call_begin(&k, m);
    end(&k, f->shared,
        cfut__semaphore_acquire_gone(f->shared, &f->waiter, &k.batch, k.wl));
}

static void
acquire_drop(struct cfut_future *fut)
{
    struct cfut_semaphore_acquire *f =
        cfut_container_of(fut, struct cfut_semaphore_acquire, base);
    CFUT__KIND_DISPATCH(acquire_drop_in, f->lock, f);
}

static const struct cfut_future_vtable acquire_vtable = {
    acquire_poll, acquire_drop, sizeof(struct cfut_semaphore_acquired),
    "semaphore_acquire", NULL};

/* Initialises 'f' to acquire 'n' of 'c' (a reference of its own), of the
 * kind of 'm'. */
static void
acquire_init(struct cfut_semaphore_acquire *f, pthread_mutex_t *m,
             struct cfut__semaphore *c, size_t n)
{
    cfut_future_init(&f->base, &acquire_vtable);
    f->shared = retain(m, c);
    f->lock = m;
    cfut__semaphore_waiter_init(&f->waiter, n);
}

/* ---- the local kind ---- */

int
cfut_semaphore_new(size_t permits, struct cfut_semaphore *sem)
{
    int rc;
    struct cfut__semaphore *c =
        create(sizeof(struct cfut__semaphore), permits, sem != NULL, &rc);
    if (c != NULL)
        sem->shared = c;
    return rc;
}

struct cfut_semaphore
cfut_semaphore_clone(const struct cfut_semaphore *sem)
{
    return (struct cfut_semaphore){retain(NULL, sem->shared)};
}

void
cfut_semaphore_drop(struct cfut_semaphore *sem)
{
    if (sem->shared != NULL)
        handle_drop(NULL, sem->shared);
    sem->shared = NULL;
}

int
cfut_semaphore_try_acquire(const struct cfut_semaphore *sem, size_t n,
                           struct cfut_semaphore_permit *permit)
{
    return try_acquire(NULL, sem->shared, n, permit);
}

void
cfut_semaphore_acquire_init(struct cfut_semaphore_acquire *f,
                            const struct cfut_semaphore *sem, size_t n)
{
    acquire_init(f, NULL, sem->shared, n);
}

int
cfut_semaphore_add_permits(const struct cfut_semaphore *sem, size_t n)
{
    return add(NULL, sem->shared, n);
}

void
cfut_semaphore_close(const struct cfut_semaphore *sem)
{
    close_sem(NULL, sem->shared);
}

bool
cfut_semaphore_is_closed(const struct cfut_semaphore *sem)
{
    return peek(NULL, sem->shared, true) != 0;
}

size_t
cfut_semaphore_available(const struct cfut_semaphore *sem)
{
    return peek(NULL, sem->shared, false);
}

/* ---- the thread-safe kind ---- */

int
cfut_semaphore_sync_new(size_t permits, struct cfut_semaphore_sync *sem)
{
    int rc = CFUT_OK;
    struct cfut__semaphore *c =
        create(sizeof(struct semaphore_sync), permits, sem != NULL, &rc);
    if (c == NULL)
        return rc;
    pthread_mutex_init(lock_of(c), NULL);
    sem->shared = c;
    return CFUT_OK;
}

struct cfut_semaphore_sync
cfut_semaphore_sync_clone(const struct cfut_semaphore_sync *sem)
{
    struct cfut_semaphore_sync twin = *sem;
    CFUT_ASSERT(twin.shared != NULL, "semaphore: clone of an empty handle");
    retain(lock_of(twin.shared), twin.shared);
    return twin;
}

void
cfut_semaphore_sync_drop(struct cfut_semaphore_sync *sem)
{
    struct cfut__semaphore *c = sem->shared;
    sem->shared = NULL;
    if (c != NULL)
        handle_drop(lock_of(c), c);
}

int
cfut_semaphore_sync_try_acquire(const struct cfut_semaphore_sync *sem, size_t n,
                                struct cfut_semaphore_permit *permit)
{
    struct cfut__semaphore *c = sem->shared;
    CFUT_ASSERT(c != NULL, "semaphore: acquire on an empty handle");
    return try_acquire(lock_of(c), c, n, permit);
}

void
cfut_semaphore_sync_acquire_init(struct cfut_semaphore_acquire *f,
                                 const struct cfut_semaphore_sync *sem,
                                 size_t n)
{
    CFUT_ASSERT(sem->shared != NULL, "semaphore: acquire on an empty handle");
    acquire_init(f, lock_of(sem->shared), sem->shared, n);
}

int
cfut_semaphore_sync_add_permits(const struct cfut_semaphore_sync *sem, size_t n)
{
    struct cfut__semaphore *c = sem->shared;
    CFUT_ASSERT(c != NULL, "semaphore: add to an empty handle");
    return add(lock_of(c), c, n);
}

void
cfut_semaphore_sync_close(const struct cfut_semaphore_sync *sem)
{
    struct cfut__semaphore *c = sem->shared;
    CFUT_ASSERT(c != NULL, "semaphore: close of an empty handle");
    close_sem(lock_of(c), c);
}

bool
cfut_semaphore_sync_is_closed(const struct cfut_semaphore_sync *sem)
{
    CFUT_ASSERT(sem->shared != NULL, "semaphore: is_closed on an empty handle");
    return peek(lock_of(sem->shared), sem->shared, true) == 1;
}

size_t
cfut_semaphore_sync_available(const struct cfut_semaphore_sync *sem)
{
    struct cfut__semaphore *c = sem->shared;
    CFUT_ASSERT(c != NULL, "semaphore: available on an empty handle");
    return peek(lock_of(c), c, false);
}
