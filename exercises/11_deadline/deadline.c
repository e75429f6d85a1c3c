/*
 * deadline.c: exercise 11, a timeout written by hand.
 * This is your file: fill in the functions below, then run
 *     ./run exercise 11
 * The README beside this file says what to build and gives hints.
 */
#include "deadline.h"

static enum cfut_poll
deadline_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    /* Exercise: poll the child; READY: drop the child and the timer,
     * output {CFUT_OK, value}. Otherwise poll the timer; READY: drop the
     * child (it is cancelled) and the timer, output {CFUT_ETIMEDOUT, 0}.
     * Otherwise PENDING: both have arranged a wake. */
    (void)f;
    (void)cx;
    (void)out;
    return CFUT_PENDING;
}

static void
deadline_drop(struct cfut_future *f)
{
    /* Exercise: drop what is left: the child, the timer. */
    (void)f;
}

static const struct cfut_future_vtable deadline_vtable = {
    deadline_poll, deadline_drop, sizeof(struct deadline_output), "deadline",
    NULL};

void
deadline_init(struct deadline *d, struct cfut_future *child, uint64_t ms)
{
    cfut_future_init(&d->base, &deadline_vtable);
    d->child = child;
    cfut_sleep_init(&d->timer, CFUT_MSEC(ms));
    d->timer_live = true;
}
