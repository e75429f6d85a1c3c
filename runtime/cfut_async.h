/*
 * cfut_async.h: async functions: a coroutine task declared in three lines
 * (its name, output type, arguments and the state it keeps across awaits),
 * with its struct, poll and drop functions, vtable, init function and spawn
 * helper generated. The body is straight-line code over cfut_coro.h's
 * macros, with no coroutine, context or output arguments to pass around.
 *
 * Threading: an async function is a future: polled and dropped on one
 * thread at a time (its task's executor thread). Lifetime: its arguments
 * and state live in the future's struct, zeroed by its init function and
 * pinned from the first poll until drop; the drop function (generated)
 * drops the child it is suspended on, then runs the function's drop hook
 * (CFUT_ASYNC_DROP), exactly once, whether it finished, was cancelled or
 * was never polled. C only (not C++): see docs/async.md for the design.
 *
 * USE
 *     CFUT_ASYNC_FN(ticker, int, ((int, n), (const char *, label)),
 *                   struct cfut_sleep nap;
 *                   int i;)
 *     {
 *         CFUT_BEGIN();
 *         for (self->i = 0; self->i < self->n; self->i++) {
 *             cfut_sleep_init(&self->nap, CFUT_MSEC(10));
 *             CFUT_AWAIT(&self->nap);
 *             printf("%s %d\n", self->label, self->i);
 *         }
 *         CFUT_RETURN(self->i * 10);
 *         CFUT_END();
 *     }
 *
 *     ticker_spawn(ex, &h, 3, "tick");  (or NULL for ex: the running one)
 *
 * GROUND RULES (those of cfut_coro.h; docs/async.md says why)
 *   1. Locals do not survive an await: the body returns at each await and
 *      is re-entered later with a fresh stack frame. What must live across
 *      an await is a field of the state (self->i, not int i): declare it in
 *      CFUT_ASYNC_FN's state list. A local's scope must end before the next
 *      await. Inside the body the macros turn on GCC's -Wjump-misses-init
 *      (switch variant: an await jumps over a local's initialisation) and
 *      clang's -Wconditional-uninitialized (a local read after an await),
 *      as warnings (a pragma's warning stays one under -Werror).
 *   2. A child future you await lives in the state too, initialised just
 *      before the await (debug builds abort when a child is a local).
 *   3. One await per line; in the switch variant (the default) no await
 *      inside a 'switch' of your own (use if/else, or CFUT_CORO_GOTO).
 *   4. The body opens with CFUT_BEGIN() and closes with CFUT_END(); it
 *      finishes with CFUT_RETURN(value), or with CFUT_RETURN() or by
 *      reaching CFUT_END() when the output type is void.
 */
#ifndef CFUT_ASYNC_H
#define CFUT_ASYNC_H

#include <stddef.h>
#include <string.h>

#include "cfut_coro.h"
#include "cfut_executor.h"
#include "cfut_future.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------- */
/* Out-of-line checks (private: called by the macros below)                */
/* ---------------------------------------------------------------------- */

/*
 * Aborts, naming the async function 'self', the child, 'file':'line' and
 * both sizes, unless the output size of 'child' is 'dst_size' (the fast
 * path, a compare with the vtable's static size, is inline).
 * Context: inside the poll of 'self'.
 */
CFUT_API void cfut__async_check_output(const struct cfut_future *self,
                                       const struct cfut_future *child,
                                       size_t dst_size, const char *file,
                                       int line);

/*
 * Aborts when 'child' lies in the stack frame of the async function
 * 'self', between this call's own frame and 'frame' (a local of the poll
 * function that called the body): a child that is a local does not
 * survive the await. Debug builds only. Context: inside the poll of 'self'.
 */
CFUT_API void cfut__async_check_frame(const struct cfut_future *self,
                                      const struct cfut_future *child,
                                      const void *frame, const char *file,
                                      int line);

/*
 * Aborts: the async function 'self' with a non-void output reached
 * CFUT_END() at 'file':'line' without CFUT_RETURN(value).
 */
CFUT_API void cfut__async_no_return(const struct cfut_future *self,
                                    const char *file, int line)
#if defined(__GNUC__)
    __attribute__((noreturn))
#endif
    ;

/* clang-format off */

