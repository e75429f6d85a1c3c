/*
 * test_future.c: the future contract: wakers, contexts and budgets, the
 * leaf futures (ready, pending, yield_now, fuse), boxing and the
 * debug checks that catch misuse.
 */
#include "testkit.h"

#include <pthread.h>
#include <string.h>

#include "cfut_alloc_int.h"

/* ---- wakers ---- */

START_TEST(test_future_waker_clone_and_drop_balance)
{
    struct testkit_waker tw;
    struct cfut_waker w = testkit_waker_init(&tw);

    struct cfut_waker a = cfut_waker_clone(&w);
    struct cfut_waker b = cfut_waker_clone(&a);
    cfut_waker_drop(&a);
    cfut_waker_drop(&b);

    ck_assert_int_eq(atomic_load(&tw.clones), 2);
    ck_assert_int_eq(atomic_load(&tw.drops), 2);
    ck_assert_int_eq(atomic_load(&tw.refs), 0);
    ck_assert_ptr_null(a.vtable);
}
END_TEST

START_TEST(test_future_wake_consumes_but_wake_by_ref_keeps)
{
    struct testkit_waker tw;
    struct cfut_waker w = testkit_waker_init(&tw);
    struct cfut_waker c = cfut_waker_clone(&w);

    cfut_waker_wake_by_ref(&c);
    ck_assert_int_eq(atomic_load(&tw.refs), 1);
    cfut_waker_wake(&c);

    ck_assert_int_eq(atomic_load(&tw.wakes_by_ref), 1);
    ck_assert_int_eq(atomic_load(&tw.wakes), 1);
    ck_assert_int_eq(atomic_load(&tw.refs), 0);
    ck_assert_ptr_null(c.vtable);
}
END_TEST

START_TEST(test_future_empty_waker_operations_are_noops)
{
    struct cfut_waker e = CFUT_WAKER_EMPTY;

    struct cfut_waker c = cfut_waker_clone(&e);
    cfut_waker_wake_by_ref(&e);
    cfut_waker_wake(&e);
    cfut_waker_drop(&e);

    ck_assert_ptr_null(c.vtable);
}
END_TEST

START_TEST(test_future_will_wake_compares_vtable_and_data)
{
    struct testkit_waker t1, t2;
    struct cfut_waker a = testkit_waker_init(&t1);
    struct cfut_waker b = testkit_waker_init(&t2);

    ck_assert(cfut_waker_will_wake(&a, &a));
    ck_assert(!cfut_waker_will_wake(&a, &b));
    ck_assert(!cfut_waker_will_wake(&a, cfut_waker_noop()));
}
END_TEST

START_TEST(test_future_register_replaces_only_a_different_waker)
{
    struct testkit_waker t1, t2;
    struct cfut_waker a = testkit_waker_init(&t1);
    struct cfut_waker b = testkit_waker_init(&t2);
    struct cfut_waker slot = CFUT_WAKER_EMPTY;

    cfut_waker_register(&slot, &a);
    cfut_waker_register(&slot, &a);
    cfut_waker_register(&slot, &b);
    cfut_waker_drop(&slot);

    ck_assert_int_eq(atomic_load(&t1.clones), 1);
    ck_assert_int_eq(atomic_load(&t1.drops), 1);
    ck_assert_int_eq(atomic_load(&t2.clones), 1);
    ck_assert_int_eq(atomic_load(&t2.refs), 0);
}
END_TEST

START_TEST(test_future_budget_runs_out_and_wakes)
{
    struct testkit_waker tw;
    struct cfut_waker w = testkit_waker_init(&tw);
    struct cfut_context cx;
    uint32_t budget = 2;
    cfut_context_init(&cx, &w);
    cx.budget = &budget;

    bool a = cfut_context_consume_budget(&cx);
    bool b = cfut_context_consume_budget(&cx);
    bool c = cfut_context_consume_budget(&cx);

    ck_assert(a && b);
    ck_assert(!c);
    ck_assert_int_eq(atomic_load(&tw.wakes_by_ref), 1);
}
END_TEST

START_TEST(test_future_context_with_waker_shares_budget)
{
    struct cfut_context parent;
    uint32_t budget = 5;
    cfut_context_init(&parent, cfut_waker_noop());
    parent.budget = &budget;
    struct testkit_waker tw;
    struct cfut_waker w = testkit_waker_init(&tw);

    struct cfut_context child = cfut_context_with_waker(&parent, &w);
    cfut_context_consume_budget(&child);

    ck_assert_ptr_eq(child.waker, &w);
    ck_assert_uint_eq(budget, 4);
}
END_TEST

