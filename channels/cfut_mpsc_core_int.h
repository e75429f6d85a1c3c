/*
 * cfut_mpsc_core_int.h: the mpsc channel's state and every one of its
 * transitions, written once for both kinds (internal; never included by a
 * public header): the ring, the count of senders, the receiver's waker and
 * the FIFO list of senders that wait for capacity, with the permits that
 * keep their turn. A core function changes the state and hands the wakers
 * it lets go of to a wake list: the local kind passes an immediate one
 * (they are woken there and then), the thread-safe kind locks, passes a
 * deferred one, unlocks, then runs it; either frees the state when the
 * core says nothing refers to it any more. The core never locks, and calls
 * user code only through an immediate wake list and in cfut__mpsc_drain()
 * (see there).
 */
#ifndef CFUT_MPSC_CORE_INT_H
#define CFUT_MPSC_CORE_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "cfut_count_int.h"
#include "cfut_alloc_int.h"
#include "cfut_list_int.h"
#include "cfut_mpsc.h"
#include "cfut_wake_list_int.h"

/*
 * The state both kinds share (the thread-safe kind guards all of it but
 * the immutable fields with its lock).
 *
 * Permits: a sender waits only when there is no free slot or others wait
 * ahead of it, and every event frees at most one slot (a receive, or a
 * permit given back), which goes at once to the first waiter. So while
 * anyone waits, every slot is full or reserved ('len' + 'reserved' ==
 * 'cap'): one permit per freed slot is all there is to hand.
 *
 * The ring after the receiver's close: senders queue only while
 * 'rx_closed' is false, and only the receiver takes. Once the receiver has
 * set 'rx_closed' (under the lock), no sender reads or writes the ring,
 * 'head' or 'len' again: they are the receiver's alone.
 */
struct cfut__mpsc_core {
    /* immutable */
    size_t msg_size;
    size_t cap; /* most messages queued; 0: unbounded */
    cfut_mpsc_drop_msg_fn *drop_msg;
    /* mutable */
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
    /* The receiver's latest PENDING poll; it stays registered across wakes
     * (they are by reference), so parking again with the same waker costs
     * no clone. */
    struct cfut_waker rx_waker;
    struct cfut_list waiters; /* send futures, on 'waiter_link' */
};

/*
 * Doubles an unbounded ring, unrolling it so that the oldest message is in
 * slot 0. Returns 0, or CFUT_ENOMEM with the ring unchanged. Out of line
 * (cfut_mpsc.c): it is the rare path.
 */
int cfut__mpsc_grow(struct cfut__mpsc_core *c);

/*
 * Checks a new channel's arguments ('has_handles': both handle pointers
 * are non-NULL) and allocates its block: 'hdr_size' bytes for the kind's
 * state, then a bounded channel's ring. Returns the block, or NULL with
 * CFUT_EINVAL or CFUT_ENOMEM in '*rc'.
 */
static inline void *
cfut__mpsc_alloc(size_t hdr_size, size_t msg_size, size_t capacity,
                 bool has_handles, int *rc)
{
    *rc = CFUT_EINVAL;
    if (!has_handles || msg_size == 0 ||
        capacity > (SIZE_MAX / 2 - hdr_size) / msg_size)
        return NULL;
    *rc = CFUT_ENOMEM;
    return cfut_alloc(hdr_size + capacity * msg_size);
}

/*
 * Initialises 'c', in the block of cfut__mpsc_alloc() ('block', its state
 * 'hdr_size' bytes), with one sender and the receiver alive.
 */
static inline void
cfut__mpsc_core_init(struct cfut__mpsc_core *c, void *block, size_t hdr_size,
                     size_t msg_size, size_t cap,
                     cfut_mpsc_drop_msg_fn *drop_msg)
{
    *c = (struct cfut__mpsc_core){
        .msg_size = msg_size,
        .cap = cap,
        .drop_msg = drop_msg,
        .ring_cap = cap,
        .ring = cap != 0 ? (unsigned char *)block + hdr_size : NULL,
        .n_senders = 1,
        .rx_alive = true,
        .rx_waker = CFUT_WAKER_EMPTY};
    cfut_list_init(&c->waiters);
}

