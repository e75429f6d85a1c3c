/*
 * test_blocking.c: the blocking pool (cfut_blocking.h) with real threads:
 * results come back through the task waker while the executor is parked
 * in epoll, the thread count stays bounded and threads start only when
 * needed and end when idle, a dropped queued job never runs, a dropped
 * running job's result is discarded on its thread, shutdown cancels what
 * is queued and joins the threads, the threads block every signal, and
 * every allocation can fail. In suite 'threads' too (TSan).
 */
#define _GNU_SOURCE
#include "testkit.h"

#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#define ex testkit_ex

/* ---- a gate: jobs wait on it until the test opens it ---- */

static pthread_mutex_t gate_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cv = PTHREAD_COND_INITIALIZER;
static bool gate_open;
static int n_inside;   /* jobs inside a gated function now */
static int max_inside; /* the most at once */

static void
gate_reset(void)
{
    pthread_mutex_lock(&gate_mu);
    gate_open = false;
    n_inside = max_inside = 0;
    pthread_mutex_unlock(&gate_mu);
}

static void
gate_set_open(void)
{
    pthread_mutex_lock(&gate_mu);
    gate_open = true;
    pthread_cond_broadcast(&gate_cv);
    pthread_mutex_unlock(&gate_mu);
}

/* Waits until 'n' jobs are inside the gate. */
static void
gate_wait_inside(int n)
{
    pthread_mutex_lock(&gate_mu);
    while (n_inside < n)
        pthread_cond_wait(&gate_cv, &gate_mu);
    pthread_mutex_unlock(&gate_mu);
}

/* A thread that opens the gate 50 ms after it starts. */
static void *
opener_main(void *arg)
{
    (void)arg;
    usleep(50 * 1000);
    gate_set_open();
    return NULL;
}

static int
gate_max_inside(void)
{
    pthread_mutex_lock(&gate_mu);
    int m = max_inside;
    pthread_mutex_unlock(&gate_mu);
    return m;
}

/* The data of the test jobs. */
struct job {
    int in;
    int out;
    bool gated;
    atomic_int *n_ran;
    atomic_int *n_discarded;
    pthread_t ran_on;
    int blocked_ok; /* 1 when every signal was blocked on the thread */
};

static void
job_fn(void *data)
{
    struct job *j = data;
    sigset_t mask;
    pthread_sigmask(SIG_SETMASK, NULL, &mask);
    j->blocked_ok = sigismember(&mask, SIGINT) && sigismember(&mask, SIGTERM) &&
                    sigismember(&mask, SIGUSR1) && sigismember(&mask, SIGCHLD);
    j->ran_on = pthread_self();
    if (j->gated) {
        pthread_mutex_lock(&gate_mu);
        n_inside++;
        if (n_inside > max_inside)
            max_inside = n_inside;
        pthread_cond_broadcast(&gate_cv);
        while (!gate_open)
            pthread_cond_wait(&gate_cv, &gate_mu);
        n_inside--;
        pthread_mutex_unlock(&gate_mu);
    }
    j->out = j->in * 2;
    if (j->n_ran != NULL)
        atomic_fetch_add(j->n_ran, 1);
}

static pthread_t test_thread;
static atomic_int n_discarded_off_test_thread;

static void
job_discard(void *data)
{
    struct job *j = data;
    if (!pthread_equal(pthread_self(), test_thread))
        atomic_fetch_add(&n_discarded_off_test_thread, 1);
    if (j->n_discarded != NULL)
        atomic_fetch_add(j->n_discarded, 1);
}

/*
 * A task that awaits a blocking future and copies the job's data out
 * when it is READY (cfut_block_on() drops the future it runs).
 */
struct await_job {
    struct cfut_future base;
    struct cfut_blocking f;
    struct job *copy;
    int *ended; /* when not NULL: the job's status, once READY */
};

