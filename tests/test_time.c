/*
 * test_time.c: sleep and sleep_until on the paused clock (ordering, manual
 * advance, auto-advance), cancellation of pending sleeps, timeout (fires and
 * drops the child; the child first wins), interval without drift, a real
 * short sleep, misuse outside an executor, allocation failure.
 */
#define _GNU_SOURCE
#include "testkit.h"

#include <stdlib.h>

/* The executor under test: made by the testkit's executor fixture. */
#define ex testkit_ex

/* ---- a sleeper task: sleeps 'ns', then appends 'id' to a log ---- */

struct sleeper {
    struct cfut_future base;
    struct cfut_coro co;
    uint64_t ns;
    int id;
    int *log;
    int *n_log;
    int status;
    struct cfut_sleep sleep;
};

static enum cfut_poll
sleeper_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct sleeper *self = cfut_container_of(f, struct sleeper, base);
    (void)out;
    CFUT_ASYNC_BEGIN(&self->co);
    cfut_sleep_init(&self->sleep, self->ns);
    CFUT_AWAIT(&self->co, cx, &self->sleep.base, &self->status);
    self->log[(*self->n_log)++] = self->status == CFUT_OK ? self->id : -1;
    CFUT_ASYNC_END(&self->co);
}

static void
sleeper_drop(struct cfut_future *f)
{
    cfut_coro_drop(&cfut_container_of(f, struct sleeper, base)->co);
}

static const struct cfut_future_vtable sleeper_vtable = {
    sleeper_poll, sleeper_drop, 0, "sleeper", NULL};

static void
sleeper_init(struct sleeper *s, uint64_t ns, int id, int *log, int *n_log)
{
    cfut_future_init(&s->base, &sleeper_vtable);
    cfut_coro_init(&s->co);
    s->ns = ns;
    s->id = id;
    s->log = log;
    s->n_log = n_log;
    s->status = 99;
}

static void
spawn_sleeper(uint64_t ns, int id, int *log, int *n_log,
              struct cfut_join_handle *h)
{
    struct sleeper s;
    sleeper_init(&s, ns, id, log, n_log);
    ck_assert_int_eq(cfut_spawn(ex, &s.base, sizeof s, h), CFUT_OK);
}

/* ---- sleep ---- */

START_TEST(test_time_sleeps_finish_in_deadline_order)
{
    int log[4] = {0};
    int n_log = 0;
    cfut_time_pause(ex);
    uint64_t start = cfut_time_now(ex);
    spawn_sleeper(CFUT_MSEC(30), 30, log, &n_log, NULL);
    spawn_sleeper(CFUT_MSEC(10), 10, log, &n_log, NULL);
    spawn_sleeper(CFUT_MSEC(20), 20, log, &n_log, NULL);
    spawn_sleeper(CFUT_MSEC(10), 11, log, &n_log, NULL);

    int rc = cfut_executor_run(ex);

    ck_assert_int_eq(rc, CFUT_OK);
    ck_assert_int_eq(n_log, 4);
    ck_assert_int_eq(log[0], 10);
    ck_assert_int_eq(log[1], 11); /* equal deadlines: first armed first */
    ck_assert_int_eq(log[2], 20);
    ck_assert_int_eq(log[3], 30);
    /* Auto-advance jumped exactly to the last deadline, no further. */
    ck_assert_uint_eq(cfut_time_now(ex) - start, CFUT_MSEC(30));
    ck_assert_uint_eq(cfut_reactor_n_timers(ex), 0);
}
END_TEST

START_TEST(test_time_sleep_waits_for_manual_advance)
{
    int log[1] = {0};
    int n_log = 0;
    cfut_time_pause(ex);
    spawn_sleeper(CFUT_MSEC(10), 1, log, &n_log, NULL);
    ck_assert_int_eq(cfut_executor_run_ready(ex), CFUT_OK);
    ck_assert_uint_eq(cfut_reactor_n_timers(ex), 1);

    ck_assert_int_eq(cfut_time_advance(ex, CFUT_MSEC(9)), CFUT_OK);
    ck_assert_int_eq(cfut_executor_run_ready(ex), CFUT_OK);
    int after_9ms = n_log;
    ck_assert_int_eq(cfut_time_advance(ex, CFUT_MSEC(1)), CFUT_OK);
    ck_assert_int_eq(cfut_executor_run_ready(ex), CFUT_OK);

    ck_assert_int_eq(after_9ms, 0);
    ck_assert_int_eq(n_log, 1);
    ck_assert_int_eq(log[0], 1);
    ck_assert_uint_eq(cfut_executor_n_tasks(ex), 0);
}
END_TEST

