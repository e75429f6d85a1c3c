/*
 * cfut_count_int.h: the counts of handles a channel's state keeps
 * (senders, receivers, references), for every channel and one-to-many
 * primitive. A count never wraps: the call that would take it past
 * UINT32_MAX fails, and its caller aborts with a message naming the count.
 * Internal; never included by a public header.
 */
#ifndef CFUT_COUNT_INT_H
#define CFUT_COUNT_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Counts one more in '*n'. Returns false, with '*n' unchanged, when it is
 * full. */
static inline bool
cfut__count_up(uint32_t *n)
{
    if (*n == UINT32_MAX)
        return false;
    ++*n;
    return true;
}

/* Counts one more in a size_t count of things that each hold memory (the
 * semaphore's references): it cannot be full before memory is. Returns
 * true. */
static inline bool
cfut__count_up_size(size_t *n)
{
    ++*n;
    return true;
}

#endif /* CFUT_COUNT_INT_H */
