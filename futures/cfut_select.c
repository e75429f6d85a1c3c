/*
 * cfut_select.c: select over N children in two forms: up to
 * CFUT_SELECT_SMALL_MAX children inline, polled with the parent's context;
 * more, each polled under its own sub-waker from the wake set
 * (cfut_wakeset_int.h). Both poll in the biased or fair order. It knows
 * nothing about executors.
 */
#include "cfut_select.h"

#include <stdlib.h>
#include <string.h>

#include "cfut_wakeset_int.h"

/*
 * The children: inline in the small form, in the block's extra area in the
 * wake-set form; a slot is NULL once its child is dropped or handed back.
 */
static struct cfut_future **
sel_children(struct cfut_select *s)
{
    return s->ws == NULL ? s->small : cfut__wakeset_extra(s->ws);
}

/* Scratch space for the indexes drained in one poll (wake-set form). */
static uint32_t *
sel_scratch(struct cfut_select *s)
{
    return (uint32_t *)(void *)(sel_children(s) + s->n);
}

static _Thread_local uint32_t fair_rotor;

static int
cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* Sorts 'k' indexes into polling order (by distance from 'start'). */
static void
sort_order(uint32_t *v, size_t k, uint32_t start, uint32_t n)
{
    if (k == 2 && start == 0) { /* the common biased select of two */
        if (v[0] > v[1]) {
            uint32_t t = v[0];
            v[0] = v[1];
            v[1] = t;
        }
        return;
    }
    for (size_t a = 0; a < k; a++)
        v[a] = v[a] >= start ? v[a] - start : v[a] + n - start;
    if (k <= 16) {
        for (size_t a = 1; a < k; a++) {
            uint32_t x = v[a];
            size_t b = a;
            for (; b > 0 && v[b - 1] > x; b--)
                v[b] = v[b - 1];
            v[b] = x;
        }
    } else {
        qsort(v, k, sizeof *v, cmp_u32);
    }
    for (size_t a = 0; a < k; a++)
        v[a] = v[a] + start < n ? v[a] + start : v[a] + start - n;
}

/* Where a select is. */
enum select_state {
    SELECT_RUNNING = 0, /* the children run under the wake set */
    SELECT_DONE         /* a winner finished, or the select was dropped */
};

/*
 * Drops (or hands back) every child still held, then releases the wake
 * set, if any: the select is done.
 */
static void
sel_finish(struct cfut_select *s)
{
    struct cfut_future **c = sel_children(s);
    bool keep = (s->flags & CFUT_SELECT_HAND_BACK) != 0;
    for (size_t i = 0; i < s->n; i++) {
        if (c[i] != NULL && !keep)
            cfut_future_drop(c[i]);
        c[i] = NULL;
    }
    if (s->ws != NULL)
        cfut__wakeset_release(s->ws);
    s->ws = NULL;
    s->state = SELECT_DONE;
}

/*
 * Polls child 'i' under 'cx'; when it is READY it wins: it is dropped, its
 * index is written before its output and the select finishes.
 */
static bool
sel_try(struct cfut_select *s, struct cfut_future **c, size_t i,
        struct cfut_context *cx, void *out)
{
    if (cfut_future_poll(c[i], cx, (char *)out + CFUT_SELECT_VALUE_OFFSET) !=
        CFUT_READY)
        return false;
    cfut_future_drop(c[i]);
    c[i] = NULL;
    memcpy(out, &i, sizeof i);
    sel_finish(s);
    return true;
}

/*
 * The poll of a wake-set select: polls the woken children in the mode's
 * order until one is READY (see sel_poll()).
 */
