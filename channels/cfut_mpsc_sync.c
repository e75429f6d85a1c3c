/*
 * cfut_mpsc_sync.c: the thread-safe mpsc channel: the local kind's ring,
 * permits and wait list, with every shared field guarded by one mutex.
 * Wakers are moved out under the lock and woken after it is released, and
 * no message copy or user callback runs under it except the ring copies.
 */
#include "cfut_mpsc.h"

#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "cfut_mpsc_int.h"

struct cfut__mpsc_sync {
    pthread_mutex_t lock;
    /* immutable */
    size_t msg_size;
    size_t cap; /* 0: unbounded */
    cfut_mpsc_drop_msg_fn *drop_msg;
    /* guarded by 'lock' */
    size_t ring_cap;
    size_t head;
    size_t len;
    size_t reserved; /* slots promised to waiting senders */
    unsigned char *ring;
    uint32_t n_senders; /* sender handles + live send futures */
    bool rx_alive;      /* the receiver holds the state */
    bool rx_closed;     /* the receiver is gone: sends fail */
    bool recv_live;
    struct cfut_waker rx_waker;
    struct cfut_list waiters; /* send futures, on 'waiter_link' */
};

#define HDR_SIZE CFUT__MPSC_ALIGN_UP(sizeof(struct cfut__mpsc_sync))

/* With the lock held: unlocks, and frees when nothing refers to 's'. */
static void
unlock_maybe_free(struct cfut__mpsc_sync *s)
{
    bool dead = s->n_senders == 0 && !s->rx_alive;
    pthread_mutex_unlock(&s->lock);
    if (!dead)
        return;
    pthread_mutex_destroy(&s->lock);
    if (s->cap == 0)
        cfut_free(s->ring);
    cfut_free(s);
}

/* With the lock held: makes room in an unbounded ring. */
static int
grow(struct cfut__mpsc_sync *s)
{
    return cfut__mpsc_ring_grow(&s->ring, &s->ring_cap, &s->head, s->len,
                                s->msg_size);
}

/* With the lock held: queues 'msg' (pre: room) and moves the receiver's
 * waker to '*wake' (the caller wakes it after unlocking). */
static inline void
push(struct cfut__mpsc_sync *s, const void *msg, struct cfut_waker *wake)
{
    size_t i = s->head + s->len;
    if (i >= s->ring_cap)
        i -= s->ring_cap;
    cfut__copy(s->ring + i * s->msg_size, msg, s->msg_size);
    s->len++;
    *wake = s->rx_waker;
    s->rx_waker = CFUT_WAKER_EMPTY;
}

/* With the lock held: gives one free slot to the first waiting sender and
 * moves its waker to '*wake'. A slot is freed at a time, so one is enough. */
static void
hand_permit(struct cfut__mpsc_sync *s, struct cfut_waker *wake)
{
    if (cfut_list_is_empty(&s->waiters) || s->len + s->reserved >= s->cap)
        return;
    struct cfut_mpsc_sync_send *f = cfut_container_of(
        s->waiters.next, struct cfut_mpsc_sync_send, waiter_link);
    cfut_list_remove(&f->waiter_link);
    f->is_waiting = false;
    f->has_permit = true;
    s->reserved++;
    *wake = f->waker;
    f->waker = CFUT_WAKER_EMPTY;
}

/* With the lock held: takes the oldest message (pre: len > 0). */
static inline void
pop(struct cfut__mpsc_sync *s, void *out, struct cfut_waker *wake)
{
    cfut__copy(out, s->ring + s->head * s->msg_size, s->msg_size);
    if (++s->head == s->ring_cap)
        s->head = 0;
    s->len--;
    if (s->cap != 0)
        hand_permit(s, wake);
}

/* Drops a sender count and unlocks; the last sender wakes the receiver. */
static void
unlock_sender_release(struct cfut__mpsc_sync *s)
{
    struct cfut_waker w = CFUT_WAKER_EMPTY;
    if (--s->n_senders == 0) {
        w = s->rx_waker;
        s->rx_waker = CFUT_WAKER_EMPTY;
    }
    unlock_maybe_free(s);
    cfut_waker_wake(&w);
}

/* ---- creation and handles ---- */

