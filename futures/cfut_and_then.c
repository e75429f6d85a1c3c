/*
 * cfut_and_then.c: chains (and_then, then, map, map_err) and lazy.
 * A chain runs its steps in a loop over a flat array: no recursion, no
 * nesting of futures. It allocates only when a step is appended beyond the
 * inline capacity; it knows nothing about executors.
 */
#include "cfut_and_then.h"

#include <string.h>

#include "cfut_alloc_int.h"

/* The kind of a continuation step (its 'kind'). */
enum step_kind { STEP_AND_THEN, STEP_THEN, STEP_MAP_ERR };

static struct cfut__chain_step *
chain_steps(struct cfut_chain *c)
{
    return c->steps != NULL ? c->steps : c->inline_steps;
}

static unsigned char *
chain_value(struct cfut_chain *c, unsigned b)
{
    return c->heap_values != NULL ? c->heap_values + b * c->value_cap
                                  : c->inline_values[b];
}

static void *
chain_storage(struct cfut_chain *c)
{
    return c->heap_future != NULL ? c->heap_future : c->inline_future;
}

/* Writes the chain's status header. */
static void
put_status(void *out, int status)
{
    memcpy(out, &status, sizeof status);
}

/*
 * Where a chain is between two polls. It suspends only while a future
 * runs, so a value waiting for its step never outlives a poll.
 */
enum chain_state {
    CHAIN_FRESH = 0, /* built, never polled: steps may still be appended */
    CHAIN_AWAIT,     /* 'cur' runs: the first future or an and_then's */
    CHAIN_DONE       /* the output was written: never polled again */
};

/*
 * Runs the chain from CHAIN_FRESH or CHAIN_AWAIT (see chain_poll()): polls
 * 'cur' and, each time it is READY, the steps after it, until a future is
 * pending or the output is written. The running future and the position
 * stay in locals and are stored back only when the chain suspends or
 * finishes (a step function cannot reach the chain).
 */
static enum cfut_poll
run(struct cfut_chain *c, struct cfut_context *cx, void *out)
{
    unsigned char *dst = (unsigned char *)out + CFUT_CHAIN_VALUE_OFFSET;
    const struct cfut__chain_step *steps = chain_steps(c);
    unsigned char *val = chain_value(c, c->cur_buf);
    void *storage = chain_storage(c);
    struct cfut_future *cur = c->cur;
    const struct cfut__chain_step *st = steps + c->pos;
    const struct cfut__chain_step *end = steps + c->n_steps;
    int status = CFUT_OK;
    for (;;) {
        /* 'cur' runs; as the last step it writes straight into 'out'. */
        if (st == end) {
            if (cfut_future_poll(cur, cx, dst) == CFUT_PENDING)
                goto suspend;
            cfut_future_drop(cur);
            goto finish;
        }
        if (cfut_future_poll(cur, cx, val) == CFUT_PENDING)
            goto suspend;
        cfut_future_drop(cur);
        /* The value is in 'val': run steps until one builds a future. */
        for (;;) {
            if (st == end) {
                memcpy(dst, val, c->out_size);
                goto finish;
            }
            const struct cfut__chain_step *s = st++;
            if (s->kind == STEP_AND_THEN) {
                struct cfut_future *next = NULL;
                int rc = s->fn.and_then(s->ctx, val, storage, &next);
                if (rc < 0 || next == NULL) {
                    memset(dst, 0, c->out_size);
                    status = rc < 0 ? rc : CFUT_EINVAL;
                    st = end;
                    goto finish;
                }
                CFUT_ASSERT(cfut_future_output_size(next) == s->out_size,
                            "and_then built a future whose output size "
                            "differs from the size given to cfut_and_then()");
                cur = next;
                break; /* a new 'cur' */
            }
            switch ((enum step_kind)s->kind) {
            case STEP_AND_THEN: /* handled above */
                break;
            case STEP_THEN:
                if (st == end) {
                    s->fn.then(s->ctx, val, dst);
                    goto finish;
                }
                c->cur_buf ^= 1u;
                unsigned char *next_val = chain_value(c, c->cur_buf);
                s->fn.then(s->ctx, val, next_val);
                val = next_val;
                break;
            case STEP_MAP_ERR: {
                int vs;
                memcpy(&vs, val, sizeof vs);
                if (vs < 0)
                    s->fn.map_err(s->ctx, val);
                break;
            }
            }
        }
    }
suspend:
    c->cur = cur;
    c->pos = (size_t)(st - steps);
    c->state = CHAIN_AWAIT;
    return CFUT_PENDING;
finish:
    c->cur = NULL; /* every future it ran is dropped */
    c->pos = (size_t)(st - steps);
    c->state = CHAIN_DONE;
    put_status(out, status);
    return CFUT_READY;
}