/* ---------------------------------------------------------------------- */
/* Preprocessor tools (private)                                            */
/* ---------------------------------------------------------------------- */

#define CFUT__PP_CAT(a, b) CFUT__PP_CAT_(a, b)
#define CFUT__PP_CAT_(a, b) a##b
#define CFUT__PP_CAT5(a, b, c, d, e) a##b##c##d##e
#define CFUT__PP_EXPAND(...) __VA_ARGS__
#define CFUT__PP_NOTHING(...)
#define CFUT__PP_SECOND(a, b, ...) b
#define CFUT__PP_HEAD(...) CFUT__PP_HEAD_(__VA_ARGS__, ~)
#define CFUT__PP_HEAD_(a, ...) a
#define CFUT__PP_IF(c, t, f) CFUT__PP_CAT(CFUT__PP_IF_, c)(t, f)
#define CFUT__PP_IF_0(t, f) f
#define CFUT__PP_IF_1(t, f) t

/* The 33rd argument: the count of up to 32 arguments, and friends. */
#define CFUT__PP_ARG33(_1, _2, _3, _4, _5, _6, _7, _8, _9, _10, _11, _12,     \
                       _13, _14, _15, _16, _17, _18, _19, _20, _21, _22, _23, \
                       _24, _25, _26, _27, _28, _29, _30, _31, _32, n, ...) n
#define CFUT__PP_NARG(...)                                                     \
    CFUT__PP_ARG33(__VA_ARGS__, 32, 31, 30, 29, 28, 27, 26, 25, 24, 23, 22,   \
                   21, 20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, \
                   5, 4, 3, 2, 1, ~)
#define CFUT__PP_HAS_COMMA(...)                                                \
    CFUT__PP_ARG33(__VA_ARGS__, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,  \
                   1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, ~)
/* 1 for 3 arguments, 0 for more (CFUT_ASYNC_FN without or with state). */
#define CFUT__PP_MORE_THAN_3(...)                                              \
    CFUT__PP_ARG33(__VA_ARGS__, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,  \
                   1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, ~)

/* 1 when the arguments are empty (Jens Gustedt's four-probe test). */
#define CFUT__PP_TRIGGER(...) ,
#define CFUT__PP_IS_EMPTY(...)                                                 \
    CFUT__PP_IS_EMPTY_(CFUT__PP_HAS_COMMA(__VA_ARGS__),                        \
                       CFUT__PP_HAS_COMMA(CFUT__PP_TRIGGER __VA_ARGS__),       \
                       CFUT__PP_HAS_COMMA(__VA_ARGS__ ()),                     \
                       CFUT__PP_HAS_COMMA(CFUT__PP_TRIGGER __VA_ARGS__ ()))
#define CFUT__PP_IS_EMPTY_(a, b, c, d)                                         \
    CFUT__PP_HAS_COMMA(CFUT__PP_CAT5(CFUT__PP_EMPTY_CASE_, a, b, c, d))
#define CFUT__PP_EMPTY_CASE_0001 ,

/* 1 when the first argument starts with a parenthesis. */
#define CFUT__PP_IS_PAREN(...)                                                 \
    CFUT__PP_IS_PAREN_(CFUT__PP_HEAD(__VA_ARGS__))
#define CFUT__PP_IS_PAREN_(x) CFUT__PP_PROBE(CFUT__PP_PAREN_PROBE x)
#define CFUT__PP_PAREN_PROBE(...) ~, 1
#define CFUT__PP_PROBE(...) CFUT__PP_SECOND(__VA_ARGS__, 0, ~)

/* 1 when the tokens are exactly 'void' or nothing ('void *' is not). */
#define CFUT__PP_IS_VOID(...) CFUT__PP_IS_EMPTY(CFUT__PP_VOIDCHK(__VA_ARGS__))
#define CFUT__PP_VOIDCHK(...) CFUT__PP_VOIDCHK_(__VA_ARGS__)
#define CFUT__PP_VOIDCHK_(...) CFUT__PP_VOID_##__VA_ARGS__
#define CFUT__PP_VOID_void
#define CFUT__PP_VOID_

/* Applies m to each parenthesised item: m (T, n) for each (T, n). */
#define CFUT__PP_MAP(m, ...)                                                   \
    CFUT__PP_CAT(CFUT__PP_MAP_, CFUT__PP_NARG(__VA_ARGS__))(m, __VA_ARGS__)
