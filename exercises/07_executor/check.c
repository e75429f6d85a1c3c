/*
 * check.c: the checks of exercise 07 (a tiny executor). It links your
 * executor.c; run it with ./run exercise 7. The tasks it spawns are spies
 * named A, B, C...: each logs its polls and its drop, yields or waits as
 * told, and checks that it is never moved once polled.
 */
#include "executor.h"
#include "exkit.h"

#include <stdio.h>
#include <string.h>

/* What a spy does at each poll, in order. */
enum step {
    STEP_READY, /* READY (then it is done) */
    STEP_YIELD, /* wake_by_ref, then PENDING: "poll me again soon" */
    STEP_WAIT,  /* keep a clone of the waker, PENDING: the check wakes it */
    STEP_SPAWN, /* spawn the spy 'child', then READY */
    STEP_HOLD   /* keep a clone of the waker beyond its end, then READY */
};

/* A spy task: its future, with a 32-byte output. */
struct spy {
    struct cfut_future base;
    char name;
    enum step steps[4]; /* one per poll */
    int n_polls;
    const void *first_addr; /* where it was at its first poll */
};

static char poll_log[64];         /* one letter per poll, in order */
static char drop_log[64];         /* one letter per drop */
static struct cfut_waker kept[8]; /* wakers kept by waiting spies */
static struct cfut_waker held;    /* the waker kept by a STEP_HOLD spy */
static struct mini_executor *the_ex;
static struct spy child; /* what a STEP_SPAWN spy spawns */

static void
log_letter(char *log, char c)
{
    size_t n = strlen(log);
    EXKIT_REQUIRE(n + 1 < sizeof poll_log,
                  "more than 60 polls or drops: does your executor poll a "
                  "task again and again?");
    log[n] = c;
    log[n + 1] = '\0';
}

static enum cfut_poll
spy_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct spy *s = cfut_container_of(f, struct spy, base);
    EXKIT_REQUIRE(s->n_polls == 0 || s->first_addr == s,
                  "task %c's future was polled at two addresses: a future "
                  "must not move once it was polled (keep it in its task)",
                  s->name);
    EXKIT_REQUIRE(s->n_polls < 4, "task %c was polled a fifth time", s->name);
    s->first_addr = s;
    log_letter(poll_log, s->name);
    enum step step = s->steps[s->n_polls++];
    switch (step) {
    case STEP_YIELD:
        cfut_waker_wake_by_ref(cx->waker);
        return CFUT_PENDING;
    case STEP_WAIT:
        cfut_waker_register(&kept[s->name - 'A'], cx->waker);
        return CFUT_PENDING;
    case STEP_SPAWN:
        EXKIT_REQUIRE(mini_spawn(the_ex, &child.base, sizeof child) == CFUT_OK,
                      "mini_spawn() from inside a task's poll failed");
        break;
    case STEP_HOLD:
        cfut_waker_register(&held, cx->waker);
        break;
    case STEP_READY:
        break;
    }
    memset(out, s->name, 32); /* the whole output: 32 bytes */
    return CFUT_READY;
}

static void
spy_drop(struct cfut_future *f)
{
    struct spy *s = cfut_container_of(f, struct spy, base);
    EXKIT_REQUIRE(strchr(drop_log, s->name) == NULL,
                  "task %c's future was dropped twice", s->name);
    log_letter(drop_log, s->name);
    cfut_waker_drop(&kept[s->name - 'A']); /* a pending task lets go */
}

static const struct cfut_future_vtable spy_vtable = {spy_poll, spy_drop, 32,
                                                     "spy", NULL};

static void
spy_init(struct spy *s, char name, enum step s0, enum step s1, enum step s2)
{
    cfut_future_init(&s->base, &spy_vtable);
    s->name = name;
    s->steps[0] = s0;
    s->steps[1] = s1;
    s->steps[2] = s2;
    s->steps[3] = STEP_READY;
    s->n_polls = 0;
    s->first_addr = NULL;
}

/* Makes an executor; resets the logs. */
static struct mini_executor *
setup(void)
{
    poll_log[0] = drop_log[0] = '\0';
    for (int i = 0; i < 8; i++)
        kept[i] = CFUT_WAKER_EMPTY;
    held = CFUT_WAKER_EMPTY;
    EXKIT_REQUIRE(mini_executor_new(&the_ex) == CFUT_OK,
                  "mini_executor_new() failed");
    return the_ex;
}

