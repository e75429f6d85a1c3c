/*
 * cfut_join.c: the shared wake block (sub-wakers) and join / try_join.
 * The wake block is a refcounted allocation with a lock-free stack of woken
 * child indexes; it knows nothing about executors.
 */
#include "cfut_join.h"

#include <string.h>

#include "cfut_alloc_int.h"
#include "cfut_subwake_int.h"

/* ---- the wake block ---------------------------------------------------- */

static struct cfut__wakeset *
slot_set(struct cfut__ws_slot *slot)
{
    struct cfut__ws_slot *first = slot - slot->idx;
    return (
        struct cfut__wakeset *)(void *)((char *)first -
                                        offsetof(struct cfut__wakeset, slots));
}

static void
ws_lock(struct cfut__wakeset *ws)
{
    while (atomic_flag_test_and_set_explicit(&ws->lock, memory_order_acquire))
        ;
}

static void
ws_unlock(struct cfut__wakeset *ws)
{
    atomic_flag_clear_explicit(&ws->lock, memory_order_release);
}

static void
ws_unref(struct cfut__wakeset *ws)
{
    /* acq_rel rather than release + fence: ThreadSanitizer does not model
     * fences, and on x86 the cost is the same. */
    if (atomic_fetch_sub_explicit(&ws->refs, 1, memory_order_acq_rel) != 1)
        return;
    cfut_waker_drop(&ws->parent);
    cfut__free_small(ws, ws->alloc_size);
}

static struct cfut_waker
sub_clone(void *data)
{
    struct cfut__wakeset *ws = slot_set(data);
    atomic_fetch_add_explicit(&ws->refs, 1, memory_order_relaxed);
    return (struct cfut_waker){&cfut__ws_vtable, data};
}

/*
 * Queues the child and, when the stack was empty, wakes the parent: a
 * non-empty stack means an earlier waker already woke it (or will, right
 * after its push), and the poll that follows drains this child too.
 */
static void
sub_wake_by_ref(void *data)
{
    struct cfut__ws_slot *slot = data;
    struct cfut__wakeset *ws = slot_set(slot);
    if (atomic_exchange_explicit(&slot->queued, true, memory_order_acq_rel))
        return;
    uint32_t old = atomic_load_explicit(&ws->head, memory_order_relaxed);
    do {
        atomic_store_explicit(&slot->next, old, memory_order_relaxed);
    } while (!atomic_compare_exchange_weak_explicit(&ws->head, &old, slot->idx,
                                                    memory_order_acq_rel,
                                                    memory_order_relaxed));
    if (old != CFUT__WS_EMPTY)
        return;
    ws_lock(ws);
    cfut_waker_wake_by_ref(&ws->parent);
    ws_unlock(ws);
}

static void
sub_drop(void *data)
{
    ws_unref(slot_set(data));
}

static void
sub_wake(void *data)
{
    sub_wake_by_ref(data);
    sub_drop(data);
}

const struct cfut_waker_vtable cfut__ws_vtable = {sub_clone, sub_wake,
                                                  sub_wake_by_ref, sub_drop};

int
cfut__wakeset_new(uint32_t n, size_t extra, struct cfut__wakeset **out)
{
    size_t off = cfut__align_up(sizeof(struct cfut__wakeset) +
                                    (size_t)n * sizeof(struct cfut__ws_slot),
                                _Alignof(max_align_t));
    struct cfut__wakeset *ws = cfut__alloc_small(off + extra);
    if (ws == NULL)
        return CFUT_ENOMEM;
    ws->alloc_size = off + extra;
    atomic_init(&ws->refs, 1);
    atomic_flag_clear(&ws->lock);
    ws->parent = CFUT_WAKER_EMPTY;
    ws->n = n;
    ws->extra_off = off;
    /* Stack order is newest first: n-1 on top, so a take yields 0..n-1. */
    for (uint32_t i = 0; i < n; i++) {
        ws->slots[i].idx = i;
        atomic_init(&ws->slots[i].next, i == 0 ? CFUT__WS_EMPTY : i - 1);
        atomic_init(&ws->slots[i].queued, true);
    }
    atomic_init(&ws->head, n == 0 ? CFUT__WS_EMPTY : n - 1);
    *out = ws;
    return CFUT_OK;
}

