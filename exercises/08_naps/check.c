/*
 * check.c: the checks of exercise 08 (a coroutine that awaits three
 * sleeps). It links your naps.c; run it with ./run exercise 8. It runs
 * your coroutine on cfut's executor with the clock paused (time jumps to
 * the next deadline, so the check never sleeps for real) and reads the
 * executor's trace to see where the coroutine suspended.
 */
#include "exkit.h"
#include "naps.h"

/* One run of the coroutine under cfut_block_on(), with the paused clock. */
struct run {
    int rc;            /* what cfut_block_on() returned */
    uint64_t total;    /* the coroutine's output */
    uint64_t slept_ms; /* how far the paused clock moved */
    uint64_t n_polls;  /* polls the executor made */
    const char *trace; /* the executor's trace */
};

static struct run
run_naps(uint64_t a, uint64_t b, uint64_t c)
{
    struct run r = {0, 99999, 0, 0, ""};
    struct cfut_executor *ex;
    EXKIT_REQUIRE(cfut_executor_new(&ex) == CFUT_OK,
                  "(the check could not make an executor)");
    cfut_time_pause(ex);
    uint64_t t0 = cfut_time_now(ex);
    const uint64_t ms[3] = {a, b, c};
    struct naps n;
    naps_init(&n, ms);
    EXKIT_REQUIRE(cfut_future_output_size(&n.base) == sizeof(uint64_t),
                  "your coroutine's vtable says its output has %zu bytes; "
                  "it is a uint64_t (%zu bytes)",
                  cfut_future_output_size(&n.base), sizeof(uint64_t));

    exkit_trace_begin();
    r.rc = cfut_block_on(ex, &n.base, &r.total);
    r.trace = exkit_trace_end();
    r.slept_ms = (cfut_time_now(ex) - t0) / CFUT_MSEC(1);
    r.n_polls = cfut_executor_n_polls(ex);
    cfut_executor_free(ex);
    exkit_note_trace(r.trace);
    EXKIT_REQUIRE(r.rc == CFUT_OK,
                  "cfut_block_on() on your coroutine "
                  "returned %s%s",
                  cfut_status_name(r.rc),
                  r.rc == CFUT_EDEADLK
                      ? ": it was PENDING with no waker alive anywhere "
                        "(PENDING without a CFUT_AWAIT of a pending child?)"
                      : "");
    return r;
}

static void
check_output(void)
{
    struct run r = run_naps(10, 20, 30);

    EXKIT_REQUIRE(r.total == 60,
                  "naps of 10, 20 and 30 ms gave %llu instead of 60 (the "
                  "total slept)",
                  (unsigned long long)r.total);
}

static void
check_one_after_another(void)
{
    struct run r = run_naps(30, 0, 5);

    EXKIT_REQUIRE(r.slept_ms == 35,
                  "naps of 30, 0 and 5 ms took %llu ms of the executor's "
                  "clock instead of 35: sleep each one, one after another "
                  "(initialise the sleep with this nap's duration just "
                  "before its await)",
                  (unsigned long long)r.slept_ms);
    EXKIT_REQUIRE(r.total == 35, "the output is %llu instead of 35",
                  (unsigned long long)r.total);
}

static void
check_suspends_at_awaits(void)
{
    struct run r = run_naps(10, 20, 30);

    int n_suspended =
        exkit_trace_count(r.trace, "'naps' polled -> Pending, suspended at "
                                   "naps.c:");
    EXKIT_REQUIRE(n_suspended == 3,
                  "the trace shows your coroutine suspended %d times at an "
                  "await in naps.c instead of 3 (once per nap): await each "
                  "sleep with CFUT_AWAIT",
                  n_suspended);
    EXKIT_REQUIRE(r.n_polls == 4,
                  "the executor polled your coroutine %llu times instead of "
                  "4: three PENDING polls (one per nap) and the READY one",
                  (unsigned long long)r.n_polls);
}

static void
check_ready_naps_do_not_suspend(void)
{
    struct run r = run_naps(0, 0, 0);

    EXKIT_REQUIRE(r.n_polls == 1 && r.total == 0,
                  "three naps of 0 ms should finish in one poll with 0 "
                  "(awaiting a future that is ready at once does not "
                  "suspend); it took %llu polls and gave %llu",
                  (unsigned long long)r.n_polls, (unsigned long long)r.total);
}

static void
check_drop_cancels_sleep(void)
{
    struct cfut_executor *ex;
    EXKIT_REQUIRE(cfut_executor_new(&ex) == CFUT_OK,
                  "(the check could not make an executor)");
    cfut_time_pause(ex);
    const uint64_t ms[3] = {50, 50, 50};
    struct naps n;
    naps_init(&n, ms);
    struct cfut_join_handle h;
    EXKIT_REQUIRE(cfut_spawn(ex, &n.base, sizeof n, &h) == CFUT_OK,
                  "(the check could not spawn your coroutine)");
    cfut_executor_run_ready(ex); /* the first poll: the first nap starts */
    size_t armed = cfut_reactor_n_timers(ex);

    cfut_join_handle_cancel(&h); /* drops the coroutine, mid-nap */
    struct cfut_join_status st;
    cfut_block_on(ex, &h.base, &st);
    size_t left = cfut_reactor_n_timers(ex);
    cfut_executor_free(ex);

    EXKIT_REQUIRE(armed == 1,
                  "after its first poll your coroutine had %zu timers armed "
                  "instead of 1 (its first nap)",
                  armed);
    EXKIT_REQUIRE(st.status == CFUT_ECANCELED, "(the task was not cancelled)");
    EXKIT_REQUIRE(left == 0,
                  "the coroutine was dropped in the middle of a nap, but its "
                  "timer stayed armed: its drop must drop the sleep it "
                  "awaits (cfut_coro_drop())");
}

static const struct exkit_check checks[] = {
    {"output", "naps of 10, 20, 30 ms: READY with 60", check_output},
    {"one-after-another", "the naps are taken one after another",
     check_one_after_another},
    {"suspends-at-awaits",
     "it suspends once per nap, at an await (the trace shows where)",
     check_suspends_at_awaits},
    {"ready-naps-do-not-suspend", "naps of 0 ms: READY at the first poll",
     check_ready_naps_do_not_suspend},
    {"drop-cancels-sleep", "dropped mid-nap, it leaves no timer armed",
     check_drop_cancels_sleep},
};

int
main(int argc, char **argv)
{
    return exkit_main(argc, argv, "08_naps",
                      "a coroutine that awaits three sleeps", checks,
                      EXKIT_N(checks));
}
