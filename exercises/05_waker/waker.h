/*
 * waker.h: exercise 05, a waker that counts its clones and wakes, and a
 * block_on that polls only after a wake. The interface the check calls;
 * do not change it. You write waker.c.
 */
#ifndef WAKER_H
#define WAKER_H

#include <cfut.h>
#include <stdbool.h>

/* ---------------------------------------------------------------------- */
/* Yours: a counting waker                                                 */
/* ---------------------------------------------------------------------- */

/*
 * What a counting waker points at: its reference count and what was done
 * to it. Single-threaded: plain ints.
 */
struct counting_waker {
    int refs;           /* live references: the first one, plus clones */
    int n_clones;       /* clone() calls */
    int n_wakes;        /* wake() calls (each consumes a reference) */
    int n_wakes_by_ref; /* wake_by_ref() calls (the reference stays) */
    int n_drops;        /* drop() calls (each releases a reference) */
    bool woken;         /* set by wake and wake_by_ref */
};

/*
 * Initialises 'cw' (all counts 0, not woken, refs 1) and returns the first
 * reference to it: a waker whose vtable is your clone / wake / wake_by_ref
 * / drop and whose data is 'cw'.
 */
struct cfut_waker counting_waker_init(struct counting_waker *cw);

/* ---------------------------------------------------------------------- */
/* Yours: a tiny block_on                                                  */
/* ---------------------------------------------------------------------- */

/*
 * Waits until something happens (an event that may wake a future) and
 * returns true, or returns false at once when nothing can ever happen.
 */
typedef bool wait_fn(void *ctx);

/*
 * Polls 'f' until it is READY (its output goes to 'out'), with a context
 * whose waker is 'w' (a waker from counting_waker_init() on 'cw'). After
 * a PENDING poll it polls again only once 'cw' was woken; until then it
 * calls 'wait(ctx)'. Clears 'cw->woken' before each poll.
 * Ownership: 'f' is borrowed (the caller drops it); 'w' and 'cw' are
 *   borrowed.
 * Returns: the number of polls made; CFUT_EDEADLK when 'f' is PENDING, was
 *   not woken, and 'wait' returned false.
 */
int tiny_block_on(struct cfut_future *f, void *out, const struct cfut_waker *w,
                  struct counting_waker *cw, wait_fn *wait, void *ctx);

#endif /* WAKER_H */
