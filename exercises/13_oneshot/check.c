/*
 * check.c: the checks of exercise 13 (a oneshot channel). It links your
 * oneshot.c; run it with ./run exercise 13. It polls your receiver by hand
 * with counting wakers, counts the blocks your channel allocates and
 * frees, and runs a sender task and your receiver on cfut's executor.
 */
#include "exkit.h"
#include "oneshot.h"

/* Makes a channel, which must take exactly one allocation. */
static void
make(struct shot_sender *tx, struct shot_receiver *rx)
{
    long before = exkit_alloc_count();
    int rc = shot_new(tx, rx);
    EXKIT_REQUIRE(rc == CFUT_OK, "shot_new() returned %s",
                  cfut_status_name(rc));
    EXKIT_REQUIRE(exkit_alloc_count() - before == 1,
                  "shot_new() made %ld allocations with cfut_alloc() instead "
                  "of 1: the two halves share one block",
                  exkit_alloc_count() - before);
    EXKIT_REQUIRE(tx->shared != NULL && tx->shared == rx->shared,
                  "the sender and the receiver do not point at the same "
                  "shared state");
}

static enum cfut_poll
poll_rx(struct shot_receiver *rx, struct exkit_waker *w,
        struct shot_output *out)
{
    struct cfut_waker waker = exkit_waker_of(w);
    struct cfut_context cx;
    cfut_context_init(&cx, &waker);
    return cfut_future_poll(&rx->base, &cx, out);
}

/* Polls a fresh receiver: PENDING, with one clone of the waker kept. */
static void
poll_pending(struct shot_receiver *rx, struct exkit_waker *w)
{
    struct shot_output out = {99, 99};
    enum cfut_poll p = poll_rx(rx, w, &out);
    EXKIT_REQUIRE(p == CFUT_PENDING,
                  "a receiver polled before anything was sent answered READY "
                  "(status %s)",
                  cfut_status_name(out.status));
    EXKIT_REQUIRE(atomic_load(&w->refs) == 1,
                  "a waiting receiver should keep one clone of the waker; it "
                  "keeps %d",
                  atomic_load(&w->refs));
}

/* ---------------------------------------------------------------------- */

static void
check_send_then_receive(void)
{
    struct exkit_waker w;
    exkit_waker_init(&w);
    long live = exkit_alloc_live();
    struct shot_sender tx;
    struct shot_receiver rx;
    make(&tx, &rx);

    int rc = shot_send(&tx, 5);
    struct shot_output out = {99, 99};
    enum cfut_poll p = poll_rx(&rx, &w, &out);
    cfut_future_drop(&rx.base);

    EXKIT_REQUIRE(rc == CFUT_OK, "shot_send() to a live receiver returned %s",
                  cfut_status_name(rc));
    EXKIT_REQUIRE(p == CFUT_READY && out.status == CFUT_OK && out.value == 5,
                  "after shot_send(5) the receiver answered %s with {%s, %d} "
                  "instead of READY with {CFUT_OK, 5}",
                  p == CFUT_READY ? "READY" : "PENDING",
                  cfut_status_name(out.status), out.value);
    EXKIT_REQUIRE(exkit_alloc_live() == live,
                  "the sender sent and the receiver was dropped, but the "
                  "shared state was not freed: the last half to go frees it");
    exkit_waker_deinit(&w);
}

static void
check_receive_waits(void)
{
    struct exkit_waker w;
    exkit_waker_init(&w);
    struct shot_sender tx;
    struct shot_receiver rx;
    make(&tx, &rx);
    poll_pending(&rx, &w);

    shot_send(&tx, 7);

    EXKIT_REQUIRE(exkit_waker_n_woken(&w) == 1 && atomic_load(&w.refs) == 0,
                  "the send should wake the receiver's waker once, consuming "
                  "its clone; it was woken %d times and %d clones are left",
                  exkit_waker_n_woken(&w), atomic_load(&w.refs));
    struct shot_output out = {99, 99};
    enum cfut_poll p = poll_rx(&rx, &w, &out);
    EXKIT_REQUIRE(p == CFUT_READY && out.status == CFUT_OK && out.value == 7,
                  "after the wake the receiver answered %s with {%s, %d} "
                  "instead of READY with {CFUT_OK, 7}",
                  p == CFUT_READY ? "READY" : "PENDING",
                  cfut_status_name(out.status), out.value);
    cfut_future_drop(&rx.base);
    exkit_waker_deinit(&w);
}