/* Frees what 'c' owns apart from the kind's block (an unbounded ring). */
static inline void
cfut__mpsc_core_deinit(struct cfut__mpsc_core *c)
{
    if (c->cap == 0)
        cfut_free(c->ring);
}

/* Initialises a send future's waiter: not waiting, no permit. Its link is
 * initialised when it first waits (the future may move until its first
 * poll). */
static inline void
cfut__mpsc_waiter_init(struct cfut__mpsc_waiter *w)
{
    w->waker = CFUT_WAKER_EMPTY;
    w->is_waiting = false;
    w->has_permit = false;
}

/* ---- senders ---- */

/* Hands the parked receiver's waker to 'wl' (it stays registered). */
static inline void
cfut__mpsc_wake_rx(struct cfut__mpsc_core *c, struct cfut__wake_list *wl)
{
    if (c->rx_parked) {
        c->rx_parked = false;
        cfut__wake_list_keep(wl, &c->rx_waker);
    }
}

/*
 * A sender (handle or send future) goes; the last one wakes the receiver
 * to drain and see the end. Returns whether the state is now unreferenced
 * (the caller frees it, after unlocking and running 'wl').
 */
static inline bool
cfut__mpsc_sender_gone(struct cfut__mpsc_core *c, struct cfut__wake_list *wl)
{
    if (--c->n_senders != 0)
        return false;
    cfut__mpsc_wake_rx(c, wl);
    return !c->rx_alive;
}

/* Tells whether a sender that waits on nobody may queue now. */
static inline bool
cfut__mpsc_has_room(const struct cfut__mpsc_core *c)
{
    return c->cap == 0 ||
           (c->len + c->reserved < c->cap && cfut_list_is_empty(&c->waiters));
}

/* Queues a copy of 'msg' (pre: a free or reserved slot) and wakes the
 * receiver. */
static inline void
cfut__mpsc_push(struct cfut__mpsc_core *c, const void *msg,
                struct cfut__wake_list *wl)
{
    size_t i = c->head + c->len;
    if (i >= c->ring_cap)
        i -= c->ring_cap;
    cfut__copy(c->ring + i * c->msg_size, msg, c->msg_size);
    c->len++;
    cfut__mpsc_wake_rx(c, wl);
}

/* Queues a copy of 'msg' when there is room (pre: has_room), growing an
 * unbounded ring when it is full. Returns 0 or CFUT_ENOMEM. */
static inline int
cfut__mpsc_push_room(struct cfut__mpsc_core *c, const void *msg,
                     struct cfut__wake_list *wl)
{
    if (c->cap == 0 && c->len == c->ring_cap) {
        int rc = cfut__mpsc_grow(c);
        if (rc != CFUT_OK)
            return rc;
    }
    cfut__mpsc_push(c, msg, wl);
    return CFUT_OK;
}

/*
 * try_send: queues a copy of 'msg' without waiting.
 * Returns: 0; CFUT_ECLOSED; CFUT_EFULL (no free slot, or senders wait);
 *   CFUT_ENOMEM (an unbounded ring cannot grow).
 */
static inline int
cfut__mpsc_try_send(struct cfut__mpsc_core *c, const void *msg,
                    struct cfut__wake_list *wl)
{
    if (c->rx_closed)
        return CFUT_ECLOSED;
    if (!cfut__mpsc_has_room(c))
        return CFUT_EFULL;
    return cfut__mpsc_push_room(c, msg, wl);
}

/*
 * Copies 'n' messages from 'src' into the ring after the queued ones (pre:
 * 'n' free slots); at most two copies, around the ring's end.
 */
