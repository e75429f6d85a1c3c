/*
 * Lesson 19: mpsc and backpressure: a fast producer waits for a slow
 * consumer.
 *
 * What you will learn:
 *   - a bounded mpsc channel holds at most 'capacity' messages; a send is a
 *     future that stays PENDING while the channel is full, so a producer can
 *     never run ahead of its consumer by more than that (backpressure);
 *   - a receive frees a slot and wakes the first waiting sender: the slot is
 *     handed to it, so waiting senders are served in order;
 *   - when the last sender is gone, the receiver drains what is queued and
 *     then sees CFUT_ECLOSED: nothing is lost at shutdown.
 * Builds on: lesson 08 (tasks), 09 (await), 12 (channels).
 * API introduced: cfut_mpsc_new, cfut_mpsc_send_init, cfut_mpsc_recv_init,
 *   cfut_mpsc_sender_drop, cfut_mpsc_receiver_drop, CFUT_MPSC_OUTPUT.
 * Run it: build/examples/19_backpressure   (try CFUT_TRACE=- too)
 * Expected output: examples/expected/19_backpressure.txt
 */
#include <cfut.h>
#include <stdio.h>

#define N_MESSAGES 5
#define CAPACITY 2

/* The producer task: sends 1..N_MESSAGES, one await per send. */
struct producer {
    struct cfut_future base;
    struct cfut_coro co;
    struct cfut_mpsc_sender tx; /* moved in: the task owns it */
    int i, status;
    struct cfut_mpsc_send send; /* the child future of each send */
};

static enum cfut_poll
producer_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct producer *p = cfut_container_of(f, struct producer, base);
    (void)out;
    CFUT_ASYNC_BEGIN(&p->co);
    for (p->i = 1; p->i <= N_MESSAGES; p->i++) {
        /* Step 1: a send future for message i; it copies i when queued. */
        printf("producer: sending %d\n", p->i);
        cfut_mpsc_send_init(&p->send, &p->tx, &p->i);
        /* Step 2: await it: PENDING while the channel is full. */
        CFUT_AWAIT(&p->co, cx, &p->send.base, &p->status);
        printf("producer: %d is queued\n", p->i);
    }
    /* Step 3: drop the sender: the consumer will drain, then see closed. */
    cfut_mpsc_sender_drop(&p->tx);
    printf("producer: done, sender dropped\n");
    CFUT_ASYNC_END(&p->co);
}

static void
producer_drop(struct cfut_future *f)
{
    struct producer *p = cfut_container_of(f, struct producer, base);
    cfut_coro_drop(&p->co);        /* a pending send, if any */
    cfut_mpsc_sender_drop(&p->tx); /* a no-op once dropped */
}

static const struct cfut_future_vtable producer_vtable = {
    producer_poll, producer_drop, 0, "producer", NULL};

/* The consumer task: receives until closed, yielding after each message
 * (it is the slow one). */
struct consumer {
    struct cfut_future base;
    struct cfut_coro co;
    struct cfut_mpsc_receiver rx;
    int n;
    CFUT_MPSC_OUTPUT(int) msg;
    struct cfut_mpsc_recv recv;
};

static enum cfut_poll
consumer_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct consumer *c = cfut_container_of(f, struct consumer, base);
    CFUT_ASYNC_BEGIN(&c->co);
    for (;;) {
        /* Step 4: await the next message. */
        cfut_mpsc_recv_init(&c->recv, &c->rx);
        CFUT_AWAIT(&c->co, cx, &c->recv.base, &c->msg);
        if (c->msg.status == CFUT_ECLOSED)
            break;
        printf("  consumer: got %d (%zu still queued)\n", c->msg.value,
               cfut_mpsc_len(&c->rx));
        c->n++;
        /* Step 5: be slow: let every other task run before the next. */
        CFUT_YIELD(&c->co, cx);
    }
    printf("  consumer: channel closed after %d messages\n", c->n);
    CFUT_ASYNC_RETURN(&c->co, out, int, c->n);
    CFUT_ASYNC_END(&c->co);
}

static void
consumer_drop(struct cfut_future *f)
{
    struct consumer *c = cfut_container_of(f, struct consumer, base);
    cfut_coro_drop(&c->co);
    cfut_mpsc_receiver_drop(&c->rx);
}

static const struct cfut_future_vtable consumer_vtable = {
    consumer_poll, consumer_drop, sizeof(int), "consumer", NULL};

int
main(void)
{
    struct cfut_executor *ex;
    if (cfut_executor_new(&ex) != CFUT_OK)
        return 1;
    /* Step 0: a channel of ints holding at most CAPACITY messages. */
    struct producer p = {0};
    struct consumer c = {0};
    if (cfut_mpsc_new(sizeof(int), CAPACITY, NULL, &p.tx, &c.rx) != CFUT_OK)
        return 1;
    printf("channel of capacity %d\n", CAPACITY);
    cfut_future_init(&p.base, &producer_vtable);
    cfut_coro_init(&p.co);
    cfut_future_init(&c.base, &consumer_vtable);
    cfut_coro_init(&c.co);

    /* Spawn both (the handles move into the tasks) and wait for the
     * consumer's count. */
    struct cfut_join_handle hc;
    if (cfut_spawn(ex, &p.base, sizeof p, NULL) != CFUT_OK ||
        cfut_spawn(ex, &c.base, sizeof c, &hc) != CFUT_OK)
        return 1;
    CFUT_JOIN_OUTPUT(int) r;
    int rc = cfut_block_on(ex, &hc.base, &r);
    printf("consumer received %d of %d\n", r.value, N_MESSAGES);
    cfut_executor_free(ex);
    return rc == CFUT_OK && r.value == N_MESSAGES ? 0 : 1;
}
