/*
 * Lesson 09: the library's executor: spawn, join handles, block_on.
 *
 * What you will learn:
 *   - cfut's executor is lesson 08's, plus a task pool, an inbox for wakes
 *     from other threads, a budget and a reactor: cfut_spawn() moves a
 *     future into a task and queues it; tasks are polled in FIFO order;
 *   - a join handle is itself a future for the task's output; dropping it
 *     detaches the task, which runs on;
 *   - what the executor refuses: a future that returns PENDING with no
 *     waker kept (CFUT_EDEADLK instead of a hang), and a run inside a run
 *     (CFUT_EBUSY).
 * Builds on: lesson 06 (wakers) and lesson 08 (an executor by hand).
 * API introduced: struct cfut_executor, cfut_executor_new/free, cfut_spawn,
 *   struct cfut_join_handle, CFUT_JOIN_OUTPUT, cfut_block_on,
 *   cfut_executor_run, cfut_executor_current, cfut_executor_n_tasks,
 *   cfut_executor_n_polls, cfut_status_name, CFUT_EDEADLK, CFUT_EBUSY.
 * Run it: build/examples/09_executor   (try CFUT_TRACE=- too)
 * Expected output: examples/expected/09_executor.txt
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

/* A future that breaks the contract: PENDING, but it keeps no waker. */
static enum cfut_poll
forgetful_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    (void)f, (void)cx, (void)out;
    return CFUT_PENDING; /* nobody can ever wake this task */
}

static const struct cfut_future_vtable forgetful_vtable = {
    forgetful_poll, NULL, 0, "forgetful", NULL};

/* A future whose poll tries to run the executor it is running in. */
static enum cfut_poll
nested_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    (void)f, (void)cx, (void)out;
    struct counter inner;
    counter_init(&inner, "inner", 1);
    int rc = cfut_block_on(cfut_executor_current(), &inner.base, NULL);
    printf("  block_on inside a task -> %s%s\n", cfut_status_name(rc),
           rc == CFUT_EBUSY ? ": this thread is busy running the outer one"
                            : "");
    return CFUT_READY;
}

static const struct cfut_future_vtable nested_vtable = {nested_poll, NULL, 0,
                                                        "nested", NULL};

int
main(void)
{
    struct cfut_executor *ex;
    /* Step 1: make an executor (it belongs to this thread). */
    if (cfut_executor_new(&ex) != CFUT_OK)
        return 1;

    /* Step 2: spawn two tasks; the futures are moved into the tasks. */
    struct counter a, b, c;
    counter_init(&a, "a", 3);
    counter_init(&b, "b", 2);
    struct cfut_join_handle ha, hb, hc;
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
    printf("tasks left: %zu, polls made: %" PRIu64 "\n",
           cfut_executor_n_tasks(ex), cfut_executor_n_polls(ex));

    /* Step 5: drop a handle without awaiting it: the task is detached,
     * and runs on; cfut_executor_run() runs until no task is left. */
    counter_init(&c, "c", 2);
    cfut_spawn(ex, &c.base, sizeof c, &hc);
    cfut_future_drop(&hc.base);
    printf("c's handle dropped; run:\n");
    rc = cfut_executor_run(ex);
    printf("run -> %s, tasks left: %zu\n", cfut_status_name(rc),
           cfut_executor_n_tasks(ex));

    /* Step 6: a future that keeps no waker: rather than park forever,
     * block_on sees that no waker exists anywhere, and says so. */
    struct cfut_future lost;
    cfut_future_init(&lost, &forgetful_vtable);
    rc = cfut_block_on(ex, &lost, NULL);
    printf("a future that keeps no waker: block_on -> %s%s\n",
           cfut_status_name(rc),
           rc == CFUT_EDEADLK ? ": no waker left, it would wait forever" : "");

    /* Step 7: a run inside a run: the outer one owns the thread. */
    struct cfut_future nest;
    cfut_future_init(&nest, &nested_vtable);
    cfut_block_on(ex, &nest, NULL);
    cfut_executor_free(ex);
    return 0;
}
