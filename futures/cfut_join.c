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
 * The small form. Its children write their outputs straight into the
 * caller's 'out' (at their offsets), so a join whose children are all
 * ready in one poll copies nothing. A poll that ends PENDING saves the
 * outputs written in it into the inline values (bit i of 'small_saved'),
 * since the next poll may get another 'out'; the poll that finishes copies
 * the saved ones back.
 */
static void
small_save(struct cfut_join *j, unsigned char *dst, unsigned now)
{
    for (size_t i = 0; now != 0; i++, now >>= 1)
        if (now & 1u)
            memcpy(j->small_values.bytes + j->small_off[i],
                   dst + j->small_off[i], j->small_size[i]);
}

static void
small_restore(struct cfut_join *j, unsigned char *dst)
{
    unsigned saved = j->small_saved;
    for (size_t i = 0; saved != 0; i++, saved >>= 1)
        if (saved & 1u)
            memcpy(dst + j->small_off[i],
                   j->small_values.bytes + j->small_off[i], j->small_size[i]);
}

/*
 * The poll of a small join: every child still running, in index order,
 * with the parent's own context. States: running children left after the
 * poll: save what finished in it, PENDING. None left: copy the saved
 * outputs back, READY. A try_join whose child fails: drop the running
 * ones, copy the saved outputs back, write the head, READY.
 */
static inline enum cfut_poll
small_poll_as(struct cfut_join *j, struct cfut_context *cx, void *out,
              const bool is_try)
{
    /* out is NULL only when every output is empty: any storage will do. */
    unsigned char *dst = out != NULL ? out : j->small_values.bytes;
    if (is_try)
        dst += CFUT_TRY_JOIN_VALUE_OFFSET;
    size_t n = j->n, left = j->n_left;
    unsigned now = 0;
    for (size_t i = 0; i < n; i++) {
        struct cfut_future *c = j->small[i];
        if (c == NULL)
            continue;
        unsigned char *value = dst + j->small_off[i];
        if (cfut_future_poll(c, cx, value) != CFUT_READY)
            continue;
        j->small[i] = NULL;
        left--;
        cfut_future_drop(c);
        now |= 1u << i;
        int st;
        if (is_try && (memcpy(&st, value, sizeof st), st < 0)) {
            j->n_left = left;
            drop_running(j);
            small_restore(j, dst);
            struct cfut_try_join_head head = {st, i};
            memcpy(out, &head, sizeof head);
            return CFUT_READY;
        }
    }
    j->n_left = left;
    if (left != 0) {
        small_save(j, dst, now);
        j->small_saved |= (unsigned char)now;
        return CFUT_PENDING;
    }
    if (j->small_saved != 0)
        small_restore(j, dst);
    if (is_try) {
        struct cfut_try_join_head head = {CFUT_OK, SIZE_MAX};
        memcpy(out, &head, sizeof head);
    }
    return CFUT_READY;
}

/* For join_poll(): a small join polls through small_vtable, so this is
 * never reached on a hot path (kept out of line). */
#if defined(__GNUC__)
__attribute__((noinline, cold))
#endif
static enum cfut_poll
poll_small(struct cfut_join *j, struct cfut_context *cx, void *out)
{
    return j->is_try ? small_poll_as(j, cx, out, true)
                     : small_poll_as(j, cx, out, false);
}

static enum cfut_poll
small_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    return small_poll_as(cfut_container_of(f, struct cfut_join, base), cx, out,
                         false);
}

static enum cfut_poll
small_try_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    return small_poll_as(cfut_container_of(f, struct cfut_join, base), cx, out,
                         true);
}

static void
small_drop(struct cfut_future *f)
{
    struct cfut_join *j = cfut_container_of(f, struct cfut_join, base);
    if (j->n_left != 0) /* a finished join holds nothing */
        drop_running(j);
}

static size_t join_output_size(const struct cfut_future *f);

static const struct cfut_future_vtable small_vtable = {
    small_poll, small_drop, CFUT_OUTPUT_DYNAMIC, "join", join_output_size};
static const struct cfut_future_vtable small_try_vtable = {
    small_try_poll, small_drop, CFUT_OUTPUT_DYNAMIC, "join", join_output_size};

/*
 * Initialises 'j' in the small form when the children fit (1..4 children,
 * outputs in CFUT_JOIN_SMALL_BYTES): returns CFUT_OK or CFUT_EINVAL, or 1
 * when they do not fit (join_init() goes on with the wake-set form).
 */
static int
small_init(struct cfut_join *j, struct cfut_future *const *children, size_t n,
           bool is_try)
{
    size_t values = 0;
    for (size_t i = 0; i < n; i++) {
        struct cfut_future *c = children[i];
        if (c == NULL)
            return CFUT_EINVAL;
        size_t sz = cfut_future_output_size(c);
        if (is_try && sz < sizeof(int))
            return CFUT_EINVAL;
        values = CFUT__ALIGN_UP(values, value_align(sz));
        if (sz > CFUT_JOIN_SMALL_BYTES || values + sz > CFUT_JOIN_SMALL_BYTES)
            return 1;
        j->small[i] = c;
        j->small_off[i] = (unsigned char)values;
        j->small_size[i] = (unsigned char)sz;
        values += sz;
    }
    cfut_future_init(&j->base, is_try ? &small_try_vtable : &small_vtable);
    j->ws = NULL;
    j->n = n;
    j->n_left = n;
    j->values_size = values;
    j->is_try = is_try;
    j->small_saved = 0;
    return CFUT_OK;
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

/*
 * join_init() specialised per kind (flatten inlines it with is_try
 * constant: left to itself, LTO passes is_try through at run time).
 */
#if defined(__GNUC__)
__attribute__((flatten, noinline))
#endif
static int
join_init_plain(struct cfut_join *j, struct cfut_future *const *children,
                size_t n)
{
    return join_init(j, children, n, false);
}

/* The small form when it fits, else join_init(). */
static inline int
join_start(struct cfut_join *j, struct cfut_future *const *children, size_t n,
           bool is_try)
{
    if (j != NULL && children != NULL && n - 1 < CFUT_JOIN_SMALL_MAX) {
        int rc = small_init(j, children, n, is_try);
        if (rc != 1)
            return rc;
    }
    return is_try ? join_init(j, children, n, true)
                  : join_init_plain(j, children, n);
}

int
cfut_join_init(struct cfut_join *j, struct cfut_future *const *children,
               size_t n)
{
    return join_start(j, children, n, false);
}

int
cfut_join2(struct cfut_join *j, struct cfut_future *a, struct cfut_future *b)
{
    struct cfut_future *children[2] = {a, b};
    return join_start(j, children, 2, false);
}

int
cfut_try_join_init(struct cfut_join *j, struct cfut_future *const *children,
                   size_t n)
{
    return join_start(j, children, n, true);
}

size_t
cfut_join_offset(const struct cfut_join *j, size_t i)
{
    CFUT_ASSERT(i < j->n, "child index out of range");
    if (j->ws == NULL)
        return j->small_off[i];
    return join_children(j)[i].off;
}
