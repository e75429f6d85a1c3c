/*
 * test_pool.c: the multi-threaded executor (cfut_pool.h): spawning from
 * outside threads and from tasks, join handles awaited on every kind of
 * executor, wake storms, cancel racing completion and wakes, shutdown with
 * tasks idle, running and being woken, migration between workers, the
 * cooperative budget, allocation failures, and that every task, waker and
 * allocation is gone at teardown. The scenarios are plain functions, so
 * that './test_pool stress FROM TO' runs them again under seeded schedule
 * perturbation (CFUT_SCHED_SEED), one seed after another.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "testkit.h"

/* Scales the big loops down under valgrind (CFUT_TEST_SMALL or preload). */
static long
scaled(long n)
{
    const char *small = getenv("CFUT_TEST_SMALL");
    const char *pre = getenv("LD_PRELOAD");
    if ((small != NULL && *small == '1') ||
        (pre != NULL && strstr(pre, "vgpreload") != NULL))
        return n / 100 > 0 ? n / 100 : 1;
    return n;
}

/* REQUIRE: a check that works on any thread (testkit.h). */
#define REQUIRE(cond) TESTKIT_REQUIRE(cond)

static struct cfut_pool *
new_pool(unsigned n)
{
    struct cfut_pool_config cfg = {.n_workers = n};
    struct cfut_pool *p = NULL;
    REQUIRE(cfut_pool_new(&cfg, &p) == CFUT_OK);
    return p;
}

/* Sleeps about 'us' microseconds. */
static void
nap(long us)
{
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
    nanosleep(&ts, NULL);
}

/* Waits (napping) until '*v' reaches 'want'; fails after about 60 s. */
static void
wait_for(atomic_long *v, long want)
{
    for (long i = 0; atomic_load(v) < want; i++) {
        testkit_require_no_failure();
        REQUIRE(i < 600000);
        nap(100);
    }
}

/* ---------------------------------------------------------------------- */
/* Test futures                                                            */
/* ---------------------------------------------------------------------- */

/*
 * A tiny task: counts itself in '*done' and is READY with 'value';
 * when 'child_on' is set, it first spawns one more (childless) tiny task
 * there, from inside the pool.
 */
struct tiny {
    struct cfut_future base;
    atomic_long *done;
    atomic_long *drops;
    struct cfut_pool *child_on;
    uint64_t value;
};

static const struct cfut_future_vtable tiny_vtable;

static void
tiny_init(struct tiny *t, atomic_long *done, atomic_long *drops,
          struct cfut_pool *child_on, uint64_t value)
{
    cfut_future_init(&t->base, &tiny_vtable);
    t->done = done;
    t->drops = drops;
    t->child_on = child_on;
    t->value = value;
}

static enum cfut_poll
tiny_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    (void)cx;
    struct tiny *t = cfut_container_of(f, struct tiny, base);
    if (t->child_on != NULL) {
        struct tiny c;
        tiny_init(&c, t->done, t->drops, NULL, t->value + 1);
        REQUIRE(cfut_pool_spawn(t->child_on, &c.base, sizeof c, NULL) ==
                CFUT_OK);
    }
    atomic_fetch_add(t->done, 1);
    *(uint64_t *)out = t->value;
    return CFUT_READY;
}

static void
tiny_drop(struct cfut_future *f)
{
    struct tiny *t = cfut_container_of(f, struct tiny, base);
    if (t->drops != NULL)
        atomic_fetch_add(t->drops, 1);
}

static const struct cfut_future_vtable tiny_vtable = {
    tiny_poll, tiny_drop, sizeof(uint64_t), "tiny", NULL};

/*
 * A task that waits to be woken 'need' times through a cell the test's
 * threads wake: each poll counts, checks that no other thread polls it at
 * once, stores its waker in the cell, and (when 'linger') spins a little
 * after that so that wakes land while it runs. READY with 'value' when
 * 'need' polls have happened. Drops are counted.
 */
struct cell {
    pthread_mutex_t lock;
    struct cfut_waker waker; /* guarded by 'lock' */
    atomic_int in_poll;
    atomic_long n_polls;
    atomic_long drops;
    atomic_bool done;
    atomic_int last_worker;
    atomic_int n_migrations;
};

struct waiter {
    struct cfut_future base;
    struct cell *c;
    long need;
    bool linger;
    uint64_t value;
};

static enum cfut_poll
waiter_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct waiter *w = cfut_container_of(f, struct waiter, base);
    struct cell *c = w->c;
    REQUIRE(atomic_exchange(&c->in_poll, 1) == 0);
    int idx = cfut_pool_worker_index();
    int last = atomic_exchange(&c->last_worker, idx);
    if (last >= 0 && last != idx)
        atomic_fetch_add(&c->n_migrations, 1);
    long n = atomic_fetch_add(&c->n_polls, 1) + 1;
    if (n >= w->need) {
        atomic_store(&c->done, true);
        atomic_store(&c->in_poll, 0);
        *(uint64_t *)out = w->value;
        return CFUT_READY;
    }
    pthread_mutex_lock(&c->lock);
    cfut_waker_register(&c->waker, cx->waker);
    pthread_mutex_unlock(&c->lock);
    if (w->linger)
        for (volatile int i = 0; i < 200; i++) {
        }
    atomic_store(&c->in_poll, 0);
    return CFUT_PENDING;
}

