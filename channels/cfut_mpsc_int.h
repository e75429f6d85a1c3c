/*
 * cfut_mpsc_int.h: helpers the two mpsc kinds share (internal; never
 * included by a public header): message
 * copies and ring unrolling. No allocation, no locking.
 */
#ifndef CFUT_MPSC_INT_H
#define CFUT_MPSC_INT_H

#include <string.h>

#include "cfut_list_int.h"
#include "cfut_mpsc.h"

/* Rounds 'n' up to the alignment of any type. */
#define CFUT__MPSC_ALIGN_UP(n)                                                 \
    (((n) + _Alignof(max_align_t) - 1) & ~(_Alignof(max_align_t) - 1))

/* Copies one message; the common 8- and 16-byte cases become moves. */
static inline void
cfut__mpsc_copy(void *dst, const void *src, size_t n)
{
    if (n == 8)
        memcpy(dst, src, 8);
    else if (n == 16)
        memcpy(dst, src, 16);
    else
        memcpy(dst, src, n);
}

/* Copies the 'len' messages of a ring that starts at slot 'head' into the
 * flat array 'dst', oldest first. */
static inline void
cfut__mpsc_ring_copy_out(unsigned char *dst, const unsigned char *ring,
                         size_t ring_cap, size_t head, size_t len, size_t size)
{
    if (len == 0)
        return;
    size_t first = ring_cap - head < len ? ring_cap - head : len;
    memcpy(dst, ring + head * size, first * size);
    memcpy(dst + first * size, ring, (len - first) * size);
}

#endif /* CFUT_MPSC_INT_H */
