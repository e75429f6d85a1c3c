/*
 * cfut_watch_sync.c: the thread-safe watch channel (Rust's Arc<Mutex>): the
 * core of cfut_watch_core_int.h guarded by one mutex. Receivers copy the
 * value under the lock; a send writes the idle slot before locking and
 * releases the replaced value after unlocking (the sender is alone with
 * the idle slot). No wake and no 'drop' hook runs under the lock.
 */
#include "cfut_watch.h"

#include "cfut_sync_int.h"
#include "cfut_watch_core_int.h"

struct cfut__watch_sync {
    pthread_mutex_t lock;         /* first: its address is the block's */
    struct cfut__watch_core core; /* guarded by 'lock' */
};

#define HDR_SIZE CFUT__ALIGN_MAX(sizeof(struct cfut__watch_sync))

static inline struct cfut__watch_core *
lock(struct cfut__watch_sync *s)
{
    pthread_mutex_lock(&s->lock);
    return &s->core;
}

/* Unlocks 's', wakes 'batch' (may be NULL), and frees the state when the
 * core found it unreferenced. */
static void
unlock_finish(struct cfut__watch_sync *s, struct cfut_list *batch,
              bool unreferenced)
{
    cfut__sync_unlock_run(&s->lock, &CFUT__WAKE_LIST_DEFERRED, batch);
    if (unreferenced) {
        pthread_mutex_destroy(&s->lock);
        cfut__watch_core_deinit(&s->core);
        cfut_free(s);
    }
}

/* Counts one more receiver of 's'. */
static void
add_receiver(struct cfut__watch_sync *s)
{
    bool ok = cfut__watch_receiver_added(lock(s));
    pthread_mutex_unlock(&s->lock);
    CFUT_ASSERT(ok, "watch: too many receivers");
}

int
cfut_watch_sync_new(size_t value_size, const void *initial,
                    const struct cfut_channel_value_ops *ops,
                    struct cfut_watch_sync_sender *tx,
                    struct cfut_watch_sync_receiver *rx)
{
    int rc;
    struct cfut__watch_sync *s =
        cfut__watch_alloc(HDR_SIZE, value_size, tx != NULL && rx != NULL, &rc);
    if (s == NULL)
        return rc;
    pthread_mutex_init(&s->lock, NULL);
    cfut__watch_core_init(&s->core, s, HDR_SIZE, value_size, initial, ops);
    tx->shared = s;
    rx->shared = s;
    rx->seen = 0;
    return CFUT_OK;
}

/* ---- the sender ---- */

int
cfut_watch_sync_send(struct cfut_watch_sync_sender *tx, const void *value)
{
    CFUT_ASSERT(tx->shared != NULL, "watch: send on an empty sender");
    struct cfut__watch_sync *s = tx->shared;
    struct cfut_list batch;
    cfut_list_init(&batch);
    cfut__watch_stage(&s->core, value);
    int rc = cfut__watch_publish(lock(s), &batch);
    unlock_finish(s, &batch, false);
    if (rc == CFUT_OK)
        cfut__watch_drop_replaced(&s->core);
    return rc;
}

struct cfut_watch_sync_receiver
cfut_watch_sync_subscribe(const struct cfut_watch_sync_sender *tx)
{
    CFUT_ASSERT(tx->shared != NULL, "watch: subscribe on an empty sender");
    struct cfut__watch_sync *s = tx->shared;
    bool ok = cfut__watch_receiver_added(lock(s));
    struct cfut_watch_sync_receiver rx = {s, s->core.version};
    pthread_mutex_unlock(&s->lock);
    CFUT_ASSERT(ok, "watch: too many receivers");
    return rx;
}

bool
cfut_watch_sync_sender_is_closed(const struct cfut_watch_sync_sender *tx)
{
    CFUT_ASSERT(tx->shared != NULL, "watch: is_closed on an empty sender");
    bool closed = lock(tx->shared)->n_receivers == 0;
    pthread_mutex_unlock(&tx->shared->lock);
    return closed;
}

void
cfut_watch_sync_sender_drop(struct cfut_watch_sync_sender *tx)
{
    struct cfut__watch_sync *s = tx->shared;
    tx->shared = NULL;
    if (s == NULL)
        return;
    struct cfut_list batch;
    cfut_list_init(&batch);
    bool unreferenced = cfut__watch_sender_gone(lock(s), &batch);
    unlock_finish(s, &batch, unreferenced);
}

/* ---- receivers ---- */

struct cfut_watch_sync_receiver
cfut_watch_sync_receiver_clone(const struct cfut_watch_sync_receiver *rx)
{
    CFUT_ASSERT(rx->shared != NULL, "watch: clone of an empty receiver");
    add_receiver(rx->shared);
    return *rx;
}

void
cfut_watch_sync_receiver_drop(struct cfut_watch_sync_receiver *rx)
{
    struct cfut__watch_sync *s = rx->shared;
    rx->shared = NULL;
    if (s != NULL)
        unlock_finish(s, NULL, cfut__watch_receiver_gone(lock(s)));
}

uint64_t
cfut_watch_sync_get(struct cfut_watch_sync_receiver *rx, void *out)
{
    CFUT_ASSERT(rx->shared != NULL, "watch: get on an empty receiver");
    uint64_t v = cfut__watch_get(lock(rx->shared), out, &rx->seen);
    pthread_mutex_unlock(&rx->shared->lock);
    return v;
}

bool
cfut_watch_sync_has_changed(const struct cfut_watch_sync_receiver *rx)
{
    CFUT_ASSERT(rx->shared != NULL, "watch: has_changed on an empty receiver");
    bool changed = lock(rx->shared)->version != rx->seen;
    pthread_mutex_unlock(&rx->shared->lock);
    return changed;
}

/* ---- the changed future ---- */

static enum cfut_poll
changed_poll(struct cfut_future *fut, struct cfut_context *cx, void *out)
{
    struct cfut_watch_sync_changed *f =
        cfut_container_of(fut, struct cfut_watch_sync_changed, base);
    struct cfut__watch_sync *s = f->rx->shared;
    enum cfut_poll r =
        cfut__watch_changed_poll(lock(s), &f->waiter, &f->rx->seen, cx, out);
    pthread_mutex_unlock(&s->lock);
    return r;
}

static void
changed_drop(struct cfut_future *fut)
{
    struct cfut_watch_sync_changed *f =
        cfut_container_of(fut, struct cfut_watch_sync_changed, base);
    struct cfut__watch_sync *s = f->rx->shared;
    struct cfut__wake_list wl = CFUT__WAKE_LIST_DEFERRED;
    lock(s);
    cfut__waiter_gone(&f->waiter, &wl);
    cfut__sync_unlock_run(&s->lock, &wl, NULL);
}

static const struct cfut_future_vtable changed_vtable = {
    changed_poll, changed_drop, sizeof(int), "watch_sync_changed", NULL};

void
cfut_watch_sync_changed_init(struct cfut_watch_sync_changed *f,
                             struct cfut_watch_sync_receiver *rx)
{
    CFUT_ASSERT(rx->shared != NULL, "watch: changed on an empty receiver");
    cfut_future_init(&f->base, &changed_vtable);
    f->rx = rx;
    cfut__waiter_init(&f->waiter);
}
