/*
 * fuzzkit.h: what the libFuzzer targets share: a counting allocator that
 * remembers the largest block asked for (so a target can show a length
 * from the input never becomes an allocation above its limit) and how
 * many blocks are live (so every input ends with nothing leaked), a byte
 * reader over the input for choosing settings, and the abort-with-reason
 * check that turns a broken invariant into a crash libFuzzer keeps.
 * Header-only: each target is one translation unit.
 */
#ifndef CFUT_FUZZKIT_H
#define CFUT_FUZZKIT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "cfut_alloc.h"
#include "cfut_stream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t fuzz_max_alloc; /* largest block requested since begin */
static long fuzz_live;        /* blocks not yet freed */

static void *
fuzz_alloc(void *ctx, size_t size)
{
    (void)ctx;
    if (size > fuzz_max_alloc)
        fuzz_max_alloc = size;
    void *p = malloc(size);
    if (p != NULL)
        fuzz_live++;
    return p;
}

static void
fuzz_free(void *ctx, void *ptr)
{
    (void)ctx;
    if (ptr != NULL)
        fuzz_live--;
    free(ptr);
}

static const struct cfut_allocator fuzz_allocator = {fuzz_alloc, fuzz_free,
                                                     NULL};

/* Starts one input: installs the counting allocator, resets the maximum. */
static inline void
fuzz_begin(void)
{
    cfut_set_allocator(&fuzz_allocator);
    fuzz_max_alloc = 0;
}

/* Ends one input: nothing may be left allocated. */
#define FUZZ_END()                                                             \
    do {                                                                       \
        FUZZ_CHECK(fuzz_live == 0);                                            \
        cfut_set_allocator(NULL);                                              \
    } while (0)

/* Aborts (a crash libFuzzer saves) with the broken invariant named. */
#define FUZZ_CHECK(cond)                                                       \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__,         \
                    __LINE__, #cond);                                          \
            abort();                                                           \
        }                                                                      \
    } while (0)

/* The input as a cursor: settings bytes first, the rest is payload. */
struct fuzz_input {
    const uint8_t *p;
    size_t n;
};

/* Takes one byte (0 once the input is used up). */
static inline uint8_t
fuzz_byte(struct fuzz_input *in)
{
    if (in->n == 0)
        return 0;
    in->n--;
    return *in->p++;
}

/*
 * The peer of a stream under test: writes the rest of the input into its
 * end of an in-memory pair, 'piece' bytes at most per poll, then shuts its
 * write side. Each feed() is one step; a status other than 0 from the
 * write (the stream under test closed its end) drops the rest.
 */
struct feeder {
    struct cfut_stream *peer;
    struct fuzz_input in;
    size_t piece;
    bool shut;
};

static inline void
feed(struct feeder *fd, struct cfut_context *cx)
{
    if (fd->in.n > 0) {
        size_t n = fd->in.n < fd->piece ? fd->in.n : fd->piece;
        struct cfut_iovec iov = {fd->in.p, n};
        struct cfut_stream_result r;
        if (cfut_stream_poll_write(fd->peer, cx, &iov, 1, &r) == CFUT_READY) {
            if (r.status != 0) {
                fd->in.n = 0;
                return;
            }
            FUZZ_CHECK(r.n >= 1 && r.n <= n);
            fd->in.p += r.n;
            fd->in.n -= r.n;
        }
    } else if (!fd->shut) {
        struct cfut_stream_result r;
        if (cfut_stream_poll_shutdown(fd->peer, cx, &r) == CFUT_READY)
            fd->shut = true;
    }
}

#endif /* CFUT_FUZZKIT_H */
