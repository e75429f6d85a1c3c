/*
 * cfut_coro.h: async/await for C: stackless coroutine macros that turn the
 * body of a poll function into the state machine a hand-written future
 * would be, resuming where it last returned PENDING.
 *
 * Single-threaded: a coroutine is a future, polled on one thread at a time.
 * Lifetime: its state lives in the future's struct, pinned from the first
 * poll until drop. (cfut_async.h declares such a future in three lines and
 * generates its struct, poll, drop, vtable, init and spawn helper.)
 *
 * GROUND RULES
 *   1. Locals do not survive an await: the function returns at each
 *      CFUT_AWAIT and is re-entered later. Everything that must live across
 *      an await is a field of the future's struct (self->i, not int i).
 *   2. One await per line: the line number is the resume point (two awaits
 *      on one line give a duplicate-case compile error).
 *   3. In the switch variant (the default), no await inside a 'switch' of
 *      your own within the body: its case labels would capture the resume
 *      point. Use if/else there, or the computed-goto variant.
 *   4. An awaited child is a future the coroutine owns, embedded in its
 *      struct (or boxed and pointed to from it), initialised just before the
 *      await. CFUT_AWAIT drops the child when it is READY; if the coroutine
 *      is dropped while suspended, cfut_coro_drop() drops the child.
 *   5. The child's output goes to the await's 'out', which has room for
 *      the child's output size; out = NULL means "discard the output": the
 *      await path then gives the child storage of its own (up to
 *      CFUT_AWAIT_DISCARD_MAX bytes; a larger output aborts with the
 *      child's name and both sizes, in every build). A discarded output is
 *      never read, so one that owns memory (a response buffer) leaks: give
 *      it storage and release it instead.
 *   6. End the body with CFUT_ASYNC_RETURN (a value) or CFUT_ASYNC_END (no
 *      output); the coroutine is then finished and must not be polled again.
 *      CFUT_ASYNC_RETURN writes sizeof(type) bytes: that must be the output
 *      size of the future's vtable (debug builds abort at the return with
 *      the future's name and both sizes when it is not).
 *
 * USE
 *     struct sum { struct cfut_future base; struct cfut_coro co;
 *                  int i; uint64_t total, v; struct child ch; };
 *
 *     static enum cfut_poll
 *     sum_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
 *     {
 *         struct sum *self = cfut_container_of(f, struct sum, base);
 *         CFUT_ASYNC_BEGIN(&self->co);
 *         for (self->i = 0; self->i < 3; self->i++) {
 *             child_init(&self->ch, self->i);
 *             CFUT_AWAIT(&self->co, cx, &self->ch.base, &self->v);
 *             self->total += self->v;
 *         }
 *         CFUT_ASYNC_RETURN(&self->co, out, uint64_t, self->total);
 *         CFUT_ASYNC_END(&self->co);
 *     }
 *     static void sum_drop(struct cfut_future *f)
 *     { cfut_coro_drop(&cfut_container_of(f, struct sum, base)->co); }
 *
 * Define CFUT_CORO_GOTO to 1 before including this header to use the
 * computed-goto variant (GCC and Clang): rule 3 then does not apply, and a
 * resume is one indirect jump instead of a switch.
 */
#ifndef CFUT_CORO_H
#define CFUT_CORO_H

#include "cfut_future.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifndef CFUT_CORO_GOTO
#define CFUT_CORO_GOTO 0
#endif

/* The resume state of a coroutine: embed one in the future's struct. */
struct cfut_coro {
    /* read-only */
    const char *file; /* where it is suspended (for task dumps) */
    int line;         /* 0: not started; -1: finished */
    /* private: do not touch */
    void *label;               /* resume label (computed-goto variant) */
    struct cfut_future *child; /* the child being awaited, if any */
};

/* A coroutine state that has not started. */
/* clang-format off */
#define CFUT_CORO_INIT {NULL, 0, NULL, NULL}
/* clang-format on */

/* Resets 'co' to the not-started state (in the future's init function). */
static inline void
cfut_coro_init(struct cfut_coro *co)
{
    co->file = NULL;
    co->line = 0;
    co->label = NULL;
    co->child = NULL;
}

/*
 * Drops the child 'co' is suspended on, if any: call it from the
 * coroutine's drop function (dropping a coroutine mid-await cancels it).
 */
static inline void
cfut_coro_drop(struct cfut_coro *co)
{
    if (co->child != NULL) {
        struct cfut_future *c = co->child;
        co->child = NULL;
        cfut_future_drop(c);
    }
}

/* Aborts with a message: the coroutine state is corrupt or finished. */
CFUT_API void cfut__coro_bad_state(const struct cfut_coro *co);