static inline void
cfut__mpsc_ring_put(struct cfut__mpsc_core *c, const unsigned char *src,
                    size_t n)
{
    size_t i = c->head + c->len;
    if (i >= c->ring_cap)
        i -= c->ring_cap;
    size_t first = c->ring_cap - i;
    if (first > n)
        first = n;
    memcpy(c->ring + i * c->msg_size, src, first * c->msg_size);
    memcpy(c->ring, src + first * c->msg_size, (n - first) * c->msg_size);
    c->len += n;
}

/*
 * try_send_many: queues copies of the first of the 'n' messages at 'msgs'
 * that fit, in order, and wakes the receiver once; '*sent' says how many.
 * An unbounded ring grows to hold them all.
 * Returns: 0 (all 'n' queued); otherwise why the rest was not: CFUT_EFULL
 *   (no free slot left, or senders wait), CFUT_ECLOSED (nothing queued),
 *   CFUT_ENOMEM (an unbounded ring cannot grow).
 */
static inline int
cfut__mpsc_try_send_many(struct cfut__mpsc_core *c, const void *msgs, size_t n,
                         size_t *sent, struct cfut__wake_list *wl)
{
    *sent = 0;
    if (c->rx_closed)
        return CFUT_ECLOSED;
    int rc = CFUT_OK;
    size_t k = n;
    if (c->cap != 0) {
        size_t room =
            cfut_list_is_empty(&c->waiters) ? c->cap - c->len - c->reserved : 0;
        if (k > room) {
            k = room;
            rc = CFUT_EFULL;
        }
    } else {
        while (c->ring_cap - c->len < k) {
            if (cfut__mpsc_grow(c) != CFUT_OK) {
                k = c->ring_cap - c->len;
                rc = CFUT_ENOMEM;
                break;
            }
        }
    }
    if (k != 0) {
        cfut__mpsc_ring_put(c, msgs, k);
        cfut__mpsc_wake_rx(c, wl);
    }
    *sent = k;
    return rc;
}

/*
 * Gives a free slot to the first waiting sender, if there are both (a
 * permit), and moves its waker to '*w' (the caller wakes it). Returns
 * whether it did.
 */
static inline bool
cfut__mpsc_permit_next(struct cfut__mpsc_core *c, struct cfut_waker *w)
{
    if (cfut_list_is_empty(&c->waiters) || c->len + c->reserved >= c->cap)
        return false;
    struct cfut__mpsc_waiter *sw = cfut_container_of(
        c->waiters.next, struct cfut__mpsc_waiter, waiter_link);
    cfut_list_remove(&sw->waiter_link);
    sw->is_waiting = false;
    sw->has_permit = true;
    c->reserved++;
    *w = sw->waker;
    sw->waker = CFUT_WAKER_EMPTY;
    return true;
}

/* Gives a free slot to the first waiting sender, if any, and hands its
 * waker to 'wl'. */
static inline void
cfut__mpsc_give_permit(struct cfut__mpsc_core *c, struct cfut__wake_list *wl)
{
    struct cfut_waker w;
    if (cfut__mpsc_permit_next(c, &w))
        cfut__wake_list_take(wl, &w);
}

/*
 * Gives a slot just freed to the first waiting sender (a permit) and hands
 * its waker to 'wl'. One is enough (see the permits above).
 */
static inline void
cfut__mpsc_hand_permit(struct cfut__mpsc_core *c, struct cfut__wake_list *wl)
{
    cfut__mpsc_give_permit(c, wl);
    CFUT_DEBUG_ASSERT(cfut_list_is_empty(&c->waiters) ||
                          c->len + c->reserved == c->cap,
                      "mpsc: a free slot while senders wait");
}

