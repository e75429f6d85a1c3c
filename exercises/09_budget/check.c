/*
 * check.c: the checks of exercise 09 (a leaf future that waits on an
 * empty queue and spends the cooperative budget on a busy one). It links
 * your take.c; run it with ./run exercise 9. It polls your take by hand
 * with counting wakers, then runs a consumer task beside a ticker task on
 * cfut's executor to see whether the ticker gets its turns.
 */
#include "exkit.h"
#include "take.h"

static enum cfut_poll
poll_take(struct take *t, struct exkit_waker *w, struct take_output *out)
{
    struct cfut_waker waker = exkit_waker_of(w);
    struct cfut_context cx; /* polled by hand: no budget, no limit */
    cfut_context_init(&cx, &waker);
    return cfut_future_poll(&t->base, &cx, out);
}

/* Takes one item by hand: READY with {want, item} expected. */
static void
take_one(struct queue *q, struct exkit_waker *w, int status, int item,
         const char *when)
{
    struct take t;
    take_init(&t, q);
    struct take_output out = {99, 99};
    enum cfut_poll p = poll_take(&t, w, &out);
    cfut_future_drop(&t.base);
    EXKIT_REQUIRE(p == CFUT_READY,
                  "%s, your take answered PENDING instead of READY with {%s, "
                  "%d}",
                  when, cfut_status_name(status), item);
    EXKIT_REQUIRE(
        out.status == status && (status != CFUT_OK || out.item == item),
        "%s, your take gave {%s, %d} instead of {%s, %d}", when,
        cfut_status_name(out.status), out.item, cfut_status_name(status), item);
}

/* ---------------------------------------------------------------------- */

static void
check_takes_in_order(void)
{
    struct exkit_waker w;
    exkit_waker_init(&w);
    struct queue q;
    queue_init(&q);
    for (int i = 1; i <= 3; i++)
        queue_push(&q, i * 11);

    take_one(&q, &w, CFUT_OK, 11, "with 11, 22, 33 queued");
    take_one(&q, &w, CFUT_OK, 22, "then");
    take_one(&q, &w, CFUT_OK, 33, "then");

    EXKIT_REQUIRE(q.len == 0, "three takes left %zu items queued", q.len);
    exkit_waker_deinit(&w);
}

static void
check_waits_when_empty(void)
{
    struct exkit_waker w;
    exkit_waker_init(&w);
    struct queue q;
    queue_init(&q);
    struct take t;
    take_init(&t, &q);
    struct take_output out = {99, 99};

    enum cfut_poll p = poll_take(&t, &w, &out);
    int refs = atomic_load(&w.refs);
    queue_push(&q, 7);

    EXKIT_REQUIRE(p == CFUT_PENDING,
                  "a take on an empty, open queue answered READY");
    EXKIT_REQUIRE(refs == 1,
                  "a take waiting on an empty queue should keep one clone of "
                  "the waker (in the queue's 'waiter'); it kept %d",
                  refs);
    EXKIT_REQUIRE(exkit_waker_n_woken(&w) == 1 && atomic_load(&w.refs) == 0,
                  "the push should wake the waiting take once, consuming the "
                  "clone; the waker was woken %d times and %d clones are "
                  "left",
                  exkit_waker_n_woken(&w), atomic_load(&w.refs));
    p = poll_take(&t, &w, &out);
    EXKIT_REQUIRE(p == CFUT_READY && out.status == CFUT_OK && out.item == 7,
                  "after the push, the take answered %s with {%s, %d} "
                  "instead of READY with {CFUT_OK, 7}",
                  p == CFUT_READY ? "READY" : "PENDING",
                  cfut_status_name(out.status), out.item);
    cfut_future_drop(&t.base);
    exkit_waker_deinit(&w);
}

