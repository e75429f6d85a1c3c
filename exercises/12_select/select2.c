/*
 * select2.c: exercise 12, select of two futures, with cancellation of the
 * loser.
 * This is your file: fill in the functions below, then run
 *     ./run exercise 12
 * The README beside this file says what to build and gives hints.
 */
#include "select2.h"

static enum cfut_poll
select2_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    /* Exercise: poll child 0, then (if it is PENDING) child 1, with the
     * context you were given. For the first READY one: write its index and
     * output to 'out' (a struct select2_output), drop both children (set
     * the pointers to NULL), answer READY. Otherwise PENDING. */
    (void)f;
    (void)cx;
    (void)out;
    return CFUT_PENDING;
}

static void
select2_drop(struct cfut_future *f)
{
    /* Exercise: drop the children that are still there. */
    (void)f;
}

static const struct cfut_future_vtable select2_vtable = {
    select2_poll, select2_drop, sizeof(struct select2_output), "select2", NULL};

void
select2_init(struct select2 *s, struct cfut_future *a, struct cfut_future *b)
{
    cfut_future_init(&s->base, &select2_vtable);
    s->child[0] = a;
    s->child[1] = b;
}
