/*
 * cfut_leaf.h: the smallest futures: ready (finishes at once with a value),
 * pending (never finishes), yield_now (pending once, then ready) and fuse (a
 * wrapper that may be polled after it finished).
 *
 * Single-threaded: each future is polled and dropped on one thread. They
 * live in caller storage (embed them by value) and are pinned from their
 * first poll until drop. All are cancel-safe: dropping them loses nothing.
 */
#ifndef CFUT_LEAF_H
#define CFUT_LEAF_H

#include "cfut_future.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The largest value a cfut_ready future carries inline. */
#define CFUT_READY_MAX 32

/* A future that is READY at its first poll with a copy of a value. */
struct cfut_ready {
    /* private: do not touch */
    struct cfut_future base;
    size_t size;
    union {
        unsigned char bytes[CFUT_READY_MAX];
        long double align_ld;
        void *align_ptr;
        unsigned long long align_ull;
    } value;
};

/*
 * Initialises 'r' to finish at once with a copy of the 'size' bytes at
 * 'value'.
 * Ownership: 'value' is borrowed (copied); 'r' is the caller's storage.
 * Returns: 0; CFUT_EINVAL if 'size' exceeds CFUT_READY_MAX or 'value' is
 *   NULL with a nonzero size ('r' is then untouched).
 */
CFUT_API int cfut_ready_init(struct cfut_ready *r, const void *value,
                             size_t size);

/* A future that never finishes; its output size is chosen at init. */
struct cfut_pending {
    /* private: do not touch */
    struct cfut_future base;
    size_t output_size;
};

/*
 * Initialises 'p' to stay PENDING forever (it keeps no waker, so nothing
 * ever wakes it). 'output_size' is what it would write: combinators that
 * size their slots from it see a consistent value.
 */
CFUT_API void cfut_pending_init(struct cfut_pending *p, size_t output_size);

/* A future that is PENDING once (waking itself at once), then READY. */
struct cfut_yield {
    /* private: do not touch */
    struct cfut_future base;
    bool yielded;
};

/*
 * Initialises 'y': its first poll wakes the task and returns PENDING, so
 * the task goes to the back of the run queue; its second poll is READY with
 * no output. This is how a long computation lets other tasks run.
 */
CFUT_API void cfut_yield_now_init(struct cfut_yield *y);

/*
 * A wrapper that makes a future safe to poll after it finished: after the
 * inner future is READY (and dropped), every further poll returns PENDING.
 */
struct cfut_fuse {
    /* private: do not touch */
    struct cfut_future base;
    struct cfut_future *inner; /* NULL once finished */
    size_t output_size;
};

/*
 * Initialises 'fu' around 'inner'.
 * Ownership: 'inner' is taken: 'fu' polls it and drops it when it is READY
 *   or when 'fu' is dropped. It must stay where it is until then (boxed, or
 *   embedded next to 'fu' in the same pinned parent).
 */
CFUT_API void cfut_fuse_init(struct cfut_fuse *fu, struct cfut_future *inner);

/* Tells whether the inner future of 'fu' has finished. */
CFUT_API bool cfut_fuse_is_terminated(const struct cfut_fuse *fu);

#ifdef __cplusplus
}
#endif

#endif /* CFUT_LEAF_H */
