/*
 * naps.c: exercise 08, a coroutine that awaits three sleeps.
 * This is your file: fill in the functions below, then run
 *     ./run exercise 8
 * The README beside this file says what to build and gives hints.
 */
#include "naps.h"

static enum cfut_poll
naps_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    /* Exercise: the body of the coroutine, between CFUT_ASYNC_BEGIN and
     * CFUT_ASYNC_END: for each nap, initialise the sleep
     * (cfut_sleep_init(), CFUT_MSEC()) and CFUT_AWAIT it; add it to the
     * total; finish with CFUT_ASYNC_RETURN (a uint64_t). */
    (void)f;
    (void)cx;
    (void)out;
    return CFUT_PENDING;
}

static void
naps_drop(struct cfut_future *f)
{
    /* Exercise: dropped in the middle of a nap, the coroutine must drop
     * the sleep it awaits (cfut_coro_drop()). */
    (void)f;
}

static const struct cfut_future_vtable naps_vtable = {
    naps_poll, naps_drop, sizeof(uint64_t), "naps", NULL};

void
naps_init(struct naps *n, const uint64_t ms[3])
{
    cfut_future_init(&n->base, &naps_vtable);
    cfut_coro_init(&n->co);
    for (int k = 0; k < 3; k++)
        n->ms[k] = ms[k];
    n->i = 0;
    n->total = 0;
    n->status = 0;
}
