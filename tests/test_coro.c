/*
 * test_coro.c: the async/await macros: awaits in loops and branches, inline
 * and boxed children, values returned, drop mid-await, yield. Built twice:
 * with the switch variant and with the computed-goto variant
 * (CFUT_CORO_GOTO=1), and the same tests must pass with both.
 */
#include "testkit.h"

#include <stdio.h>
#include <string.h>

/* Sums the outputs of 'n' countdown children awaited one after another. */
struct summer {
    struct cfut_future base;
    struct cfut_coro co;
    int i, n;
    uint64_t total, v;
    struct testkit_countdown child; /* inline child, re-initialised */
    struct cfut_future *boxed;      /* a boxed child for odd rounds */
    int *dropped;
    bool boxed_keeps_waker; /* boxed children wait for a wake from outside */
};

static enum cfut_poll
summer_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct summer *self = cfut_container_of(f, struct summer, base);
    CFUT_ASYNC_BEGIN(&self->co);
    for (self->i = 0; self->i < self->n; self->i++) {
        if (self->i % 2 == 0) {
            testkit_countdown_init(&self->child, 2, true, (uint64_t)self->i);
            CFUT_AWAIT(&self->co, cx, &self->child.base, &self->v);
        } else {
            struct testkit_countdown c;
            testkit_countdown_init(&c, 1, !self->boxed_keeps_waker,
                                   (uint64_t)self->i);
            if (cfut_future_box(&c.base, sizeof c, &self->boxed) != CFUT_OK)
                CFUT_ASYNC_RETURN(&self->co, out, uint64_t, UINT64_MAX);
            CFUT_AWAIT(&self->co, cx, self->boxed, &self->v);
        }
        self->total += self->v;
    }
    CFUT_ASYNC_RETURN(&self->co, out, uint64_t, self->total);
    CFUT_ASYNC_END(&self->co);
}

static void
summer_drop(struct cfut_future *f)
{
    struct summer *self = cfut_container_of(f, struct summer, base);
    cfut_coro_drop(&self->co);
    if (self->dropped != NULL)
        ++*self->dropped;
}

static const struct cfut_future_vtable summer_vtable = {
    summer_poll, summer_drop, sizeof(uint64_t), "summer", NULL};

static void
summer_init(struct summer *s, int n)
{
    memset(s, 0, sizeof *s);
    cfut_future_init(&s->base, &summer_vtable);
    cfut_coro_init(&s->co);
    s->n = n;
}

/* Polls 's' to completion by hand, waking kept wakers as needed. */
static uint64_t
drive(struct summer *s, int *n_polls)
{
    uint64_t out = 0;
    *n_polls = 0;
    for (;;) {
        ++*n_polls;
        if (testkit_poll(&s->base, cfut_waker_noop(), &out) == CFUT_READY)
            return out;
    }
}

START_TEST(test_coro_awaits_in_a_loop_and_returns_a_value)
{
    struct summer s;
    summer_init(&s, 6);
    int polls;

    uint64_t total = drive(&s, &polls);
    cfut_future_drop(&s.base);

    ck_assert_uint_eq(total, 0 + 1 + 2 + 3 + 4 + 5);
    /* 3 inline children pend twice, 3 boxed ones once, then one more. */
    ck_assert_int_eq(polls, 3 * 2 + 3 * 1 + 1);
    ck_assert_int_eq(s.co.line, -1);
}
END_TEST

START_TEST(test_coro_dropped_mid_await_drops_its_child)
{
    struct summer s;
    summer_init(&s, 4);
    int dropped = 0;
    s.dropped = &dropped;
    s.boxed_keeps_waker = true;
    struct testkit_waker tw;
    struct cfut_waker w = testkit_waker_init(&tw);
    uint64_t out;

    testkit_poll(&s.base, cfut_waker_noop(), &out); /* child 0 */
    testkit_poll(&s.base, cfut_waker_noop(), &out);
    testkit_poll(&s.base, &w, &out); /* boxed child 1 keeps &w */
    ck_assert_int_eq(atomic_load(&tw.refs), 1);
    cfut_future_drop(&s.base);

    ck_assert_int_eq(dropped, 1);
    ck_assert_int_eq(atomic_load(&tw.refs), 0);
    ck_assert_int_eq(testkit_alloc_live(), 0);
}
END_TEST

START_TEST(test_coro_runs_as_a_task)
{
    struct cfut_executor *ex;
    ck_assert_int_eq(cfut_executor_new(&ex), CFUT_OK);
    struct summer s;
    summer_init(&s, 10);
    struct cfut_join_handle h;
    CFUT_JOIN_OUTPUT(uint64_t) r;
    ck_assert_int_eq(cfut_spawn(ex, &s.base, sizeof s, &h), CFUT_OK);

    int rc = cfut_block_on(ex, &h.base, &r);
    cfut_executor_free(ex);

    ck_assert_int_eq(rc, CFUT_OK);
    ck_assert_uint_eq(r.value, 45);
}
END_TEST

