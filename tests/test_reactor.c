/*
 * test_reactor.c: the reactor as the executor's driver: every executor has
 * one, deadlock detection still works beside it, wakes from another thread
 * reach an executor blocked in epoll_wait (many iterations, with and
 * without a timer armed), misuse of registrations, allocation failure.
 */
#define _GNU_SOURCE
#include "testkit.h"

#include <pthread.h>
#include <sched.h>
#include <unistd.h>

/* The executor under test: made by the testkit's executor fixture. */
#define ex testkit_ex

START_TEST(test_reactor_every_executor_has_an_idle_reactor)
{
    ck_assert_uint_eq(cfut_reactor_n_timers(ex), 0);
    ck_assert_uint_eq(cfut_reactor_n_waiters(ex), 0);
    ck_assert_uint_eq(cfut_reactor_n_registrations(ex), 0);
}
END_TEST

START_TEST(test_reactor_pending_forever_is_still_a_deadlock)
{
    struct cfut_pending p;
    cfut_pending_init(&p, 0);

    int rc = cfut_block_on(ex, &p.base, NULL);

    ck_assert_int_eq(rc, CFUT_EDEADLK);
}
END_TEST

/* ---- cross-thread wakes while the executor blocks in epoll_wait ---- */

/*
 * A future that, on its first poll, hands a clone of its waker to the
 * helper thread and returns PENDING; READY once the helper has woken it.
 */
struct handoff {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct cfut_waker waker; /* guarded by 'lock' */
    bool has_waker;
    bool quit;
    atomic_int woken;
    unsigned spin; /* how long the helper waits before waking */
};

struct remote_wait {
    struct cfut_future base;
    struct handoff *h;
    bool handed;
};

static enum cfut_poll
remote_wait_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct remote_wait *w = cfut_container_of(f, struct remote_wait, base);
    (void)out;
    if (atomic_load(&w->h->woken)) {
        atomic_store(&w->h->woken, 0);
        return CFUT_READY;
    }
    if (!w->handed) {
        w->handed = true;
        pthread_mutex_lock(&w->h->lock);
        w->h->waker = cfut_waker_clone(cx->waker);
        w->h->has_waker = true;
        pthread_cond_signal(&w->h->cond);
        pthread_mutex_unlock(&w->h->lock);
    }
    return CFUT_PENDING;
}

static const struct cfut_future_vtable remote_wait_vtable = {
    remote_wait_poll, NULL, 0, "remote_wait", NULL};

static void *
waker_thread(void *arg)
{
    struct handoff *h = arg;
    unsigned seed = 1;
    for (;;) {
        pthread_mutex_lock(&h->lock);
        while (!h->has_waker && !h->quit)
            pthread_cond_wait(&h->cond, &h->lock);
        if (h->quit) {
            pthread_mutex_unlock(&h->lock);
            return NULL;
        }
        struct cfut_waker w = h->waker;
        h->has_waker = false;
        pthread_mutex_unlock(&h->lock);
        /* Vary the moment: before, during or after the owner parks. */
        seed = seed * 1103515245u + 12345u;
        unsigned n = (seed >> 16) % (h->spin + 1);
        for (unsigned i = 0; i < n; i++)
            sched_yield();
        atomic_store(&h->woken, 1);
        cfut_waker_wake(&w);
    }
}