START_TEST(test_time_advance_needs_a_paused_clock)
{
    ck_assert_int_eq(cfut_time_advance(ex, 1), CFUT_ESTATE);
}
END_TEST

START_TEST(test_time_zero_sleep_is_ready_at_once)
{
    struct cfut_sleep s;
    int st = 99;
    cfut_sleep_init(&s, 0);

    int rc = cfut_block_on(ex, &s.base, &st);

    ck_assert_int_eq(rc, CFUT_OK);
    ck_assert_int_eq(st, CFUT_OK);
    ck_assert_uint_eq(cfut_reactor_n_timers(ex), 0);
}
END_TEST

START_TEST(test_time_real_sleep_ends_after_its_deadline)
{
    struct cfut_sleep s;
    int st = 99;
    uint64_t deadline = cfut_time_now(ex) + CFUT_MSEC(2);
    cfut_sleep_until_init(&s, deadline);

    int rc = cfut_block_on(ex, &s.base, &st);

    ck_assert_int_eq(rc, CFUT_OK); /* an armed timer is not a deadlock */
    ck_assert_int_eq(st, CFUT_OK);
    ck_assert_uint_ge(cfut_time_now(ex), deadline);
}
END_TEST

START_TEST(test_time_sleep_outside_an_executor_says_estate)
{
    struct cfut_sleep s;
    int st = 99;
    cfut_sleep_init(&s, CFUT_MSEC(1));

    enum cfut_poll r = testkit_poll(&s.base, cfut_waker_noop(), &st);

    ck_assert_int_eq(r, CFUT_READY);
    ck_assert_int_eq(st, CFUT_ESTATE);
    cfut_future_drop(&s.base);
}
END_TEST

/* ---- cancellation ---- */

START_TEST(test_time_cancelled_sleep_removes_its_timer)
{
    int log[2] = {0};
    int n_log = 0;
    struct cfut_join_handle h;
    cfut_time_pause(ex);
    spawn_sleeper(CFUT_MSEC(10), 1, log, &n_log, &h);
    spawn_sleeper(CFUT_MSEC(20), 2, log, &n_log, NULL);
    ck_assert_int_eq(cfut_executor_run_ready(ex), CFUT_OK);
    ck_assert_uint_eq(cfut_reactor_n_timers(ex), 2);
    ck_assert_uint_eq(cfut_executor_n_wakers(ex), 2);

    cfut_join_handle_cancel(&h);
    ck_assert_int_eq(cfut_executor_run_ready(ex), CFUT_OK);

    ck_assert_uint_eq(cfut_reactor_n_timers(ex), 1);
    ck_assert_uint_eq(cfut_executor_n_wakers(ex), 1);
    cfut_future_drop(&h.base);
    ck_assert_int_eq(cfut_executor_run(ex), CFUT_OK);
    ck_assert_int_eq(n_log, 1);
    ck_assert_int_eq(log[0], 2);
}
END_TEST

/* A future that polls a sleep once, drops it, and finishes. */
struct drop_one {
    struct cfut_future base;
    size_t timers_while_pending;
};

static enum cfut_poll
drop_one_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct drop_one *d = cfut_container_of(f, struct drop_one, base);
    struct cfut_sleep s;
    int st;
    (void)out;
    cfut_sleep_init(&s, CFUT_SEC(3600));
    ck_assert_int_eq(cfut_future_poll(&s.base, cx, &st), CFUT_PENDING);
    d->timers_while_pending = cfut_reactor_n_timers(cfut_executor_current());
    cfut_future_drop(&s.base);
    return CFUT_READY;
}

