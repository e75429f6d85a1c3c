/*
 * test_driver.c: the driver interface (cfut_driver_int.h) is real: an
 * executor made with a driver of the test's own, with a fake clock and no
 * fds, runs tasks, timers and wakes from other threads. The driver comes
 * in both kinds the interface promises: blocking (its turn waits on a
 * condition variable and "sleeps" by moving its fake clock) and hosted
 * (it never blocks; the test plays the host's event loop, running the
 * executor when the driver asked for a run or its host timer is due).
 */
#define _GNU_SOURCE
#include "testkit.h"

#include <errno.h>
#include <pthread.h>
#include <unistd.h>

#include "cfut_driver_int.h"
#include "cfut_executor_int.h"

/* ---- the test driver ---- */

/* What the test driver records: guarded by its lock. */
struct state {
    bool unparked;          /* an unpark not yet taken in by a turn */
    bool blocked;           /* a blocking turn waits for an unpark now */
    bool caller_done;       /* the test's cfut_block_on() has returned */
    uint64_t now;           /* the fake clock, in ns */
    int n_turns;            /* every turn */
    int n_unparks;          /* every unpark */
    int n_waiting;          /* turns with a timeout other than 0 */
    int64_t last_wait;      /* the timeout of the last such turn */
    bool run_requested;     /* hosted: the host must run the executor */
    bool host_timer;        /* hosted: a host timer is armed ... */
    uint64_t host_timer_at; /* ... for this time */
};

struct test_driver {
    struct cfut__driver base;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct state s;
};

static struct test_driver *
of(struct cfut__driver *d)
{
    return cfut_container_of(d, struct test_driver, base);
}

/* Locks the driver and records a turn; the caller unlocks it. */
static struct test_driver *
begin_turn(struct cfut__driver *d, int64_t timeout_ns)
{
    struct test_driver *td = of(d);
    pthread_mutex_lock(&td->lock);
    td->s.n_turns++;
    if (timeout_ns != 0) {
        td->s.n_waiting++;
        td->s.last_wait = timeout_ns;
    }
    return td;
}

/*
 * Blocking: takes in an unpark if there is one; else a timeout of 0 just
 * looks, a finite one "sleeps" by moving the fake clock, and FOREVER
 * waits for an unpark.
 */
static int
blocking_turn(struct cfut__driver *d, int64_t timeout_ns)
{
    struct test_driver *td = begin_turn(d, timeout_ns);
    int n = 0;
    if (!td->s.unparked && timeout_ns > 0) {
        td->s.now += (uint64_t)timeout_ns;
    } else if (!td->s.unparked && timeout_ns == CFUT__DRIVER_FOREVER) {
        td->s.blocked = true;
        pthread_cond_broadcast(&td->cond);
        while (!td->s.unparked)
            pthread_cond_wait(&td->cond, &td->lock);
        td->s.blocked = false;
    }
    if (td->s.unparked) {
        td->s.unparked = false;
        n = 1;
    }
    pthread_mutex_unlock(&td->lock);
    return n;
}

/*
 * Hosted: never waits. A timeout other than 0 replaces the host timer
 * (FOREVER: none); an unpark already asked the host for a run.
 */
static int
hosted_turn(struct cfut__driver *d, int64_t timeout_ns)
{
    struct test_driver *td = begin_turn(d, timeout_ns);
    if (timeout_ns != 0) {
        td->s.host_timer = timeout_ns > 0;
        td->s.host_timer_at =
            td->s.now + (uint64_t)(timeout_ns > 0 ? timeout_ns : 0);
    }
    pthread_mutex_unlock(&td->lock);
    return 0;
}

static void
test_unpark(struct cfut__driver *d)
{
    struct test_driver *td = of(d);
    pthread_mutex_lock(&td->lock);
    td->s.n_unparks++;
    td->s.unparked = true;
    td->s.run_requested = true;
    pthread_cond_broadcast(&td->cond);
    pthread_mutex_unlock(&td->lock);
}

static uint64_t
test_now(struct cfut__driver *d)
{
    struct test_driver *td = of(d);
    pthread_mutex_lock(&td->lock);
    uint64_t now = td->s.now;
    pthread_mutex_unlock(&td->lock);
    return now;
}

