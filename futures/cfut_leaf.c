/*
 * cfut_leaf.c: ready, pending, yield_now and fuse.
 * None of them allocates; none knows about executors.
 */
#include "cfut_leaf.h"

#include <string.h>

/* ---- ready ---- */

static enum cfut_poll
cfut_ready_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct cfut_ready *r = cfut_container_of(f, struct cfut_ready, base);
    (void)cx;
    if (r->size != 0)
        memcpy(out, r->value.bytes, r->size);
    return CFUT_READY;
}

static size_t
cfut_ready_output_size(const struct cfut_future *f)
{
    return cfut_container_of(f, const struct cfut_ready, base)->size;
}

static const struct cfut_future_vtable cfut_ready_vtable = {
    cfut_ready_poll, NULL, CFUT_OUTPUT_DYNAMIC, "ready",
    cfut_ready_output_size};

int
cfut_ready_init(struct cfut_ready *r, const void *value, size_t size)
{
    if (size > CFUT_READY_MAX || (value == NULL && size != 0))
        return CFUT_EINVAL;
    cfut_future_init(&r->base, &cfut_ready_vtable);
    r->size = size;
    if (size != 0)
        memcpy(r->value.bytes, value, size);
    return CFUT_OK;
}

/* ---- pending ---- */

static enum cfut_poll
cfut_pending_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    (void)f;
    (void)cx;
    (void)out;
    return CFUT_PENDING;
}

static size_t
cfut_pending_output_size(const struct cfut_future *f)
{
    return cfut_container_of(f, const struct cfut_pending, base)->output_size;
}

static const struct cfut_future_vtable cfut_pending_vtable = {
    cfut_pending_poll, NULL, CFUT_OUTPUT_DYNAMIC, "pending",
    cfut_pending_output_size};

void
cfut_pending_init(struct cfut_pending *p, size_t output_size)
{
    cfut_future_init(&p->base, &cfut_pending_vtable);
    p->output_size = output_size;
}

/* ---- yield_now ---- */

static enum cfut_poll
cfut_yield_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct cfut_yield *y = cfut_container_of(f, struct cfut_yield, base);
    (void)out;
    if (y->yielded)
        return CFUT_READY;
    y->yielded = true;
    cfut_waker_wake_by_ref(cx->waker);
    return CFUT_PENDING;
}

static const struct cfut_future_vtable cfut_yield_vtable = {
    cfut_yield_poll, NULL, 0, "yield_now", NULL};

void
cfut_yield_now_init(struct cfut_yield *y)
{
    cfut_future_init(&y->base, &cfut_yield_vtable);
    y->yielded = false;
}

/* ---- fuse ---- */

/*
 * States: inner != NULL: running (poll the inner future); inner == NULL:
 * terminated (always PENDING, never wakes).
 */
static enum cfut_poll
cfut_fuse_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct cfut_fuse *fu = cfut_container_of(f, struct cfut_fuse, base);
    if (fu->inner == NULL)
        return CFUT_PENDING;
    if (cfut_future_poll(fu->inner, cx, out) == CFUT_PENDING)
        return CFUT_PENDING;
    cfut_future_drop(fu->inner);
    fu->inner = NULL;
    return CFUT_READY;
}

static void
cfut_fuse_drop(struct cfut_future *f)
{
    struct cfut_fuse *fu = cfut_container_of(f, struct cfut_fuse, base);
    if (fu->inner != NULL) {
        cfut_future_drop(fu->inner);
        fu->inner = NULL;
    }
}

static size_t
cfut_fuse_output_size(const struct cfut_future *f)
{
    return cfut_container_of(f, const struct cfut_fuse, base)->output_size;
}

static const struct cfut_future_vtable cfut_fuse_vtable = {
    cfut_fuse_poll, cfut_fuse_drop, CFUT_OUTPUT_DYNAMIC, "fuse",
    cfut_fuse_output_size};

void
cfut_fuse_init(struct cfut_fuse *fu, struct cfut_future *inner)
{
    cfut_future_init(&fu->base, &cfut_fuse_vtable);
    fu->base.flags |= CFUT_FUTURE_FUSED;
    fu->inner = inner;
    fu->output_size = cfut_future_output_size(inner);
}

bool
cfut_fuse_is_terminated(const struct cfut_fuse *fu)
{
    return fu->inner == NULL;
}