#define CFUT__PP_MAP_1(m, a) m a
#define CFUT__PP_MAP_2(m, a, ...) m a CFUT__PP_MAP_1(m, __VA_ARGS__)
#define CFUT__PP_MAP_3(m, a, ...) m a CFUT__PP_MAP_2(m, __VA_ARGS__)
#define CFUT__PP_MAP_4(m, a, ...) m a CFUT__PP_MAP_3(m, __VA_ARGS__)
#define CFUT__PP_MAP_5(m, a, ...) m a CFUT__PP_MAP_4(m, __VA_ARGS__)
#define CFUT__PP_MAP_6(m, a, ...) m a CFUT__PP_MAP_5(m, __VA_ARGS__)
#define CFUT__PP_MAP_7(m, a, ...) m a CFUT__PP_MAP_6(m, __VA_ARGS__)
#define CFUT__PP_MAP_8(m, a, ...) m a CFUT__PP_MAP_7(m, __VA_ARGS__)
#define CFUT__PP_MAP_9(m, a, ...) m a CFUT__PP_MAP_8(m, __VA_ARGS__)
#define CFUT__PP_MAP_10(m, a, ...) m a CFUT__PP_MAP_9(m, __VA_ARGS__)
#define CFUT__PP_MAP_11(m, a, ...) m a CFUT__PP_MAP_10(m, __VA_ARGS__)
#define CFUT__PP_MAP_12(m, a, ...) m a CFUT__PP_MAP_11(m, __VA_ARGS__)

/* ---------------------------------------------------------------------- */
/* Declaring an async function                                             */
/* ---------------------------------------------------------------------- */

/*
 * Declares the async function 'name' with output type 'T', the arguments
 * 'params' and the state fields that follow, and opens the definition of
 * its body, which follows the macro as a block:
 *
 *     CFUT_ASYNC_FN(name, T, ((type, arg), ...), field; field; ...)
 *     {
 *         CFUT_BEGIN();
 *         ...
 *         CFUT_END();
 *     }
 *
 * 'T' is the output type: any object type, or 'void' for none (spelled
 * 'void': 'void *' is an output of pointer type). A type that C cannot
 * write as 'T name' (an array, a function pointer) needs a typedef.
 * 'params' is '()' or '(void)' for no arguments, else up to 12 pairs
 * '((type, name), ...)' (the same typedef rule). The rest, which may be
 * left out, is the state: member declarations ('int i; char *buf;') for
 * what the body keeps across awaits, child futures included.
 *
 * It generates, all 'static' in this translation unit:
 *   struct name   { struct cfut_future base; struct cfut_coro co;
 *                   the arguments as fields; the state fields; }
 *                 'base' is the future (pass &f->base where a
 *                 struct cfut_future * is wanted); 'co' is read-only (where
 *                 it is suspended; co.line is -1 once it finished).
 *   name_poll, name_drop, name_vtable   the future (output size sizeof(T),
 *                 or 0 for void; the vtable's name is "name").
 *   void name_init(struct name *f, args...)
 *       Initialises 'f': zeroes the whole struct, then stores the
 *       arguments in their fields. The future is fresh (it may be moved
 *       until its first poll) and must be dropped (cfut_future_drop()),
 *       which runs the drop hook even if it was never polled.
 *       Ownership: 'f' is borrowed (the future lives in it); the arguments
 *       are copied into 'f': a pointer argument is kept (what it points to
 *       must outlive the future), and what an argument owns belongs to the
 *       future from now on (release it in CFUT_ASYNC_DROP).
 *       Context: anywhere.
 *   int name_spawn(struct cfut_executor *ex, struct cfut_join_handle *h,
 *                  args...)
 *       Spawns a new task running 'name' with the arguments (cfut_spawn()).
 *       'ex' NULL means the executor running on this thread.
 *       Ownership: 'ex' is borrowed; 'h' receives the join handle on
 *       success (output CFUT_JOIN_OUTPUT(T), or struct cfut_join_status
 *       for void), or is NULL to detach the task; on success the arguments
 *       belong to the task; on failure nothing was run or dropped and the
 *       arguments stay the caller's.
 *       Returns: 0; CFUT_EINVAL when 'ex' is NULL and no executor runs on
 *       this thread; CFUT_ENOMEM when the task cannot be allocated.
 *       Context: the executor's thread, inside or outside a task.
 *
 * In the body: 'self' (struct name *) reaches the arguments and state,
 * 'cx' is the poll's context, 'out' (T *) the output storage (written by
 * CFUT_RETURN); the warnings of ground rule 1 are on between CFUT_BEGIN()
 * and CFUT_END(). Malformed parameters (C-style '(int n)', more than 12)
 * stop the compilation with a message naming the function.
 * Pinned: a future of type 'name' is pinned from its first poll until drop.
 */
