/*
 * cfut_oneshot_sync.c: the thread-safe oneshot channel (Rust's
 * Arc<Mutex>): the core of cfut_oneshot_core_int.h guarded by a mutex, and
 * an atomic count of its halves, so the last one frees the state without
 * the lock. Each call locks, runs the core, unlocks, then wakes what the
 * core released (a wake may run executor code). It does not spin and does
 * not allocate after creation.
 */
#include "cfut_oneshot.h"

#include "cfut_lock_int.h"
#include <stdatomic.h>
#include <stdint.h>

#include "cfut_oneshot_core_int.h"
#include "cfut_oneshot_int.h"

struct cfut__oneshot_sync {
    struct cfut__lock lock;         /* first: its address is the block's */
    struct cfut__oneshot_core core; /* guarded by 'lock' */
    atomic_uint refs; /* sender + receiver + closed future (+ storage) */
    /*
     * Immutable: the state is in caller storage, which holds a reference
     * of its own that is never released. A half then lets go of its
     * reference before it unlocks, and touches nothing of the state after
     * that unlock: once the receiver has seen the value (or the sender's
     * drop) under the lock, the other thread is done with the storage.
     */
    bool in_storage;
};

#define HDR_SIZE ((size_t)CFUT_ONESHOT_SYNC_HEADER_SIZE)
_Static_assert(sizeof(struct cfut__oneshot_sync) <=
                   CFUT_ONESHOT_SYNC_HEADER_SIZE,
               "CFUT_ONESHOT_SYNC_HEADER_SIZE is too small");
_Static_assert(CFUT_ONESHOT_SYNC_HEADER_SIZE % _Alignof(max_align_t) == 0,
               "CFUT_ONESHOT_SYNC_HEADER_SIZE must keep the value aligned");

static inline unsigned char *
slot(struct cfut__oneshot_sync *s)
{
    return (unsigned char *)s + HDR_SIZE;
}

/* Locks 's' and returns its core. */
static inline struct cfut__oneshot_core *
lock(struct cfut__oneshot_sync *s)
{
    cfut__lock(&s->lock);
    return &s->core;
}

static inline void
unlock(struct cfut__oneshot_sync *s)
{
    cfut__unlock(&s->lock);
}

/* Unlocks 's' and wakes what 'wl' holds, keeping the reference. */
static inline void
unlock_wake(struct cfut__oneshot_sync *s, struct cfut__wake_list *wl)
{
    cfut__wake_list_detach(wl);
    unlock(s);
    cfut__wake_list_run(wl);
}

/* Drops one reference (no lock held); the last one frees the state. */
static void
release(struct cfut__oneshot_sync *s)
{
    if (atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) != 1)
        return;
    cfut__lock_destroy(&s->lock);
    cfut__free_small(s, HDR_SIZE + s->core.value_size);
}

/*
 * The end of a call that let go of a half: unlock, wake, release. In
 * caller storage the reference goes first, under the lock (it cannot be
 * the last: the storage keeps one), so nothing follows the unlock.
 */
static inline void
unlock_wake_release(struct cfut__oneshot_sync *s, struct cfut__wake_list *wl)
{
    if (s->in_storage) {
        atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel);
        unlock_wake(s, wl);
        return;
    }
    unlock_wake(s, wl);
    release(s);
}

/* ---- receiver future ---- */

static enum cfut_poll
receiver_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct cfut__oneshot_sync *s =
        cfut_container_of(f, struct cfut_oneshot_sync_receiver, base)->shared;
    enum cfut_poll r = cfut__oneshot_poll(lock(s), slot(s), cx, out);
    unlock(s);
    return r;
}

static void
receiver_drop(struct cfut_future *f)
{
    struct cfut__oneshot_sync *s =
        cfut_container_of(f, struct cfut_oneshot_sync_receiver, base)->shared;
    struct cfut__wake_list wl = CFUT__WAKE_LIST_DEFERRED;
    bool had_value = cfut__oneshot_receiver_gone(lock(s), &wl);
    unlock_wake(s, &wl);
    /* The slot is ours alone now: no send can write it any more. */
    if (had_value)
        s->core.drop_value(slot(s));
    release(s);
}

static size_t
receiver_output_size(const struct cfut_future *f)
{
    const struct cfut_oneshot_sync_receiver *rx =
        cfut_container_of(f, struct cfut_oneshot_sync_receiver, base);
    return cfut__oneshot_output_size(&rx->shared->core);
}

static const struct cfut_future_vtable receiver_vtable = {
    receiver_poll, receiver_drop, CFUT_OUTPUT_DYNAMIC, "oneshot_sync_receiver",
    receiver_output_size};

/* ---- creation ---- */

/* Sets up a channel in 'block' (heap, or caller storage with a reference
 * of its own) and its two halves. Returns 0. */
static int
setup(void *block, bool in_storage, size_t value_size,
      cfut_oneshot_drop_value_fn *drop_value,
      struct cfut_oneshot_sync_sender *tx,
      struct cfut_oneshot_sync_receiver *rx)
{
    struct cfut__oneshot_sync *s = block;
    cfut__lock_init(&s->lock);
    cfut__oneshot_core_init(&s->core, true, value_size, drop_value);
    atomic_init(&s->refs, in_storage ? 3 : 2);
    s->in_storage = in_storage;
    tx->shared = s;
    cfut_future_init(&rx->base, &receiver_vtable);
    rx->shared = s;
    return CFUT_OK;
}