static void
waiter_drop(struct cfut_future *f)
{
    struct waiter *w = cfut_container_of(f, struct waiter, base);
    atomic_fetch_add(&w->c->drops, 1);
}

static const struct cfut_future_vtable waiter_vtable = {
    waiter_poll, waiter_drop, sizeof(uint64_t), "waiter", NULL};

static void
cell_init(struct cell *c)
{
    pthread_mutex_init(&c->lock, NULL);
    c->waker = CFUT_WAKER_EMPTY;
    atomic_init(&c->in_poll, 0);
    atomic_init(&c->n_polls, 0);
    atomic_init(&c->drops, 0);
    atomic_init(&c->done, false);
    atomic_init(&c->last_worker, -1);
    atomic_init(&c->n_migrations, 0);
}

/* Drops the waker the cell keeps and destroys its lock. */
static void
cell_deinit(struct cell *c)
{
    pthread_mutex_lock(&c->lock);
    cfut_waker_drop(&c->waker);
    pthread_mutex_unlock(&c->lock);
    pthread_mutex_destroy(&c->lock);
}

/* Wakes the waker in 'c': by reference, or a clone consumed. */
static void
cell_wake(struct cell *c, bool by_ref)
{
    pthread_mutex_lock(&c->lock);
    struct cfut_waker w =
        by_ref ? CFUT_WAKER_EMPTY : cfut_waker_clone(&c->waker);
    if (by_ref)
        cfut_waker_wake_by_ref(&c->waker);
    pthread_mutex_unlock(&c->lock);
    cfut_waker_wake(&w);
}

static void
waiter_spawn(struct cfut_pool *p, struct cell *c, long need, bool linger,
             uint64_t value, struct cfut_pool_handle *h)
{
    struct waiter w;
    cfut_future_init(&w.base, &waiter_vtable);
    w.c = c;
    w.need = need;
    w.linger = linger;
    w.value = value;
    REQUIRE(cfut_pool_spawn(p, &w.base, sizeof w, h) == CFUT_OK);
}

/* Polls 'h' by hand (noop waker) and returns its status, or 1: pending. */
static int
handle_try(struct cfut_pool_handle *h, uint64_t *value)
{
    CFUT_JOIN_OUTPUT(uint64_t) out;
    if (testkit_poll(&h->base, cfut_waker_noop(), &out) == CFUT_PENDING)
        return 1;
    if (value != NULL && out.status == CFUT_OK)
        *value = out.value;
    return out.status;
}

/* ---------------------------------------------------------------------- */
/* Scenarios (shared with the stress mode)                                 */
/* ---------------------------------------------------------------------- */

struct spawner_arg {
    struct cfut_pool *p;
    long n;
    atomic_long *done;
    bool with_child;
};

static void *
spawner_main(void *arg)
{
    struct spawner_arg *a = arg;
    for (long i = 0; i < a->n; i++) {
        struct tiny t;
        tiny_init(&t, a->done, NULL, a->with_child ? a->p : NULL, (uint64_t)i);
        REQUIRE(cfut_pool_spawn(a->p, &t.base, sizeof t, NULL) == CFUT_OK);
    }
    return NULL;
}

/*
 * 4 outside threads spawn 'n_per_thread' parents each; each parent
 * spawns a child from inside the pool: 8 * n_per_thread tasks in all.
 */
static void
scenario_many(unsigned n_workers, long n_per_thread)
{
    struct cfut_pool *p = new_pool(n_workers);
    atomic_long done = 0;
    pthread_t th[4];
    struct spawner_arg a = {p, n_per_thread, &done, true};
    for (int i = 0; i < 4; i++)
        REQUIRE(pthread_create(&th[i], NULL, spawner_main, &a) == 0);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    wait_for(&done, 8 * n_per_thread);
    REQUIRE(atomic_load(&done) == 8 * n_per_thread);
    cfut_pool_free(p);
}

struct storm_arg {
    struct cell *cells;
    int n_cells;
    atomic_bool *stop;
    bool by_ref;
};

static void *
storm_main(void *arg)
{
    struct storm_arg *a = arg;
    while (!atomic_load(a->stop))
        for (int i = 0; i < a->n_cells; i++)
            cell_wake(&a->cells[i], a->by_ref);
    return NULL;
}

/*
 * 'n_cells' tasks, each needing 'need' polls, woken over and over by 3
 * threads at once (while they run, too); every task finishes with its
 * value, was never polled by two threads at once, and is dropped once.
 */
