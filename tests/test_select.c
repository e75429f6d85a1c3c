/*
 * test_select.c: select: losers dropped before READY and never polled
 * again, the biased and fair polling rules, the hand-back mode, drop as
 * cancellation, allocation failure and argument checks.
 */
#include "testkit.h"

#include <pthread.h>
#include <string.h>

typedef CFUT_SELECT_OUTPUT(uint64_t) sel_out;

static void
ready_u64(struct cfut_ready *r, uint64_t v)
{
    ck_assert_int_eq(cfut_ready_init(r, &v, sizeof v), CFUT_OK);
}

/* ---- losers ---- */

START_TEST(test_select_drops_the_loser_before_ready_and_never_polls_it_again)
{
    bool dropped = false;
    struct testkit_countdown a, b;
    testkit_countdown_init(&a, 1, false, 1);
    testkit_countdown_init(&b, 10, false, 2);
    b.dropped = &dropped;
    struct cfut_select s;
    ck_assert_int_eq(cfut_select2(&s, &a.base, &b.base, CFUT_SELECT_BIASED),
                     CFUT_OK);
    struct testkit_waker tw;
    struct cfut_waker w = testkit_waker_init(&tw);
    sel_out out;
    ck_assert_int_eq(testkit_poll(&s.base, &w, &out), CFUT_PENDING);
    testkit_countdown_wake(&a);
    ck_assert_int_eq(testkit_waker_n_wakes(&tw), 1);

    ck_assert_int_eq(testkit_poll(&s.base, &w, &out), CFUT_READY);

    ck_assert(dropped);
    ck_assert_int_eq(b.n_polls, 1);
    ck_assert_uint_eq(out.index, 0);
    ck_assert_uint_eq(out.value, 1);
    ck_assert_int_eq(testkit_alloc_live(), 0); /* block gone at READY */
    ck_assert_int_eq(testkit_wakers_live(), 0);
    cfut_future_drop(&s.base);
}
END_TEST

START_TEST(test_select_biased_lowest_index_wins_among_ready_children)
{
    /* six children: the wake-set form, which polls only the woken */
    enum { N = CFUT_SELECT_SMALL_MAX + 2 };
    bool dropped[N] = {false};
    struct testkit_countdown c[N];
    struct cfut_future *kids[N];
    for (int i = 0; i < N; i++) {
        testkit_countdown_init(&c[i], 1, false, (uint64_t)(10 + i));
        c[i].dropped = &dropped[i];
        kids[i] = &c[i].base;
    }
    struct cfut_select s;
    ck_assert_int_eq(cfut_select_init(&s, kids, N, CFUT_SELECT_BIASED),
                     CFUT_OK);
    sel_out out;
    ck_assert_int_eq(testkit_poll(&s.base, cfut_waker_noop(), &out),
                     CFUT_PENDING);
    /* woken in the order 2, 1: the rule, not the wake order, decides */
    testkit_countdown_wake(&c[2]);
    testkit_countdown_wake(&c[1]);

    ck_assert_int_eq(testkit_poll(&s.base, cfut_waker_noop(), &out),
                     CFUT_READY);
    cfut_future_drop(&s.base);

    ck_assert_uint_eq(out.index, 1);
    ck_assert_uint_eq(out.value, 11);
    ck_assert_int_eq(c[2].n_polls, 1); /* never polled again */
    ck_assert_int_eq(c[0].n_polls, 1);
    for (int i = 0; i < N; i++)
        ck_assert(dropped[i]);
}
END_TEST

