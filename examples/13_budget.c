/*
 * Lesson 13: the cooperative budget: no task starves the others.
 *
 * What you will learn:
 *   - a task only gives the thread back when its poll returns; a loop that
 *     awaits a source that is always ready never returns, so the other
 *     tasks starve;
 *   - the executor gives each poll a budget (CFUT_BUDGET = 128 units); a
 *     leaf that is ready again and again spends one unit per item with
 *     cfut_context_consume_budget(), and when it is spent the leaf returns
 *     PENDING (after waking its task), so the task yields its turn.
 * Builds on: lesson 09 (the executor) and lesson 11 (async functions).
 * API introduced: cfut_context_consume_budget, CFUT_BUDGET.
 * Run it: build/examples/13_budget
 * Expected output: examples/expected/13_budget.txt
 */
#include <cfut.h>
#include <stdio.h>

/* How many items the consumer has taken (the ticker reports it). */
static int consumed;

/* A leaf that always has the next item ready (a busy channel, say). */
struct source {
    struct cfut_future base;
    bool polite;    /* spends the task's budget (as cfut's leaves do) */
    int *next;      /* the next item */
    int *n_yielded; /* how often it gave the turn back */
};

static enum cfut_poll
source_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct source *s = cfut_container_of(f, struct source, base);
    /* Step: a polite leaf pays one unit per item; when the budget is
     * spent, consume_budget has woken the task: say PENDING. */
    if (s->polite && !cfut_context_consume_budget(cx)) {
        (*s->n_yielded)++;
        return CFUT_PENDING;
    }
    *(int *)out = (*s->next)++;
    return CFUT_READY;
}

static const struct cfut_future_vtable source_vtable = {
    source_poll, NULL, sizeof(int), "source", NULL};

/* The consumer: takes 300 items, one await each. */
CFUT_ASYNC_FN(consumer, int, ((bool, polite)), int item; int next;
              int n_yielded; struct source src;)
{
    CFUT_BEGIN();
    while (consumed < 300) {
        cfut_future_init(&self->src.base, &source_vtable);
        self->src.polite = self->polite;
        self->src.next = &self->next;
        self->src.n_yielded = &self->n_yielded;
        CFUT_AWAIT(&self->src, &self->item);
        consumed++;
    }
    printf("  consumer: %d items in %d poll%s\n", consumed, 1 + self->n_yielded,
           self->n_yielded == 0 ? "" : "s");
    CFUT_RETURN(consumed);
    CFUT_END();
}

/* The ticker: wants a turn now and then; it reports what it sees. */
CFUT_ASYNC_FN(ticker, void, (), int tick;)
{
    CFUT_BEGIN();
    for (self->tick = 1; self->tick <= 3; self->tick++) {
        printf("  ticker: turn %d, the consumer has %d items\n", self->tick,
               consumed);
        CFUT_YIELD(); /* back of the queue: let others run */
    }
    CFUT_END();
}

/* Runs the consumer beside a ticker, on a fresh executor. */
static int
run(bool polite)
{
    struct cfut_executor *ex;
    if (cfut_executor_new(&ex) != CFUT_OK)
        return 1;
    /* Step: spawn the ticker, then block on the consumer: the ticker is
     * first in the queue. */
    consumed = 0;
    struct consumer c;
    consumer_init(&c, polite);
    int got = 0;
    int rc = ticker_spawn(ex, NULL);
    if (rc == CFUT_OK)
        rc = cfut_block_on(ex, &c.base, &got);
    else
        cfut_future_drop(&c.base);
    /* Step: let the ticker finish its turns. */
    if (rc == CFUT_OK)
        rc = cfut_executor_run(ex);
    cfut_executor_free(ex);
    return rc == CFUT_OK ? 0 : 1;
}

int
main(void)
{
    /* Step 1: a source that ignores the budget: one poll takes it all. */
    printf("a rude source (no budget):\n");
    if (run(false) != 0)
        return 1;

    /* Step 2: a polite source: the consumer yields every 128 items. */
    printf("a polite source (budget %u per poll):\n", CFUT_BUDGET);
    return run(true);
}
