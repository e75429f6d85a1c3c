/*
 * cfut_broadcast_core_int.h: the broadcast channel's state and every one
 * of its transitions, written once for both kinds (internal; never
 * included by a public header): a ring of 'cap' slots after the state,
 * each message with its position in the stream and the number of
 * receivers yet to see it, the counts of senders and receivers, and the
 * recv futures that wait. A receiver is a position: the message at
 * position p sits in slot p % cap until position p + cap overwrites it.
 * The core never locks and never allocates; it calls the value hooks where
 * a function says so (under the thread-safe kind's lock).
 */
#ifndef CFUT_BROADCAST_CORE_INT_H
#define CFUT_BROADCAST_CORE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cfut_count_int.h"
#include "cfut_owner_int.h"
#include "cfut_alloc_int.h"
#include "cfut_broadcast.h"
#include "cfut_waitq_int.h"

/* A slot's bookkeeping. */
struct cfut__broadcast_slot {
    uint64_t pos; /* the position of the message in it */
    uint32_t rem; /* receivers yet to see it; 0: released (or never used) */
};

/*
 * The state both kinds share (the thread-safe kind guards all of it but
 * the immutable fields with its lock).
 *
 * Counting: a message is counted for every receiver there when it is sent
 * (those subscribed later start after it). Each receiver takes one off when
 * it receives the message or, going, for each message it had yet to see;
 * the last one releases it. An overwrite releases a message still counted:
 * its receivers have lagged, and will skip it.
 */
struct cfut__broadcast {
    CFUT__OWNER_FIELD; /* debug builds: the local kind's thread */
    /* immutable */
    size_t msg_size;
    size_t cap; /* slots in the ring */
    struct cfut__broadcast_slot *slots;
    unsigned char *msgs;        /* 'cap' messages of 'msg_size' bytes */
    cfut_channel_copy_fn *copy; /* NULL: copy the bytes */
    cfut_channel_drop_fn *drop; /* NULL: nothing to release */
    /* mutable */
    uint64_t tail; /* the position of the next message sent */
    uint32_t n_senders;
    uint32_t n_receivers;
    struct cfut_list waiters; /* recv futures, FIFO */
};

/* Bytes of a ring of 'cap' slots for 'msg_size'-byte messages (after the
 * state); 0 when that overflows. */
static inline size_t
cfut__broadcast_ring_size(size_t msg_size, size_t cap)
{
    size_t limit = SIZE_MAX / 4;
    if (msg_size == 0 || cap == 0 ||
        cap > limit / (sizeof(struct cfut__broadcast_slot) + msg_size))
        return 0;
    return CFUT__ALIGN_UP(cap * sizeof(struct cfut__broadcast_slot),
                          CFUT__MAX_ALIGN) +
           cap * msg_size;
}

/*
 * Checks a new channel's arguments ('has_handles': both handle pointers
 * are non-NULL) and allocates its block: 'hdr_size' bytes for the kind's
 * state, then the ring. Returns the block, or NULL with CFUT_EINVAL or
 * CFUT_ENOMEM in '*rc'.
 */
static inline void *
cfut__broadcast_alloc(size_t hdr_size, size_t msg_size, size_t cap,
                      bool has_handles, int *rc)
{
    size_t ring = cfut__broadcast_ring_size(msg_size, cap);
    *rc = CFUT_EINVAL;
    if (!has_handles || ring == 0)
        return NULL;
    *rc = CFUT_ENOMEM;
    return cfut_alloc(hdr_size + ring);
}

/*
 * Initialises 'c', in the block of cfut__broadcast_alloc() ('block', its
 * state 'hdr_size' bytes), with one sender and one receiver (at position
 * 0) and an empty ring.
 */
static inline void
cfut__broadcast_core_init(struct cfut__broadcast *c, void *block,
                          size_t hdr_size, size_t msg_size, size_t cap,
                          const struct cfut_channel_value_ops *ops)
{
    unsigned char *ring = (unsigned char *)block + hdr_size;
    *c = (struct cfut__broadcast){
        .msg_size = msg_size,
        .cap = cap,
        .slots = (struct cfut__broadcast_slot *)(void *)ring,
        .msgs = ring + CFUT__ALIGN_UP(cap * sizeof(struct cfut__broadcast_slot),
                                      CFUT__MAX_ALIGN),
        .copy = ops != NULL ? ops->copy : NULL,
        .drop = ops != NULL ? ops->drop : NULL,
        .n_senders = 1,
        .n_receivers = 1};
    CFUT__OWNER_INIT(c, "broadcast channel");
    for (size_t i = 0; i < cap; i++)
        c->slots[i] = (struct cfut__broadcast_slot){0, 0};
    cfut_list_init(&c->waiters);
}

/* The message in slot 'i'. */
static inline unsigned char *
cfut__broadcast_msg(const struct cfut__broadcast *c, size_t i)
{
    return c->msgs + i * c->msg_size;
}

/* Takes one receiver off the count of the message in slot 'i' and
 * releases the message when it was the last. */
static inline void
cfut__broadcast_seen(struct cfut__broadcast *c, size_t i)
{
    CFUT_DEBUG_ASSERT(c->slots[i].rem != 0, "broadcast: a message seen twice");
    if (--c->slots[i].rem == 0 && c->drop != NULL)
        c->drop(cfut__broadcast_msg(c, i));
}