#define CFUT_ASYNC_FN(...)                                                     \
    CFUT__PP_CAT(CFUT__ASYNC_FN_, CFUT__PP_MORE_THAN_3(__VA_ARGS__))(__VA_ARGS__)
#define CFUT__ASYNC_FN_0(name, T, params) CFUT__ASYNC_FN(name, T, params, ())
#define CFUT__ASYNC_FN_1(name, T, params, ...)                                 \
    CFUT__ASYNC_FN(name, T, params, (__VA_ARGS__))

/*
 * Defines the drop hook of the async function 'name' (declared above it
 * with CFUT_ASYNC_FN), followed by its body as a block in which 'self' is
 * the struct name *: what a function uses to release what its arguments
 * and state own (a stream, a buffer, a channel half). The generated drop
 * runs it exactly once, after dropping the child the function is
 * suspended on, whether the function finished, was cancelled or was never
 * polled; the state starts zeroed, so the hook can tell what was acquired
 * (a NULL buffer, a zero fd flag) and self->co.line is -1 when the
 * function finished. At most one hook per async function (a second one
 * is a redefinition error); without one the drop only drops the child.
 * Context: inside cfut_future_drop(): it must not poll or await.
 */
#define CFUT_ASYNC_DROP(name)                                                  \
    static void name##__drop_fn(struct name *self);                            \
    static void (*const name##__drop_hook)(struct name *) = name##__drop_fn;   \
    static void name##__drop_fn(struct name *self)

/* The parameters: '()' or '(void)' (no items), or '((T, n), ...)'. */
#define CFUT__ASYNC_HAS_PARAMS(params) CFUT__PP_IS_PAREN(CFUT__PP_EXPAND params)
#define CFUT__ASYNC_EACH_PARAM(m, params)                                      \
    CFUT__PP_IF(CFUT__ASYNC_HAS_PARAMS(params), CFUT__PP_MAP,                  \
                CFUT__PP_NOTHING)(m, CFUT__PP_EXPAND params)
#define CFUT__ASYNC_PARAMS_OK(params)                                          \
    CFUT__PP_IF(CFUT__ASYNC_HAS_PARAMS(params), CFUT__ASYNC_ONE,               \
                CFUT__PP_IS_VOID)(CFUT__PP_EXPAND params)
#define CFUT__ASYNC_ONE(...) 1
#define CFUT__ASYNC_FIELD(T, n) T n;
#define CFUT__ASYNC_PARAM(T, n) , T n
#define CFUT__ASYNC_ARG(T, n) , n
#define CFUT__ASYNC_SET(T, n) cfut__f->n = n;
#define CFUT__ASYNC_OUTPUT_SIZE(T)                                             \
    CFUT__PP_IF(CFUT__PP_IS_VOID(T), 0, sizeof(T))

/*
 * Debug builds pass the body the address of a local of its poll function,
 * so that an await can tell a child in the body's own stack frame (a
 * local) from one in the state; the body is then never inlined.
 */
#if CFUT_DEBUG_CHECKS
#define CFUT__ASYNC_FRAME_PARAM , const char *cfut__frame
#define CFUT__ASYNC_FRAME_MARK char cfut__mark = 0;
#define CFUT__ASYNC_FRAME_ARG , &cfut__mark
#define CFUT__ASYNC_FRAME_USE (void)cfut__frame;
#define CFUT__ASYNC_CHECK_FRAME(child_)                                        \
    cfut__async_check_frame(&self->base, (child_), cfut__frame, __FILE__,      \
                            __LINE__)
#if defined(__GNUC__)
#define CFUT__ASYNC_BODY_ATTR __attribute__((noinline))
#else
#define CFUT__ASYNC_BODY_ATTR
#endif
#else
#define CFUT__ASYNC_FRAME_PARAM
#define CFUT__ASYNC_FRAME_MARK
#define CFUT__ASYNC_FRAME_ARG
#define CFUT__ASYNC_FRAME_USE
#define CFUT__ASYNC_CHECK_FRAME(child_) ((void)0)
#define CFUT__ASYNC_BODY_ATTR
#endif

/* clang warns about unused static inline functions in a .c file. */
#if defined(__GNUC__)
#define CFUT__ASYNC_UNUSED __attribute__((unused))
#else
#define CFUT__ASYNC_UNUSED
#endif

#define CFUT__ASYNC_FN(name, T, params, state)                                 \
    _Static_assert(CFUT__ASYNC_PARAMS_OK(params),                              \
                   "CFUT_ASYNC_FN(" #name "): write the parameters as "        \
                   "((type, name), ...), or () or (void) for none");           \
    _Static_assert(CFUT__PP_NARG(CFUT__PP_EXPAND params) <= 12,                \
                   "CFUT_ASYNC_FN(" #name "): at most 12 parameters");         \
    struct name {                                                              \
        /* public */                                                           \
        struct cfut_future base;                                               \
        /* read-only */                                                        \
        struct cfut_coro co;                                                   \
        /* the arguments, then the state */                                    \
        CFUT__ASYNC_EACH_PARAM(CFUT__ASYNC_FIELD, params)                      \
        CFUT__PP_EXPAND state                                                  \
    };                                                                         \
    static void (*const name##__drop_hook)(struct name *);                     \
    CFUT__ASYNC_BODY_ATTR static enum cfut_poll name##__body(                  \
        struct name *self, struct cfut_context *cx,                            \
        T *out CFUT__ASYNC_FRAME_PARAM);                                       \
    static enum cfut_poll name##_poll(struct cfut_future *cfut__f,             \
                                      struct cfut_context *cx, void *out)      \
    {                                                                          \
        CFUT__ASYNC_FRAME_MARK                                                 \
        return name##__body(cfut_container_of(cfut__f, struct name, base),     \
                            cx, (T *)out CFUT__ASYNC_FRAME_ARG);               \
    }                                                                          \
    static void name##_drop(struct cfut_future *cfut__f)                       \
    {                                                                          \
        struct name *self = cfut_container_of(cfut__f, struct name, base);     \
        cfut_coro_drop(&self->co);                                             \
        if (name##__drop_hook != NULL)                                         \
            name##__drop_hook(self);                                           \
    }                                                                          \
    static const struct cfut_future_vtable name##_vtable = {                   \
        name##_poll, name##_drop, CFUT__ASYNC_OUTPUT_SIZE(T), #name, NULL};    \
    CFUT__ASYNC_UNUSED static inline void name##_init(                         \
        struct name *cfut__f CFUT__ASYNC_EACH_PARAM(CFUT__ASYNC_PARAM, params))\
    {                                                                          \
        memset(cfut__f, 0, sizeof *cfut__f);                                   \
        cfut_future_init(&cfut__f->base, &name##_vtable);                      \
        cfut_coro_init(&cfut__f->co);                                          \
        CFUT__ASYNC_EACH_PARAM(CFUT__ASYNC_SET, params)                        \
    }                                                                          \
    CFUT__ASYNC_UNUSED static inline int name##_spawn(                         \
        struct cfut_executor *cfut__ex,                                        \
        struct cfut_join_handle *cfut__h                                       \
            CFUT__ASYNC_EACH_PARAM(CFUT__ASYNC_PARAM, params))                 \
    {                                                                          \
        struct name cfut__f;                                                   \
        if (cfut__ex == NULL && (cfut__ex = cfut_executor_current()) == NULL)  \
            return CFUT_EINVAL;                                                \
        name##_init(&cfut__f CFUT__ASYNC_EACH_PARAM(CFUT__ASYNC_ARG, params)); \
        return cfut_spawn(cfut__ex, &cfut__f.base, sizeof cfut__f, cfut__h);   \
    }                                                                          \
    CFUT__ASYNC_BODY_ATTR static enum cfut_poll name##__body(                  \
        struct name *self, struct cfut_context *cx,                            \
        T *out CFUT__ASYNC_FRAME_PARAM)

