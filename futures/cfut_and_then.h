/*
 * cfut_and_then.h: sequencing: a chain runs a first future, then a flat
 * list of continuation steps: and_then (build the next future from the
 * previous output), then / map (compute the next value directly) and
 * map_err (rewrite a negative status). Appending a step extends the chain
 * instead of nesting futures, so a chain of D links costs O(1) per link per
 * poll and no stack depth proportional to D. Also lazy: a future whose
 * value is computed by a function at its first poll.
 *
 * Single-threaded: a chain is built, polled and dropped on one thread.
 * Lifetime: caller storage (or a task), pinned from its first poll until
 * drop. Up to CFUT_CHAIN_INLINE_STEPS steps, futures of up to
 * CFUT_CHAIN_INLINE_FUTURE bytes and values of up to CFUT_CHAIN_INLINE_VALUE
 * bytes live inside the chain; beyond that, appending a step allocates (and
 * can fail with CFUT_ENOMEM); polling never allocates.
 *
 * This chain is for sequences built at run time. A sequence the program
 * knows at compile time is cheaper as an async function (cfut_async.h), one
 * CFUT_AWAIT per link: no step array and no type-erased step calls
 * (docs/combinators.md has the figures).
 *
 * Polling order: strictly sequential; each poll runs as many steps as are
 * ready, in a loop. Cancel-safety: dropping a pending chain drops the
 * future it is running (cancelling it) and every step not yet run; the
 * value computed so far is lost. A chain is exactly as cancel-safe as the
 * future it is running when dropped.
 */
#ifndef CFUT_AND_THEN_H
#define CFUT_AND_THEN_H

#include <stddef.h>

#include "cfut_future.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * An and_then step: builds the next future from 'in' (the previous output,
 * borrowed for the call: the step may move out of it). It either
 * initialises a future in 'storage' (next_size bytes, max-aligned, owned by
 * the chain) or boxes one, and stores its address in '*next'.
 * Returns: 0, or a negative CFUT_E* status that ends the chain: the chain's
 *   output then carries that status and the remaining steps are skipped.
 */
typedef int cfut_and_then_fn(void *ctx, void *in, void *storage,
                             struct cfut_future **next);

/* A then / map step: computes 'out' (the next value) from 'in'. */
typedef void cfut_then_fn(void *ctx, void *in, void *out);

/*
 * A map_err step: called only when the value (whose first member is an int
 * status) holds a negative status; it may rewrite the value in place.
 */
typedef void cfut_map_err_fn(void *ctx, void *inout);

#define CFUT_CHAIN_INLINE_STEPS 4
#define CFUT_CHAIN_INLINE_FUTURE 64
#define CFUT_CHAIN_INLINE_VALUE 32

/* One continuation step (private). */
struct cfut__chain_step {
    union {
        cfut_and_then_fn *and_then;
        cfut_then_fn *then;
        cfut_map_err_fn *map_err;
    } fn;
    void *ctx;
    size_t out_size; /* the value size after this step */
    unsigned kind;
};

/* A chain: a first future and its continuation steps. */
struct cfut_chain {
    /* private: do not touch */
    struct cfut_future base;
    struct cfut_future *cur;        /* the running future, or NULL */
    struct cfut__chain_step *steps; /* heap steps, or NULL: inline */
    size_t n_steps, cap_steps, pos;
    unsigned char *heap_future; /* or NULL: inline */
    size_t future_cap;
    unsigned char *heap_values; /* two buffers of value_cap, or NULL */
    size_t value_cap;
    size_t out_size;     /* the value size after the last step */
    unsigned cur_buf;    /* which value buffer holds the current value */
    unsigned char state; /* where the chain is (cfut_and_then.c) */
    struct cfut__chain_step inline_steps[CFUT_CHAIN_INLINE_STEPS];
    _Alignas(max_align_t) unsigned char inline_future[CFUT_CHAIN_INLINE_FUTURE];
    _Alignas(
        max_align_t) unsigned char inline_values[2][CFUT_CHAIN_INLINE_VALUE];
};

/* Offset of the value inside a chain's output. */
#define CFUT_CHAIN_VALUE_OFFSET (_Alignof(max_align_t))

