/*
 * Lesson 17: the oneshot channel, local and thread-safe.
 *
 * What you will learn:
 *   - a oneshot carries one value from a sender (a plain handle you can
 *     keep anywhere, in a map for instance) to a receiver (a future);
 *   - the state they share has two owners, so it is counted: the local
 *     kind uses a plain count (Rust's Rc<RefCell>), the thread-safe kind a
 *     mutex (Arc<Mutex>), so its sender may live on another thread;
 *   - closure is reported: a dropped sender makes the receiver finish with
 *     CFUT_ECANCELED; a send to a dropped receiver fails with CFUT_ECLOSED
 *     and the value stays yours.
 * Builds on: lesson 07 (another thread), 09 (tasks), 11 (async functions).
 * API introduced: cfut_oneshot_new, struct cfut_oneshot_sender, struct
 *   cfut_oneshot_receiver, cfut_oneshot_send, cfut_oneshot_sender_drop,
 *   CFUT_ONESHOT_OUTPUT, CFUT_ECANCELED, CFUT_ECLOSED,
 *   cfut_oneshot_sync_new, struct cfut_oneshot_sync_sender, struct
 *   cfut_oneshot_sync_receiver, cfut_oneshot_sync_send.
 * Run it: build/examples/17_oneshot   (try CFUT_TRACE=- too)
 * Expected output: examples/expected/17_oneshot.txt
 */
#include <cfut.h>
#include <pthread.h>
#include <stdio.h>
#include <time.h>

/* A server task: it owns the sender, works for a turn, then answers. */
CFUT_ASYNC_FN(server, void, ((struct cfut_oneshot_sender, tx)))
{
    CFUT_BEGIN();
    printf("  server: working\n");
    CFUT_YIELD();
    static const int answer = 42;
    printf("  server: send(42) -> %s\n",
           cfut_status_name(cfut_oneshot_send(&self->tx, &answer)));
    CFUT_END();
}

/* Cancelled before it answers, the server still lets go of the sender
 * (after a send it is empty, and dropping it does nothing). */
CFUT_ASYNC_DROP(server)
{
    cfut_oneshot_sender_drop(&self->tx);
}

/* The thread-safe kind: a plain thread sends after a nap. */
static void *
sender_thread(void *arg)
{
    struct cfut_oneshot_sync_sender *tx = arg;
    struct timespec ts = {0, 20 * 1000000L};
    nanosleep(&ts, NULL);
    int v = 7;
    printf("  thread: send(7)\n");
    if (cfut_oneshot_sync_send(tx, &v) != CFUT_OK)
        printf("  thread: the receiver is gone\n");
    return NULL;
}

int
main(void)
{
    struct cfut_executor *ex;
    if (cfut_executor_new(&ex) != CFUT_OK)
        return 1;
    struct cfut_oneshot_sender tx;
    struct cfut_oneshot_receiver rx;
    CFUT_ONESHOT_OUTPUT(int) got;

    /* Step 1: a request's reply: the server task gets the sender, we await
     * the receiver. */
    printf("local oneshot:\n");
    if (cfut_oneshot_new(sizeof(int), NULL, &tx, &rx) != CFUT_OK)
        return 1;
    if (server_spawn(ex, NULL, tx) != CFUT_OK) /* the sender moves in */
        return 1;
    cfut_block_on(ex, &rx.base, &got);
    printf("  receiver: %s, %d\n", cfut_status_name(got.status), got.value);

    /* Step 2: the sender is dropped without sending: the receiver knows. */
    printf("sender dropped:\n");
    if (cfut_oneshot_new(sizeof(int), NULL, &tx, &rx) != CFUT_OK)
        return 1;
    cfut_oneshot_sender_drop(&tx);
    cfut_block_on(ex, &rx.base, &got);
    printf("  receiver: %s%s\n", cfut_status_name(got.status),
           got.status == CFUT_ECANCELED ? ": no value will ever come" : "");

    /* Step 3: the receiver is dropped first: the send fails, value kept. */
    printf("receiver dropped:\n");
    if (cfut_oneshot_new(sizeof(int), NULL, &tx, &rx) != CFUT_OK)
        return 1;
    cfut_future_drop(&rx.base);
    int mine = 5;
    int rc = cfut_oneshot_send(&tx, &mine);
    printf("  send(5) -> %s%s\n", cfut_status_name(rc),
           rc == CFUT_ECLOSED ? "; the 5 is still ours" : "");

    /* Step 4: the thread-safe kind: the sender goes to another thread,
     * whose send wakes our task through the executor's cross-thread path. */
    printf("thread-safe oneshot:\n");
    struct cfut_oneshot_sync_sender stx;
    struct cfut_oneshot_sync_receiver srx;
    if (cfut_oneshot_sync_new(sizeof(int), NULL, &stx, &srx) != CFUT_OK)
        return 1;
    pthread_t th;
    if (pthread_create(&th, NULL, sender_thread, &stx) != 0)
        return 1;
    cfut_block_on(ex, &srx.base, &got);
    pthread_join(th, NULL);
    printf("  receiver: %s, %d\n", cfut_status_name(got.status), got.value);
    cfut_executor_free(ex);
    return 0;
}
