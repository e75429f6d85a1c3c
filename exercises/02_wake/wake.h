/*
 * wake.h: exercise 02, a future that hands over its wake callback, and a
 * loop that polls only after a wake. The interface the check calls; do
 * not change it. You write wake.c.
 */
#ifndef WAKE_H
#define WAKE_H

#include <stdbool.h>

/* The two answers a poll can give. */
enum poll { PENDING, READY };

/* A wake callback: a function and the data it needs (lesson 02). */
struct wake_cb {
    void (*fn)(void *data);
    void *data;
};

/* ---------------------------------------------------------------------- */
/* The world: a clock and the callbacks waiting on it (the check has it)   */
/* ---------------------------------------------------------------------- */

/* Returns the world's clock. */
int world_now(void);

/*
 * Registers 'cb' to be called once, when the clock reaches 'when'. Each
 * call is one registration.
 */
void world_call_at(int when, struct wake_cb cb);

/*
 * Sleeps until the next registered time: moves the clock there and calls
 * every callback that is due. Returns false at once, without sleeping,
 * when no callback is registered: then nothing can ever happen.
 */
bool world_wait(void);

/* ---------------------------------------------------------------------- */
/* A future: any struct that starts with this one                          */
/* ---------------------------------------------------------------------- */

/*
 * The poll function of a future. Contract (lesson 02): READY writes the
 * output to '*out'; PENDING means "I have arranged for 'wake' to be called
 * once polling me again can make progress".
 */
struct future {
    enum poll (*poll)(struct future *self, struct wake_cb wake, int *out);
};

/* ---------------------------------------------------------------------- */
/* Yours: the alarm                                                        */
/* ---------------------------------------------------------------------- */

/* A future that is READY once the clock has reached 'deadline'. */
struct alarm {
    struct future base; /* first, so a 'struct future *' to it is the alarm */
    int deadline;
};

/* Makes an alarm for 'deadline' whose base polls with alarm_poll(). */
void alarm_init(struct alarm *a, int deadline);

/*
 * Polls the alarm 'self': READY with '*out' = the clock when the clock has
 * reached the deadline; otherwise registers 'wake' with the world for the
 * deadline (world_call_at()) and answers PENDING.
 */
enum poll alarm_poll(struct future *self, struct wake_cb wake, int *out);

/* ---------------------------------------------------------------------- */
/* Yours: the loop                                                         */
/* ---------------------------------------------------------------------- */

/* What drive() returns when the future waits for a wake that cannot come. */
#define DRIVE_STUCK (-1)

/*
 * Drives 'f' until READY: polls it, then polls again only after the wake
 * callback it gave that poll was called; while it was not, it calls
 * world_wait(). Returns the number of polls made (the output is in
 * '*out'), or DRIVE_STUCK when 'f' is PENDING, its callback was not
 * called, and world_wait() says nothing can happen any more.
 */
int drive(struct future *f, int *out);

#endif /* WAKE_H */