/* ---- leaves ---- */

START_TEST(test_future_ready_gives_its_value_at_once)
{
    struct cfut_ready r;
    uint64_t v = 42, out = 0;
    ck_assert_int_eq(cfut_ready_init(&r, &v, sizeof v), CFUT_OK);

    enum cfut_poll p = testkit_poll(&r.base, testkit_waker_aborting(), &out);
    cfut_future_drop(&r.base);

    ck_assert_int_eq(p, CFUT_READY);
    ck_assert_uint_eq(out, 42);
    ck_assert_uint_eq(cfut_future_output_size(&r.base), sizeof v);
}
END_TEST

START_TEST(test_future_ready_rejects_oversized_value)
{
    struct cfut_ready r;
    char big[CFUT_READY_MAX + 1];
    memset(big, 1, sizeof big);

    int rc = cfut_ready_init(&r, big, sizeof big);

    ck_assert_int_eq(rc, CFUT_EINVAL);
}
END_TEST

START_TEST(test_future_pending_never_finishes)
{
    struct cfut_pending p;
    cfut_pending_init(&p, 8);
    uint64_t out;

    enum cfut_poll a = testkit_poll(&p.base, cfut_waker_noop(), &out);
    enum cfut_poll b = testkit_poll(&p.base, cfut_waker_noop(), &out);
    cfut_future_drop(&p.base);

    ck_assert_int_eq(a, CFUT_PENDING);
    ck_assert_int_eq(b, CFUT_PENDING);
    ck_assert_uint_eq(cfut_future_output_size(&p.base), 8);
}
END_TEST

START_TEST(test_future_yield_now_pends_once_and_wakes)
{
    struct testkit_waker tw;
    struct cfut_waker w = testkit_waker_init(&tw);
    struct cfut_yield y;
    cfut_yield_now_init(&y);

    enum cfut_poll a = testkit_poll(&y.base, &w, NULL);
    enum cfut_poll b = testkit_poll(&y.base, &w, NULL);
    cfut_future_drop(&y.base);

    ck_assert_int_eq(a, CFUT_PENDING);
    ck_assert_int_eq(b, CFUT_READY);
    ck_assert_int_eq(testkit_waker_n_wakes(&tw), 1);
}
END_TEST

START_TEST(test_future_fuse_may_be_polled_after_ready)
{
    struct testkit_countdown c;
    testkit_countdown_init(&c, 0, false, 7);
    struct cfut_fuse fu;
    cfut_fuse_init(&fu, &c.base);
    uint64_t out = 0;

    enum cfut_poll a = testkit_poll(&fu.base, cfut_waker_noop(), &out);
    enum cfut_poll b = testkit_poll(&fu.base, cfut_waker_noop(), &out);
    bool done = cfut_fuse_is_terminated(&fu);
    cfut_future_drop(&fu.base);

    ck_assert_int_eq(a, CFUT_READY);
    ck_assert_int_eq(b, CFUT_PENDING);
    ck_assert(done);
    ck_assert_uint_eq(out, 7);
}
END_TEST

START_TEST(test_future_fuse_drop_drops_unfinished_inner)
{
    bool dropped = false;
    struct testkit_countdown c;
    testkit_countdown_init(&c, 3, false, 7);
    c.dropped = &dropped;
    struct cfut_fuse fu;
    cfut_fuse_init(&fu, &c.base);
    struct testkit_waker tw;
    struct cfut_waker w = testkit_waker_init(&tw);
    uint64_t out;

    testkit_poll(&fu.base, &w, &out);
    cfut_future_drop(&fu.base);

    ck_assert(dropped);
    ck_assert_int_eq(atomic_load(&tw.refs), 0);
}
END_TEST

/* ---- boxing ---- */

START_TEST(test_future_box_moves_and_frees)
{
    struct testkit_countdown c;
    testkit_countdown_init(&c, 1, true, 9);
    struct cfut_future *boxed = NULL;
    uint64_t out = 0;

    ck_assert_int_eq(cfut_future_box(&c.base, sizeof c, &boxed), CFUT_OK);
    ck_assert_int_eq(testkit_alloc_live(), 1);
    testkit_poll(boxed, cfut_waker_noop(), &out);
    enum cfut_poll p = testkit_poll(boxed, cfut_waker_noop(), &out);
    cfut_future_drop(boxed);

    ck_assert_int_eq(p, CFUT_READY);
    ck_assert_uint_eq(out, 9);
    ck_assert_int_eq(testkit_alloc_live(), 0);
}
END_TEST

