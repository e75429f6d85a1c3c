/*
 * cfut_broadcast_sync.c: the thread-safe broadcast channel (Rust's
 * Arc<Mutex>): the core of cfut_broadcast_core_int.h guarded by one mutex.
 * Each call locks, runs the core, unlocks, then wakes what the core
 * released. The value hooks run under the lock (a receiver's copy must
 * see the message whole, and a message is released where the core finds
 * nobody needs it); no wake does.
 */
#include "cfut_broadcast.h"

#include "cfut_broadcast_core_int.h"
#include "cfut_sync_int.h"

struct cfut__broadcast_sync {
    pthread_mutex_t lock;             /* first: its address is the block's */
    struct cfut__broadcast_core core; /* guarded by 'lock' */
};

#define HDR_SIZE CFUT__ALIGN_MAX(sizeof(struct cfut__broadcast_sync))

static inline struct cfut__broadcast_core *
lock(struct cfut__broadcast_sync *s)
{
    pthread_mutex_lock(&s->lock);
    return &s->core;
}

/* Unlocks 's', wakes 'batch' (may be NULL), and frees the state when the
 * core found it unreferenced. */
static void
unlock_finish(struct cfut__broadcast_sync *s, struct cfut_list *batch,
              bool unreferenced)
{
    cfut__sync_unlock_run(&s->lock, &CFUT__WAKE_LIST_DEFERRED, batch);
    if (unreferenced) {
        pthread_mutex_destroy(&s->lock);
        cfut_free(s);
    }
}

int
cfut_broadcast_sync_new(size_t msg_size, size_t capacity,
                        const struct cfut_channel_value_ops *ops,
                        struct cfut_broadcast_sync_sender *tx,
                        struct cfut_broadcast_sync_receiver *rx)
{
    int rc;
    struct cfut__broadcast_sync *s = cfut__broadcast_alloc(
        HDR_SIZE, msg_size, capacity, tx != NULL && rx != NULL, &rc);
    if (s == NULL)
        return rc;
    pthread_mutex_init(&s->lock, NULL);
    cfut__broadcast_core_init(&s->core, s, HDR_SIZE, msg_size, capacity, ops);
    tx->shared = s;
    rx->shared = s;
    rx->next = 0;
    return CFUT_OK;
}

/* ---- senders ---- */

struct cfut_broadcast_sync_sender
cfut_broadcast_sync_sender_clone(const struct cfut_broadcast_sync_sender *tx)
{
    CFUT_ASSERT(tx->shared != NULL, "broadcast: clone of an empty sender");
    bool ok = cfut__broadcast_sender_added(lock(tx->shared));
    pthread_mutex_unlock(&tx->shared->lock);
    CFUT_ASSERT(ok, "broadcast: too many senders");
    return *tx;
}

void
cfut_broadcast_sync_sender_drop(struct cfut_broadcast_sync_sender *tx)
{
    struct cfut__broadcast_sync *s = tx->shared;
    tx->shared = NULL;
    if (s == NULL)
        return;
    struct cfut_list batch;
    cfut_list_init(&batch);
    bool unreferenced = cfut__broadcast_sender_gone(lock(s), &batch);
    unlock_finish(s, &batch, unreferenced);
}

int
cfut_broadcast_sync_send(const struct cfut_broadcast_sync_sender *tx,
                         const void *msg)
{
    CFUT_ASSERT(tx->shared != NULL, "broadcast: send on an empty sender");
    struct cfut_list batch;
    cfut_list_init(&batch);
    int rc = cfut__broadcast_send(lock(tx->shared), msg, &batch);
    unlock_finish(tx->shared, &batch, false);
    return rc;
}

struct cfut_broadcast_sync_receiver
cfut_broadcast_sync_subscribe(const struct cfut_broadcast_sync_sender *tx)
{
    CFUT_ASSERT(tx->shared != NULL, "broadcast: subscribe on an empty sender");
    struct cfut_broadcast_sync_receiver rx = {tx->shared, 0};
    bool ok = cfut__broadcast_subscribe(lock(tx->shared), &rx.next);
    pthread_mutex_unlock(&tx->shared->lock);
    CFUT_ASSERT(ok, "broadcast: too many receivers");
    return rx;
}

/* ---- receivers ---- */

int
cfut_broadcast_sync_try_recv(struct cfut_broadcast_sync_receiver *rx, void *msg,
                             uint64_t *n_skipped)
{
    CFUT_ASSERT(rx->shared != NULL, "broadcast: try_recv on an empty receiver");
    uint64_t skipped = 0;
    int rc =
        cfut__broadcast_try_recv(lock(rx->shared), &rx->next, msg, &skipped);
    pthread_mutex_unlock(&rx->shared->lock);
    if (n_skipped != NULL)
        *n_skipped = skipped;
    return rc;
}

uint64_t
cfut_broadcast_sync_len(const struct cfut_broadcast_sync_receiver *rx)
{
    CFUT_ASSERT(rx->shared != NULL, "broadcast: len of an empty receiver");
    uint64_t n = lock(rx->shared)->tail - rx->next;
    pthread_mutex_unlock(&rx->shared->lock);
    return n;
}

void
cfut_broadcast_sync_receiver_drop(struct cfut_broadcast_sync_receiver *rx)
{
    struct cfut__broadcast_sync *s = rx->shared;
    rx->shared = NULL;
    if (s != NULL)
        unlock_finish(s, NULL,
                      cfut__broadcast_receiver_gone(lock(s), rx->next));
}

/* ---- the recv future ---- */

static enum cfut_poll
recv_poll(struct cfut_future *fut, struct cfut_context *cx, void *out)
{
    struct cfut_broadcast_sync_recv *f =
        cfut_container_of(fut, struct cfut_broadcast_sync_recv, base);
    struct cfut__broadcast_sync *s = f->rx->shared;
    enum cfut_poll r =
        cfut__broadcast_poll_recv(lock(s), &f->waiter, &f->rx->next, cx, out);
    pthread_mutex_unlock(&s->lock);
    return r;
}

static void
recv_drop(struct cfut_future *fut)
{
    struct cfut_broadcast_sync_recv *f =
        cfut_container_of(fut, struct cfut_broadcast_sync_recv, base);
    struct cfut__broadcast_sync *s = f->rx->shared;
    struct cfut__wake_list wl = CFUT__WAKE_LIST_DEFERRED;
    lock(s);
    cfut__waiter_gone(&f->waiter, &wl);
    cfut__sync_unlock_run(&s->lock, &wl, NULL);
}

static size_t
recv_output_size(const struct cfut_future *fut)
{
    return CFUT_BROADCAST_VALUE_OFFSET +
           cfut_container_of(fut, struct cfut_broadcast_sync_recv, base)
               ->rx->shared->core.msg_size;
}

static const struct cfut_future_vtable recv_vtable = {
    recv_poll, recv_drop, CFUT_OUTPUT_DYNAMIC, "broadcast_sync_recv",
    recv_output_size};

void
cfut_broadcast_sync_recv_init(struct cfut_broadcast_sync_recv *f,
                              struct cfut_broadcast_sync_receiver *rx)
{
    CFUT_ASSERT(rx->shared != NULL, "broadcast: recv on an empty receiver");
    cfut_future_init(&f->base, &recv_vtable);
    f->rx = rx;
    cfut__waiter_init(&f->waiter);
}
