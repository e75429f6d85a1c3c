/*
 * join.c: exercise 03, the reference solution (spoilers: try the exercise
 * first). A join of two futures that gives each child its own wake
 * callback (a sub-waker), so that it polls again only the woken child.
 */
#include "join.h"

void
join2_init(struct join2 *j, struct future *a, struct future *b)
{
    j->base.poll = join2_poll;
    j->child[0] = a;
    j->child[1] = b;
    for (int i = 0; i < 2; i++) {
        j->done[i] = false;
        j->out[i] = 0;
        j->woken[i] = true; /* the first poll polls both */
        j->sub[i].join = j;
        j->sub[i].which = i;
    }
    j->parent.fn = NULL;
    j->parent.data = NULL;
}

/* A child's own callback: remember which child, then wake the join. */
static void
sub_wake(void *data)
{
    struct join_sub *s = data;
    s->join->woken[s->which] = true;
    s->join->parent.fn(s->join->parent.data);
}

enum poll
join2_poll(struct future *self, struct wake_cb wake, int *out)
{
    struct join2 *j = (struct join2 *)self;
    j->parent = wake; /* only the latest poll's callback must be called */
    for (int i = 0; i < 2; i++) {
        if (j->done[i] || !j->woken[i])
            continue; /* finished, or nothing new for it: leave it alone */
        j->woken[i] = false; /* before the poll: a wake may come inside */
        struct wake_cb mine = {sub_wake, &j->sub[i]};
        if (j->child[i]->poll(j->child[i], mine, &j->out[i]) == READY)
            j->done[i] = true;
    }
    if (!(j->done[0] && j->done[1]))
        return PENDING;
    out[0] = j->out[0];
    out[1] = j->out[1];
    return READY;
}
