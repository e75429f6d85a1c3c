/*
 * countdown.c: exercise 01, a countdown future polled by hand.
 * This is your file: fill in the three functions below, then run
 *     ./run exercise 1
 * The README beside this file says what to build and gives hints.
 */
#include "countdown.h"

void
countdown_init(struct countdown *c, int n)
{
    /* Exercise: remember how many PENDING answers to give, and start
     * counting polls from zero. */
    (void)n;
    c->remaining = 0;
    c->n_polls = 0;
}

enum poll
countdown_poll(struct countdown *c, int *out)
{
    /* Exercise: count this poll; answer PENDING while there are PENDING
     * answers left; otherwise write the number of polls to '*out' and
     * answer READY. */
    (void)c;
    (void)out;
    return PENDING;
}

int
countdown_run(struct countdown *c, int *out)
{
    /* Exercise: poll until READY and return how many polls you made. */
    (void)c;
    (void)out;
    return 0;
}
