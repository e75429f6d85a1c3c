/*
 * cfut_mpsc.c: the local mpsc channel (one thread: no atomics, no locks).
 * Messages live in a ring: inline after the state for a bounded channel,
 * a separate block that doubles for an unbounded one. Bounded senders wait
 * on a FIFO list; a freed slot is reserved for the first waiter (a permit)
 * so a woken sender cannot lose its turn. The thread-safe kind is in
 * cfut_mpsc_sync.c.
 */
#include "cfut_mpsc.h"

#include <stdint.h>
#include <string.h>

#include "cfut_mpsc_int.h"

struct cfut__mpsc {
    size_t msg_size;
    size_t cap;      /* most messages queued; 0: unbounded */
    size_t ring_cap; /* slots in 'ring' */
    size_t head;     /* slot of the oldest message */
    size_t len;      /* messages queued */
    size_t reserved; /* slots promised to waiting senders (permits) */
    unsigned char *ring;
    uint32_t n_senders; /* sender handles + live send futures */
    bool rx_alive;      /* the receiver holds the state */
    bool rx_closed;     /* the receiver is gone: sends fail */
    bool recv_live;     /* a recv future is alive */
    bool rx_parked;     /* the receiver returned PENDING and was not woken */
    cfut_mpsc_drop_msg_fn *drop_msg;
    /* The receiver's latest PENDING poll; kept across wakes, so parking
     * again with the same waker costs no clone. */
    struct cfut_waker rx_waker;
    struct cfut_list waiters; /* send futures, on 'waiter_link' */
};

#define HDR_SIZE CFUT__MPSC_ALIGN_UP(sizeof(struct cfut__mpsc))

static void
maybe_free(struct cfut__mpsc *s)
{
    if (s->n_senders != 0 || s->rx_alive)
        return;
    if (s->cap == 0)
        cfut_free(s->ring);
    cfut_free(s);
}

/* Shared with the thread-safe kind: see cfut_mpsc_int.h. */
int
cfut__mpsc_ring_grow(unsigned char **ring, size_t *ring_cap, size_t *head,
                     size_t len, size_t size)
{
    size_t n = *ring_cap != 0 ? *ring_cap * 2 : 16;
    if (n > SIZE_MAX / 2 / size)
        return CFUT_ENOMEM;
    unsigned char *r = cfut_alloc(n * size);
    if (r == NULL)
        return CFUT_ENOMEM;
    if (len != 0) {
        size_t first = *ring_cap - *head < len ? *ring_cap - *head : len;
        memcpy(r, *ring + *head * size, first * size);
        memcpy(r + first * size, *ring, (len - first) * size);
    }
    cfut_free(*ring);
    *ring = r;
    *ring_cap = n;
    *head = 0;
    return CFUT_OK;
}

/* Makes room for one more message in an unbounded ring. */
static int
grow(struct cfut__mpsc *s)
{
    return cfut__mpsc_ring_grow(&s->ring, &s->ring_cap, &s->head, s->len,
                                s->msg_size);
}

/* Wakes the receiver if it is parked (its waker stays registered). */
static inline void
wake_rx(struct cfut__mpsc *s)
{
    if (s->rx_parked) {
        s->rx_parked = false;
        cfut_waker_wake_by_ref(&s->rx_waker);
    }
}

/* Queues a copy of 'msg' (pre: there is room) and wakes the receiver. */
static inline void
push(struct cfut__mpsc *s, const void *msg)
{
    size_t i = s->head + s->len;
    if (i >= s->ring_cap)
        i -= s->ring_cap;
    cfut__copy(s->ring + i * s->msg_size, msg, s->msg_size);
    s->len++;
    wake_rx(s);
}

/* Gives free slots to the first waiting senders and wakes them. */
static void
hand_permits(struct cfut__mpsc *s)
{
    while (!cfut_list_is_empty(&s->waiters) && s->len + s->reserved < s->cap) {
        struct cfut_mpsc_send *f = cfut_container_of(
            s->waiters.next, struct cfut_mpsc_send, waiter_link);
        cfut_list_remove(&f->waiter_link);
        f->is_waiting = false;
        f->has_permit = true;
        s->reserved++;
        cfut_waker_wake(&f->waker);
    }
}

/* Takes the oldest message into 'out' (pre: len > 0). */
static inline void
pop(struct cfut__mpsc *s, void *out)
{
    cfut__copy(out, s->ring + s->head * s->msg_size, s->msg_size);
    if (++s->head == s->ring_cap)
        s->head = 0;
    s->len--;
    if (s->cap != 0 && !cfut_list_is_empty(&s->waiters))
        hand_permits(s);
}

/* Drops a sender count; the last one wakes the receiver. */
static void
sender_release(struct cfut__mpsc *s)
{
    if (--s->n_senders == 0) {
        wake_rx(s);
        maybe_free(s);
    }
}

/* ---- creation and handles ---- */

