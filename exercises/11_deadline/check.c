/*
 * check.c: the checks of exercise 11 (a timeout written by hand). It links
 * your deadline.c; run it with ./run exercise 11. The child is a job that
 * sleeps a while and answers 42; everything runs on cfut's executor with
 * the clock paused, so the check knows when each thing happened and
 * which timers are still armed.
 */
#include "deadline.h"
#include "exkit.h"

static uint64_t t0;          /* the paused clock at the start */
static int n_jobs_cancelled; /* jobs dropped in the middle of their sleep */
static int64_t cancelled_at; /* when, in ms */

static uint64_t
now_ms(void)
{
    return (cfut_time_now(NULL) - t0) / CFUT_MSEC(1);
}

/* The child: sleeps 'ms', then answers 42. */
struct job {
    struct cfut_future base;
    struct cfut_coro co;
    uint64_t ms;
    int status;
    struct cfut_sleep nap;
};

static enum cfut_poll
job_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct job *j = cfut_container_of(f, struct job, base);
    CFUT_ASYNC_BEGIN(&j->co);
    cfut_sleep_init(&j->nap, CFUT_MSEC(j->ms));
    CFUT_AWAIT(&j->co, cx, &j->nap.base, &j->status);
    CFUT_ASYNC_RETURN(&j->co, out, int, 42);
    CFUT_ASYNC_END(&j->co);
}

static void
job_drop(struct cfut_future *f)
{
    struct job *j = cfut_container_of(f, struct job, base);
    if (j->co.line > 0) { /* mid-sleep: cancelled */
        n_jobs_cancelled++;
        cancelled_at = (int64_t)now_ms();
    }
    cfut_coro_drop(&j->co);
}

static const struct cfut_future_vtable job_vtable = {job_poll, job_drop,
                                                     sizeof(int), "job", NULL};

static struct cfut_future *
job_new(uint64_t ms)
{
    struct job j;
    cfut_future_init(&j.base, &job_vtable);
    cfut_coro_init(&j.co);
    j.ms = ms;
    struct cfut_future *boxed;
    EXKIT_REQUIRE(cfut_future_box(&j.base, sizeof j, &boxed) == CFUT_OK,
                  "(the check could not box the job)");
    return boxed;
}

/* One race of a job of 'job_ms' against a deadline of 'limit_ms'. */
struct race {
    int rc;
    struct deadline_output out;
    uint64_t at_ms;   /* when block_on returned */
    size_t armed;     /* timers still armed then */
    uint64_t n_polls; /* polls the executor made */
};

static struct race
run_race(uint64_t job_ms, uint64_t limit_ms)
{
    struct race r = {0, {99, 99}, 0, 0, 0};
    struct cfut_executor *ex;
    EXKIT_REQUIRE(cfut_executor_new(&ex) == CFUT_OK,
                  "(the check could not make an executor)");
    cfut_time_pause(ex);
    t0 = cfut_time_now(ex);
    n_jobs_cancelled = 0;
    cancelled_at = -1;
    struct deadline d;
    deadline_init(&d, job_new(job_ms), limit_ms);

    r.rc = cfut_block_on(ex, &d.base, &r.out);
    r.at_ms = (cfut_time_now(ex) - t0) / CFUT_MSEC(1);
    r.armed = cfut_reactor_n_timers(ex);
    r.n_polls = cfut_executor_n_polls(ex);
    cfut_executor_free(ex);
    EXKIT_REQUIRE(r.rc == CFUT_OK,
                  "cfut_block_on() on your deadline "
                  "returned %s",
                  cfut_status_name(r.rc));
    return r;
}

/* ---------------------------------------------------------------------- */

static void
check_child_wins(void)
{
    struct race r = run_race(30, 100);

    EXKIT_REQUIRE(r.out.status == CFUT_OK && r.out.value == 42,
                  "a 30 ms job under a 100 ms deadline should finish with "
                  "{CFUT_OK, 42}; yours gave {%s, %d}",
                  cfut_status_name(r.out.status), r.out.value);
    EXKIT_REQUIRE(r.at_ms == 30,
                  "the job finished at 30 ms, but your "
                  "deadline finished at %llu ms",
                  (unsigned long long)r.at_ms);
    EXKIT_REQUIRE(r.armed == 0,
                  "the job won, but the deadline's timer was still armed "
                  "afterwards: drop the timer when the child wins");
}