START_TEST(test_select_small_polls_every_child_with_the_parent_waker)
{
    /* three children: the small form polls all of them at every poll, with
     * the parent's own waker, and allocates nothing */
    bool dropped[3] = {false, false, false};
    struct testkit_countdown c[3];
    struct cfut_future *kids[3];
    for (int i = 0; i < 3; i++) {
        testkit_countdown_init(&c[i], 2 - (i == 2), false, (uint64_t)(10 + i));
        c[i].dropped = &dropped[i];
        kids[i] = &c[i].base;
    }
    struct cfut_select s;
    ck_assert_int_eq(cfut_select_init(&s, kids, 3, CFUT_SELECT_BIASED),
                     CFUT_OK);
    ck_assert_int_eq(testkit_alloc_live(), 0);
    struct testkit_waker tw;
    struct cfut_waker w = testkit_waker_init(&tw);
    sel_out out;
    ck_assert_int_eq(testkit_poll(&s.base, &w, &out), CFUT_PENDING);
    for (int i = 0; i < 3; i++)
        ck_assert(cfut_waker_will_wake(&c[i].waker, &w));
    testkit_countdown_wake(&c[2]);
    ck_assert_int_eq(testkit_waker_n_wakes(&tw), 1);

    ck_assert_int_eq(testkit_poll(&s.base, &w, &out), CFUT_READY);
    cfut_future_drop(&s.base);

    ck_assert_uint_eq(out.index, 2); /* 0 and 1 were polled, still pending */
    ck_assert_uint_eq(out.value, 12);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(c[i].n_polls, 2);
        ck_assert(dropped[i]);
    }
    ck_assert_int_eq(testkit_wakers_live(), 0);
}
END_TEST

/* Runs 'rounds' selects over three ready children; counts the wins. */
static void
count_wins(unsigned flags, int rounds, int wins[3])
{
    for (int r = 0; r < rounds; r++) {
        struct cfut_ready c[3];
        struct cfut_future *kids[3];
        for (int i = 0; i < 3; i++) {
            ready_u64(&c[i], (uint64_t)i);
            kids[i] = &c[i].base;
        }
        struct cfut_select s;
        ck_assert_int_eq(cfut_select_init(&s, kids, 3, flags), CFUT_OK);
        sel_out out;
        ck_assert_int_eq(testkit_poll(&s.base, cfut_waker_noop(), &out),
                         CFUT_READY);
        cfut_future_drop(&s.base);
        ck_assert_uint_eq(out.value, out.index);
        wins[out.index]++;
    }
}

START_TEST(test_select_fair_spreads_wins_across_children)
{
    int fair[3] = {0, 0, 0}, biased[3] = {0, 0, 0};

    count_wins(CFUT_SELECT_FAIR, 300, fair);
    count_wins(CFUT_SELECT_BIASED, 300, biased);

    ck_assert_int_eq(fair[0], 100);
    ck_assert_int_eq(fair[1], 100);
    ck_assert_int_eq(fair[2], 100);
    ck_assert_int_eq(biased[0], 300);
}
END_TEST

/*
 * A select of two (its own unrolled poll): both children ready, the fair
 * mode alternates the winner; the loser is dropped at once, unpolled when
 * the winner came first, and holds no waker.
 */
START_TEST(test_select2_fair_alternates_and_drops_the_unpolled_loser)
{
    int wins[2] = {0, 0};
    for (int r = 0; r < 200; r++) {
        bool dropped[2] = {false, false};
        struct testkit_countdown c[2];
        for (int i = 0; i < 2; i++) {
            testkit_countdown_init(&c[i], 0, false, (uint64_t)(30 + i));
            c[i].dropped = &dropped[i];
        }
        struct cfut_select s;
        ck_assert_int_eq(
            cfut_select2(&s, &c[0].base, &c[1].base, CFUT_SELECT_FAIR),
            CFUT_OK);
        sel_out out;
        ck_assert_int_eq(testkit_poll(&s.base, cfut_waker_noop(), &out),
                         CFUT_READY);
        ck_assert_uint_lt(out.index, 2);
        ck_assert_uint_eq(out.value, 30 + out.index);
        ck_assert(dropped[0] && dropped[1]); /* before the select's drop */
        ck_assert_int_eq(c[out.index].n_polls, 1);
        ck_assert_int_eq(c[out.index ^ 1].n_polls, 0);
        wins[out.index]++;
        cfut_future_drop(&s.base);
    }
    ck_assert_int_eq(wins[0], 100);
    ck_assert_int_eq(wins[1], 100);
    ck_assert_int_eq(testkit_wakers_live(), 0);
}
END_TEST