static void
scenario_storm(unsigned n_workers, int n_cells, long need)
{
    struct cfut_pool *p = new_pool(n_workers);
    struct cell *cells = calloc((size_t)n_cells, sizeof *cells);
    struct cfut_pool_handle *hs = calloc((size_t)n_cells, sizeof *hs);
    REQUIRE(cells != NULL && hs != NULL);
    for (int i = 0; i < n_cells; i++) {
        cell_init(&cells[i]);
        waiter_spawn(p, &cells[i], need, true, (uint64_t)i * 7, &hs[i]);
    }
    atomic_bool stop = false;
    pthread_t th[3];
    struct storm_arg a[3];
    for (int i = 0; i < 3; i++) {
        a[i] = (struct storm_arg){cells, n_cells, &stop, i != 1};
        REQUIRE(pthread_create(&th[i], NULL, storm_main, &a[i]) == 0);
    }
    for (int i = 0; i < n_cells; i++) {
        uint64_t v = 0;
        CFUT_JOIN_OUTPUT(uint64_t) out;
        testkit_pool_sweep_wait(&hs[i]);
        REQUIRE(cfut_pool_block_on(p, &hs[i].base, &out) == CFUT_OK);
        REQUIRE(out.status == CFUT_OK);
        v = out.value;
        REQUIRE(v == (uint64_t)i * 7);
        REQUIRE(atomic_load(&cells[i].n_polls) == need);
    }
    atomic_store(&stop, true);
    for (int i = 0; i < 3; i++)
        pthread_join(th[i], NULL);
    cfut_pool_free(p);
    for (int i = 0; i < n_cells; i++) {
        REQUIRE(atomic_load(&cells[i].drops) == 1);
        cell_deinit(&cells[i]);
    }
    free(cells);
    free(hs);
}

struct cancel_arg {
    struct cfut_pool_handle *hs;
    int n;
};

static void *
cancel_main(void *arg)
{
    struct cancel_arg *a = arg;
    for (int i = a->n - 1; i >= 0; i--)
        cfut_pool_handle_cancel(&a->hs[i]);
    return NULL;
}

/*
 * Tasks that finish after a few wakes, woken by one thread and cancelled
 * by another at the same time: each handle gives CFUT_OK with the value
 * or CFUT_ECANCELED, and each future is dropped exactly once.
 */
static void
scenario_cancel(unsigned n_workers, int n)
{
    struct cfut_pool *p = new_pool(n_workers);
    struct cell *cells = calloc((size_t)n, sizeof *cells);
    struct cfut_pool_handle *hs = calloc((size_t)n, sizeof *hs);
    REQUIRE(cells != NULL && hs != NULL);
    for (int i = 0; i < n; i++) {
        cell_init(&cells[i]);
        waiter_spawn(p, &cells[i], 3, false, (uint64_t)i, &hs[i]);
    }
    atomic_bool stop = false;
    struct storm_arg sa = {cells, n, &stop, true};
    struct cancel_arg ca = {hs, n};
    pthread_t waker, canceller;
    REQUIRE(pthread_create(&waker, NULL, storm_main, &sa) == 0);
    REQUIRE(pthread_create(&canceller, NULL, cancel_main, &ca) == 0);
    pthread_join(canceller, NULL);
    int n_ok = 0, n_cancelled = 0;
    for (int i = 0; i < n; i++) {
        CFUT_JOIN_OUTPUT(uint64_t) out;
        testkit_pool_sweep_wait(&hs[i]);
        REQUIRE(cfut_pool_block_on(p, &hs[i].base, &out) == CFUT_OK);
        if (out.status == CFUT_OK) {
            REQUIRE(out.value == (uint64_t)i);
            n_ok++;
        } else {
            REQUIRE(out.status == CFUT_ECANCELED);
            n_cancelled++;
        }
    }
    REQUIRE(n_ok + n_cancelled == n);
    atomic_store(&stop, true);
    pthread_join(waker, NULL);
    for (int i = 0; i < n; i++)
        REQUIRE(atomic_load(&cells[i].drops) == 1);
    REQUIRE(cfut_pool_n_tasks(p) == 0);
    cfut_pool_free(p);
    for (int i = 0; i < n; i++)
        cell_deinit(&cells[i]);
    free(cells);
    free(hs);
}

/* A task that spins in its poll until 'release' is set (or 'max_us'). */
struct hog {
    struct cfut_future base;
    atomic_bool *running;
    atomic_bool *release;
    atomic_long *drops;
    long max_us;
};

static enum cfut_poll
hog_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    (void)cx;
    (void)out;
    struct hog *h = cfut_container_of(f, struct hog, base);
    atomic_store(h->running, true);
    for (long i = 0; !atomic_load(h->release) && i < h->max_us / 10; i++)
        nap(10);
    return CFUT_READY;
}

