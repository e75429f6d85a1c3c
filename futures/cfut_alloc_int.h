/*
 * cfut_alloc_int.h: a per-thread cache of small blocks for the library's
 * short-lived shared objects (oneshot states, combinator wake blocks).
 * Internal: never included by a public header. It caches only while the
 * default allocator is installed, so a test allocator still sees (and can
 * fail) every allocation.
 */
#ifndef CFUT_ALLOC_INT_H
#define CFUT_ALLOC_INT_H

#include <stddef.h>

/*
 * Allocates 'size' bytes, from this thread's cache when it holds a block
 * of the size class. Returns NULL when the allocator fails.
 * Context: any thread.
 */
void *cfut__alloc_small(size_t size);

/*
 * Frees 'ptr', a block of 'size' bytes (the size given to
 * cfut__alloc_small()), into this thread's cache or to the allocator.
 * NULL is a no-op. Context: any thread, not only the allocating one.
 */
void cfut__free_small(void *ptr, size_t size);

#endif /* CFUT_ALLOC_INT_H */
