/*
 * countdown.c: exercise 01, the reference solution (spoilers: try the
 * exercise first). A countdown future and the busy loop that drives it.
 */
#include "countdown.h"

void
countdown_init(struct countdown *c, int n)
{
    c->remaining = n;
    c->n_polls = 0;
}

enum poll
countdown_poll(struct countdown *c, int *out)
{
    c->n_polls++;
    if (c->remaining > 0) {
        c->remaining--; /* one PENDING answer spent */
        return PENDING;
    }
    *out = c->n_polls; /* READY: only now is the output written */
    return READY;
}

int
countdown_run(struct countdown *c, int *out)
{
    int n = 0;
    /* A busy loop: it asks again at once, so a real program would burn a
     * core here; lesson 02 polls only after a wake instead. */
    for (;;) {
        n++;
        if (countdown_poll(c, out) == READY)
            return n;
    }
}