/* A select of two whose second child wins at a later poll. */
START_TEST(test_select2_second_child_wins_after_pending_polls)
{
    bool dropped = false;
    struct testkit_countdown a, b;
    testkit_countdown_init(&a, 10, false, 1);
    testkit_countdown_init(&b, 2, true, 2);
    a.dropped = &dropped;
    struct cfut_select s;
    ck_assert_int_eq(cfut_select2(&s, &a.base, &b.base, CFUT_SELECT_BIASED),
                     CFUT_OK);
    struct testkit_waker tw;
    struct cfut_waker w = testkit_waker_init(&tw);
    sel_out out;
    ck_assert_int_eq(testkit_poll(&s.base, &w, &out), CFUT_PENDING);
    ck_assert_int_eq(testkit_poll(&s.base, &w, &out), CFUT_PENDING);
    ck_assert(!dropped);
    ck_assert_int_eq(testkit_poll(&s.base, &w, &out), CFUT_READY);
    ck_assert(dropped);
    ck_assert_int_eq(a.n_polls, 3); /* biased: the first child each time */
    ck_assert_uint_eq(out.index, 1);
    ck_assert_uint_eq(out.value, 2);
    ck_assert_int_eq(testkit_waker_n_wakes(&tw), 2);
    cfut_future_drop(&s.base);
    ck_assert_int_eq(testkit_wakers_live(), 0);
}
END_TEST

START_TEST(test_select_fair_polls_woken_children_from_the_rotating_start)
{
    /* Two fair selects in a row start at consecutive indexes. */
    int first = -1;
    for (int round = 0; round < 2; round++) {
        struct cfut_ready c[4];
        struct cfut_future *kids[4];
        for (int i = 0; i < 4; i++) {
            ready_u64(&c[i], (uint64_t)i);
            kids[i] = &c[i].base;
        }
        struct cfut_select s;
        ck_assert_int_eq(cfut_select_init(&s, kids, 4, CFUT_SELECT_FAIR),
                         CFUT_OK);
        sel_out out;
        ck_assert_int_eq(testkit_poll(&s.base, cfut_waker_noop(), &out),
                         CFUT_READY);
        cfut_future_drop(&s.base);
        if (round == 0)
            first = (int)out.index;
        else
            ck_assert_int_eq((int)out.index, (first + 1) % 4);
    }
}
END_TEST

START_TEST(test_select_hand_back_returns_the_losers_alive)
{
    bool dropped = false;
    struct testkit_countdown a, b;
    testkit_countdown_init(&a, 0, false, 1);
    testkit_countdown_init(&b, 1, false, 2);
    b.dropped = &dropped;
    struct cfut_future *boxed_b;
    ck_assert_int_eq(cfut_future_box(&b.base, sizeof b, &boxed_b), CFUT_OK);
    struct cfut_select s;
    /* b first: it is polled (and keeps a sub-waker) before a wins */
    ck_assert_int_eq(cfut_select2(&s, boxed_b, &a.base,
                                  CFUT_SELECT_BIASED | CFUT_SELECT_HAND_BACK),
                     CFUT_OK);
    sel_out out;

    ck_assert_int_eq(testkit_poll(&s.base, cfut_waker_noop(), &out),
                     CFUT_READY);
    cfut_future_drop(&s.base);

    ck_assert_uint_eq(out.index, 1);
    ck_assert(!dropped);
    struct testkit_waker tw;
    struct cfut_waker w = testkit_waker_init(&tw);
    uint64_t v = 0;
    ck_assert_int_eq(testkit_poll(boxed_b, &w, &v), CFUT_READY);
    ck_assert_uint_eq(v, 2);
    cfut_future_drop(boxed_b);
    ck_assert(dropped);
}
END_TEST