int
cfut_mpsc_new(size_t msg_size, size_t capacity, cfut_mpsc_drop_msg_fn *drop_msg,
              struct cfut_mpsc_sender *tx, struct cfut_mpsc_receiver *rx)
{
    if (tx == NULL || rx == NULL || msg_size == 0 ||
        capacity > (SIZE_MAX / 2 - HDR_SIZE) / msg_size)
        return CFUT_EINVAL;
    struct cfut__mpsc *s = cfut_alloc(HDR_SIZE + capacity * msg_size);
    if (s == NULL)
        return CFUT_ENOMEM;
    s->msg_size = msg_size;
    s->cap = capacity;
    s->ring_cap = capacity;
    s->head = 0;
    s->len = 0;
    s->reserved = 0;
    s->ring = capacity != 0 ? (unsigned char *)s + HDR_SIZE : NULL;
    s->n_senders = 1;
    s->rx_alive = true;
    s->rx_closed = false;
    s->recv_live = false;
    s->rx_parked = false;
    s->drop_msg = drop_msg;
    s->rx_waker = CFUT_WAKER_EMPTY;
    cfut_list_init(&s->waiters);
    tx->shared = s;
    rx->shared = s;
    return CFUT_OK;
}

struct cfut_mpsc_sender
cfut_mpsc_sender_clone(const struct cfut_mpsc_sender *tx)
{
    CFUT_ASSERT(tx->shared != NULL, "mpsc: clone of an empty sender");
    CFUT_ASSERT(tx->shared->n_senders < UINT32_MAX, "mpsc: too many senders");
    tx->shared->n_senders++;
    return *tx;
}

void
cfut_mpsc_sender_drop(struct cfut_mpsc_sender *tx)
{
    struct cfut__mpsc *s = tx->shared;
    if (s == NULL)
        return;
    tx->shared = NULL;
    sender_release(s);
}

bool
cfut_mpsc_sender_is_closed(const struct cfut_mpsc_sender *tx)
{
    CFUT_ASSERT(tx->shared != NULL, "mpsc: is_closed on an empty sender");
    return tx->shared->rx_closed;
}

int
cfut_mpsc_try_send(const struct cfut_mpsc_sender *tx, const void *msg)
{
    struct cfut__mpsc *s = tx->shared;
    CFUT_ASSERT(s != NULL, "mpsc: try_send on an empty sender");
    if (s->rx_closed)
        return CFUT_ECLOSED;
    if (s->cap != 0) {
        if (s->len + s->reserved >= s->cap || !cfut_list_is_empty(&s->waiters))
            return CFUT_EFULL;
    } else if (s->len == s->ring_cap) {
        int rc = grow(s);
        if (rc != CFUT_OK)
            return rc;
    }
    push(s, msg);
    return CFUT_OK;
}

/* ---- send future ---- */

/*
 * States: the receiver is gone (READY, ECLOSED); a permit was handed to us
 * (READY after queueing into the reserved slot); not waiting and there is
 * room, with nobody waiting ahead (READY after queueing, budget allowing);
 * otherwise waiting on 'waiters' until hand_permits() or the receiver's
 * drop wakes us.
 */
static enum cfut_poll
send_poll(struct cfut_future *fut, struct cfut_context *cx, void *out)
{
    struct cfut_mpsc_send *f =
        cfut_container_of(fut, struct cfut_mpsc_send, base);
    struct cfut__mpsc *s = f->shared;
    int rc = CFUT_OK;
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
        push(s, f->msg);
    } else if (!f->is_waiting &&
               (s->cap == 0 || (s->len + s->reserved < s->cap &&
                                cfut_list_is_empty(&s->waiters)))) {
        if (!cfut_context_consume_budget(cx))
            return CFUT_PENDING;
        if (s->cap == 0 && s->len == s->ring_cap)
            rc = grow(s);
        if (rc == CFUT_OK)
            push(s, f->msg);
    } else {
        cfut_waker_register(&f->waker, cx->waker);
        if (!f->is_waiting) {
            cfut_list_init(&f->waiter_link); /* first link: the future may have
                                                moved since init */
            cfut_list_push_back(&s->waiters, &f->waiter_link);
            f->is_waiting = true;
        }
        return CFUT_PENDING;
    }
    cfut_waker_drop(&f->waker);
    *(int *)out = rc;
    return CFUT_READY;
}

static void
send_drop(struct cfut_future *fut)
{
    struct cfut_mpsc_send *f =
        cfut_container_of(fut, struct cfut_mpsc_send, base);
    struct cfut__mpsc *s = f->shared;
    if (f->is_waiting)
        cfut_list_remove(&f->waiter_link);
    if (f->waker.vtable != NULL)
        cfut_waker_drop(&f->waker);
    if (f->has_permit) {
        s->reserved--;
        hand_permits(s);
    }
    sender_release(s);
}

static const struct cfut_future_vtable send_vtable = {
    send_poll, send_drop, sizeof(int), "mpsc_send", NULL};