static const struct cfut_future_vtable drop_one_vtable = {drop_one_poll, NULL,
                                                          0, "drop_one", NULL};

START_TEST(test_time_dropped_pending_sleep_leaves_no_timer_or_waker)
{
    struct drop_one d;
    cfut_future_init(&d.base, &drop_one_vtable);

    int rc = cfut_block_on(ex, &d.base, NULL);

    ck_assert_int_eq(rc, CFUT_OK);
    ck_assert_uint_eq(d.timers_while_pending, 1);
    ck_assert_uint_eq(cfut_reactor_n_timers(ex), 0);
    ck_assert_uint_eq(cfut_executor_n_wakers(ex), 0);
}
END_TEST

/* ---- timeout ---- */

START_TEST(test_time_timeout_fires_and_drops_the_child)
{
    struct testkit_countdown child; /* never woken: it only keeps a waker */
    bool dropped = false;
    testkit_countdown_init(&child, 1000, false, 7);
    child.dropped = &dropped;
    struct cfut_timeout t;
    cfut_timeout_init(&t, &child.base, CFUT_MSEC(50));
    CFUT_TIMEOUT_OUTPUT(uint64_t) out;
    out.status = 99;
    cfut_time_pause(ex);
    uint64_t start = cfut_time_now(ex);

    int rc = cfut_block_on(ex, &t.base, &out);

    ck_assert_int_eq(rc, CFUT_OK);
    ck_assert_int_eq(out.status, CFUT_ETIMEDOUT);
    ck_assert(dropped);
    ck_assert_uint_eq(cfut_time_now(ex) - start, CFUT_MSEC(50));
    ck_assert_uint_eq(cfut_reactor_n_timers(ex), 0);
}
END_TEST

START_TEST(test_time_timeout_passes_the_childs_output)
{
    struct testkit_countdown child;
    testkit_countdown_init(&child, 3, true, 42);
    struct cfut_timeout t;
    cfut_timeout_init(&t, &child.base, CFUT_MSEC(50));
    CFUT_TIMEOUT_OUTPUT(uint64_t) out;
    out.status = 99;
    out.value = 0;
    cfut_time_pause(ex);

    int rc = cfut_block_on(ex, &t.base, &out);

    ck_assert_int_eq(rc, CFUT_OK);
    ck_assert_int_eq(out.status, CFUT_OK);
    ck_assert_uint_eq(out.value, 42);
    ck_assert_uint_eq(cfut_reactor_n_timers(ex), 0);
}
END_TEST

START_TEST(test_time_timeout_loses_a_tie_to_the_child)
{
    /* The child sleeps exactly as long as the timeout: both timers fire in
     * the same turn, and the child, polled first, wins. */
    struct cfut_sleep child;
    cfut_sleep_init(&child, CFUT_MSEC(20));
    struct cfut_timeout t;
    cfut_timeout_init(&t, &child.base, CFUT_MSEC(20));
    CFUT_TIMEOUT_OUTPUT(int) out;
    out.status = 99;
    out.value = 99;
    cfut_time_pause(ex);

    int rc = cfut_block_on(ex, &t.base, &out);

    ck_assert_int_eq(rc, CFUT_OK);
    ck_assert_int_eq(out.status, CFUT_OK);
    ck_assert_int_eq(out.value, CFUT_OK);
}
END_TEST

START_TEST(test_time_timeout_of_a_shorter_child_does_not_fire)
{
    struct cfut_sleep child;
    cfut_sleep_init(&child, CFUT_MSEC(10));
    struct cfut_timeout t;
    cfut_timeout_init(&t, &child.base, CFUT_MSEC(20));
    CFUT_TIMEOUT_OUTPUT(int) out;
    out.status = 99;
    cfut_time_pause(ex);
    uint64_t start = cfut_time_now(ex);

    int rc = cfut_block_on(ex, &t.base, &out);

    ck_assert_int_eq(rc, CFUT_OK);
    ck_assert_int_eq(out.status, CFUT_OK);
    ck_assert_uint_eq(cfut_time_now(ex) - start, CFUT_MSEC(10));
    ck_assert_uint_eq(cfut_reactor_n_timers(ex), 0); /* its timer went too */
}
END_TEST