/* Takes 'w' off the wait list and gives back a permit it holds. */
static inline void
cfut__mpsc_unwait(struct cfut__mpsc_core *c, struct cfut__mpsc_waiter *w)
{
    if (w->is_waiting) {
        cfut_list_remove(&w->waiter_link);
        w->is_waiting = false;
    }
    if (w->has_permit) {
        w->has_permit = false;
        c->reserved--;
    }
}

/*
 * Tells whether a send future's poll takes the fast path: it never waited
 * (so it holds no waker and no permit), the receiver is there, and there
 * is room with nobody waiting ahead. It then only spends budget and
 * queues (cfut__mpsc_push_room()), with no waker traffic.
 */
static inline bool
cfut__mpsc_send_is_fast(const struct cfut__mpsc_core *c,
                        const struct cfut__mpsc_waiter *w)
{
    bool fast =
        __builtin_expect(!(w->is_waiting | w->has_permit | c->rx_closed), 1) &&
        cfut__mpsc_has_room(c);
    CFUT_DEBUG_ASSERT(!fast || w->waker.vtable == NULL,
                      "mpsc: a waker on a send future that never waited");
    return fast;
}

/*
 * The send future's poll, for its waiter 'w' and message 'msg'. States:
 * the receiver is gone (READY, CFUT_ECLOSED); a permit was handed over
 * (READY, queued into the reserved slot); not waiting, and there is room
 * with nobody waiting ahead (READY after queueing, budget allowing;
 * CFUT_ENOMEM when an unbounded ring cannot grow); otherwise waiting on
 * 'waiters' with the waker of 'cx', until a permit or the receiver's drop
 * wakes it. READY writes the status to '*status' and releases the waker.
 */
static inline enum cfut_poll
cfut__mpsc_send_poll(struct cfut__mpsc_core *c, struct cfut__mpsc_waiter *w,
                     const void *msg, struct cfut_context *cx,
                     struct cfut__wake_list *wl, int *status)
{
    if (cfut__mpsc_send_is_fast(c, w)) {
        if (!cfut_context_consume_budget(cx))
            return CFUT_PENDING;
        *status = cfut__mpsc_push_room(c, msg, wl);
        return CFUT_READY;
    }
    int rc = CFUT_OK;
    if (c->rx_closed) {
        cfut__mpsc_unwait(c, w);
        rc = CFUT_ECLOSED;
    } else if (w->has_permit) {
        cfut__mpsc_unwait(c, w);
        cfut__mpsc_push(c, msg, wl);
    } else {
        cfut_waker_register(&w->waker, cx->waker);
        if (!w->is_waiting) {
            cfut_list_init(&w->waiter_link);
            cfut_list_push_back(&c->waiters, &w->waiter_link);
            w->is_waiting = true;
        }
        return CFUT_PENDING;
    }
    cfut__wake_list_take_drop(wl, &w->waker);
    *status = rc;
    return CFUT_READY;
}

/*
 * A send future goes: it leaves the wait list, releases its waker, and
 * passes a permit it held to the next waiter (unless the receiver is gone:
 * nothing is queued any more). Then it goes as a sender. Returns whether
 * the state is now unreferenced.
 */
static inline bool
cfut__mpsc_send_gone(struct cfut__mpsc_core *c, struct cfut__mpsc_waiter *w,
                     struct cfut__wake_list *wl)
{
    bool had_permit = w->has_permit;
    cfut__mpsc_unwait(c, w);
    cfut__wake_list_take_drop(wl, &w->waker);
    if (had_permit && !c->rx_closed)
        cfut__mpsc_hand_permit(c, wl);
    return cfut__mpsc_sender_gone(c, wl);
}

/* ---- the receiver ---- */

/* Unlinks the oldest message (pre: len > 0) and returns its slot, valid
 * until the next push. */
static inline unsigned char *
cfut__mpsc_shift(struct cfut__mpsc_core *c)
{
    unsigned char *m = c->ring + c->head * c->msg_size;
    if (++c->head == c->ring_cap)
        c->head = 0;
    c->len--;
    return m;
}