void
cfut_mpsc_send_init(struct cfut_mpsc_send *f, const struct cfut_mpsc_sender *tx,
                    const void *msg)
{
    struct cfut__mpsc *s = tx->shared;
    CFUT_ASSERT(s != NULL, "mpsc: send from an empty sender");
    CFUT_ASSERT(s->n_senders < UINT32_MAX, "mpsc: too many senders");
    s->n_senders++;
    cfut_future_init(&f->base, &send_vtable);
    f->shared = s;
    f->msg = msg;
    f->waker = CFUT_WAKER_EMPTY;
    f->is_waiting = false;
    f->has_permit = false;
}

/* ---- receiving ---- */

int
cfut_mpsc_try_recv(struct cfut_mpsc_receiver *rx, void *msg)
{
    struct cfut__mpsc *s = rx->shared;
    CFUT_ASSERT(s != NULL, "mpsc: try_recv on an empty receiver");
    if (s->len != 0) {
        pop(s, msg);
        return CFUT_OK;
    }
    return s->n_senders == 0 ? CFUT_ECLOSED : CFUT_EAGAIN;
}

/* States: a message is queued (READY with it, budget allowing); every
 * sender is gone (READY, ECLOSED); otherwise PENDING until push() or the
 * last sender_release() wakes 'rx_waker'. */
static inline enum cfut_poll
poll_recv(struct cfut__mpsc *s, struct cfut_context *cx, void *out)
{
    if (s->len != 0) {
        if (!cfut_context_consume_budget(cx))
            return CFUT_PENDING;
        *(int *)out = CFUT_OK;
        pop(s, (unsigned char *)out + CFUT_MPSC_VALUE_OFFSET);
        return CFUT_READY;
    }
    if (s->n_senders == 0) {
        *(int *)out = CFUT_ECLOSED;
        return CFUT_READY;
    }
    cfut_waker_register(&s->rx_waker, cx->waker);
    s->rx_parked = true;
    return CFUT_PENDING;
}

enum cfut_poll
cfut_mpsc_poll_recv(struct cfut_mpsc_receiver *rx, struct cfut_context *cx,
                    void *out)
{
    CFUT_DEBUG_ASSERT(rx->shared != NULL,
                      "mpsc: poll_recv on an empty receiver");
    return poll_recv(rx->shared, cx, out);
}

static enum cfut_poll
recv_poll(struct cfut_future *fut, struct cfut_context *cx, void *out)
{
    return poll_recv(
        cfut_container_of(fut, struct cfut_mpsc_recv, base)->shared, cx, out);
}

static void
recv_drop(struct cfut_future *fut)
{
    struct cfut__mpsc *s =
        cfut_container_of(fut, struct cfut_mpsc_recv, base)->shared;
    cfut_waker_drop(&s->rx_waker);
    s->rx_parked = false;
    s->recv_live = false;
}

static size_t
recv_output_size(const struct cfut_future *fut)
{
    const struct cfut_mpsc_recv *f =
        cfut_container_of(fut, struct cfut_mpsc_recv, base);
    return CFUT_MPSC_VALUE_OFFSET + f->shared->msg_size;
}

static const struct cfut_future_vtable recv_vtable = {
    recv_poll, recv_drop, CFUT_OUTPUT_DYNAMIC, "mpsc_recv", recv_output_size};

void
cfut_mpsc_recv_init(struct cfut_mpsc_recv *f, struct cfut_mpsc_receiver *rx)
{
    struct cfut__mpsc *s = rx->shared;
    CFUT_ASSERT(s != NULL, "mpsc: recv on an empty receiver");
    CFUT_ASSERT(!s->recv_live, "mpsc: a recv future is already alive");
    s->recv_live = true;
    cfut_future_init(&f->base, &recv_vtable);
    f->shared = s;
}

size_t
cfut_mpsc_len(const struct cfut_mpsc_receiver *rx)
{
    return rx->shared->len;
}

void
cfut_mpsc_receiver_drop(struct cfut_mpsc_receiver *rx)
{
    struct cfut__mpsc *s = rx->shared;
    if (s == NULL)
        return;
    rx->shared = NULL;
    CFUT_ASSERT(!s->recv_live, "mpsc: receiver dropped under a recv future");
    s->rx_closed = true;
    s->rx_parked = false;
    cfut_waker_drop(&s->rx_waker);
    while (s->len != 0) {
        unsigned char *m = s->ring + s->head * s->msg_size;
        if (++s->head == s->ring_cap)
            s->head = 0;
        s->len--;
        if (s->drop_msg != NULL)
            s->drop_msg(m);
    }
    /* Wake every waiting sender: each resolves to CFUT_ECLOSED. */
    struct cfut_list *n;
    while ((n = cfut_list_pop_front(&s->waiters)) != NULL) {
        struct cfut_mpsc_send *f =
            cfut_container_of(n, struct cfut_mpsc_send, waiter_link);
        f->is_waiting = false;
        cfut_waker_wake(&f->waker);
    }
    /* Only now: a 'drop_msg' that drops a sender must not free 's'. */
    s->rx_alive = false;
    maybe_free(s);
}