/*
 * States and transitions:
 *   CHAIN_FRESH: the first poll: from now on no step may be appended.
 *     Then as CHAIN_AWAIT, with the first future as 'cur'.
 *   CHAIN_AWAIT: poll 'cur'. PENDING: stay, PENDING. READY: drop it; if
 *     it was the last step its output went straight into 'out' ->
 *     CHAIN_DONE, READY. Else its output is the value, and the steps that
 *     follow run at once: then/map computes the next value into the other
 *     buffer (the last one into 'out'), map_err rewrites a failed value
 *     in place, and and_then builds the next future, which becomes 'cur'
 *     (stay, and poll it now). No step left -> CHAIN_DONE, READY with the
 *     value copied out; an and_then that fails -> CHAIN_DONE, READY with
 *     its status and a zeroed value.
 *   CHAIN_DONE: never polled again: polling it is a misuse (it aborts).
 */
static enum cfut_poll
chain_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct cfut_chain *c = cfut_container_of(f, struct cfut_chain, base);
    switch ((enum chain_state)c->state) {
    case CHAIN_FRESH:
    case CHAIN_AWAIT:
        return run(c, cx, out);
    case CHAIN_DONE:
        break;
    }
    cfut__assert_fail(__FILE__, __LINE__, "state != CHAIN_DONE",
                      "a chain was polled after it finished");
}

static void
chain_drop(struct cfut_future *f)
{
    struct cfut_chain *c = cfut_container_of(f, struct cfut_chain, base);
    if (c->cur != NULL) {
        cfut_future_drop(c->cur);
        c->cur = NULL;
    }
    if (c->steps == NULL && c->heap_future == NULL && c->heap_values == NULL)
        return; /* a short chain: everything inline */
    cfut__free_small(c->steps, c->cap_steps * sizeof *c->steps);
    cfut__free_small(c->heap_future, c->future_cap);
    cfut__free_small(c->heap_values, 2 * c->value_cap);
    c->steps = NULL;
    c->heap_future = NULL;
    c->heap_values = NULL;
}

static size_t
chain_output_size(const struct cfut_future *f)
{
    return CFUT_CHAIN_VALUE_OFFSET +
           cfut_container_of(f, const struct cfut_chain, base)->out_size;
}

static const struct cfut_future_vtable chain_vtable = {
    chain_poll, chain_drop, CFUT_OUTPUT_DYNAMIC, "chain", chain_output_size};

int
cfut_chain_init(struct cfut_chain *c, struct cfut_future *first)
{
    if (c == NULL || first == NULL)
        return CFUT_EINVAL;
    cfut_future_init(&c->base, &chain_vtable);
    c->cur = first;
    c->steps = NULL;
    c->n_steps = 0;
    c->cap_steps = CFUT_CHAIN_INLINE_STEPS;
    c->pos = 0;
    c->heap_future = NULL;
    c->future_cap = CFUT_CHAIN_INLINE_FUTURE;
    c->heap_values = NULL;
    c->value_cap = CFUT_CHAIN_INLINE_VALUE;
    c->out_size = cfut_future_output_size(first);
    c->cur_buf = 0;
    c->state = CHAIN_FRESH;
    return CFUT_OK;
}

/*
 * Appends 'st', growing the steps, the future storage (to 'next_size') and
 * the value buffers (to hold the value before and after the step) first;
 * nothing changes unless every allocation succeeds.
 */
#if defined(__GNUC__)
__attribute__((noinline))
#endif
static int
append_slow(struct cfut_chain *c, const struct cfut__chain_step *st,
            size_t next_size)
{
    struct cfut__chain_step *steps = NULL;
    unsigned char *fut = NULL, *vals = NULL;
    size_t cap_steps = c->cap_steps, future_cap = c->future_cap;
    size_t value_cap = c->value_cap;
    if (c->n_steps == cap_steps) {
        cap_steps = cap_steps < 16 ? 16 : 2 * cap_steps;
        steps = cfut__alloc_small(cap_steps * sizeof *steps);
        if (steps == NULL)
            goto fail;
    }
    if (next_size > future_cap) {
        future_cap = CFUT__ALIGN_UP(next_size, CFUT__MAX_ALIGN);
        fut = cfut__alloc_small(future_cap);
        if (fut == NULL)
            goto fail;
    }
    size_t need = c->out_size > st->out_size ? c->out_size : st->out_size;
    if (need > value_cap) {
        value_cap = CFUT__ALIGN_UP(need, CFUT__MAX_ALIGN);
        vals = cfut__alloc_small(2 * value_cap);
        if (vals == NULL)
            goto fail;
    }
    if (steps != NULL) {
        memcpy(steps, chain_steps(c), c->n_steps * sizeof *steps);
        cfut__free_small(c->steps, c->cap_steps * sizeof *steps);
        c->steps = steps;
        c->cap_steps = cap_steps;
    }
    if (fut != NULL) {
        cfut__free_small(c->heap_future, c->future_cap);
        c->heap_future = fut;
        c->future_cap = future_cap;
    }
    if (vals != NULL) {
        cfut__free_small(c->heap_values, 2 * c->value_cap);
        c->heap_values = vals;
        c->value_cap = value_cap;
    }
    chain_steps(c)[c->n_steps++] = *st;
    c->out_size = st->out_size;
    return CFUT_OK;
fail:
    cfut__free_small(steps, cap_steps * sizeof *steps);
    cfut__free_small(fut, future_cap);
    return CFUT_ENOMEM;
}

