/*
 * Lesson 08: an executor with a task queue, spawn and a join handle.
 *
 * What you will learn:
 *   - cfut_spawn() moves a future into a task and queues it; the executor
 *     polls queued tasks in FIFO order, one pass at a time;
 *   - a task that returns PENDING is polled again only after a wake;
 *   - a join handle is itself a future: awaiting it gives the task's output.
 * Builds on: lesson 06 (wakers) and lesson 07 (a wake from another thread).
 * API introduced: cfut_executor_new/free, cfut_spawn, cfut_block_on,
 *   cfut_executor_run, CFUT_JOIN_OUTPUT.
 * Run it: build/plain/examples/08_executor
 * Expected output: examples/expected/08_executor.txt
 */
#include <cfut.h>
#include <inttypes.h>
#include <stdio.h>

/* A future that needs 'steps' polls: it wakes itself each time (a yield). */
struct counter {
    struct cfut_future base; /* the vtable pointer comes first */
    const char *name;
    int steps;
    int polls;
};

static enum cfut_poll
counter_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    /* Recover our struct from the base pointer the executor gives us. */
    struct counter *c = cfut_container_of(f, struct counter, base);
    c->polls++;
    printf("  poll %s (%d of %d)\n", c->name, c->polls, c->steps);
    if (c->polls < c->steps) {
        /* Not done: ask to be polled again, then say PENDING. */
        cfut_waker_wake_by_ref(cx->waker);
        return CFUT_PENDING;
    }
    /* Done: write the output where the executor asked for it. */
    *(uint64_t *)out = (uint64_t)c->polls * 100;
    return CFUT_READY;
}

/* Every future type has a vtable: poll, drop, output size, name. */
static const struct cfut_future_vtable counter_vtable = {
    counter_poll, NULL, sizeof(uint64_t), "counter", NULL};

static void
counter_init(struct counter *c, const char *name, int steps)
{
    cfut_future_init(&c->base, &counter_vtable);
    c->name = name;
    c->steps = steps;
    c->polls = 0;
}

int
main(void)
{
    struct cfut_executor *ex;
    /* Step 1: make an executor (it belongs to this thread). */
    if (cfut_executor_new(&ex) != CFUT_OK)
        return 1;

    /* Step 2: spawn two tasks; the futures are moved into the tasks. */
    struct counter a, b;
    counter_init(&a, "a", 3);
    counter_init(&b, "b", 2);
    struct cfut_join_handle ha, hb;
    cfut_spawn(ex, &a.base, sizeof a, &ha);
    cfut_spawn(ex, &b.base, sizeof b, &hb);
    printf("spawned %zu tasks\n", cfut_executor_n_tasks(ex));

    /* Step 3: block on a's handle: the executor runs both tasks meanwhile. */
    CFUT_JOIN_OUTPUT(uint64_t) ra;
    int rc = cfut_block_on(ex, &ha.base, &ra);
    printf("a finished: rc=%s status=%s value=%" PRIu64 "\n",
           cfut_status_name(rc), cfut_status_name(ra.status), ra.value);

    /* Step 4: b is done too (it needed fewer polls); await its handle. */
    CFUT_JOIN_OUTPUT(uint64_t) rb;
    cfut_block_on(ex, &hb.base, &rb);
    printf("b finished: value=%" PRIu64 "\n", rb.value);

    /* Step 5: nothing is left; free the executor. */
    printf("tasks left: %zu, polls made: %" PRIu64 "\n",
           cfut_executor_n_tasks(ex), cfut_executor_n_polls(ex));
    cfut_executor_free(ex);
    return 0;
}
