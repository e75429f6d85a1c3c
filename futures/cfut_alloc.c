/*
 * cfut_alloc.c: where the library's memory comes from: the allocator hooks
 * (cfut_set_allocator(), cfut_alloc(), cfut_free()), the per-thread cache
 * of small blocks (cfut_alloc_int.h) with its flushes, and the small-copy
 * helper. It knows nothing about futures beyond their sizes.
 */
#include "cfut_alloc.h"
#include "cfut_alloc_int.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* ---- allocator hooks ---- */

static void *
default_alloc(void *ctx, size_t size)
{
    (void)ctx;
    return malloc(size);
}

static void
default_free(void *ctx, void *ptr)
{
    (void)ctx;
    free(ptr);
}

static const struct cfut_allocator default_allocator = {default_alloc,
                                                        default_free, NULL};
static const struct cfut_allocator *allocator = &default_allocator;

void
cfut_set_allocator(const struct cfut_allocator *a)
{
    allocator = a != NULL ? a : &default_allocator;
}

void *
cfut_alloc(size_t size)
{
    return allocator->alloc(allocator->ctx, size);
}

void
cfut_free(void *ptr)
{
    if (ptr != NULL)
        allocator->free(allocator->ctx, ptr);
}

/* ---- the small-block cache ---- */

#define SMALL_STEP 32u
#define SMALL_CLASSES 16u /* blocks up to 512 bytes */
#define SMALL_KEEP 64u    /* blocks kept per class and thread */

struct small_block {
    struct small_block *next;
};

struct small_cache {
    struct small_block *head[SMALL_CLASSES];
    unsigned n[SMALL_CLASSES];
    bool registered; /* the thread-exit destructor knows this cache */
};

#if defined(__GNUC__)
#define SMALL_TLS __attribute__((tls_model("initial-exec")))
#else
#define SMALL_TLS
#endif

static _Thread_local struct small_cache small_cache SMALL_TLS;
static pthread_key_t small_key;
static pthread_once_t small_once = PTHREAD_ONCE_INIT;

/* Frees every block the cache 'arg' keeps; the cache stays usable. */
static void
small_flush(void *arg)
{
    struct small_cache *c = arg;
    for (unsigned k = 0; k < SMALL_CLASSES; k++) {
        while (c->head[k] != NULL) {
            struct small_block *b = c->head[k];
            c->head[k] = b->next;
            free(b);
        }
        c->n[k] = 0;
    }
}

/*
 * At exit(), the exiting thread's cache (usually main's: the thread-exit
 * destructor never runs for the thread that calls exit()).
 */
static void
small_flush_at_exit(void)
{
    small_flush(&small_cache);
}

static void
small_key_create(void)
{
    (void)pthread_key_create(&small_key, small_flush);
    (void)atexit(small_flush_at_exit);
}

void *
cfut__alloc_small(size_t size)
{
    if (allocator != &default_allocator || size == 0 ||
        size > SMALL_STEP * SMALL_CLASSES)
        return cfut_alloc(size);
    unsigned k = (unsigned)((size - 1) / SMALL_STEP);
    struct small_block *b = small_cache.head[k];
    if (b != NULL) {
        small_cache.head[k] = b->next;
        small_cache.n[k]--;
        return b;
    }
    /* A whole class-sized block, so that any size of the class reuses it. */
    return malloc((size_t)(k + 1) * SMALL_STEP);
}

void
cfut__free_small(void *ptr, size_t size)
{
    if (ptr == NULL)
        return;
    if (allocator != &default_allocator || size == 0 ||
        size > SMALL_STEP * SMALL_CLASSES) {
        cfut_free(ptr);
        return;
    }
    unsigned k = (unsigned)((size - 1) / SMALL_STEP);
    if (small_cache.n[k] >= SMALL_KEEP) {
        free(ptr);
        return;
    }
    if (!small_cache.registered) {
        pthread_once(&small_once, small_key_create);
        (void)pthread_setspecific(small_key, &small_cache);
        small_cache.registered = true;
    }
    struct small_block *b = ptr;
    b->next = small_cache.head[k];
    small_cache.head[k] = b;
    small_cache.n[k]++;
}

size_t
cfut__small_n_cached(void)
{
    size_t n = 0;
    for (unsigned k = 0; k < SMALL_CLASSES; k++)
        n += small_cache.n[k];
    return n;
}

void
cfut_thread_cleanup(void)
{
    small_flush(&small_cache);
}

/* ---- copies ---- */

void
cfut__copy_slow(void *dst, const void *src, size_t n)
{
    if (n > 64 || (n & 7) != 0) {
        memcpy(dst, src, n);
        return;
    }
    char *d = dst;
    const char *s = src;
    for (size_t i = 0; i < n; i += 8)
        __builtin_memcpy(d + i, s + i, 8);
}
