/*
 * cfut_future.h: the future contract: poll results, the future base and its
 * vtable, wakers, the context a poll receives, pinned (boxed) storage, and
 * what every future's code uses with it: the assertion macros,
 * cfut_container_of() and the list link a future embeds. Where memory
 * comes from is cfut_alloc.h's.
 *
 * Threading: a future is polled and dropped on one thread at a time. Wakers
 * are the exception: a waker may be cloned, woken and dropped from any thread
 * (each waker kind says how it makes that safe). Lifetime: a future lives in
 * storage its owner provides (a task, a parent future, a box) and is pinned
 * there from its first poll until it is dropped.
 *
 * THE CONTRACT (read this once; every other header relies on it)
 *
 * Poll. 'poll(self, cx, out)' has two outcomes:
 *   - CFUT_READY: the future has finished and has written its output to
 *     '*out' (exactly its output size in bytes: cfut_future_output_size()).
 *   - CFUT_PENDING: the future cannot finish now and has already arranged for
 *     the waker in 'cx' to be woken when it can make progress.
 * Only the waker passed to the latest poll must be woken: a future that is
 * polled again with a different waker replaces the one it kept. A wake may
 * arrive during the poll itself (the executor then polls again afterwards).
 *
 * Output storage. Whoever polls a future gives it 'out' with room for its
 * output size. 'out' may be NULL only when that size is 0: a direct
 * cfut_future_poll() with out = NULL on a future whose output size is > 0
 * is a misuse that debug builds abort on, naming the future. To discard an
 * output, let the await path or the executor do it: CFUT_AWAIT()
 * (cfut_coro.h) and cfut_block_on() (cfut_executor.h) accept out = NULL
 * and then give the future storage of their own, which nobody reads.
 *
 * Once READY, a future is never polled again (debug builds abort with a
 * message; cfut_fuse() makes a future safe to poll after READY). Every
 * future is dropped exactly once, finished or not. Dropping a pending future
 * is cancellation: it releases everything it holds and unlinks itself from
 * every wait list it joined.
 *
 * Pinning. A future may be copied or moved (memcpy) until its first poll;
 * from then on it stays at the same address until it is dropped, so a parent
 * may embed children by value and a child may hand out pointers to itself
 * (to a wait list, for instance). Initialising a future must not publish its
 * address. Debug builds record the address at the first poll and abort with
 * a message naming the future's type when a later poll or drop sees another.
 *
 * Wakers. A waker is {vtable, data}; it is a counted reference to whatever
 * will poll the future again (usually a task).
 *   - clone: returns a new reference (the original is unchanged);
 *   - wake: schedules the poll and consumes the reference;
 *   - wake_by_ref: schedules the poll and keeps the reference;
 *   - drop: releases the reference.
 * A waker may be used from any thread. Waking something that has finished
 * or been dropped is harmless, since the reference keeps its memory alive.
 * Wakes may coalesce, but each wake leads to at least one later poll.
 */
#ifndef CFUT_FUTURE_H
#define CFUT_FUTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cfut_alloc.h"
#include "cfut_config.h"
#include "cfut_errors.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------- */
/* Assertions and helpers                                                  */
/* ---------------------------------------------------------------------- */

/*
 * Checks an always-on O(1) precondition: on failure it prints file, line,
 * expression and 'msg' to stderr and aborts.
 */
