/*
 * cfut_join.h: join and try_join: futures that run N children concurrently
 * and finish when all of them have (join), or when all have succeeded or
 * the first has failed (try_join). Two forms, chosen by init:
 *   - small (n <= CFUT_JOIN_SMALL_MAX children whose outputs lay out in at
 *     most CFUT_JOIN_SMALL_BYTES): children and outputs are kept inline in
 *     the join and polled with the parent's own context, as futures-rs's
 *     join! does: no allocation, no sub-waker; every poll polls every child
 *     still running, in index order.
 *   - wake set (otherwise): each child is polled with its own sub-waker, so
 *     a wake re-polls only the children that were woken: a poll costs
 *     O(woken children), not O(N).
 * Output storage (small form): the children write their outputs straight
 * into the 'out' of the join's poll, also during a poll that returns
 * PENDING (what finished is then saved inside the join, so a later poll
 * may pass other storage): the contents of 'out' are the join's output
 * only once it is READY.
 *
 * Threading: a join is polled and dropped on one thread; the wakers it
 * hands its children may be cloned, woken and dropped from any thread, and
 * may outlive the join (a wake-set sub-waker then wakes nothing; a small
 * join's children hold the parent's waker itself). Lifetime: the join lives
 * in caller storage (or a task) and is pinned from its first poll until
 * drop; the wake-set form owns one heap block (shared with its sub-wakers)
 * allocated at init.
 *
 * Polling order (wake-set form): the first poll polls every child in index
 * order; later polls poll only the children woken since the previous poll,
 * in the order their wakes arrived (a wake from a thread other than the
 * polling one counts as made when the poll takes it). A child woken during
 * another child's poll is polled at the next poll (the join's own waker is
 * woken for it).
 *
 * Cancel-safety: a join is as cancel-safe as its least cancel-safe child.
 * Dropping a pending join drops every unfinished child (cancelling it) and
 * loses the outputs of the finished ones.
 */
#ifndef CFUT_JOIN_H
#define CFUT_JOIN_H

#include <stddef.h>

#include "cfut_future.h"

#ifdef __cplusplus
extern "C" {
#endif

struct cfut__wakeset;

/*
 * A join over N children. Its output holds every child's output in index
 * order, each at cfut_join_offset(): child i's output starts at the end of
 * child i-1's, rounded up to the largest power of two dividing its size
 * (at most _Alignof(max_align_t)). For children of one type T this is a
 * plain array T[N].
 */
/*
 * The most children, and output bytes, a join keeps inline and polls with
 * the parent's context (see CFUT_SELECT_SMALL_MAX for why the cut is low:
 * above it, re-polling every child at every wake costs more than routing
 * wakes through the shared block).
 */
#define CFUT_JOIN_SMALL_MAX 4
#define CFUT_JOIN_SMALL_BYTES 64

struct cfut_join {
    /* private: do not touch */
    struct cfut_future base;
    struct cfut__wakeset *ws; /* NULL for the small form and for n = 0 */
    size_t n;
    size_t n_left;      /* children still running */
    size_t values_size; /* bytes of the children's outputs, laid out */
    bool is_try;
    /* small form (these two fill the padding after is_try) */
    unsigned char small_saved; /* bit i: child i's output is in the values */
    unsigned char small_size[CFUT_JOIN_SMALL_MAX]; /* output sizes */
    /* small form: children (NULL once finished) and their outputs */
    struct cfut_future *small[CFUT_JOIN_SMALL_MAX];
    unsigned char small_off[CFUT_JOIN_SMALL_MAX]; /* offsets in the values */
    union {
        max_align_t align;
        unsigned char bytes[CFUT_JOIN_SMALL_BYTES];
    } small_values;
};

/* The head of a try_join output; the values follow at the offset below. */
struct cfut_try_join_head {
    int status;    /* CFUT_OK, or the failing child's negative status */
    size_t failed; /* index of the failing child, or SIZE_MAX */
};

/* Offset of the children's outputs inside a try_join output. */
#define CFUT_TRY_JOIN_VALUE_OFFSET                                             \
    ((sizeof(struct cfut_try_join_head) + _Alignof(max_align_t) - 1) /         \
     _Alignof(max_align_t) * _Alignof(max_align_t))

/* The output of a try_join whose children's outputs lay out as 'T'. */
#define CFUT_TRY_JOIN_OUTPUT(T)                                                \
    struct {                                                                   \
        int status;                                                            \
        size_t failed;                                                         \
        _Alignas(max_align_t) T values;                                        \
    }

/* ---------------------------------------------------------------------- */
/* Join                                                                    */
/* ---------------------------------------------------------------------- */

/*
 * Initialises 'j' to join the 'n' futures in 'children'.
 * Ownership: on success every child is taken: 'j' polls it and drops it
 *   (cfut_future_drop(), which frees a boxed one) when it finishes or when
 *   'j' is dropped. A child must stay where it is until then (boxed, or
 *   embedded beside 'j' in the same pinned parent). 'children' (the array)
 *   is borrowed. On failure the children stay the caller's, untouched.
 * Returns: 0; CFUT_EINVAL if 'j' is NULL, 'children' is NULL with n > 0, a
 *   child is NULL or 'n' exceeds UINT32_MAX - 1; CFUT_ENOMEM when the
 *   shared block of the wake-set form cannot be allocated (a join of 0
 *   children and the small form allocate nothing).
 * Context: anywhere; 'j' is fresh and may be moved until its first poll.
 * Pinned: from its first poll until drop.
 */
CFUT_API int cfut_join_init(struct cfut_join *j,
                            struct cfut_future *const *children, size_t n);

/*
 * Initialises 'j' to join 'a' and 'b' (cfut_join_init() with n = 2): its
 * output is a's output followed by b's, laid out as cfut_join_init() says.
 * Ownership, Returns, Context, Pinned: as cfut_join_init().
 */
CFUT_API int cfut_join2(struct cfut_join *j, struct cfut_future *a,
                        struct cfut_future *b);

/*
 * Initialises 'j' as a try_join over 'n' children whose outputs each begin
 * with an int status (0 or a negative CFUT_E* code). It finishes when every
 * child has succeeded (status CFUT_OK, 'failed' SIZE_MAX) or as soon as one
 * fails: the other children are then dropped (cancelled) before the poll
 * returns, 'status' is the failing child's status and 'failed' its index.
 * The output is CFUT_TRY_JOIN_OUTPUT(T) (values at
 * CFUT_TRY_JOIN_VALUE_OFFSET, laid out as for join); after a failure only
 * the failing child's value and those of children that had finished are
 * meaningful.
 * Ownership, Returns, Context, Pinned: as cfut_join_init().
 */
CFUT_API int cfut_try_join_init(struct cfut_join *j,
                                struct cfut_future *const *children, size_t n);

/*
 * Returns the offset of child 'i's output inside the join's values (for a
 * try_join, add CFUT_TRY_JOIN_VALUE_OFFSET).
 * Context: after a successful init, on the owning thread; 'i' < n.
 */
CFUT_API size_t cfut_join_offset(const struct cfut_join *j, size_t i);

#ifdef __cplusplus
}
#endif

#endif /* CFUT_JOIN_H */
