/*
 * cfut_mpsc_sync.c: the thread-safe mpsc channel (Rust's Arc<Mutex>): the
 * core of cfut_mpsc_core_int.h guarded by one mutex. Each call locks, runs
 * the core, unlocks, then wakes what the core released; no wake and no
 * user callback runs under the lock. The count of senders is part of the
 * state (the last one wakes the receiver), so it stays under the lock.
 */
#include "cfut_mpsc.h"

#include <stdint.h>

#include "cfut_lock_int.h"
#include "cfut_mpsc_core_int.h"

struct cfut__mpsc_sync {
    struct cfut__lock lock;      /* cfut_lock_int.h */
    struct cfut__mpsc_core core; /* guarded by 'lock' */
};

#define HDR_SIZE CFUT__ALIGN_UP(sizeof(struct cfut__mpsc_sync), CFUT__MAX_ALIGN)

static inline struct cfut__mpsc_core *
lock(struct cfut__mpsc_sync *s)
{
    cfut__lock(&s->lock);
    return &s->core;
}

/*
 * Unlocks 's', wakes what 'wl' holds, and frees the state when the core
 * found it unreferenced (nobody else can reach it then).
 */
static inline void
unlock_finish(struct cfut__mpsc_sync *s, struct cfut__wake_list *wl,
              bool unreferenced)
{
    cfut__wake_list_detach(wl);
    cfut__unlock(&s->lock);
    cfut__wake_list_run(wl);
    if (unreferenced) {
        cfut__mpsc_core_deinit(&s->core);
        cfut_free(s);
    }
}

/* Counts one more sender on the state of 'tx' (a clone or a send
 * future). */
static struct cfut__mpsc_sync *
add_sender(const struct cfut_mpsc_sync_sender *tx)
{
    CFUT_ASSERT(tx->shared != NULL, "mpsc: an empty sender");
    bool ok = cfut__count_up(&lock(tx->shared)->n_senders);
    cfut__unlock(&tx->shared->lock);
    CFUT_ASSERT(ok, "mpsc: too many senders");
    return tx->shared;
}

/* ---- creation and handles ---- */

int
cfut_mpsc_sync_new(size_t msg_size, size_t capacity,
                   cfut_mpsc_drop_msg_fn *drop_msg,
                   struct cfut_mpsc_sync_sender *tx,
                   struct cfut_mpsc_sync_receiver *rx)
{
    int rc;
    struct cfut__mpsc_sync *s = cfut__mpsc_alloc(HDR_SIZE, msg_size, capacity,
                                                 tx != NULL && rx != NULL, &rc);
    if (s == NULL)
        return rc;
    cfut__lock_init(&s->lock);
    cfut__mpsc_core_init(&s->core, s, HDR_SIZE, msg_size, capacity, drop_msg);
    tx->shared = rx->shared = s;
    return CFUT_OK;
}

struct cfut_mpsc_sync_sender
cfut_mpsc_sync_sender_clone(const struct cfut_mpsc_sync_sender *tx)
{
    struct cfut_mpsc_sync_sender copy = {add_sender(tx)};
    return copy;
}

void
cfut_mpsc_sync_sender_drop(struct cfut_mpsc_sync_sender *tx)
{
    struct cfut__mpsc_sync *s = tx->shared;
    tx->shared = NULL;
    if (s != NULL) {
        struct cfut__wake_list wl = CFUT__WAKE_LIST_DEFERRED;
        bool unreferenced = cfut__mpsc_sender_gone(lock(s), &wl);
        unlock_finish(s, &wl, unreferenced);
    }
}

bool
cfut_mpsc_sync_sender_is_closed(const struct cfut_mpsc_sync_sender *tx)
{
    CFUT_ASSERT(tx->shared != NULL, "mpsc: is_closed on an empty sender");
    bool closed = lock(tx->shared)->rx_closed;
    cfut__unlock(&tx->shared->lock);
    return closed;
}

int
cfut_mpsc_sync_try_send(const struct cfut_mpsc_sync_sender *tx, const void *msg)
{
    CFUT_ASSERT(tx->shared != NULL, "mpsc: try_send on an empty sender");
    struct cfut__wake_list wl = CFUT__WAKE_LIST_DEFERRED;
    int rc = cfut__mpsc_try_send(lock(tx->shared), msg, &wl);
    unlock_finish(tx->shared, &wl, false);
    return rc;
}

int
cfut_mpsc_sync_try_send_many(const struct cfut_mpsc_sync_sender *tx,
                             const void *msgs, size_t n, size_t *sent)
{
    CFUT_ASSERT(tx->shared != NULL, "mpsc: try_send_many on an empty sender");
    if (sent == NULL)
        return CFUT_EINVAL;
    *sent = 0;
    if (msgs == NULL && n != 0)
        return CFUT_EINVAL;
    struct cfut__wake_list wl = CFUT__WAKE_LIST_DEFERRED;
    int rc = cfut__mpsc_try_send_many(lock(tx->shared), msgs, n, sent, &wl);
    unlock_finish(tx->shared, &wl, false);
    return rc;
}