static enum cfut_poll
poll_woken(struct cfut_select *s, struct cfut_context *cx, void *out)
{
    struct cfut__wakeset *ws = s->ws;
    struct cfut_future **c = sel_children(s);
    uint32_t *order = sel_scratch(s);
    size_t k = 0;
    if (cfut__wakeset_start(ws)) { /* the first poll: every child, in order */
        for (uint32_t i = (uint32_t)s->start; k < s->n; k++) {
            cfut__wakeset_init_slot(ws, i);
            order[k] = i;
            if (++i == s->n)
                i = 0;
        }
    } else {
        for (uint32_t i = cfut__wakeset_take(ws); i != CFUT__WAKESET_EMPTY;
             i = cfut__wakeset_peek(ws, i))
            order[k++] = i;
        if (k > 1)
            sort_order(order, k, s->start, (uint32_t)s->n);
    }
    for (size_t a = 0; a < k; a++) {
        uint32_t i = order[a];
        cfut__wakeset_clear(ws, i);
        struct cfut_waker w = cfut__wakeset_waker(ws, i);
        struct cfut_context sub = cfut_context_with_waker(cx, &w);
        if (sel_try(s, c, i, &sub, out))
            return CFUT_READY;
    }
    cfut__wakeset_register(ws, cx->waker);
    return CFUT_PENDING;
}

/*
 * States and transitions:
 *   SELECT_RUNNING: the small form polls every child in the mode's order
 *     with the parent's context; the wake-set form takes the children woken
 *     since the last poll (all of them at the first), sorts them into the
 *     mode's order and polls each under its sub-waker.
 *     The first READY one wins: it is dropped, its index and output are
 *     written, the others are dropped (or handed back) and the wake set
 *     released -> SELECT_DONE, READY. None READY: register the parent
 *     waker, stay, PENDING.
 *   SELECT_DONE: never polled again: polling it is a misuse (it aborts).
 */
static enum cfut_poll
sel_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct cfut_select *s = cfut_container_of(f, struct cfut_select, base);
    switch ((enum select_state)s->state) {
    case SELECT_RUNNING:
        return poll_woken(s, cx, out);
    case SELECT_DONE:
        break;
    }
    cfut__assert_fail(__FILE__, __LINE__, "state == SELECT_RUNNING",
                      "a select was polled after it finished");
}

/* States: SELECT_RUNNING: drop every child -> SELECT_DONE. Done: nothing. */
static void
sel_drop(struct cfut_future *f)
{
    struct cfut_select *s = cfut_container_of(f, struct cfut_select, base);
    switch ((enum select_state)s->state) {
    case SELECT_RUNNING:
        s->flags &= ~CFUT_SELECT_HAND_BACK; /* a dropped select hands nothing */
        sel_finish(s);
        break;
    case SELECT_DONE:
        break;
    }
}

static size_t
sel_output_size(const struct cfut_future *f)
{
    const struct cfut_select *s =
        cfut_container_of(f, const struct cfut_select, base);
    return CFUT_SELECT_VALUE_OFFSET + s->max_size;
}

static const struct cfut_future_vtable sel_vtable = {
    sel_poll, sel_drop, CFUT_OUTPUT_DYNAMIC, "select", sel_output_size};

/*
 * The small form has a vtable of its own, so that its poll and drop are
 * short functions with no wake-set code (issue 14: select_2 167 -> see
 * docs/combinators.md). The states are the same two.
 *
 * Finishes a small select whose child 'w' won: drops the winner, then the
 * losers (unless they are handed back).
 */
static void
small_finish(struct cfut_select *s, size_t w)
{
    struct cfut_future *win = s->small[w];
    s->small[w] = NULL;
    s->state = SELECT_DONE;
    cfut_future_drop(win);
    bool keep = (s->flags & CFUT_SELECT_HAND_BACK) != 0;
    size_t n = s->n;
    for (size_t i = 0; i < n; i++) {
        struct cfut_future *c = s->small[i];
        s->small[i] = NULL;
        if (c != NULL && !keep)
            cfut_future_drop(c);
    }
}

/*
 * States and transitions (small form):
 *   SELECT_RUNNING: polls every child, from the start index around, with
 *     the parent's own context, until one is READY: it wins (its index
 *     and output are written, it and the losers are dropped or the losers
 *     handed back) -> SELECT_DONE, READY. None READY: PENDING (each child
 *     has the parent's waker).
 *   SELECT_DONE: never polled again: polling it is a misuse (it aborts).
 */