static void
test_free(struct cfut__driver *d)
{
    struct test_driver *td = of(d);
    pthread_cond_destroy(&td->cond);
    pthread_mutex_destroy(&td->lock);
    cfut_free(td);
}

static const struct cfut__driver_vtable blocking_vtable = {
    .name = "test (blocking)",
    .hosted = false,
    .turn = blocking_turn,
    .unpark = test_unpark,
    .now = test_now,
    .fd_register = NULL, /* no fds */
    .fd_deregister = NULL,
    .free = test_free,
};

static const struct cfut__driver_vtable hosted_vtable = {
    .name = "test (hosted)",
    .hosted = true,
    .turn = hosted_turn,
    .unpark = test_unpark,
    .now = test_now,
    .fd_register = NULL,
    .fd_deregister = NULL,
    .free = test_free,
};

/* The driver of the test's executor (owned by it once it is made). */
static struct test_driver *drv;
static struct cfut_executor *tex;

/* Makes 'tex' on a new test driver of the kind 'hosted' says. */
static void
make_executor(bool hosted)
{
    struct test_driver *td = cfut_alloc(sizeof *td);
    ck_assert_ptr_nonnull(td);
    memset(td, 0, sizeof *td);
    cfut__driver_init(&td->base, hosted ? &hosted_vtable : &blocking_vtable);
    pthread_mutex_init(&td->lock, NULL);
    pthread_cond_init(&td->cond, NULL);
    td->s.now = CFUT_SEC(1000); /* any start: only differences matter */
    ck_assert_int_eq(cfut__executor_new_with_driver(&td->base, &tex), CFUT_OK);
    drv = td;
}

static void
free_executor(void)
{
    cfut_executor_free(tex);
    tex = NULL;
    drv = NULL;
}

/* Returns what the driver has recorded so far. */
static struct state
st(void)
{
    pthread_mutex_lock(&drv->lock);
    struct state v = drv->s;
    pthread_mutex_unlock(&drv->lock);
    return v;
}

/*
 * The host's event loop of a hosted driver: runs the executor while the
 * driver asked for a run, else fires the host timer (moving the fake
 * clock to it); stops when neither is pending. Returns how many runs.
 */
static int
host_loop(void)
{
    int runs = 0;
    for (int i = 0; i < 100; i++) {
        pthread_mutex_lock(&drv->lock);
        bool run = drv->s.run_requested;
        drv->s.run_requested = false;
        bool timer = !run && drv->s.host_timer;
        if (timer) {
            drv->s.host_timer = false;
            drv->s.now = drv->s.host_timer_at;
        }
        pthread_mutex_unlock(&drv->lock);
        if (!run && !timer)
            return runs;
        ck_assert_int_eq(cfut_executor_run_ready(tex), CFUT_OK);
        runs++;
    }
    ck_abort_msg("the host loop did not settle");
    return runs;
}

/* ---- a gate: a future that is READY once opened, from any thread ---- */

struct gate {
    pthread_mutex_t lock;
    bool open;
    struct cfut_waker waker; /* the waiting future's, until opened */
};

struct gate_future {
    struct cfut_future base;
    struct gate *g;
};

static enum cfut_poll
gate_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    (void)out;
    struct gate *g = cfut_container_of(f, struct gate_future, base)->g;
    pthread_mutex_lock(&g->lock);
    bool open = g->open;
    if (!open)
        cfut_waker_register(&g->waker, cx->waker);
    pthread_mutex_unlock(&g->lock);
    return open ? CFUT_READY : CFUT_PENDING;
}

static void
gate_drop(struct cfut_future *f)
{
    struct gate *g = cfut_container_of(f, struct gate_future, base)->g;
    pthread_mutex_lock(&g->lock);
    struct cfut_waker w = g->waker;
    g->waker = CFUT_WAKER_EMPTY;
    pthread_mutex_unlock(&g->lock);
    cfut_waker_drop(&w);
}

static const struct cfut_future_vtable gate_vtable = {gate_poll, gate_drop, 0,
                                                      "gate", NULL};