/* ---- send future ---- */

/* A READY send future has let go of the channel: nothing to drop. Polling
 * it again breaks the contract (debug builds abort before); it stays
 * PENDING, like a terminated fuse. */
static enum cfut_poll
send_done_poll(struct cfut_future *fut, struct cfut_context *cx, void *out)
{
    (void)fut, (void)cx, (void)out;
    return CFUT_PENDING;
}

static const struct cfut_future_vtable send_done_vtable = {
    send_done_poll, NULL, sizeof(int), "mpsc_sync_send", NULL};

/*
 * The poll, under one lock: READY also releases the future's count of
 * senders in the same critical section (the last one wakes the receiver)
 * and switches to a vtable with no drop, so that dropping a finished send
 * takes no lock at all.
 */
static enum cfut_poll
send_poll(struct cfut_future *fut, struct cfut_context *cx, void *out)
{
    struct cfut_mpsc_sync_send *f =
        cfut_container_of(fut, struct cfut_mpsc_sync_send, base);
    struct cfut__mpsc_sync *s = f->shared;
    struct cfut__wake_list wl = CFUT__WAKE_LIST_DEFERRED;
    struct cfut__mpsc_core *c = lock(s);
    enum cfut_poll r =
        cfut__mpsc_send_poll(c, &f->waiter, f->msg, cx, &wl, out);
    bool unreferenced = false;
    if (r == CFUT_READY) {
        unreferenced = cfut__mpsc_sender_gone(c, &wl);
        f->base.vtable = &send_done_vtable;
        f->shared = NULL;
    }
    unlock_finish(s, &wl, unreferenced);
    return r;
}

static void
send_drop(struct cfut_future *fut)
{
    struct cfut_mpsc_sync_send *f =
        cfut_container_of(fut, struct cfut_mpsc_sync_send, base);
    struct cfut__mpsc_sync *s = f->shared;
    struct cfut__wake_list wl = CFUT__WAKE_LIST_DEFERRED;
    bool unreferenced = cfut__mpsc_send_gone(lock(s), &f->waiter, &wl);
    unlock_finish(s, &wl, unreferenced);
}

static const struct cfut_future_vtable send_vtable = {
    send_poll, send_drop, sizeof(int), "mpsc_sync_send", NULL};

void
cfut_mpsc_sync_send_init(struct cfut_mpsc_sync_send *f,
                         const struct cfut_mpsc_sync_sender *tx,
                         const void *msg)
{
    f->shared = add_sender(tx);
    cfut_future_init(&f->base, &send_vtable);
    f->msg = msg;
    cfut__mpsc_waiter_init(&f->waiter);
}

/* ---- receiving ---- */

static enum cfut_poll
poll_recv(struct cfut__mpsc_sync *s, struct cfut_context *cx, void *out)
{
    struct cfut__wake_list wl = CFUT__WAKE_LIST_DEFERRED;
    enum cfut_poll r = cfut__mpsc_poll_recv(lock(s), cx, out, &wl);
    unlock_finish(s, &wl, false);
    return r;
}

int
cfut_mpsc_sync_try_recv(struct cfut_mpsc_sync_receiver *rx, void *msg)
{
    CFUT_ASSERT(rx->shared != NULL, "mpsc: try_recv on an empty receiver");
    struct cfut__wake_list wl = CFUT__WAKE_LIST_DEFERRED;
    int rc = cfut__mpsc_try_recv(lock(rx->shared), msg, &wl);
    unlock_finish(rx->shared, &wl, false);
    return rc;
}

/*
 * A batch's bound under the lock of 'c': while senders wait, each message
 * taken frees a slot that wakes one, and the wakers must fit the array
 * that carries them past the unlock.
 */
static size_t
batch_max(const struct cfut__mpsc_core *c, size_t max)
{
    if (c->cap != 0 && !cfut_list_is_empty(&c->waiters) &&
        max > CFUT_MPSC_SYNC_BATCH_WAKES)
        return CFUT_MPSC_SYNC_BATCH_WAKES;
    return max;
}

/*
 * Gives the slots a batched receive freed to the waiting senders, unlocks
 * 's', then wakes them (at most CFUT_MPSC_SYNC_BATCH_WAKES: see
 * batch_max()).
 */
static void
unlock_hand_permits(struct cfut__mpsc_sync *s)
{
    struct cfut_waker woken[CFUT_MPSC_SYNC_BATCH_WAKES];
    size_t n = 0;
    while (n < CFUT_MPSC_SYNC_BATCH_WAKES &&
           cfut__mpsc_permit_next(&s->core, &woken[n]))
        n++;
    cfut__unlock(&s->lock);
    for (size_t i = 0; i < n; i++)
        cfut_waker_wake(&woken[i]);
}

