/*
 * select2.h: exercise 12, select of two futures, with cancellation of the
 * loser. The interface the check calls; do not change it. You write
 * select2.c.
 */
#ifndef SELECT2_H
#define SELECT2_H

#include <cfut.h>

/* The output of a select2: which child finished first, and its output. */
struct select2_output {
    int index; /* 0: the first child (A), 1: the second (B) */
    int value; /* the winner's output (both children output an int) */
};

/*
 * A future that polls two futures and finishes with the first one to be
 * READY. Biased: it polls A first, and B only when A is PENDING. Before it
 * answers READY it drops both children: the winner, whose output it has
 * taken, and the loser, which is cancelled mid-wait. Dropping a pending
 * select2 drops both children.
 * Pinned: from its first poll until drop.
 */
struct select2 {
    struct cfut_future base;
    struct cfut_future *child[2]; /* owned; NULL once dropped */
};

/*
 * Initialises 's' as a fresh select2 of 'a' and 'b'. The children must
 * stay where they are (boxed, or in a struct that outlives the select):
 * the select polls them in place.
 * Ownership: 'a' and 'b' are taken: the select drops them.
 */
void select2_init(struct select2 *s, struct cfut_future *a,
                  struct cfut_future *b);

#endif /* SELECT2_H */