static void
hog_drop(struct cfut_future *f)
{
    struct hog *h = cfut_container_of(f, struct hog, base);
    if (h->drops != NULL)
        atomic_fetch_add(h->drops, 1);
}

static const struct cfut_future_vtable hog_vtable = {hog_poll, hog_drop, 0,
                                                     "hog", NULL};

/*
 * Shutdown with tasks idle (nobody will wake them), queued, running (a
 * hog in its poll) and being woken by another thread right then: every
 * future is dropped exactly once, every handle resolves to CFUT_ECANCELED
 * or CFUT_OK, and nothing is left.
 */
static void
scenario_shutdown(unsigned n_workers, int n)
{
    struct cfut_pool *p = new_pool(n_workers);
    struct cell *cells = calloc((size_t)n, sizeof *cells);
    struct cfut_pool_handle *hs = calloc((size_t)n, sizeof *hs);
    REQUIRE(cells != NULL && hs != NULL);
    for (int i = 0; i < n; i++) {
        cell_init(&cells[i]);
        waiter_spawn(p, &cells[i], 1000000, false, 0, &hs[i]);
    }
    atomic_bool running = false, release = false;
    atomic_long hog_drops = 0;
    struct hog hg;
    cfut_future_init(&hg.base, &hog_vtable);
    hg.running = &running;
    hg.release = &release;
    hg.drops = &hog_drops;
    hg.max_us = 2000;
    struct cfut_pool_handle hh;
    REQUIRE(cfut_pool_spawn(p, &hg.base, sizeof hg, &hh) == CFUT_OK);
    atomic_bool stop = false;
    struct storm_arg sa = {cells, n / 2, &stop, false};
    pthread_t waker;
    REQUIRE(pthread_create(&waker, NULL, storm_main, &sa) == 0);
    cfut_pool_free(p);
    atomic_store(&stop, true);
    pthread_join(waker, NULL);
    for (int i = 0; i < n; i++) {
        REQUIRE(atomic_load(&cells[i].drops) == 1);
        REQUIRE(cfut_pool_handle_is_finished(&hs[i]));
        REQUIRE(handle_try(&hs[i], NULL) == CFUT_ECANCELED);
        cfut_pool_handle_detach(&hs[i]);
        cell_deinit(&cells[i]);
    }
    REQUIRE(atomic_load(&hog_drops) == 1);
    int st = handle_try(&hh, NULL);
    REQUIRE(st == CFUT_OK || st == CFUT_ECANCELED);
    cfut_future_drop(&hh.base);
    free(cells);
    free(hs);
}

/* ---------------------------------------------------------------------- */
/* Check tests                                                             */
/* ---------------------------------------------------------------------- */

START_TEST(test_pool_spawn_and_block_on_handle)
{
    struct cfut_pool *p = new_pool(2);
    atomic_long done = 0;
    struct tiny t;
    tiny_init(&t, &done, NULL, NULL, 42);
    struct cfut_pool_handle h;

    ck_assert_int_eq(cfut_pool_spawn(p, &t.base, sizeof t, &h), CFUT_OK);
    CFUT_JOIN_OUTPUT(uint64_t) out;
    testkit_pool_sweep_wait(&h);
    int rc = cfut_pool_block_on(p, &h.base, &out);

    ck_assert_int_eq(rc, CFUT_OK);
    ck_assert_int_eq(out.status, CFUT_OK);
    ck_assert_uint_eq(out.value, 42);
    ck_assert_int_eq(cfut_pool_n_tasks(p), 0);
    cfut_pool_free(p);
}
END_TEST

START_TEST(test_pool_million_tasks_from_threads_and_tasks)
{
    scenario_many(0, scaled(125000));
}
END_TEST

START_TEST(test_pool_one_worker_runs_everything)
{
    scenario_many(1, scaled(2000));
}
END_TEST

START_TEST(test_pool_wake_storm_polls_each_task_alone)
{
    scenario_storm(2, 16, scaled(2000));
}
END_TEST

START_TEST(test_pool_cancel_races_completion_and_wake)
{
    scenario_cancel(2, (int)scaled(2000));
}
END_TEST

START_TEST(test_pool_shutdown_drops_every_future_once)
{
    scenario_shutdown(2, 200);
}
END_TEST

START_TEST(test_pool_handle_awaited_on_a_single_threaded_executor)
{
    struct cfut_pool *p = new_pool(2);
    struct cell c;
    cell_init(&c);
    struct cfut_pool_handle h;
    waiter_spawn(p, &c, 2, false, 99, &h);
    wait_for(&c.n_polls, 1);
    cell_wake(&c, false);
    CFUT_JOIN_OUTPUT(uint64_t) out;

    testkit_pool_sweep_wait(&h);
    int rc = cfut_block_on(testkit_ex, &h.base, &out);

    ck_assert_int_eq(rc, CFUT_OK);
    ck_assert_int_eq(out.status, CFUT_OK);
    ck_assert_uint_eq(out.value, 99);
    cfut_pool_free(p);
    ck_assert_int_eq(atomic_load(&c.drops), 1);
    cell_deinit(&c);
}
END_TEST

