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
    struct cfut__lock lock;
};

#define HDR_LOCAL CFUT__ALIGN_UP(sizeof(struct cfut__watch), CFUT__MAX_ALIGN)
#define HDR_SYNC CFUT__ALIGN_UP(sizeof(struct watch_sync), CFUT__MAX_ALIGN)

/* The lock of a thread-safe state (NULL for NULL: an empty handle). */
static inline struct cfut__lock *
lock_of(const struct cfut__watch *c)
{
    return c != NULL ? &cfut_container_of(c, struct watch_sync, core)->lock
                     : NULL;
}

/* ---- the calls, for either kind ---- */

/*
 * Creates a state of the thread-safe kind ('is_sync') or the local one,
 * holding 'initial' as version 0, and points the new sender's '*tx' and
 * receiver's '*rx' at it, the receiver having seen version 0 ('*rx_seen').
 * Returns 0, or the error of cfut__watch_alloc() with nothing written
 * ('initial' still the caller's).
 */
static int
create(bool is_sync, size_t value_size, const void *initial,
       const struct cfut_channel_value_ops *ops, struct cfut__watch **tx,
       struct cfut__watch **rx, uint64_t *rx_seen)
{
    int rc;
    size_t hdr = is_sync ? HDR_SYNC : HDR_LOCAL;
    struct cfut__watch *c = cfut__watch_alloc(hdr, value_size, true, &rc);
    if (c != NULL) {
        cfut__watch_core_init(c, c, hdr, value_size, initial, ops);
        cfut__kind_lock_init(is_sync ? lock_of(c) : NULL);
        *tx = *rx = c, *rx_seen = 0;
    }
    return c != NULL ? CFUT_OK : rc;
}

/* Frees 'c' (no lock held: nothing else can reach it). */
static inline void
free_state(struct cfut__lock *m, struct cfut__watch *c)
{
    cfut__watch_core_deinit(c);
    cfut__kind_free(m, c);
}

CFUT__KIND_INLINE int
send(struct cfut__lock *m, struct cfut__watch *c, const void *value)
{
    int rc;
    cfut__watch_stage(c, value); /* the idle slot: the sender's alone */
    CFUT__KIND_CALL(m, k, c, rc = cfut__watch_publish(c, &k.batch));
    if (rc == CFUT_OK)
        cfut__watch_drop_replaced(c);
    return rc;
}

/* A receiver of 'c' more, that has seen version '*seen' (the current one
 * when 'seen' is NULL); returns the version it has seen. */
CFUT__KIND_INLINE uint64_t
add_receiver(struct cfut__lock *m, struct cfut__watch *c, const uint64_t *seen)
{
    uint64_t v;
    CFUT__KIND_COUNT_UP(m, c, cfut__count_up, n_receivers,
                        "watch: too many receivers");
    CFUT__KIND_LOCKED(m, c, v = seen != NULL ? *seen : c->version);
    return v;
}

CFUT__KIND_INLINE void
receiver_drop(struct cfut__lock *m, struct cfut__watch *c)
{
    CFUT__KIND_RELEASE(m, k, c, cfut__watch_receiver_gone(c), free_state);
}

/* Copies the current value to 'out' and marks it seen in '*seen';
 * returns its version. */
CFUT__KIND_INLINE uint64_t
get(struct cfut__lock *m, struct cfut__watch *c, void *out, uint64_t *seen)
{
    uint64_t v;
    CFUT__KIND_LOCKED(m, c, v = cfut__watch_get(c, out, seen));
    return v;
}

/* Tells whether a version newer than 'seen' is there. */
CFUT__KIND_INLINE bool
is_newer(struct cfut__lock *m, const struct cfut__watch *c, uint64_t seen)
{
    bool newer;
    CFUT__KIND_LOCKED(m, c, newer = c->version != seen);
    return newer;
}

CFUT__KIND_INLINE bool
is_closed(struct cfut__lock *m, struct cfut__watch *c)
{
    bool closed;
    CFUT__KIND_LOCKED(m, c, closed = c->n_receivers == 0);
    return closed;
}

/* ---- the changed future, of either kind ---- */

/* Polls 'f' (with its kind's lock held). */
static inline enum cfut_poll
changed_core(struct cfut_watch_changed *f, struct cfut_context *cx, void *out)
{
    return cfut__watch_changed_poll(f->shared, &f->waiter, f->seen, cx, out);
}

CFUT__KIND_FUTURE(changed, struct cfut_watch_changed, struct cfut__watch,
                  cfut__kind_waiter_init, changed_core, cfut__kind_waiter_gone,
                  sizeof(int), "watch_changed", NULL)

/* ---- the public functions, once for each kind ---- */

/*
 * Defines the public functions of one kind: 'K' is its prefix (cfut_watch
 * or cfut_watch_sync), 'LOCK'(c) the lock of a state (CFUT__KIND_NO_LOCK
 * in the local kind), 'IS_SYNC' whether it has one.
 */
#define BIND_KIND(K, LOCK, IS_SYNC)                                            \
    CFUT__KIND_NEW_PAIR(K, IS_SYNC, size_t value_size, value_size,             \
                        const void *initial, initial, seen)                    \
    int K##_send(struct K##_sender *tx, const void *value)                     \
    {                                                                          \
        return send(LOCK(tx->shared), tx->shared, value);                      \
    }                                                                          \
    struct K##_receiver K##_subscribe(const struct K##_sender *tx)             \
    {                                                                          \
        return (struct K##_receiver){                                          \
            tx->shared, add_receiver(LOCK(tx->shared), tx->shared, NULL)};     \
    }                                                                          \
    bool K##_sender_is_closed(const struct K##_sender *tx)                     \
    {                                                                          \
        return is_closed(LOCK(tx->shared), tx->shared);                        \
    }                                                                          \
    CFUT__KIND_DROP_VIA(K##_sender, cfut__watch_sender_gone, free_state, LOCK) \
    struct K##_receiver K##_receiver_clone(const struct K##_receiver *rx)      \
    {                                                                          \
        return (struct K##_receiver){                                          \
            rx->shared,                                                        \
            add_receiver(LOCK(rx->shared), rx->shared, &rx->seen)};            \
    }                                                                          \
    CFUT__KIND_DROP(K##_receiver, receiver_drop, LOCK)                         \
    uint64_t K##_get(struct K##_receiver *rx, void *out)                       \
    {                                                                          \
        return get(LOCK(rx->shared), rx->shared, out, &rx->seen);              \
    }                                                                          \
    bool K##_has_changed(const struct K##_receiver *rx)                        \
    {                                                                          \
        return is_newer(LOCK(rx->shared), rx->shared, rx->seen);               \
    }                                                                          \
    void K##_changed_init(struct cfut_watch_changed *f,                        \
                          struct K##_receiver *rx)                             \
    {                                                                          \
        changed_start(f, LOCK(rx->shared), rx->shared);                        \
        f->seen = &rx->seen;                                                   \
    }

BIND_KIND(cfut_watch, CFUT__KIND_NO_LOCK, false)
BIND_KIND(cfut_watch_sync, lock_of, true)

/* The local kind only: the value in place. */
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