/* ---- interval ---- */

/* Takes 'n' ticks, doing some (paused-clock) work after each. */
struct ticker {
    struct cfut_future base;
    struct cfut_coro co;
    struct cfut_interval iv;
    struct cfut_interval_tick tick;
    struct cfut_interval_tick_result res;
    int i;
    int n;
    uint64_t deadlines[8];
};

static enum cfut_poll
ticker_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct ticker *self = cfut_container_of(f, struct ticker, base);
    (void)out;
    CFUT_ASYNC_BEGIN(&self->co);
    for (self->i = 0; self->i < self->n; self->i++) {
        cfut_interval_tick_init(&self->tick, &self->iv);
        CFUT_AWAIT(&self->co, cx, &self->tick.base, &self->res);
        ck_assert_int_eq(self->res.status, CFUT_OK);
        self->deadlines[self->i] = self->res.deadline;
        /* 3 ms of work; 13 ms after tick 1, so tick 2 is late. */
        cfut_time_advance(cfut_executor_current(),
                          CFUT_MSEC(self->i == 1 ? 13 : 3));
    }
    CFUT_ASYNC_END(&self->co);
}

static void
ticker_drop(struct cfut_future *f)
{
    cfut_coro_drop(&cfut_container_of(f, struct ticker, base)->co);
}

static const struct cfut_future_vtable ticker_vtable = {
    ticker_poll, ticker_drop, 0, "ticker", NULL};

START_TEST(test_time_interval_does_not_drift)
{
    struct ticker t;
    cfut_future_init(&t.base, &ticker_vtable);
    cfut_coro_init(&t.co);
    ck_assert_int_eq(cfut_interval_init(&t.iv, CFUT_MSEC(10)), CFUT_OK);
    t.n = 5;
    cfut_time_pause(ex);
    uint64_t start = cfut_time_now(ex);
    struct ticker *tp = &t;

    int rc = cfut_block_on(ex, &tp->base, NULL);

    ck_assert_int_eq(rc, CFUT_OK);
    for (int i = 0; i < 5; i++)
        ck_assert_uint_eq(t.deadlines[i] - start, CFUT_MSEC(10) * (uint64_t)i);
    ck_assert_uint_eq(cfut_time_now(ex) - start, CFUT_MSEC(43));
}
END_TEST

START_TEST(test_time_interval_rejects_a_zero_period)
{
    struct cfut_interval iv;
    ck_assert_int_eq(cfut_interval_init(&iv, 0), CFUT_EINVAL);
}
END_TEST

/* ---- allocation failure ---- */

START_TEST(test_time_sleep_reports_enomem_when_the_heap_cannot_grow)
{
    int failures = 0;
    long base = testkit_alloc_live(); /* the fixture's executor */
    for (long k = 1;; k++) {
        struct cfut_executor *e = NULL;
        testkit_alloc_fail_at(k);
        int rc = cfut_executor_new(&e);
        if (rc != CFUT_OK) {
            ck_assert_int_eq(rc, CFUT_ENOMEM);
            ck_assert_int_eq(testkit_alloc_live(), base);
            failures++;
            continue;
        }
        cfut_time_pause(e);
        struct cfut_sleep s;
        int st = 99;
        cfut_sleep_init(&s, CFUT_MSEC(5));
        rc = cfut_block_on(e, &s.base, &st);
        bool failed = testkit_alloc_failed();
        testkit_alloc_fail_at(0);
        cfut_executor_free(e);
        if (rc == CFUT_OK && st == CFUT_OK) {
            ck_assert(!failed);
            break;
        }
        /* The task block or the timer heap failed. */
        ck_assert(rc == CFUT_ENOMEM || st == CFUT_ENOMEM);
        failures++;
    }
    testkit_alloc_fail_at(0);
    ck_assert_int_ge(failures, 5);
}
END_TEST

