/*
 * waker.c: exercise 05, the reference solution (spoilers: try the exercise
 * first). A waker vtable over a reference count, and the loop of lesson
 * 02 on the real contract.
 */
#include "waker.h"

static const struct cfut_waker_vtable counting_vtable;

static struct cfut_waker
counting_clone(void *data)
{
    struct counting_waker *cw = data;
    cw->n_clones++;
    cw->refs++; /* the clone is a new reference */
    return (struct cfut_waker){&counting_vtable, cw};
}

static void
counting_wake(void *data)
{
    struct counting_waker *cw = data;
    cw->n_wakes++;
    cw->woken = true;
    cw->refs--; /* wake consumes the reference it was called on */
}

static void
counting_wake_by_ref(void *data)
{
    struct counting_waker *cw = data;
    cw->n_wakes_by_ref++;
    cw->woken = true; /* the reference stays with the caller */
}

static void
counting_drop(void *data)
{
    struct counting_waker *cw = data;
    cw->n_drops++;
    cw->refs--; /* released without waking */
}

static const struct cfut_waker_vtable counting_vtable = {
    counting_clone, counting_wake, counting_wake_by_ref, counting_drop};

struct cfut_waker
counting_waker_init(struct counting_waker *cw)
{
    cw->refs = 1; /* the reference we return */
    cw->n_clones = cw->n_wakes = cw->n_wakes_by_ref = cw->n_drops = 0;
    cw->woken = false;
    return (struct cfut_waker){&counting_vtable, cw};
}

int
tiny_block_on(struct cfut_future *f, void *out, const struct cfut_waker *w,
              struct counting_waker *cw, wait_fn *wait, void *ctx)
{
    struct cfut_context cx;
    cfut_context_init(&cx, w);
    int n_polls = 0;
    for (;;) {
        cw->woken = false; /* before the poll: a wake may come inside */
        n_polls++;
        if (cfut_future_poll(f, &cx, out) == CFUT_READY)
            return n_polls;
        while (!cw->woken) /* nothing to poll for until a wake */
            if (!wait(ctx))
                return CFUT_EDEADLK;
    }
}
