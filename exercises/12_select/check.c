/*
 * check.c: the checks of exercise 12 (select of two futures, with
 * cancellation of the loser). It links your select2.c; run it with
 * ./run exercise 12. The children are spies in heap boxes (so a drop frees
 * them, and a missing or double drop shows); the last check races two
 * real sleeps on cfut's executor with the clock paused.
 */
#include "exkit.h"
#include "select2.h"

/* ---------------------------------------------------------------------- */
/* Spy children                                                            */
/* ---------------------------------------------------------------------- */

/* What the check knows about a spy (the spy itself is freed at drop). */
struct record {
    int ready_at; /* READY at this poll (1: the first); 0: never */
    int value;
    int n_polls;
    int n_drops;
    int dropped_at; /* event number of its drop */
};

static struct record rec[2];
static int n_events;
static const char *const names[2] = {"A", "B"};

struct spy {
    struct cfut_future base;
    int id;                  /* 0: A, 1: B */
    struct cfut_waker waker; /* kept while PENDING */
};

static enum cfut_poll
spy_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct spy *s = cfut_container_of(f, struct spy, base);
    struct record *r = &rec[s->id];
    r->n_polls++;
    if (r->ready_at != 0 && r->n_polls >= r->ready_at) {
        *(int *)out = r->value;
        return CFUT_READY;
    }
    cfut_waker_register(&s->waker, cx->waker);
    return CFUT_PENDING;
}

static void
spy_drop(struct cfut_future *f)
{
    struct spy *s = cfut_container_of(f, struct spy, base);
    struct record *r = &rec[s->id];
    r->n_drops++;
    r->dropped_at = ++n_events;
    cfut_waker_drop(&s->waker);
}

static const struct cfut_future_vtable spy_vtable = {spy_poll, spy_drop,
                                                     sizeof(int), "spy", NULL};

/* A boxed spy: READY at poll 'ready_at' (0: never) with 'value'. */
static struct cfut_future *
spy_new(int id, int ready_at, int value)
{
    rec[id] = (struct record){ready_at, value, 0, 0, 0};
    struct spy s;
    cfut_future_init(&s.base, &spy_vtable);
    s.id = id;
    s.waker = CFUT_WAKER_EMPTY;
    struct cfut_future *boxed;
    EXKIT_REQUIRE(cfut_future_box(&s.base, sizeof s, &boxed) == CFUT_OK,
                  "(the check could not box a child)");
    return boxed;
}

/* Polls 'sel' once by hand with the counting waker 'w'. */
static enum cfut_poll
poll_select(struct select2 *sel, struct exkit_waker *w,
            struct select2_output *out)
{
    struct cfut_waker waker = exkit_waker_of(w);
    struct cfut_context cx;
    cfut_context_init(&cx, &waker);
    return cfut_future_poll(&sel->base, &cx, out);
}

/* Both children are dropped exactly once (checked after the select's). */
static void
require_both_dropped_once(const char *when)
{
    for (int i = 0; i < 2; i++)
        EXKIT_REQUIRE(rec[i].n_drops == 1,
                      "%s, child %s was dropped %d times instead of once", when,
                      names[i], rec[i].n_drops);
}

/* ---------------------------------------------------------------------- */
/* The checks                                                              */
/* ---------------------------------------------------------------------- */

static void
check_polls_both(void)
{
    struct exkit_waker w;
    exkit_waker_init(&w);
    struct select2 sel;
    select2_init(&sel, spy_new(0, 0, 10), spy_new(1, 0, 20));
    struct select2_output out = {-1, -1};

    enum cfut_poll p = poll_select(&sel, &w, &out);

    EXKIT_REQUIRE(rec[0].n_polls == 1 && rec[1].n_polls == 1,
                  "the select's first poll polled A %d times and B %d times "
                  "instead of once each (both are PENDING)",
                  rec[0].n_polls, rec[1].n_polls);
    EXKIT_REQUIRE(p == CFUT_PENDING,
                  "the select answered READY although both children are "
                  "PENDING");
    EXKIT_REQUIRE(atomic_load(&w.refs) == 2,
                  "each waiting child keeps a clone of the waker it was "
                  "polled with, so 2 clones of the select's waker should be "
                  "alive; there are %d: poll the children with the context "
                  "the select was given",
                  atomic_load(&w.refs));
    cfut_future_drop(&sel.base);
    require_both_dropped_once("after the select was dropped");
    exkit_waker_deinit(&w);
}