/* A task of pool A that awaits the handle of a task of pool B. */
struct relay {
    struct cfut_future base;
    struct cfut_pool_handle h;
};

static enum cfut_poll
relay_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct relay *r = cfut_container_of(f, struct relay, base);
    CFUT_JOIN_OUTPUT(uint64_t) o;
    if (cfut_future_poll(&r->h.base, cx, &o) == CFUT_PENDING)
        return CFUT_PENDING;
    REQUIRE(o.status == CFUT_OK);
    *(uint64_t *)out = o.value + 1;
    return CFUT_READY;
}

static void
relay_drop(struct cfut_future *f)
{
    struct relay *r = cfut_container_of(f, struct relay, base);
    cfut_future_drop(&r->h.base);
}

static const struct cfut_future_vtable relay_vtable = {
    relay_poll, relay_drop, sizeof(uint64_t), "relay", NULL};

START_TEST(test_pool_handle_awaited_on_another_pool)
{
    struct cfut_pool *a = new_pool(1), *b = new_pool(2);
    struct cell c;
    cell_init(&c);
    struct relay r;
    cfut_future_init(&r.base, &relay_vtable);
    waiter_spawn(b, &c, 2, false, 10, &r.h);
    struct cfut_pool_handle h;
    ck_assert_int_eq(cfut_pool_spawn(a, &r.base, sizeof r, &h), CFUT_OK);
    wait_for(&c.n_polls, 1);

    cell_wake(&c, true);
    CFUT_JOIN_OUTPUT(uint64_t) out;
    testkit_pool_sweep_wait(&h);
    ck_assert_int_eq(cfut_pool_block_on(b, &h.base, &out), CFUT_OK);

    ck_assert_int_eq(out.status, CFUT_OK);
    ck_assert_uint_eq(out.value, 11);
    cfut_pool_free(a);
    cfut_pool_free(b);
    cell_deinit(&c);
}
END_TEST

/*
 * A task that migrates: on each poll on worker X it spawns a hog from
 * inside (X's LIFO slot, so X runs the hog next and is stuck in it), then
 * yields; the other worker must steal the task and poll it there.
 */
struct migrant {
    struct cfut_future base;
    atomic_bool *hog_running;
    atomic_bool *hog_release; /* one flag per hog */
    int n_moves;
    int last;
    atomic_long *drops;
};

static enum cfut_poll
migrant_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct migrant *m = cfut_container_of(f, struct migrant, base);
    int idx = cfut_pool_worker_index();
    if (m->last >= 0) {
        REQUIRE(idx != m->last); /* the hog holds the other worker */
        atomic_store(&m->hog_release[m->n_moves], true);
        m->n_moves++;
    }
    m->last = idx;
    if (m->n_moves == 6) {
        *(uint64_t *)out = 600 + (uint64_t)m->n_moves;
        return CFUT_READY;
    }
    struct hog h;
    cfut_future_init(&h.base, &hog_vtable);
    h.running = m->hog_running;
    h.release = &m->hog_release[m->n_moves];
    h.drops = NULL;
    h.max_us = 20000000;
    REQUIRE(cfut_pool_spawn(cfut_pool_current(), &h.base, sizeof h, NULL) ==
            CFUT_OK);
    cfut_waker_wake_by_ref(cx->waker);
    return CFUT_PENDING;
}

static void
migrant_drop(struct cfut_future *f)
{
    struct migrant *m = cfut_container_of(f, struct migrant, base);
    atomic_fetch_add(m->drops, 1);
}

static const struct cfut_future_vtable migrant_vtable = {
    migrant_poll, migrant_drop, sizeof(uint64_t), "migrant", NULL};

START_TEST(test_pool_migrating_task_keeps_output_and_drops_once)
{
    struct cfut_pool *p = new_pool(2);
    atomic_bool running = false, release[8] = {0};
    atomic_long drops = 0;
    struct migrant m;
    cfut_future_init(&m.base, &migrant_vtable);
    m.hog_running = &running;
    m.hog_release = release;
    m.n_moves = 0;
    m.last = -1;
    m.drops = &drops;
    struct cfut_pool_handle h;
    ck_assert_int_eq(cfut_pool_spawn(p, &m.base, sizeof m, &h), CFUT_OK);

    CFUT_JOIN_OUTPUT(uint64_t) out;
    testkit_pool_sweep_wait(&h);
    ck_assert_int_eq(cfut_pool_block_on(p, &h.base, &out), CFUT_OK);

    ck_assert_int_eq(out.status, CFUT_OK);
    ck_assert_uint_eq(out.value, 606);
    ck_assert_int_eq(atomic_load(&drops), 1);
    struct cfut_pool_stats st;
    cfut_pool_stats(p, &st);
    ck_assert_uint_ge(st.n_steals, 6);
    cfut_pool_free(p);
}
END_TEST

