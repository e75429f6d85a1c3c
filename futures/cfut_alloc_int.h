/*
 * cfut_alloc_int.h: the library's memory helpers: a per-thread cache of
 * small blocks for short-lived shared objects (oneshot states, combinator
 * wake blocks), the one small-copy helper every module uses for futures,
 * outputs and messages, and the one align-up helper that lays out blocks.
 * Internal: never included by a public header. It caches only while the
 * default allocator is installed, so a test allocator still sees (and can
 * fail) every allocation.
 */
#ifndef CFUT_ALLOC_INT_H
#define CFUT_ALLOC_INT_H

#include <stddef.h>
#include <string.h>

/* The alignment of any type: blocks holding arbitrary values use it. */
#define CFUT__MAX_ALIGN ((size_t) _Alignof(max_align_t))

/*
 * Rounds 'n' up to a multiple of 'a', a power of two. A constant
 * expression when both are (it sizes headers at compile time too).
 */
#define CFUT__ALIGN_UP(n, a)                                                   \
    (((size_t)(n) + ((size_t)(a)-1)) & ~((size_t)(a)-1))

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

/*
 * Returns the number of blocks this thread's cache keeps (for tests).
 * The cache is flushed by cfut_thread_cleanup(), when the thread's last
 * executor is freed, at thread exit, and (for the thread calling exit())
 * at exit.
 */
size_t cfut__small_n_cached(void);

/* The out-of-line part of cfut__copy() (cfut_alloc.c). */
void cfut__copy_slow(void *dst, const void *src, size_t n);

/*
 * Copies 'n' bytes. The commonest sizes (8: a u64 or a pointer; 16) are one
 * inline move; others go to cfut__copy_slow(), which copies multiples of 8
 * up to 64 (futures, whose base holds a pointer) word by word and leaves
 * the rest to memcpy.
 */
static inline void
cfut__copy(void *dst, const void *src, size_t n)
{
    if (n == 8)
        __builtin_memcpy(dst, src, 8);
    else if (n == 16)
        __builtin_memcpy(dst, src, 16);
    else
        cfut__copy_slow(dst, src, n);
}

#endif /* CFUT_ALLOC_INT_H */