int
cfut_mpsc_sync_new(size_t msg_size, size_t capacity,
                   cfut_mpsc_drop_msg_fn *drop_msg,
                   struct cfut_mpsc_sync_sender *tx,
                   struct cfut_mpsc_sync_receiver *rx)
{
    if (tx == NULL || rx == NULL || msg_size == 0 ||
        capacity > (SIZE_MAX / 2 - HDR_SIZE) / msg_size)
        return CFUT_EINVAL;
    struct cfut__mpsc_sync *s = cfut_alloc(HDR_SIZE + capacity * msg_size);
    if (s == NULL)
        return CFUT_ENOMEM;
    pthread_mutex_init(&s->lock, NULL);
    s->msg_size = msg_size;
    s->cap = capacity;
    s->drop_msg = drop_msg;
    s->ring_cap = capacity;
    s->head = 0;
    s->len = 0;
    s->reserved = 0;
    s->ring = capacity != 0 ? (unsigned char *)s + HDR_SIZE : NULL;
    s->n_senders = 1;
    s->rx_alive = true;
    s->rx_closed = false;
    s->recv_live = false;
    s->rx_waker = CFUT_WAKER_EMPTY;
    cfut_list_init(&s->waiters);
    tx->shared = s;
    rx->shared = s;
    return CFUT_OK;
}

struct cfut_mpsc_sync_sender
cfut_mpsc_sync_sender_clone(const struct cfut_mpsc_sync_sender *tx)
{
    struct cfut__mpsc_sync *s = tx->shared;
    CFUT_ASSERT(s != NULL, "mpsc: clone of an empty sender");
    pthread_mutex_lock(&s->lock);
    bool ok = s->n_senders < UINT32_MAX;
    if (ok)
        s->n_senders++;
    pthread_mutex_unlock(&s->lock);
    CFUT_ASSERT(ok, "mpsc: too many senders");
    return *tx;
}

void
cfut_mpsc_sync_sender_drop(struct cfut_mpsc_sync_sender *tx)
{
    struct cfut__mpsc_sync *s = tx->shared;
    if (s == NULL)
        return;
    tx->shared = NULL;
    pthread_mutex_lock(&s->lock);
    unlock_sender_release(s);
}

bool
cfut_mpsc_sync_sender_is_closed(const struct cfut_mpsc_sync_sender *tx)
{
    struct cfut__mpsc_sync *s = tx->shared;
    CFUT_ASSERT(s != NULL, "mpsc: is_closed on an empty sender");
    pthread_mutex_lock(&s->lock);
    bool closed = s->rx_closed;
    pthread_mutex_unlock(&s->lock);
    return closed;
}

int
cfut_mpsc_sync_try_send(const struct cfut_mpsc_sync_sender *tx, const void *msg)
{
    struct cfut__mpsc_sync *s = tx->shared;
    CFUT_ASSERT(s != NULL, "mpsc: try_send on an empty sender");
    struct cfut_waker w = CFUT_WAKER_EMPTY;
    int rc = CFUT_OK;
    pthread_mutex_lock(&s->lock);
    if (s->rx_closed)
        rc = CFUT_ECLOSED;
    else if (s->cap != 0 && (s->len + s->reserved >= s->cap ||
                             !cfut_list_is_empty(&s->waiters)))
        rc = CFUT_EFULL;
    else if (s->cap == 0 && s->len == s->ring_cap)
        rc = grow(s);
    if (rc == CFUT_OK)
        push(s, msg, &w);
    pthread_mutex_unlock(&s->lock);
    cfut_waker_wake(&w);
    return rc;
}

/* ---- send future ---- */

/*
 * States, as the local kind: receiver gone (READY, ECLOSED); permit handed
 * over (READY, queued into the reserved slot); room and nobody ahead
 * (READY, queued, budget allowing); otherwise waiting on 'waiters', its
 * waker kept under the lock, until hand_permit() or the receiver's drop.
 */