/*
 * The most output bytes an await with out = NULL can discard (rule 5).
 */
#define CFUT_AWAIT_DISCARD_MAX 256u

/*
 * Returns this thread's discard storage for the output of 'child', awaited
 * with out = NULL; aborts with the child's name and sizes when its output
 * is larger than CFUT_AWAIT_DISCARD_MAX. Context: inside a poll.
 */
CFUT_API void *cfut__await_discard(const struct cfut_future *child);

/* The 'out' an await passes to its child: 'out', or discard storage. */
static inline void *
cfut__await_out(const struct cfut_future *child, void *out)
{
    return out != NULL ? out : cfut__await_discard(child);
}

/*
 * The suspension hook. Nonzero while someone wants to know where
 * coroutines suspend: always in debug builds (the executor's task dump
 * shows it), and while a trace runs (cfut_trace.h). The hook lets the
 * executor find the innermost await a task is suspended at without knowing
 * the layout of its future. Written only while no coroutine runs on another
 * thread (at startup, or by cfut_trace_start()/cfut_trace_stop()).
 */
CFUT_API extern int cfut__coro_watch;

/*
 * Records that 'co' is suspending at its 'file':'line' on this thread; the
 * first record since cfut__coro_take_note() wins, which is the innermost
 * coroutine (it returns PENDING first). Context: inside a poll.
 */
CFUT_API void cfut__coro_note(const struct cfut_coro *co);

/*
 * The macro tables below are laid out by hand (one statement per line,
 * continuation backslashes aligned): clang-format would fold the _Pragma
 * lines into the statements around them.
 */
/* clang-format off */

/* Calls cfut__coro_note() when the hook is on (one branch when it is off). */
#define CFUT__CORO_NOTE(co_)                                                   \
    (cfut__coro_watch ? cfut__coro_note(co_) : (void)0)

#define CFUT__CORO_CAT2(a, b) a##b
#define CFUT__CORO_CAT(a, b) CFUT__CORO_CAT2(a, b)

/* Polls 'child_' once and handles the two outcomes (internal). */
#define CFUT__CORO_POLL_CHILD(co_, cx_, child_, out_)                          \
    do {                                                                       \
        struct cfut_future *cfut__c = (child_);                                \
        if (cfut_future_poll(cfut__c, (cx_),                                   \
                             cfut__await_out(cfut__c, (out_))) ==              \
            CFUT_PENDING) {                                                    \
            (co_)->child = cfut__c;                                            \
            CFUT__CORO_NOTE(co_);                                              \
            return CFUT_PENDING;                                               \
        }                                                                      \
        (co_)->child = NULL;                                                   \
        cfut_future_drop(cfut__c);                                             \
    } while (0)

#if !CFUT_CORO_GOTO

/* Opens the coroutine body: resumes at the last await, or starts. */
#define CFUT_ASYNC_BEGIN(co_)                                                  \
    switch ((co_)->line) {                                                     \
    default:                                                                   \
        cfut__coro_bad_state(co_);                                             \
        return CFUT_PENDING;                                                   \
    case 0:

/*
 * CFUT_AWAIT(co_, cx_, child_, out_) awaits 'child_': polls it, returns
 * PENDING from the poll function while it is pending, and resumes here
 * when woken; on READY the child's output is in 'out_' (or discarded when
 * 'out_' is NULL: rule 5) and the child has been dropped.
 */
#define CFUT__AWAIT_4(co_, cx_, child_, out_)                                  \
    do {                                                                       \
        (co_)->line = __LINE__;                                                \
        (co_)->file = __FILE__;                                                \
        /* fallthrough */                                                      \
    case __LINE__:                                                             \
        CFUT__CORO_POLL_CHILD(co_, cx_, child_, out_);                         \
    } while (0)

/*
 * CFUT_YIELD(co_, cx_) suspends until the next poll: wakes the task at
 * once and returns PENDING, so that other tasks run first.
 */
#define CFUT__YIELD_2(co_, cx_)                                                \
    do {                                                                       \
        (co_)->line = __LINE__;                                                \
        (co_)->file = __FILE__;                                                \
        cfut_waker_wake_by_ref((cx_)->waker);                                  \
        CFUT__CORO_NOTE(co_);                                                  \
        return CFUT_PENDING;                                                   \
    case __LINE__:;                                                            \
    } while (0)

/* Closes the body: falling off the end finishes with no output. */
#define CFUT_ASYNC_END(co_)                                                    \
    (co_)->line = -1;                                                          \
    return CFUT_READY;                                                         \
    }

#else /* CFUT_CORO_GOTO */

