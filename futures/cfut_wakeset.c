/*
 * cfut_wakeset.c: the wake set behind join and select: the sub-waker
 * vtable (a wake pushes the child's index on a lock-free stack and wakes
 * the parent when the stack was empty), the block's allocation, its
 * parent waker and its release. It polls nothing and knows nothing about
 * executors or about which combinator uses it.
 */
#define _GNU_SOURCE /* syscall() */
#include "cfut_wakeset_int.h"

#include <linux/membarrier.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cfut_alloc_int.h"

_Thread_local char cfut__wakeset_token CFUT__WAKESET_TLS;
const char cfut__wakeset_shared;

/* membarrier(PRIVATE_EXPEDITED): 0 not yet asked, 1 registered, 2 not
 * available (every set then starts in the fallback). */
static atomic_int membarrier_state;

static bool
membarrier_ready(void)
{
    int st = atomic_load_explicit(&membarrier_state, memory_order_acquire);
    if (st == 0) {
        /* Registering twice is harmless: a race here costs a system call. */
        long rc = syscall(__NR_membarrier,
                          MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0);
        st = rc == 0 ? 1 : 2;
        atomic_store_explicit(&membarrier_state, st, memory_order_release);
    }
    return st == 1;
}

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
 * The local path (the owner thread, see struct cfut__wakeset): queues the
 * child on the local list with plain stores and, when the list was empty,
 * wakes the parent, which only this thread writes.
 */
static void
local_wake(struct cfut__wakeset *ws, struct cfut__wakeset_slot *slot)
{
    if (slot->lqueued)
        return;
    slot->lqueued = true;
    uint32_t old = ws->lhead;
    slot->lnext = old;
    ws->lhead = slot->idx;
    if (old == CFUT__WAKESET_EMPTY)
        cfut_waker_wake_by_ref(&ws->parent);
}

/*
 * The foreign path: pushes the child on the foreign stack and, when the
 * stack was empty, wakes the parent: a non-empty stack means an earlier
 * waker already woke it (or will, right after its push), and the poll that
 * follows drains this child too.
 */
static void
foreign_wake(struct cfut__wakeset *ws, struct cfut__wakeset_slot *slot)
{
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
sub_wake_by_ref(void *data)
{
    struct cfut__wakeset_slot *slot = data;
    struct cfut__wakeset *ws = slot_set(slot);
    const void *me = &cfut__wakeset_token;
    if (atomic_load_explicit(&ws->owner, memory_order_relaxed) == me) {
        /* Mark the local wake before reading 'owner' again: a thread that
         * takes over (cfut__wakeset_adopt()) either sees the mark and waits,
         * or this read sees its fallback. Only this thread writes 'busy'
         * while it owns the set, so a load and a store count it (a local
         * wake may nest through the parent's wake). */
        uint32_t b = atomic_load_explicit(&ws->busy, memory_order_relaxed);
        atomic_store_explicit(&ws->busy, b + 1, memory_order_relaxed);
        atomic_signal_fence(memory_order_seq_cst);
        bool mine =
            atomic_load_explicit(&ws->owner, memory_order_relaxed) == me;
        if (mine)
            local_wake(ws, slot);
        atomic_store_explicit(&ws->busy, b, memory_order_release);
        if (mine)
            return;
    }
    foreign_wake(ws, slot);
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
    ws->lhead = CFUT__WAKESET_EMPTY;
    atomic_init(&ws->owner, membarrier_ready()
                                ? NULL
                                : (const void *)&cfut__wakeset_shared);
    atomic_init(&ws->busy, 0);
    ws->n = n;
    ws->started = false;
    ws->extra_off = off;
    atomic_init(&ws->head, CFUT__WAKESET_EMPTY);
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
    cfut__wakeset_enter(ws);
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

void
cfut__wakeset_adopt(struct cfut__wakeset *ws)
{
    const void *me = &cfut__wakeset_token;
    const void *o = atomic_load_explicit(&ws->owner, memory_order_acquire);
    if (o == me || o == &cfut__wakeset_shared)
        return;
    if (o == NULL) {
        /* The first poll: no sub-waker exists yet, so no wake races. */
        atomic_store_explicit(&ws->owner, me, memory_order_release);
        return;
    }
    /* Another thread owns the set: fall back for good, then wait for a
     * local wake it may have begun (see struct cfut__wakeset). */
    atomic_store_explicit(&ws->owner, (const void *)&cfut__wakeset_shared,
                          memory_order_seq_cst);
    if (syscall(__NR_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) != 0)
        cfut__assert_fail(__FILE__, __LINE__, "membarrier() == 0",
                          "membarrier failed after it was registered");
    while (atomic_load_explicit(&ws->busy, memory_order_acquire) != 0)
        sched_yield();
}

void
cfut__wakeset_merge(struct cfut__wakeset *ws)
{
    uint32_t i = atomic_exchange_explicit(&ws->head, CFUT__WAKESET_EMPTY,
                                          memory_order_acquire);
    while (i != CFUT__WAKESET_EMPTY) {
        struct cfut__wakeset_slot *slot = &ws->slots[i];
        uint32_t nx = atomic_load_explicit(&slot->next, memory_order_relaxed);
        /* Cleared before the child's poll: a foreign wake from now on
         * pushes it again. */
        atomic_store_explicit(&slot->queued, false, memory_order_release);
        if (!slot->lqueued) {
            slot->lqueued = true;
            slot->lnext = ws->lhead;
            ws->lhead = i;
        }
        i = nx;
    }
}