int
cfut_mpsc_sync_try_recv_many(struct cfut_mpsc_sync_receiver *rx, void *msgs,
                             size_t max, size_t *n)
{
    CFUT_ASSERT(rx->shared != NULL, "mpsc: try_recv_many on an empty receiver");
    if (n == NULL)
        return CFUT_EINVAL;
    *n = 0;
    if (max == 0 || msgs == NULL)
        return CFUT_EINVAL;
    struct cfut__mpsc_core *c = lock(rx->shared);
    int rc = cfut__mpsc_try_recv_many(c, msgs, batch_max(c, max), n);
    unlock_hand_permits(rx->shared);
    return rc;
}

enum cfut_poll
cfut_mpsc_sync_poll_recv_many(struct cfut_mpsc_sync_receiver *rx,
                              struct cfut_context *cx, void *msgs, size_t max,
                              size_t *n)
{
    CFUT_DEBUG_ASSERT(rx->shared != NULL && max != 0 && msgs != NULL &&
                          n != NULL,
                      "mpsc: poll_recv_many on an empty receiver, or with "
                      "no room");
    struct cfut__mpsc_core *c = lock(rx->shared);
    enum cfut_poll r =
        cfut__mpsc_poll_recv_many(c, cx, msgs, batch_max(c, max), n);
    unlock_hand_permits(rx->shared);
    return r;
}

enum cfut_poll
cfut_mpsc_sync_poll_recv(struct cfut_mpsc_sync_receiver *rx,
                         struct cfut_context *cx, void *out)
{
    CFUT_DEBUG_ASSERT(rx->shared != NULL,
                      "mpsc: poll_recv on an empty receiver");
    return poll_recv(rx->shared, cx, out);
}

static enum cfut_poll
recv_poll(struct cfut_future *fut, struct cfut_context *cx, void *out)
{
    return poll_recv(
        cfut_container_of(fut, struct cfut_mpsc_sync_recv, base)->shared, cx,
        out);
}

static void
recv_drop(struct cfut_future *fut)
{
    struct cfut__mpsc_sync *s =
        cfut_container_of(fut, struct cfut_mpsc_sync_recv, base)->shared;
    struct cfut__wake_list wl = CFUT__WAKE_LIST_DEFERRED;
    cfut__mpsc_recv_gone(lock(s), &wl);
    unlock_finish(s, &wl, false);
}

static size_t
recv_output_size(const struct cfut_future *fut)
{
    const struct cfut_mpsc_sync_recv *f =
        cfut_container_of(fut, struct cfut_mpsc_sync_recv, base);
    return CFUT_MPSC_VALUE_OFFSET + f->shared->core.msg_size;
}

static const struct cfut_future_vtable recv_vtable = {
    recv_poll, recv_drop, CFUT_OUTPUT_DYNAMIC, "mpsc_sync_recv",
    recv_output_size};

void
cfut_mpsc_sync_recv_init(struct cfut_mpsc_sync_recv *f,
                         struct cfut_mpsc_sync_receiver *rx)
{
    CFUT_ASSERT(rx->shared != NULL, "mpsc: recv on an empty receiver");
    bool first = cfut__mpsc_recv_begin(lock(rx->shared));
    cfut__unlock(&rx->shared->lock);
    CFUT_ASSERT(first, "mpsc: a recv future is already alive");
    cfut_future_init(&f->base, &recv_vtable);
    f->shared = rx->shared;
}

size_t
cfut_mpsc_sync_len(const struct cfut_mpsc_sync_receiver *rx)
{
    size_t n = lock(rx->shared)->len;
    cfut__unlock(&rx->shared->lock);
    return n;
}

void
cfut_mpsc_sync_receiver_drop(struct cfut_mpsc_sync_receiver *rx)
{
    struct cfut__mpsc_sync *s = rx->shared;
    if (s == NULL)
        return;
    rx->shared = NULL;
    struct cfut__wake_list wl = CFUT__WAKE_LIST_DEFERRED;
    bool ok = cfut__mpsc_receiver_close(lock(s), &wl);
    unlock_finish(s, &wl, false);
    CFUT_ASSERT(ok, "mpsc: receiver dropped under a recv future");
    /* The ring is ours alone now, and 'rx_alive' keeps the state. */
    cfut__mpsc_drain(&s->core);
    /* One waiting sender a step: each wake runs after the unlock. */
    bool more;
    do {
        more = cfut__mpsc_release_waiter(lock(s), &wl);
        unlock_finish(s, &wl, false);
    } while (more);
    bool unreferenced = cfut__mpsc_receiver_gone(lock(s));
    unlock_finish(s, &wl, unreferenced);
}