static enum cfut_poll
await_job_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct await_job *a = cfut_container_of(f, struct await_job, base);
    if (cfut_future_poll(&a->f.base, cx, out) == CFUT_PENDING)
        return CFUT_PENDING;
    if (a->copy != NULL)
        memcpy(a->copy, cfut_blocking_data(&a->f), sizeof *a->copy);
    if (a->ended != NULL)
        *a->ended = *(int *)out;
    return CFUT_READY;
}

static void
await_job_drop(struct cfut_future *f)
{
    struct await_job *a = cfut_container_of(f, struct await_job, base);
    cfut_future_drop(&a->f.base);
}

static const struct cfut_future_vtable await_job_vtable = {
    await_job_poll, await_job_drop, sizeof(int), "await_job", NULL};

/* Makes 'a' await job 'in' on 'p'; its result goes to 'copy'. */
static void
await_job_init(struct await_job *a, struct cfut_blocking_pool *p,
               const struct job *in, struct job *copy)
{
    cfut_future_init(&a->base, &await_job_vtable);
    ck_assert_int_eq(
        cfut_blocking_init(&a->f, p, job_fn, job_discard, in, sizeof *in),
        CFUT_OK);
    a->copy = copy;
    a->ended = NULL;
}

/* Waits (really) until 'p' has 'n' threads, for at most 10 s. */
static void
wait_threads(struct cfut_blocking_pool *p, size_t n)
{
    for (int i = 0; i < 10000; i++) {
        struct cfut_blocking_stats st;
        cfut_blocking_pool_stats(p, &st);
        if (st.n_threads == n)
            return;
        usleep(1000);
    }
    ck_abort_msg("the pool never had %zu threads", n);
}

/* ---- results ---- */

START_TEST(test_blocking_a_job_completes_its_future_from_a_pool_thread)
{
    struct cfut_blocking_pool *p;
    ck_assert_int_eq(cfut_blocking_pool_new(NULL, &p), CFUT_OK);
    struct cfut_blocking_stats before;
    cfut_blocking_pool_stats(p, &before);
    struct job in = {.in = 21}, out;
    memset(&out, 0, sizeof out);
    struct await_job a;
    await_job_init(&a, p, &in, &out);

    int status = -1;
    ck_assert_int_eq(cfut_block_on(ex, &a.base, &status), CFUT_OK);

    ck_assert_uint_eq(before.n_threads, 0); /* started lazily */
    ck_assert_int_eq(status, CFUT_OK);
    ck_assert_int_eq(out.out, 42);
    ck_assert(!pthread_equal(out.ran_on, pthread_self()));
    ck_assert_int_eq(out.blocked_ok, 1); /* the thread blocks every signal */
    struct cfut_blocking_stats after;
    cfut_blocking_pool_stats(p, &after);
    ck_assert_uint_eq(after.n_done, 1);
    cfut_blocking_pool_free(p);
}
END_TEST

START_TEST(test_blocking_a_parked_executor_wakes_when_the_job_ends)
{
    /* The job ends 50 ms later, while the executor blocks in epoll. */
    gate_reset();
    struct cfut_blocking_pool *p;
    ck_assert_int_eq(cfut_blocking_pool_new(NULL, &p), CFUT_OK);
    struct job in = {.in = 5, .gated = true}, out;
    struct await_job a;
    await_job_init(&a, p, &in, &out);
    int ended = INT_MIN;
    a.ended = &ended;
    struct cfut_join_handle h;
    ck_assert_int_eq(cfut_spawn(ex, &a.base, sizeof a, &h), CFUT_OK);
    ck_assert_int_eq(cfut_executor_run_ready(ex), CFUT_OK);
    /* A job that could not start (no thread: ENOMEM) is READY at its first
     * poll and never enters the gate: end on that status, not wait. */
    ck_assert_int_eq(ended == INT_MIN ? CFUT_OK : ended, CFUT_OK);
    gate_wait_inside(1);
    ck_assert_uint_eq(cfut_executor_n_wakers(ex), 1); /* the job holds it */

    pthread_t opener;
    ck_assert_int_eq(pthread_create(&opener, NULL, opener_main, NULL), 0);
    CFUT_JOIN_OUTPUT(int) jo;
    ck_assert_int_eq(cfut_block_on(ex, &h.base, &jo), CFUT_OK);
    pthread_join(opener, NULL);

    ck_assert_int_eq(jo.status, CFUT_OK);
    ck_assert_int_eq(jo.value, CFUT_OK);
    ck_assert_int_eq(out.out, 10);
    cfut_blocking_pool_free(p);
}
END_TEST