/* Initialises the closed gate 'g' and 'f', a future that waits on it. */
static void
gate_init(struct gate *g, struct gate_future *f)
{
    pthread_mutex_init(&g->lock, NULL);
    g->open = false;
    g->waker = CFUT_WAKER_EMPTY;
    cfut_future_init(&f->base, &gate_vtable);
    f->g = g;
}

/* Opens 'g' and wakes its future (from any thread). */
static void
gate_open(struct gate *g)
{
    pthread_mutex_lock(&g->lock);
    g->open = true;
    struct cfut_waker w = g->waker;
    g->waker = CFUT_WAKER_EMPTY;
    pthread_mutex_unlock(&g->lock);
    cfut_waker_wake(&w);
}

/* Tells whether 'g' holds a waker (its future waits on it). */
static bool
gate_has_waiter(struct gate *g)
{
    pthread_mutex_lock(&g->lock);
    bool has = g->waker.vtable != NULL;
    pthread_mutex_unlock(&g->lock);
    return has;
}

/* A thread that opens a gate once the blocking driver waits in a turn, or
 * ends if the test's block_on returns first (an allocation failure). */
static void *
open_when_blocked(void *arg)
{
    struct gate *g = arg;
    pthread_mutex_lock(&drv->lock);
    while (!drv->s.blocked && !drv->s.caller_done)
        pthread_cond_wait(&drv->cond, &drv->lock);
    bool blocked = drv->s.blocked;
    pthread_mutex_unlock(&drv->lock);
    if (blocked)
        gate_open(g);
    return NULL;
}

/* A thread that opens a gate at once. */
static void *
open_now(void *arg)
{
    gate_open(arg);
    return NULL;
}

/*
 * Runs a sleep of 'ns' on 'tex' with cfut_block_on() and returns how far
 * the executor's clock moved meanwhile.
 */
static uint64_t
block_on_sleep(uint64_t ns)
{
    uint64_t start = cfut_time_now(tex);
    struct cfut_sleep s;
    cfut_sleep_init(&s, ns);
    int status = -1;
    ck_assert_int_eq(cfut_block_on(tex, &s.base, &status), CFUT_OK);
    ck_assert_int_eq(status, CFUT_OK);
    return cfut_time_now(tex) - start;
}

/* ---- a blocking driver ---- */

START_TEST(test_driver_runs_tasks_on_a_driver_of_its_own)
{
    make_executor(false);
    struct testkit_countdown c[3];
    struct cfut_join_handle h[3];
    for (int i = 0; i < 3; i++) {
        /* 120 polls in all: the executor looks at its driver every 61 */
        testkit_countdown_init(&c[i], 40 + i, true, (uint64_t)(10 + i));
        ck_assert_int_eq(cfut_spawn(tex, &c[i].base, sizeof c[i], &h[i]),
                         CFUT_OK);
    }

    int rc = cfut_executor_run(tex);

    ck_assert_int_eq(rc, CFUT_OK);
    for (int i = 0; i < 3; i++) {
        CFUT_JOIN_OUTPUT(uint64_t) o;
        ck_assert_int_eq(testkit_poll(&h[i].base, cfut_waker_noop(), &o),
                         CFUT_READY);
        ck_assert_int_eq(o.status, CFUT_OK);
        ck_assert_uint_eq(o.value, (uint64_t)(10 + i));
        cfut_future_drop(&h[i].base);
    }
    ck_assert_int_gt(st().n_turns, 0);   /* the run looked at its driver */
    ck_assert_int_eq(st().n_waiting, 0); /* and never had to wait */
    free_executor();
}
END_TEST

START_TEST(test_driver_sleep_waits_in_one_turn_until_its_deadline)
{
    make_executor(false);

    uint64_t slept = block_on_sleep(CFUT_SEC(5));

    ck_assert_uint_eq(slept, CFUT_SEC(5));
    ck_assert_int_eq(st().n_waiting, 1);                    /* one wait ... */
    ck_assert_int_eq(st().last_wait, (int64_t)CFUT_SEC(5)); /* ... of 5 s */
    ck_assert_uint_eq(cfut_reactor_n_timers(tex), 0);
    free_executor();
}
END_TEST