/*
 * A busy task: leaf work that is always ready, bounded only by the
 * budget; it ends when 'flag' is set by another task.
 */
struct busy {
    struct cfut_future base;
    atomic_bool *flag;
    long n_polls;
};

static enum cfut_poll
busy_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct busy *b = cfut_container_of(f, struct busy, base);
    b->n_polls++;
    while (!atomic_load(b->flag)) {
        if (!cfut_context_consume_budget(cx))
            return CFUT_PENDING; /* it woke itself: it yields */
    }
    *(uint64_t *)out = (uint64_t)b->n_polls;
    return CFUT_READY;
}

static const struct cfut_future_vtable busy_vtable = {
    busy_poll, NULL, sizeof(uint64_t), "busy", NULL};

struct setter {
    struct cfut_future base;
    atomic_bool *flag;
};

static enum cfut_poll
setter_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    (void)cx;
    (void)out;
    struct setter *s = cfut_container_of(f, struct setter, base);
    atomic_store(s->flag, true);
    return CFUT_READY;
}

static const struct cfut_future_vtable setter_vtable = {setter_poll, NULL, 0,
                                                        "setter", NULL};

START_TEST(test_pool_budget_lets_others_run_beside_a_busy_task)
{
    struct cfut_pool *p = new_pool(1);
    atomic_bool flag = false;
    struct busy b;
    cfut_future_init(&b.base, &busy_vtable);
    b.flag = &flag;
    b.n_polls = 0;
    struct cfut_pool_handle hb;
    ck_assert_int_eq(cfut_pool_spawn(p, &b.base, sizeof b, &hb), CFUT_OK);
    struct setter s;
    cfut_future_init(&s.base, &setter_vtable);
    s.flag = &flag;

    ck_assert_int_eq(cfut_pool_spawn(p, &s.base, sizeof s, NULL), CFUT_OK);
    CFUT_JOIN_OUTPUT(uint64_t) out;
    testkit_pool_sweep_wait(&hb);
    ck_assert_int_eq(cfut_pool_block_on(p, &hb.base, &out), CFUT_OK);

    ck_assert_int_eq(out.status, CFUT_OK);
    ck_assert_uint_ge(out.value, 1);
    cfut_pool_free(p);
}
END_TEST

START_TEST(test_pool_cancel_idle_task_drops_it_on_a_worker)
{
    struct cfut_pool *p = new_pool(2);
    struct cell c;
    cell_init(&c);
    struct cfut_pool_handle h;
    waiter_spawn(p, &c, 1000, false, 0, &h);
    wait_for(&c.n_polls, 1);

    cfut_pool_handle_cancel(&h);
    cfut_pool_handle_cancel(&h); /* twice is harmless */
    struct cfut_join_status st;
    testkit_pool_sweep_wait(&h);
    ck_assert_int_eq(cfut_pool_block_on(p, &h.base, &st), CFUT_OK);

    ck_assert_int_eq(st.status, CFUT_ECANCELED);
    ck_assert_int_eq(atomic_load(&c.drops), 1);
    cfut_pool_free(p);
    cell_deinit(&c);
}
END_TEST

START_TEST(test_pool_spawn_rejects_bad_arguments)
{
    struct cfut_pool *p = new_pool(1);
    struct tiny t;
    tiny_init(&t, NULL, NULL, NULL, 0);

    ck_assert_int_eq(cfut_pool_spawn(NULL, &t.base, sizeof t, NULL),
                     CFUT_EINVAL);
    ck_assert_int_eq(cfut_pool_spawn(p, NULL, sizeof t, NULL), CFUT_EINVAL);
    ck_assert_int_eq(cfut_pool_spawn(p, &t.base, 1, NULL), CFUT_EINVAL);
    struct cfut_pool_config bad = {.n_workers = 1000};
    struct cfut_pool *q = NULL;
    ck_assert_int_eq(cfut_pool_new(&bad, &q), CFUT_EINVAL);
    ck_assert_int_eq(cfut_pool_new(NULL, NULL), CFUT_EINVAL);
    ck_assert_ptr_null(cfut_pool_current());
    ck_assert_int_eq(cfut_pool_worker_index(), -1);
    cfut_future_drop(&t.base);
    cfut_pool_free(p);
}
END_TEST

