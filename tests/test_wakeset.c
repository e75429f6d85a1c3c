/*
 * test_wakeset.c: the wake set behind join and select (more than
 * CFUT_JOIN_SMALL_MAX / CFUT_SELECT_SMALL_MAX children) across threads: the
 * owner thread's plain local path, wakes and clones from other threads, the
 * fallback when the combinator is polled on another thread (the takeover
 * races a wake by the old owner), stale sub-wakers after the combinator is
 * dropped, and a join spawned on a pool, whose task may change workers.
 * Every test ends with the testkit's waker and allocation counts at zero.
 */
#include <check.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>

#include <cfut.h>

#include "testkit.h"

enum { N = 16 };
static struct testkit_signal sigs[N];
static struct cfut_future *kids[N];

static void
signals_init(int n)
{
    for (int i = 0; i < n; i++) {
        testkit_signal_init(&sigs[i], 100 + (uint64_t)i);
        kids[i] = &sigs[i].base;
    }
}

static void
signals_fini(int n)
{
    for (int i = 0; i < n; i++)
        testkit_signal_fini(&sigs[i]);
}

/* Fires signal 'i' and wakes (consumes) the waker it kept. */
static void
signal_fire(int i)
{
    testkit_signal_fire(&sigs[i]);
}

/* Returns a clone of the waker signal 'i' kept (EMPTY if none). */
static struct cfut_waker
signal_steal(int i)
{
    struct testkit_signal *s = &sigs[i];
    pthread_mutex_lock(&s->mu);
    struct cfut_waker w = cfut_waker_clone(&s->waker);
    pthread_mutex_unlock(&s->mu);
    return w;
}

/* Fires the signals from 'first' to N - 1 in steps of 'step'. */
struct firer {
    int first, step;
};

static void *
fire_some(void *arg)
{
    struct firer *f = arg;
    for (int i = f->first; i < N; i += f->step) {
        signal_fire(i);
        if ((i & 3) == 0)
            sched_yield();
    }
    return NULL;
}

static void
check_outputs(const uint64_t *out)
{
    for (int i = 0; i < N; i++)
        ck_assert_uint_eq(out[i], 100 + (uint64_t)i);
}

/*
 * The owner thread (this one) fires the even signals (the local path)
 * while another thread fires the odd ones (the foreign path) and this
 * thread polls, draining both lists, until the join is READY.
 */
START_TEST(test_wakeset_wakes_from_another_thread_while_the_owner_polls)
{
    for (int round = 0; round < 50; round++) {
        signals_init(N);
        struct cfut_join j;
        ck_assert_int_eq(cfut_join_init(&j, kids, N), CFUT_OK);
        struct testkit_waker tw;
        struct cfut_waker w = testkit_waker_init(&tw);
        uint64_t out[N] = {0};
        ck_assert_int_eq(testkit_poll(&j.base, &w, out), CFUT_PENDING);
        struct firer odd = {1, 2};
        pthread_t th;
        ck_assert_int_eq(pthread_create(&th, NULL, fire_some, &odd), 0);
        int next_even = 0;
        enum cfut_poll r;
        do {
            if (next_even < N) {
                signal_fire(next_even);
                next_even += 2;
            }
            r = testkit_poll(&j.base, &w, out);
        } while (r == CFUT_PENDING);
        pthread_join(th, NULL);
        cfut_future_drop(&j.base);
        check_outputs(out);
        for (int i = 0; i < N; i++)
            ck_assert_int_le(atomic_load(&sigs[i].n_polls), 3);
        signals_fini(N);
        ck_assert_int_eq(testkit_wakers_live(), 0);
    }
}
END_TEST

/*
 * Local wakes are coalesced like foreign ones: several children woken on
 * the owner thread between two polls wake the parent once, and a child
 * woken both here and from another thread is polled once.
 */
static void *
wake_and_drop(void *arg)
{
    cfut_waker_wake(arg);
    return NULL;
}