/* ---------------------------------------------------------------------- */
/* The body                                                                */
/* ---------------------------------------------------------------------- */

/*
 * Locals read after an await (ground rule 1) are reported inside the body:
 * by clang's -Wconditional-uninitialized, and in the switch variant by
 * GCC's -Wjump-misses-init (an await jumps over the local's initialiser).
 */
#if defined(__clang__)
#define CFUT__ASYNC_WARN_PUSH                                                  \
    _Pragma("clang diagnostic push")                                           \
    _Pragma("clang diagnostic warning \"-Wconditional-uninitialized\"")
#define CFUT__ASYNC_WARN_POP _Pragma("clang diagnostic pop")
#elif defined(__GNUC__) && !CFUT_CORO_GOTO
#define CFUT__ASYNC_WARN_PUSH                                                  \
    _Pragma("GCC diagnostic push")                                             \
    _Pragma("GCC diagnostic warning \"-Wjump-misses-init\"")
#define CFUT__ASYNC_WARN_POP _Pragma("GCC diagnostic pop")
#else
#define CFUT__ASYNC_WARN_PUSH
#define CFUT__ASYNC_WARN_POP
#endif

/* 1 when the async function being defined has no output (T is void). */
#define CFUT__ASYNC_OUT_IS_VOID _Generic(out, void *: 1, default: 0)