/* The position of the oldest message still in the ring. */
static inline uint64_t
cfut__broadcast_oldest(const struct cfut__broadcast *c)
{
    return c->tail > c->cap ? c->tail - c->cap : 0;
}

/* ---- senders ---- */

/*
 * A sender goes; the last one moves every waiter to 'batch' (to see the
 * end). Returns whether the state is now unreferenced.
 */
static inline bool
cfut__broadcast_sender_gone(struct cfut__broadcast *c, struct cfut_list *batch)
{
    if (--c->n_senders != 0)
        return false;
    cfut__waitq_take_all(&c->waiters, batch);
    return c->n_receivers == 0;
}

/*
 * The send: stores a copy of 'msg' at position 'tail', counted for every
 * receiver, overwriting (and releasing, if still counted) the message
 * 'cap' positions older; every waiter moves to 'batch'.
 * Returns: 0; CFUT_ECLOSED when there is no receiver (nothing stored).
 */
static inline int
cfut__broadcast_send(struct cfut__broadcast *c, const void *msg,
                     struct cfut_list *batch)
{
    if (c->n_receivers == 0)
        return CFUT_ECLOSED;
    size_t i = (size_t)(c->tail % c->cap);
    struct cfut__broadcast_slot *s = &c->slots[i];
    unsigned char *m = cfut__broadcast_msg(c, i);
    if (s->rem != 0 && c->drop != NULL)
        c->drop(m);
    cfut__copy(m, msg, c->msg_size);
    s->pos = c->tail++;
    s->rem = c->n_receivers;
    cfut__waitq_take_all(&c->waiters, batch);
    return CFUT_OK;
}

/* ---- receivers ---- */

/* Counts one more receiver, at the tail. Returns false when the count is
 * full (the caller aborts). */
static inline bool
cfut__broadcast_subscribe(struct cfut__broadcast *c, uint64_t *next)
{
    if (!cfut__count_up(&c->n_receivers))
        return false;
    *next = c->tail;
    return true;
}

/*
 * Takes the message at the position '*next' into 'out' (the 'copy' hook,
 * if any), and moves '*next' on.
 * Returns: 0; CFUT_ELAGGED ('*next' was overwritten: it moves to the
 *   oldest message, and '*n_skipped' says how many it passed over);
 *   CFUT_EAGAIN (nothing new, a sender remains); CFUT_ECLOSED (nothing
 *   new, every sender gone).
 */
static inline int
cfut__broadcast_try_recv(struct cfut__broadcast *c, uint64_t *next, void *out,
                         uint64_t *n_skipped)
{
    if (*next == c->tail)
        return c->n_senders == 0 ? CFUT_ECLOSED : CFUT_EAGAIN;
    uint64_t oldest = cfut__broadcast_oldest(c);
    if (*next < oldest) {
        *n_skipped = oldest - *next;
        *next = oldest;
        return CFUT_ELAGGED;
    }
    size_t i = (size_t)(*next % c->cap);
    CFUT_DEBUG_ASSERT(c->slots[i].pos == *next, "broadcast: ring corrupted");
    const unsigned char *m = cfut__broadcast_msg(c, i);
    if (c->copy != NULL)
        c->copy(out, m, c->msg_size);
    else
        cfut__copy(out, m, c->msg_size);
    cfut__broadcast_seen(c, i);
    ++*next;
    return CFUT_OK;
}

/*
 * The recv future's poll, for its waiter 'w' and its receiver's '*next'.
 * States: something new (a message or a lag: READY, budget allowing, with
 * CFUT_BROADCAST_OUTPUT in 'out'); nothing new and every sender gone
 * (READY, CFUT_ECLOSED); otherwise PENDING, parked on 'waiters' with the
 * waker of 'cx' until a send or the last sender's drop moves it to a
 * batch and wakes it.
 */
static inline enum cfut_poll
cfut__broadcast_poll_recv(struct cfut__broadcast *c, struct cfut__waiter *w,
                          uint64_t *next, struct cfut_context *cx, void *out)
{
    if (*next != c->tail) {
        if (!cfut_context_consume_budget(cx))
            return CFUT_PENDING;
    } else if (c->n_senders != 0) {
        cfut__waiter_park(&c->waiters, w, cx);
        return CFUT_PENDING;
    }
    uint64_t skipped = 0;
    *(int *)out = cfut__broadcast_try_recv(
        c, next, (unsigned char *)out + CFUT_BROADCAST_VALUE_OFFSET, &skipped);
    memcpy((unsigned char *)out +
               offsetof(struct cfut_broadcast_output_head, n_skipped),
           &skipped, sizeof skipped);
    cfut__waiter_unlink(w);
    return CFUT_READY;
}

/*
 * A receiver at position 'next' goes: each message it had yet to see
 * stops waiting for it (the last receiver of one releases it). Returns
 * whether the state is now unreferenced.
 */
static inline bool
cfut__broadcast_receiver_gone(struct cfut__broadcast *c, uint64_t next)
{
    uint64_t p =
        next > cfut__broadcast_oldest(c) ? next : cfut__broadcast_oldest(c);
    for (; p < c->tail; p++)
        cfut__broadcast_seen(c, (size_t)(p % c->cap));
    c->n_receivers--;
    return c->n_receivers == 0 && c->n_senders == 0;
}

#endif /* CFUT_BROADCAST_CORE_INT_H */
