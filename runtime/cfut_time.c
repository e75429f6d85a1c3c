/*
 * cfut_time.c: time on the executor's clock for users: the clock calls
 * (now, pause, advance, the timer count) and the futures that wait for it:
 * sleep, sleep_until, timeout and interval. They arm and disarm timers of
 * the executor that runs them; the heap and the clock themselves are
 * cfut_timers.c's.
 */
#define _GNU_SOURCE
#include <string.h>
#include <time.h>

#include "cfut_executor_int.h"
#include "cfut_timers_int.h"
#ifndef __EMSCRIPTEN__
#include "cfut_pool_io_int.h" /* a pool's shared driver (not in a page) */
#endif

/* Returns the timers of the executor running on this thread, or NULL. */
static struct cfut__timers *
current_timers(void)
{
    struct cfut_executor *ex = cfut_executor_current();
    return ex != NULL ? cfut__executor_timers(ex) : NULL;
}

/* ---------------------------------------------------------------------- */
/* Clock                                                                   */
/* ---------------------------------------------------------------------- */

uint64_t
cfut_time_now(const struct cfut_executor *ex)
{
    if (ex == NULL)
        ex = cfut_executor_current();
    if (ex == NULL) {
        struct timespec ts; /* no executor: CLOCK_MONOTONIC itself */
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    }
    return cfut__timers_now(
        cfut__executor_timers((struct cfut_executor *)(uintptr_t)ex));
}

/* Debug builds: the clock of 'ex' is its thread's (cfut_time.h). */
#define CHECK_OWNER(ex)                                                        \
    CFUT_DEBUG_ASSERT((ex)->owner == cfut__thread_id(),                        \
                      "an executor's clock was used from a second thread "     \
                      "(cfut_time_pause/advance belong to its thread)")

void
cfut_time_pause(struct cfut_executor *ex)
{
    CHECK_OWNER(ex);
    cfut__timers_pause(cfut__executor_timers(ex));
}

int
cfut_time_advance(struct cfut_executor *ex, uint64_t ns)
{
    CHECK_OWNER(ex);
    return cfut__timers_advance(cfut__executor_timers(ex), ns);
}

size_t
cfut_reactor_n_timers(const struct cfut_executor *ex)
{
    return cfut__executor_timers((struct cfut_executor *)(uintptr_t)ex)->n;
}

/* ---------------------------------------------------------------------- */
/* Sleep                                                                   */
/* ---------------------------------------------------------------------- */

/*
 * States: not armed: fix the deadline (relative: now + duration), finish
 * at once if it has passed, else arm the timer and wait. Armed: the timer
 * has fired (it left the heap): READY; else refresh the waker and wait.
 */
static enum cfut_poll
cfut_sleep_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct cfut_sleep *s = cfut_container_of(f, struct cfut_sleep, base);
    int *status = out;
    if (s->armed) {
        if (!cfut__timer_is_armed(&s->timer)) {
            *status = CFUT_OK;
            return CFUT_READY;
        }
        cfut_waker_register(&s->timer.waker, cx->waker);
        return CFUT_PENDING;
    }
    struct cfut__timers *tm = current_timers();
    if (tm == NULL) {
#ifndef __EMSCRIPTEN__
        return cfut__pool_sleep_start(s, cx, status); /* or CFUT_ESTATE */
#else
        *status = CFUT_ESTATE;
        return CFUT_READY;
#endif
    }
    /* A duration needs the clock; a deadline compares with the clock's
     * last reading (a passed deadline it misses fires at the next turn). */
    uint64_t now;
    if (s->relative) {
        now = cfut__timers_now(tm);
        s->ns = s->ns > UINT64_MAX - now ? UINT64_MAX : now + s->ns;
        s->relative = false;
    } else {
        now = cfut__timers_now_cached(tm);
    }
    if (s->ns <= now) {
        /* Due already: ready at once, but within the task's budget. */
        if (!cfut_context_consume_budget(cx))
            return CFUT_PENDING;
        *status = CFUT_OK;
        return CFUT_READY;
    }
    s->timer.deadline = s->ns;
    int rc = cfut__timers_insert(tm, &s->timer, cx->waker);
    if (rc != CFUT_OK) {
        *status = rc;
        return CFUT_READY;
    }
    s->timers = tm;
    s->armed = true;
    return CFUT_PENDING;
}

static void
cfut_sleep_drop(struct cfut_future *f)
{
    struct cfut_sleep *s = cfut_container_of(f, struct cfut_sleep, base);
    if (s->armed)
        cfut__timers_remove(s->timers, &s->timer);
}

static const struct cfut_future_vtable cfut_sleep_vtable = {
    cfut_sleep_poll, cfut_sleep_drop, sizeof(int), "sleep", NULL};

static void
sleep_init(struct cfut_sleep *s, uint64_t ns, bool relative)
{
    cfut_future_init(&s->base, &cfut_sleep_vtable);
    s->ns = ns;
    s->relative = relative;
    s->armed = false;
    s->timers = NULL;
    s->timer.deadline = 0;
    s->timer.seq = 0;
    s->timer.index = SIZE_MAX;
    s->timer.waker = CFUT_WAKER_EMPTY;
}

void
cfut_sleep_init(struct cfut_sleep *s, uint64_t ns)
{
    sleep_init(s, ns, true);
}

void
cfut_sleep_until_init(struct cfut_sleep *s, uint64_t deadline)
{
    sleep_init(s, deadline, false);
}

