/*
 * take.h: exercise 09, a leaf future that takes items from a queue: it
 * waits when the queue is empty, and spends the task's cooperative budget
 * when items are there, so that a busy queue cannot starve other tasks.
 * The interface the check calls; do not change it. You write take.c.
 *
 * Single-threaded: the queue, its producer and its one consumer run on
 * one thread.
 */
#ifndef TAKE_H
#define TAKE_H

#include <cfut.h>
#include <stdbool.h>
#include <stddef.h>

/* How many items a queue holds at most. */
#define QUEUE_CAP 1024

/* A queue of ints with one consumer. */
struct queue {
    int items[QUEUE_CAP];
    size_t head;              /* index of the oldest item */
    size_t len;               /* items queued */
    bool closed;              /* no more items will come */
    struct cfut_waker waiter; /* the waiting consumer's waker, or empty */
};

/* Initialises 'q' empty and open. */
void queue_init(struct queue *q);

/*
 * Appends 'item' and wakes the waiting consumer, if any.
 * Returns: CFUT_OK; CFUT_EFULL when QUEUE_CAP items are queued;
 *   CFUT_ECLOSED when the queue was closed.
 */
int queue_push(struct queue *q, int item);

/* Closes 'q': no more items; wakes the waiting consumer, if any. */
void queue_close(struct queue *q);

/* The output of a take. */
struct take_output {
    int status; /* CFUT_OK ('item' is set), or CFUT_ECLOSED: closed and empty */
    int item;
};

/*
 * A future that takes the oldest item of 'q'. When an item is there it
 * spends one unit of the task's budget (cfut_context_consume_budget())
 * and is READY with it; when the budget is spent it answers PENDING (the
 * task was woken by consume_budget, so it yields its turn and comes
 * back). When the queue is empty and open, it keeps the newest waker in
 * the queue's 'waiter' and answers PENDING. Dropped while waiting, it
 * releases that waker.
 * Pinned: from its first poll until drop.
 */
struct take {
    struct cfut_future base;
    struct queue *q; /* borrowed */
};

/* Initialises 't' as a fresh future taking from 'q'. */
void take_init(struct take *t, struct queue *q);

#endif /* TAKE_H */