static void
check_closed(void)
{
    struct exkit_waker w;
    exkit_waker_init(&w);
    struct queue q;
    queue_init(&q);
    struct take t;
    take_init(&t, &q);
    struct take_output out = {99, 99};
    enum cfut_poll p = poll_take(&t, &w, &out);
    EXKIT_REQUIRE(p == CFUT_PENDING && atomic_load(&w.refs) == 1,
                  "a take on an empty queue should answer PENDING and keep "
                  "one clone of the waker");

    queue_close(&q);

    EXKIT_REQUIRE(exkit_waker_n_woken(&w) == 1,
                  "the queue was closed while a take waited, but the take "
                  "was not woken: it would wait forever");
    p = poll_take(&t, &w, &out);
    EXKIT_REQUIRE(p == CFUT_READY && out.status == CFUT_ECLOSED,
                  "a take on a closed, empty queue answered %s with %s "
                  "instead of READY with CFUT_ECLOSED",
                  p == CFUT_READY ? "READY" : "PENDING",
                  cfut_status_name(out.status));
    cfut_future_drop(&t.base);
    exkit_waker_deinit(&w);
}

static void
check_drains_before_closed(void)
{
    struct exkit_waker w;
    exkit_waker_init(&w);
    struct queue q;
    queue_init(&q);
    queue_push(&q, 5);
    queue_close(&q);

    take_one(&q, &w, CFUT_OK, 5, "with 5 queued, then the queue closed");
    take_one(&q, &w, CFUT_ECLOSED, 0, "after that");
    exkit_waker_deinit(&w);
}

static void
check_newest_waker(void)
{
    struct exkit_waker a, b;
    exkit_waker_init(&a);
    exkit_waker_init(&b);
    struct queue q;
    queue_init(&q);
    struct take t;
    take_init(&t, &q);
    struct take_output out;
    poll_take(&t, &a, &out);
    EXKIT_REQUIRE(atomic_load(&a.refs) == 1,
                  "a take on an empty queue should keep one clone of the "
                  "waker; it kept %d",
                  atomic_load(&a.refs));

    poll_take(&t, &b, &out); /* polled again by another task */
    int a_refs = atomic_load(&a.refs), b_refs = atomic_load(&b.refs);
    queue_push(&q, 1);

    EXKIT_REQUIRE(a_refs == 0 && b_refs == 1,
                  "polled with waker A, then with waker B, the take kept %d "
                  "clones of A and %d of B instead of 0 and 1",
                  a_refs, b_refs);
    EXKIT_REQUIRE(exkit_waker_n_woken(&b) == 1 && exkit_waker_n_woken(&a) == 0,
                  "the push woke A %d times and B %d times instead of 0 and "
                  "1",
                  exkit_waker_n_woken(&a), exkit_waker_n_woken(&b));
    cfut_future_drop(&t.base);
    exkit_waker_deinit(&a);
    exkit_waker_deinit(&b);
}

static void
check_drop_releases_waker(void)
{
    struct exkit_waker w;
    exkit_waker_init(&w);
    struct queue q;
    queue_init(&q);
    struct take t;
    take_init(&t, &q);
    struct take_output out;
    poll_take(&t, &w, &out);
    EXKIT_REQUIRE(atomic_load(&w.refs) == 1,
                  "a take on an empty queue should keep one clone of the "
                  "waker; it kept %d",
                  atomic_load(&w.refs));

    cfut_future_drop(&t.base);

    EXKIT_REQUIRE(atomic_load(&w.refs) == 0 && q.waiter.vtable == NULL,
                  "a waiting take was dropped, but its waker stayed in the "
                  "queue: drop releases it (cancellation)");
    exkit_waker_deinit(&w);
}

/* ---------------------------------------------------------------------- */
/* A busy queue on cfut's executor: does the ticker get its turns?         */
/* ---------------------------------------------------------------------- */

static int n_taken; /* items the consumer took so far */
static int seen[3]; /* what the ticker saw at each of its turns */
static int consumer_polls;

/* The consumer task: takes items until the queue says CFUT_ECLOSED. */
struct consumer {
    struct cfut_future base;
    struct cfut_coro co;
    struct queue *q;
    struct take t;
    struct take_output got;
};

static enum cfut_poll
consumer_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct consumer *c = cfut_container_of(f, struct consumer, base);
    (void)out;
    consumer_polls++;
    CFUT_ASYNC_BEGIN(&c->co);
    for (;;) {
        take_init(&c->t, c->q);
        CFUT_AWAIT(&c->co, cx, &c->t.base, &c->got);
        if (c->got.status != CFUT_OK)
            break;
        n_taken++;
    }
    CFUT_ASYNC_END(&c->co);
}

