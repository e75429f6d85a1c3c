/*
 * select2.c: exercise 12, the reference solution (spoilers: try the
 * exercise first). A biased select of two futures that drops the loser
 * (and the spent winner) before it answers READY.
 */
#include "select2.h"

/* Drops both children that are left. */
static void
drop_children(struct select2 *s)
{
    for (int i = 0; i < 2; i++) {
        if (s->child[i] != NULL) {
            struct cfut_future *c = s->child[i];
            s->child[i] = NULL; /* never drop twice */
            cfut_future_drop(c);
        }
    }
}

static enum cfut_poll
select2_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct select2 *s = cfut_container_of(f, struct select2, base);
    struct select2_output *o = out;
    for (int i = 0; i < 2; i++) { /* biased: A first */
        int value;
        if (cfut_future_poll(s->child[i], cx, &value) == CFUT_READY) {
            o->index = i;
            o->value = value;
            drop_children(s); /* the winner is spent, the loser cancelled */
            return CFUT_READY;
        }
    }
    return CFUT_PENDING; /* both arranged a wake of our task */
}

static void
select2_drop(struct cfut_future *f)
{
    drop_children(cfut_container_of(f, struct select2, base));
}

static const struct cfut_future_vtable select2_vtable = {
    select2_poll, select2_drop, sizeof(struct select2_output), "select2", NULL};

void
select2_init(struct select2 *s, struct cfut_future *a, struct cfut_future *b)
{
    cfut_future_init(&s->base, &select2_vtable);
    s->child[0] = a;
    s->child[1] = b;
}