START_TEST(test_blocking_threads_stay_within_the_maximum)
{
    gate_reset();
    struct cfut_blocking_config cfg = {.max_threads = 3};
    struct cfut_blocking_pool *p;
    ck_assert_int_eq(cfut_blocking_pool_new(&cfg, &p), CFUT_OK);
    atomic_int n_ran = 0;
    enum { N = 40 };
    static struct job outs[N];
    struct cfut_join_handle h[N];
    for (int i = 0; i < N; i++) {
        struct job in = {.in = i, .gated = true, .n_ran = &n_ran};
        struct await_job a;
        await_job_init(&a, p, &in, &outs[i]);
        ck_assert_int_eq(cfut_spawn(ex, &a.base, sizeof a, &h[i]), CFUT_OK);
    }

    ck_assert_int_eq(cfut_executor_run_ready(ex), CFUT_OK);
    gate_wait_inside(3);
    struct cfut_blocking_stats st;
    cfut_blocking_pool_stats(p, &st);
    gate_set_open();
    ck_assert_int_eq(cfut_executor_run(ex), CFUT_OK);

    ck_assert_uint_eq(st.n_threads, 3);
    ck_assert_uint_eq(st.n_running, 3);
    ck_assert_uint_eq(st.n_queued, N - 3);
    ck_assert_int_le(gate_max_inside(), 3);
    ck_assert_int_eq(atomic_load(&n_ran), N);
    for (int i = 0; i < N; i++) {
        CFUT_JOIN_OUTPUT(int) jo;
        ck_assert_int_eq(cfut_block_on(ex, &h[i].base, &jo), CFUT_OK);
        ck_assert_int_eq(jo.value, CFUT_OK);
        ck_assert_int_eq(outs[i].out, 2 * i);
    }
    cfut_blocking_pool_free(p);
}
END_TEST

START_TEST(test_blocking_idle_threads_end_and_new_ones_start)
{
    struct cfut_blocking_config cfg = {.max_threads = 2,
                                       .idle_ns = CFUT_MSEC(20)};
    struct cfut_blocking_pool *p;
    ck_assert_int_eq(cfut_blocking_pool_new(&cfg, &p), CFUT_OK);
    struct job in = {.in = 1}, out;
    struct await_job a;
    int status;

    await_job_init(&a, p, &in, &out);
    ck_assert_int_eq(cfut_block_on(ex, &a.base, &status), CFUT_OK);
    wait_threads(p, 0); /* idle for 20 ms: it ends */
    await_job_init(&a, p, &in, &out);
    ck_assert_int_eq(cfut_block_on(ex, &a.base, &status), CFUT_OK);

    ck_assert_int_eq(status, CFUT_OK);
    ck_assert_int_eq(out.out, 2);
    cfut_blocking_pool_free(p);
}
END_TEST

/* ---- cancellation ---- */