START_TEST(test_driver_timeout_fires_on_the_fake_clock)
{
    make_executor(false);
    struct gate g;
    struct gate_future never;
    gate_init(&g, &never);
    struct cfut_timeout t;
    cfut_timeout_init(&t, &never.base, CFUT_MSEC(1500));
    int status = -1;

    int rc = cfut_block_on(tex, &t.base, &status);

    ck_assert_int_eq(rc, CFUT_OK);
    ck_assert_int_eq(status, CFUT_ETIMEDOUT);
    ck_assert_int_eq(st().last_wait, (int64_t)CFUT_MSEC(1500));
    ck_assert(!gate_has_waiter(&g)); /* the child was dropped */
    free_executor();
}
END_TEST

START_TEST(test_driver_paused_clock_never_waits_in_the_driver)
{
    make_executor(false);
    cfut_time_pause(tex);

    uint64_t slept = block_on_sleep(CFUT_SEC(60));

    ck_assert_uint_eq(slept, CFUT_SEC(60));
    ck_assert_int_eq(st().n_waiting, 0);         /* the park only looked */
    ck_assert_uint_eq(st().now, CFUT_SEC(1000)); /* the driver never slept */
    free_executor();
}
END_TEST

START_TEST(test_driver_wake_from_another_thread_ends_a_blocked_turn)
{
    make_executor(false);
    struct gate g;
    struct gate_future f;
    gate_init(&g, &f);
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, open_when_blocked, &g), 0);

    int rc = cfut_block_on(tex, &f.base, NULL);
    pthread_mutex_lock(&drv->lock);
    drv->s.caller_done = true; /* the thread must not wait for a turn */
    pthread_cond_broadcast(&drv->cond);
    pthread_mutex_unlock(&drv->lock);

    pthread_join(th, NULL);
    ck_assert_int_eq(rc, CFUT_OK);
    ck_assert_int_ge(st().n_unparks, 1);
    ck_assert_int_eq(st().last_wait, CFUT__DRIVER_FOREVER);
    free_executor();
}
END_TEST

START_TEST(test_driver_without_fds_refuses_a_registration)
{
    make_executor(false);
    int fds[2];
    ck_assert_int_eq(cfut_socketpair(fds), CFUT_OK);
    struct cfut_io *io = NULL;

    int rc = cfut_io_new(tex, fds[0], &io);

    ck_assert_int_eq(rc, -ENOTSUP);
    ck_assert_ptr_null(io);
    ck_assert_uint_eq(cfut_reactor_n_registrations(tex), 0);
    close(fds[0]); /* still the caller's */
    close(fds[1]);
    free_executor();
}
END_TEST

/* ---- a hosted driver ---- */

START_TEST(test_driver_hosted_spawn_asks_the_host_for_a_run)
{
    make_executor(true);
    struct testkit_countdown c;
    testkit_countdown_init(&c, 1, true, 7);
    struct cfut_join_handle h;

    ck_assert_int_eq(cfut_spawn(tex, &c.base, sizeof c, &h), CFUT_OK);

    ck_assert_int_eq(st().n_unparks, 1);
    ck_assert_int_ge(host_loop(), 1);
    ck_assert(cfut_join_handle_is_finished(&h));
    cfut_join_handle_detach(&h);
    free_executor();
}
END_TEST

START_TEST(test_driver_hosted_timer_becomes_one_host_timeout)
{
    make_executor(true);
    struct cfut_sleep s;
    cfut_sleep_init(&s, CFUT_SEC(2));
    struct cfut_join_handle h;
    ck_assert_int_eq(cfut_spawn(tex, &s.base, sizeof s, &h), CFUT_OK);

    ck_assert_int_eq(cfut_executor_run_ready(tex), CFUT_OK);

    ck_assert(!cfut_join_handle_is_finished(&h));
    ck_assert(st().host_timer);
    ck_assert_int_eq(st().last_wait, (int64_t)CFUT_SEC(2));
    ck_assert_int_eq(host_loop(), 2); /* the spawn's run, then the timer's */
    ck_assert(cfut_join_handle_is_finished(&h));
    ck_assert(!st().host_timer); /* no timer left: none asked for */
    cfut_join_handle_detach(&h);
    free_executor();
}
END_TEST

