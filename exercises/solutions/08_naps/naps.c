/*
 * naps.c: exercise 08, the reference solution (spoilers: try the exercise
 * first). Three sleeps awaited in a loop whose counter lives in the
 * struct; the drop cancels the sleep being awaited.
 */
#include "naps.h"

static enum cfut_poll
naps_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct naps *n = cfut_container_of(f, struct naps, base);
    CFUT_ASYNC_BEGIN(&n->co);
    for (n->i = 0; n->i < 3; n->i++) { /* n->i, not a local: it survives */
        cfut_sleep_init(&n->nap, CFUT_MSEC(n->ms[n->i]));
        CFUT_AWAIT(&n->co, cx, &n->nap.base, &n->status);
        n->total += n->ms[n->i];
    }
    CFUT_ASYNC_RETURN(&n->co, out, uint64_t, n->total);
    CFUT_ASYNC_END(&n->co);
}

static void
naps_drop(struct cfut_future *f)
{
    /* Dropped mid-nap: drop the sleep, which disarms its timer. */
    cfut_coro_drop(&cfut_container_of(f, struct naps, base)->co);
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