START_TEST(test_wakeset_local_and_foreign_wakes_of_one_child_poll_it_once)
{
    signals_init(N);
    struct cfut_join j;
    ck_assert_int_eq(cfut_join_init(&j, kids, N), CFUT_OK);
    struct testkit_waker tw;
    struct cfut_waker w = testkit_waker_init(&tw);
    uint64_t out[N] = {0};
    ck_assert_int_eq(testkit_poll(&j.base, &w, out), CFUT_PENDING);
    ck_assert_int_eq(testkit_waker_n_wakes(&tw), 0);

    struct cfut_waker c3 = signal_steal(3);
    struct cfut_waker c4 = signal_steal(4);
    struct firer f = {5, N}; /* fires signal 5 only */
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, fire_some, &f), 0);
    pthread_join(th, NULL);
    /* child 3 woken here twice and child 4 once: the parent once more */
    cfut_waker_wake_by_ref(&c3);
    cfut_waker_wake_by_ref(&c3);
    cfut_waker_wake_by_ref(&c4);
    long wakes = testkit_waker_n_wakes(&tw);
    ck_assert_int_ge(wakes, 1);
    ck_assert_int_le(wakes, 2);
    ck_assert_int_eq(testkit_poll(&j.base, &w, out), CFUT_PENDING);
    ck_assert_int_eq(atomic_load(&sigs[3].n_polls), 2);
    ck_assert_int_eq(atomic_load(&sigs[4].n_polls), 2);
    ck_assert_int_eq(atomic_load(&sigs[5].n_polls), 2);
    ck_assert_int_eq(atomic_load(&sigs[6].n_polls), 1);

    /* child 3 woken here and from another thread (the foreign stack, then
     * the merge finds it on the local list): polled once */
    struct cfut_waker c3b = cfut_waker_clone(&c3);
    cfut_waker_wake_by_ref(&c3);
    ck_assert_int_eq(pthread_create(&th, NULL, wake_and_drop, &c3b), 0);
    pthread_join(th, NULL);
    ck_assert_int_eq(testkit_poll(&j.base, &w, out), CFUT_PENDING);
    ck_assert_int_eq(atomic_load(&sigs[3].n_polls), 3);
    cfut_waker_drop(&c3);
    cfut_waker_drop(&c4);

    for (int i = 0; i < N; i++)
        if (i != 5)
            signal_fire(i);
    ck_assert_int_eq(testkit_poll(&j.base, &w, out), CFUT_READY);
    cfut_future_drop(&j.base);
    check_outputs(out);
    signals_fini(N);
}
END_TEST

/* A sub-waker clone handed to another thread, cloned, woken and dropped
 * there. */
struct relay {
    struct cfut_waker w;
    int fire;
};

static void *
relay_main(void *arg)
{
    struct relay *r = arg;
    struct cfut_waker again = cfut_waker_clone(&r->w);
    pthread_mutex_lock(&sigs[r->fire].mu);
    sigs[r->fire].fired = true;
    pthread_mutex_unlock(&sigs[r->fire].mu);
    cfut_waker_wake_by_ref(&again);
    cfut_waker_drop(&again);
    cfut_waker_drop(&r->w);
    return NULL;
}

START_TEST(test_wakeset_sub_waker_cloned_then_dropped_on_another_thread)
{
    signals_init(N);
    struct cfut_join j;
    ck_assert_int_eq(cfut_join_init(&j, kids, N), CFUT_OK);
    struct testkit_waker tw;
    struct cfut_waker w = testkit_waker_init(&tw);
    uint64_t out[N] = {0};
    ck_assert_int_eq(testkit_poll(&j.base, &w, out), CFUT_PENDING);
    struct relay r = {signal_steal(7), 7};
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, relay_main, &r), 0);
    pthread_join(th, NULL);
    ck_assert_int_eq(testkit_waker_n_wakes(&tw), 1);
    ck_assert_int_eq(testkit_poll(&j.base, &w, out), CFUT_PENDING);
    ck_assert_int_eq(atomic_load(&sigs[7].n_polls), 2);
    for (int i = 0; i < N; i++)
        if (i != 7)
            signal_fire(i);
    ck_assert_int_eq(testkit_poll(&j.base, &w, out), CFUT_READY);
    cfut_future_drop(&j.base);
    check_outputs(out);
    signals_fini(N);
}
END_TEST

