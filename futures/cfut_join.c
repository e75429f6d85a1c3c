/*
 * cfut_join.c: join and try_join over N children in two forms: up to
 * CFUT_JOIN_SMALL_MAX children inline, polled with the parent's context;
 * more, each polled under its own sub-waker from the wake set
 * (cfut_wakeset_int.h), so a poll costs O(woken children). It knows nothing
 * about executors.
 */
#include "cfut_join.h"

#include <string.h>

#include "cfut_alloc_int.h"
#include "cfut_wakeset_int.h"

/*
 * Per-child data in the block's extra area (wake-set form): a child is
 * running while 'fut' is not NULL (owned then); it is set to NULL when the
 * child finishes (its output is then in the values) or is dropped.
 */
struct join_child {
    struct cfut_future *fut;
    size_t off; /* offset of its output in the values */
};

static struct join_child *
join_children(const struct cfut_join *j)
{
    return cfut__wakeset_extra(j->ws);
}

/* Offset of the values after 'n' children (max-aligned). */
static size_t
values_off(size_t n)
{
    return CFUT__ALIGN_UP(n * sizeof(struct join_child), CFUT__MAX_ALIGN);
}

static unsigned char *
join_values(struct cfut_join *j)
{
    if (j->ws == NULL)
        return j->small_values.bytes;
    return (unsigned char *)cfut__wakeset_extra(j->ws) + values_off(j->n);
}

/* The alignment of a value of 'size' bytes under the layout rule. */
static size_t
value_align(size_t size)
{
    size_t a = size & (~size + 1); /* lowest set bit */
    if (a == 0 || a > _Alignof(max_align_t))
        a = _Alignof(max_align_t);
    return size == 0 ? 1 : a;
}

static void
drop_running(struct cfut_join *j)
{
    if (j->ws == NULL) {
        for (size_t i = 0; i < j->n; i++) {
            struct cfut_future *c = j->small[i];
            j->small[i] = NULL;
            if (c != NULL)
                cfut_future_drop(c);
        }
        return;
    }
    struct join_child *c = join_children(j);
    for (size_t i = 0; i < j->n; i++) {
        struct cfut_future *f = c[i].fut;
        if (f != NULL) {
            c[i].fut = NULL;
            cfut_future_drop(f);
        }
    }
}

/* Writes the output: values (after the try_join head, if any). */
static void
join_finish(struct cfut_join *j, void *out, int status, size_t failed)
{
    unsigned char *dst = out;
    if (j->is_try) {
        struct cfut_try_join_head head = {status, failed};
        memcpy(dst, &head, sizeof head);
        dst += CFUT_TRY_JOIN_VALUE_OFFSET;
    }
    if (j->values_size != 0)
        memcpy(dst, join_values(j), j->values_size);
    /* Every child is finished or dropped by now (its 'fut' is NULL). */
    if (j->ws != NULL)
        cfut__wakeset_clear_parent(j->ws);
}

/*
 * Child 'c' is READY and its output at 'value': drops it and, for a
 * try_join whose child failed, drops the others and finishes. Returns true
 * when the join has finished.
 */
static bool
child_done(struct cfut_join *j, struct cfut_future *c, size_t i,
           const unsigned char *value, void *out)
{
    cfut_future_drop(c);
    j->n_left--;
    int st;
    if (!j->is_try || (memcpy(&st, value, sizeof st), st >= 0))
        return false;
    drop_running(j);
    join_finish(j, out, st, i);
    return true;
}

/*
 * The poll of a small join: every child still running, in index order,
 * with the parent's own context.
 */
static enum cfut_poll
poll_small(struct cfut_join *j, struct cfut_context *cx, void *out)
{
    unsigned char *values = j->small_values.bytes;
    for (size_t i = 0; i < j->n; i++) {
        struct cfut_future *c = j->small[i];
        if (c == NULL)
            continue;
        unsigned char *value = values + j->small_off[i];
        if (cfut_future_poll(c, cx, value) != CFUT_READY)
            continue;
        j->small[i] = NULL;
        if (child_done(j, c, i, value, out))
            return CFUT_READY;
    }
    if (j->n_left != 0)
        return CFUT_PENDING;
    join_finish(j, out, CFUT_OK, SIZE_MAX);
    return CFUT_READY;
}

/*
 * Polls running child 'i' (wake-set form) under its sub-waker. Returns true
 * when the join has finished (a try_join's failing child).
 */
static inline bool
poll_child(struct cfut_join *j, struct cfut_context *cx, struct join_child *c,
           unsigned char *values, uint32_t i, void *out)
{
    struct cfut_waker w = cfut__wakeset_waker(j->ws, i);
    struct cfut_context sub = cfut_context_with_waker(cx, &w);
    struct cfut_future *f = c[i].fut;
    unsigned char *value = values + c[i].off;
    if (cfut_future_poll(f, &sub, value) != CFUT_READY)
        return false;
    c[i].fut = NULL;
    return child_done(j, f, i, value, out);
}