/*
 * With the task of 'h' pending and the hosted executor waiting for its
 * host, calls 'wake'('arg') and checks that this asked the host for one
 * run, which finishes the task. Detaches 'h'.
 */
static void
check_wake_asks_for_a_run(struct cfut_join_handle *h, void (*wake)(void *),
                          void *arg)
{
    host_loop();
    ck_assert(!cfut_join_handle_is_finished(h));
    int before = st().n_unparks;

    wake(arg);

    ck_assert_int_eq(st().n_unparks, before + 1);
    ck_assert_int_eq(host_loop(), 1);
    ck_assert(cfut_join_handle_is_finished(h));
    cfut_join_handle_detach(h);
}

/* Wakes the countdown 'arg' on this thread. */
static void
wake_here(void *arg)
{
    testkit_countdown_wake(arg);
}

/* Opens the gate 'arg' from another thread. */
static void
open_elsewhere(void *arg)
{
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, open_now, arg), 0);
    pthread_join(th, NULL);
}

START_TEST(test_driver_hosted_wake_outside_a_run_asks_for_a_run)
{
    make_executor(true);
    struct testkit_countdown c;
    testkit_countdown_init(&c, 1, false, 3); /* keeps its waker */
    struct cfut_join_handle h;
    ck_assert_int_eq(cfut_spawn(tex, &c.base, sizeof c, &h), CFUT_OK);
    struct testkit_countdown *in_task =
        cfut_container_of(h.task->fut, struct testkit_countdown, base);

    check_wake_asks_for_a_run(&h, wake_here, in_task);

    free_executor();
}
END_TEST

START_TEST(test_driver_hosted_wake_from_another_thread_asks_for_a_run)
{
    make_executor(true);
    struct gate g;
    struct gate_future f;
    gate_init(&g, &f);
    struct cfut_join_handle h;
    ck_assert_int_eq(cfut_spawn(tex, &f.base, sizeof f, &h), CFUT_OK);

    check_wake_asks_for_a_run(&h, open_elsewhere, &g);

    free_executor();
}
END_TEST

START_TEST(test_driver_hosted_block_on_that_must_wait_is_eagain)
{
    make_executor(true);
    struct gate g;
    struct gate_future f;
    gate_init(&g, &f);

    int rc = cfut_block_on(tex, &f.base, NULL);

    ck_assert_int_eq(rc, CFUT_EAGAIN);
    ck_assert(!gate_has_waiter(&g)); /* block_on dropped it */
    free_executor();
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("driver");
    TCase *tc = tcase_create("blocking driver");
    testkit_fixture(tc);
    tcase_add_test(tc, test_driver_runs_tasks_on_a_driver_of_its_own);
    tcase_add_test(tc, test_driver_sleep_waits_in_one_turn_until_its_deadline);
    tcase_add_test(tc, test_driver_timeout_fires_on_the_fake_clock);
    tcase_add_test(tc, test_driver_paused_clock_never_waits_in_the_driver);
    tcase_add_test(tc,
                   test_driver_wake_from_another_thread_ends_a_blocked_turn);
    tcase_add_test(tc, test_driver_without_fds_refuses_a_registration);
    suite_add_tcase(s, tc);

    tc = tcase_create("hosted driver");
    testkit_fixture(tc);
    tcase_add_test(tc, test_driver_hosted_spawn_asks_the_host_for_a_run);
    tcase_add_test(tc, test_driver_hosted_timer_becomes_one_host_timeout);
    tcase_add_test(tc, test_driver_hosted_wake_outside_a_run_asks_for_a_run);
    tcase_add_test(tc,
                   test_driver_hosted_wake_from_another_thread_asks_for_a_run);
    tcase_add_test(tc, test_driver_hosted_block_on_that_must_wait_is_eagain);
    suite_add_tcase(s, tc);
    return testkit_run(s);
}