/* Stale sub-wakers: kept past the join's drop, woken and dropped both on
 * the owner thread and on another one; the parent is never woken again. */
struct stale {
    struct cfut_waker w[N];
    int first;
};

static void *
stale_main(void *arg)
{
    struct stale *s = arg;
    for (int i = s->first; i < N; i += 2) {
        cfut_waker_wake_by_ref(&s->w[i]);
        cfut_waker_wake(&s->w[i]);
    }
    return NULL;
}

START_TEST(test_wakeset_stale_sub_wakers_after_the_join_is_dropped)
{
    signals_init(N);
    struct cfut_join j;
    ck_assert_int_eq(cfut_join_init(&j, kids, N), CFUT_OK);
    struct testkit_waker tw;
    struct cfut_waker w = testkit_waker_init(&tw);
    uint64_t out[N];
    ck_assert_int_eq(testkit_poll(&j.base, &w, out), CFUT_PENDING);
    struct stale s;
    s.first = 1;
    for (int i = 0; i < N; i++)
        s.w[i] = signal_steal(i);
    cfut_future_drop(&j.base); /* the signals drop their clones */
    long wakes = testkit_waker_n_wakes(&tw);
    ck_assert_int_eq(wakes, 0);
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, stale_main, &s), 0);
    for (int i = 0; i < N; i += 2) {
        cfut_waker_wake_by_ref(&s.w[i]);
        cfut_waker_drop(&s.w[i]);
    }
    pthread_join(th, NULL);
    ck_assert_int_eq(testkit_waker_n_wakes(&tw), 0);
    ck_assert_int_eq(testkit_wakers_live(), 0);
    ck_assert_int_eq(testkit_alloc_live(), 0);
    signals_fini(N);
}
END_TEST

/*
 * A join polled here (the owner) is handed to another thread that polls it
 * to the end, while this thread keeps firing signals (its wakes race the
 * takeover: the local path until it sees the fallback) and a third thread
 * fires the others.
 */
struct taker {
    struct cfut_join *j;
    uint64_t *out;
    struct testkit_waker *tw;
};

static void *
taker_main(void *arg)
{
    struct taker *t = arg;
    struct cfut_waker w = testkit_waker_init(t->tw);
    while (testkit_poll(&t->j->base, &w, t->out) == CFUT_PENDING)
        sched_yield();
    cfut_future_drop(&t->j->base);
    return NULL;
}

START_TEST(test_wakeset_join_polled_on_one_thread_then_another)
{
    for (int round = 0; round < 100; round++) {
        signals_init(N);
        struct cfut_join j;
        ck_assert_int_eq(cfut_join_init(&j, kids, N), CFUT_OK);
        struct testkit_waker tw1, tw2;
        struct cfut_waker w = testkit_waker_init(&tw1);
        uint64_t out[N] = {0};
        ck_assert_int_eq(testkit_poll(&j.base, &w, out), CFUT_PENDING);
        signal_fire(0); /* a local wake before the hand-over */
        ck_assert_int_eq(testkit_poll(&j.base, &w, out), CFUT_PENDING);
        struct taker t = {&j, out, &tw2};
        struct firer odd = {1, 2};
        pthread_t taker, firer;
        ck_assert_int_eq(pthread_create(&taker, NULL, taker_main, &t), 0);
        ck_assert_int_eq(pthread_create(&firer, NULL, fire_some, &odd), 0);
        for (int i = 2; i < N; i += 2)
            signal_fire(i);
        pthread_join(firer, NULL);
        pthread_join(taker, NULL);
        check_outputs(out);
        signals_fini(N);
        ck_assert_int_eq(testkit_wakers_live(), 0);
    }
}
END_TEST

/* The same hand-over for a select: the winner is the one fired. */
struct select_taker {
    struct cfut_select *s;
    struct testkit_waker tw;
    CFUT_SELECT_OUTPUT(uint64_t) out;
};

static void *
select_taker_main(void *arg)
{
    struct select_taker *t = arg;
    struct cfut_waker w = testkit_waker_init(&t->tw);
    while (testkit_poll(&t->s->base, &w, &t->out) == CFUT_PENDING)
        sched_yield();
    cfut_future_drop(&t->s->base);
    return NULL;
}

