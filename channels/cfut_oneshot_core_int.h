/*
 * cfut_oneshot_core_int.h: the oneshot channel's state and every one of its
 * transitions, written once for both kinds (internal; never included by a
 * public header). A core function changes the state and hands the wakers
 * it lets go of to a wake list: the local kind passes an immediate one
 * (they are woken there and then), the thread-safe kind locks, passes a
 * deferred one, unlocks, then runs it. The core allocates nothing once the
 * channel exists, never locks, and holds no count: the local kind counts
 * its halves in a plain integer, the thread-safe kind in an atomic one.
 */
#ifndef CFUT_ONESHOT_CORE_INT_H
#define CFUT_ONESHOT_CORE_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "cfut_alloc_int.h"
#include "cfut_oneshot.h"
#include "cfut_wake_list_int.h"

/* The state's flags. */
enum {
    CFUT__ONESHOT_SENT = 0x1u,      /* a value is in the slot, not taken */
    CFUT__ONESHOT_TX_DONE = 0x2u,   /* the sender sent or was dropped */
    CFUT__ONESHOT_RX_CLOSED = 0x4u, /* the receiver closed or was dropped */
    CFUT__ONESHOT_CLOSED_FUT = 0x8u /* a closed future is alive */
};

/*
 * The state both kinds share. The value's slot is not in it: each kind
 * keeps the value after its own header and passes the slot in.
 */
struct cfut__oneshot_core {
    uint32_t flags; /* CFUT__ONESHOT_*; guarded by the kind's lock */
    /* immutable */
    uint32_t is_sync; /* the thread-safe kind holds this core (a word, so
                         that init stores it with 'flags' at once) */
    size_t value_size;
    cfut_oneshot_drop_value_fn *drop_value;
    /* guarded by the kind's lock */
    struct cfut_waker rx_waker;     /* the receiver's latest PENDING poll */
    struct cfut_waker closed_waker; /* the closed future's latest poll */
};

/*
 * Checks a new channel's arguments ('has_halves': both half pointers are
 * non-NULL) and allocates its block: 'hdr_size' bytes for the kind's
 * state, then the value. Returns the block, or NULL with CFUT_EINVAL or
 * CFUT_ENOMEM in '*rc'.
 */
static inline void *
cfut__oneshot_alloc(size_t hdr_size, size_t value_size, bool has_halves,
                    int *rc)
{
    *rc = CFUT_EINVAL;
    if (!has_halves || value_size > SIZE_MAX / 4)
        return NULL;
    *rc = CFUT_ENOMEM;
    return cfut__alloc_small(hdr_size + value_size);
}

/* Initialises 'c' for a fresh channel: nothing sent, both halves alive. */
static inline void
cfut__oneshot_core_init(struct cfut__oneshot_core *c, bool is_sync,
                        size_t value_size,
                        cfut_oneshot_drop_value_fn *drop_value)
{
    *c = (struct cfut__oneshot_core){.is_sync = is_sync,
                                     .value_size = value_size,
                                     .drop_value = drop_value,
                                     .rx_waker = CFUT_WAKER_EMPTY,
                                     .closed_waker = CFUT_WAKER_EMPTY};
}

/* The output size of a receiver of 'c'. */
static inline size_t
cfut__oneshot_output_size(const struct cfut__oneshot_core *c)
{
    return CFUT_ONESHOT_VALUE_OFFSET + c->value_size;
}

/*
 * The send: copies the value at 'value' into 'slot' and hands the
 * receiver's waker to 'wl', unless the receiver is closed (then nothing is
 * copied). Either way the sender is done.
 * Returns: 0; CFUT_ECLOSED.
 */
static inline int
cfut__oneshot_send(struct cfut__oneshot_core *c, unsigned char *slot,
                   const void *value, struct cfut__wake_list *wl)
{
    if (c->flags & CFUT__ONESHOT_RX_CLOSED) {
        c->flags |= CFUT__ONESHOT_TX_DONE;
        return CFUT_ECLOSED;
    }
    cfut__copy(slot, value, c->value_size);
    c->flags |= CFUT__ONESHOT_SENT | CFUT__ONESHOT_TX_DONE;
    cfut__wake_list_take(wl, &c->rx_waker);
    return CFUT_OK;
}

/* The sender goes without sending: the receiver is woken to see it. */
static inline void
cfut__oneshot_sender_gone(struct cfut__oneshot_core *c,
                          struct cfut__wake_list *wl)
{
    c->flags |= CFUT__ONESHOT_TX_DONE;
    cfut__wake_list_take(wl, &c->rx_waker);
}

