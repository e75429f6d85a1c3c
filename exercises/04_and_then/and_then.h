/*
 * and_then.h: exercise 04, and_then as a state machine: look a user up,
 * then fetch that user's score. The interface the check calls; do not
 * change it. You write and_then.c.
 */
#ifndef AND_THEN_H
#define AND_THEN_H

#include <stdbool.h>
#include <stddef.h>

/* The two answers a poll can give. */
enum poll { PENDING, READY };

/* A wake callback: a function and the data it needs (lesson 02). */
struct wake_cb {
    void (*fn)(void *data);
    void *data;
};

/* ---------------------------------------------------------------------- */
/* The two steps (the check has them)                                      */
/* ---------------------------------------------------------------------- */

/*
 * Step 1, a future: looks a user up; its output is the user's id. Like
 * every future it is dropped exactly once (lookup_drop()), finished or
 * not, and never polled after READY or after its drop.
 */
struct lookup {
    int spy; /* the check's record of this future */
};
enum poll lookup_poll(struct lookup *l, struct wake_cb wake, int *user_id);
void lookup_drop(struct lookup *l);

/* Step 2, a future made from step 1's output: fetches the user's score. */
struct fetch {
    int spy; /* the check's record of this future */
    int user_id;
};
void fetch_init(struct fetch *f, int user_id);
enum poll fetch_poll(struct fetch *f, struct wake_cb wake, int *score);
void fetch_drop(struct fetch *f);

/* ---------------------------------------------------------------------- */
/* Yours: and_then(lookup, fetch)                                          */
/* ---------------------------------------------------------------------- */

/*
 * The states:
 *   AT_LOOKUP: waiting for the lookup ('step.lookup' is alive);
 *   AT_FETCH:  waiting for the fetch ('step.fetch' is alive);
 *   AT_DONE:   finished: no step is alive; polling again is a bug.
 */
enum and_then_state { AT_LOOKUP, AT_FETCH, AT_DONE };

/* A future whose output is the score of the user the lookup finds. */
struct and_then {
    enum and_then_state state;
    union { /* one step is alive at a time */
        struct lookup lookup;
        struct fetch fetch;
    } step;
};

/* Makes an and_then that starts with 'first' (moved in: now it owns it). */
void and_then_init(struct and_then *f, struct lookup first);

/*
 * Polls the and_then: polls the step that is alive with 'wake'. When the
 * lookup is READY it drops the lookup, makes the fetch from the user id
 * (fetch_init()) in its place, and polls it at once. When the fetch is
 * READY it drops it and answers READY, writing the score to '*score'.
 */
enum poll and_then_poll(struct and_then *f, struct wake_cb wake, int *score);

/*
 * Drops the and_then, finished or not: drops the step that is alive, if
 * any (a pending and_then is cancelled).
 */
void and_then_drop(struct and_then *f);

#endif /* AND_THEN_H */
