/*
 * take.c: exercise 09, the reference solution (spoilers: try the exercise
 * first). A leaf that keeps one waker when it must wait, and spends the
 * task's budget when it need not, as cfut's channels do.
 */
#include "take.h"

void
queue_init(struct queue *q)
{
    q->head = 0;
    q->len = 0;
    q->closed = false;
    q->waiter = CFUT_WAKER_EMPTY;
}

int
queue_push(struct queue *q, int item)
{
    if (q->closed)
        return CFUT_ECLOSED;
    if (q->len == QUEUE_CAP)
        return CFUT_EFULL;
    q->items[(q->head + q->len) % QUEUE_CAP] = item;
    q->len++;
    cfut_waker_wake(&q->waiter); /* consumes the kept clone; empty: no-op */
    return CFUT_OK;
}

void
queue_close(struct queue *q)
{
    q->closed = true;
    cfut_waker_wake(&q->waiter); /* the end is news too */
}

static enum cfut_poll
take_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct take *t = cfut_container_of(f, struct take, base);
    struct queue *q = t->q;
    struct take_output *o = out;
    if (q->len > 0) {
        /* Ready without waiting: pay for it, or give the turn back (the
         * task was woken, so it runs again after the others). */
        if (!cfut_context_consume_budget(cx))
            return CFUT_PENDING;
        o->status = CFUT_OK;
        o->item = q->items[q->head];
        q->head = (q->head + 1) % QUEUE_CAP;
        q->len--;
        return CFUT_READY;
    }
    if (q->closed) {
        o->status = CFUT_ECLOSED;
        o->item = 0;
        return CFUT_READY;
    }
    cfut_waker_register(&q->waiter, cx->waker); /* the newest one */
    return CFUT_PENDING;
}

static void
take_drop(struct cfut_future *f)
{
    /* Only a pending take leaves a waker in the queue (one consumer). */
    cfut_waker_drop(&cfut_container_of(f, struct take, base)->q->waiter);
}

static const struct cfut_future_vtable take_vtable = {
    take_poll, take_drop, sizeof(struct take_output), "take", NULL};

void
take_init(struct take *t, struct queue *q)
{
    cfut_future_init(&t->base, &take_vtable);
    t->q = q;
}