/*
 * Takes the value out of 'slot' into 'value'.
 * Returns: 0; CFUT_EAGAIN when none came yet and one still may;
 *   CFUT_ECANCELED when none will (or it was taken).
 */
static inline int
cfut__oneshot_take(struct cfut__oneshot_core *c, const unsigned char *slot,
                   void *value)
{
    if (!(c->flags & CFUT__ONESHOT_SENT))
        return c->flags & (CFUT__ONESHOT_TX_DONE | CFUT__ONESHOT_RX_CLOSED)
                   ? CFUT_ECANCELED
                   : CFUT_EAGAIN;
    c->flags &= ~CFUT__ONESHOT_SENT;
    cfut__copy(value, slot, c->value_size);
    return CFUT_OK;
}

/*
 * The receiver's poll. States (from the flags): a value is there (READY
 * with CFUT_OK and the value); the sender is done or the receiver closed
 * without a value (READY, CFUT_ECANCELED); otherwise PENDING with the
 * waker of 'cx' in 'rx_waker', until a send or the sender's drop.
 */
static inline enum cfut_poll
cfut__oneshot_poll(struct cfut__oneshot_core *c, const unsigned char *slot,
                   struct cfut_context *cx, void *out)
{
    uint32_t fl = c->flags;
    if (fl & CFUT__ONESHOT_SENT) {
        c->flags = fl & ~CFUT__ONESHOT_SENT;
        *(int *)out = CFUT_OK;
        cfut__copy((unsigned char *)out + CFUT_ONESHOT_VALUE_OFFSET, slot,
                   c->value_size);
        return CFUT_READY;
    }
    if (fl & (CFUT__ONESHOT_TX_DONE | CFUT__ONESHOT_RX_CLOSED)) {
        *(int *)out = CFUT_ECANCELED;
        return CFUT_READY;
    }
    cfut_waker_register(&c->rx_waker, cx->waker);
    return CFUT_PENDING;
}

/*
 * Closes the receiver: later sends fail; the closed future is woken the
 * first time. Returns whether it was closed already.
 */
static inline bool
cfut__oneshot_close(struct cfut__oneshot_core *c, struct cfut__wake_list *wl)
{
    if (c->flags & CFUT__ONESHOT_RX_CLOSED)
        return true;
    c->flags |= CFUT__ONESHOT_RX_CLOSED;
    cfut__wake_list_take(wl, &c->closed_waker);
    return false;
}

/*
 * The receiver goes: it closes (waking the closed future the first time),
 * and its waker is released. Returns whether a value was left in the slot
 * that the caller must now release with 'drop_value' (after unlocking: no
 * send can write the slot any more).
 */
static inline bool
cfut__oneshot_receiver_gone(struct cfut__oneshot_core *c,
                            struct cfut__wake_list *wl)
{
    uint32_t fl = c->flags;
    c->flags = (fl & ~CFUT__ONESHOT_SENT) | CFUT__ONESHOT_RX_CLOSED;
    cfut__wake_list_take_drop(wl, &c->rx_waker);
    if (!(fl & CFUT__ONESHOT_RX_CLOSED))
        cfut__wake_list_take(wl, &c->closed_waker);
    return (fl & CFUT__ONESHOT_SENT) && c->drop_value != NULL;
}

/* Tells whether the receiver is closed or gone. */
static inline bool
cfut__oneshot_is_closed(const struct cfut__oneshot_core *c)
{
    return (c->flags & CFUT__ONESHOT_RX_CLOSED) != 0;
}

/*
 * A closed future begins: returns false when one is alive already (the
 * caller aborts). The caller counts the future's reference.
 */
static inline bool
cfut__oneshot_closed_begin(struct cfut__oneshot_core *c)
{
    bool first = !(c->flags & CFUT__ONESHOT_CLOSED_FUT);
    c->flags |= CFUT__ONESHOT_CLOSED_FUT;
    return first;
}

/* The closed future's poll: READY once the receiver is closed or gone;
 * PENDING before, with the waker of 'cx' in 'closed_waker'. */
static inline enum cfut_poll
cfut__oneshot_closed_poll(struct cfut__oneshot_core *c, struct cfut_context *cx)
{
    if (cfut__oneshot_is_closed(c))
        return CFUT_READY;
    cfut_waker_register(&c->closed_waker, cx->waker);
    return CFUT_PENDING;
}

/* The closed future goes: its waker is released. */
static inline void
cfut__oneshot_closed_gone(struct cfut__oneshot_core *c,
                          struct cfut__wake_list *wl)
{
    c->flags &= ~CFUT__ONESHOT_CLOSED_FUT;
    cfut__wake_list_take_drop(wl, &c->closed_waker);
}

#endif /* CFUT_ONESHOT_CORE_INT_H */