static void
run_handoffs(int iterations, bool with_timer)
{
    struct handoff h;
    pthread_mutex_init(&h.lock, NULL);
    pthread_cond_init(&h.cond, NULL);
    h.has_waker = false;
    h.quit = false;
    atomic_init(&h.woken, 0);
    h.spin = 8;
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, waker_thread, &h), 0);

    for (int i = 0; i < iterations; i++) {
        struct remote_wait w;
        cfut_future_init(&w.base, &remote_wait_vtable);
        w.h = &h;
        w.handed = false;
        int rc;
        if (with_timer) {
            /* A long timeout around it: the executor blocks in epoll_wait
             * with a finite timeout, and the wake must still cut it short. */
            struct cfut_timeout t;
            cfut_timeout_init(&t, &w.base, CFUT_SEC(3600));
            int st = 99;
            rc = cfut_block_on(ex, &t.base, &st);
            ck_assert_int_eq(st, CFUT_OK);
        } else {
            rc = cfut_block_on(ex, &w.base, NULL);
        }
        ck_assert_int_eq(rc, CFUT_OK);
    }

    pthread_mutex_lock(&h.lock);
    h.quit = true;
    pthread_cond_signal(&h.cond);
    pthread_mutex_unlock(&h.lock);
    pthread_join(th, NULL);
    pthread_cond_destroy(&h.cond);
    pthread_mutex_destroy(&h.lock);
    ck_assert_uint_eq(cfut_reactor_n_timers(ex), 0);
}

START_TEST(test_reactor_wake_from_another_thread_is_never_lost)
{
    /* A lost wake hangs block_on: the Check timeout fails the test. */
    run_handoffs(2000, false);
}
END_TEST

START_TEST(test_reactor_wake_from_another_thread_cuts_a_timed_wait_short)
{
    run_handoffs(1000, true);
}
END_TEST

/* ---- the fairness tick on a paused clock ---- */

/* Keeps the executor busy (a self-waking task), writing one byte to 'fd'
 * at its 100th poll, until 'seen' is finished; records that poll. */
struct busy_writer {
    struct cfut_future base;
    int fd;
    struct cfut_join_handle *seen;
    unsigned n, n_seen;
};

static enum cfut_poll
busy_writer_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct busy_writer *b = cfut_container_of(f, struct busy_writer, base);
    (void)out;
    b->n++;
    if (b->n == 100)
        ck_assert_int_eq(write(b->fd, "x", 1), 1);
    if (cfut_join_handle_is_finished(b->seen) || b->n >= 100000) {
        b->n_seen = b->n;
        return CFUT_READY;
    }
    cfut_waker_wake_by_ref(cx->waker);
    return CFUT_PENDING;
}

static const struct cfut_future_vtable busy_writer_vtable = {
    busy_writer_poll, NULL, 0, "busy_writer", NULL};

/*
 * With a paused clock the executor's fairness tick turns the driver every
 * 61 polls, whatever real time passed: a busy run sees I/O at the same
 * poll every time, which makes a seeded run replayable (with the real
 * clock, at most one zero-timeout turn a millisecond).
 */
START_TEST(test_reactor_paused_clock_busy_run_sees_io_within_two_ticks)
{
    cfut_time_pause(ex);
    int fds[2];
    ck_assert_int_eq(cfut_socketpair(fds), CFUT_OK);
    struct cfut_io *io;
    ck_assert_int_eq(cfut_io_new(ex, fds[0], &io), CFUT_OK);
    struct cfut_readiness r;
    cfut_readable_init(&r, io);
    struct cfut_join_handle hr;
    ck_assert_int_eq(cfut_spawn(ex, &r.base, sizeof r, &hr), CFUT_OK);
    struct busy_writer b = {.fd = fds[1], .seen = &hr};
    cfut_future_init(&b.base, &busy_writer_vtable);
    ck_assert_int_eq(cfut_block_on(ex, &b.base, NULL), CFUT_OK);

    /* The byte lands at poll 100; the next tick or the one after turns
     * the driver; the reader finishes in the pass after. */
    ck_assert_uint_le(b.n_seen, 100 + 2 * 61 + 4);
    cfut_future_drop(&hr.base);
    cfut_io_free(io);
    close(fds[1]);
}
END_TEST

/* ---- misuse ---- */

START_TEST(test_reactor_freeing_a_registration_with_a_waiter_aborts)
{
    int fds[2];
    ck_assert_int_eq(cfut_socketpair(fds), CFUT_OK);
    struct cfut_io *io;
    ck_assert_int_eq(cfut_io_new(ex, fds[0], &io), CFUT_OK);
    struct cfut_readiness r;
    cfut_readable_init(&r, io);
    int st;
    ck_assert_int_eq(testkit_poll(&r.base, cfut_waker_noop(), &st),
                     CFUT_PENDING);

    cfut_io_free(io); /* aborts */
}
END_TEST

