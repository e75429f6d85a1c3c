/*
 * Lesson 11: select and cancellation: the loser is dropped.
 *
 * What you will learn:
 *   - select runs several futures at once and finishes with the first one
 *     to finish; before it returns READY it drops the others (the losers):
 *     they are cancelled, mid-await, and their drops release what they held;
 *   - cancelling a task drops its future, and dropping a pending select
 *     drops every child: cancellation travels down the tree by drop.
 * Builds on: lesson 03 (join), 17 (sub-wakers), 18 (timeouts, paused clock).
 * API introduced: cfut_select2, CFUT_SELECT_BIASED, CFUT_SELECT_OUTPUT,
 *   cfut_join_handle_cancel.
 * Run it: build/examples/11_select   (try CFUT_TRACE=- too)
 * Expected output: examples/expected/11_select.txt
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
struct mirror {
    struct cfut_future base;
    struct cfut_coro co;
    int id, st;
    uint64_t ms;
    struct cfut_sleep wait;
};

static enum cfut_poll
mirror_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct mirror *m = cfut_container_of(f, struct mirror, base);
    CFUT_ASYNC_BEGIN(&m->co);
    printf("  mirror %d: asks (answers in %llu ms)\n", m->id,
           (unsigned long long)m->ms);
    cfut_sleep_init(&m->wait, CFUT_MSEC(m->ms));
    CFUT_AWAIT(&m->co, cx, &m->wait.base, &m->st);
    printf("  mirror %d: answers\n", m->id);
    CFUT_ASYNC_RETURN(&m->co, out, int, m->id);
    CFUT_ASYNC_END(&m->co);
}

/* The drop says whether this mirror was cancelled mid-await. */
static void
mirror_drop(struct cfut_future *f)
{
    struct mirror *m = cfut_container_of(f, struct mirror, base);
    if (m->co.line > 0)
        printf("  mirror %d: dropped while pending: cancelled\n", m->id);
    cfut_coro_drop(&m->co);
}

static const struct cfut_future_vtable mirror_vtable = {
    mirror_poll, mirror_drop, sizeof(int), "mirror", NULL};

/* A race: two mirrors and the select between them, pinned together. */
struct race {
    struct cfut_future base;
    struct cfut_coro co;
    uint64_t ms[2];
    struct mirror m[2];
    struct cfut_select sel;
    CFUT_SELECT_OUTPUT(int) r;
};

static enum cfut_poll
race_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct race *r = cfut_container_of(f, struct race, base);
    CFUT_ASYNC_BEGIN(&r->co);
    /* Step: make both children in place, then the select takes them. */
    for (int i = 0; i < 2; i++) {
        cfut_future_init(&r->m[i].base, &mirror_vtable);
        cfut_coro_init(&r->m[i].co);
        r->m[i].id = i;
        r->m[i].ms = r->ms[i];
    }
    if (cfut_select2(&r->sel, &r->m[0].base, &r->m[1].base,
                     CFUT_SELECT_BIASED) != CFUT_OK) {
        cfut_future_drop(&r->m[0].base); /* still ours on failure */
        cfut_future_drop(&r->m[1].base);
        CFUT_ASYNC_RETURN(&r->co, out, int, -1);
    }
    CFUT_AWAIT(&r->co, cx, &r->sel.base, &r->r);
    /* Step: the loser was dropped before we got here. */
    printf("  select: mirror %zu won at t=%llu ms\n", r->r.index, now_ms());
    CFUT_ASYNC_RETURN(&r->co, out, int, r->r.value);
    CFUT_ASYNC_END(&r->co);
}

static void
race_drop(struct cfut_future *f)
{
    cfut_coro_drop(&cfut_container_of(f, struct race, base)->co);
}

static const struct cfut_future_vtable race_vtable = {
    race_poll, race_drop, sizeof(int), "race", NULL};

static void
race_init(struct race *r, uint64_t ms0, uint64_t ms1)
{
    cfut_future_init(&r->base, &race_vtable);
    cfut_coro_init(&r->co);
    r->ms[0] = ms0;
    r->ms[1] = ms1;
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
    race_init(&r, 50, 60);
    struct cfut_join_handle h;
    cfut_spawn(ex, &r.base, sizeof r, &h);
    cfut_executor_run_ready(ex); /* both mirrors ask, then wait */
    cfut_join_handle_cancel(&h);
    CFUT_JOIN_OUTPUT(int) res;
    cfut_block_on(ex, &h.base, &res);
    printf("the task: %s; timers left armed: %zu\n",
           cfut_status_name(res.status), cfut_reactor_n_timers(ex));
    cfut_executor_free(ex);
    return 0;
}