static enum cfut_poll
send_poll(struct cfut_future *fut, struct cfut_context *cx, void *out)
{
    struct cfut_mpsc_sync_send *f =
        cfut_container_of(fut, struct cfut_mpsc_sync_send, base);
    struct cfut__mpsc_sync *s = f->shared;
    struct cfut_waker w = CFUT_WAKER_EMPTY;
    struct cfut_waker mine = CFUT_WAKER_EMPTY;
    int rc = CFUT_OK;
    pthread_mutex_lock(&s->lock);
    if (s->rx_closed) {
        if (f->is_waiting) {
            cfut_list_remove(&f->waiter_link);
            f->is_waiting = false;
        }
        if (f->has_permit) {
            f->has_permit = false;
            s->reserved--;
        }
        rc = CFUT_ECLOSED;
    } else if (f->has_permit) {
        f->has_permit = false;
        s->reserved--;
        push(s, f->msg, &w);
    } else if (!f->is_waiting &&
               (s->cap == 0 || (s->len + s->reserved < s->cap &&
                                cfut_list_is_empty(&s->waiters)))) {
        if (!cfut_context_consume_budget(cx)) {
            pthread_mutex_unlock(&s->lock);
            return CFUT_PENDING;
        }
        if (s->cap == 0 && s->len == s->ring_cap)
            rc = grow(s);
        if (rc == CFUT_OK)
            push(s, f->msg, &w);
    } else {
        cfut_waker_register(&f->waker, cx->waker);
        if (!f->is_waiting) {
            cfut_list_init(&f->waiter_link);
            cfut_list_init(&f->waiter_link); /* first link: the future may have
                                                moved since init */
            cfut_list_push_back(&s->waiters, &f->waiter_link);
            f->is_waiting = true;
        }
        pthread_mutex_unlock(&s->lock);
        return CFUT_PENDING;
    }
    mine = f->waker;
    f->waker = CFUT_WAKER_EMPTY;
    pthread_mutex_unlock(&s->lock);
    cfut_waker_drop(&mine);
    cfut_waker_wake(&w);
    *(int *)out = rc;
    return CFUT_READY;
}

static void
send_drop(struct cfut_future *fut)
{
    struct cfut_mpsc_sync_send *f =
        cfut_container_of(fut, struct cfut_mpsc_sync_send, base);
    struct cfut__mpsc_sync *s = f->shared;
    struct cfut_waker w = CFUT_WAKER_EMPTY;
    pthread_mutex_lock(&s->lock);
    if (f->is_waiting)
        cfut_list_remove(&f->waiter_link);
    struct cfut_waker mine = f->waker;
    f->waker = CFUT_WAKER_EMPTY;
    if (f->has_permit) {
        s->reserved--;
        if (!s->rx_closed)
            hand_permit(s, &w);
    }
    unlock_sender_release(s);
    cfut_waker_drop(&mine);
    cfut_waker_wake(&w);
}

static const struct cfut_future_vtable send_vtable = {
    send_poll, send_drop, sizeof(int), "mpsc_sync_send", NULL};

void
cfut_mpsc_sync_send_init(struct cfut_mpsc_sync_send *f,
                         const struct cfut_mpsc_sync_sender *tx,
                         const void *msg)
{
    struct cfut__mpsc_sync *s = tx->shared;
    CFUT_ASSERT(s != NULL, "mpsc: send from an empty sender");
    pthread_mutex_lock(&s->lock);
    bool ok = s->n_senders < UINT32_MAX;
    if (ok)
        s->n_senders++;
    pthread_mutex_unlock(&s->lock);
    CFUT_ASSERT(ok, "mpsc: too many senders");
    cfut_future_init(&f->base, &send_vtable);
    f->shared = s;
    f->msg = msg;
    f->waker = CFUT_WAKER_EMPTY;
    f->is_waiting = false;
    f->has_permit = false;
}

/* ---- receiving ---- */

int
cfut_mpsc_sync_try_recv(struct cfut_mpsc_sync_receiver *rx, void *msg)
{
    struct cfut__mpsc_sync *s = rx->shared;
    CFUT_ASSERT(s != NULL, "mpsc: try_recv on an empty receiver");
    struct cfut_waker w = CFUT_WAKER_EMPTY;
    int rc = CFUT_OK;
    pthread_mutex_lock(&s->lock);
    if (s->len != 0)
        pop(s, msg, &w);
    else
        rc = s->n_senders == 0 ? CFUT_ECLOSED : CFUT_EAGAIN;
    pthread_mutex_unlock(&s->lock);
    cfut_waker_wake(&w);
    return rc;
}

/* States, as the local kind: a message (READY with it, budget allowing);
 * every sender gone (READY, ECLOSED); otherwise PENDING with 'rx_waker'
 * registered under the lock. */