/* Spawns a spy: its bytes are moved, so the check scribbles over them. */
static void
spawn(struct mini_executor *ex, char name, enum step s0, enum step s1,
      enum step s2)
{
    struct spy s;
    spy_init(&s, name, s0, s1, s2);
    int rc = mini_spawn(ex, &s.base, sizeof s);
    if (rc != CFUT_OK)
        cfut_future_drop(&s.base); /* still ours */
    EXKIT_REQUIRE(rc == CFUT_OK, "mini_spawn() returned %s",
                  cfut_status_name(rc));
    memset(&s, 0xAB, sizeof s); /* moved: the task must not use this copy */
}

static void
expect_polls(const char *want, const char *what)
{
    EXKIT_REQUIRE(strcmp(poll_log, want) == 0,
                  "%s: the tasks were polled in the order \"%s\" instead of "
                  "\"%s\"",
                  what, poll_log, want);
}

/* ---------------------------------------------------------------------- */
/* The checks                                                              */
/* ---------------------------------------------------------------------- */

static void
check_spawn_does_not_poll(void)
{
    struct mini_executor *ex = setup();
    long before = exkit_alloc_count();
    spawn(ex, 'A', STEP_READY, 0, 0);
    EXKIT_REQUIRE(exkit_alloc_count() - before == 1,
                  "mini_spawn() made %ld allocations instead of 1: one "
                  "block holds the task, the future and its output",
                  exkit_alloc_count() - before);
    EXKIT_REQUIRE(poll_log[0] == '\0',
                  "mini_spawn() polled the future: a task runs only when "
                  "the executor runs");

    size_t alive = mini_run(ex);

    expect_polls("A", "a task that is READY at once");
    EXKIT_REQUIRE(strcmp(drop_log, "A") == 0,
                  "task A finished but its future was not dropped by the end "
                  "of mini_run(): drop it when it is READY");
    EXKIT_REQUIRE(alive == 0,
                  "mini_run() returned %zu tasks alive instead "
                  "of 0",
                  alive);
    mini_executor_free(ex);
}

static void
check_fifo(void)
{
    struct mini_executor *ex = setup();
    spawn(ex, 'A', STEP_READY, 0, 0);
    spawn(ex, 'B', STEP_READY, 0, 0);
    spawn(ex, 'C', STEP_READY, 0, 0);

    mini_run(ex);

    expect_polls("ABC", "three tasks spawned A, B, C (a FIFO queue)");
    mini_executor_free(ex);
}

static void
check_yield_to_back(void)
{
    struct mini_executor *ex = setup();
    spawn(ex, 'A', STEP_YIELD, STEP_YIELD, STEP_READY);
    spawn(ex, 'B', STEP_YIELD, STEP_READY, 0);

    size_t alive = mini_run(ex);

    expect_polls("ABABA", "A yields twice and B once (a task that wakes "
                          "itself goes to the back of the queue)");
    EXKIT_REQUIRE(alive == 0,
                  "mini_run() returned %zu tasks alive instead "
                  "of 0",
                  alive);
    mini_executor_free(ex);
}

static void
check_wait_for_wake(void)
{
    struct mini_executor *ex = setup();
    spawn(ex, 'A', STEP_WAIT, STEP_READY, 0);
    size_t alive = mini_run(ex);
    expect_polls("A", "a task that waits");
    EXKIT_REQUIRE(alive == 1,
                  "task A is PENDING, but mini_run() said %zu tasks are alive",
                  alive);
    EXKIT_REQUIRE(kept[0].vtable != NULL, "(task A kept no waker)");
    mini_run(ex);
    expect_polls("A", "nobody woke task A, so a second mini_run() polls "
                      "nothing");

    cfut_waker_wake(&kept[0]); /* the event A waits for */
    alive = mini_run(ex);

    expect_polls("AA", "task A was woken, then mini_run()");
    EXKIT_REQUIRE(alive == 0,
                  "mini_run() returned %zu tasks alive instead "
                  "of 0",
                  alive);
    mini_executor_free(ex);
}

static void
check_woken_twice_polled_once(void)
{
    struct mini_executor *ex = setup();
    spawn(ex, 'A', STEP_WAIT, STEP_WAIT, STEP_READY);
    mini_run(ex);
    EXKIT_REQUIRE(kept[0].vtable != NULL,
                  "task A was polled (\"%s\") but has no waker: poll with a "
                  "context whose waker is the task's",
                  poll_log);

    cfut_waker_wake_by_ref(&kept[0]);
    cfut_waker_wake_by_ref(&kept[0]);
    mini_run(ex);

    expect_polls("AA", "task A was woken twice before it ran (a task is "
                       "never in the queue twice)");
    cfut_waker_wake(&kept[0]);
    mini_run(ex);
    expect_polls("AAA", "task A was woken once more");
    mini_executor_free(ex);
}