uint64_t
cfut_sleep_deadline(const struct cfut_sleep *s)
{
    return s->relative ? 0 : s->ns;
}

/* ---------------------------------------------------------------------- */
/* Timeout                                                                 */
/* ---------------------------------------------------------------------- */

/*
 * States: child running: poll it; READY: drop it, output CFUT_OK and its
 * value. Then poll the timer; READY: drop the child, output CFUT_ETIMEDOUT
 * (or the timer's error). The child is polled first, so it wins a tie.
 */
static enum cfut_poll
cfut_timeout_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct cfut_timeout *t = cfut_container_of(f, struct cfut_timeout, base);
    CFUT_ASSERT(t->child != NULL, "timeout polled after it finished");
    void *child_out =
        t->child_size != 0 ? (char *)out + CFUT_TIMEOUT_VALUE_OFFSET : NULL;
    if (cfut_future_poll(t->child, cx, child_out) == CFUT_READY) {
        struct cfut_future *c = t->child;
        t->child = NULL;
        cfut_future_drop(c);
        *(int *)out = CFUT_OK;
        return CFUT_READY;
    }
    int st;
    if (cfut_future_poll(&t->sleep.base, cx, &st) == CFUT_PENDING)
        return CFUT_PENDING;
    struct cfut_future *c = t->child;
    t->child = NULL;
    cfut_future_drop(c);
    *(int *)out = st == CFUT_OK ? CFUT_ETIMEDOUT : st;
    return CFUT_READY;
}

static void
cfut_timeout_drop(struct cfut_future *f)
{
    struct cfut_timeout *t = cfut_container_of(f, struct cfut_timeout, base);
    if (t->child != NULL) {
        struct cfut_future *c = t->child;
        t->child = NULL;
        cfut_future_drop(c);
    }
    cfut_future_drop(&t->sleep.base);
}

static size_t
cfut_timeout_output_size(const struct cfut_future *f)
{
    const struct cfut_timeout *t =
        cfut_container_of(f, const struct cfut_timeout, base);
    return t->child_size == 0 ? sizeof(int)
                              : CFUT_TIMEOUT_VALUE_OFFSET + t->child_size;
}

static const struct cfut_future_vtable cfut_timeout_vtable = {
    cfut_timeout_poll, cfut_timeout_drop, CFUT_OUTPUT_DYNAMIC, "timeout",
    cfut_timeout_output_size};

void
cfut_timeout_init(struct cfut_timeout *t, struct cfut_future *child,
                  uint64_t ns)
{
    cfut_future_init(&t->base, &cfut_timeout_vtable);
    t->child = child;
    t->child_size = cfut_future_output_size(child);
    cfut_sleep_init(&t->sleep, ns);
}

/* ---------------------------------------------------------------------- */
/* Interval                                                                */
/* ---------------------------------------------------------------------- */

int
cfut_interval_init(struct cfut_interval *iv, uint64_t period)
{
    if (period == 0)
        return CFUT_EINVAL;
    iv->period = period;
    iv->next = 0;
    iv->started = false;
    return CFUT_OK;
}

/*
 * States: no sleep yet: start the interval (first tick due now) if needed
 * and sleep until its next deadline. Sleeping: on READY, move the interval
 * on by exactly one period from the deadline (not from now: no drift).
 */
static enum cfut_poll
cfut_interval_tick_poll(struct cfut_future *f, struct cfut_context *cx,
                        void *out)
{
    struct cfut_interval_tick *t =
        cfut_container_of(f, struct cfut_interval_tick, base);
    struct cfut_interval_tick_result *res = out;
    struct cfut_interval *iv = t->iv;
    if (!t->has_sleep) {
        if (!iv->started) {
            struct cfut__timers *tm = current_timers();
            int rc = CFUT_ESTATE;
            if (tm != NULL) {
                iv->next = cfut__timers_now(tm);
                rc = CFUT_OK;
            }
#ifndef __EMSCRIPTEN__
            else {
                rc = cfut__pool_io_now(&iv->next); /* a pool's clock */
            }
#endif
            if (rc != CFUT_OK) {
                res->status = rc;
                res->deadline = 0;
                return CFUT_READY;
            }
            iv->started = true;
        }
        cfut_sleep_until_init(&t->sleep, iv->next);
        t->has_sleep = true;
    }
    int st;
    if (cfut_future_poll(&t->sleep.base, cx, &st) == CFUT_PENDING)
        return CFUT_PENDING;
    res->status = st;
    res->deadline = t->sleep.ns;
    if (st == CFUT_OK)
        iv->next += iv->period;
    return CFUT_READY;
}

static void
cfut_interval_tick_drop(struct cfut_future *f)
{
    struct cfut_interval_tick *t =
        cfut_container_of(f, struct cfut_interval_tick, base);
    if (t->has_sleep)
        cfut_future_drop(&t->sleep.base);
}

static const struct cfut_future_vtable cfut_interval_tick_vtable = {
    cfut_interval_tick_poll, cfut_interval_tick_drop,
    sizeof(struct cfut_interval_tick_result), "interval_tick", NULL};

void
cfut_interval_tick_init(struct cfut_interval_tick *t, struct cfut_interval *iv)
{
    cfut_future_init(&t->base, &cfut_interval_tick_vtable);
    t->iv = iv;
    t->has_sleep = false;
}
