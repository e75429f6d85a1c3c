/*
 * deadline.h: exercise 11, a timeout written by hand: a child future
 * raced against a timer; when the timer wins, the child is cancelled by
 * being dropped. The interface the check calls; do not change it. You
 * write deadline.c.
 */
#ifndef DEADLINE_H
#define DEADLINE_H

#include <cfut.h>
#include <stdbool.h>
#include <stdint.h>

/* The output of a deadline. */
struct deadline_output {
    int status; /* CFUT_OK: the child finished in time, 'value' is its
                   output; CFUT_ETIMEDOUT: the time ran out first */
    int value;
};

/*
 * A future that polls its child (whose output is an int), then its
 * timer, a sleep of 'ms' milliseconds from its first poll on the
 * executor's clock. The child is polled first, so a child that is ready
 * wins even when the time is up. When either is READY, the deadline
 * drops both (a finished child, the cancelled loser, a timer that must
 * not stay armed) and is READY. Dropped while pending, it drops both.
 * Context: polled by a task of a cfut executor (the timer needs its
 *   reactor).
 * Pinned: from its first poll until drop (it embeds the timer).
 */
struct deadline {
    struct cfut_future base;
    struct cfut_future *child; /* owned; NULL once dropped */
    bool timer_live;           /* 'timer' is initialised, not dropped */
    struct cfut_sleep timer;
};

/*
 * Initialises 'd' as a fresh deadline of 'ms' milliseconds for 'child'.
 * Ownership: 'child' is taken (the deadline drops it); it must stay where
 *   it is (boxed, say): the deadline polls it in place.
 */
void deadline_init(struct deadline *d, struct cfut_future *child, uint64_t ms);

#endif /* DEADLINE_H */