START_TEST(test_coro_boxing_failure_is_reported_through_the_output)
{
    struct summer s;
    summer_init(&s, 2);
    int polls;
    testkit_alloc_fail_at(1);

    uint64_t total = drive(&s, &polls);
    cfut_future_drop(&s.base);

    ck_assert_uint_eq(total, UINT64_MAX);
    ck_assert_int_eq(testkit_alloc_live(), 0);
}
END_TEST

/* A coroutine that yields 'n' times in a branch, then finishes. */
struct yielder {
    struct cfut_future base;
    struct cfut_coro co;
    int n, done_yields;
};

static enum cfut_poll
yielder_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct yielder *self = cfut_container_of(f, struct yielder, base);
    (void)out;
    CFUT_ASYNC_BEGIN(&self->co);
    while (self->done_yields < self->n) {
        if (self->done_yields >= 0) {
            self->done_yields++;
            CFUT_YIELD(&self->co, cx);
        }
    }
    CFUT_ASYNC_END(&self->co);
}

static const struct cfut_future_vtable yielder_vtable = {yielder_poll, NULL, 0,
                                                         "yielder", NULL};

START_TEST(test_coro_yield_wakes_and_resumes)
{
    struct yielder y;
    cfut_future_init(&y.base, &yielder_vtable);
    cfut_coro_init(&y.co);
    y.n = 3;
    y.done_yields = 0;
    struct testkit_waker tw;
    struct cfut_waker w = testkit_waker_init(&tw);
    int polls = 0;

    while (testkit_poll(&y.base, &w, NULL) == CFUT_PENDING)
        polls++;
    cfut_future_drop(&y.base);

    ck_assert_int_eq(polls, 3);
    ck_assert_int_eq(testkit_waker_n_wakes(&tw), 3);
}
END_TEST

START_TEST(test_coro_records_where_it_is_suspended)
{
    struct summer s;
    summer_init(&s, 2);
    uint64_t out;

    testkit_poll(&s.base, cfut_waker_noop(), &out);

    ck_assert_ptr_nonnull(s.co.file);
    ck_assert_ptr_nonnull(strstr(s.co.file, "test_coro.c"));
    ck_assert_int_gt(s.co.line, 0);
    cfut_future_drop(&s.base);
}
END_TEST

/* ---- out = NULL: the await path discards the output ---- */

/*
 * Awaits 'child' (a countdown with a uint64_t output, or a pending future
 * of 'big' bytes when 'big' is not 0) with out = NULL, then returns 5.
 */
struct discarder {
    struct cfut_future base;
    struct cfut_coro co;
    size_t big;
    struct testkit_countdown child;
    struct cfut_pending huge;
};

static enum cfut_poll
discarder_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct discarder *self = cfut_container_of(f, struct discarder, base);
    CFUT_ASYNC_BEGIN(&self->co);
    if (self->big != 0) {
        cfut_pending_init(&self->huge, self->big);
        CFUT_AWAIT(&self->co, cx, &self->huge.base, NULL);
    }
    testkit_countdown_init(&self->child, 1, true, 77);
    CFUT_AWAIT(&self->co, cx, &self->child.base, NULL);
    CFUT_ASYNC_RETURN(&self->co, out, uint64_t, 5);
    CFUT_ASYNC_END(&self->co);
}

static void
discarder_drop(struct cfut_future *f)
{
    cfut_coro_drop(&cfut_container_of(f, struct discarder, base)->co);
}

static const struct cfut_future_vtable discarder_vtable = {
    discarder_poll, discarder_drop, sizeof(uint64_t), "discarder", NULL};

static void
discarder_init(struct discarder *d, size_t big)
{
    cfut_future_init(&d->base, &discarder_vtable);
    cfut_coro_init(&d->co);
    d->big = big;
}

START_TEST(test_coro_await_with_null_out_discards_the_output)
{
    struct cfut_executor *ex;
    ck_assert_int_eq(cfut_executor_new(&ex), CFUT_OK);
    struct discarder d;
    discarder_init(&d, 0);
    uint64_t out = 0;

    int rc = cfut_block_on(ex, &d.base, &out);
    cfut_executor_free(ex);

    ck_assert_int_eq(rc, CFUT_OK);
    ck_assert_uint_eq(out, 5);
}
END_TEST

