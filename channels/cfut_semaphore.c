/*
 * cfut_semaphore.c: the semaphore, both kinds. Its calls are written once,
 * around the core of cfut_semaphore_core_int.h, for a lock 'm' (see
 * cfut_kind_int.h): NULL in the local kind (Rust's Rc<RefCell>: no lock,
 * no atomics, wakes the waiters it serves at once), the state's mutex in
 * the thread-safe kind (Arc<Mutex>: lock, core, unlock, wake). Each kind's
 * public functions bind the calls.
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
static inline void
end(struct cfut__call *k, struct cfut__semaphore *c, bool unreferenced)
{
    cfut__call_end(k);
    if (unreferenced)
        cfut__kind_free(k->m, c);
}

static inline struct cfut__semaphore *
retain(pthread_mutex_t *m, struct cfut__semaphore *c)
{
    CFUT_ASSERT(c != NULL, "semaphore: clone of an empty handle");
    cfut__kind_lock(m);
    c->refs++;
    cfut__kind_unlock(m);
    return c;
}

static inline void
handle_drop(pthread_mutex_t *m, struct cfut__semaphore *c)
{
    struct cfut__call k;
    cfut__call_begin(&k, m);
    end(&k, c, cfut__semaphore_unref(c));
}

/* try_acquire: 0 (then a permit of 'n' holds a reference), or the error. */
static inline int
try_acquire(pthread_mutex_t *m, struct cfut__semaphore *c, size_t n)
{
    CFUT_ASSERT(c != NULL, "semaphore: acquire on an empty handle");
    cfut__kind_lock(m);
    int rc = cfut__semaphore_try_acquire(c, n);
    cfut__kind_unlock(m);
    return rc;
}

/* The acquire future's poll; READY writes the status and the permit's 'n'
 * (0 unless CFUT_OK) to the output 'o'. */
static inline enum cfut_poll
acquire_poll(pthread_mutex_t *m, struct cfut__semaphore *c,
             struct cfut__semaphore_waiter *w, struct cfut_context *cx,
             struct cfut_semaphore_acquired *o)
{
    cfut__kind_lock(m);
    enum cfut_poll r = cfut__semaphore_acquire_poll(c, w, cx, &o->status);
    cfut__kind_unlock(m);
    if (r == CFUT_READY)
        o->permit.n = o->status == CFUT_OK ? w->n : 0;
    return r;
}

static inline void
acquire_drop(pthread_mutex_t *m, struct cfut__semaphore *c,
             struct cfut__semaphore_waiter *w)
{
    struct cfut__call k;
    cfut__call_begin(&k, m);
    end(&k, c, cfut__semaphore_acquire_gone(c, w, &k.batch, &k.wl));
}

/* A permit of 'n' goes: given back, or with 'forget', gone for good. */
static inline void
permit_end(pthread_mutex_t *m, struct cfut__semaphore *c, size_t n, bool forget)
{
    struct cfut__call k;
    cfut__call_begin(&k, m);
    end(&k, c,
        forget ? cfut__semaphore_permit_forgotten(c, n)
               : cfut__semaphore_permit_gone(c, n, &k.batch));
}

static inline int
add(pthread_mutex_t *m, struct cfut__semaphore *c, size_t n)
{
    CFUT_ASSERT(c != NULL, "semaphore: add to an empty handle");
    struct cfut__call k;
    cfut__call_begin(&k, m);
    int rc = cfut__semaphore_add(c, n, &k.batch);
    cfut__call_end(&k);
    return rc;
}

static inline void
close_sem(pthread_mutex_t *m, struct cfut__semaphore *c)
{
    CFUT_ASSERT(c != NULL, "semaphore: close of an empty handle");
    struct cfut__call k;
    cfut__call_begin(&k, m);
    cfut__semaphore_close(c, &k.batch);
    cfut__call_end(&k);
}

/* Reads the closed flag ('closed') or the count available. */
static inline size_t
peek(pthread_mutex_t *m, const struct cfut__semaphore *c, bool closed)
{
    CFUT_ASSERT(c != NULL, "semaphore: a look at an empty handle");
    cfut__kind_lock(m);
    size_t v = closed ? (size_t)c->closed : c->available;
    cfut__kind_unlock(m);
    return v;
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
    int rc = try_acquire(NULL, sem->shared, n);
    if (rc == CFUT_OK)
        *permit = (struct cfut_semaphore_permit){n, sem->shared};
    return rc;
}