START_TEST(test_pool_every_allocation_failure_is_enomem)
{
    int n_failed = 0;
    for (long k = 1;; k++) {
        testkit_alloc_fail_at(k);
        struct cfut_pool *p = NULL;
        int rc = cfut_pool_new(&(struct cfut_pool_config){.n_workers = 2}, &p);
        if (rc == CFUT_ENOMEM) {
            n_failed++;
            ck_assert_int_eq(testkit_alloc_live(), 0);
            continue;
        }
        ck_assert_int_eq(rc, CFUT_OK);
        testkit_alloc_fail_at(0);
        cfut_pool_free(p);
        break;
    }
    ck_assert_int_ge(n_failed, 3);
    struct cfut_pool *p = new_pool(1);
    struct tiny t;
    atomic_long drops = 0;
    tiny_init(&t, NULL, &drops, NULL, 0);

    testkit_alloc_fail_at(1);
    ck_assert_int_eq(cfut_pool_spawn(p, &t.base, sizeof t, NULL), CFUT_ENOMEM);
    testkit_alloc_fail_at(1);
    ck_assert_int_eq(cfut_pool_block_on(p, &t.base, NULL), CFUT_ENOMEM);

    ck_assert_int_eq(atomic_load(&drops), 1); /* block_on took it */
    testkit_alloc_fail_at(0);
    cfut_pool_free(p);
}
END_TEST

/* A future whose drop spawns onto the pool it is on (refused: closing). */
struct respawn {
    struct cfut_future base;
    struct cfut_pool *p;
    atomic_int *rc;
};

static enum cfut_poll
respawn_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    (void)f;
    (void)cx;
    (void)out;
    return CFUT_PENDING; /* nobody wakes it */
}

static void
respawn_drop(struct cfut_future *f)
{
    struct respawn *r = cfut_container_of(f, struct respawn, base);
    struct tiny t;
    tiny_init(&t, NULL, NULL, NULL, 0);
    atomic_store(r->rc, cfut_pool_spawn(r->p, &t.base, sizeof t, NULL));
}

static const struct cfut_future_vtable respawn_vtable = {
    respawn_poll, respawn_drop, 0, "respawn", NULL};

START_TEST(test_pool_spawn_during_shutdown_is_estate)
{
    struct cfut_pool *p = new_pool(2);
    atomic_int rc = 1;
    struct respawn r;
    cfut_future_init(&r.base, &respawn_vtable);
    r.p = p;
    r.rc = &rc;
    ck_assert_int_eq(cfut_pool_spawn(p, &r.base, sizeof r, NULL), CFUT_OK);

    cfut_pool_free(p);

    ck_assert_int_eq(atomic_load(&rc), CFUT_ESTATE);
}
END_TEST

/* ---------------------------------------------------------------------- */
/* Sleeps on the shared driver, racing cancels                             */
/* ---------------------------------------------------------------------- */

/* Sleeps 'ns' twice (a timeout around the second), counting its drop. */
struct napper {
    struct cfut_future base;
    int step;
    uint64_t ns;
    atomic_long *drops;
    struct cfut_sleep s1, s2;
    struct cfut_timeout to;
};

static enum cfut_poll
napper_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct napper *n = cfut_container_of(f, struct napper, base);
    int st;
    if (n->step == 0) {
        cfut_sleep_init(&n->s1, n->ns);
        n->step = 1;
    }
    if (n->step == 1) {
        if (cfut_future_poll(&n->s1.base, cx, &st) == CFUT_PENDING)
            return CFUT_PENDING;
        REQUIRE(st == CFUT_OK);
        cfut_future_drop(&n->s1.base);
        cfut_sleep_init(&n->s2, n->ns);
        cfut_timeout_init(&n->to, &n->s2.base, n->ns / 2 + 1);
        n->step = 2;
    }
    CFUT_TIMEOUT_OUTPUT(int) r;
    if (cfut_future_poll(&n->to.base, cx, &r) == CFUT_PENDING)
        return CFUT_PENDING;
    REQUIRE(r.status == CFUT_OK || r.status == CFUT_ETIMEDOUT);
    n->step = 3;
    *(uint64_t *)out = n->ns;
    return CFUT_READY;
}

static void
napper_drop(struct cfut_future *f)
{
    struct napper *n = cfut_container_of(f, struct napper, base);
    if (n->step == 1)
        cfut_future_drop(&n->s1.base);
    if (n->step >= 2) /* finished or not: its own timer may be armed */
        cfut_future_drop(&n->to.base);
    atomic_fetch_add(n->drops, 1);
}

static const struct cfut_future_vtable napper_vtable = {
    napper_poll, napper_drop, sizeof(uint64_t), "napper", NULL};

/*
 * 'n' tasks sleep a few hundred microseconds twice (timers fired by
 * whichever worker turns the shared driver) while another thread cancels
 * every third; each finishes or is cancelled, drops once, and the
 * driver's heap is empty at the end.
 */