static void
check_winner_output(void)
{
    struct exkit_waker w;
    exkit_waker_init(&w);
    struct select2 sel;
    select2_init(&sel, spy_new(0, 0, 10), spy_new(1, 2, 20));
    struct select2_output out = {-1, -1};
    enum cfut_poll p1 = poll_select(&sel, &w, &out);

    enum cfut_poll p2 = poll_select(&sel, &w, &out); /* B is READY now */

    EXKIT_REQUIRE(p1 == CFUT_PENDING && p2 == CFUT_READY,
                  "B is READY at its second poll: the select should answer "
                  "PENDING, then READY; it answered %s, then %s",
                  p1 == CFUT_READY ? "READY" : "PENDING",
                  p2 == CFUT_READY ? "READY" : "PENDING");
    EXKIT_REQUIRE(out.index == 1 && out.value == 20,
                  "the select's output is {index %d, value %d} instead of "
                  "{1, 20}: B won with 20",
                  out.index, out.value);
    cfut_future_drop(&sel.base);
    exkit_waker_deinit(&w);
}

static void
check_loser_dropped(void)
{
    struct exkit_waker w;
    exkit_waker_init(&w);
    struct select2 sel;
    select2_init(&sel, spy_new(0, 0, 10), spy_new(1, 2, 20));
    struct select2_output out = {-1, -1};
    poll_select(&sel, &w, &out);

    enum cfut_poll p = poll_select(&sel, &w, &out);
    int returned_at = ++n_events;

    EXKIT_REQUIRE(p == CFUT_READY, "B was READY but the select answered "
                                   "PENDING");
    EXKIT_REQUIRE(rec[0].n_drops == 1 && rec[0].dropped_at < returned_at,
                  "your select answered READY but the loser, A, was still "
                  "alive: drop the loser before you return READY (it is "
                  "cancelled; its drop releases what it waits on)");
    EXKIT_REQUIRE(rec[1].n_drops == 1 && rec[1].dropped_at < returned_at,
                  "the select answered READY but did not drop the winner, "
                  "B, whose output it took: the select owns both children");
    EXKIT_REQUIRE(atomic_load(&w.refs) == 0,
                  "%d clones of the select's waker are still alive after it "
                  "answered READY (the children's drops release them)",
                  atomic_load(&w.refs));

    cfut_future_drop(&sel.base);

    require_both_dropped_once("after READY and the select's own drop");
    exkit_waker_deinit(&w);
}

static void
check_biased(void)
{
    struct exkit_waker w;
    exkit_waker_init(&w);
    struct select2 sel;
    select2_init(&sel, spy_new(0, 1, 10), spy_new(1, 1, 20));
    struct select2_output out = {-1, -1};

    enum cfut_poll p = poll_select(&sel, &w, &out);

    EXKIT_REQUIRE(p == CFUT_READY && out.index == 0 && out.value == 10,
                  "both children are READY at once: a biased select polls A "
                  "first and finishes with {0, 10}; yours answered %s with "
                  "{%d, %d}",
                  p == CFUT_READY ? "READY" : "PENDING", out.index, out.value);
    EXKIT_REQUIRE(rec[1].n_polls == 0,
                  "your select polled B although A was already READY: it "
                  "finishes with the first READY child");
    cfut_future_drop(&sel.base);
    require_both_dropped_once("after READY and the select's drop");
    exkit_waker_deinit(&w);
}

static void
check_drop_cancels_both(void)
{
    struct exkit_waker w;
    exkit_waker_init(&w);
    struct select2 sel;
    select2_init(&sel, spy_new(0, 0, 10), spy_new(1, 0, 20));
    struct select2_output out = {-1, -1};
    poll_select(&sel, &w, &out);
    EXKIT_REQUIRE(rec[0].n_polls == 1 && rec[1].n_polls == 1,
                  "the select's first poll did not poll both children");

    cfut_future_drop(&sel.base);

    EXKIT_REQUIRE(rec[0].n_drops == 1 && rec[1].n_drops == 1,
                  "the select was dropped while both children were PENDING; "
                  "A was dropped %d times and B %d times instead of once "
                  "each: dropping a pending select cancels its children",
                  rec[0].n_drops, rec[1].n_drops);
    exkit_waker_deinit(&w);
}

