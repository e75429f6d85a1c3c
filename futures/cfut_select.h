/*
 * cfut_select.h: select: a future that runs N children concurrently and
 * finishes with the first of them to finish (the winner). The losers are
 * dropped (cancelled) before select returns READY, or, in the hand-back
 * mode, handed back to the caller alive.
 *
 * Threading: a select is polled and dropped on one thread; the wakers its
 * children receive may be cloned, woken and dropped from any thread and may
 * outlive the select (a wake-set sub-waker then wakes nothing; a small
 * select's children hold the parent's waker itself). Lifetime: caller
 * storage (or a task), pinned from its first poll until drop; the wake-set
 * form allocates one heap block, shared with the sub-wakers, at init.
 *
 * Two forms, chosen by init from the number of children:
 *   - small (n <= CFUT_SELECT_SMALL_MAX): the children are kept inline in
 *     the select and polled with the parent's own context, as futures-rs's
 *     Select does: no allocation, no sub-waker; every child still running
 *     is polled at every poll.
 *   - wake set (n > CFUT_SELECT_SMALL_MAX): each child is polled with its
 *     own sub-waker from one heap block allocated at init, and each poll
 *     polls only the children woken since the previous poll (all of them at
 *     the first poll): a wake costs O(woken), not O(n).
 *
 * Polling order: each poll polls its children (see the forms above) in a
 * documented order, and stops at the first that is READY:
 *   - CFUT_SELECT_BIASED: ascending index order. When several children are
 *     ready in the same poll the lowest index wins. Cheap and predictable,
 *     but a child that is always ready starves those after it.
 *   - CFUT_SELECT_FAIR: rotating start. Each select takes a start index from
 *     a per-thread counter that advances by one per fair select, and polls
 *     in index order from there, wrapping around: over many rounds every
 *     always-ready child wins its share.
 * Children that were not polled in the winning poll are never polled again.
 *
 * Cancel-safety: dropping a pending select drops every child. When READY,
 * the losers' partial progress is lost (they are dropped) unless the select
 * was made with CFUT_SELECT_HAND_BACK: use that for children that are not
 * cancel-safe, and keep polling them yourself.
 */
#ifndef CFUT_SELECT_H
#define CFUT_SELECT_H

#include <stddef.h>

#include "cfut_future.h"

#ifdef __cplusplus
extern "C" {
#endif

struct cfut__wakeset;

/* Select modes (flags for cfut_select_init()). */
#define CFUT_SELECT_BIASED 0x0u    /* lowest index first (the default) */
#define CFUT_SELECT_FAIR 0x1u      /* rotating start index */
#define CFUT_SELECT_HAND_BACK 0x2u /* losers are handed back, not dropped */

/*
 * The most children a select keeps inline and polls with the parent's
 * context. Up to this many, re-polling the children that were not woken
 * (at most 3 extra polls of a leaf, a few ns each) costs less than routing
 * each wake through a shared block (an allocation per select and about
 * five locked read-modify-writes per wake, 6.5 ns each on the benchmark
 * machine); above it the O(n) re-poll grows and the wake set wins.
 */
#define CFUT_SELECT_SMALL_MAX 4

/* A select over N children. */
struct cfut_select {
    /* private: do not touch */
    struct cfut_future base;
    struct cfut__wakeset *ws; /* wake-set form; NULL small or finished */
    size_t n;
    size_t max_size; /* the largest child output */
    uint32_t start;  /* first index in polling order */
    unsigned flags;
    unsigned char state; /* running or done (cfut_select.c) */
    /* small form: the children (not read once the select is done) */
    struct cfut_future *small[CFUT_SELECT_SMALL_MAX];
};

/* Offset of the winner's output inside a select's output. */
#define CFUT_SELECT_VALUE_OFFSET (_Alignof(max_align_t))

/*
 * The output of a select whose winner's output is a 'T': 'index' is the
 * winner's index in the children array.
 */
#define CFUT_SELECT_OUTPUT(T)                                                  \
    struct {                                                                   \
        size_t index;                                                          \
        _Alignas(max_align_t) T value;                                         \
    }

/*
 * Initialises 's' to select among the 'n' futures in 'children' under the
 * mode in 'flags' (CFUT_SELECT_BIASED or CFUT_SELECT_FAIR, optionally with
 * CFUT_SELECT_HAND_BACK). The output is CFUT_SELECT_OUTPUT(T): the winner's
 * index, then its output at CFUT_SELECT_VALUE_OFFSET (the output size is
 * the offset plus the largest child's output size).
 * Ownership: on success every child is taken until the select finishes or
 *   is dropped: the winner is dropped when it finishes; the losers are
 *   dropped before READY, or with CFUT_SELECT_HAND_BACK given back to the
 *   caller (who then owns and must drop them; they stay pinned where they
 *   are). Children must stay where they are while taken. 'children' (the
 *   array) is borrowed. On failure the children stay the caller's.
 * Returns: 0; CFUT_EINVAL if 's' or 'children' is NULL, a child is NULL,
 *   'n' is 0 or exceeds UINT32_MAX - 1, or 'flags' has unknown bits;
 *   CFUT_ENOMEM when the shared block of the wake-set form (n >
 *   CFUT_SELECT_SMALL_MAX) cannot be allocated (the small form allocates
 *   nothing and cannot fail so).
 * Context: anywhere; 's' may be moved until its first poll.
 * Pinned: from its first poll until drop.
 */
CFUT_API int cfut_select_init(struct cfut_select *s,
                              struct cfut_future *const *children, size_t n,
                              unsigned flags);

/*
 * Initialises 's' to select between 'a' (index 0) and 'b' (index 1):
 * cfut_select_init() with n = 2.
 * Ownership, Returns, Context, Pinned: as cfut_select_init().
 */
CFUT_API int cfut_select2(struct cfut_select *s, struct cfut_future *a,
                          struct cfut_future *b, unsigned flags);

#ifdef __cplusplus
}
#endif

#endif /* CFUT_SELECT_H */