static enum cfut_poll
poll_recv(struct cfut__mpsc_sync *s, struct cfut_context *cx, void *out)
{
    struct cfut_waker w = CFUT_WAKER_EMPTY;
    enum cfut_poll r = CFUT_READY;
    pthread_mutex_lock(&s->lock);
    if (s->len != 0) {
        if (!cfut_context_consume_budget(cx)) {
            r = CFUT_PENDING;
        } else {
            *(int *)out = CFUT_OK;
            pop(s, (unsigned char *)out + CFUT_MPSC_VALUE_OFFSET, &w);
        }
    } else if (s->n_senders == 0) {
        *(int *)out = CFUT_ECLOSED;
    } else {
        cfut_waker_register(&s->rx_waker, cx->waker);
        r = CFUT_PENDING;
    }
    pthread_mutex_unlock(&s->lock);
    cfut_waker_wake(&w);
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
    pthread_mutex_lock(&s->lock);
    struct cfut_waker w = s->rx_waker;
    s->rx_waker = CFUT_WAKER_EMPTY;
    s->recv_live = false;
    pthread_mutex_unlock(&s->lock);
    cfut_waker_drop(&w);
}

static size_t
recv_output_size(const struct cfut_future *fut)
{
    const struct cfut_mpsc_sync_recv *f =
        cfut_container_of(fut, struct cfut_mpsc_sync_recv, base);
    return CFUT_MPSC_VALUE_OFFSET + f->shared->msg_size;
}

static const struct cfut_future_vtable recv_vtable = {
    recv_poll, recv_drop, CFUT_OUTPUT_DYNAMIC, "mpsc_sync_recv",
    recv_output_size};

void
cfut_mpsc_sync_recv_init(struct cfut_mpsc_sync_recv *f,
                         struct cfut_mpsc_sync_receiver *rx)
{
    struct cfut__mpsc_sync *s = rx->shared;
    CFUT_ASSERT(s != NULL, "mpsc: recv on an empty receiver");
    pthread_mutex_lock(&s->lock);
    bool dup = s->recv_live;
    s->recv_live = true;
    pthread_mutex_unlock(&s->lock);
    CFUT_ASSERT(!dup, "mpsc: a recv future is already alive");
    cfut_future_init(&f->base, &recv_vtable);
    f->shared = s;
}

size_t
cfut_mpsc_sync_len(const struct cfut_mpsc_sync_receiver *rx)
{
    struct cfut__mpsc_sync *s = rx->shared;
    pthread_mutex_lock(&s->lock);
    size_t n = s->len;
    pthread_mutex_unlock(&s->lock);
    return n;
}

void
cfut_mpsc_sync_receiver_drop(struct cfut_mpsc_sync_receiver *rx)
{
    struct cfut__mpsc_sync *s = rx->shared;
    if (s == NULL)
        return;
    rx->shared = NULL;
    pthread_mutex_lock(&s->lock);
    bool recv_live = s->recv_live;
    s->rx_closed = true;
    struct cfut_waker mine = s->rx_waker;
    s->rx_waker = CFUT_WAKER_EMPTY;
    pthread_mutex_unlock(&s->lock);
    CFUT_ASSERT(!recv_live, "mpsc: receiver dropped under a recv future");
    cfut_waker_drop(&mine);
    /* No sender queues any more ('rx_closed'), and 'rx_alive' keeps the
     * state alive until the end: release the messages. */
    pthread_mutex_lock(&s->lock);
    while (s->len != 0) {
        unsigned char *m = s->ring + s->head * s->msg_size;
        if (++s->head == s->ring_cap)
            s->head = 0;
        s->len--;
        if (s->drop_msg != NULL) {
            pthread_mutex_unlock(&s->lock);
            s->drop_msg(m);
            pthread_mutex_lock(&s->lock);
        }
    }
    /* Wake every waiting sender, one at a time: each sees ECLOSED. */
    for (;;) {
        struct cfut_list *n = cfut_list_pop_front(&s->waiters);
        if (n == NULL)
            break;
        struct cfut_mpsc_sync_send *f =
            cfut_container_of(n, struct cfut_mpsc_sync_send, waiter_link);
        f->is_waiting = false;
        struct cfut_waker w = f->waker;
        f->waker = CFUT_WAKER_EMPTY;
        pthread_mutex_unlock(&s->lock);
        cfut_waker_wake(&w);
        pthread_mutex_lock(&s->lock);
    }
    s->rx_alive = false;
    unlock_maybe_free(s);
}
