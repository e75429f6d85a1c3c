/*
 * cfut_wakeset.c: the wake set behind join and select: the sub-waker
 * vtable (a wake pushes the child's index on a lock-free stack and wakes
 * the parent when the stack was empty), the block's allocation, its
 * parent waker and its release. It polls nothing and knows nothing about
 * executors or about which combinator uses it.
 */
#define _GNU_SOURCE /* syscall() */
#include "cfut_wakeset_int.h"

#include <sched.h>
#include <unistd.h>
#ifdef __linux__
#include <linux/membarrier.h>
#include <sys/syscall.h>
#define CFUT__MB_REGISTER MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED
#define CFUT__MB_EXPEDITED MEMBARRIER_CMD_PRIVATE_EXPEDITED
#else
#define CFUT__MB_REGISTER 0
#define CFUT__MB_EXPEDITED 0
#endif

#include "cfut_alloc_int.h"

_Thread_local char cfut__wakeset_token CFUT__WAKESET_TLS;
const char cfut__wakeset_shared;

/* membarrier(PRIVATE_EXPEDITED): 0 not yet asked, 1 registered, 2 not
 * available (every set then starts in the fallback). */
static atomic_int membarrier_state;

/*
 * membarrier(2) where the system has it (Linux 4.14 and later); elsewhere
 * (the WebAssembly build) -1, so every set takes the atomic path.
 */
static long
sys_membarrier(int cmd)
{
#if defined(__linux__) && defined(__NR_membarrier)
    return syscall(__NR_membarrier, cmd, 0, 0);
#else
    (void)cmd;
    return -1;
#endif
}

