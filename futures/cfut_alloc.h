/*
 * cfut_alloc.h: where cfut's memory comes from: the process-wide allocator
 * hooks every allocation goes through (malloc/free unless replaced), and
 * the per-thread cache of small blocks the library keeps for reuse, with
 * the call that gives it back.
 *
 * Threading: cfut_alloc() and cfut_free() may be called from any thread
 * (the installed allocator must be thread-safe); the small-block cache is
 * per thread. Lifetime: an allocator stays installed until the next
 * cfut_set_allocator() call, which may only happen while no cfut object is
 * alive.
 */
#ifndef CFUT_ALLOC_H
#define CFUT_ALLOC_H

#include <stddef.h>

#include "cfut_errors.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------- */
/* Allocation hooks                                                        */
/* ---------------------------------------------------------------------- */

/* Allocates 'size' bytes for 'ctx'; returns NULL on failure. */
typedef void *cfut_alloc_fn(void *ctx, size_t size);
/* Frees a block returned by the matching cfut_alloc_fn (NULL is a no-op). */
typedef void cfut_free_fn(void *ctx, void *ptr);

/* The allocator every cfut allocation goes through (default: malloc/free). */
struct cfut_allocator {
    cfut_alloc_fn *alloc; /* must be thread-safe */
    cfut_free_fn *free;   /* must be thread-safe */
    void *ctx;
};

/*
 * Installs 'a' as the process-wide allocator, or restores malloc/free when
 * 'a' is NULL.
 * Ownership: 'a' is kept until the next call; it must stay valid and every
 *   block it handed out must be freed while it is installed.
 * Context: only while no cfut object is alive (tests install a counting
 *   allocator in their fixtures).
 */
CFUT_API void cfut_set_allocator(const struct cfut_allocator *a);

/*
 * Allocates 'size' bytes through the installed allocator.
 * Returns: the block, or NULL when the allocator fails (callers turn that
 *   into CFUT_ENOMEM).
 * Context: anywhere, any thread.
 */
CFUT_API void *cfut_alloc(size_t size);

/*
 * Frees 'ptr' (from cfut_alloc()) through the installed allocator.
 * Ownership: 'ptr' is taken. NULL is a no-op.
 * Context: anywhere, any thread.
 */
CFUT_API void cfut_free(void *ptr);

/* ---------------------------------------------------------------------- */
/* The small-block cache                                                   */
/* ---------------------------------------------------------------------- */

/*
 * Gives back the memory cfut keeps for the calling thread: the cache of
 * small blocks (oneshot states, combinator wake blocks) that makes their
 * reuse cheap. The cache is also flushed when the thread's last executor
 * is freed, when the thread exits and, for the thread that calls exit(),
 * at exit; call this when the thread freed cfut objects after its last
 * executor and wants no memory held (a leak checker's "still reachable").
 * cfut objects may still be alive: the cache simply starts empty again.
 * The cache keeps blocks only while the default allocator is installed,
 * so an allocator installed with cfut_set_allocator() sees every
 * allocation.
 * Context: any thread, outside any poll.
 */
CFUT_API void cfut_thread_cleanup(void);

#ifdef __cplusplus
}
#endif

#endif /* CFUT_ALLOC_H */
