/*
 * cfut_watch.c: the watch channel, both kinds. Its calls are written once,
 * around the core of cfut_watch_core_int.h, for a lock 'm' (see
 * cfut_kind_int.h): NULL in the local kind (Rust's Rc<RefCell>: no lock,
 * no atomics, wakes at once), the state's mutex in the thread-safe kind
 * (Arc<Mutex>: lock, core, unlock, wake). Each kind's public functions
 * bind them. A send writes the idle slot before locking and releases the
 * replaced value after unlocking; receivers copy under the lock. Only the
 * local kind lends the value in place (cfut_watch_borrow()).
 */
#include "cfut_watch.h"

#include "cfut_kind_int.h"
#include "cfut_watch_core_int.h"

/* The thread-safe kind's state: the core (where the handles point), then
 * its mutex; the slots follow. */
struct watch_sync {
    struct cfut__watch core;
    pthread_mutex_t lock;
};

#define HDR_LOCAL CFUT__ALIGN_UP(sizeof(struct cfut__watch), CFUT__MAX_ALIGN)
#define HDR_SYNC CFUT__ALIGN_UP(sizeof(struct watch_sync), CFUT__MAX_ALIGN)

/* The lock of a thread-safe state. */
static inline pthread_mutex_t *
lock_of(struct cfut__watch *c)
{
    return &cfut_container_of(c, struct watch_sync, core)->lock;
}

/* ---- the calls, for either kind ---- */

/* A new state with 'hdr' bytes before its slots, or NULL (see
 * cfut__watch_alloc() for '*rc'). */
static struct cfut__watch *
create(size_t hdr, size_t value_size, const void *initial,
       const struct cfut_channel_value_ops *ops, bool has_handles, int *rc)
{
    struct cfut__watch *c = cfut__watch_alloc(hdr, value_size, has_handles, rc);
    if (c != NULL) {
        cfut__watch_core_init(c, c, hdr, value_size, initial, ops);
        *rc = CFUT_OK;
    }
    return c;
}

/* Frees 'c' if 'unreferenced' (no lock held: nothing else can reach it). */
CFUT__KIND_INLINE void
free_if(pthread_mutex_t *m, struct cfut__watch *c, bool unreferenced)
{
    if (unreferenced) {
        cfut__watch_core_deinit(c);
        cfut__kind_free(m, c);
    }
}

CFUT__KIND_INLINE int
send(pthread_mutex_t *m, struct cfut__watch *c, const void *value)
{
    CFUT_ASSERT(c != NULL, "watch: send on an empty sender");
    struct cfut__call k;
    cfut__watch_stage(c, value); /* the idle slot: the sender's alone */
    cfut__call_begin(&k, m);
    int rc = cfut__watch_publish(c, &k.batch);
    cfut__call_end(&k);
    if (rc == CFUT_OK)
        cfut__watch_drop_replaced(c);
    return rc;
}

CFUT__KIND_INLINE void
sender_drop(pthread_mutex_t *m, struct cfut__watch *c)
{
    struct cfut__call k;
    cfut__call_begin(&k, m);
    bool unreferenced = cfut__watch_sender_gone(c, &k.batch);
    cfut__call_end(&k);
    free_if(m, c, unreferenced);
}

/* A receiver of 'c' more, that has seen version '*seen' (the current one
 * when 'seen' is NULL); returns the version it has seen. */
CFUT__KIND_INLINE uint64_t
add_receiver(pthread_mutex_t *m, struct cfut__watch *c, const uint64_t *seen)
{
    CFUT_ASSERT(c != NULL, "watch: a receiver of an empty handle");
    cfut__kind_lock(m);
    bool ok = cfut__watch_receiver_added(c);
    uint64_t v = seen != NULL ? *seen : c->version;
    cfut__kind_unlock(m);
    CFUT_ASSERT(ok, "watch: too many receivers");
    return v;
}

CFUT__KIND_INLINE void
receiver_drop(pthread_mutex_t *m, struct cfut__watch *c)
{
    cfut__kind_lock(m);
    bool unreferenced = cfut__watch_receiver_gone(c);
    cfut__kind_unlock(m);
    free_if(m, c, unreferenced);
}

/* Copies the current value to 'out' and marks it seen in '*seen';
 * returns its version. */