static enum cfut_poll
local_poll(struct cfut_future *fut, struct cfut_context *cx, void *out)
{
    struct cfut_semaphore_acquire *f =
        cfut_container_of(fut, struct cfut_semaphore_acquire, base);
    struct cfut_semaphore_acquired *o = out;
    enum cfut_poll r = acquire_poll(NULL, f->shared, &f->waiter, cx, o);
    if (r == CFUT_READY)
        o->permit.shared = o->status == CFUT_OK ? f->shared : NULL;
    return r;
}

static void
local_drop(struct cfut_future *fut)
{
    struct cfut_semaphore_acquire *f =
        cfut_container_of(fut, struct cfut_semaphore_acquire, base);
    acquire_drop(NULL, f->shared, &f->waiter);
}

static const struct cfut_future_vtable local_vtable = {
    local_poll, local_drop, sizeof(struct cfut_semaphore_acquired),
    "semaphore_acquire", NULL};

void
cfut_semaphore_acquire_init(struct cfut_semaphore_acquire *f,
                            const struct cfut_semaphore *sem, size_t n)
{
    f->shared = retain(NULL, sem->shared);
    cfut__semaphore_waiter_init(&f->waiter, n);
    cfut_future_init(&f->base, &local_vtable);
}

void
cfut_semaphore_permit_drop(struct cfut_semaphore_permit *permit)
{
    if (permit->shared != NULL)
        permit_end(NULL, permit->shared, permit->n, false);
    *permit = (struct cfut_semaphore_permit){0, NULL};
}

void
cfut_semaphore_permit_forget(struct cfut_semaphore_permit *permit)
{
    if (permit->shared != NULL)
        permit_end(NULL, permit->shared, permit->n, true);
    *permit = (struct cfut_semaphore_permit){0, NULL};
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
                                struct cfut_semaphore_sync_permit *permit)
{
    struct cfut__semaphore *c = sem->shared;
    CFUT_ASSERT(c != NULL, "semaphore: acquire on an empty handle");
    int rc = try_acquire(lock_of(c), c, n);
    if (rc != CFUT_OK)
        return rc;
    permit->n = n;
    permit->shared = c;
    return CFUT_OK;
}

static enum cfut_poll
sync_poll(struct cfut_future *fut, struct cfut_context *cx, void *out)
{
    struct cfut_semaphore_sync_acquire *f =
        cfut_container_of(fut, struct cfut_semaphore_sync_acquire, base);
    struct cfut_semaphore_sync_acquired *o = out;
    struct cfut_semaphore_acquired a;
    if (acquire_poll(lock_of(f->shared), f->shared, &f->waiter, cx, &a) ==
        CFUT_PENDING)
        return CFUT_PENDING;
    o->status = a.status;
    o->permit.n = a.permit.n;
    o->permit.shared = a.status == CFUT_OK ? f->shared : NULL;
    return CFUT_READY;
}

static void
sync_drop(struct cfut_future *fut)
{
    struct cfut_semaphore_sync_acquire *f =
        cfut_container_of(fut, struct cfut_semaphore_sync_acquire, base);
    struct cfut__semaphore *c = f->shared;
    acquire_drop(lock_of(c), c, &f->waiter);
}

static const struct cfut_future_vtable sync_vtable = {
    sync_poll, sync_drop, sizeof(struct cfut_semaphore_sync_acquired),
    "semaphore_sync_acquire", NULL};

void
cfut_semaphore_sync_acquire_init(struct cfut_semaphore_sync_acquire *f,
                                 const struct cfut_semaphore_sync *sem,
                                 size_t n)
{
    struct cfut_semaphore_sync ref = cfut_semaphore_sync_clone(sem);
    cfut_future_init(&f->base, &sync_vtable);
    f->shared = ref.shared;
    cfut__semaphore_waiter_init(&f->waiter, n);
}

void
cfut_semaphore_sync_permit_drop(struct cfut_semaphore_sync_permit *permit)
{
    struct cfut__semaphore *c = permit->shared;
    size_t n = permit->n;
    permit->shared = NULL;
    permit->n = 0;
    if (c != NULL)
        permit_end(lock_of(c), c, n, false);
}

void
cfut_semaphore_sync_permit_forget(struct cfut_semaphore_sync_permit *permit)
{
    struct cfut__semaphore *c = permit->shared;
    if (c != NULL)
        permit_end(lock_of(c), c, permit->n, true);
    permit->shared = NULL;
    permit->n = 0;
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
