/*
 * Lesson 22: mpsc and backpressure: a fast producer waits for a slow
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
 * Builds on: lesson 11 (async functions) and 17 (channels: closure
 *   reported).
 * API introduced: cfut_mpsc_new, struct cfut_mpsc_sender, struct
 *   cfut_mpsc_receiver, struct cfut_mpsc_send, cfut_mpsc_send_init, struct
 *   cfut_mpsc_recv, cfut_mpsc_recv_init, cfut_mpsc_len,
 *   cfut_mpsc_sender_drop, cfut_mpsc_receiver_drop, CFUT_MPSC_OUTPUT.
 * Run it: build/examples/22_backpressure   (try CFUT_TRACE=- too)
 * Expected output: examples/expected/22_backpressure.txt
 */
#include <cfut.h>
#include <stdio.h>

#define N_MESSAGES 5
#define CAPACITY 2

/* The producer task: sends 1..N_MESSAGES, one await per send. */
CFUT_ASYNC_FN(producer, void, ((struct cfut_mpsc_sender, tx)), int i;
              int status;
              struct cfut_mpsc_send send;) /* the child future of a send */
{
    CFUT_BEGIN();
    for (self->i = 1; self->i <= N_MESSAGES; self->i++) {
        /* Step 1: a send future for message i; it copies i when queued. */
        printf("producer: sending %d\n", self->i);
        cfut_mpsc_send_init(&self->send, &self->tx, &self->i);
        /* Step 2: await it: PENDING while the channel is full. */
        CFUT_AWAIT(&self->send, &self->status);
        printf("producer: %d is queued\n", self->i);
    }
    /* Step 3: drop the sender: the consumer will drain, then see closed. */
    cfut_mpsc_sender_drop(&self->tx);
    printf("producer: done, sender dropped\n");
    CFUT_END();
}

CFUT_ASYNC_DROP(producer)
{
    cfut_mpsc_sender_drop(&self->tx); /* a no-op once dropped */
}

/* The consumer task: receives until closed, yielding after each message
 * (it is the slow one). */
CFUT_ASYNC_FN(consumer, int, ((struct cfut_mpsc_receiver, rx)), int n;
              CFUT_MPSC_OUTPUT(int) msg; struct cfut_mpsc_recv recv;)
{
    CFUT_BEGIN();
    for (;;) {
        /* Step 4: await the next message. */
        cfut_mpsc_recv_init(&self->recv, &self->rx);
        CFUT_AWAIT(&self->recv, &self->msg);
        if (self->msg.status == CFUT_ECLOSED)
            break;
        printf("  consumer: got %d (%zu still queued)\n", self->msg.value,
               cfut_mpsc_len(&self->rx));
        self->n++;
        /* Step 5: be slow: let every other task run before the next. */
        CFUT_YIELD();
    }
    printf("  consumer: channel closed after %d messages\n", self->n);
    CFUT_RETURN(self->n);
    CFUT_END();
}

CFUT_ASYNC_DROP(consumer)
{
    cfut_mpsc_receiver_drop(&self->rx);
}

int
main(void)
{
    struct cfut_executor *ex;
    if (cfut_executor_new(&ex) != CFUT_OK)
        return 1;
    /* Step 0: a channel of ints holding at most CAPACITY messages. */
    struct cfut_mpsc_sender tx;
    struct cfut_mpsc_receiver rx;
    if (cfut_mpsc_new(sizeof(int), CAPACITY, NULL, &tx, &rx) != CFUT_OK)
        return 1;
    printf("channel of capacity %d\n", CAPACITY);

    /* Spawn both (the halves move into the tasks) and wait for the
     * consumer's count. */
    struct cfut_join_handle hc;
    if (producer_spawn(ex, NULL, tx) != CFUT_OK ||
        consumer_spawn(ex, &hc, rx) != CFUT_OK)
        return 1;
    CFUT_JOIN_OUTPUT(int) r;
    int rc = cfut_block_on(ex, &hc.base, &r);
    printf("consumer received %d of %d\n", r.value, N_MESSAGES);
    cfut_executor_free(ex);
    return rc == CFUT_OK && r.value == N_MESSAGES ? 0 : 1;
}