#define CFUT_ASSERT(cond, msg)                                                 \
    ((cond) ? (void)0 : cfut__assert_fail(__FILE__, __LINE__, #cond, (msg)))

/* Like CFUT_ASSERT, but compiled only when debug checks are on. */
#if CFUT_DEBUG_CHECKS
#define CFUT_DEBUG_ASSERT(cond, msg) CFUT_ASSERT(cond, msg)
#else
#define CFUT_DEBUG_ASSERT(cond, msg) ((void)0)
#endif

/* Recovers a pointer to the struct 'type' whose member 'member' is at 'ptr'. */
#define cfut_container_of(ptr, type, member)                                   \
    ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

/*
 * Prints an assertion failure and aborts; used by CFUT_ASSERT.
 * Context: anywhere; never returns.
 */
CFUT_API void cfut__assert_fail(const char *file, int line, const char *expr,
                                const char *msg)
#if defined(__GNUC__)
    __attribute__((noreturn))
#endif
    ;

/*
 * An intrusive list link: circular, doubly linked, with a sentinel head; an
 * unlinked node points to itself. Public so that a future can embed one by
 * value (a waiter on a channel's wait list); its operations are internal
 * (cfut_list_int.h). Private: do not touch.
 */
struct cfut_list {
    struct cfut_list *next;
    struct cfut_list *prev;
};

/* ---------------------------------------------------------------------- */
/* Poll result and wakers                                                  */
/* ---------------------------------------------------------------------- */

/* The two outcomes of a poll. */
enum cfut_poll {
    CFUT_PENDING = 0, /* not finished; the waker will be woken */
    CFUT_READY = 1    /* finished; the output has been written */
};

struct cfut_waker;

/* Returns a new reference to 'data' (the original is unchanged). */
typedef struct cfut_waker cfut_waker_clone_fn(void *data);
/* Schedules a poll and releases the reference 'data' stands for. */
typedef void cfut_waker_wake_fn(void *data);
/* Schedules a poll and keeps the reference. */
typedef void cfut_waker_wake_by_ref_fn(void *data);
/* Releases the reference without waking. */
typedef void cfut_waker_drop_fn(void *data);

/* The four operations of a waker kind. */
struct cfut_waker_vtable {
    cfut_waker_clone_fn *clone;             /* +1 reference */
    cfut_waker_wake_fn *wake;               /* wake, then -1 reference */
    cfut_waker_wake_by_ref_fn *wake_by_ref; /* wake, references unchanged */
    cfut_waker_drop_fn *drop;               /* -1 reference */
};

/*
 * A waker: one counted reference. A waker whose vtable is NULL is empty
 * (holds nothing); an empty slot is how a future stores "no waker yet".
 */
struct cfut_waker {
    const struct cfut_waker_vtable *vtable; /* NULL: empty */
    void *data;
};

/* An empty waker value, for initialising a waker slot. */
#define CFUT_WAKER_EMPTY ((struct cfut_waker){NULL, NULL})

/*
 * Returns a new reference to the same wakee as 'w'.
 * Ownership: 'w' is borrowed. An empty 'w' gives an empty waker.
 * Context: any thread.
 */
static inline struct cfut_waker
cfut_waker_clone(const struct cfut_waker *w)
{
    if (w->vtable == NULL)
        return CFUT_WAKER_EMPTY;
    return w->vtable->clone(w->data);
}

/*
 * Wakes the wakee of 'w' and consumes the reference; 'w' becomes empty.
 * Empty wakers are a no-op. Context: any thread.
 */
static inline void
cfut_waker_wake(struct cfut_waker *w)
{
    const struct cfut_waker_vtable *vt = w->vtable;
    if (vt == NULL)
        return;
    w->vtable = NULL;
    vt->wake(w->data);
}

/*
 * Wakes the wakee of 'w' and keeps the reference.
 * Empty wakers are a no-op. Context: any thread.
 */
static inline void
cfut_waker_wake_by_ref(const struct cfut_waker *w)
{
    if (w->vtable != NULL)
        w->vtable->wake_by_ref(w->data);
}

/*
 * Releases the reference 'w' holds; 'w' becomes empty. Empty is a no-op.
 * Context: any thread.
 */
static inline void
cfut_waker_drop(struct cfut_waker *w)
{
    const struct cfut_waker_vtable *vt = w->vtable;
    if (vt == NULL)
        return;
    w->vtable = NULL;
    vt->drop(w->data);
}

/*
 * Tells whether 'a' and 'b' would wake the same thing (same vtable and
 * data): a future that kept 'a' need not replace it by 'b'.
 */
static inline bool
cfut_waker_will_wake(const struct cfut_waker *a, const struct cfut_waker *b)
{
    return a->vtable == b->vtable && a->data == b->data;
}

/*
 * Makes 'slot' hold a reference to the wakee of 'w': it clones 'w' into an
 * empty slot, replaces a slot that would wake something else, and does
 * nothing when the slot already wakes the same wakee.
 * Ownership: 'slot' keeps its reference; 'w' is borrowed.
 * Context: inside a poll, on the polling thread.
 */
static inline void
cfut_waker_register(struct cfut_waker *slot, const struct cfut_waker *w)
{
    if (slot->vtable != NULL) {
        if (cfut_waker_will_wake(slot, w))
            return;
        cfut_waker_drop(slot);
    }
    *slot = cfut_waker_clone(w);
}

/*
 * Returns a waker that does nothing when woken (for polling by hand).
 * Context: any thread; the waker needs no drop, though dropping is allowed.
 */
CFUT_API const struct cfut_waker *cfut_waker_noop(void);

/* ---------------------------------------------------------------------- */
/* Context                                                                 */
/* ---------------------------------------------------------------------- */

/* The cooperative budget a task gets for one poll (tokio uses 128 too). */
#define CFUT_BUDGET 128u

/*
 * What a poll receives: the waker to wake when the future can progress, and
 * the cooperative budget of the task being polled.
 */
struct cfut_context {
    /* public */
    const struct cfut_waker *waker; /* borrowed for the poll */
    /* private: do not touch */
    uint32_t *budget; /* the task's remaining budget; NULL: unlimited */
};

/*
 * Initialises 'cx' for a poll by hand with 'waker' and no budget.
 * Ownership: 'waker' is kept until 'cx' is no longer used.
 */
static inline void
cfut_context_init(struct cfut_context *cx, const struct cfut_waker *waker)
{
    cx->waker = waker;
    cx->budget = NULL;
}

/*
 * Returns a context that shares 'parent's budget but carries 'waker':
 * what a combinator passes to a child under its own sub-waker.
 */
static inline struct cfut_context
cfut_context_with_waker(const struct cfut_context *parent,
                        const struct cfut_waker *waker)
{
    struct cfut_context cx;
    cx.waker = waker;
    cx.budget = parent->budget;
    return cx;
}

/*
 * Spends one unit of the task's cooperative budget. A leaf future calls it
 * before doing work that is ready at once (a channel that always has a
 * message, a socket that is always readable).
 * Returns: true when the leaf may go on; false when the budget is spent: the
 *   waker has then been woken and the leaf must return CFUT_PENDING, so the
 *   task yields and the others get their turn.
 * Context: inside a poll.
 */
static inline bool
cfut_context_consume_budget(struct cfut_context *cx)
{
    if (cx->budget == NULL)
        return true;
    if (*cx->budget == 0) {
        cfut_waker_wake_by_ref(cx->waker);
        return false;
    }
    --*cx->budget;
    return true;
}

/* ---------------------------------------------------------------------- */
/* The future base and its vtable                                          */
/* ---------------------------------------------------------------------- */

struct cfut_future;

/* Polls 'self'; see THE CONTRACT above. */
typedef enum cfut_poll cfut_poll_fn(struct cfut_future *self,
                                    struct cfut_context *cx, void *out);
/* Releases what 'self' holds (not its own storage); called exactly once. */
typedef void cfut_drop_fn(struct cfut_future *self);
/* Returns the output size of this instance (for CFUT_OUTPUT_DYNAMIC). */
typedef size_t cfut_output_size_fn(const struct cfut_future *self);

/* An output size that depends on the instance: see 'output_size_of'. */
#define CFUT_OUTPUT_DYNAMIC ((size_t)-1)

/* What every future of one type shares. */
struct cfut_future_vtable {
    cfut_poll_fn *poll; /* required */
    cfut_drop_fn *drop; /* NULL when the future holds nothing to release */
    size_t output_size; /* bytes written to 'out' on READY */
    const char *name;   /* the type's name, for messages and traces */
    cfut_output_size_fn *output_size_of; /* only for CFUT_OUTPUT_DYNAMIC */
};

/* Flags in the base. */
#define CFUT_FUTURE_BOXED 0x1u /* storage came from cfut_future_box() */
#define CFUT_FUTURE_FUSED 0x2u /* may be polled after READY (cfut_fuse) */

/* Debug lifecycle states of a future (the base's 'dbg_state'). */
enum cfut_future_dbg_state {
    CFUT_DBG_FRESH = 0,  /* initialised, never polled: may still move */
    CFUT_DBG_POLLED = 1, /* polled at least once: pinned */
    CFUT_DBG_DONE = 2,   /* returned READY: must not be polled again */
    CFUT_DBG_DROPPED = 3 /* dropped: must not be used at all */
};

#define CFUT_MAGIC_LIVE 0xC0F0F00Du
#define CFUT_MAGIC_DEAD 0xDEADF00Du

/*
 * The base of every future: its first member, so that a future's address is
 * its base's address. Recover the concrete type with cfut_container_of().
 */
struct cfut_future {
    /* read-only */
    const struct cfut_future_vtable *vtable;
    /* private: do not touch */
    uint32_t flags; /* CFUT_FUTURE_* */
#if CFUT_DEBUG_CHECKS
    uint32_t dbg_magic;   /* CFUT_MAGIC_LIVE, or _DEAD once dropped */
    uint32_t dbg_state;   /* enum cfut_future_dbg_state */
    const void *dbg_addr; /* address at the first poll */
#endif
};

/*
 * Initialises the base of a future of type 'vtable'.
 * Ownership: 'vtable' is kept for the future's life (a static object).
 * Context: anywhere; the future is fresh and may be moved until polled.
 */
static inline void
cfut_future_init(struct cfut_future *f, const struct cfut_future_vtable *vt)
{
    f->vtable = vt;
    f->flags = 0;
#if CFUT_DEBUG_CHECKS
    f->dbg_magic = CFUT_MAGIC_LIVE;
    f->dbg_state = CFUT_DBG_FRESH;
    f->dbg_addr = NULL;
#endif
}

#if CFUT_DEBUG_CHECKS
/*
 * One poll in progress on this thread (debug builds): cfut_future_poll()
 * pushes it on a per-thread stack for the length of the call, so that a
 * check inside the poll (CFUT_ASYNC_RETURN's) knows which future owns
 * 'out'. Private: do not touch.
 */
struct cfut__poll_frame {
    struct cfut_future *f;
    void *out;
    struct cfut__poll_frame *up;
};

/* The debug checks before a poll: they also push 'fr'. */
CFUT_API void cfut__future_poll_enter(struct cfut__poll_frame *fr,
                                      struct cfut_future *f, void *out);
/* After the poll: pops 'fr' and records a READY result. */
CFUT_API void cfut__future_poll_leave(struct cfut__poll_frame *fr,
                                      enum cfut_poll r);
/*
 * Aborts, naming the future and both sizes, when 'out' is the output
 * storage of the future being polled on this thread and 'size' (what
 * 'who' writes there) is not that future's output size.
 */
CFUT_API void cfut__future_check_output(const void *out, size_t size,
                                        const char *who, const char *file,
                                        int line);
#define CFUT__CHECK_OUTPUT(out, size, who)                                     \
    cfut__future_check_output((out), (size), (who), __FILE__, __LINE__)
#else
#define CFUT__CHECK_OUTPUT(out, size, who) ((void)0)
#endif

/* The debug check behind cfut_future_drop(). */
CFUT_API void cfut__future_check_drop(struct cfut_future *f);

/*
 * Polls 'f' once (see THE CONTRACT). Debug builds abort with a message
 * naming the future's type if 'f' was moved since its first poll, already
 * returned READY, or was dropped, or if 'out' is NULL while its output
 * size is > 0.
 * Ownership: 'f' is borrowed and pinned from now on; 'cx' is borrowed;
 *   'out' receives the output on READY: room for cfut_future_output_size()
 *   bytes, or NULL when that size is 0.
 * Context: the thread that owns 'f'.
 * Pinned: 'f' is pinned from its first poll until drop.
 */
static inline enum cfut_poll
cfut_future_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
#if CFUT_DEBUG_CHECKS
    struct cfut__poll_frame fr;
    cfut__future_poll_enter(&fr, f, out);
    enum cfut_poll r = f->vtable->poll(f, cx, out);
    cfut__future_poll_leave(&fr, r);
    return r;
#else
    return f->vtable->poll(f, cx, out);
#endif
}

/*
 * Drops 'f': releases what it holds and, when it was boxed, frees its
 * storage. Dropping a pending future cancels it.
 * Ownership: 'f' is taken; it must not be used afterwards.
 * Context: the thread that owns 'f'; exactly once per future.
 */
static inline void
cfut_future_drop(struct cfut_future *f)
{
#if CFUT_DEBUG_CHECKS
    cfut__future_check_drop(f);
#endif
    uint32_t flags = f->flags;
    if (f->vtable->drop != NULL)
        f->vtable->drop(f);
#if CFUT_DEBUG_CHECKS
    f->dbg_magic = CFUT_MAGIC_DEAD;
    f->dbg_state = CFUT_DBG_DROPPED;
#endif
    if (flags & CFUT_FUTURE_BOXED)
        cfut_free(f);
}

/*
 * Returns the number of bytes 'f' writes to 'out' when READY.
 * Context: anywhere.
 */
static inline size_t
cfut_future_output_size(const struct cfut_future *f)
{
    size_t n = f->vtable->output_size;
    if (n == CFUT_OUTPUT_DYNAMIC)
        n = f->vtable->output_size_of(f);
    return n;
}

/* Returns the type name of 'f' (never NULL). */
static inline const char *
cfut_future_name(const struct cfut_future *f)
{
    return f->vtable->name != NULL ? f->vtable->name : "future";
}

/*
 * Moves the fresh future 'fresh' ('size' bytes) into a new heap block, like
 * Rust's Box::pin: the boxed copy is pinned there, and cfut_future_drop()
 * frees it.
 * Ownership: 'fresh' is taken (its bytes are moved; do not drop or use the
 *   original); '*out' receives the boxed future, owned by the caller.
 * Returns: 0; CFUT_EINVAL if 'fresh' was already polled or 'size' is smaller
 *   than the base (the original is then left untouched); CFUT_ENOMEM when
 *   allocation fails ('fresh' is then left to the caller, still fresh).
 * Context: anywhere, any thread.
 */
CFUT_API int cfut_future_box(struct cfut_future *fresh, size_t size,
                             struct cfut_future **out);

#ifdef __cplusplus
}
#endif

#endif /* CFUT_FUTURE_H */
