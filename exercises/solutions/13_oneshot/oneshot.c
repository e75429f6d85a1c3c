/*
 * oneshot.c: exercise 13, the reference solution (spoilers: try the
 * exercise first). A local oneshot: one counted block shared by a sender
 * handle and a receiver future.
 */
#include "oneshot.h"

#include <stdbool.h>

struct shot {
    int refs;           /* halves still alive: 2, 1, then freed */
    bool has_value;     /* a value was sent */
    bool sender_gone;   /* the sender sent or was dropped */
    bool receiver_gone; /* the receiver was dropped */
    int value;
    struct cfut_waker waker; /* the receiver's latest waker, or empty */
};

/* One half lets go of the state; the last one frees it. */
static void
shot_release(struct shot *s)
{
    if (--s->refs == 0) {
        cfut_waker_drop(&s->waker);
        cfut_free(s);
    }
}

static enum cfut_poll
receiver_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct shot_receiver *rx = cfut_container_of(f, struct shot_receiver, base);
    struct shot *s = rx->shared;
    struct shot_output *o = out;
    if (s->has_value) {
        o->status = CFUT_OK;
        o->value = s->value;
        return CFUT_READY;
    }
    if (s->sender_gone) { /* dropped without sending */
        o->status = CFUT_ECANCELED;
        o->value = 0;
        return CFUT_READY;
    }
    cfut_waker_register(&s->waker, cx->waker); /* the newest one */
    return CFUT_PENDING;
}

static void
receiver_drop(struct cfut_future *f)
{
    struct shot_receiver *rx = cfut_container_of(f, struct shot_receiver, base);
    struct shot *s = rx->shared;
    s->receiver_gone = true;
    cfut_waker_drop(&s->waker); /* nobody waits any more */
    shot_release(s);
}

static const struct cfut_future_vtable receiver_vtable = {
    receiver_poll, receiver_drop, sizeof(struct shot_output), "shot_receiver",
    NULL};

int
shot_new(struct shot_sender *tx, struct shot_receiver *rx)
{
    struct shot *s = cfut_alloc(sizeof *s);
    if (s == NULL)
        return CFUT_ENOMEM;
    s->refs = 2;
    s->has_value = s->sender_gone = s->receiver_gone = false;
    s->value = 0;
    s->waker = CFUT_WAKER_EMPTY;
    tx->shared = s;
    cfut_future_init(&rx->base, &receiver_vtable);
    rx->shared = s;
    return CFUT_OK;
}

/* The sender is done: wake the receiver, let go of the state. */
static void
sender_finish(struct shot_sender *tx)
{
    struct shot *s = tx->shared;
    tx->shared = NULL;
    s->sender_gone = true;
    cfut_waker_wake(&s->waker); /* consumes the receiver's clone */
    shot_release(s);
}

int
shot_send(struct shot_sender *tx, int value)
{
    struct shot *s = tx->shared;
    int rc = CFUT_ECLOSED;
    if (!s->receiver_gone) {
        s->value = value;
        s->has_value = true;
        rc = CFUT_OK;
    }
    sender_finish(tx);
    return rc;
}

void
shot_sender_drop(struct shot_sender *tx)
{
    if (tx->shared != NULL)
        sender_finish(tx);
}