/* Appends 'st': in place when everything fits, else through
 * append_slow(). */
static inline int
append(struct cfut_chain *c, const struct cfut__chain_step *st,
       size_t next_size)
{
    if (c == NULL)
        return CFUT_EINVAL;
    if (c->state != CHAIN_FRESH)
        return CFUT_ESTATE;
    if (c->n_steps < c->cap_steps && next_size <= c->future_cap &&
        st->out_size <= c->value_cap && c->out_size <= c->value_cap) {
        chain_steps(c)[c->n_steps++] = *st;
        c->out_size = st->out_size;
        return CFUT_OK;
    }
    return append_slow(c, st, next_size);
}

int
cfut_and_then(struct cfut_chain *c, cfut_and_then_fn *fn, void *ctx,
              size_t next_size, size_t out_size)
{
    if (fn == NULL)
        return CFUT_EINVAL;
    /* The fast path of append() with the step written in place. */
    if (c != NULL && c->state == CHAIN_FRESH && c->n_steps < c->cap_steps &&
        next_size <= c->future_cap && out_size <= c->value_cap &&
        c->out_size <= c->value_cap) {
        struct cfut__chain_step *d = chain_steps(c) + c->n_steps++;
        d->fn.and_then = fn;
        d->ctx = ctx;
        d->out_size = out_size;
        d->kind = STEP_AND_THEN;
        c->out_size = out_size;
        return CFUT_OK;
    }
    struct cfut__chain_step st = {
        .ctx = ctx, .out_size = out_size, .kind = STEP_AND_THEN};
    st.fn.and_then = fn;
    return append(c, &st, next_size);
}

int
cfut_then(struct cfut_chain *c, cfut_then_fn *fn, void *ctx, size_t out_size)
{
    if (fn == NULL)
        return CFUT_EINVAL;
    struct cfut__chain_step st = {
        .ctx = ctx, .out_size = out_size, .kind = STEP_THEN};
    st.fn.then = fn;
    return append(c, &st, 0);
}

int
cfut_map(struct cfut_chain *c, cfut_then_fn *fn, void *ctx, size_t out_size)
{
    return cfut_then(c, fn, ctx, out_size);
}

int
cfut_map_err(struct cfut_chain *c, cfut_map_err_fn *fn, void *ctx)
{
    if (fn == NULL || c == NULL)
        return CFUT_EINVAL;
    if (c->out_size < sizeof(int))
        return CFUT_EINVAL;
    struct cfut__chain_step st = {
        .ctx = ctx, .out_size = c->out_size, .kind = STEP_MAP_ERR};
    st.fn.map_err = fn;
    return append(c, &st, 0);
}

/* ---- lazy -------------------------------------------------------------- */

static enum cfut_poll
lazy_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct cfut_lazy *l = cfut_container_of(f, struct cfut_lazy, base);
    l->fn(l->ctx, cx, out);
    return CFUT_READY;
}

static size_t
lazy_output_size(const struct cfut_future *f)
{
    return cfut_container_of(f, const struct cfut_lazy, base)->out_size;
}

static const struct cfut_future_vtable lazy_vtable = {
    lazy_poll, NULL, CFUT_OUTPUT_DYNAMIC, "lazy", lazy_output_size};

int
cfut_lazy_init(struct cfut_lazy *l, cfut_lazy_fn *fn, void *ctx,
               size_t out_size)
{
    if (l == NULL || fn == NULL)
        return CFUT_EINVAL;
    cfut_future_init(&l->base, &lazy_vtable);
    l->fn = fn;
    l->ctx = ctx;
    l->out_size = out_size;
    return CFUT_OK;
}