START_TEST(test_blocking_a_dropped_queued_job_never_runs)
{
    gate_reset();
    struct cfut_blocking_config cfg = {.max_threads = 1};
    struct cfut_blocking_pool *p;
    ck_assert_int_eq(cfut_blocking_pool_new(&cfg, &p), CFUT_OK);
    atomic_int n_ran = 0, n_discarded = 0;
    struct job first = {.gated = true, .n_ran = &n_ran};
    struct job second = {.n_ran = &n_ran, .n_discarded = &n_discarded};
    struct cfut_blocking f1, f2;
    ck_assert_int_eq(
        cfut_blocking_init(&f1, p, job_fn, job_discard, &first, sizeof first),
        CFUT_OK);
    ck_assert_int_eq(
        cfut_blocking_init(&f2, p, job_fn, job_discard, &second, sizeof second),
        CFUT_OK);
    struct testkit_waker tw;
    struct cfut_waker w = testkit_waker_init(&tw);
    int st;
    ck_assert_int_eq(testkit_poll(&f1.base, &w, &st), CFUT_PENDING);
    gate_wait_inside(1); /* the only thread is busy with the first */
    ck_assert_int_eq(testkit_poll(&f2.base, &w, &st), CFUT_PENDING);

    cfut_future_drop(&f2.base);
    gate_set_open();
    while (testkit_poll(&f1.base, &w, &st) == CFUT_PENDING)
        usleep(1000);
    cfut_future_drop(&f1.base);
    cfut_blocking_pool_free(p); /* joins: anything queued would have run */

    ck_assert_int_eq(atomic_load(&n_ran), 1);
    ck_assert_int_eq(atomic_load(&n_discarded), 1); /* in the drop */
    ck_assert_int_eq(testkit_wakers_live(), 0);
}
END_TEST

START_TEST(test_blocking_a_dropped_running_job_is_discarded_on_its_thread)
{
    gate_reset();
    test_thread = pthread_self();
    atomic_store(&n_discarded_off_test_thread, 0);
    struct cfut_blocking_pool *p;
    ck_assert_int_eq(cfut_blocking_pool_new(NULL, &p), CFUT_OK);
    atomic_int n_ran = 0, n_discarded = 0;
    struct job in = {
        .gated = true, .n_ran = &n_ran, .n_discarded = &n_discarded};
    struct cfut_blocking f;
    ck_assert_int_eq(
        cfut_blocking_init(&f, p, job_fn, job_discard, &in, sizeof in),
        CFUT_OK);
    struct testkit_waker tw;
    struct cfut_waker w = testkit_waker_init(&tw);
    int st;
    ck_assert_int_eq(testkit_poll(&f.base, &w, &st), CFUT_PENDING);
    gate_wait_inside(1);

    cfut_future_drop(&f.base); /* while its function runs */
    ck_assert_int_eq(testkit_wakers_live(), 0);
    ck_assert_int_eq(atomic_load(&n_discarded), 0);
    gate_set_open();
    cfut_blocking_pool_free(p); /* waits for the running job */

    ck_assert_int_eq(atomic_load(&n_ran), 1);
    ck_assert_int_eq(atomic_load(&n_discarded), 1);
    ck_assert_int_eq(atomic_load(&n_discarded_off_test_thread), 1);
    ck_assert_int_eq(testkit_waker_n_wakes(&tw), 0);
}
END_TEST

START_TEST(test_blocking_a_result_not_seen_is_discarded_at_the_drop)
{
    struct cfut_blocking_pool *p;
    ck_assert_int_eq(cfut_blocking_pool_new(NULL, &p), CFUT_OK);
    atomic_int n_ran = 0, n_discarded = 0;
    struct job in = {.n_ran = &n_ran, .n_discarded = &n_discarded};
    struct cfut_blocking never_polled, done_unseen, seen;
    ck_assert_int_eq(cfut_blocking_init(&never_polled, p, job_fn, job_discard,
                                        &in, sizeof in),
                     CFUT_OK);
    ck_assert_int_eq(cfut_blocking_init(&done_unseen, p, job_fn, job_discard,
                                        &in, sizeof in),
                     CFUT_OK);
    ck_assert_int_eq(
        cfut_blocking_init(&seen, p, job_fn, job_discard, &in, sizeof in),
        CFUT_OK);
    struct testkit_waker tw;
    struct cfut_waker w = testkit_waker_init(&tw);
    int st;

    ck_assert_int_eq(testkit_poll(&done_unseen.base, &w, &st), CFUT_PENDING);
    while (atomic_load(&n_ran) < 1)
        usleep(1000);
    ck_assert_int_eq(testkit_poll(&seen.base, &w, &st), CFUT_PENDING);
    while (testkit_poll(&seen.base, &w, &st) == CFUT_PENDING)
        usleep(1000);
    cfut_future_drop(&never_polled.base);
    cfut_future_drop(&done_unseen.base);
    cfut_future_drop(&seen.base);

    ck_assert_int_eq(st, CFUT_OK);
    ck_assert_int_eq(atomic_load(&n_ran), 2);
    ck_assert_int_eq(atomic_load(&n_discarded), 2); /* not the one seen */
    cfut_blocking_pool_free(p);
    ck_assert_int_eq(testkit_wakers_live(), 0);
}
END_TEST