START_TEST(test_future_box_reports_enomem)
{
    struct testkit_countdown c;
    testkit_countdown_init(&c, 1, true, 9);
    struct cfut_future *boxed = NULL;
    testkit_alloc_fail_at(1);

    int rc = cfut_future_box(&c.base, sizeof c, &boxed);
    cfut_future_drop(&c.base);

    ck_assert_int_eq(rc, CFUT_ENOMEM);
    ck_assert_ptr_null(boxed);
    ck_assert(testkit_alloc_failed());
}
END_TEST

START_TEST(test_future_box_rejects_bad_arguments)
{
    struct cfut_future *boxed = NULL;
    struct cfut_pending p;
    cfut_pending_init(&p, 0);

    ck_assert_int_eq(cfut_future_box(NULL, 16, &boxed), CFUT_EINVAL);
    ck_assert_int_eq(cfut_future_box(&p.base, 1, &boxed), CFUT_EINVAL);
    cfut_future_drop(&p.base);
    ck_assert_ptr_null(boxed);
}
END_TEST

/* ---- the small-block cache ---- */

START_TEST(test_future_small_cache_reuses_a_block_of_the_same_class)
{
    void *a = cfut__alloc_small(100);
    ck_assert_ptr_nonnull(a);
    memset(a, 0xAB, 100);
    cfut__free_small(a, 100);

    void *b = cfut__alloc_small(110); /* the same 32-byte class */
    memset(b, 0xCD, 110);

    ck_assert_ptr_eq(a, b);
    cfut__free_small(b, 110);
}
END_TEST

static void *
alloc_and_free_many(void *arg)
{
    (void)arg;
    void *p[100];
    for (int i = 0; i < 100; i++)
        p[i] = cfut__alloc_small(64);
    for (int i = 0; i < 100; i++)
        cfut__free_small(p[i], 64);
    return NULL; /* the thread's cache is freed at exit (valgrind checks) */
}

START_TEST(test_future_small_cache_is_per_thread_and_flushed_at_exit)
{
    pthread_t th;

    ck_assert_int_eq(pthread_create(&th, NULL, alloc_and_free_many, NULL), 0);
    pthread_join(th, NULL);
    void *a = cfut__alloc_small(64);

    ck_assert_ptr_nonnull(a);
    cfut__free_small(a, 64);
}
END_TEST

START_TEST(test_future_thread_cleanup_empties_the_block_cache)
{
    void *a = cfut__alloc_small(64);
    void *b = cfut__alloc_small(200);
    cfut__free_small(a, 64);
    cfut__free_small(b, 200);
    ck_assert_uint_ge(cfut__small_n_cached(), 2);

    cfut_thread_cleanup();

    ck_assert_uint_eq(cfut__small_n_cached(), 0);
    void *c = cfut__alloc_small(64); /* the cache still works afterwards */
    cfut__free_small(c, 64);
    ck_assert_uint_eq(cfut__small_n_cached(), 1);
    cfut_thread_cleanup();
}
END_TEST

START_TEST(test_future_small_cache_is_bypassed_by_a_test_allocator)
{
    long before = testkit_alloc_count();

    void *a = cfut__alloc_small(100);
    cfut__free_small(a, 100);
    void *b = cfut__alloc_small(100);
    cfut__free_small(b, 100);
    testkit_alloc_fail_at(1);
    void *c = cfut__alloc_small(100);

    ck_assert_int_eq(testkit_alloc_count() - before, 3);
    ck_assert_ptr_null(c);
}
END_TEST

/* ---- misuse (debug builds abort) ---- */

START_TEST(test_future_poll_after_ready_aborts)
{
    struct testkit_countdown c;
    testkit_countdown_init(&c, 0, false, 1);
    uint64_t out;

    testkit_poll(&c.base, cfut_waker_noop(), &out);
    testkit_poll(&c.base, cfut_waker_noop(), &out);
}
END_TEST

START_TEST(test_future_moved_future_aborts)
{
    struct testkit_countdown a, b;
    testkit_countdown_init(&a, 2, false, 1);
    uint64_t out;

    testkit_poll(&a.base, cfut_waker_noop(), &out);
    memcpy(&b, &a, sizeof a);
    testkit_poll(&b.base, cfut_waker_noop(), &out);
}
END_TEST

START_TEST(test_future_double_drop_aborts)
{
    struct cfut_pending p;
    cfut_pending_init(&p, 0);

    cfut_future_drop(&p.base);
    cfut_future_drop(&p.base);
}
END_TEST