START_TEST(test_reactor_io_new_rejects_bad_arguments)
{
    struct cfut_io *io = NULL;

    ck_assert_int_eq(cfut_io_new(ex, -1, &io), CFUT_EINVAL);
    ck_assert_int_eq(cfut_io_new(NULL, 0, &io), CFUT_EINVAL);
    ck_assert_int_eq(cfut_io_new(ex, 0, NULL), CFUT_EINVAL);
    ck_assert_ptr_null(io);
}
END_TEST

/* ---- allocation failure ---- */

START_TEST(test_reactor_executor_new_fails_cleanly_at_every_allocation)
{
    int failures = 0;
    long base = testkit_alloc_live();
    for (long k = 1;; k++) {
        struct cfut_executor *e = NULL;
        testkit_alloc_fail_at(k);
        int rc = cfut_executor_new(&e);
        if (rc == CFUT_OK) {
            ck_assert(!testkit_alloc_failed());
            cfut_executor_free(e);
            break;
        }
        ck_assert_int_eq(rc, CFUT_ENOMEM);
        ck_assert_ptr_null(e);
        ck_assert_int_eq(testkit_alloc_live(), base);
        failures++;
    }
    testkit_alloc_fail_at(0);
    ck_assert_int_eq(failures, 3); /* executor, inbox, reactor */
}
END_TEST

START_TEST(test_reactor_io_new_fails_cleanly_at_every_allocation)
{
    int fds[2];
    ck_assert_int_eq(cfut_socketpair(fds), CFUT_OK);
    int failures = 0;
    struct cfut_io *io = NULL;
    for (long k = 1;; k++) {
        testkit_alloc_fail_at(k);
        int rc = cfut_io_new(ex, fds[0], &io);
        if (rc == CFUT_OK)
            break;
        ck_assert_int_eq(rc, CFUT_ENOMEM);
        ck_assert_ptr_null(io);
        ck_assert_uint_eq(cfut_reactor_n_registrations(ex), 0);
        failures++;
    }
    testkit_alloc_fail_at(0);
    ck_assert_int_eq(failures, 1);
    ck_assert_uint_eq(cfut_reactor_n_registrations(ex), 1);
    cfut_io_free(io);
    close(fds[1]);
}
END_TEST

static Suite *
reactor_suite(void)
{
    Suite *s = suite_create("reactor");
    TCase *tc = tcase_create("driver");
    testkit_executor_fixture(tc);
    tcase_add_test(tc, test_reactor_every_executor_has_an_idle_reactor);
    tcase_add_test(tc, test_reactor_pending_forever_is_still_a_deadlock);
    tcase_add_test(tc,
                   test_reactor_paused_clock_busy_run_sees_io_within_two_ticks);
    suite_add_tcase(s, tc);

    tc = tcase_create("cross-thread wakes");
    testkit_executor_fixture(tc);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_reactor_wake_from_another_thread_is_never_lost);
    tcase_add_test(
        tc, test_reactor_wake_from_another_thread_cuts_a_timed_wait_short);
    suite_add_tcase(s, tc);

    tc = tcase_create("misuse");
    testkit_executor_fixture(tc);
    tcase_add_test(tc, test_reactor_io_new_rejects_bad_arguments);
    testkit_add_abort_test(
        tc, test_reactor_freeing_a_registration_with_a_waiter_aborts);
    suite_add_tcase(s, tc);

    tc = tcase_create("allocation");
    testkit_executor_fixture(tc);
    tcase_add_test(tc,
                   test_reactor_executor_new_fails_cleanly_at_every_allocation);
    tcase_add_test(tc, test_reactor_io_new_fails_cleanly_at_every_allocation);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return testkit_run(reactor_suite());
}