static void
check_waker_outlives_task(void)
{
    struct mini_executor *ex = setup();
    spawn(ex, 'A', STEP_HOLD, 0, 0);
    mini_run(ex);
    expect_polls("A", "task A");
    EXKIT_REQUIRE(held.vtable != NULL && strcmp(drop_log, "A") == 0,
                  "(task A did not finish)");
    long live = exkit_alloc_live();

    cfut_waker_wake_by_ref(&held); /* waking a finished task: nothing */
    mini_run(ex);
    expect_polls("A", "the waker of the finished task A was woken");
    cfut_waker_drop(&held); /* the last reference to the task */

    EXKIT_REQUIRE(exkit_alloc_live() == live - 1,
                  "a waker kept task A's memory alive after A finished (as "
                  "it should); but when that last waker was dropped, %ld "
                  "blocks were freed instead of 1: count the task's "
                  "references (one per waker) and free it at zero",
                  live - exkit_alloc_live());
    mini_executor_free(ex);
}

static void
check_free_cancels(void)
{
    struct mini_executor *ex = setup();
    spawn(ex, 'A', STEP_WAIT, 0, 0);
    mini_run(ex);
    spawn(ex, 'B', STEP_READY, 0, 0); /* queued, never polled */
    expect_polls("A", "task A");

    mini_executor_free(ex);

    EXKIT_REQUIRE(strchr(drop_log, 'A') != NULL,
                  "the executor was freed while task A was PENDING, but A's "
                  "future was not dropped: freeing the executor cancels its "
                  "tasks");
    EXKIT_REQUIRE(strchr(drop_log, 'B') != NULL,
                  "the executor was freed while task B was queued, but B's "
                  "future was not dropped");
    EXKIT_REQUIRE(strcmp(poll_log, "A") == 0,
                  "freeing the executor polled a task (polls: \"%s\")",
                  poll_log);
}

static void
check_spawn_from_task(void)
{
    struct mini_executor *ex = setup();
    spy_init(&child, 'B', STEP_YIELD, STEP_READY, 0);
    spawn(ex, 'A', STEP_SPAWN, 0, 0);

    size_t alive = mini_run(ex);

    expect_polls("ABB", "task A spawns B from its poll, in the same run");
    EXKIT_REQUIRE(alive == 0,
                  "mini_run() returned %zu tasks alive instead "
                  "of 0",
                  alive);
    mini_executor_free(ex);
}

static void
check_out_of_memory(void)
{
    struct mini_executor *ex = setup();
    spawn(ex, 'A', STEP_READY, 0, 0);
    struct spy b;
    spy_init(&b, 'B', STEP_READY, 0, 0);

    exkit_alloc_fail_at(1);
    int rc = mini_spawn(ex, &b.base, sizeof b);
    exkit_alloc_fail_at(0);
    if (rc != CFUT_OK) /* on failure the future is still ours */
        cfut_future_drop(&b.base);

    EXKIT_REQUIRE(rc == CFUT_ENOMEM,
                  "mini_spawn() returned %s when cfut_alloc() failed "
                  "instead of CFUT_ENOMEM",
                  cfut_status_name(rc));
    mini_run(ex);
    expect_polls("A", "after a failed spawn of B");
    mini_executor_free(ex);
    exkit_alloc_fail_at(1);
    struct mini_executor *none = NULL;
    rc = mini_executor_new(&none);
    exkit_alloc_fail_at(0);
    EXKIT_REQUIRE(rc == CFUT_ENOMEM && none == NULL,
                  "mini_executor_new() returned %s when cfut_alloc() failed "
                  "instead of CFUT_ENOMEM",
                  cfut_status_name(rc));
}

static const struct exkit_check checks[] = {
    {"spawn-does-not-poll",
     "spawn makes one block and queues; run polls; READY is dropped",
     check_spawn_does_not_poll},
    {"fifo", "tasks run in the order they were spawned", check_fifo},
    {"yield-to-back", "a task that wakes itself goes to the back",
     check_yield_to_back},
    {"wait-for-wake", "a PENDING task is polled again only after a wake",
     check_wait_for_wake},
    {"woken-twice-polled-once", "two wakes before it runs: one poll",
     check_woken_twice_polled_once},
    {"waker-outlives-task",
     "a waker outlives its task; the last one frees the task",
     check_waker_outlives_task},
    {"free-cancels", "freeing the executor drops every unfinished future",
     check_free_cancels},
    {"spawn-from-task", "a task spawned by a task runs in the same run",
     check_spawn_from_task},
    {"out-of-memory", "a failed allocation is CFUT_ENOMEM, and nothing leaks",
     check_out_of_memory},
};

int
main(int argc, char **argv)
{
    return exkit_main(argc, argv, "07_executor",
                      "a tiny executor: a queue of tasks, spawn, run", checks,
                      EXKIT_N(checks));
}