START_TEST(test_select_output_fits_the_largest_child)
{
    struct cfut_ready a;
    uint8_t small = 1;
    unsigned char big[24] = {0};
    struct cfut_ready b;
    ck_assert_int_eq(cfut_ready_init(&a, &small, 1), CFUT_OK);
    ck_assert_int_eq(cfut_ready_init(&b, big, sizeof big), CFUT_OK);
    struct cfut_select s;
    ck_assert_int_eq(cfut_select2(&s, &a.base, &b.base, 0), CFUT_OK);

    ck_assert_uint_eq(cfut_future_output_size(&s.base),
                      CFUT_SELECT_VALUE_OFFSET + 24);
    cfut_future_drop(&s.base);
}
END_TEST

/* ---- drop ---- */

START_TEST(test_select_drop_while_pending_drops_every_child)
{
    bool dropped[2] = {false, false};
    struct testkit_countdown a, b;
    testkit_countdown_init(&a, 5, false, 1);
    testkit_countdown_init(&b, 5, false, 2);
    a.dropped = &dropped[0];
    b.dropped = &dropped[1];
    struct cfut_future *boxed;
    ck_assert_int_eq(cfut_future_box(&b.base, sizeof b, &boxed), CFUT_OK);
    struct cfut_select s;
    ck_assert_int_eq(cfut_select2(&s, &a.base, boxed,
                                  CFUT_SELECT_FAIR | CFUT_SELECT_HAND_BACK),
                     CFUT_OK);
    struct testkit_waker tw;
    struct cfut_waker w = testkit_waker_init(&tw);
    sel_out out;
    ck_assert_int_eq(testkit_poll(&s.base, &w, &out), CFUT_PENDING);

    cfut_future_drop(&s.base);

    ck_assert(dropped[0] && dropped[1]);
    ck_assert_int_eq(testkit_wakers_live(), 0);
    ck_assert_int_eq(testkit_alloc_live(), 0);
}
END_TEST

START_TEST(test_select_rejects_bad_arguments)
{
    struct cfut_pending p;
    cfut_pending_init(&p, 8);
    struct cfut_future *kids[1] = {&p.base};
    struct cfut_select s;

    ck_assert_int_eq(cfut_select_init(&s, kids, 0, 0), CFUT_EINVAL);
    ck_assert_int_eq(cfut_select_init(&s, kids, 1, 0x80), CFUT_EINVAL);
    ck_assert_int_eq(cfut_select_init(&s, NULL, 1, 0), CFUT_EINVAL);
    kids[0] = NULL;
    ck_assert_int_eq(cfut_select_init(&s, kids, 1, 0), CFUT_EINVAL);
}
END_TEST

/* ---- executor integration ---- */

START_TEST(test_select_between_yield_and_pending_under_block_on)
{
    struct cfut_executor *ex;
    ck_assert_int_eq(cfut_executor_new(&ex), CFUT_OK);
    struct cfut_yield y;
    cfut_yield_now_init(&y);
    struct cfut_pending p;
    cfut_pending_init(&p, 0);
    struct cfut_select s;
    ck_assert_int_eq(cfut_select2(&s, &p.base, &y.base, CFUT_SELECT_FAIR),
                     CFUT_OK);
    size_t out[2];

    ck_assert_int_eq(cfut_block_on(ex, &s.base, out), CFUT_OK);

    ck_assert_uint_eq(out[0], 1);
    cfut_executor_free(ex);
}
END_TEST

static void *
fire_signal(void *arg)
{
    testkit_signal_fire(arg);
    return NULL;
}

START_TEST(test_select_child_woken_from_another_thread_wins)
{
    struct testkit_signal x;
    testkit_signal_init(&x, 99);
    struct cfut_pending never;
    cfut_pending_init(&never, sizeof(uint64_t));
    struct cfut_select s;
    ck_assert_int_eq(cfut_select2(&s, &never.base, &x.base, CFUT_SELECT_FAIR),
                     CFUT_OK);
    struct testkit_waker tw;
    struct cfut_waker w = testkit_waker_init(&tw);
    sel_out out;
    ck_assert_int_eq(testkit_poll(&s.base, &w, &out), CFUT_PENDING);
    pthread_t th;

    ck_assert_int_eq(pthread_create(&th, NULL, fire_signal, &x), 0);
    while (testkit_poll(&s.base, &w, &out) == CFUT_PENDING)
        ;
    pthread_join(th, NULL);
    cfut_future_drop(&s.base);

    ck_assert_uint_eq(out.index, 1);
    ck_assert_uint_eq(out.value, 99);
    ck_assert_int_ge(testkit_waker_n_wakes(&tw), 1);
    testkit_signal_fini(&x);
}
END_TEST