CFUT__KIND_INLINE uint64_t
get(pthread_mutex_t *m, struct cfut__watch *c, void *out, uint64_t *seen)
{
    CFUT_ASSERT(c != NULL, "watch: get on an empty receiver");
    cfut__kind_lock(m);
    uint64_t v = cfut__watch_get(c, out, seen);
    cfut__kind_unlock(m);
    return v;
}

/* Tells whether a version newer than 'seen' is there. */
CFUT__KIND_INLINE bool
is_newer(pthread_mutex_t *m, const struct cfut__watch *c, uint64_t seen)
{
    CFUT_ASSERT(c != NULL, "watch: has_changed on an empty receiver");
    cfut__kind_lock(m);
    bool newer = c->version != seen;
    cfut__kind_unlock(m);
    return newer;
}

CFUT__KIND_INLINE bool
is_closed(pthread_mutex_t *m, struct cfut__watch *c)
{
    CFUT_ASSERT(c != NULL, "watch: is_closed on an empty sender");
    cfut__kind_lock(m);
    bool closed = c->n_receivers == 0;
    cfut__kind_unlock(m);
    return closed;
}

/* ---- the changed future, of either kind ---- */

/* changed_poll() for the lock 'm' of the future's kind. */
CFUT__KIND_INLINE enum cfut_poll
changed_poll_in(pthread_mutex_t *m, struct cfut_watch_changed *f,
                struct cfut_context *cx, void *out)
{
    cfut__kind_lock(m);
    enum cfut_poll r =
        cfut__watch_changed_poll(f->shared, &f->waiter, f->seen, cx, out);
    cfut__kind_unlock(m);
    return r;
}

static enum cfut_poll
changed_poll(struct cfut_future *fut, struct cfut_context *cx, void *out)
{
    struct cfut_watch_changed *f =
        cfut_container_of(fut, struct cfut_watch_changed, base);
    return CFUT__KIND_DISPATCH(changed_poll_in, f->lock, f, cx, out);
}

static void
changed_drop(struct cfut_future *fut)
{
    struct cfut_watch_changed *f =
        cfut_container_of(fut, struct cfut_watch_changed, base);
    cfut__call_waiter_gone(f->lock, &f->waiter);
}

static const struct cfut_future_vtable changed_vtable = {
    changed_poll, changed_drop, sizeof(int), "watch_changed", NULL};

/* Initialises 'f' for the receiver of 'c' whose version seen is '*seen',
 * of the kind of 'm'. */
static void
changed_init(struct cfut_watch_changed *f, pthread_mutex_t *m,
             struct cfut__watch *c, uint64_t *seen)
{
    CFUT_ASSERT(c != NULL, "watch: changed on an empty receiver");
    cfut_future_init(&f->base, &changed_vtable);
    f->shared = c;
    f->lock = m;
    f->seen = seen;
    cfut__waiter_init(&f->waiter);
}

/* ---- the local kind ---- */

int
cfut_watch_new(size_t value_size, const void *initial,
               const struct cfut_channel_value_ops *ops,
               struct cfut_watch_sender *tx, struct cfut_watch_receiver *rx)
{
    int rc;
    struct cfut__watch *c = create(HDR_LOCAL, value_size, initial, ops,
                                   tx != NULL && rx != NULL, &rc);
    if (c != NULL)
        *tx = (struct cfut_watch_sender){c},
        *rx = (struct cfut_watch_receiver){c, 0};
    return rc;
}

int
cfut_watch_send(struct cfut_watch_sender *tx, const void *value)
{
    return send(NULL, tx->shared, value);
}

struct cfut_watch_receiver
cfut_watch_subscribe(const struct cfut_watch_sender *tx)
{
    struct cfut_watch_receiver rx = {tx->shared, 0};
    rx.seen = add_receiver(NULL, rx.shared, NULL);
    return rx;
}

bool
cfut_watch_sender_is_closed(const struct cfut_watch_sender *tx)
{
    return is_closed(NULL, tx->shared);
}

void
cfut_watch_sender_drop(struct cfut_watch_sender *tx)
{
    if (tx->shared != NULL)
        sender_drop(NULL, tx->shared);
    tx->shared = NULL;
}