static void
await_huge_with_null_out(void *arg)
{
    (void)arg;
    struct discarder d;
    discarder_init(&d, CFUT_AWAIT_DISCARD_MAX + 1);
    uint64_t out;
    testkit_poll(&d.base, cfut_waker_noop(), &out);
}

START_TEST(test_coro_discarding_an_oversized_output_aborts_naming_it)
{
    char msg[512], want[64];
    snprintf(want, sizeof want, "output is %u bytes, more than the %u bytes",
             CFUT_AWAIT_DISCARD_MAX + 1, CFUT_AWAIT_DISCARD_MAX);

    bool aborted =
        testkit_aborts(await_huge_with_null_out, NULL, msg, sizeof msg);

    ck_assert_msg(aborted, "did not abort; stderr: %s", msg);
    ck_assert_msg(strstr(msg, "cfut: future 'pending'") != NULL, "%s", msg);
    ck_assert_msg(strstr(msg, want) != NULL, "%s", msg);
}
END_TEST

/* ---- CFUT_ASYNC_RETURN writes what the vtable says ---- */

/* Returns a uint64_t, but its vtable says 4 bytes. */
struct liar {
    struct cfut_future base;
    struct cfut_coro co;
};

static enum cfut_poll
liar_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct liar *self = cfut_container_of(f, struct liar, base);
    (void)cx;
    CFUT_ASYNC_BEGIN(&self->co);
    CFUT_ASYNC_RETURN(&self->co, out, uint64_t, 1);
    CFUT_ASYNC_END(&self->co);
}

static const struct cfut_future_vtable liar_vtable = {liar_poll, NULL, 4,
                                                      "liar", NULL};

static void
poll_a_liar(void *arg)
{
    (void)arg;
    struct liar l;
    cfut_future_init(&l.base, &liar_vtable);
    cfut_coro_init(&l.co);
    uint64_t room[2];
    testkit_poll(&l.base, cfut_waker_noop(), room);
}

START_TEST(test_coro_return_of_another_size_than_the_vtable_aborts)
{
    poll_a_liar(NULL);
}
END_TEST

START_TEST(test_coro_return_size_message_names_the_future_and_both_sizes)
{
    char msg[512];

    bool aborted = testkit_aborts(poll_a_liar, NULL, msg, sizeof msg);

    ck_assert_msg(aborted, "did not abort; stderr: %s", msg);
    ck_assert_msg(strstr(msg, "misuse of future 'liar'") != NULL, "%s", msg);
    ck_assert_msg(strstr(msg, "CFUT_ASYNC_RETURN at ") != NULL, "%s", msg);
    ck_assert_msg(strstr(msg, "writes 8 bytes, but the output size of its "
                              "vtable is 4") != NULL,
                  "%s", msg);
}
END_TEST

START_TEST(test_coro_return_into_a_task_of_another_size_aborts)
{
    struct cfut_executor *ex;
    ck_assert_int_eq(cfut_executor_new(&ex), CFUT_OK);
    struct liar l;
    cfut_future_init(&l.base, &liar_vtable);
    cfut_coro_init(&l.co);
    ck_assert_int_eq(cfut_spawn(ex, &l.base, sizeof l, NULL), CFUT_OK);

    cfut_executor_run(ex);
}
END_TEST

static Suite *
coro_suite(void)
{
    Suite *s = suite_create(CFUT_CORO_GOTO ? "coro-goto" : "coro");
    TCase *tc = tcase_create("await");
    testkit_fixture(tc);
    tcase_add_test(tc, test_coro_awaits_in_a_loop_and_returns_a_value);
    tcase_add_test(tc, test_coro_dropped_mid_await_drops_its_child);
    tcase_add_test(tc, test_coro_runs_as_a_task);
    tcase_add_test(tc, test_coro_boxing_failure_is_reported_through_the_output);
    tcase_add_test(tc, test_coro_yield_wakes_and_resumes);
    tcase_add_test(tc, test_coro_records_where_it_is_suspended);
    suite_add_tcase(s, tc);

    tc = tcase_create("outputs");
    testkit_fixture(tc);
    tcase_add_test(tc, test_coro_await_with_null_out_discards_the_output);
    tcase_add_test(tc,
                   test_coro_discarding_an_oversized_output_aborts_naming_it);
#if CFUT_DEBUG_CHECKS
    tcase_add_test(
        tc, test_coro_return_size_message_names_the_future_and_both_sizes);
#endif
    testkit_add_abort_test(
        tc, test_coro_return_of_another_size_than_the_vtable_aborts);
    testkit_add_abort_test(tc,
                           test_coro_return_into_a_task_of_another_size_aborts);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return testkit_run(coro_suite());
}