/* ---- allocation ---- */

START_TEST(test_select_reports_enomem_at_every_allocation)
{
    for (long k = 1;; k++) {
        bool dropped = false;
        struct testkit_countdown a;
        testkit_countdown_init(&a, 3, false, 1);
        a.dropped = &dropped;
        struct cfut_ready r;
        ready_u64(&r, 9);
        /* pending padding past CFUT_SELECT_SMALL_MAX: the wake-set form,
         * which allocates its block at init */
        struct cfut_pending pad[CFUT_SELECT_SMALL_MAX];
        struct cfut_future *kids[CFUT_SELECT_SMALL_MAX + 2] = {&a.base,
                                                               &r.base};
        for (int i = 0; i < CFUT_SELECT_SMALL_MAX; i++) {
            cfut_pending_init(&pad[i], sizeof(uint64_t));
            kids[2 + i] = &pad[i].base;
        }
        struct cfut_select s;
        testkit_alloc_fail_at(k);
        int rc = cfut_select_init(&s, kids, CFUT_SELECT_SMALL_MAX + 2,
                                  CFUT_SELECT_BIASED);
        testkit_alloc_fail_at(0);
        if (rc == CFUT_OK) {
            sel_out out;
            ck_assert_int_eq(testkit_poll(&s.base, cfut_waker_noop(), &out),
                             CFUT_READY);
            cfut_future_drop(&s.base);
            ck_assert_uint_eq(out.index, 1);
            ck_assert(dropped);
            ck_assert_int_ge(k, 2);
            break;
        }
        ck_assert_int_eq(rc, CFUT_ENOMEM);
        ck_assert(!dropped);
        for (int i = 0; i < CFUT_SELECT_SMALL_MAX + 2; i++)
            cfut_future_drop(kids[i]);
        ck_assert_int_eq(testkit_alloc_live(), 0);
    }
}
END_TEST

static Suite *
select_suite(void)
{
    Suite *s = suite_create("select");
    TCase *tc = tcase_create("losers");
    testkit_fixture(tc);
    tcase_add_test(
        tc, test_select_drops_the_loser_before_ready_and_never_polls_it_again);
    tcase_add_test(tc, test_select_hand_back_returns_the_losers_alive);
    tcase_add_test(tc,
                   test_select_small_polls_every_child_with_the_parent_waker);
    tcase_add_test(tc, test_select_output_fits_the_largest_child);
    suite_add_tcase(s, tc);

    tc = tcase_create("polling rules");
    testkit_fixture(tc);
    tcase_add_test(tc,
                   test_select_biased_lowest_index_wins_among_ready_children);
    tcase_add_test(tc, test_select_fair_spreads_wins_across_children);
    tcase_add_test(tc,
                   test_select2_fair_alternates_and_drops_the_unpolled_loser);
    tcase_add_test(tc, test_select2_second_child_wins_after_pending_polls);
    tcase_add_test(
        tc, test_select_fair_polls_woken_children_from_the_rotating_start);
    tcase_add_test(tc, test_select_between_yield_and_pending_under_block_on);
    tcase_add_test(tc, test_select_child_woken_from_another_thread_wins);
    suite_add_tcase(s, tc);

    tc = tcase_create("drop and errors");
    testkit_fixture(tc);
    tcase_add_test(tc, test_select_drop_while_pending_drops_every_child);
    tcase_add_test(tc, test_select_rejects_bad_arguments);
    tcase_add_test(tc, test_select_reports_enomem_at_every_allocation);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return testkit_run(select_suite());
}
