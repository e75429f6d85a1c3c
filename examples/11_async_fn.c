/*
 * Lesson 11: async functions: lesson 10's coroutine, declared.
 *
 * What you will learn:
 *   - CFUT_ASYNC_FN(name, output type, arguments, state) writes what lesson
 *     10 wrote by hand around the body: the struct, poll, drop, vtable, an
 *     init function (name_init) and a spawn helper (name_spawn);
 *   - the state list is where what lives across an await goes, the child
 *     futures included; an async function awaits another one by keeping it
 *     in its state: no allocation, the parent is pinned and so the child;
 *   - a drop hook (CFUT_ASYNC_DROP) runs exactly once: after the function
 *     finished, when it is cancelled, or when it never ran.
 * Builds on: lesson 09 (spawn, block_on) and lesson 10 (the coroutine).
 * API introduced: CFUT_ASYNC_FN, CFUT_BEGIN, CFUT_END, CFUT_RETURN,
 *   CFUT_YIELD, CFUT_ASYNC_DROP.
 * Run it: build/examples/11_async_fn   (try CFUT_TRACE=- too)
 * Expected output: examples/expected/11_async_fn.txt
 */
#include <cfut.h>
#include <stdio.h>

/* Lesson 10's tea: name, output type, arguments, then the state. */
CFUT_ASYNC_FN(make_tea, int, ((int, n_cups)),
              int i; /* lives across the awaits: a field, not a local */
              int sugar;
              struct cfut_ready r;) /* a child future: in the state too */
{
    CFUT_BEGIN();
    printf("    tea(%d): boil water\n", self->n_cups);
    CFUT_YIELD(); /* lesson 10's yield_now child, in one macro */
    for (self->i = 1; self->i <= self->n_cups; self->i++) {
        printf("    tea(%d): pour cup %d\n", self->n_cups, self->i);
        CFUT_YIELD();
    }
    static const int two = 2;
    cfut_ready_init(&self->r, &two, sizeof two);
    CFUT_AWAIT(&self->r, &self->sugar); /* no co, no cx: the future only */
    printf("    tea(%d): %d sugars\n", self->n_cups, self->sugar);
    CFUT_RETURN(self->n_cups * 10 + self->sugar); /* checked against int */
    CFUT_END();
}

/* Runs exactly once, however the function ends (co.line: where it is). */
CFUT_ASYNC_DROP(make_tea)
{
    printf("    tea(%d): dropped, %s\n", self->n_cups,
           self->co.line == -1  ? "finished"
           : self->co.line == 0 ? "it never ran"
                                : "cancelled in an await");
}

/* An async function awaiting another: the child lives in its state. */
CFUT_ASYNC_FN(two_pots, int, (), struct make_tea pot; int first; int second;)
{
    CFUT_BEGIN();
    make_tea_init(&self->pot, 1); /* generated: zeroes, stores the args */
    CFUT_AWAIT(&self->pot, &self->first);
    make_tea_init(&self->pot, 2); /* the first pot was dropped: reuse it */
    CFUT_AWAIT(&self->pot, &self->second);
    CFUT_RETURN(self->first + self->second);
    CFUT_END();
}

int
main(void)
{
    struct cfut_executor *ex;
    if (cfut_executor_new(&ex) != CFUT_OK)
        return 1;

    /* Step 1: block on an async function, initialised in place. */
    struct two_pots t;
    two_pots_init(&t);
    int total = 0;
    printf("block_on(two_pots):\n");
    int rc = cfut_block_on(ex, &t.base, &total);
    printf("two_pots -> %s, %d (12 + 22) in %llu polls\n", cfut_status_name(rc),
           total, (unsigned long long)cfut_executor_n_polls(ex));

    /* Step 2: spawn one as a task with the generated helper. */
    struct cfut_join_handle h;
    if (make_tea_spawn(ex, &h, 2) != CFUT_OK)
        return 1;
    CFUT_JOIN_OUTPUT(int) r;
    printf("make_tea_spawn(ex, &h, 2), then block_on(h):\n");
    cfut_block_on(ex, &h.base, &r);
    printf("the task -> %s, %d\n", cfut_status_name(r.status), r.value);

    /* Step 3: free the executor while tasks are alive: it drops them,
     * and each drop hook runs, even for a task that never ran (a cleanup
     * registered by the body would not: the body never started). */
    struct make_tea one;
    make_tea_init(&one, 1);
    if (make_tea_spawn(ex, NULL, 3) != CFUT_OK)
        return 1;
    printf("make_tea(3) spawned, block_on(make_tea(1)):\n");
    cfut_block_on(ex, &one.base, &total);
    if (make_tea_spawn(ex, NULL, 4) != CFUT_OK)
        return 1;
    printf("make_tea(4) spawned; free the executor:\n");
    cfut_executor_free(ex);
    return 0;
}
