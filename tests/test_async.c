/*
 * test_async.c: async functions (cfut_async.h): the generated init and
 * spawn helper with arguments of several types, void and struct outputs,
 * no arguments, awaits that discard or store, the destination size check,
 * drop (cancellation) at every await point with the drop hook run once,
 * cancel through a join handle, allocation failure of spawn, and the
 * misuse checks. Built twice, like test_coro.c: with the switch variant
 * and with the computed-goto variant (CFUT_CORO_GOTO=1).
 */
#include "testkit.h"

#include <string.h>

/* ---- arguments of several types, spawned ---- */

struct pair {
    int a;
    double b;
};

CFUT_ASYNC_FN(mix, uint64_t,
              ((int, i), (const char *, s), (double, d), (struct pair, p),
               (int *, counter)),
              struct testkit_countdown c;
              uint64_t v;)
{
    CFUT_BEGIN();
    testkit_countdown_init(&self->c, 1, true, 1000);
    CFUT_AWAIT(&self->c, &self->v);
    ++*self->counter;
    CFUT_RETURN((uint64_t)self->i + strlen(self->s) + (uint64_t)self->d +
                (uint64_t)self->p.a + (uint64_t)self->p.b + self->v);
    CFUT_END();
}

START_TEST(test_async_spawn_passes_arguments_of_several_types)
{
    struct cfut_join_handle h;
    CFUT_JOIN_OUTPUT(uint64_t) r;
    int counter = 0;
    struct pair p = {20, 300.0};

    /* The handle is set only when the spawn succeeds: block on it only
     * then (an allocation failure ends the test here, on its assertion). */
    ck_assert_int_eq(mix_spawn(testkit_ex, &h, 1, "four", 5.5, p, &counter),
                     CFUT_OK);
    ck_assert_int_eq(cfut_block_on(testkit_ex, &h.base, &r), CFUT_OK);
    ck_assert_int_eq(r.status, CFUT_OK);
    ck_assert_uint_eq(r.value, 1 + 4 + 5 + 20 + 300 + 1000);
    ck_assert_int_eq(counter, 1);
    ck_assert_uint_eq(mix_vtable.output_size, sizeof(uint64_t));
    ck_assert_str_eq(mix_vtable.name, "mix");
}
END_TEST

/* ---- void output ---- */

CFUT_ASYNC_FN(bump, void, ((int *, counter), (int, times)), int i;
              struct cfut_yield y;)
{
    CFUT_BEGIN();
    if (self->times < 0)
        CFUT_RETURN();
    for (self->i = 0; self->i < self->times; self->i++) {
        cfut_yield_now_init(&self->y);
        CFUT_AWAIT(&self->y);
        ++*self->counter;
    }
    CFUT_END();
}

START_TEST(test_async_void_output_has_size_zero_and_finishes_at_end)
{
    struct cfut_join_handle h1, h2;
    struct cfut_join_status s1, s2;
    int counter = 0, early = 0;

    ck_assert_int_eq(bump_spawn(testkit_ex, &h1, &counter, 3), CFUT_OK);
    ck_assert_int_eq(bump_spawn(testkit_ex, &h2, &early, -1), CFUT_OK);
    ck_assert_int_eq(cfut_block_on(testkit_ex, &h1.base, &s1), CFUT_OK);
    ck_assert_int_eq(cfut_block_on(testkit_ex, &h2.base, &s2), CFUT_OK);

    ck_assert_uint_eq(bump_vtable.output_size, 0);
    ck_assert_int_eq(s1.status, CFUT_OK);
    ck_assert_int_eq(s2.status, CFUT_OK);
    ck_assert_int_eq(counter, 3);
    ck_assert_int_eq(early, 0);
}
END_TEST

/* ---- no arguments, no state; struct and pointer outputs ---- */

CFUT_ASYNC_FN(answer, int, ())
{
    CFUT_BEGIN();
    CFUT_RETURN(42);
    CFUT_END();
}

CFUT_ASYNC_FN(answer_void_params, int, (void), int unused;)
{
    CFUT_BEGIN();
    CFUT_RETURN(43 + self->unused);
    CFUT_END();
}

CFUT_ASYNC_FN(make_pair, struct pair, ((int, a)))
{
    CFUT_BEGIN();
    CFUT_RETURN((struct pair){self->a, self->a / 2.0});
    CFUT_END();
}

CFUT_ASYNC_FN(echo_ptr, void *, ((void *, p)))
{
    CFUT_BEGIN();
    CFUT_RETURN(self->p);
    CFUT_END();
}

