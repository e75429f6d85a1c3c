/*
 * Lesson 16: select and cancellation: the loser is dropped.
 *
 * What you will learn:
 *   - select runs several futures at once and finishes with the first one
 *     to finish; before it returns READY it drops the others (the losers):
 *     they are cancelled, mid-await, and their drops release what they held;
 *   - cancelling a task drops its future, and dropping a pending select
 *     drops every child: cancellation travels down the tree by drop.
 * Builds on: lesson 03 (join by hand: children in a parent), 11 (async
 *   functions), 15 (timeouts, the paused clock).
 * API introduced: struct cfut_select, cfut_select2, CFUT_SELECT_BIASED,
 *   CFUT_SELECT_OUTPUT, cfut_executor_run_ready, cfut_join_handle_cancel.
 * Run it: build/examples/16_select   (try CFUT_TRACE=- too)
 * Expected output: examples/expected/16_select.txt
 */
#include <cfut.h>
#include <stdio.h>

static uint64_t t0; /* the paused clock at the start */

/* Milliseconds on the executor's (paused) clock since the start. */
static unsigned long long
now_ms(void)
{
    return (unsigned long long)((cfut_time_now(NULL) - t0) / CFUT_MSEC(1));
}

/* A mirror: answers 'id' after 'ms' milliseconds. */
CFUT_ASYNC_FN(mirror, int, ((int, id), (uint64_t, ms)), struct cfut_sleep wait;)
{
    CFUT_BEGIN();
    printf("  mirror %d: asks (answers in %llu ms)\n", self->id,
           (unsigned long long)self->ms);
    cfut_sleep_init(&self->wait, CFUT_MSEC(self->ms));
    CFUT_AWAIT(&self->wait);
    printf("  mirror %d: answers\n", self->id);
    CFUT_RETURN(self->id);
    CFUT_END();
}

/* The drop hook says whether this mirror was cancelled mid-await. */
CFUT_ASYNC_DROP(mirror)
{
    if (self->co.line > 0)
        printf("  mirror %d: dropped while pending: cancelled\n", self->id);
}

/* A race: two mirrors and the select between them, pinned together in
 * the state. */
CFUT_ASYNC_FN(race, int, ((uint64_t, ms0), (uint64_t, ms1)), struct mirror m[2];
              struct cfut_select sel; CFUT_SELECT_OUTPUT(int) r;)
{
    CFUT_BEGIN();
    /* Step: make both children in place, then the select takes them. */
    mirror_init(&self->m[0], 0, self->ms0);
    mirror_init(&self->m[1], 1, self->ms1);
    if (cfut_select2(&self->sel, &self->m[0].base, &self->m[1].base,
                     CFUT_SELECT_BIASED) != CFUT_OK) {
        cfut_future_drop(&self->m[0].base); /* still ours on failure */
        cfut_future_drop(&self->m[1].base);
        CFUT_RETURN(-1);
    }
    CFUT_AWAIT(&self->sel, &self->r);
    /* Step: the loser was dropped before we got here. */
    printf("  select: mirror %zu won at t=%llu ms\n", self->r.index, now_ms());
    CFUT_RETURN(self->r.value);
    CFUT_END();
}

int
main(void)
{
    struct cfut_executor *ex;
    if (cfut_executor_new(&ex) != CFUT_OK)
        return 1;
    cfut_time_pause(ex); /* deterministic time: jumps to each deadline */
    t0 = cfut_time_now(ex);

    /* Step 1: a race of 50 ms against 20 ms: mirror 1 wins. */
    printf("race:\n");
    struct race r;
    race_init(&r, 50, 20);
    int winner = -1;
    cfut_block_on(ex, &r.base, &winner);
    printf("winner: %d; timers left armed: %zu\n", winner,
           cfut_reactor_n_timers(ex));

    /* Step 2: spawn a race, let it start, then cancel the task: its future
     * is dropped, which drops the select, which drops both mirrors. */
    printf("cancel a race:\n");
    struct cfut_join_handle h;
    if (race_spawn(ex, &h, 50, 60) != CFUT_OK)
        return 1;
    cfut_executor_run_ready(ex); /* both mirrors ask, then wait */
    cfut_join_handle_cancel(&h);
    CFUT_JOIN_OUTPUT(int) res;
    cfut_block_on(ex, &h.base, &res);
    printf("the task: %s; timers left armed: %zu\n",
           cfut_status_name(res.status), cfut_reactor_n_timers(ex));
    cfut_executor_free(ex);
    return 0;
}
