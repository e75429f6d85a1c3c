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
    struct cfut__lock lock;
};

/* The lock of a thread-safe state (NULL for NULL: an empty handle). */
static inline struct cfut__lock *
lock_of(struct cfut__semaphore *c)
{
    return c != NULL ? &cfut_container_of(c, struct semaphore_sync, core)->lock
                     : NULL;
}

/* ---- the calls, for either kind ---- */

/* A new state of the thread-safe kind ('is_sync') or the local one with
 * 'permits' available, or NULL with CFUT_EINVAL or CFUT_ENOMEM in '*rc'. */
static struct cfut__semaphore *
create(bool is_sync, size_t permits, bool has_handle, int *rc)
{
    *rc = CFUT_EINVAL;
    if (!has_handle || permits > CFUT_SEMAPHORE_MAX_PERMITS)
        return NULL;
    *rc = CFUT_ENOMEM;
    struct cfut__semaphore *c =
        cfut_alloc(is_sync ? sizeof(struct semaphore_sync)
                           : sizeof(struct cfut__semaphore));
    if (c != NULL && cfut__semaphore_core_init(c, permits)) {
        cfut__kind_lock_init(is_sync ? lock_of(c) : NULL);
        *rc = CFUT_OK;
    }
    return c;
}

CFUT__KIND_INLINE void
handle_drop(struct cfut__lock *m, struct cfut__semaphore *c)
{
    CFUT__KIND_RELEASE(m, k, c, cfut__semaphore_unref(c), cfut__kind_free);
}

/* try_acquire: 0 with 'n' permits in '*permit' (which holds a reference),
 * or the error with '*permit' untouched. */
CFUT__KIND_INLINE int
try_acquire(struct cfut__lock *m, struct cfut__semaphore *c, size_t n,
            struct cfut_semaphore_permit *permit)
{
    int rc;
    CFUT__KIND_LOCKED(m, c, rc = cfut__semaphore_try_acquire(c, n));
    if (rc == CFUT_OK)
        *permit = (struct cfut_semaphore_permit){n, c, m};
    return rc;
}

/* A permit of the kind of 'm' goes: its permits given back, or with
 * 'forget', gone for good. */
CFUT__KIND_INLINE void
permit_end(struct cfut__lock *m, struct cfut_semaphore_permit *permit,
           bool forget)
{
    struct cfut__semaphore *c = permit->shared;
    size_t n = permit->n;
    *permit = (struct cfut_semaphore_permit){0, NULL, NULL};
    if (c == NULL)
        return;
    CFUT__KIND_RELEASE(m, k, c,
                       forget ? cfut__semaphore_permit_forgotten(c, n)
                              : cfut__semaphore_permit_gone(c, n, &k.batch),
                       cfut__kind_free);
}

CFUT__KIND_INLINE int
add(struct cfut__lock *m, struct cfut__semaphore *c, size_t n)
{
    int rc;
    CFUT__KIND_CALL(m, k, c, rc = cfut__semaphore_add(c, n, &k.batch));
    return rc;
}

CFUT__KIND_INLINE void
close_sem(struct cfut__lock *m, struct cfut__semaphore *c)
{
    CFUT__KIND_CALL(m, k, c, cfut__semaphore_close(c, &k.batch));
}