int
cfut_oneshot_sync_new(size_t value_size, cfut_oneshot_drop_value_fn *drop_value,
                      struct cfut_oneshot_sync_sender *tx,
                      struct cfut_oneshot_sync_receiver *rx)
{
    int rc;
    struct cfut__oneshot_sync *s = cfut__oneshot_alloc(
        HDR_SIZE, value_size, tx != NULL && rx != NULL, &rc);
    if (s == NULL)
        return rc;
    return setup(s, false, value_size, drop_value, tx, rx);
}

int
cfut_oneshot_sync_init(void *storage, size_t storage_size, size_t value_size,
                       cfut_oneshot_drop_value_fn *drop_value,
                       struct cfut_oneshot_sync_sender *tx,
                       struct cfut_oneshot_sync_receiver *rx)
{
    if (storage == NULL || tx == NULL || rx == NULL ||
        (uintptr_t)storage % _Alignof(max_align_t) != 0 ||
        storage_size < HDR_SIZE || storage_size - HDR_SIZE < value_size)
        return CFUT_EINVAL;
    return setup(storage, true, value_size, drop_value, tx, rx);
}

/* ---- sender ---- */

/* The send and the sender's drop on the core of a thread-safe state (what
 * the sender of either kind calls, see cfut_oneshot_int.h). */
int
cfut__oneshot_sync_core_send(struct cfut__oneshot_core *c, const void *value)
{
    struct cfut__oneshot_sync *s =
        cfut_container_of(c, struct cfut__oneshot_sync, core);
    struct cfut__wake_list wl = CFUT__WAKE_LIST_DEFERRED;
    int rc = cfut__oneshot_send(lock(s), slot(s), value, &wl);
    unlock_wake_release(s, &wl);
    return rc;
}

void
cfut__oneshot_sync_core_sender_drop(struct cfut__oneshot_core *c)
{
    struct cfut__oneshot_sync *s =
        cfut_container_of(c, struct cfut__oneshot_sync, core);
    struct cfut__wake_list wl = CFUT__WAKE_LIST_DEFERRED;
    cfut__oneshot_sender_gone(lock(s), &wl);
    unlock_wake_release(s, &wl);
}

struct cfut__oneshot_any_sender
cfut__oneshot_sync_sender_any(struct cfut_oneshot_sync_sender *tx)
{
    CFUT_ASSERT(tx->shared != NULL, "oneshot: an empty sender");
    struct cfut__oneshot_any_sender any = {&tx->shared->core};
    tx->shared = NULL;
    return any;
}

int
cfut_oneshot_sync_send(struct cfut_oneshot_sync_sender *tx, const void *value)
{
    CFUT_ASSERT(tx->shared != NULL, "oneshot: send on an empty sender");
    return cfut__oneshot_sync_core_send(cfut__oneshot_sync_sender_any(tx).core,
                                        value);
}

void
cfut_oneshot_sync_sender_drop(struct cfut_oneshot_sync_sender *tx)
{
    if (tx->shared != NULL)
        cfut__oneshot_sync_core_sender_drop(
            cfut__oneshot_sync_sender_any(tx).core);
}

bool
cfut_oneshot_sync_sender_is_closed(const struct cfut_oneshot_sync_sender *tx)
{
    CFUT_ASSERT(tx->shared != NULL, "oneshot: is_closed on an empty sender");
    bool closed = cfut__oneshot_is_closed(lock(tx->shared));
    unlock(tx->shared);
    return closed;
}

/* ---- closed future ---- */

static enum cfut_poll
closed_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    (void)out;
    struct cfut_oneshot_sync_closed *cl =
        cfut_container_of(f, struct cfut_oneshot_sync_closed, base);
    enum cfut_poll r = cfut__oneshot_closed_poll(lock(cl->shared), cx);
    unlock(cl->shared);
    return r;
}

static void
closed_drop(struct cfut_future *f)
{
    struct cfut_oneshot_sync_closed *cl =
        cfut_container_of(f, struct cfut_oneshot_sync_closed, base);
    struct cfut__wake_list wl = CFUT__WAKE_LIST_DEFERRED;
    cfut__oneshot_closed_gone(lock(cl->shared), &wl);
    unlock_wake_release(cl->shared, &wl);
}

static const struct cfut_future_vtable closed_vtable = {
    closed_poll, closed_drop, 0, "oneshot_sync_closed", NULL};

void
cfut_oneshot_sync_closed_init(struct cfut_oneshot_sync_closed *f,
                              const struct cfut_oneshot_sync_sender *tx)
{
    CFUT_ASSERT(tx->shared != NULL,
                "oneshot: closed future from an empty sender");
    bool first = cfut__oneshot_closed_begin(lock(tx->shared));
    unlock(tx->shared);
    CFUT_ASSERT(first, "oneshot: a closed future is already alive");
    /* The sender's reference keeps the state alive meanwhile. */
    atomic_fetch_add_explicit(&tx->shared->refs, 1, memory_order_relaxed);
    cfut_future_init(&f->base, &closed_vtable);
    f->shared = tx->shared;
}

/* ---- receiver calls ---- */

void
cfut_oneshot_sync_receiver_close(struct cfut_oneshot_sync_receiver *rx)
{
    struct cfut__wake_list wl = CFUT__WAKE_LIST_DEFERRED;
    (void)cfut__oneshot_close(lock(rx->shared), &wl);
    unlock_wake(rx->shared, &wl);
}

int
cfut_oneshot_sync_try_recv(struct cfut_oneshot_sync_receiver *rx, void *value)
{
    int rc = cfut__oneshot_take(lock(rx->shared), slot(rx->shared), value);
    unlock(rx->shared);
    return rc;
}
