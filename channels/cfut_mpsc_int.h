/*
 * cfut_mpsc_int.h: helpers the two mpsc kinds share (internal; never
 * included by a public header): message
 * copies and ring unrolling. No allocation, no locking.
 */
#ifndef CFUT_MPSC_INT_H
#define CFUT_MPSC_INT_H

#include <stdint.h>
#include <string.h>

#include "cfut_alloc_int.h"
#include "cfut_list_int.h"
#include "cfut_mpsc.h"

/* Rounds 'n' up to the alignment of any type. */
#define CFUT__MPSC_ALIGN_UP(n)                                                 \
    (((n) + _Alignof(max_align_t) - 1) & ~(_Alignof(max_align_t) - 1))

/*
 * Doubles an unbounded channel's ring ('*ring' of '*ring_cap' slots of
 * 'size' bytes, 'len' messages from slot '*head'), unrolling it so that the
 * oldest message is in slot 0. Both kinds call it (the thread-safe one with
 * its lock held). Returns 0, or CFUT_ENOMEM with the ring unchanged.
 * Defined in cfut_mpsc.c, out of line: it is the rare path.
 */
int cfut__mpsc_ring_grow(unsigned char **ring, size_t *ring_cap, size_t *head,
                         size_t len, size_t size);

#endif /* CFUT_MPSC_INT_H */