/* Takes the oldest message into 'out' (pre: len > 0); its slot goes to
 * the first waiting sender. */
static inline void
cfut__mpsc_pop(struct cfut__mpsc_core *c, void *out, struct cfut__wake_list *wl)
{
    cfut__copy(out, cfut__mpsc_shift(c), c->msg_size);
    if (c->cap != 0)
        cfut__mpsc_hand_permit(c, wl);
}

/*
 * Takes the 'k' oldest messages into 'out' (pre: 0 < k <= len), at most
 * two copies. The slots it frees are not handed on: the caller gives them
 * to waiting senders (cfut__mpsc_permit_next() until it says no) before
 * it lets go of the state.
 */
static inline void
cfut__mpsc_take_many(struct cfut__mpsc_core *c, void *out, size_t k)
{
    size_t first = c->ring_cap - c->head;
    if (first > k)
        first = k;
    memcpy(out, c->ring + c->head * c->msg_size, first * c->msg_size);
    memcpy((unsigned char *)out + first * c->msg_size, c->ring,
           (k - first) * c->msg_size);
    c->head += k;
    if (c->head >= c->ring_cap)
        c->head -= c->ring_cap;
    c->len -= k;
}

/*
 * try_recv_many: takes up to 'max' (> 0) of the oldest messages into the
 * array 'msgs'; '*n' says how many (the caller hands the freed slots on,
 * see cfut__mpsc_take_many()).
 * Returns: 0 (at least one); CFUT_EAGAIN (empty, a sender remains);
 *   CFUT_ECLOSED (empty, every sender gone).
 */
static inline int
cfut__mpsc_try_recv_many(struct cfut__mpsc_core *c, void *msgs, size_t max,
                         size_t *n)
{
    size_t k = c->len < max ? c->len : max;
    *n = k;
    if (k != 0) {
        cfut__mpsc_take_many(c, msgs, k);
        return CFUT_OK;
    }
    return c->n_senders == 0 ? CFUT_ECLOSED : CFUT_EAGAIN;
}

/*
 * The receiver's batched poll: as cfut__mpsc_poll_recv(), but READY takes
 * up to 'max' messages into 'msgs' ('*n' of them, one unit of budget for
 * the batch; the caller hands the freed slots on), or none ('*n' 0) when
 * every sender is gone.
 */
static inline enum cfut_poll
cfut__mpsc_poll_recv_many(struct cfut__mpsc_core *c, struct cfut_context *cx,
                          void *msgs, size_t max, size_t *n)
{
    *n = 0;
    if (c->len != 0) {
        if (!cfut_context_consume_budget(cx))
            return CFUT_PENDING;
        *n = c->len < max ? c->len : max;
        cfut__mpsc_take_many(c, msgs, *n);
        return CFUT_READY;
    }
    if (c->n_senders == 0)
        return CFUT_READY;
    cfut_waker_register(&c->rx_waker, cx->waker);
    c->rx_parked = true;
    return CFUT_PENDING;
}

/*
 * try_recv: takes the oldest message into 'msg'.
 * Returns: 0; CFUT_EAGAIN (empty, a sender remains); CFUT_ECLOSED (empty,
 *   every sender gone).
 */
static inline int
cfut__mpsc_try_recv(struct cfut__mpsc_core *c, void *msg,
                    struct cfut__wake_list *wl)
{
    if (c->len != 0) {
        cfut__mpsc_pop(c, msg, wl);
        return CFUT_OK;
    }
    return c->n_senders == 0 ? CFUT_ECLOSED : CFUT_EAGAIN;
}

/*
 * The receiver's fast path, for the local kind: a message is queued and no
 * sender waits, so taking it hands no permit and needs no wake list (the
 * caller then spends budget, writes CFUT_OK and copies cfut__mpsc_shift()
 * out). Everything else goes through cfut__mpsc_poll_recv().
 */
