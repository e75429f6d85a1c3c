/*
 * cfut_wakeset.c: the wake set behind join and select: the sub-waker
 * vtable (a wake pushes the child's index on a lock-free stack and wakes
 * the parent when the stack was empty), the block's allocation, its
 * parent waker and its release. It polls nothing and knows nothing about
 * executors or about which combinator uses it.
 */
#include "cfut_wakeset_int.h"

#include "cfut_alloc_int.h"

static struct cfut__wakeset *
slot_set(struct cfut__wakeset_slot *slot)
{
    struct cfut__wakeset_slot *first = slot - slot->idx;
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
    return (struct cfut_waker){&cfut__wakeset_vtable, data};
}

/*
 * Queues the child and, when the stack was empty, wakes the parent: a
 * non-empty stack means an earlier waker already woke it (or will, right
 * after its push), and the poll that follows drains this child too.
 */
static void
sub_wake_by_ref(void *data)
{
    struct cfut__wakeset_slot *slot = data;
    struct cfut__wakeset *ws = slot_set(slot);
    if (atomic_exchange_explicit(&slot->queued, true, memory_order_acq_rel))
        return;
    uint32_t old = atomic_load_explicit(&ws->head, memory_order_relaxed);
    do {
        atomic_store_explicit(&slot->next, old, memory_order_relaxed);
    } while (!atomic_compare_exchange_weak_explicit(&ws->head, &old, slot->idx,
                                                    memory_order_acq_rel,
                                                    memory_order_relaxed));
    if (old != CFUT__WAKESET_EMPTY)
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

const struct cfut_waker_vtable cfut__wakeset_vtable = {
    sub_clone, sub_wake, sub_wake_by_ref, sub_drop};

int
cfut__wakeset_new(uint32_t n, size_t extra, struct cfut__wakeset **out)
{
    size_t off =
        CFUT__ALIGN_UP(sizeof(struct cfut__wakeset) +
                           (size_t)n * sizeof(struct cfut__wakeset_slot),
                       CFUT__MAX_ALIGN);
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
        atomic_init(&ws->slots[i].next, i == 0 ? CFUT__WAKESET_EMPTY : i - 1);
        atomic_init(&ws->slots[i].queued, true);
    }
    atomic_init(&ws->head, n == 0 ? CFUT__WAKESET_EMPTY : n - 1);
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
