/*
 * deadline.c: exercise 11, the reference solution (spoilers: try the
 * exercise first). A child raced against a sleep, child first; whoever
 * finishes, both are dropped before READY.
 */
#include "deadline.h"

/* Drops what is left: the child (cancelled if pending) and the timer. */
static void
drop_both(struct deadline *d)
{
    if (d->child != NULL) {
        struct cfut_future *c = d->child;
        d->child = NULL;
        cfut_future_drop(c);
    }
    if (d->timer_live) {
        d->timer_live = false;
        cfut_future_drop(&d->timer.base); /* disarms it if it is armed */
    }
}

static enum cfut_poll
deadline_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct deadline *d = cfut_container_of(f, struct deadline, base);
    struct deadline_output *o = out;
    int value, st;
    /* The child first: in time is in time, even at the last moment. */
    if (cfut_future_poll(d->child, cx, &value) == CFUT_READY) {
        drop_both(d);
        o->status = CFUT_OK;
        o->value = value;
        return CFUT_READY;
    }
    if (cfut_future_poll(&d->timer.base, cx, &st) == CFUT_READY) {
        drop_both(d); /* the child is cancelled: dropped while pending */
        o->status = CFUT_ETIMEDOUT;
        o->value = 0;
        return CFUT_READY;
    }
    return CFUT_PENDING;
}

static void
deadline_drop(struct cfut_future *f)
{
    drop_both(cfut_container_of(f, struct deadline, base));
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