START_TEST(test_future_poll_after_drop_aborts)
{
    struct cfut_pending p;
    cfut_pending_init(&p, 0);

    cfut_future_drop(&p.base);
    testkit_poll(&p.base, cfut_waker_noop(), NULL);
}
END_TEST

static void
poll_with_null_out(void *arg)
{
    (void)arg;
    struct testkit_countdown c;
    testkit_countdown_init(&c, 0, false, 1);
    testkit_poll(&c.base, cfut_waker_noop(), NULL);
}

START_TEST(test_future_poll_with_null_out_for_an_output_aborts)
{
    poll_with_null_out(NULL);
}
END_TEST

START_TEST(test_future_null_out_message_names_the_future)
{
    char msg[512];

    bool aborted = testkit_aborts(poll_with_null_out, NULL, msg, sizeof msg);

    ck_assert_msg(aborted, "did not abort; stderr: %s", msg);
    ck_assert_msg(strstr(msg, "misuse of future 'countdown'") != NULL &&
                      strstr(msg, "polled with out = NULL") != NULL,
                  "%s", msg);
}
END_TEST

START_TEST(test_future_null_out_is_fine_for_an_output_of_size_0)
{
    struct cfut_yield y;
    cfut_yield_now_init(&y);

    enum cfut_poll a = testkit_poll(&y.base, cfut_waker_noop(), NULL);
    enum cfut_poll b = testkit_poll(&y.base, cfut_waker_noop(), NULL);
    cfut_future_drop(&y.base);

    ck_assert_int_eq(a, CFUT_PENDING);
    ck_assert_int_eq(b, CFUT_READY);
}
END_TEST

static Suite *
future_suite(void)
{
    Suite *s = suite_create("future");
    TCase *tc = tcase_create("wakers");
    testkit_fixture(tc);
    tcase_add_test(tc, test_future_waker_clone_and_drop_balance);
    tcase_add_test(tc, test_future_wake_consumes_but_wake_by_ref_keeps);
    tcase_add_test(tc, test_future_empty_waker_operations_are_noops);
    tcase_add_test(tc, test_future_will_wake_compares_vtable_and_data);
    tcase_add_test(tc, test_future_register_replaces_only_a_different_waker);
    tcase_add_test(tc, test_future_budget_runs_out_and_wakes);
    tcase_add_test(tc, test_future_context_with_waker_shares_budget);
    suite_add_tcase(s, tc);

    tc = tcase_create("leaves");
    testkit_fixture(tc);
    tcase_add_test(tc, test_future_ready_gives_its_value_at_once);
    tcase_add_test(tc, test_future_ready_rejects_oversized_value);
    tcase_add_test(tc, test_future_pending_never_finishes);
    tcase_add_test(tc, test_future_yield_now_pends_once_and_wakes);
    tcase_add_test(tc, test_future_fuse_may_be_polled_after_ready);
    tcase_add_test(tc, test_future_fuse_drop_drops_unfinished_inner);
    suite_add_tcase(s, tc);

    tc = tcase_create("box");
    testkit_fixture(tc);
    tcase_add_test(tc, test_future_box_moves_and_frees);
    tcase_add_test(tc, test_future_box_reports_enomem);
    tcase_add_test(tc, test_future_box_rejects_bad_arguments);
    suite_add_tcase(s, tc);

    tc = tcase_create("small cache");
    tcase_add_test(tc,
                   test_future_small_cache_reuses_a_block_of_the_same_class);
    tcase_add_test(tc,
                   test_future_small_cache_is_per_thread_and_flushed_at_exit);
    tcase_add_test(tc, test_future_thread_cleanup_empties_the_block_cache);
    suite_add_tcase(s, tc);
    tc = tcase_create("small cache under the test allocator");
    testkit_fixture(tc);
    tcase_add_test(tc, test_future_small_cache_is_bypassed_by_a_test_allocator);
    suite_add_tcase(s, tc);

    tc = tcase_create("misuse");
    testkit_add_abort_test(tc, test_future_poll_after_ready_aborts);
    testkit_add_abort_test(tc, test_future_moved_future_aborts);
    testkit_add_abort_test(tc, test_future_double_drop_aborts);
    testkit_add_abort_test(tc, test_future_poll_after_drop_aborts);
    testkit_add_abort_test(tc,
                           test_future_poll_with_null_out_for_an_output_aborts);
    tcase_add_test(tc, test_future_null_out_is_fine_for_an_output_of_size_0);
#if CFUT_DEBUG_CHECKS
    tcase_add_test(tc, test_future_null_out_message_names_the_future);
#endif
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return testkit_run(future_suite());
}