START_TEST(test_async_no_arguments_and_any_output_type)
{
    struct answer a;
    struct answer_void_params b;
    struct make_pair m;
    struct echo_ptr e;
    int ra = 0, rb = 0;
    struct pair rm = {0, 0};
    void *re = NULL;
    answer_init(&a);
    answer_void_params_init(&b);
    make_pair_init(&m, 9);
    echo_ptr_init(&e, &rm);

    ck_assert_int_eq(testkit_poll(&a.base, cfut_waker_noop(), &ra), CFUT_READY);
    ck_assert_int_eq(testkit_poll(&b.base, cfut_waker_noop(), &rb), CFUT_READY);
    ck_assert_int_eq(testkit_poll(&m.base, cfut_waker_noop(), &rm), CFUT_READY);
    ck_assert_int_eq(testkit_poll(&e.base, cfut_waker_noop(), &re), CFUT_READY);
    cfut_future_drop(&a.base);
    cfut_future_drop(&b.base);
    cfut_future_drop(&m.base);
    cfut_future_drop(&e.base);

    ck_assert_int_eq(ra, 42);
    ck_assert_int_eq(rb, 43);
    ck_assert_int_eq(rm.a, 9);
    ck_assert(rm.b == 4.5);
    ck_assert_ptr_eq(re, &rm);
    ck_assert_uint_eq(make_pair_vtable.output_size, sizeof(struct pair));
    ck_assert_uint_eq(echo_ptr_vtable.output_size, sizeof(void *));
}
END_TEST

START_TEST(test_async_init_zeroes_the_state)
{
    struct answer_void_params b;
    memset(&b, 0xA5, sizeof b);

    answer_void_params_init(&b);

    ck_assert_int_eq(b.unused, 0);
    ck_assert_int_eq(b.co.line, 0);
    cfut_future_drop(&b.base);
}
END_TEST

/* ---- awaits: discard, destination, nested async function, boxed ---- */

CFUT_ASYNC_FN(awaits, uint64_t, ((bool, box)), struct testkit_countdown c;
              struct make_pair inner; struct pair pr;
              struct cfut_future * boxed; uint64_t v; uint64_t w;)
{
    CFUT_BEGIN();
    /* Discarded: a u64 output that nobody reads. */
    testkit_countdown_init(&self->c, 1, true, 1);
    CFUT_AWAIT(&self->c);
    /* Into a destination. */
    testkit_countdown_init(&self->c, 2, true, 20);
    CFUT_AWAIT(&self->c, &self->v);
    /* Another async function, embedded in the state. */
    make_pair_init(&self->inner, 300);
    CFUT_AWAIT(&self->inner, &self->pr);
    if (self->box) {
        /* A plain struct cfut_future *: a boxed child. */
        struct testkit_countdown c;
        testkit_countdown_init(&c, 1, true, 4000);
        if (cfut_future_box(&c.base, sizeof c, &self->boxed) != CFUT_OK)
            CFUT_RETURN(UINT64_MAX);
        CFUT_AWAIT_FUTURE(self->boxed, &self->w);
    }
    CFUT_RETURN(self->v + (uint64_t)self->pr.a + self->w);
    CFUT_END();
}

START_TEST(test_async_await_discards_or_stores_the_output)
{
    struct awaits a;
    awaits_init(&a, true);
    uint64_t out = 0;
    int polls = 1;

    while (testkit_poll(&a.base, cfut_waker_noop(), &out) == CFUT_PENDING)
        polls++;
    cfut_future_drop(&a.base);

    ck_assert_uint_eq(out, 20 + 300 + 4000);
    /* Pending once, twice, never (the inner one is ready), once. */
    ck_assert_int_eq(polls, 1 + 2 + 0 + 1 + 1);
}
END_TEST

START_TEST(test_async_await_boxed_child_allocation_failure)
{
    struct awaits a;
    awaits_init(&a, true);
    uint64_t out = 0;
    testkit_alloc_fail_at(1);

    while (testkit_poll(&a.base, cfut_waker_noop(), &out) == CFUT_PENDING)
        ;
    cfut_future_drop(&a.base);

    ck_assert(testkit_alloc_failed());
    ck_assert_uint_eq(out, UINT64_MAX);
}
END_TEST

/* ---- drop at every await point, the drop hook ---- */

struct probe {
    int started, steps, hook_runs, hook_line;
    bool child_dropped[3];
};