START_TEST(test_blocking_shutdown_cancels_the_queued_jobs)
{
    gate_reset();
    struct cfut_blocking_config cfg = {.max_threads = 1};
    struct cfut_blocking_pool *p;
    ck_assert_int_eq(cfut_blocking_pool_new(&cfg, &p), CFUT_OK);
    atomic_int n_ran = 0, n_discarded = 0;
    struct job gated = {.gated = true, .n_ran = &n_ran};
    struct job queued = {.n_ran = &n_ran, .n_discarded = &n_discarded};
    struct cfut_blocking f1, f2;
    ck_assert_int_eq(
        cfut_blocking_init(&f1, p, job_fn, job_discard, &gated, sizeof gated),
        CFUT_OK);
    ck_assert_int_eq(
        cfut_blocking_init(&f2, p, job_fn, job_discard, &queued, sizeof queued),
        CFUT_OK);
    struct testkit_waker tw1, tw2;
    struct cfut_waker w1 = testkit_waker_init(&tw1);
    struct cfut_waker w2 = testkit_waker_init(&tw2);
    int st1 = -1, st2 = -1;
    ck_assert_int_eq(testkit_poll(&f1.base, &w1, &st1), CFUT_PENDING);
    gate_wait_inside(1);
    ck_assert_int_eq(testkit_poll(&f2.base, &w2, &st2), CFUT_PENDING);

    pthread_t opener;
    ck_assert_int_eq(pthread_create(&opener, NULL, opener_main, NULL), 0);
    cfut_blocking_pool_free(p); /* cancels f2, waits for f1, joins */
    pthread_join(opener, NULL);

    ck_assert_int_eq(testkit_waker_n_wakes(&tw2), 1);
    ck_assert_int_eq(testkit_poll(&f2.base, &w2, &st2), CFUT_READY);
    ck_assert_int_eq(st2, CFUT_ECANCELED);
    ck_assert_int_eq(testkit_poll(&f1.base, &w1, &st1), CFUT_READY);
    ck_assert_int_eq(st1, CFUT_OK);
    cfut_future_drop(&f1.base);
    cfut_future_drop(&f2.base); /* the pool's memory goes with the last */
    ck_assert_int_eq(atomic_load(&n_ran), 1);
    ck_assert_int_eq(atomic_load(&n_discarded), 0); /* f2's status was seen */
}
END_TEST

START_TEST(test_blocking_a_job_on_a_freed_pool_is_cancelled)
{
    struct cfut_blocking_pool *p;
    ck_assert_int_eq(cfut_blocking_pool_new(NULL, &p), CFUT_OK);
    atomic_int n_ran = 0;
    struct job in = {.n_ran = &n_ran};
    struct cfut_blocking f;
    ck_assert_int_eq(cfut_blocking_init(&f, p, job_fn, NULL, &in, sizeof in),
                     CFUT_OK);

    cfut_blocking_pool_free(p);
    int st = -1;
    ck_assert_int_eq(testkit_poll(&f.base, testkit_waker_aborting(), &st),
                     CFUT_READY);
    cfut_future_drop(&f.base);

    ck_assert_int_eq(st, CFUT_ECANCELED);
    ck_assert_int_eq(atomic_load(&n_ran), 0);
}
END_TEST

/* ---- the default pool ---- */