static inline bool
cfut__mpsc_recv_is_fast(const struct cfut__mpsc_core *c)
{
    return c->len != 0 && cfut_list_is_empty(&c->waiters);
}

/*
 * The receiver's poll (a recv future's, or poll_recv's). States: a message
 * is queued (READY with it, budget allowing); every sender is gone (READY,
 * CFUT_ECLOSED); otherwise PENDING, parked with the waker of 'cx' in
 * 'rx_waker' until a push or the last sender's drop.
 */
static inline enum cfut_poll
cfut__mpsc_poll_recv(struct cfut__mpsc_core *c, struct cfut_context *cx,
                     void *out, struct cfut__wake_list *wl)
{
    if (c->len != 0) {
        if (!cfut_context_consume_budget(cx))
            return CFUT_PENDING;
        *(int *)out = CFUT_OK;
        cfut__mpsc_pop(c, (unsigned char *)out + CFUT_MPSC_VALUE_OFFSET, wl);
        return CFUT_READY;
    }
    if (c->n_senders == 0) {
        *(int *)out = CFUT_ECLOSED;
        return CFUT_READY;
    }
    cfut_waker_register(&c->rx_waker, cx->waker);
    c->rx_parked = true;
    return CFUT_PENDING;
}

/* A recv future begins. Returns false when one is alive already (the
 * caller aborts). */
static inline bool
cfut__mpsc_recv_begin(struct cfut__mpsc_core *c)
{
    bool first = !c->recv_live;
    c->recv_live = true;
    return first;
}

/* A recv future goes: the waker it registered is released. */
static inline void
cfut__mpsc_recv_gone(struct cfut__mpsc_core *c, struct cfut__wake_list *wl)
{
    cfut__wake_list_take_drop(wl, &c->rx_waker);
    c->rx_parked = false;
    c->recv_live = false;
}

/*
 * The receiver's drop, step 1 of 4: sends fail from now on, and its waker
 * is released. Returns false when a recv future is still alive (the
 * caller aborts).
 */
static inline bool
cfut__mpsc_receiver_close(struct cfut__mpsc_core *c, struct cfut__wake_list *wl)
{
    c->rx_closed = true;
    c->rx_parked = false;
    cfut__wake_list_take_drop(wl, &c->rx_waker);
    return !c->recv_live;
}

/*
 * Step 2: releases every queued message with 'drop_msg'. It needs no lock
 * (the ring is the receiver's alone after step 1), so the user's callback
 * runs with none held; the state stays alive meanwhile ('rx_alive'), even
 * if the callback drops the last sender.
 */
static inline void
cfut__mpsc_drain(struct cfut__mpsc_core *c)
{
    while (c->len != 0) {
        unsigned char *m = cfut__mpsc_shift(c);
        if (c->drop_msg != NULL)
            c->drop_msg(m);
    }
}

/*
 * Step 3, once per waiting sender: takes the first one off the wait list
 * and hands its waker to 'wl' (its poll then sees CFUT_ECLOSED). Returns
 * false when none is left.
 */
static inline bool
cfut__mpsc_release_waiter(struct cfut__mpsc_core *c, struct cfut__wake_list *wl)
{
    struct cfut_list *n = cfut_list_pop_front(&c->waiters);
    if (n == NULL)
        return false;
    struct cfut__mpsc_waiter *w =
        cfut_container_of(n, struct cfut__mpsc_waiter, waiter_link);
    w->is_waiting = false;
    cfut__wake_list_take(wl, &w->waker);
    return true;
}

/* Step 4: the receiver lets go. Returns whether the state is now
 * unreferenced. */
static inline bool
cfut__mpsc_receiver_gone(struct cfut__mpsc_core *c)
{
    c->rx_alive = false;
    return c->n_senders == 0;
}

#endif /* CFUT_MPSC_CORE_INT_H */