/*
 * Opens the body of an async function: resumes at the last await, or
 * starts. Context: first statement of a CFUT_ASYNC_FN body.
 */
#define CFUT_BEGIN()                                                           \
    (void)cx;                                                                  \
    (void)out;                                                                 \
    CFUT__ASYNC_FRAME_USE                                                      \
    CFUT__ASYNC_WARN_PUSH                                                      \
    CFUT_ASYNC_BEGIN(&self->co)

/*
 * Closes the body. Reaching it finishes a function whose output type is
 * void; a function with an output must finish with CFUT_RETURN(value)
 * before it, and reaching it aborts (always on), naming the function and
 * the line. Context: last statement of a CFUT_ASYNC_FN body.
 */
#define CFUT_END()                                                             \
    if (!CFUT__ASYNC_OUT_IS_VOID)                                              \
        cfut__async_no_return(&self->base, __FILE__, __LINE__);                \
    CFUT_ASYNC_END(&self->co)                                                  \
    CFUT__ASYNC_WARN_POP

/*
 * CFUT_RETURN(value) finishes the async function with output 'value',
 * assigned to its T output as a C return statement would (the compiler
 * checks the type: a struct of another type, or a pointer for an integer,
 * does not compile). CFUT_RETURN() finishes a function whose output type
 * is void; either form in the wrong kind of function does not compile.
 * Context: inside a CFUT_ASYNC_FN body.
 */
#define CFUT_RETURN(...)                                                       \
    CFUT__PP_CAT(CFUT__ASYNC_RETURN_, CFUT__PP_IS_EMPTY(__VA_ARGS__))(__VA_ARGS__)
#define CFUT__ASYNC_RETURN_0(...)                                              \
    do {                                                                       \
        _Static_assert(!CFUT__ASYNC_OUT_IS_VOID,                               \
                       "CFUT_RETURN(value) in an async function whose output " \
                       "type is void: write CFUT_RETURN()");                   \
        *out = (__VA_ARGS__);                                                  \
        CFUT_ASYNC_RETURN_VOID(&self->co);                                     \
    } while (0)
#define CFUT__ASYNC_RETURN_1(...)                                              \
    do {                                                                       \
        _Static_assert(CFUT__ASYNC_OUT_IS_VOID,                                \
                       "CFUT_RETURN() without a value in an async function "   \
                       "whose output type is not void");                       \
        CFUT_ASYNC_RETURN_VOID(&self->co);                                     \
    } while (0)