/* Reads the count available. */
CFUT__KIND_INLINE size_t
available(struct cfut__lock *m, const struct cfut__semaphore *c)
{
    size_t v;
    CFUT__KIND_LOCKED(m, c, v = c->available);
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

/* A READY acquire future that holds nothing (see acquire_core()). */
static const struct cfut_future_vtable acquire_done_vtable;

/* Polls 'f' (with its kind's lock held); a permit in the output takes the
 * future's reference with it. When it is READY with the permits and holds
 * no waker (an acquire that had room at its first poll), nothing is left
 * for its drop: it switches to a vtable without one, so dropping it takes
 * no lock and no call. */
static inline enum cfut_poll
acquire_core(struct cfut_semaphore_acquire *f, struct cfut_context *cx,
             void *out)
{
    struct cfut_semaphore_acquired *o = out;
    int status = CFUT_OK;
    enum cfut_poll r =
        cfut__semaphore_acquire_poll(f->shared, &f->waiter, cx, &status);
    if (r == CFUT_READY) {
        o->status = status;
        o->permit = (struct cfut_semaphore_permit){0, NULL, NULL};
        if (status == CFUT_OK) {
            o->permit =
                (struct cfut_semaphore_permit){f->waiter.n, f->shared, f->lock};
            if (f->waiter.w.waker.vtable == NULL && !f->waiter.w.is_linked)
                f->base.vtable = &acquire_done_vtable;
        }
    }
    return r;
}

/* The future goes: its place and its permits, then its reference. */
CFUT__KIND_INLINE void
acquire_gone(struct cfut__lock *m, struct cfut_semaphore_acquire *f)
{
    struct cfut__semaphore *c = f->shared;
    CFUT__KIND_RELEASE(
        m, k, c, cfut__semaphore_acquire_gone(c, &f->waiter, &k.batch, k.wl),
        cfut__kind_free);
}

CFUT__KIND_FUTURE(acquire, struct cfut_semaphore_acquire,
                  struct cfut__semaphore, CFUT__KIND_WAITER_LATER, acquire_core,
                  acquire_gone, sizeof(struct cfut_semaphore_acquired),
                  "semaphore_acquire", NULL)

/* Polling a READY acquire again breaks the contract (debug builds abort
 * before); it stays PENDING, like a terminated fuse. */
static enum cfut_poll
acquire_done_poll(struct cfut_future *fut, struct cfut_context *cx, void *out)
{
    (void)fut, (void)cx, (void)out;
    return CFUT_PENDING;
}

static const struct cfut_future_vtable acquire_done_vtable = {
    acquire_done_poll, NULL, sizeof(struct cfut_semaphore_acquired),
    "semaphore_acquire", NULL};

/* Initialises 'f' to acquire 'n' of 'c' (a reference of its own), of the
 * kind of 'm'. */
static void
acquire_init(struct cfut_semaphore_acquire *f, struct cfut__lock *m,
             struct cfut__semaphore *c, size_t n)
{
    CFUT__KIND_LOCKED(m, c, c->refs++); /* never full: cfut__count_up_size() */
    acquire_start(f, m, c);
    cfut__semaphore_waiter_init(&f->waiter, n);
}

/* ---- the public functions, once for each kind ---- */

/*
 * Defines the public functions of one kind: 'K' is its prefix
 * (cfut_semaphore or cfut_semaphore_sync), 'LOCK'(c) the lock of a state
 * (CFUT__KIND_NO_LOCK in the local kind), 'IS_SYNC' whether it has one.
 */
#define BIND_KIND(K, LOCK, IS_SYNC)                                            \
    int K##_new(size_t permits, struct K *sem)                                 \
    {                                                                          \
        int rc;                                                                \
        struct cfut__semaphore *c =                                            \
            create(IS_SYNC, permits, sem != NULL, &rc);                        \
        if (c != NULL)                                                         \
            sem->shared = c;                                                   \
        return rc;                                                             \
    }                                                                          \
    CFUT__KIND_HANDLE(K, cfut__count_up_size, refs,                            \
                      "semaphore: too many references", handle_drop, LOCK)     \
    int K##_try_acquire(const struct K *sem, size_t n,                         \
                        struct cfut_semaphore_permit *permit)                  \
    {                                                                          \
        return try_acquire(LOCK(sem->shared), sem->shared, n, permit);         \
    }                                                                          \
    void K##_acquire_init(struct cfut_semaphore_acquire *f,                    \
                          const struct K *sem, size_t n)                       \
    {                                                                          \
        acquire_init(f, LOCK(sem->shared), sem->shared, n);                    \
    }                                                                          \
    int K##_add_permits(const struct K *sem, size_t n)                         \
    {                                                                          \
        return add(LOCK(sem->shared), sem->shared, n);                         \
    }                                                                          \
    void K##_close(const struct K *sem)                                        \
    {                                                                          \
        close_sem(LOCK(sem->shared), sem->shared);                             \
    }                                                                          \
    CFUT__KIND_FLAG(K##_is_closed, K, closed, LOCK)                            \
    size_t K##_available(const struct K *sem)                                  \
    {                                                                          \
        return available(LOCK(sem->shared), sem->shared);                      \
    }

BIND_KIND(cfut_semaphore, CFUT__KIND_NO_LOCK, false)
BIND_KIND(cfut_semaphore_sync, lock_of, true)
