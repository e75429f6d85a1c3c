/*
 * oneshot.c: exercise 13, a oneshot channel.
 * This is your file: define the shared state and fill in the functions
 * below, then run
 *     ./run exercise 13
 * The README beside this file says what to build and gives hints.
 */
#include "oneshot.h"

#include <stdbool.h>

/* The shared state. Exercise: what do the two halves need to share? */
struct shot {
    int refs; /* halves still alive */
};

static enum cfut_poll
receiver_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    /* Exercise: READY with the value (or CFUT_ECANCELED if the sender is
     * gone without sending); otherwise keep the newest waker, PENDING. */
    (void)f;
    (void)cx;
    (void)out;
    return CFUT_PENDING;
}

static void
receiver_drop(struct cfut_future *f)
{
    /* Exercise: release the waker; leave the state (free it if the sender
     * is gone too). */
    (void)f;
}

static const struct cfut_future_vtable receiver_vtable = {
    receiver_poll, receiver_drop, sizeof(struct shot_output), "shot_receiver",
    NULL};

int
shot_new(struct shot_sender *tx, struct shot_receiver *rx)
{
    /* Exercise: allocate the state with cfut_alloc(), and make the halves
     * (cfut_future_init(&rx->base, &receiver_vtable)). */
    (void)tx;
    (void)rx;
    (void)receiver_vtable;
    return CFUT_ENOMEM; /* not written yet */
}

int
shot_send(struct shot_sender *tx, int value)
{
    /* Exercise: store the value, wake the receiver, let go of the state. */
    (void)tx;
    (void)value;
    return CFUT_ECLOSED;
}

void
shot_sender_drop(struct shot_sender *tx)
{
    /* Exercise: wake the receiver (it will see no value), let go. */
    (void)tx;
}