CFUT_ASYNC_FN(three_steps, int, ((struct probe *, pr)),
              struct testkit_countdown c;
              int i; uint64_t v;)
{
    CFUT_BEGIN();
    self->pr->started++;
    for (self->i = 0; self->i < 3; self->i++) {
        /* Pending once, keeping the waker: a wake from outside. */
        testkit_countdown_init(&self->c, 1, false, (uint64_t)self->i);
        self->c.dropped = &self->pr->child_dropped[self->i];
        CFUT_AWAIT(&self->c, &self->v);
        self->pr->steps++;
    }
    CFUT_RETURN(self->pr->steps);
    CFUT_END();
}

CFUT_ASYNC_DROP(three_steps)
{
    self->pr->hook_runs++;
    self->pr->hook_line = self->co.line;
    /* The child was dropped first: no child is left to look at. */
    ck_assert_ptr_null(self->co.child);
}

START_TEST(test_async_drop_at_every_await_runs_the_hook_once)
{
    for (int k = 0; k <= 4; k++) {
        struct probe pr;
        memset(&pr, 0, sizeof pr);
        struct three_steps t;
        three_steps_init(&t, &pr);
        struct testkit_waker tw;
        struct cfut_waker w = testkit_waker_init(&tw);
        int out = -1;
        enum cfut_poll last = CFUT_PENDING;

        for (int p = 0; p < k; p++)
            last = testkit_poll(&t.base, &w, &out);
        cfut_future_drop(&t.base);

        ck_assert_int_eq(pr.hook_runs, 1);
        ck_assert_int_eq(pr.started, k > 0 ? 1 : 0);
        ck_assert_int_eq(pr.steps, k > 0 ? k - 1 : 0);
        for (int i = 0; i < 3; i++)
            ck_assert(pr.child_dropped[i] == (i < k));
        ck_assert_int_eq(atomic_load(&tw.refs), 0);
        if (k == 4) {
            ck_assert_int_eq(last, CFUT_READY);
            ck_assert_int_eq(out, 3);
            ck_assert_int_eq(pr.hook_line, -1);
        } else {
            ck_assert_int_eq(last, CFUT_PENDING);
            ck_assert_int_ne(pr.hook_line, -1);
        }
    }
}
END_TEST

START_TEST(test_async_cancel_through_the_join_handle)
{
    struct probe pr;
    memset(&pr, 0, sizeof pr);
    struct cfut_join_handle h;
    CFUT_JOIN_OUTPUT(int) r;
    ck_assert_int_eq(three_steps_spawn(testkit_ex, &h, &pr), CFUT_OK);
    ck_assert_int_eq(cfut_executor_run_ready(testkit_ex), CFUT_OK);
    ck_assert_int_eq(pr.started, 1);

    cfut_join_handle_cancel(&h);
    int rc = cfut_block_on(testkit_ex, &h.base, &r);

    ck_assert_int_eq(rc, CFUT_OK);
    ck_assert_int_eq(r.status, CFUT_ECANCELED);
    ck_assert_int_eq(pr.hook_runs, 1);
    ck_assert(pr.child_dropped[0]);
    ck_assert(!pr.child_dropped[1]);
    ck_assert_uint_eq(cfut_executor_n_tasks(testkit_ex), 0);
}
END_TEST

START_TEST(test_async_spawn_allocation_failure_leaves_the_arguments)
{
    struct probe pr;
    memset(&pr, 0, sizeof pr);
    struct cfut_join_handle h;
    int rc = CFUT_ENOMEM;
    long n;

    for (n = 1; rc == CFUT_ENOMEM; n++) {
        testkit_alloc_fail_at(n);
        rc = three_steps_spawn(testkit_ex, &h, &pr);
        if (rc == CFUT_ENOMEM) {
            ck_assert(testkit_alloc_failed());
            ck_assert_int_eq(pr.hook_runs, 0);
        }
    }
    testkit_alloc_fail_at(0);
    CFUT_JOIN_OUTPUT(int) r;
    ck_assert_int_eq(rc, CFUT_OK);
    cfut_join_handle_cancel(&h);
    ck_assert_int_eq(cfut_block_on(testkit_ex, &h.base, &r), CFUT_OK);

    ck_assert_int_gt(n, 2); /* at least one failure was injected */
    ck_assert_int_eq(pr.hook_runs, 1);
    ck_assert_int_eq(pr.started, 0);
}
END_TEST

/* ---- spawn with ex = NULL, a join handle awaited with its padding ---- */