START_TEST(test_wakeset_select_polled_on_one_thread_then_another)
{
    for (int round = 0; round < 50; round++) {
        signals_init(N);
        struct cfut_select s;
        ck_assert_int_eq(cfut_select_init(&s, kids, N, CFUT_SELECT_BIASED),
                         CFUT_OK);
        struct testkit_waker tw;
        struct cfut_waker w = testkit_waker_init(&tw);
        CFUT_SELECT_OUTPUT(uint64_t) out;
        ck_assert_int_eq(testkit_poll(&s.base, &w, &out), CFUT_PENDING);
        struct cfut_waker c2 = signal_steal(2);
        struct select_taker t;
        t.s = &s;
        t.out.index = SIZE_MAX;
        pthread_t th;
        ck_assert_int_eq(pthread_create(&th, NULL, select_taker_main, &t), 0);
        cfut_waker_wake_by_ref(&c2); /* races the takeover; 2 stays pending */
        signal_fire(9);
        cfut_waker_drop(&c2);
        pthread_join(th, NULL);
        ck_assert_uint_eq(t.out.index, 9);
        ck_assert_uint_eq(t.out.value, 109);
        signals_fini(N);
        ck_assert_int_eq(testkit_wakers_live(), 0);
    }
}
END_TEST

/*
 * A join spawned on a pool of four workers: each wake comes from this
 * thread, so the task may be picked up by any worker and the join polled
 * on one worker after another (the first change falls back for good).
 */
struct vals {
    uint64_t v[N];
};

START_TEST(test_wakeset_join_in_a_pool_task_that_changes_workers)
{
    struct cfut_pool_config cfg = {.n_workers = 4};
    struct cfut_pool *p = NULL;
    ck_assert_int_eq(cfut_pool_new(&cfg, &p), CFUT_OK);
    for (int round = 0; round < 20; round++) {
        signals_init(N);
        struct cfut_join j;
        ck_assert_int_eq(cfut_join_init(&j, kids, N), CFUT_OK);
        struct cfut_pool_handle h;
        ck_assert_int_eq(cfut_pool_spawn(p, &j.base, sizeof j, &h), CFUT_OK);
        for (int i = 0; i < N; i++) {
            /* wait for the first poll to register the signal's waker */
            for (;;) {
                pthread_mutex_lock(&sigs[i].mu);
                bool kept = sigs[i].waker.vtable != NULL;
                pthread_mutex_unlock(&sigs[i].mu);
                if (kept)
                    break;
                sched_yield();
            }
            signal_fire(i);
        }
        CFUT_JOIN_OUTPUT(struct vals) out;
        ck_assert_int_eq(cfut_pool_block_on(p, &h.base, &out), CFUT_OK);
        ck_assert_int_eq(out.status, CFUT_OK);
        check_outputs(out.value.v);
        signals_fini(N);
    }
    cfut_pool_free(p);
    ck_assert_int_eq(testkit_wakers_live(), 0);
}
END_TEST

static Suite *
wakeset_suite(void)
{
    Suite *s = suite_create("wakeset");
    TCase *tc = tcase_create("threads");
    testkit_fixture(tc);
    tcase_set_timeout(tc, 60);
    tcase_add_test(
        tc, test_wakeset_wakes_from_another_thread_while_the_owner_polls);
    tcase_add_test(
        tc, test_wakeset_local_and_foreign_wakes_of_one_child_poll_it_once);
    tcase_add_test(
        tc, test_wakeset_sub_waker_cloned_then_dropped_on_another_thread);
    tcase_add_test(tc, test_wakeset_stale_sub_wakers_after_the_join_is_dropped);
    tcase_add_test(tc, test_wakeset_join_polled_on_one_thread_then_another);
    tcase_add_test(tc, test_wakeset_select_polled_on_one_thread_then_another);
    tcase_add_test(tc, test_wakeset_join_in_a_pool_task_that_changes_workers);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return testkit_run(wakeset_suite());
}
