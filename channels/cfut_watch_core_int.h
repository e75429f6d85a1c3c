/*
 * cfut_watch_core_int.h: the watch channel's state and every one of its
 * transitions, written once for both kinds (internal; never included by a
 * public header). The value lives in one of two slots after the state: a
 * send writes the idle slot, then (under the kind's lock) makes it the
 * current one, so a receiver copying under the lock never sees half a
 * value, and the replaced value is released after unlocking. The core
 * never locks and never allocates; it calls the 'copy' hook in
 * cfut__watch_get() (under the lock) and the 'drop' hook only where a
 * function says so.
 */
#ifndef CFUT_WATCH_CORE_INT_H
#define CFUT_WATCH_CORE_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "cfut_count_int.h"
#include "cfut_owner_int.h"
#include "cfut_alloc_int.h"
#include "cfut_waitq_int.h"
#include "cfut_watch.h"

/*
 * The state both kinds share (the thread-safe kind guards all of it but
 * the immutable fields with its lock). The idle slot is the sender's
 * alone: only a send writes it, and only the sender releases what it held,
 * so both happen without the lock (one sender, one call at a time).
 */
struct cfut__watch {
    CFUT__OWNER_FIELD; /* debug builds: the local kind's thread */
    /* immutable */
    size_t value_size;
    size_t stride; /* bytes from one slot to the next */
    unsigned char *slots;
    cfut_channel_copy_fn *copy; /* NULL: copy the bytes */
    cfut_channel_drop_fn *drop; /* NULL: nothing to release */
    /* mutable */
    uint64_t version;         /* of the current value; the initial one is 0 */
    unsigned cur;             /* the current value's slot: 0 or 1 */
    uint32_t n_receivers;     /* receiver handles */
    bool tx_alive;            /* the sender holds the state */
    struct cfut_list waiters; /* changed futures, FIFO */
};

/*
 * Checks a new channel's arguments ('has_handles': both handle pointers
 * are non-NULL) and allocates its block: 'hdr_size' bytes for the kind's
 * state, then the two slots. Returns the block, or NULL with CFUT_EINVAL
 * or CFUT_ENOMEM in '*rc'.
 */
static inline void *
cfut__watch_alloc(size_t hdr_size, size_t value_size, bool has_handles, int *rc)
{
    *rc = CFUT_EINVAL;
    if (!has_handles || value_size > SIZE_MAX / 8)
        return NULL;
    *rc = CFUT_ENOMEM;
    return cfut_alloc(hdr_size +
                      2 * CFUT__ALIGN_UP(value_size, CFUT__MAX_ALIGN));
}

/* The value in slot 'i'. */
static inline unsigned char *
cfut__watch_slot(const struct cfut__watch *c, unsigned i)
{
    return c->slots + i * c->stride;
}

/*
 * Initialises 'c', in the block of cfut__watch_alloc() ('block', its state
 * 'hdr_size' bytes), holding the value at 'initial' (NULL: zero bytes) as
 * version 0, with the sender and one receiver.
 */
static inline void
cfut__watch_core_init(struct cfut__watch *c, void *block, size_t hdr_size,
                      size_t value_size, const void *initial,
                      const struct cfut_channel_value_ops *ops)
{
    *c = (struct cfut__watch){.value_size = value_size,
                              .stride =
                                  CFUT__ALIGN_UP(value_size, CFUT__MAX_ALIGN),
                              .slots = (unsigned char *)block + hdr_size,
                              .copy = ops != NULL ? ops->copy : NULL,
                              .drop = ops != NULL ? ops->drop : NULL,
                              .n_receivers = 1,
                              .tx_alive = true};
    CFUT__OWNER_INIT(c, "watch channel");
    cfut_list_init(&c->waiters);
    if (initial != NULL)
        memcpy(c->slots, initial, value_size);
    else
        memset(c->slots, 0, value_size);
}

/* Releases the current value, once nothing refers to the state. */
static inline void
cfut__watch_core_deinit(struct cfut__watch *c)
{
    if (c->drop != NULL)
        c->drop(cfut__watch_slot(c, c->cur));
}

/* ---- the sender ---- */

/*
 * A send, step 1 (the sender alone, no lock): copies the value at 'value'
 * into the idle slot.
 */
static inline void
cfut__watch_stage(struct cfut__watch *c, const void *value)
{
    if (c->value_size != 0) /* a bare signal may come with NULL */
        memcpy(cfut__watch_slot(c, c->cur ^ 1u), value, c->value_size);
}

/*
 * A send, step 2: the staged value becomes the current one, as the next
 * version, and every waiter moves to 'batch' (the caller wakes them).
 * Returns: 0; CFUT_ECLOSED when no receiver is left (nothing changes: the
 *   staged bytes still belong to the caller).
 */
static inline int
cfut__watch_publish(struct cfut__watch *c, struct cfut_list *batch)
{
    if (c->n_receivers == 0)
        return CFUT_ECLOSED;
    c->cur ^= 1u;
    c->version++;
    cfut__waitq_take_all(&c->waiters, batch);
    return CFUT_OK;
}

/*
 * A send, step 3 (the sender alone, no lock, after a publish): releases
 * the value the send replaced, in the now idle slot.
 */
static inline void
cfut__watch_drop_replaced(struct cfut__watch *c)
{
    if (c->drop != NULL)
        c->drop(cfut__watch_slot(c, c->cur ^ 1u));
}

/*
 * The sender goes: every waiter moves to 'batch' (to see the end). Returns
 * whether the state is now unreferenced.
 */
static inline bool
cfut__watch_sender_gone(struct cfut__watch *c, struct cfut_list *batch)
{
    c->tx_alive = false;
    cfut__waitq_take_all(&c->waiters, batch);
    return c->n_receivers == 0;
}

/* ---- receivers ---- */

/* A receiver goes. Returns whether the state is now unreferenced. */
static inline bool
cfut__watch_receiver_gone(struct cfut__watch *c)
{
    return --c->n_receivers == 0 && !c->tx_alive;
}

/* Copies the current value to 'out' (the 'copy' hook, if any), marks it
 * seen in '*seen' and returns its version. */
static inline uint64_t
cfut__watch_get(const struct cfut__watch *c, void *out, uint64_t *seen)
{
    const unsigned char *v = cfut__watch_slot(c, c->cur);
    if (c->copy != NULL)
        c->copy(out, v, c->value_size);
    else if (c->value_size != 0)
        memcpy(out, v, c->value_size);
    *seen = c->version;
    return c->version;
}

/*
 * The changed future's poll, for its waiter 'w' and its receiver's '*seen'.
 * States: a version newer than '*seen' is there (READY, CFUT_OK; it is now
 * seen); the sender is gone (READY, CFUT_ECLOSED); otherwise PENDING,
 * parked on 'waiters' with the waker of 'cx' until a send or the sender's
 * drop moves it to a batch and wakes it.
 */
static inline enum cfut_poll
cfut__watch_changed_poll(struct cfut__watch *c, struct cfut__waiter *w,
                         uint64_t *seen, struct cfut_context *cx, int *status)
{
    if (c->version != *seen) {
        *seen = c->version;
        *status = CFUT_OK;
    } else if (!c->tx_alive) {
        *status = CFUT_ECLOSED;
    } else {
        cfut__waiter_park(&c->waiters, w, cx);
        return CFUT_PENDING;
    }
    cfut__waiter_unlink(w);
    return CFUT_READY;
}

#endif /* CFUT_WATCH_CORE_INT_H */
