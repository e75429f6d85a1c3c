/*
 * Lesson 16: the cooperative budget: no task starves the others.
 *
 * What you will learn:
 *   - a task only gives the thread back when its poll returns; a loop that
 *     awaits a source that is always ready never returns, so the other
 *     tasks starve;
 *   - the executor gives each poll a budget (CFUT_BUDGET = 128 units); a
 *     leaf that is ready again and again spends one unit per item with
 *     cfut_context_consume_budget(), and when it is spent the leaf returns
 *     PENDING (after waking its task), so the task yields its turn.
 * Builds on: lesson 08 (the executor) and lesson 09 (async/await).
 * API introduced: cfut_context_consume_budget, CFUT_BUDGET, CFUT_YIELD.
 * Run it: build/examples/16_budget
 * Expected output: examples/expected/16_budget.txt
 */
#include <cfut.h>
#include <stdio.h>

/* How many items the consumer has taken (the ticker reports it). */
static int consumed;

/* A source that always has the next item ready (a busy channel, say). */
struct source {
    struct cfut_future base;
    bool polite;  /* spends the task's budget (as cfut's leaves do) */
    int *counter; /* the next item */
};

static enum cfut_poll
source_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct source *s = cfut_container_of(f, struct source, base);
    /* Step: a polite leaf pays one unit per item; when the budget is
     * spent, consume_budget has woken the task: say PENDING. */
    if (s->polite && !cfut_context_consume_budget(cx))
        return CFUT_PENDING;
    *(int *)out = (*s->counter)++;
    return CFUT_READY;
}

static const struct cfut_future_vtable source_vtable = {
    source_poll, NULL, sizeof(int), "source", NULL};

/* The consumer task: takes 'want' items, one await each. */
struct consumer {
    struct cfut_future base;
    struct cfut_coro co;
    bool polite;
    int want, got, item, next, n_polls;
    struct source src;
};

static enum cfut_poll
consumer_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct consumer *c = cfut_container_of(f, struct consumer, base);
    c->n_polls++;
    CFUT_ASYNC_BEGIN(&c->co);
    while (c->got < c->want) {
        cfut_future_init(&c->src.base, &source_vtable);
        c->src.polite = c->polite;
        c->src.counter = &c->next;
        CFUT_AWAIT(&c->co, cx, &c->src.base, &c->item);
        consumed = ++c->got;
    }
    printf("  consumer: %d items in %d poll%s\n", c->got, c->n_polls,
           c->n_polls == 1 ? "" : "s");
    CFUT_ASYNC_RETURN(&c->co, out, int, c->got);
    CFUT_ASYNC_END(&c->co);
}

static void
consumer_drop(struct cfut_future *f)
{
    cfut_coro_drop(&cfut_container_of(f, struct consumer, base)->co);
}

static const struct cfut_future_vtable consumer_vtable = {
    consumer_poll, consumer_drop, sizeof(int), "consumer", NULL};

/* The ticker task: wants a turn now and then; it reports what it sees. */
struct ticker {
    struct cfut_future base;
    struct cfut_coro co;
    int tick;
};

static enum cfut_poll
ticker_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct ticker *t = cfut_container_of(f, struct ticker, base);
    (void)out;
    CFUT_ASYNC_BEGIN(&t->co);
    for (t->tick = 1; t->tick <= 3; t->tick++) {
        printf("  ticker: turn %d, the consumer has %d items\n", t->tick,
               consumed);
        CFUT_YIELD(&t->co, cx); /* back of the queue: let others run */
    }
    CFUT_ASYNC_END(&t->co);
}

static const struct cfut_future_vtable ticker_vtable = {ticker_poll, NULL, 0,
                                                        "ticker", NULL};

/* Runs a consumer of 300 items beside a ticker, on a fresh executor. */
static void
run(bool polite)
{
    struct cfut_executor *ex;
    if (cfut_executor_new(&ex) != CFUT_OK)
        return;
    /* Step: spawn the ticker, then block on the consumer: the ticker is
     * first in the queue. */
    consumed = 0;
    struct consumer c;
    cfut_future_init(&c.base, &consumer_vtable);
    cfut_coro_init(&c.co);
    c.polite = polite;
    c.want = 300;
    c.got = c.next = c.n_polls = 0;
    struct ticker t;
    cfut_future_init(&t.base, &ticker_vtable);
    cfut_coro_init(&t.co);
    cfut_spawn(ex, &t.base, sizeof t, NULL);
    int got = 0;
    cfut_block_on(ex, &c.base, &got);
    /* Step: let the ticker finish its turns. */
    cfut_executor_run(ex);
    cfut_executor_free(ex);
}

int
main(void)
{
    /* Step 1: a source that ignores the budget: one poll takes it all. */
    printf("a rude source (no budget):\n");
    run(false);

    /* Step 2: a polite source: the consumer yields every 128 items. */
    printf("a polite source (budget %u per poll):\n", CFUT_BUDGET);
    run(true);
    return 0;
}