struct cfut_watch_receiver
cfut_watch_receiver_clone(const struct cfut_watch_receiver *rx)
{
    return (struct cfut_watch_receiver){
        rx->shared, add_receiver(NULL, rx->shared, &rx->seen)};
}

void
cfut_watch_receiver_drop(struct cfut_watch_receiver *rx)
{
    struct cfut__watch *c = rx->shared;
    rx->shared = NULL;
    if (c != NULL)
        receiver_drop(NULL, c);
}

uint64_t
cfut_watch_get(struct cfut_watch_receiver *rx, void *out)
{
    return get(NULL, rx->shared, out, &rx->seen);
}

bool
cfut_watch_has_changed(const struct cfut_watch_receiver *rx)
{
    return is_newer(NULL, rx->shared, rx->seen);
}

const void *
cfut_watch_borrow(struct cfut_watch_receiver *rx, uint64_t *version)
{
    CFUT_ASSERT(rx->shared != NULL, "watch: borrow on an empty receiver");
    const struct cfut__watch *c = rx->shared;
    rx->seen = c->version;
    if (version != NULL)
        *version = c->version;
    return cfut__watch_slot(c, c->cur);
}

void
cfut_watch_changed_init(struct cfut_watch_changed *f,
                        struct cfut_watch_receiver *rx)
{
    changed_init(f, NULL, rx->shared, &rx->seen);
}

/* ---- the thread-safe kind ---- */

int
cfut_watch_sync_new(size_t value_size, const void *initial,
                    const struct cfut_channel_value_ops *ops,
                    struct cfut_watch_sync_sender *tx,
                    struct cfut_watch_sync_receiver *rx)
{
    int rc = CFUT_OK;
    struct cfut__watch *c = create(HDR_SYNC, value_size, initial, ops,
                                   tx != NULL && rx != NULL, &rc);
    if (c == NULL)
        return rc;
    pthread_mutex_init(lock_of(c), NULL);
    tx->shared = c;
    *rx = (struct cfut_watch_sync_receiver){c, 0};
    return CFUT_OK;
}

int
cfut_watch_sync_send(struct cfut_watch_sync_sender *tx, const void *value)
{
    return send(lock_of(tx->shared), tx->shared, value);
}

struct cfut_watch_sync_receiver
cfut_watch_sync_subscribe(const struct cfut_watch_sync_sender *tx)
{
    struct cfut__watch *c = tx->shared;
    return (struct cfut_watch_sync_receiver){c,
                                             add_receiver(lock_of(c), c, NULL)};
}

bool
cfut_watch_sync_sender_is_closed(const struct cfut_watch_sync_sender *tx)
{
    return is_closed(lock_of(tx->shared), tx->shared);
}

void
cfut_watch_sync_sender_drop(struct cfut_watch_sync_sender *tx)
{
    struct cfut__watch *c = tx->shared;
    tx->shared = NULL;
    if (c != NULL)
        sender_drop(lock_of(c), c);
}

struct cfut_watch_sync_receiver
cfut_watch_sync_receiver_clone(const struct cfut_watch_sync_receiver *rx)
{
    struct cfut_watch_sync_receiver twin = *rx;
    twin.seen = add_receiver(lock_of(twin.shared), twin.shared, &rx->seen);
    return twin;
}

void
cfut_watch_sync_receiver_drop(struct cfut_watch_sync_receiver *rx)
{
    if (rx->shared != NULL)
        receiver_drop(lock_of(rx->shared), rx->shared);
    rx->shared = NULL;
}

uint64_t
cfut_watch_sync_get(struct cfut_watch_sync_receiver *rx, void *out)
{
    return get(lock_of(rx->shared), rx->shared, out, &rx->seen);
}

bool
cfut_watch_sync_has_changed(const struct cfut_watch_sync_receiver *rx)
{
    const struct cfut__watch *c = rx->shared;
    CFUT_ASSERT(c != NULL, "watch: has_changed on an empty receiver");
    return is_newer(lock_of(rx->shared), c, rx->seen);
}

void
cfut_watch_sync_changed_init(struct cfut_watch_changed *f,
                             struct cfut_watch_sync_receiver *rx)
{
    struct cfut__watch *c = rx->shared;
    changed_init(f, c != NULL ? lock_of(c) : NULL, c, &rx->seen);
}
