/*
 * take.c: exercise 09, a leaf future that waits on an empty queue and
 * spends the cooperative budget on a busy one.
 * This is your file: fill in the functions below, then run
 *     ./run exercise 9
 * The README beside this file says what to build and gives hints.
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
    /* Exercise: the consumer may be waiting for this item. */
    return CFUT_OK;
}

void
queue_close(struct queue *q)
{
    q->closed = true;
    /* Exercise: the consumer may be waiting: it must learn the end. */
}

static enum cfut_poll
take_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    /* Exercise: an item is there: spend a unit of budget (if it is spent,
     * answer PENDING), then READY with the item. Empty and closed: READY
     * with CFUT_ECLOSED. Empty and open: keep the newest waker in the
     * queue, PENDING. */
    (void)f;
    (void)cx;
    (void)out;
    return CFUT_PENDING;
}

static void
take_drop(struct cfut_future *f)
{
    /* Exercise: a waiting take leaves: release the waker it left. */
    (void)f;
}

static const struct cfut_future_vtable take_vtable = {
    take_poll, take_drop, sizeof(struct take_output), "take", NULL};

void
take_init(struct take *t, struct queue *q)
{
    cfut_future_init(&t->base, &take_vtable);
    t->q = q;
}