static void
consumer_drop(struct cfut_future *f)
{
    cfut_coro_drop(&cfut_container_of(f, struct consumer, base)->co);
}

static const struct cfut_future_vtable consumer_vtable = {
    consumer_poll, consumer_drop, 0, "consumer", NULL};

/* The ticker task: three turns, noting what the consumer has taken. */
struct ticker {
    struct cfut_future base;
    struct cfut_coro co;
    int turn;
};

static enum cfut_poll
ticker_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct ticker *t = cfut_container_of(f, struct ticker, base);
    (void)out;
    CFUT_ASYNC_BEGIN(&t->co);
    for (t->turn = 0; t->turn < 3; t->turn++) {
        seen[t->turn] = n_taken;
        CFUT_YIELD(&t->co, cx);
    }
    CFUT_ASYNC_END(&t->co);
}

static const struct cfut_future_vtable ticker_vtable = {ticker_poll, NULL, 0,
                                                        "ticker", NULL};

static void
check_spends_budget(void)
{
    static struct queue q; /* 4 KiB: not on the check's stack */
    queue_init(&q);
    for (int i = 0; i < 300; i++)
        queue_push(&q, i);
    queue_close(&q);
    n_taken = consumer_polls = 0;
    struct cfut_executor *ex;
    EXKIT_REQUIRE(cfut_executor_new(&ex) == CFUT_OK,
                  "(the check could not make an executor)");
    struct ticker t;
    cfut_future_init(&t.base, &ticker_vtable);
    cfut_coro_init(&t.co);
    cfut_spawn(ex, &t.base, sizeof t, NULL);
    struct consumer c;
    cfut_future_init(&c.base, &consumer_vtable);
    cfut_coro_init(&c.co);
    c.q = &q;

    int rc = cfut_block_on(ex, &c.base, NULL);
    cfut_executor_run(ex); /* the ticker's last turns */
    cfut_executor_free(ex);

    EXKIT_REQUIRE(rc == CFUT_OK && n_taken == 300,
                  "a consumer of 300 queued items took %d (cfut_block_on() "
                  "returned %s)",
                  n_taken, cfut_status_name(rc));
    EXKIT_REQUIRE(
        seen[1] == (int)CFUT_BUDGET && seen[2] == 2 * (int)CFUT_BUDGET,
        "beside a consumer of 300 items, a ticker task saw %d, %d "
        "and %d items taken at its three turns instead of 0, %u "
        "and %u: each take must spend a unit of the task's budget "
        "(cfut_context_consume_budget()) and answer PENDING when "
        "it is spent, so that the consumer yields every %u items",
        seen[0], seen[1], seen[2], CFUT_BUDGET, 2 * CFUT_BUDGET, CFUT_BUDGET);
    EXKIT_REQUIRE(consumer_polls == 3,
                  "the consumer was polled %d times instead of 3 (128 + 128 "
                  "+ the last 44 and the end)",
                  consumer_polls);
}

static const struct exkit_check checks[] = {
    {"takes-in-order", "items come out in the order they went in",
     check_takes_in_order},
    {"waits-when-empty", "an empty queue: PENDING; a push wakes the take once",
     check_waits_when_empty},
    {"closed", "closing wakes a waiting take, which ends with CFUT_ECLOSED",
     check_closed},
    {"drains-before-closed", "items queued before the close are still taken",
     check_drains_before_closed},
    {"newest-waker", "the push wakes the latest poll's waker",
     check_newest_waker},
    {"drop-releases-waker", "a dropped waiting take releases its waker",
     check_drop_releases_waker},
    {"spends-budget",
     "a busy queue: the consumer yields every 128 items, the ticker runs",
     check_spends_budget},
};

int
main(int argc, char **argv)
{
    return exkit_main(argc, argv, "13_budget",
                      "a leaf that waits on an empty queue and spends the "
                      "budget on a busy one",
                      checks, EXKIT_N(checks));
}