static void
check_newest_waker(void)
{
    struct exkit_waker a, b;
    exkit_waker_init(&a);
    exkit_waker_init(&b);
    struct shot_sender tx;
    struct shot_receiver rx;
    make(&tx, &rx);
    poll_pending(&rx, &a);

    struct shot_output out;
    poll_rx(&rx, &b, &out); /* polled again by another task */
    int a_refs = atomic_load(&a.refs), b_refs = atomic_load(&b.refs);
    shot_send(&tx, 1);

    EXKIT_REQUIRE(a_refs == 0 && b_refs == 1,
                  "polled with waker A, then with waker B, the receiver kept "
                  "%d clones of A and %d of B instead of 0 and 1: only the "
                  "latest poll's waker must be woken",
                  a_refs, b_refs);
    EXKIT_REQUIRE(exkit_waker_n_woken(&b) == 1 && exkit_waker_n_woken(&a) == 0,
                  "the send woke A %d times and B %d times instead of 0 and "
                  "1",
                  exkit_waker_n_woken(&a), exkit_waker_n_woken(&b));
    cfut_future_drop(&rx.base);
    exkit_waker_deinit(&a);
    exkit_waker_deinit(&b);
}

static void
check_sender_dropped(void)
{
    struct exkit_waker w;
    exkit_waker_init(&w);
    struct shot_sender tx;
    struct shot_receiver rx;
    make(&tx, &rx);
    poll_pending(&rx, &w);

    shot_sender_drop(&tx);

    EXKIT_REQUIRE(exkit_waker_n_woken(&w) == 1,
                  "the sender was dropped without sending, but the waiting "
                  "receiver was not woken: it would wait forever");
    struct shot_output out = {99, 99};
    enum cfut_poll p = poll_rx(&rx, &w, &out);
    EXKIT_REQUIRE(p == CFUT_READY && out.status == CFUT_ECANCELED,
                  "after its sender was dropped the receiver answered %s with "
                  "status %s instead of READY with CFUT_ECANCELED",
                  p == CFUT_READY ? "READY" : "PENDING",
                  cfut_status_name(out.status));
    cfut_future_drop(&rx.base);
    exkit_waker_deinit(&w);
}

static void
check_receiver_dropped(void)
{
    struct exkit_waker w;
    exkit_waker_init(&w);
    long live = exkit_alloc_live();
    struct shot_sender tx;
    struct shot_receiver rx;
    make(&tx, &rx);
    poll_pending(&rx, &w);

    cfut_future_drop(&rx.base);
    int refs = atomic_load(&w.refs);
    int rc = shot_send(&tx, 3);

    EXKIT_REQUIRE(refs == 0,
                  "the receiver was dropped while waiting, but its clone of "
                  "the waker was not released");
    EXKIT_REQUIRE(rc == CFUT_ECLOSED,
                  "shot_send() to a dropped receiver returned %s instead of "
                  "CFUT_ECLOSED: nobody will ever read the value",
                  cfut_status_name(rc));
    EXKIT_REQUIRE(exkit_alloc_live() == live,
                  "both halves are gone, but the shared state was not freed");
    exkit_waker_deinit(&w);
}

static void
check_freed_in_every_order(void)
{
    static const char *const orders[] = {
        "send, then drop the receiver unpolled",
        "drop the receiver, then drop the sender",
        "drop the sender, then drop the receiver",
        "send, poll the receiver (READY), drop it",
    };
    for (int k = 0; k < 4; k++) {
        long live = exkit_alloc_live();
        struct shot_sender tx;
        struct shot_receiver rx;
        make(&tx, &rx);
        struct shot_output out;
        struct cfut_context cx;
        cfut_context_init(&cx, cfut_waker_noop());
        switch (k) {
        case 0:
            shot_send(&tx, 1);
            cfut_future_drop(&rx.base);
            break;
        case 1:
            cfut_future_drop(&rx.base);
            shot_sender_drop(&tx);
            break;
        case 2:
            shot_sender_drop(&tx);
            cfut_future_drop(&rx.base);
            break;
        default:
            shot_send(&tx, 1);
            cfut_future_poll(&rx.base, &cx, &out);
            cfut_future_drop(&rx.base);
            break;
        }
        EXKIT_REQUIRE(exkit_alloc_live() == live,
                      "%s: both halves are gone but the shared state was not "
                      "freed (count the halves still alive: 2, then 1, then "
                      "free)",
                      orders[k]);
    }
}