/*
 * The output of a chain whose last value is a 'T': 'status' is CFUT_OK, or
 * the negative status an and_then step returned (then 'value' is zeroed).
 */
#define CFUT_CHAIN_OUTPUT(T)                                                   \
    struct {                                                                   \
        int status;                                                            \
        _Alignas(max_align_t) T value;                                         \
    }

/* ---------------------------------------------------------------------- */
/* Building a chain                                                        */
/* ---------------------------------------------------------------------- */

/*
 * Initialises 'c' as a chain that runs 'first' and no steps yet (its value
 * is first's output). Never allocates.
 * Ownership: 'first' is taken: the chain polls it and drops it (freeing a
 *   boxed one) before building the next future, or when the chain is
 *   dropped. It must stay where it is until then.
 * Returns: 0; CFUT_EINVAL if 'c' or 'first' is NULL.
 * Context: anywhere; 'c' may be moved until its first poll.
 * Pinned: from its first poll until drop.
 */
CFUT_API int cfut_chain_init(struct cfut_chain *c, struct cfut_future *first);

/*
 * Appends an and_then step: when the chain's current value is ready, the
 * running future is dropped, then 'fn' builds the next future (of at most
 * 'next_size' bytes if built in the chain's storage, whose output is
 * 'out_size' bytes) and the chain runs it.
 * Ownership: 'c' is borrowed; 'ctx' is kept until the step has run or the
 *   chain is dropped.
 * Returns: 0; CFUT_EINVAL if 'c' or 'fn' is NULL; CFUT_ESTATE if 'c' was
 *   already polled; CFUT_ENOMEM when the steps, storage or value buffers
 *   must grow and cannot ('c' is then unchanged).
 * Context: before the chain's first poll.
 */
CFUT_API int cfut_and_then(struct cfut_chain *c, cfut_and_then_fn *fn,
                           void *ctx, size_t next_size, size_t out_size);

/*
 * Appends a then step: a continuation that computes the next value
 * ('out_size' bytes) from the current one, with whatever effects it has.
 * Ownership, Returns, Context: as cfut_and_then().
 */
CFUT_API int cfut_then(struct cfut_chain *c, cfut_then_fn *fn, void *ctx,
                       size_t out_size);

/*
 * Appends a map step: a pure transformation of the current value into the
 * next ('out_size' bytes). The same mechanism as cfut_then(); the name says
 * the step has no effects.
 * Ownership, Returns, Context: as cfut_and_then().
 */
CFUT_API int cfut_map(struct cfut_chain *c, cfut_then_fn *fn, void *ctx,
                      size_t out_size);

/*
 * Appends a map_err step: when the current value (which must begin with an
 * int status) holds a negative status, 'fn' may rewrite it in place; a
 * value with a non-negative status passes unchanged.
 * Ownership, Returns, Context: as cfut_and_then(); also CFUT_EINVAL if the
 *   current value is smaller than an int.
 */
CFUT_API int cfut_map_err(struct cfut_chain *c, cfut_map_err_fn *fn, void *ctx);

/* ---------------------------------------------------------------------- */
/* Lazy                                                                    */
/* ---------------------------------------------------------------------- */

/* Computes a lazy future's output into 'out' at its first poll. */
typedef void cfut_lazy_fn(void *ctx, struct cfut_context *cx, void *out);

/* A future that calls a function at its first poll and is READY with the
 * value it wrote. Cancel-safe: dropped before its poll, it never calls. */
struct cfut_lazy {
    /* private: do not touch */
    struct cfut_future base;
    cfut_lazy_fn *fn;
    void *ctx;
    size_t out_size;
};

/*
 * Initialises 'l' to call 'fn'('ctx', cx, out) at its first poll and be
 * READY with the 'out_size' bytes it wrote.
 * Ownership: 'ctx' is kept until the poll or the drop.
 * Returns: 0; CFUT_EINVAL if 'l' or 'fn' is NULL.
 * Context: anywhere. Pinned: from its first poll until drop.
 */
CFUT_API int cfut_lazy_init(struct cfut_lazy *l, cfut_lazy_fn *fn, void *ctx,
                            size_t out_size);

#ifdef __cplusplus
}
#endif

#endif /* CFUT_AND_THEN_H */