static void
check_timer_wins(void)
{
    struct race r = run_race(500, 100);

    EXKIT_REQUIRE(r.out.status == CFUT_ETIMEDOUT,
                  "a 500 ms job under a 100 ms deadline should end with "
                  "CFUT_ETIMEDOUT; yours gave {%s, %d}",
                  cfut_status_name(r.out.status), r.out.value);
    EXKIT_REQUIRE(r.at_ms == 100,
                  "the deadline was 100 ms, but it ended at "
                  "%llu ms",
                  (unsigned long long)r.at_ms);
    EXKIT_REQUIRE(n_jobs_cancelled == 1 && cancelled_at == 100,
                  "when the time ran out, the job should be dropped in the "
                  "middle of its sleep, at 100 ms (it was dropped mid-sleep "
                  "%d times, at %lld ms): the loser is cancelled by a drop",
                  n_jobs_cancelled, (long long)cancelled_at);
    EXKIT_REQUIRE(r.armed == 0,
                  "%zu timers were still armed after the deadline ended",
                  r.armed);
}

static void
check_child_first(void)
{
    struct race r = run_race(0, 0);

    EXKIT_REQUIRE(r.out.status == CFUT_OK && r.out.value == 42,
                  "a job that is ready at once, under a deadline of 0 ms, "
                  "should win: the child is polled first (in time is in "
                  "time); yours gave {%s, %d}",
                  cfut_status_name(r.out.status), r.out.value);
    EXKIT_REQUIRE(r.n_polls == 1, "it should take 1 poll, not %llu",
                  (unsigned long long)r.n_polls);
}

static void
check_drop_cancels_both(void)
{
    struct cfut_executor *ex;
    EXKIT_REQUIRE(cfut_executor_new(&ex) == CFUT_OK,
                  "(the check could not make an executor)");
    cfut_time_pause(ex);
    t0 = cfut_time_now(ex);
    n_jobs_cancelled = 0;
    struct deadline d;
    deadline_init(&d, job_new(500), 100);
    struct cfut_join_handle h;
    EXKIT_REQUIRE(cfut_spawn(ex, &d.base, sizeof d, &h) == CFUT_OK,
                  "(the check could not spawn your deadline)");
    struct cfut_yield turn; /* one turn of the executor: the first poll */
    cfut_yield_now_init(&turn);
    cfut_block_on(ex, &turn.base, NULL);
    size_t armed = cfut_reactor_n_timers(ex);

    cfut_join_handle_cancel(&h); /* drops the pending deadline */
    struct cfut_join_status st;
    cfut_block_on(ex, &h.base, &st);
    size_t left = cfut_reactor_n_timers(ex);
    cfut_executor_free(ex);

    EXKIT_REQUIRE(armed == 2,
                  "after its first poll, a deadline of 100 ms on a job of "
                  "500 ms should have two timers armed (the job's and its "
                  "own); there were %zu",
                  armed);
    EXKIT_REQUIRE(n_jobs_cancelled == 1 && left == 0,
                  "the pending deadline was dropped: the job should be "
                  "dropped mid-sleep (it was %d times) and no timer left "
                  "armed (%zu are)",
                  n_jobs_cancelled, left);
}

static const struct exkit_check checks[] = {
    {"child-wins", "a job in time: its output, and no timer left armed",
     check_child_wins},
    {"timer-wins", "a job too slow: CFUT_ETIMEDOUT on time, the job dropped",
     check_timer_wins},
    {"child-first", "a ready job under a 0 ms deadline wins: child first",
     check_child_first},
    {"drop-cancels-both", "a pending deadline dropped: job and timer go",
     check_drop_cancels_both},
};

int
main(int argc, char **argv)
{
    return exkit_main(argc, argv, "14_deadline", "a timeout written by hand",
                      checks, EXKIT_N(checks));
}
