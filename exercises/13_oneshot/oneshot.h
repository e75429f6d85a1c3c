/*
 * oneshot.h: exercise 13, a oneshot channel: one int, sent once, from a
 * sender handle to a receiver future. The interface the check calls; do
 * not change it. You write oneshot.c, where you also define the shared
 * state.
 *
 * Single-threaded (the local kind of lesson 17): both halves stay on one
 * thread, so the shared state needs a count and plain fields, no lock.
 */
#ifndef ONESHOT_H
#define ONESHOT_H

#include <cfut.h>

/*
 * The state both halves share (yours: define it in oneshot.c): one
 * cfut_alloc() block, freed when both halves are gone.
 */
struct shot;

/* The sending half: a handle, used once. */
struct shot_sender {
    struct shot *shared; /* NULL once it sent or was dropped */
};

/*
 * The receiving half: a future whose output is a struct shot_output. Poll
 * it with cfut_future_poll(), drop it with cfut_future_drop(). Dropping it
 * before READY releases the waker it kept.
 * Pinned: from its first poll until drop.
 */
struct shot_receiver {
    struct cfut_future base;
    struct shot *shared;
};

/* The receiver's output. */
struct shot_output {
    int status; /* CFUT_OK: 'value' holds the value; CFUT_ECANCELED: the
                   sender was dropped without sending */
    int value;
};

/*
 * Makes a channel: one cfut_alloc() block shared by the two halves.
 * Ownership: '*tx' and '*rx' receive the halves on success (they are
 *   left untouched on failure); the caller drops each one.
 * Returns: CFUT_OK; CFUT_ENOMEM when cfut_alloc() fails.
 */
int shot_new(struct shot_sender *tx, struct shot_receiver *rx);

/*
 * Sends 'value' and wakes the receiver's latest waker. Consumes the
 * sender, whatever the result.
 * Returns: CFUT_OK; CFUT_ECLOSED when the receiver was dropped (nobody
 *   will ever read the value).
 */
int shot_send(struct shot_sender *tx, int value);

/*
 * Drops the sender without sending: the receiver is woken and finishes
 * with CFUT_ECANCELED. A sender that already sent is left alone.
 */
void shot_sender_drop(struct shot_sender *tx);

#endif /* ONESHOT_H */
