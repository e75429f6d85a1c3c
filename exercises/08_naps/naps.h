/*
 * naps.h: exercise 08, a coroutine (cfut's async/await macros) that
 * awaits three sleeps, one after another. The interface the check calls;
 * do not change it. You write naps.c.
 */
#ifndef NAPS_H
#define NAPS_H

#include <cfut.h>
#include <stdint.h>

/*
 * A coroutine that sleeps ms[0], then ms[1], then ms[2] milliseconds on
 * the executor's clock (cfut_sleep) and is READY with the total it slept:
 * its output is a uint64_t. Everything that must live across an await is
 * a field here, not a local of the poll function.
 * Pinned: from its first poll until drop (it embeds the sleep it awaits).
 */
struct naps {
    struct cfut_future base;
    struct cfut_coro co;   /* where the coroutine resumes */
    uint64_t ms[3];        /* the three naps, in milliseconds */
    int i;                 /* the nap being taken */
    uint64_t total;        /* milliseconds slept so far */
    int status;            /* the output of the sleep being awaited */
    struct cfut_sleep nap; /* the sleep being awaited */
};

/* Initialises 'n' as a fresh coroutine for the naps 'ms'. */
void naps_init(struct naps *n, const uint64_t ms[3]);

#endif /* NAPS_H */