/* Arms 64 timers, then a 65th whose heap growth fails. */
#define N_GROW 64
struct grow {
    struct cfut_future base;
    struct cfut_sleep s[N_GROW + 1];
    int last_status;
    size_t timers_after_failure;
};

static enum cfut_poll
grow_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct grow *g = cfut_container_of(f, struct grow, base);
    int st;
    (void)out;
    for (int i = 0; i < N_GROW; i++) {
        cfut_sleep_init(&g->s[i], CFUT_SEC(60) + (uint64_t)i);
        ck_assert_int_eq(cfut_future_poll(&g->s[i].base, cx, &st),
                         CFUT_PENDING);
    }
    cfut_sleep_init(&g->s[N_GROW], CFUT_SEC(1));
    testkit_alloc_fail_at(1);
    ck_assert_int_eq(cfut_future_poll(&g->s[N_GROW].base, cx, &g->last_status),
                     CFUT_READY);
    testkit_alloc_fail_at(0);
    g->timers_after_failure = cfut_reactor_n_timers(cfut_executor_current());
    for (int i = 0; i <= N_GROW; i++)
        cfut_future_drop(&g->s[i].base);
    return CFUT_READY;
}

static const struct cfut_future_vtable grow_vtable = {grow_poll, NULL, 0,
                                                      "grow", NULL};

START_TEST(test_time_failed_heap_growth_keeps_the_armed_timers)
{
    struct grow *g = malloc(sizeof *g);
    cfut_future_init(&g->base, &grow_vtable);
    g->last_status = 99;
    cfut_time_pause(ex);

    int rc = cfut_block_on(ex, &g->base, NULL);

    ck_assert_int_eq(rc, CFUT_OK);
    ck_assert_int_eq(g->last_status, CFUT_ENOMEM);
    ck_assert_uint_eq(g->timers_after_failure, N_GROW);
    ck_assert_uint_eq(cfut_reactor_n_timers(ex), 0);
    ck_assert_uint_eq(cfut_executor_n_wakers(ex), 0);
    free(g);
}
END_TEST

static Suite *
time_suite(void)
{
    Suite *s = suite_create("time");
    TCase *tc = tcase_create("sleep");
    testkit_executor_fixture(tc);
    tcase_add_test(tc, test_time_sleeps_finish_in_deadline_order);
    tcase_add_test(tc, test_time_sleep_waits_for_manual_advance);
    tcase_add_test(tc, test_time_advance_needs_a_paused_clock);
    tcase_add_test(tc, test_time_zero_sleep_is_ready_at_once);
    tcase_add_test(tc, test_time_real_sleep_ends_after_its_deadline);
    tcase_add_test(tc, test_time_sleep_outside_an_executor_says_estate);
    suite_add_tcase(s, tc);

    tc = tcase_create("cancellation");
    testkit_executor_fixture(tc);
    tcase_add_test(tc, test_time_cancelled_sleep_removes_its_timer);
    tcase_add_test(tc,
                   test_time_dropped_pending_sleep_leaves_no_timer_or_waker);
    suite_add_tcase(s, tc);

    tc = tcase_create("timeout");
    testkit_executor_fixture(tc);
    tcase_add_test(tc, test_time_timeout_fires_and_drops_the_child);
    tcase_add_test(tc, test_time_timeout_passes_the_childs_output);
    tcase_add_test(tc, test_time_timeout_loses_a_tie_to_the_child);
    tcase_add_test(tc, test_time_timeout_of_a_shorter_child_does_not_fire);
    suite_add_tcase(s, tc);

    tc = tcase_create("interval");
    testkit_executor_fixture(tc);
    tcase_add_test(tc, test_time_interval_does_not_drift);
    tcase_add_test(tc, test_time_interval_rejects_a_zero_period);
    suite_add_tcase(s, tc);

    tc = tcase_create("allocation");
    testkit_executor_fixture(tc);
    tcase_add_test(tc,
                   test_time_sleep_reports_enomem_when_the_heap_cannot_grow);
    tcase_add_test(tc, test_time_failed_heap_growth_keeps_the_armed_timers);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return testkit_run(time_suite());
}
