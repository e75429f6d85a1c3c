/*
 * Lesson 15: timeouts: cancellation is dropping a pending future.
 *
 * What you will learn:
 *   - cfut_timeout runs a child future against a timer; if the timer wins
 *     it drops the child, which is how async code cancels: a future that
 *     is dropped while pending simply never runs again, and its drop
 *     releases what it held (here, its own armed timer);
 *   - a paused clock (cfut_time_pause) makes timer code deterministic and
 *     instant: when every task waits, the clock jumps to the next deadline.
 * Builds on: lesson 11 (async functions) and 14 (the reactor's timers).
 * API introduced: cfut_timeout_init, CFUT_TIMEOUT_OUTPUT, cfut_time_pause,
 *   cfut_time_now, CFUT_ETIMEDOUT, cfut_reactor_n_timers.
 * Run it: build/examples/15_timeout   (try CFUT_TRACE=- too)
 * Expected output: examples/expected/15_timeout.txt
 */
#include <cfut.h>
#include <stdio.h>

static uint64_t t0; /* the paused clock at the start */

/* Milliseconds on the executor's clock since the start. */
static unsigned long long
now_ms(void)
{
    return (unsigned long long)((cfut_time_now(NULL) - t0) / CFUT_MSEC(1));
}

/* A pretend fetch: it takes 'ms' milliseconds, then returns 42. */
CFUT_ASYNC_FN(fetch, int, ((const char *, name), (uint64_t, ms)),
              struct cfut_sleep work;)
{
    CFUT_BEGIN();
    printf("  fetch %s: starts at t=%llu ms, needs %llu ms\n", self->name,
           now_ms(), (unsigned long long)self->ms);
    cfut_sleep_init(&self->work, CFUT_MSEC(self->ms));
    CFUT_AWAIT(&self->work);
    printf("  fetch %s: done at t=%llu ms\n", self->name, now_ms());
    CFUT_RETURN(42);
    CFUT_END();
}

/* Step: the drop of a fetch still in its await is the cancellation; the
 * generated drop has dropped the sleep already, which disarmed its timer. */
CFUT_ASYNC_DROP(fetch)
{
    if (self->co.line > 0)
        printf("  fetch %s: dropped while pending at t=%llu ms (its timer "
               "went with it)\n",
               self->name, now_ms());
}

/* An attempt: a fetch inside a timeout, both in the state (pinned
 * together: the timeout points at the fetch beside it). */
CFUT_ASYNC_FN(attempt, int,
              ((const char *, name), (uint64_t, ms), (uint64_t, limit_ms)),
              struct fetch f;
              struct cfut_timeout t; CFUT_TIMEOUT_OUTPUT(int) r;)
{
    CFUT_BEGIN();
    /* Step: make the fetch in place, then hand it to the timeout, which
     * polls it first and its own timer second. */
    fetch_init(&self->f, self->name, self->ms);
    cfut_timeout_init(&self->t, &self->f.base, CFUT_MSEC(self->limit_ms));
    CFUT_AWAIT(&self->t, &self->r);
    if (self->r.status == CFUT_OK)
        printf("  timeout: the fetch won with %d\n", self->r.value);
    else
        printf("  timeout: %s at t=%llu ms\n", cfut_status_name(self->r.status),
               now_ms());
    CFUT_RETURN(self->r.status);
    CFUT_END();
}

int
main(void)
{
    struct cfut_executor *ex;
    if (cfut_executor_new(&ex) != CFUT_OK)
        return 1;
    /* Step 1: pause the clock: no real sleeping, same output every run. */
    cfut_time_pause(ex);
    t0 = cfut_time_now(ex);

    /* Step 2: a fetch of 30 ms under a 100 ms limit: it finishes. */
    struct attempt a;
    int status;
    attempt_init(&a, "fast", 30, 100);
    printf("fast fetch, limit 100 ms:\n");
    cfut_block_on(ex, &a.base, &status);

    /* Step 3: a fetch of 500 ms under the same limit: it is cancelled. */
    t0 = cfut_time_now(ex);
    attempt_init(&a, "slow", 500, 100);
    printf("slow fetch, limit 100 ms:\n");
    cfut_block_on(ex, &a.base, &status);
    printf("result: %s; timers left armed: %zu\n",
           status == CFUT_ETIMEDOUT ? "CFUT_ETIMEDOUT" : "not a timeout",
           cfut_reactor_n_timers(ex));
    cfut_executor_free(ex);
    return 0;
}
