/*
 * Lesson 18: timeouts: cancellation is dropping a pending future.
 *
 * What you will learn:
 *   - cfut_timeout runs a child future against a timer; if the timer wins
 *     it drops the child, which is how async code cancels: a future that
 *     is dropped while pending simply never runs again, and its drop
 *     releases what it held (here, its own armed timer);
 *   - a paused clock (cfut_time_pause) makes timer code deterministic and
 *     instant: when every task waits, the clock jumps to the next deadline.
 * Builds on: lesson 09 (await), 14 (the reactor's timers).
 * API introduced: cfut_timeout_init, CFUT_TIMEOUT_OUTPUT, cfut_time_pause,
 *   cfut_time_now, CFUT_ETIMEDOUT.
 * Run it: build/examples/18_timeout   (try CFUT_TRACE=- too)
 * Expected output: examples/expected/18_timeout.txt
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
struct fetch {
    struct cfut_future base;
    struct cfut_coro co;
    const char *name;
    uint64_t ms;
    int st;
    struct cfut_sleep work;
};

static enum cfut_poll
fetch_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct fetch *s = cfut_container_of(f, struct fetch, base);
    CFUT_ASYNC_BEGIN(&s->co);
    printf("  fetch %s: starts at t=%llu ms, needs %llu ms\n", s->name,
           now_ms(), (unsigned long long)s->ms);
    cfut_sleep_init(&s->work, CFUT_MSEC(s->ms));
    CFUT_AWAIT(&s->co, cx, &s->work.base, &s->st);
    printf("  fetch %s: done at t=%llu ms\n", s->name, now_ms());
    CFUT_ASYNC_RETURN(&s->co, out, int, 42);
    CFUT_ASYNC_END(&s->co);
}

/* Step: the drop of a fetch still in its await is the cancellation. */
static void
fetch_drop(struct cfut_future *f)
{
    struct fetch *s = cfut_container_of(f, struct fetch, base);
    if (s->co.line > 0)
        printf("  fetch %s: dropped while pending at t=%llu ms (its timer "
               "goes too)\n",
               s->name, now_ms());
    cfut_coro_drop(&s->co); /* drops the sleep: disarms its timer */
}

static const struct cfut_future_vtable fetch_vtable = {
    fetch_poll, fetch_drop, sizeof(int), "fetch", NULL};

/* An attempt: a fetch inside a timeout, both embedded (pinned together). */
struct attempt {
    struct cfut_future base;
    struct cfut_coro co;
    const char *name;
    uint64_t ms, limit_ms;
    struct fetch f;
    struct cfut_timeout t;
    CFUT_TIMEOUT_OUTPUT(int) r;
};

static enum cfut_poll
attempt_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct attempt *a = cfut_container_of(f, struct attempt, base);
    CFUT_ASYNC_BEGIN(&a->co);
    /* Step: make the fetch in place, then hand it to the timeout, which
     * polls it first and its own timer second. */
    cfut_future_init(&a->f.base, &fetch_vtable);
    cfut_coro_init(&a->f.co);
    a->f.name = a->name;
    a->f.ms = a->ms;
    cfut_timeout_init(&a->t, &a->f.base, CFUT_MSEC(a->limit_ms));
    CFUT_AWAIT(&a->co, cx, &a->t.base, &a->r);
    if (a->r.status == CFUT_OK)
        printf("  timeout: the fetch won with %d\n", a->r.value);
    else
        printf("  timeout: %s at t=%llu ms\n", cfut_status_name(a->r.status),
               now_ms());
    CFUT_ASYNC_RETURN(&a->co, out, int, a->r.status);
    CFUT_ASYNC_END(&a->co);
}

static void
attempt_drop(struct cfut_future *f)
{
    cfut_coro_drop(&cfut_container_of(f, struct attempt, base)->co);
}

static const struct cfut_future_vtable attempt_vtable = {
    attempt_poll, attempt_drop, sizeof(int), "attempt", NULL};

static void
attempt_init(struct attempt *a, const char *name, uint64_t ms,
             uint64_t limit_ms)
{
    cfut_future_init(&a->base, &attempt_vtable);
    cfut_coro_init(&a->co);
    a->name = name;
    a->ms = ms;
    a->limit_ms = limit_ms;
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
    printf("result: %s; timers left armed: %zu\n", cfut_status_name(status),
           cfut_reactor_n_timers(ex));
    cfut_executor_free(ex);
    return 0;
}