START_TEST(test_blocking_the_default_pool_serves_and_shuts_down)
{
    /* A first block_on grows the executor's task pool: not ours. */
    uint64_t v = 1, got = 0;
    struct cfut_ready r;
    cfut_ready_init(&r, &v, sizeof v);
    ck_assert_int_eq(cfut_block_on(ex, &r.base, &got), CFUT_OK);
    long live = testkit_alloc_live();
    struct cfut_blocking_pool *d1, *d2;
    ck_assert_int_eq(cfut_blocking_pool_default(&d1), CFUT_OK);
    ck_assert_int_eq(cfut_blocking_pool_default(&d2), CFUT_OK);
    ck_assert_ptr_eq(d1, d2);
    struct job in = {.in = 4}, out;
    struct await_job a;
    await_job_init(&a, NULL, &in, &out); /* NULL: the default pool */
    int status;

    ck_assert_int_eq(cfut_block_on(ex, &a.base, &status), CFUT_OK);
    cfut_blocking_default_shutdown();

    ck_assert_int_eq(status, CFUT_OK);
    ck_assert_int_eq(out.out, 8);
    ck_assert_int_eq(testkit_alloc_live(), live); /* pool and job freed */
}
END_TEST

/* ---- allocation failure ---- */

START_TEST(test_blocking_every_allocation_can_fail_cleanly)
{
    for (long n = 1;; n++) {
        long live = testkit_alloc_live();
        testkit_alloc_fail_at(n);
        struct cfut_blocking_pool *p = NULL;
        int rc = cfut_blocking_pool_new(NULL, &p);
        struct cfut_blocking f;
        struct job in = {.in = 3};
        if (rc == CFUT_OK)
            rc = cfut_blocking_init(&f, p, job_fn, NULL, &in, sizeof in);
        int status = -1;
        /* Out here: the pool's thread may still be inside its wake of 'tw'
         * after the poll saw the result; cfut_blocking_pool_free() below
         * joins that thread. */
        struct testkit_waker tw;
        if (rc == CFUT_OK) {
            struct cfut_waker w = testkit_waker_init(&tw);
            while (testkit_poll(&f.base, &w, &status) == CFUT_PENDING)
                usleep(500);
            cfut_future_drop(&f.base);
        }
        cfut_blocking_pool_free(p);
        bool failed = testkit_alloc_failed();
        testkit_alloc_fail_at(0);

        ck_assert_int_eq(testkit_alloc_live(), live);
        ck_assert_int_eq(testkit_wakers_live(), 0);
        if (!failed) {
            ck_assert_int_eq(status, CFUT_OK);
            break;
        }
        ck_assert(rc == CFUT_ENOMEM || status == CFUT_ENOMEM);
    }
}
END_TEST

static Suite *
blocking_suite(void)
{
    Suite *s = suite_create("blocking");
    TCase *tc = tcase_create("results");
    testkit_executor_fixture(tc);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc,
                   test_blocking_a_job_completes_its_future_from_a_pool_thread);
    tcase_add_test(tc, test_blocking_a_parked_executor_wakes_when_the_job_ends);
    tcase_add_test(tc, test_blocking_threads_stay_within_the_maximum);
    tcase_add_test(tc, test_blocking_idle_threads_end_and_new_ones_start);
    tcase_add_test(tc, test_blocking_the_default_pool_serves_and_shuts_down);
    suite_add_tcase(s, tc);

    tc = tcase_create("cancellation");
    testkit_fixture(tc);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_blocking_a_dropped_queued_job_never_runs);
    tcase_add_test(
        tc, test_blocking_a_dropped_running_job_is_discarded_on_its_thread);
    tcase_add_test(tc,
                   test_blocking_a_result_not_seen_is_discarded_at_the_drop);
    tcase_add_test(tc, test_blocking_shutdown_cancels_the_queued_jobs);
    tcase_add_test(tc, test_blocking_a_job_on_a_freed_pool_is_cancelled);
    tcase_add_test(tc, test_blocking_every_allocation_can_fail_cleanly);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return testkit_run(blocking_suite());
}