static void
check_out_of_memory(void)
{
    struct shot_sender tx = {(struct shot *)&tx};
    struct shot_receiver rx;
    rx.shared = (struct shot *)&rx;
    struct shot_sender ok_tx;
    struct shot_receiver ok_rx;
    make(&ok_tx, &ok_rx); /* first, one that works */
    shot_sender_drop(&ok_tx);
    cfut_future_drop(&ok_rx.base);

    exkit_alloc_fail_at(1);
    int rc = shot_new(&tx, &rx);
    exkit_alloc_fail_at(0);

    EXKIT_REQUIRE(rc == CFUT_ENOMEM,
                  "shot_new() returned %s when cfut_alloc() failed instead of "
                  "CFUT_ENOMEM",
                  cfut_status_name(rc));
    EXKIT_REQUIRE(tx.shared == (struct shot *)&tx &&
                      rx.shared == (struct shot *)&rx,
                  "shot_new() failed but wrote to the halves: on failure, "
                  "leave them untouched");
}

/* ---------------------------------------------------------------------- */
/* Across tasks, on cfut's executor                                        */
/* ---------------------------------------------------------------------- */

/* A task that owns the sender: it yields once, then sends 42. */
struct server {
    struct cfut_future base;
    struct cfut_coro co;
    struct shot_sender tx;
};

static enum cfut_poll
server_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct server *s = cfut_container_of(f, struct server, base);
    (void)out;
    CFUT_ASYNC_BEGIN(&s->co);
    CFUT_YIELD(&s->co, cx);
    shot_send(&s->tx, 42);
    CFUT_ASYNC_END(&s->co);
}

static void
server_drop(struct cfut_future *f)
{
    shot_sender_drop(&cfut_container_of(f, struct server, base)->tx);
}

static const struct cfut_future_vtable server_vtable = {
    server_poll, server_drop, 0, "server", NULL};

static void
check_across_tasks(void)
{
    struct cfut_executor *ex;
    EXKIT_REQUIRE(cfut_executor_new(&ex) == CFUT_OK,
                  "(the check could not make an executor)");
    struct server s;
    cfut_future_init(&s.base, &server_vtable);
    cfut_coro_init(&s.co);
    struct shot_receiver rx;
    make(&s.tx, &rx);
    EXKIT_REQUIRE(cfut_spawn(ex, &s.base, sizeof s, NULL) == CFUT_OK,
                  "(the check could not spawn the sender's task)");

    struct shot_output out = {99, 99};
    exkit_trace_begin();
    int rc = cfut_block_on(ex, &rx.base, &out);
    const char *trace = exkit_trace_end();
    cfut_executor_free(ex);

    exkit_note_trace(trace);
    EXKIT_REQUIRE(rc == CFUT_OK && out.status == CFUT_OK && out.value == 42,
                  "a task sent 42 while cfut_block_on() awaited your "
                  "receiver: block_on returned %s with {%s, %d}",
                  cfut_status_name(rc), cfut_status_name(out.status),
                  out.value);
    EXKIT_REQUIRE(exkit_trace_count(trace, "woken by task 1") == 1,
                  "the trace does not show the receiver woken once by the "
                  "sending task (task 1)");
}

static const struct exkit_check checks[] = {
    {"send-then-receive",
     "one block; a value sent first is received at once; then freed",
     check_send_then_receive},
    {"receive-waits", "a waiting receiver is woken once by the send",
     check_receive_waits},
    {"newest-waker", "the send wakes the latest poll's waker",
     check_newest_waker},
    {"sender-dropped", "a dropped sender wakes the receiver: CFUT_ECANCELED",
     check_sender_dropped},
    {"receiver-dropped",
     "a dropped receiver lets its waker go; the send is CFUT_ECLOSED",
     check_receiver_dropped},
    {"freed-in-every-order", "the state is freed whichever half goes last",
     check_freed_in_every_order},
    {"out-of-memory", "a failed allocation is CFUT_ENOMEM, halves untouched",
     check_out_of_memory},
    {"across-tasks", "one task sends, another awaits, on cfut's executor",
     check_across_tasks},
};

int
main(int argc, char **argv)
{
    return exkit_main(argc, argv, "10_oneshot", "a oneshot channel", checks,
                      EXKIT_N(checks));
}