static void
scenario_sleep(unsigned n_workers, int n)
{
    struct cfut_pool *p = new_pool(n_workers);
    struct cfut_pool_handle *hs = calloc((size_t)n, sizeof *hs);
    REQUIRE(hs != NULL);
    atomic_long drops = 0;
    for (int i = 0; i < n; i++) {
        struct napper f;
        memset(&f, 0, sizeof f);
        cfut_future_init(&f.base, &napper_vtable);
        f.ns = CFUT_USEC(50 + 37 * (i % 9));
        f.drops = &drops;
        REQUIRE(cfut_pool_spawn(p, &f.base, sizeof f, &hs[i]) == CFUT_OK);
    }
    for (int i = 0; i < n; i += 3)
        cfut_pool_handle_cancel(&hs[i]);
    for (int i = 0; i < n; i++) {
        CFUT_JOIN_OUTPUT(uint64_t) out;
        testkit_pool_sweep_wait(&hs[i]);
        REQUIRE(cfut_pool_block_on(p, &hs[i].base, &out) == CFUT_OK);
        REQUIRE(out.status == CFUT_OK ||
                (i % 3 == 0 && out.status == CFUT_ECANCELED));
    }
    REQUIRE(atomic_load(&drops) == n);
    struct cfut_pool_io_counts c;
    cfut_pool_io_counts(p, &c);
    REQUIRE(c.n_timers == 0 && c.n_waiters == 0);
    cfut_pool_free(p);
    free(hs);
}

START_TEST(test_pool_sleeps_race_cancels_on_the_shared_driver)
{
    for (int i = 0; i < 20; i++)
        scenario_sleep(2, 30);
}
END_TEST

static Suite *
pool_suite(void)
{
    Suite *s = suite_create("pool");
    TCase *tc = tcase_create("basics");
    testkit_require_fixture(tc);
    testkit_fixture(tc);
    tcase_add_test(tc, test_pool_spawn_and_block_on_handle);
    tcase_add_test(tc, test_pool_spawn_rejects_bad_arguments);
    tcase_add_test(tc, test_pool_every_allocation_failure_is_enomem);
    tcase_add_test(tc, test_pool_cancel_idle_task_drops_it_on_a_worker);
    tcase_add_test(tc, test_pool_spawn_during_shutdown_is_estate);
    suite_add_tcase(s, tc);

    tc = tcase_create("many threads");
    testkit_require_fixture(tc);
    testkit_fixture(tc);
    tcase_set_timeout(tc, 280);
    tcase_add_test(tc, test_pool_million_tasks_from_threads_and_tasks);
    tcase_add_test(tc, test_pool_one_worker_runs_everything);
    tcase_add_test(tc, test_pool_wake_storm_polls_each_task_alone);
    tcase_add_test(tc, test_pool_cancel_races_completion_and_wake);
    tcase_add_test(tc, test_pool_shutdown_drops_every_future_once);
    tcase_add_test(tc, test_pool_migrating_task_keeps_output_and_drops_once);
    tcase_add_test(tc, test_pool_budget_lets_others_run_beside_a_busy_task);
    tcase_add_test(tc, test_pool_handle_awaited_on_another_pool);
    tcase_add_test(tc, test_pool_sleeps_race_cancels_on_the_shared_driver);
    suite_add_tcase(s, tc);

    tc = tcase_create("other executors");
    testkit_require_fixture(tc);
    testkit_executor_fixture(tc);
    tcase_add_test(tc, test_pool_handle_awaited_on_a_single_threaded_executor);
    suite_add_tcase(s, tc);
    return s;
}

/* ---------------------------------------------------------------------- */
/* Stress mode: every scenario under seeds FROM..TO                        */
/* ---------------------------------------------------------------------- */

static volatile sig_atomic_t current_seed;
static const char *volatile current_scenario = "";

static void
on_crash(int sig)
{
    char msg[160];
    int n = snprintf(msg, sizeof msg,
                     "test_pool: scenario '%s' failed with seed %ld: replay "
                     "with CFUT_SCHED_SEED=%ld ./test_pool stress %ld %ld\n",
                     current_scenario, (long)current_seed, (long)current_seed,
                     (long)current_seed, (long)current_seed);
    ssize_t w = write(2, msg, (size_t)n);
    (void)w;
    signal(sig, SIG_DFL);
    raise(sig);
}

static int
stress(long from, long to)
{
    signal(SIGABRT, on_crash);
    signal(SIGSEGV, on_crash);
    for (long seed = from; seed <= to; seed++) {
        char buf[32];
        snprintf(buf, sizeof buf, "%ld", seed);
        setenv("CFUT_SCHED_SEED", buf, 1);
        current_seed = (sig_atomic_t)seed;
        current_scenario = "many";
        scenario_many(2, 20);
        current_scenario = "storm";
        scenario_storm(2, 4, 20);
        current_scenario = "cancel";
        scenario_cancel(2, 20);
        current_scenario = "shutdown";
        scenario_shutdown(2, 10);
        current_scenario = "sleep";
        scenario_sleep(2, 12);
    }
    printf("test_pool stress: seeds %ld..%ld passed (5 scenarios each)\n", from,
           to);
    return 0;
}

int
main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "stress") == 0)
        return stress(strtol(argv[2], NULL, 0), strtol(argv[3], NULL, 0));
    return testkit_run(pool_suite());
}