/*
 * States: small form: poll_small(). Wake-set form: the first poll polls
 * every child in index order; later ones, n_left > 0 with woken children on
 * the stack (poll each running one; a READY one is dropped and its 'fut'
 * cleared), n_left > 0 with none woken (PENDING), n_left == 0 (write every
 * output, READY). A try_join also ends at the first child
 * whose status is negative, dropping the rest.
 */
static enum cfut_poll
join_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct cfut_join *j = cfut_container_of(f, struct cfut_join, base);
    if (j->n == 0) {
        if (j->is_try) {
            struct cfut_try_join_head head = {CFUT_OK, SIZE_MAX};
            memcpy(out, &head, sizeof head);
        }
        return CFUT_READY;
    }
    if (j->ws == NULL)
        return poll_small(j, cx, out);
    struct cfut__wakeset *ws = j->ws;
    struct join_child *c = join_children(j);
    unsigned char *values = join_values(j);
    /* Children woken during this poll wait for the next one (a child that
     * always wakes itself must not keep the join polling). */
    if (cfut__wakeset_start(ws)) { /* the first poll: every child */
        for (uint32_t i = 0; i < (uint32_t)j->n; i++) {
            cfut__wakeset_init_slot(ws, i);
            if (poll_child(j, cx, c, values, i, out))
                return CFUT_READY;
        }
    } else {
        uint32_t i = cfut__wakeset_take(ws);
        while (i != CFUT__WAKESET_EMPTY) {
            uint32_t nx = cfut__wakeset_next(ws, i);
            if (c[i].fut != NULL && poll_child(j, cx, c, values, i, out))
                return CFUT_READY;
            i = nx;
        }
    }
    if (j->n_left != 0) {
        cfut__wakeset_register(ws, cx->waker);
        return CFUT_PENDING;
    }
    join_finish(j, out, CFUT_OK, SIZE_MAX);
    return CFUT_READY;
}

static void
join_drop(struct cfut_future *f)
{
    struct cfut_join *j = cfut_container_of(f, struct cfut_join, base);
    drop_running(j);
    if (j->ws == NULL)
        return;
    cfut__wakeset_release(j->ws);
    j->ws = NULL;
}

static size_t
join_output_size(const struct cfut_future *f)
{
    const struct cfut_join *j =
        cfut_container_of(f, const struct cfut_join, base);
    return j->values_size + (j->is_try ? CFUT_TRY_JOIN_VALUE_OFFSET : 0);
}

static const struct cfut_future_vtable join_vtable = {
    join_poll, join_drop, CFUT_OUTPUT_DYNAMIC, "join", join_output_size};

static int
join_init(struct cfut_join *j, struct cfut_future *const *children, size_t n,
          bool is_try)
{
    if (j == NULL || (children == NULL && n > 0) || n >= UINT32_MAX)
        return CFUT_EINVAL;
    size_t values = 0;
    for (size_t i = 0; i < n; i++) {
        if (children[i] == NULL)
            return CFUT_EINVAL;
        size_t sz = cfut_future_output_size(children[i]);
        if (is_try && sz < sizeof(int))
            return CFUT_EINVAL;
        values = CFUT__ALIGN_UP(values, value_align(sz));
        if (i < CFUT_JOIN_SMALL_MAX && values < CFUT_JOIN_SMALL_BYTES)
            j->small_off[i] = (unsigned char)values;
        values += sz;
    }
    struct cfut__wakeset *ws = NULL;
    if (n <= CFUT_JOIN_SMALL_MAX && values <= CFUT_JOIN_SMALL_BYTES) {
        for (size_t i = 0; i < n; i++)
            j->small[i] = children[i];
    } else {
        int rc = cfut__wakeset_new((uint32_t)n, values_off(n) + values, &ws);
        if (rc != CFUT_OK)
            return rc;
        /* The same layout as above; the sizes are asked again rather than
         * kept, since there is nowhere to keep them before the block. */
        struct join_child *c = cfut__wakeset_extra(ws);
        size_t off = 0;
        for (size_t i = 0; i < n; i++) {
            size_t sz = cfut_future_output_size(children[i]);
            off = CFUT__ALIGN_UP(off, value_align(sz));
            c[i].fut = children[i];
            c[i].off = off;
            off += sz;
        }
    }
    cfut_future_init(&j->base, &join_vtable);
    j->ws = ws;
    j->n = n;
    j->n_left = n;
    j->values_size = values;
    j->is_try = is_try;
    return CFUT_OK;
}

int
cfut_join_init(struct cfut_join *j, struct cfut_future *const *children,
               size_t n)
{
    return join_init(j, children, n, false);
}

int
cfut_join2(struct cfut_join *j, struct cfut_future *a, struct cfut_future *b)
{
    struct cfut_future *children[2] = {a, b};
    return join_init(j, children, 2, false);
}

int
cfut_try_join_init(struct cfut_join *j, struct cfut_future *const *children,
                   size_t n)
{
    return join_init(j, children, n, true);
}

size_t
cfut_join_offset(const struct cfut_join *j, size_t i)
{
    CFUT_ASSERT(i < j->n, "child index out of range");
    if (j->ws == NULL)
        return j->small_off[i];
    return join_children(j)[i].off;
}
