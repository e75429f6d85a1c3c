/*
 * wake.c: exercise 02, the reference solution (spoilers: try the exercise
 * first). An alarm that hands its wake callback to the world, and a loop
 * that polls only after a wake.
 */
#include "wake.h"

void
alarm_init(struct alarm *a, int deadline)
{
    a->base.poll = alarm_poll;
    a->deadline = deadline;
}

enum poll
alarm_poll(struct future *self, struct wake_cb wake, int *out)
{
    struct alarm *a = (struct alarm *)self; /* the base is the first member */
    if (world_now() >= a->deadline) {
        *out = world_now();
        return READY;
    }
    /* PENDING means: the world will call 'wake' at the deadline. */
    world_call_at(a->deadline, wake);
    return PENDING;
}

/* The loop's side of the callback: remember that a poll is worth it. */
static void
set_flag(void *data)
{
    *(bool *)data = true;
}

int
drive(struct future *f, int *out)
{
    bool woken = true; /* the first poll needs no wake */
    int n_polls = 0;
    for (;;) {
        if (!woken) {
            /* Nothing to do until a wake: sleep; if nothing is registered
             * at all, no wake can ever come. */
            if (!world_wait())
                return DRIVE_STUCK;
            continue;
        }
        woken = false; /* cleared before the poll: a wake may come inside */
        n_polls++;
        if (f->poll(f, (struct wake_cb){set_flag, &woken}, out) == READY)
            return n_polls;
    }
}