static enum cfut_poll
small_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct cfut_select *s = cfut_container_of(f, struct cfut_select, base);
    if (s->state != SELECT_RUNNING)
        cfut__assert_fail(__FILE__, __LINE__, "state == SELECT_RUNNING",
                          "a select was polled after it finished");
    void *value = (char *)out + CFUT_SELECT_VALUE_OFFSET;
    size_t n = s->n;
    size_t i = s->start;
    for (size_t k = 0; k < n; k++) {
        if (cfut_future_poll(s->small[i], cx, value) == CFUT_READY) {
            memcpy(out, &i, sizeof i);
            small_finish(s, i);
            return CFUT_READY;
        }
        if (++i == n)
            i = 0;
    }
    return CFUT_PENDING;
}

/*
 * The small poll unrolled for two children (cfut_select2(), the common
 * case): the same states and order as small_poll(), without the loops.
 */
static enum cfut_poll
pair_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct cfut_select *s = cfut_container_of(f, struct cfut_select, base);
    if (s->state != SELECT_RUNNING)
        cfut__assert_fail(__FILE__, __LINE__, "state == SELECT_RUNNING",
                          "a select was polled after it finished");
    void *value = (char *)out + CFUT_SELECT_VALUE_OFFSET;
    size_t w = s->start;
    if (cfut_future_poll(s->small[w], cx, value) != CFUT_READY) {
        w ^= 1;
        if (cfut_future_poll(s->small[w], cx, value) != CFUT_READY)
            return CFUT_PENDING;
    }
    memcpy(out, &w, sizeof w);
    struct cfut_future *win = s->small[w], *lose = s->small[w ^ 1];
    s->state = SELECT_DONE; /* the slots are not read once done */
    cfut_future_drop(win);
    if ((s->flags & CFUT_SELECT_HAND_BACK) == 0)
        cfut_future_drop(lose);
    return CFUT_READY;
}

/* States: SELECT_RUNNING: drop every child -> SELECT_DONE. Done: nothing. */
static void
small_drop(struct cfut_future *f)
{
    struct cfut_select *s = cfut_container_of(f, struct cfut_select, base);
    if (s->state != SELECT_RUNNING)
        return;
    s->state = SELECT_DONE;
    size_t n = s->n;
    for (size_t i = 0; i < n; i++) {
        struct cfut_future *c = s->small[i];
        s->small[i] = NULL;
        cfut_future_drop(c);
    }
}

static const struct cfut_future_vtable small_vtable = {
    small_poll, small_drop, CFUT_OUTPUT_DYNAMIC, "select", sel_output_size};
static const struct cfut_future_vtable pair_vtable = {
    pair_poll, small_drop, CFUT_OUTPUT_DYNAMIC, "select", sel_output_size};

int
cfut_select_init(struct cfut_select *s, struct cfut_future *const *children,
                 size_t n, unsigned flags)
{
    if (s == NULL || children == NULL || n == 0 || n >= UINT32_MAX ||
        (flags & ~(CFUT_SELECT_FAIR | CFUT_SELECT_HAND_BACK)) != 0)
        return CFUT_EINVAL;
    size_t max_size = 0;
    for (size_t i = 0; i < n; i++) {
        if (children[i] == NULL)
            return CFUT_EINVAL;
        size_t sz = cfut_future_output_size(children[i]);
        if (sz > max_size)
            max_size = sz;
    }
    struct cfut__wakeset *ws = NULL;
    struct cfut_future **c = s->small;
    if (n > CFUT_SELECT_SMALL_MAX) {
        int rc = cfut__wakeset_new(
            (uint32_t)n, n * (sizeof(struct cfut_future *) + sizeof(uint32_t)),
            &ws);
        if (rc != CFUT_OK)
            return rc;
        c = cfut__wakeset_extra(ws);
    }
    for (size_t i = 0; i < n; i++)
        c[i] = children[i];
    cfut_future_init(&s->base, ws != NULL ? &sel_vtable
                               : n == 2   ? &pair_vtable
                                          : &small_vtable);
    s->ws = ws;
    s->n = n;
    s->max_size = max_size;
    s->flags = flags;
    s->state = SELECT_RUNNING;
    s->start = 0;
    if (flags & CFUT_SELECT_FAIR)
        s->start = fair_rotor++ % (uint32_t)n;
    return CFUT_OK;
}

int
cfut_select2(struct cfut_select *s, struct cfut_future *a,
             struct cfut_future *b, unsigned flags)
{
    struct cfut_future *children[2] = {a, b};
    return cfut_select_init(s, children, 2, flags);
}