CFUT_ASYNC_FN(spawner, int, ((int, n)), struct cfut_join_handle h;
              CFUT_JOIN_OUTPUT(int) r;)
{
    CFUT_BEGIN();
    if (self->n == 0)
        CFUT_RETURN(1000);
    /* NULL: the executor running this task. */
    if (spawner_spawn(NULL, &self->h, self->n - 1) != CFUT_OK)
        CFUT_RETURN(-1);
    CFUT_AWAIT(&self->h, &self->r);
    CFUT_RETURN(self->r.status == CFUT_OK ? self->r.value + 1 : -2);
    CFUT_END();
}

START_TEST(test_async_spawn_with_no_executor_uses_the_running_one)
{
    struct cfut_join_handle h;
    CFUT_JOIN_OUTPUT(int) r;

    int outside = spawner_spawn(NULL, &h, 1);
    ck_assert_int_eq(spawner_spawn(testkit_ex, &h, 3), CFUT_OK);
    ck_assert_int_eq(cfut_block_on(testkit_ex, &h.base, &r), CFUT_OK);

    ck_assert_int_eq(outside, CFUT_EINVAL);
    ck_assert_int_eq(r.status, CFUT_OK);
    ck_assert_int_eq(r.value, 1003);
}
END_TEST

/* ---- yield, where it is suspended ---- */

CFUT_ASYNC_FN(yielder, int, ((int, n)), int i;)
{
    CFUT_BEGIN();
    for (self->i = 0; self->i < self->n; self->i++)
        CFUT_YIELD();
    CFUT_RETURN(self->i);
    CFUT_END();
}

START_TEST(test_async_yield_wakes_and_resumes)
{
    struct yielder y;
    yielder_init(&y, 3);
    struct testkit_waker tw;
    struct cfut_waker w = testkit_waker_init(&tw);
    int polls = 0, out = 0;

    while (testkit_poll(&y.base, &w, &out) == CFUT_PENDING)
        polls++;
    cfut_future_drop(&y.base);

    ck_assert_int_eq(polls, 3);
    ck_assert_int_eq(out, 3);
    ck_assert_int_eq(testkit_waker_n_wakes(&tw), 3);
}
END_TEST

START_TEST(test_async_records_where_it_is_suspended)
{
    struct probe pr;
    memset(&pr, 0, sizeof pr);
    struct three_steps t;
    three_steps_init(&t, &pr);
    int out;

    testkit_poll(&t.base, cfut_waker_noop(), &out);

    ck_assert_ptr_nonnull(strstr(t.co.file, "test_async.c"));
    ck_assert_int_gt(t.co.line, 0);
    cfut_future_drop(&t.base);
}
END_TEST

/* ---- misuse: each aborts with a message naming the function ---- */

CFUT_ASYNC_FN(wrong_dst, int, (), struct testkit_countdown c; int small;)
{
    CFUT_BEGIN();
    testkit_countdown_init(&self->c, 0, true, 7);
    CFUT_AWAIT(&self->c, &self->small); /* a u64 into an int */
    CFUT_RETURN(self->small);
    CFUT_END();
}

CFUT_ASYNC_FN(wrong_join_dst, int, (), struct cfut_join_handle h; int small;)
{
    CFUT_BEGIN();
    if (answer_spawn(NULL, &self->h) != CFUT_OK)
        CFUT_RETURN(-1);
    CFUT_AWAIT(&self->h, &self->small); /* status + int into an int */
    CFUT_RETURN(self->small);
    CFUT_END();
}

CFUT_ASYNC_FN(no_return, int, ())
{
    CFUT_BEGIN();
    CFUT_END(); /* an int output never written */
}

/* GCC 12 sees this one at compile time (-Wdangling-pointer): silenced. */
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 12
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdangling-pointer"
#endif
CFUT_ASYNC_FN(local_child, int, ())
{
    CFUT_BEGIN();
    struct cfut_yield y; /* a child that is a local */
    cfut_yield_now_init(&y);
    CFUT_AWAIT(&y);
    CFUT_RETURN(0);
    CFUT_END();
}
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 12
#pragma GCC diagnostic pop
#endif

/* Polls a fresh 'f' of the kind 'init' makes once (in a forked child). */
static void
poll_wrong_dst(void *arg)
{
    (void)arg;
    struct wrong_dst f;
    wrong_dst_init(&f);
    int out;
    testkit_poll(&f.base, cfut_waker_noop(), &out);
}

static void
block_on_wrong_join_dst(void *arg)
{
    (void)arg;
    struct cfut_executor *ex;
    if (cfut_executor_new(&ex) != CFUT_OK)
        return;
    struct wrong_join_dst f;
    wrong_join_dst_init(&f);
    int out;
    cfut_block_on(ex, &f.base, &out);
}