/* Pedantic C has no computed goto: these spots silence that warning. */
#define CFUT__CORO_PEDANTIC_OFF                                                \
    _Pragma("GCC diagnostic push")                                             \
    _Pragma("GCC diagnostic ignored \"-Wpedantic\"")
#define CFUT__CORO_PEDANTIC_ON _Pragma("GCC diagnostic pop")

#define CFUT__CORO_LABEL CFUT__CORO_CAT(cfut__resume_, __LINE__)

/* (The label taken at the start lets a body without awaits compile:
 * clang refuses an indirect goto in a function that takes no label.) */
#define CFUT_ASYNC_BEGIN(co_)                                                  \
    CFUT__CORO_PEDANTIC_OFF                                                    \
    if ((co_)->line < 0) {                                                     \
        cfut__coro_bad_state(co_);                                             \
        return CFUT_PENDING;                                                   \
    }                                                                          \
    if ((co_)->label != NULL)                                                  \
        goto *(co_)->label;                                                    \
    (void)&&cfut__coro_start;                                                  \
    CFUT__CORO_PEDANTIC_ON                                                     \
    cfut__coro_start: {

#define CFUT__AWAIT_4(co_, cx_, child_, out_)                                  \
    do {                                                                       \
        CFUT__CORO_PEDANTIC_OFF                                                \
        (co_)->label = &&CFUT__CORO_LABEL;                                     \
        CFUT__CORO_PEDANTIC_ON                                                 \
        (co_)->line = __LINE__;                                                \
        (co_)->file = __FILE__;                                                \
    CFUT__CORO_LABEL:                                                          \
        CFUT__CORO_POLL_CHILD(co_, cx_, child_, out_);                         \
    } while (0)

#define CFUT__YIELD_2(co_, cx_)                                                \
    do {                                                                       \
        CFUT__CORO_PEDANTIC_OFF                                                \
        (co_)->label = &&CFUT__CORO_LABEL;                                     \
        CFUT__CORO_PEDANTIC_ON                                                 \
        (co_)->line = __LINE__;                                                \
        (co_)->file = __FILE__;                                                \
        cfut_waker_wake_by_ref((cx_)->waker);                                  \
        CFUT__CORO_NOTE(co_);                                                  \
        return CFUT_PENDING;                                                   \
    CFUT__CORO_LABEL:;                                                         \
    } while (0)

#define CFUT_ASYNC_END(co_)                                                    \
    (co_)->line = -1;                                                          \
    (co_)->label = NULL;                                                       \
    return CFUT_READY;                                                         \
    }

#endif /* CFUT_CORO_GOTO */

/*
 * CFUT_AWAIT and CFUT_YIELD pick their form by their number of arguments:
 * CFUT_AWAIT(co, cx, child, out) and CFUT_YIELD(co, cx) above; inside an
 * async function (cfut_async.h) the short forms CFUT_AWAIT(fut),
 * CFUT_AWAIT(fut, dst) and CFUT_YIELD() need no coroutine or context.
 */
#define CFUT_AWAIT(...)                                                        \
    CFUT__CORO_CAT(CFUT__AWAIT_, CFUT__CORO_NARG(__VA_ARGS__))(__VA_ARGS__)
#define CFUT_YIELD(...)                                                        \
    CFUT__CORO_CAT(CFUT__YIELD_, CFUT__CORO_NARG(__VA_ARGS__))(__VA_ARGS__)
#define CFUT__CORO_NARG(...) CFUT__CORO_NARG_(__VA_ARGS__, 5, 4, 3, 2, 1, ~)
#define CFUT__CORO_NARG_(a_, b_, c_, d_, e_, n_, ...) n_

/*
 * Finishes the coroutine with output 'value_' of type 'type_' written to
 * 'out_' (the poll function's 'out'). Debug builds first check that
 * sizeof(type_) is the output size of the future being polled with 'out_'
 * (rule 6).
 */
#define CFUT_ASYNC_RETURN(co_, out_, type_, value_)                            \
    do {                                                                       \
        CFUT__CHECK_OUTPUT((out_), sizeof(type_), "CFUT_ASYNC_RETURN");        \
        *(type_ *)(out_) = (value_);                                           \
        (co_)->line = -1;                                                      \
        return CFUT_READY;                                                     \
    } while (0)

/* Finishes the coroutine with no output. */
#define CFUT_ASYNC_RETURN_VOID(co_)                                            \
    do {                                                                       \
        (co_)->line = -1;                                                      \
        return CFUT_READY;                                                     \
    } while (0)

/* clang-format on */

#ifdef __cplusplus
}
#endif

#endif /* CFUT_CORO_H */