/*
 * CFUT_AWAIT(fut) awaits the future 'fut' and discards its output;
 * CFUT_AWAIT(fut, dst) awaits it and stores its output in '*dst'.
 * 'fut' points to a future struct with a 'base' member (&self->nap, a
 * join handle, another async function's struct); for a plain
 * struct cfut_future * use CFUT_AWAIT_FUTURE. While 'fut' is pending the
 * body returns PENDING and resumes here when woken; once it is READY it has
 * been dropped and the body goes on. Dropping the async function while it
 * waits here drops 'fut' (cancellation).
 * Checks, always on, once per await (not per resume): sizeof *dst must be
 * the output size of 'fut', else it aborts naming the async function, the
 * child, file:line and both sizes (a wrong 'dst' cannot corrupt memory);
 * the comparison folds away when the compiler sees the child's vtable.
 * For a child whose output size is dynamic (a join handle, a join), which
 * counts the bytes it writes, *dst may be larger by the trailing padding
 * of its type: less than _Alignof(max_align_t), up to the next multiple
 * (CFUT_JOIN_OUTPUT(T) for a join handle). Debug builds also abort when
 * 'fut' is a local of the body (rule 2).
 * A discarded output goes to the await path's own storage (at most
 * CFUT_AWAIT_DISCARD_MAX bytes: a larger one aborts, naming the child) and
 * is never read: one that owns memory leaks (give it a destination and
 * release it). 'fut' and 'dst' are evaluated more than once.
 * Ownership: 'fut' is taken at the await: it is dropped once READY, or
 * when the async function is dropped while waiting on it, and must live
 * in the state until then; 'dst' is kept until the await finishes and is
 * written on READY.
 * Context: inside a CFUT_ASYNC_FN body, one await per line.
 */
#define CFUT__AWAIT_1(fut_) CFUT__ASYNC_AWAIT(&(fut_)->base, NULL)
#define CFUT__AWAIT_2(fut_, dst_)                                              \
    CFUT__ASYNC_AWAIT_INTO(&(fut_)->base, dst_)
#define CFUT__AWAIT_3(...)                                                     \
    _Static_assert(0, "CFUT_AWAIT takes (fut) or (fut, &dst) in an async "     \
                      "function, or (co, cx, child, out)")
#define CFUT__AWAIT_5(...) CFUT__AWAIT_3(~)

/*
 * CFUT_AWAIT_FUTURE(f) and CFUT_AWAIT_FUTURE(f, dst): CFUT_AWAIT for a
 * plain struct cfut_future * 'f' (a boxed future, a future taken from a
 * map), with the same checks and the same ownership.
 * Context: inside a CFUT_ASYNC_FN body, one await per line.
 */
#define CFUT_AWAIT_FUTURE(...)                                                 \
    CFUT__PP_CAT(CFUT__AWAIT_FUTURE_, CFUT__PP_NARG(__VA_ARGS__))(__VA_ARGS__)
#define CFUT__AWAIT_FUTURE_1(f_) CFUT__ASYNC_AWAIT(f_, NULL)
#define CFUT__AWAIT_FUTURE_2(f_, dst_) CFUT__ASYNC_AWAIT_INTO(f_, dst_)

#define CFUT__ASYNC_AWAIT(child_, dst_)                                        \
    do {                                                                       \
        CFUT__ASYNC_CHECK_FRAME(child_);                                       \
        CFUT__AWAIT_4(&self->co, cx, (child_), (dst_));                        \
    } while (0)
#define CFUT__ASYNC_AWAIT_INTO(child_, dst_)                                   \
    do {                                                                       \
        (child_)->vtable->output_size == sizeof *(dst_)                        \
            ? (void)0                                                          \
            : cfut__async_check_output(&self->base, (child_),                  \
                                       sizeof *(dst_), __FILE__, __LINE__);    \
        CFUT__ASYNC_AWAIT(child_, dst_);                                       \
    } while (0)

/*
 * CFUT_YIELD() suspends the async function until its next poll: it wakes
 * the task at once and returns PENDING, so that other tasks run first.
 * Context: inside a CFUT_ASYNC_FN body.
 */
#define CFUT__YIELD_1(...)                                                     \
    CFUT__PP_CAT(CFUT__ASYNC_YIELD_, CFUT__PP_IS_EMPTY(__VA_ARGS__))()
#define CFUT__ASYNC_YIELD_1() CFUT__YIELD_2(&self->co, cx)
#define CFUT__ASYNC_YIELD_0()                                                  \
    _Static_assert(0, "CFUT_YIELD takes () in an async function, or (co, cx)")

/* clang-format on */

#ifdef __cplusplus
}
#endif

#endif /* CFUT_ASYNC_H */