static void
poll_no_return(void *arg)
{
    (void)arg;
    struct no_return f;
    no_return_init(&f);
    int out;
    testkit_poll(&f.base, cfut_waker_noop(), &out);
}

static void
poll_local_child(void *arg)
{
    (void)arg;
    struct local_child f;
    local_child_init(&f);
    int out;
    testkit_poll(&f.base, cfut_waker_noop(), &out);
}

START_TEST(test_async_destination_size_mismatch_aborts_with_a_message)
{
    char msg[512];

    bool aborted = testkit_aborts(poll_wrong_dst, NULL, msg, sizeof msg);

    ck_assert(aborted);
    ck_assert_ptr_nonnull(strstr(msg, "async function 'wrong_dst'"));
    ck_assert_ptr_nonnull(strstr(msg, "test_async.c:"));
    ck_assert_ptr_nonnull(strstr(msg, "'countdown'"));
    ck_assert_ptr_nonnull(strstr(msg, "destination of 4 bytes"));
    ck_assert_ptr_nonnull(strstr(msg, "output is 8 bytes"));
}
END_TEST

START_TEST(test_async_join_handle_destination_too_small_aborts)
{
    char msg[512];

    bool aborted =
        testkit_aborts(block_on_wrong_join_dst, NULL, msg, sizeof msg);

    ck_assert(aborted);
    ck_assert_ptr_nonnull(strstr(msg, "async function 'wrong_join_dst'"));
    ck_assert_ptr_nonnull(strstr(msg, "'join_handle'"));
}
END_TEST

START_TEST(test_async_end_without_return_aborts_with_a_message)
{
    char msg[512];

    bool aborted = testkit_aborts(poll_no_return, NULL, msg, sizeof msg);

    ck_assert(aborted);
    ck_assert_ptr_nonnull(strstr(msg, "async function 'no_return'"));
    ck_assert_ptr_nonnull(strstr(msg, "CFUT_END()"));
    ck_assert_ptr_nonnull(strstr(msg, "test_async.c:"));
}
END_TEST

START_TEST(test_async_local_child_aborts_in_debug_builds)
{
#if CFUT_DEBUG_CHECKS
    char msg[512];

    bool aborted = testkit_aborts(poll_local_child, NULL, msg, sizeof msg);

    ck_assert(aborted);
    ck_assert_ptr_nonnull(strstr(msg, "async function 'local_child'"));
    ck_assert_ptr_nonnull(strstr(msg, "a local of the body"));
#else
    (void)poll_local_child;
#endif
}
END_TEST

static Suite *
async_suite(void)
{
    Suite *s = suite_create(CFUT_CORO_GOTO ? "async-goto" : "async");

    TCase *tc = tcase_create("declare and spawn");
    testkit_executor_fixture(tc);
    tcase_add_test(tc, test_async_spawn_passes_arguments_of_several_types);
    tcase_add_test(tc,
                   test_async_void_output_has_size_zero_and_finishes_at_end);
    tcase_add_test(tc,
                   test_async_spawn_allocation_failure_leaves_the_arguments);
    tcase_add_test(tc, test_async_spawn_with_no_executor_uses_the_running_one);
    tcase_add_test(tc, test_async_cancel_through_the_join_handle);
    suite_add_tcase(s, tc);

    tc = tcase_create("poll by hand");
    testkit_fixture(tc);
    tcase_add_test(tc, test_async_no_arguments_and_any_output_type);
    tcase_add_test(tc, test_async_init_zeroes_the_state);
    tcase_add_test(tc, test_async_await_discards_or_stores_the_output);
    tcase_add_test(tc, test_async_await_boxed_child_allocation_failure);
    tcase_add_test(tc, test_async_yield_wakes_and_resumes);
    tcase_add_test(tc, test_async_records_where_it_is_suspended);
    suite_add_tcase(s, tc);

    tc = tcase_create("drop while pending");
    testkit_fixture(tc);
    tcase_add_test(tc, test_async_drop_at_every_await_runs_the_hook_once);
    suite_add_tcase(s, tc);

    tc = tcase_create("misuse");
    tcase_add_test(tc,
                   test_async_destination_size_mismatch_aborts_with_a_message);
    tcase_add_test(tc, test_async_join_handle_destination_too_small_aborts);
    tcase_add_test(tc, test_async_end_without_return_aborts_with_a_message);
    tcase_add_test(tc, test_async_local_child_aborts_in_debug_builds);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return testkit_run(async_suite());
}