/* ---------------------------------------------------------------------- */
/* A real race: two sleeps on the paused clock                             */
/* ---------------------------------------------------------------------- */

/* A coroutine that sleeps 'ms' and answers 'id'; it notes a cancel. */
struct mirror {
    struct cfut_future base;
    struct cfut_coro co;
    int id, status;
    uint64_t ms;
    struct cfut_sleep nap;
};

static int n_cancelled;

static enum cfut_poll
mirror_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct mirror *m = cfut_container_of(f, struct mirror, base);
    CFUT_ASYNC_BEGIN(&m->co);
    cfut_sleep_init(&m->nap, CFUT_MSEC(m->ms));
    CFUT_AWAIT(&m->co, cx, &m->nap.base, &m->status);
    CFUT_ASYNC_RETURN(&m->co, out, int, m->id);
    CFUT_ASYNC_END(&m->co);
}

static void
mirror_drop(struct cfut_future *f)
{
    struct mirror *m = cfut_container_of(f, struct mirror, base);
    if (m->co.line > 0)
        n_cancelled++; /* dropped mid-sleep */
    cfut_coro_drop(&m->co);
}

static const struct cfut_future_vtable mirror_vtable = {
    mirror_poll, mirror_drop, sizeof(int), "mirror", NULL};

static struct cfut_future *
mirror_new(int id, uint64_t ms)
{
    struct mirror m;
    cfut_future_init(&m.base, &mirror_vtable);
    cfut_coro_init(&m.co);
    m.id = id;
    m.ms = ms;
    struct cfut_future *boxed;
    EXKIT_REQUIRE(cfut_future_box(&m.base, sizeof m, &boxed) == CFUT_OK,
                  "(the check could not box a sleeper)");
    return boxed;
}

static void
check_race_sleeps(void)
{
    struct cfut_executor *ex;
    EXKIT_REQUIRE(cfut_executor_new(&ex) == CFUT_OK,
                  "(the check could not make an executor)");
    cfut_time_pause(ex);
    uint64_t t0 = cfut_time_now(ex);
    n_cancelled = 0;
    struct select2 sel;
    select2_init(&sel, mirror_new(0, 50), mirror_new(1, 20));
    struct select2_output out = {-1, -1};

    int rc = cfut_block_on(ex, &sel.base, &out);
    uint64_t at_ms = (cfut_time_now(ex) - t0) / CFUT_MSEC(1);
    size_t armed = cfut_reactor_n_timers(ex);
    cfut_executor_free(ex);

    EXKIT_REQUIRE(rc == CFUT_OK, "cfut_block_on() on your select returned %s",
                  cfut_status_name(rc));
    EXKIT_REQUIRE(out.index == 1 && out.value == 1 && at_ms == 20,
                  "a race of a 50 ms sleep (A) against a 20 ms sleep (B) "
                  "should be won by B at 20 ms; it ended at %llu ms with "
                  "{%d, %d}",
                  (unsigned long long)at_ms, out.index, out.value);
    EXKIT_REQUIRE(n_cancelled == 1 && armed == 0,
                  "after the race, the loser's sleep should be cancelled "
                  "(dropped mid-sleep: %d times) and no timer left armed "
                  "(%zu are)",
                  n_cancelled, armed);
}

static const struct exkit_check checks[] = {
    {"polls-both", "the first poll polls both children with its waker",
     check_polls_both},
    {"winner-output", "READY with the index and output of the winner",
     check_winner_output},
    {"loser-dropped", "before READY, the loser (and the winner) are dropped",
     check_loser_dropped},
    {"biased", "both ready: A wins and B is not polled", check_biased},
    {"drop-cancels-both", "dropping a pending select drops both children",
     check_drop_cancels_both},
    {"race-sleeps",
     "a race of two sleeps: the shorter wins, the loser's timer goes",
     check_race_sleeps},
};

int
main(int argc, char **argv)
{
    return exkit_main(argc, argv, "09_select",
                      "select of two futures, with cancellation of the loser",
                      checks, EXKIT_N(checks));
}