void
cfut__wakeset_set_parent(struct cfut__wakeset *ws, const struct cfut_waker *w)
{
    struct cfut_waker fresh = cfut_waker_clone(w);
    ws_lock(ws);
    struct cfut_waker old = ws->parent;
    ws->parent = fresh;
    ws_unlock(ws);
    cfut_waker_drop(&old);
}

void
cfut__wakeset_clear_parent(struct cfut__wakeset *ws)
{
    if (ws->parent.vtable == NULL) /* only the polling thread writes it */
        return;
    ws_lock(ws);
    struct cfut_waker old = ws->parent;
    ws->parent = CFUT_WAKER_EMPTY;
    ws_unlock(ws);
    cfut_waker_drop(&old);
}

void
cfut__wakeset_release(struct cfut__wakeset *ws)
{
    /* With no sub-waker clone alive, nobody else can reach the block (a
     * clone is made only from a live reference or, during a poll on this
     * thread, from the borrowed sub-waker): free it without atomics. */
    if (atomic_load_explicit(&ws->refs, memory_order_acquire) == 1) {
        cfut_waker_drop(&ws->parent);
        cfut__free_small(ws, ws->alloc_size);
        return;
    }
    cfut__wakeset_clear_parent(ws);
    ws_unref(ws);
}

/* ---- join -------------------------------------------------------------- */

enum child_state {
    CHILD_RUNNING = 0, /* polled when woken */
    CHILD_DONE = 1,    /* finished: its output is in the values buffer */
    CHILD_TAKEN = 2    /* its output has been handed out */
};

/* Per-child data in the block's extra area. */
struct join_child {
    struct cfut_future *fut; /* owned while RUNNING */
    size_t off;              /* offset of its output in the values */
    size_t size;             /* its output size */
    unsigned char state;     /* enum child_state */
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
    return cfut__align_up(n * sizeof(struct join_child), _Alignof(max_align_t));
}

static unsigned char *
join_values(const struct cfut_join *j)
{
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
    struct join_child *c = join_children(j);
    for (size_t i = 0; i < j->n; i++) {
        if (c[i].state == CHILD_RUNNING) {
            c[i].state = CHILD_TAKEN;
            cfut_future_drop(c[i].fut);
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
    struct join_child *c = join_children(j);
    for (size_t i = 0; i < j->n; i++)
        c[i].state = CHILD_TAKEN;
    cfut__wakeset_clear_parent(j->ws);
}

/*
 * States: n_left > 0 with woken children on the stack (poll each; a READY
 * one becomes DONE), n_left > 0 with none woken (PENDING), n_left == 0
 * (write every output, READY). A try_join also ends at the first child
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
    struct cfut__wakeset *ws = j->ws;
    struct join_child *c = join_children(j);
    unsigned char *values = join_values(j);
    uint32_t i = cfut__wakeset_take(ws);
    while (i != CFUT__WS_EMPTY) {
        uint32_t nx = cfut__wakeset_next(ws, i);
        struct join_child *ch = &c[i];
        if (ch->state == CHILD_RUNNING) {
            struct cfut_waker w = cfut__wakeset_waker(ws, i);
            struct cfut_context sub = cfut_context_with_waker(cx, &w);
            if (cfut_future_poll(ch->fut, &sub, values + ch->off) ==
                CFUT_READY) {
                ch->state = CHILD_DONE;
                cfut_future_drop(ch->fut);
                j->n_left--;
                int st;
                if (j->is_try &&
                    (memcpy(&st, values + ch->off, sizeof st), st < 0)) {
                    drop_running(j);
                    join_finish(j, out, st, i);
                    return CFUT_READY;
                }
            }
        }
        i = nx;
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
    if (j->ws == NULL)
        return;
    drop_running(j);
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
        values = cfut__align_up(values, value_align(sz)) + sz;
    }
    struct cfut__wakeset *ws = NULL;
    if (n > 0) {
        int rc = cfut__wakeset_new((uint32_t)n, values_off(n) + values, &ws);
        if (rc != CFUT_OK)
            return rc;
        struct join_child *c = cfut__wakeset_extra(ws);
        size_t off = 0;
        for (size_t i = 0; i < n; i++) {
            size_t sz = cfut_future_output_size(children[i]);
            off = cfut__align_up(off, value_align(sz));
            c[i].fut = children[i];
            c[i].off = off;
            c[i].size = sz;
            c[i].state = CHILD_RUNNING;
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
    return join_children(j)[i].off;
}