static bool
membarrier_ready(void)
{
    int st = atomic_load_explicit(&membarrier_state, memory_order_acquire);
    if (st == 0) {
        /* Registering twice is harmless: a race here costs a system call. */
        long rc = sys_membarrier(CFUT__MB_REGISTER);
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

/*
 * Begins an operation on the local side if the calling thread owns 'ws':
 * marks it 'busy' before reading 'owner' again, so that a thread that
 * takes over (cfut__wakeset_adopt()) either sees the mark and waits, or
 * this read sees its fallback. Only the owner writes 'busy' while it owns
 * the set, so a load and a store count it (a local wake may nest through
 * the parent's wake). Returns true when the local path is taken; then
 * local_leave(ws, *b) ends it.
 */
static inline bool
local_enter(struct cfut__wakeset *ws, uint32_t *b)
{
    const void *me = &cfut__wakeset_token;
    if (atomic_load_explicit(&ws->owner, memory_order_relaxed) != me)
        return false;
    *b = atomic_load_explicit(&ws->busy, memory_order_relaxed);
    atomic_store_explicit(&ws->busy, *b + 1, memory_order_relaxed);
    atomic_signal_fence(memory_order_seq_cst);
    if (atomic_load_explicit(&ws->owner, memory_order_relaxed) == me)
        return true;
    atomic_store_explicit(&ws->busy, *b, memory_order_release);
    return false;
}

static inline void
local_leave(struct cfut__wakeset *ws, uint32_t b)
{
    atomic_store_explicit(&ws->busy, b, memory_order_release);
}

/* Releases 'k' shared references; the last one frees the block. */
static void
shared_unref(struct cfut__wakeset *ws, size_t k)
{
    /* acq_rel rather than release + fence: ThreadSanitizer does not model
     * fences, and on x86 the cost is the same. */
    if (atomic_fetch_sub_explicit(&ws->refs, k, memory_order_acq_rel) != k)
        return;
    cfut_waker_drop(&ws->parent);
    cfut__free_small(ws, ws->alloc_size);
}

/*
 * A clone on the owner thread is counted in 'lrefs' with plain stores and
 * is a local waker; elsewhere it is counted in 'refs' and is a shared one.
 */
static struct cfut_waker
sub_clone(void *data)
{
    struct cfut__wakeset *ws = slot_set(data);
    uint32_t b;
    if (local_enter(ws, &b)) {
        ws->lrefs++;
        local_leave(ws, b);
        return (struct cfut_waker){&cfut__wakeset_local_vtable, data};
    }
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
    uint32_t b;
    if (local_enter(ws, &b)) {
        local_wake(ws, slot);
        local_leave(ws, b);
        return;
    }
    foreign_wake(ws, slot);
}

/* A shared waker's reference is in 'refs'. */
static void
sub_drop(void *data)
{
    shared_unref(slot_set(data), 1);
}

static void
sub_wake(void *data)
{
    sub_wake_by_ref(data);
    sub_drop(data);
}

/*
 * A local waker's reference is in 'lrefs' until the set falls back
 * (local_convert()): on the owner thread a plain decrement (the combinator
 * holds one more, so it never reaches 0 there); elsewhere it is counted in
 * 'ldebt', unless the conversion came first, which then counted it in
 * 'refs'. One atomic word makes the two orders distinguishable.
 */
static void
local_drop(void *data)
{
    struct cfut__wakeset *ws = slot_set(data);
    uint32_t b;
    if (local_enter(ws, &b)) {
        ws->lrefs--;
        local_leave(ws, b);
        return;
    }
    size_t old = atomic_fetch_add_explicit(&ws->ldebt, 1, memory_order_acq_rel);
    if (old & CFUT__WAKESET_CONVERTED)
        shared_unref(ws, 1);
}

static void
local_wake_consume(void *data)
{
    sub_wake_by_ref(data);
    local_drop(data);
}

const struct cfut_waker_vtable cfut__wakeset_vtable = {
    sub_clone, sub_wake, sub_wake_by_ref, sub_drop};
const struct cfut_waker_vtable cfut__wakeset_local_vtable = {
    sub_clone, local_wake_consume, sub_wake_by_ref, local_drop};

/*
 * Ends the local reference count: the thread that calls it has the local
 * side to itself (the owner at release, or the thread that took over after
 * its wait) and 'owner' no longer names a live owner. The local references
 * still alive ('lrefs' minus those dropped elsewhere, 'ldebt') become
 * shared ones, in place of the single shared reference the local side
 * held. In three steps, so that 'refs' never undercounts: add every local
 * reference first; then mark 'ldebt' converted (from here a local waker
 * dropped elsewhere decrements 'refs'); then take back the ones dropped
 * before the mark and the local side's own. Returns false when that freed
 * the block (only at release: the combinator's own reference was dropped
 * from 'lrefs' first).
 */
static bool
local_convert(struct cfut__wakeset *ws)
{
    if (atomic_load_explicit(&ws->ldebt, memory_order_relaxed) &
        CFUT__WAKESET_CONVERTED)
        return true; /* started in the fallback: nothing local */
    ws->sub_vt = &cfut__wakeset_vtable;
    size_t lrefs = ws->lrefs;
    ws->lrefs = 0;
    atomic_fetch_add_explicit(&ws->refs, lrefs, memory_order_relaxed);
    size_t debt = atomic_fetch_or_explicit(&ws->ldebt, CFUT__WAKESET_CONVERTED,
                                           memory_order_acq_rel);
    size_t back = debt + 1;
    if (atomic_fetch_sub_explicit(&ws->refs, back, memory_order_acq_rel) !=
        back)
        return true;
    cfut_waker_drop(&ws->parent);
    cfut__free_small(ws, ws->alloc_size);
    return false;
}

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
    bool local = membarrier_ready();
    /* Local: the combinator's reference is in 'lrefs', and the local side
     * holds the one shared reference. Fallen back: it is in 'refs'. */
    atomic_init(&ws->refs, 1);
    ws->lrefs = local ? 1 : 0;
    atomic_init(&ws->ldebt, local ? 0 : CFUT__WAKESET_CONVERTED);
    ws->sub_vt = local ? &cfut__wakeset_local_vtable : &cfut__wakeset_vtable;
    atomic_flag_clear(&ws->lock);
    ws->parent = CFUT_WAKER_EMPTY;
    ws->lhead = CFUT__WAKESET_EMPTY;
    atomic_init(&ws->owner, local ? NULL : (const void *)&cfut__wakeset_shared);
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
    const void *o = atomic_load_explicit(&ws->owner, memory_order_relaxed);
    bool local = o != &cfut__wakeset_shared;
    /* With no sub-waker clone alive, nobody else can reach the block (a
     * clone is made only from a live reference or, during a poll on this
     * thread, from the borrowed sub-waker): free it without atomics. */
    if (atomic_load_explicit(&ws->refs, memory_order_acquire) == 1 &&
        (!local ||
         (ws->lrefs == 1 &&
          atomic_load_explicit(&ws->ldebt, memory_order_acquire) == 0))) {
        cfut_waker_drop(&ws->parent);
        cfut__free_small(ws, ws->alloc_size);
        return;
    }
    cfut__wakeset_clear_parent(ws);
    if (local) {
        /* This thread owns the set and no other can be in a local
         * operation: end the owner path here (no membarrier needed), then
         * convert what is left without the combinator's reference. */
        atomic_store_explicit(&ws->owner, (const void *)&cfut__wakeset_shared,
                              memory_order_relaxed);
        ws->lrefs--;
        local_convert(ws);
        return;
    }
    shared_unref(ws, 1);
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
    if (sys_membarrier(CFUT__MB_EXPEDITED) != 0)
        cfut__assert_fail(__FILE__, __LINE__, "membarrier() == 0",
                          "membarrier failed after it was registered");
    while (atomic_load_explicit(&ws->busy, memory_order_acquire) != 0)
        sched_yield();
    local_convert(ws); /* the combinator holds a reference: never frees */
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
