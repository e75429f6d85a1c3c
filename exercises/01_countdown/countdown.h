/*
 * countdown.h: exercise 01, a countdown future polled by hand.
 * The interface the check calls; do not change it. You write
 * countdown.c.
 */
#ifndef COUNTDOWN_H
#define COUNTDOWN_H

/* The two answers a poll can give (as in lesson 01). */
enum poll { PENDING, READY };

/* A future that answers PENDING 'n' times, then READY. */
struct countdown {
    int remaining; /* PENDING answers still to give */
    int n_polls;   /* how many times countdown_poll() was called on it */
};

/* Makes a countdown that will answer PENDING 'n' times (n >= 0). */
void countdown_init(struct countdown *c, int n);

/*
 * Polls the countdown once: never waits, never loops. Answers PENDING while
 * 'remaining' is above zero (one less each time); then READY, writing to
 * '*out' the number of polls it took (this one included). 'out' is written
 * only on READY. Counts every call in 'n_polls'.
 */
enum poll countdown_poll(struct countdown *c, int *out);

/*
 * Polls 'c' in a loop until it is READY (a busy loop, as in lesson 01)
 * and writes its output to '*out'. Returns the number of polls this call
 * made.
 */
int countdown_run(struct countdown *c, int *out);

#endif /* COUNTDOWN_H */
