/*
 * test_executor.c: the executor: spawn and join handles, wakes (own-thread
 * and cross-thread), coalescing, cancellation, fairness and budget,
 * block_on and run, freeing with live tasks, allocation failure.
 */
#define _GNU_SOURCE
#include "testkit.h"

#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "cfut_alloc_int.h"

/* The executor under test: made by the testkit's executor fixture. */
#define ex testkit_ex

/* ---- a probe future: counts polls, keeps or uses its waker ---- */

enum probe_mode {
    PROBE_READY_AFTER,  /* READY after 'limit' polls, keeping the waker */
    PROBE_WAKE_IN_POLL, /* wakes itself during its first poll */
    PROBE_SELF_WAKE,    /* wakes itself every poll until *stop */
    PROBE_SPAWN_CHILD,  /* spawns a child countdown, awaits its handle */
    PROBE_BUDGET        /* spends budget until refused, counts units */
};

struct probe {
    struct cfut_future base;
    enum probe_mode mode;
    int polls;
    int limit;
    uint64_t value;
    int result; /* e.g. the nested block_on's status */
    bool *stop;
    int *dropped;
    struct cfut_waker waker;
    struct cfut_join_handle child;
    bool has_child;
};

static struct cfut_waker *stolen; /* a clone a probe hands to the test */

static enum cfut_poll
probe_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct probe *p = cfut_container_of(f, struct probe, base);
    p->polls++;
    switch (p->mode) {
    case PROBE_READY_AFTER:
        if (p->polls > p->limit)
            break;
        cfut_waker_register(&p->waker, cx->waker);
        if (stolen != NULL && stolen->vtable == NULL)
            *stolen = cfut_waker_clone(cx->waker);
        return CFUT_PENDING;
    case PROBE_WAKE_IN_POLL:
        if (p->polls == 1) {
            cfut_waker_wake_by_ref(cx->waker);
            cfut_waker_wake_by_ref(cx->waker);
            return CFUT_PENDING;
        }
        break;
    case PROBE_SELF_WAKE:
        if (!*p->stop) {
            cfut_waker_wake_by_ref(cx->waker);
            return CFUT_PENDING;
        }
        break;
    case PROBE_SPAWN_CHILD: {
        if (!p->has_child) {
            struct testkit_countdown c;
            testkit_countdown_init(&c, 2, true, 40);
            ck_assert_int_eq(cfut_spawn(cfut_executor_current(), &c.base,
                                        sizeof c, &p->child),
                             CFUT_OK);
            p->has_child = true;
        }
        CFUT_JOIN_OUTPUT(uint64_t) r;
        if (cfut_future_poll(&p->child.base, cx, &r) == CFUT_PENDING)
            return CFUT_PENDING;
        cfut_future_drop(&p->child.base);
        p->has_child = false;
        ck_assert_int_eq(r.status, CFUT_OK);
        p->value = r.value + 2;
        break;
    }
    case PROBE_BUDGET:
        while (cfut_context_consume_budget(cx))
            p->result++;
        if (p->polls < 2)
            return CFUT_PENDING; /* the refusal already woke us */
        p->value = (uint64_t)p->result;
        break;
    }
    memcpy(out, &p->value, sizeof p->value);
    return CFUT_READY;
}

static void
probe_drop(struct cfut_future *f)
{
    struct probe *p = cfut_container_of(f, struct probe, base);
    cfut_waker_drop(&p->waker);
    if (p->has_child)
        cfut_future_drop(&p->child.base);
    if (p->dropped != NULL)
        ++*p->dropped;
}

static const struct cfut_future_vtable probe_vtable = {
    probe_poll, probe_drop, sizeof(uint64_t), "probe", NULL};

static void
probe_init(struct probe *p, enum probe_mode mode, int limit, uint64_t value)
{
    memset(p, 0, sizeof *p);
    cfut_future_init(&p->base, &probe_vtable);
    p->mode = mode;
    p->limit = limit;
    p->value = value;
    p->waker = CFUT_WAKER_EMPTY;
}

/* ---- spawn and join ---- */

START_TEST(test_executor_join_handle_delivers_output)
{
    struct testkit_countdown c;
    testkit_countdown_init(&c, 3, true, 123);
    struct cfut_join_handle h;
    CFUT_JOIN_OUTPUT(uint64_t) r;

    ck_assert_int_eq(cfut_spawn(ex, &c.base, sizeof c, &h), CFUT_OK);
    int rc = cfut_block_on(ex, &h.base, &r);

    ck_assert_int_eq(rc, CFUT_OK);
    ck_assert_int_eq(r.status, CFUT_OK);
    ck_assert_uint_eq(r.value, 123);
    ck_assert_uint_eq(cfut_executor_n_tasks(ex), 0);
}
END_TEST

/* ---- the typed take ---- */

START_TEST(test_executor_take_collects_a_finished_task_and_frees_it)
{
    struct testkit_countdown c;
    testkit_countdown_init(&c, 0, true, 8);
    struct cfut_join_handle h;
    ck_assert_int_eq(cfut_spawn(ex, &c.base, sizeof c, &h), CFUT_OK);
    cfut_executor_run_ready(ex);
    ck_assert_uint_eq(cfut_executor_n_task_blocks(ex), 1);

    uint64_t v = 0;
    ck_assert_int_eq(CFUT_JOIN_HANDLE_TAKE(&h, uint64_t, &v), CFUT_OK);

    ck_assert_uint_eq(v, 8);
    ck_assert_uint_eq(cfut_executor_n_task_blocks(ex), 0); /* handle gone */
}
END_TEST

START_TEST(test_executor_take_before_the_end_is_eagain_and_changes_nothing)
{
    struct testkit_countdown c;
    testkit_countdown_init(&c, 2, true, 5);
    struct cfut_join_handle h;
    ck_assert_int_eq(cfut_spawn(ex, &c.base, sizeof c, &h), CFUT_OK);
    uint64_t v = 77;
    ck_assert_int_eq(CFUT_JOIN_HANDLE_TAKE(&h, uint64_t, &v), CFUT_EAGAIN);
    ck_assert_uint_eq(v, 77);

    /* The handle is still a future that can be awaited. */
    CFUT_JOIN_OUTPUT(uint64_t) r;
    ck_assert_int_eq(cfut_block_on(ex, &h.base, &r), CFUT_OK);
    ck_assert_int_eq(r.status, CFUT_OK);
    ck_assert_uint_eq(r.value, 5);
}
END_TEST

START_TEST(test_executor_take_with_the_wrong_size_is_einval)
{
    struct testkit_countdown c;
    testkit_countdown_init(&c, 0, true, 9);
    struct cfut_join_handle h;
    ck_assert_int_eq(cfut_spawn(ex, &c.base, sizeof c, &h), CFUT_OK);
    cfut_executor_run_ready(ex);
    uint32_t small = 0;
    ck_assert_int_eq(CFUT_JOIN_HANDLE_TAKE(&h, uint32_t, &small), CFUT_EINVAL);
    ck_assert_int_eq(cfut_join_handle_take(&h, NULL, sizeof(uint64_t)),
                     CFUT_EINVAL);
    uint64_t v = 0;
    ck_assert_int_eq(CFUT_JOIN_HANDLE_TAKE(&h, uint64_t, &v), CFUT_OK);
    ck_assert_uint_eq(v, 9);
}
END_TEST

START_TEST(test_executor_take_of_a_cancelled_task_is_ecanceled)
{
    int dropped = 0;
    struct probe p;
    probe_init(&p, PROBE_READY_AFTER, 1000, 1);
    p.dropped = &dropped;
    struct cfut_join_handle h;
    ck_assert_int_eq(cfut_spawn(ex, &p.base, sizeof p, &h), CFUT_OK);
    cfut_executor_run_ready(ex);
    cfut_join_handle_cancel(&h);
    cfut_executor_run_ready(ex);

    uint64_t v = 3;
    ck_assert_int_eq(CFUT_JOIN_HANDLE_TAKE(&h, uint64_t, &v), CFUT_ECANCELED);
    ck_assert_uint_eq(v, 3);
    ck_assert_int_eq(dropped, 1);
    ck_assert_uint_eq(cfut_executor_n_task_blocks(ex), 0);
}
END_TEST

START_TEST(test_executor_take_after_the_executor_is_freed)
{
    struct testkit_countdown c;
    testkit_countdown_init(&c, 0, true, 11);
    struct cfut_join_handle h;
    ck_assert_int_eq(cfut_spawn(ex, &c.base, sizeof c, &h), CFUT_OK);
    cfut_executor_run_ready(ex);
    cfut_executor_free(ex);
    ex = NULL;

    uint64_t v = 0; /* the orphaned task's memory goes with the handle */
    ck_assert_int_eq(CFUT_JOIN_HANDLE_TAKE(&h, uint64_t, &v), CFUT_OK);
    ck_assert_uint_eq(v, 11);
}
END_TEST

START_TEST(test_executor_run_finishes_detached_tasks)
{
    int dropped = 0;
    for (int i = 0; i < 100; i++) {
        struct probe p;
        probe_init(&p, PROBE_READY_AFTER, 0, (uint64_t)i);
        p.dropped = &dropped;
        ck_assert_int_eq(cfut_spawn(ex, &p.base, sizeof p, NULL), CFUT_OK);
    }
    ck_assert_uint_eq(cfut_executor_n_tasks(ex), 100);

    int rc = cfut_executor_run(ex);

    ck_assert_int_eq(rc, CFUT_OK);
    ck_assert_int_eq(dropped, 100);
    ck_assert_uint_eq(cfut_executor_n_tasks(ex), 0);
    ck_assert_uint_eq(cfut_executor_n_task_blocks(ex), 0);
}
END_TEST

START_TEST(test_executor_spawn_from_inside_a_task)
{
    struct probe p;
    probe_init(&p, PROBE_SPAWN_CHILD, 0, 0);
    struct cfut_join_handle h;
    CFUT_JOIN_OUTPUT(uint64_t) r;
    ck_assert_int_eq(cfut_spawn(ex, &p.base, sizeof p, &h), CFUT_OK);

    int rc = cfut_block_on(ex, &h.base, &r);

    ck_assert_int_eq(rc, CFUT_OK);
    ck_assert_uint_eq(r.value, 42);
}
END_TEST

START_TEST(test_executor_block_on_polls_in_place)
{
    struct testkit_wrap w;
    struct testkit_countdown c;
    testkit_countdown_init(&c, 2, true, 5);
    testkit_wrap_init(&w, &c.base, true);
    uint64_t out = 0;

    int rc = cfut_block_on(ex, &w.base, &out);

    ck_assert_int_eq(rc, CFUT_OK);
    ck_assert_uint_eq(out, 5);
}
END_TEST

START_TEST(test_executor_spawn_rejects_bad_arguments)
{
    struct cfut_pending p;
    cfut_pending_init(&p, 0);

    ck_assert_int_eq(cfut_spawn(ex, NULL, 16, NULL), CFUT_EINVAL);
    ck_assert_int_eq(cfut_spawn(ex, &p.base, 3, NULL), CFUT_EINVAL);
    cfut_future_drop(&p.base);
    ck_assert_uint_eq(cfut_executor_n_tasks(ex), 0);
}
END_TEST

/* ---- wakes ---- */

START_TEST(test_executor_wake_during_own_poll_gives_one_more_poll)
{
    struct probe p;
    probe_init(&p, PROBE_WAKE_IN_POLL, 0, 1);
    struct cfut_join_handle h;
    ck_assert_int_eq(cfut_spawn(ex, &p.base, sizeof p, &h), CFUT_OK);

    cfut_executor_run_ready(ex);

    ck_assert(cfut_join_handle_is_finished(&h));
    ck_assert_uint_eq(cfut_executor_n_polls(ex), 2);
    cfut_future_drop(&h.base);
}
END_TEST

START_TEST(test_executor_repeated_wakes_coalesce)
{
    struct cfut_waker w = CFUT_WAKER_EMPTY;
    stolen = &w;
    struct probe p;
    probe_init(&p, PROBE_READY_AFTER, 1, 1);
    ck_assert_int_eq(cfut_spawn(ex, &p.base, sizeof p, NULL), CFUT_OK);
    cfut_executor_run_ready(ex);
    uint64_t before = cfut_executor_n_polls(ex);

    for (int i = 0; i < 5; i++)
        cfut_waker_wake_by_ref(&w);
    cfut_executor_run_ready(ex);

    ck_assert_uint_eq(cfut_executor_n_polls(ex) - before, 1);
    ck_assert_uint_eq(cfut_executor_n_tasks(ex), 0);
    cfut_waker_drop(&w);
    stolen = NULL;
}
END_TEST

START_TEST(test_executor_wake_after_completion_is_harmless)
{
    struct cfut_waker w = CFUT_WAKER_EMPTY;
    stolen = &w;
    struct probe p;
    probe_init(&p, PROBE_READY_AFTER, 1, 1);
    ck_assert_int_eq(cfut_spawn(ex, &p.base, sizeof p, NULL), CFUT_OK);
    cfut_executor_run_ready(ex);
    cfut_waker_wake_by_ref(&w);
    cfut_executor_run_ready(ex);
    uint64_t polls = cfut_executor_n_polls(ex);

    cfut_waker_wake_by_ref(&w);
    cfut_executor_run_ready(ex);

    ck_assert_uint_eq(cfut_executor_n_polls(ex), polls);
    ck_assert_uint_eq(cfut_executor_n_task_blocks(ex), 1);
    cfut_waker_wake(&w);
    ck_assert_uint_eq(cfut_executor_n_task_blocks(ex), 0);
    stolen = NULL;
}
END_TEST

START_TEST(test_executor_last_waker_frees_detached_finished_task)
{
    struct cfut_waker w = CFUT_WAKER_EMPTY;
    stolen = &w;
    struct probe p;
    probe_init(&p, PROBE_READY_AFTER, 1, 1);
    ck_assert_int_eq(cfut_spawn(ex, &p.base, sizeof p, NULL), CFUT_OK);
    cfut_executor_run_ready(ex);
    cfut_waker_wake_by_ref(&w);
    cfut_executor_run_ready(ex);
    ck_assert_uint_eq(cfut_executor_n_tasks(ex), 0);
    ck_assert_uint_eq(cfut_executor_n_wakers(ex), 1);

    cfut_waker_drop(&w);

    ck_assert_uint_eq(cfut_executor_n_wakers(ex), 0);
    ck_assert_uint_eq(cfut_executor_n_task_blocks(ex), 0);
    stolen = NULL;
}
END_TEST

START_TEST(test_executor_spurious_polls_are_harmless)
{
    struct testkit_countdown c;
    testkit_countdown_init(&c, 3, true, 77);
    struct testkit_wrap w;
    testkit_wrap_init(&w, &c.base, true);
    struct cfut_join_handle h;
    CFUT_JOIN_OUTPUT(uint64_t) r;
    ck_assert_int_eq(cfut_spawn(ex, &w.base, sizeof w, &h), CFUT_OK);

    int rc = cfut_block_on(ex, &h.base, &r);

    ck_assert_int_eq(rc, CFUT_OK);
    ck_assert_uint_eq(r.value, 77);
}
END_TEST

/* ---- cross-thread wakes ---- */

struct remote_flag {
    pthread_mutex_t lock;
    struct cfut_waker waker;
    bool set;
};

struct remote_wait {
    struct cfut_future base;
    struct remote_flag *flag;
};

static enum cfut_poll
remote_wait_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct remote_wait *rw = cfut_container_of(f, struct remote_wait, base);
    (void)out;
    pthread_mutex_lock(&rw->flag->lock);
    bool set = rw->flag->set;
    if (!set)
        cfut_waker_register(&rw->flag->waker, cx->waker);
    pthread_mutex_unlock(&rw->flag->lock);
    return set ? CFUT_READY : CFUT_PENDING;
}

static void
remote_wait_drop(struct cfut_future *f)
{
    struct remote_wait *rw = cfut_container_of(f, struct remote_wait, base);
    pthread_mutex_lock(&rw->flag->lock);
    cfut_waker_drop(&rw->flag->waker);
    pthread_mutex_unlock(&rw->flag->lock);
}

static const struct cfut_future_vtable remote_wait_vtable = {
    remote_wait_poll, remote_wait_drop, 0, "remote_wait", NULL};

static void *
remote_setter(void *arg)
{
    struct remote_flag *fl = arg;
    usleep(50);
    pthread_mutex_lock(&fl->lock);
    fl->set = true;
    struct cfut_waker w = fl->waker;
    fl->waker = CFUT_WAKER_EMPTY;
    pthread_mutex_unlock(&fl->lock);
    cfut_waker_wake(&w); /* from this thread: the remote path */
    return NULL;
}

START_TEST(test_executor_wake_from_other_thread_is_never_lost)
{
    for (int i = 0; i < 200; i++) {
        struct remote_flag fl = {PTHREAD_MUTEX_INITIALIZER, CFUT_WAKER_EMPTY,
                                 false};
        struct remote_wait rw;
        cfut_future_init(&rw.base, &remote_wait_vtable);
        rw.flag = &fl;
        struct cfut_join_handle h;
        struct cfut_join_status st;
        ck_assert_int_eq(cfut_spawn(ex, &rw.base, sizeof rw, &h), CFUT_OK);
        pthread_t th;
        ck_assert_int_eq(pthread_create(&th, NULL, remote_setter, &fl), 0);

        int rc = cfut_block_on(ex, &h.base, &st);

        pthread_join(th, NULL);
        ck_assert_int_eq(rc, CFUT_OK);
        ck_assert_int_eq(st.status, CFUT_OK);
    }
    ck_assert_uint_eq(cfut_executor_n_wakers(ex), 0);
    ck_assert_uint_eq(cfut_executor_n_task_blocks(ex), 0);
}
END_TEST

static void *
clone_and_drop_many(void *arg)
{
    struct cfut_waker *w = arg;
    for (int i = 0; i < 1000; i++) {
        struct cfut_waker c = cfut_waker_clone(w);
        cfut_waker_wake_by_ref(&c);
        cfut_waker_drop(&c);
    }
    return NULL;
}

START_TEST(test_executor_foreign_clones_keep_task_alive)
{
    struct cfut_waker w = CFUT_WAKER_EMPTY;
    stolen = &w;
    struct probe p;
    probe_init(&p, PROBE_READY_AFTER, 1000000, 1);
    struct cfut_join_handle h;
    ck_assert_int_eq(cfut_spawn(ex, &p.base, sizeof p, &h), CFUT_OK);
    cfut_executor_run_ready(ex);
    pthread_t th[2];

    for (int i = 0; i < 2; i++)
        pthread_create(&th[i], NULL, clone_and_drop_many, &w);
    for (int i = 0; i < 2; i++) {
        while (cfut_executor_run_ready(ex) == CFUT_OK &&
               pthread_tryjoin_np(th[i], NULL) != 0)
            ;
    }
    cfut_executor_run_ready(ex);

    /* The probe's own waker and the stolen clone: the foreign ones net 0. */
    ck_assert_uint_eq(cfut_executor_n_wakers(ex), 2);
    ck_assert_uint_eq(cfut_executor_n_tasks(ex), 1);
    cfut_waker_drop(&w);
    cfut_join_handle_cancel(&h);
    cfut_executor_run_ready(ex);
    ck_assert(cfut_join_handle_is_finished(&h));
    cfut_future_drop(&h.base);
    ck_assert_uint_eq(cfut_executor_n_wakers(ex), 0);
    ck_assert_uint_eq(cfut_executor_n_task_blocks(ex), 0);
    stolen = NULL;
}
END_TEST

static void *
drop_later(void *arg)
{
    struct cfut_waker *w = arg;
    usleep(1000);
    cfut_waker_wake(w);
    return NULL;
}

START_TEST(test_executor_waker_outliving_executor_is_freed_by_other_thread)
{
    struct cfut_waker w = CFUT_WAKER_EMPTY;
    stolen = &w;
    struct probe p;
    probe_init(&p, PROBE_READY_AFTER, 5, 1);
    ck_assert_int_eq(cfut_spawn(ex, &p.base, sizeof p, NULL), CFUT_OK);
    cfut_executor_run_ready(ex);
    pthread_t th;
    pthread_create(&th, NULL, drop_later, &w);

    cfut_executor_free(ex);
    ex = NULL;
    pthread_join(th, NULL);

    ck_assert_ptr_null(w.vtable);
    stolen = NULL;
}
END_TEST

/* ---- cancellation ---- */

START_TEST(test_executor_cancel_drops_the_future_and_resolves_canceled)
{
    int dropped = 0;
    struct probe p;
    probe_init(&p, PROBE_READY_AFTER, 1000, 1);
    p.dropped = &dropped;
    struct cfut_join_handle h;
    CFUT_JOIN_OUTPUT(uint64_t) r;
    ck_assert_int_eq(cfut_spawn(ex, &p.base, sizeof p, &h), CFUT_OK);
    cfut_executor_run_ready(ex);
    ck_assert_uint_eq(cfut_executor_n_wakers(ex), 1);

    cfut_join_handle_cancel(&h);
    int rc = cfut_block_on(ex, &h.base, &r);

    ck_assert_int_eq(rc, CFUT_OK);
    ck_assert_int_eq(r.status, CFUT_ECANCELED);
    ck_assert_int_eq(dropped, 1);
    ck_assert_uint_eq(cfut_executor_n_wakers(ex), 0);
    ck_assert_uint_eq(cfut_executor_n_tasks(ex), 0);
}
END_TEST

START_TEST(test_executor_cancel_after_finish_keeps_output)
{
    struct testkit_countdown c;
    testkit_countdown_init(&c, 0, true, 8);
    struct cfut_join_handle h;
    CFUT_JOIN_OUTPUT(uint64_t) r;
    ck_assert_int_eq(cfut_spawn(ex, &c.base, sizeof c, &h), CFUT_OK);
    cfut_executor_run_ready(ex);

    cfut_join_handle_cancel(&h);
    cfut_block_on(ex, &h.base, &r);

    ck_assert_int_eq(r.status, CFUT_OK);
    ck_assert_uint_eq(r.value, 8);
}
END_TEST

/* A task that never finishes and, when dropped, spawns a probe. */
struct respawner {
    struct cfut_future base;
    int *dropped; /* for the probe it spawns */
};

static enum cfut_poll
respawner_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    (void)f, (void)cx, (void)out;
    return CFUT_PENDING;
}

static void
respawner_drop(struct cfut_future *f)
{
    struct respawner *r = cfut_container_of(f, struct respawner, base);
    struct probe p;
    probe_init(&p, PROBE_READY_AFTER, 1000, 1);
    p.dropped = r->dropped;
    ck_assert_int_eq(cfut_spawn(cfut_executor_current() != NULL
                                    ? cfut_executor_current()
                                    : ex,
                                &p.base, sizeof p, NULL),
                     CFUT_OK);
}

static const struct cfut_future_vtable respawner_vtable = {
    respawner_poll, respawner_drop, 0, "respawner", NULL};

/*
 * cfut_executor_free() walks the task blocks: a task spawned by a cancel
 * into a pooled block the walk has passed already is cancelled too.
 */
START_TEST(test_executor_free_cancels_a_task_spawned_into_a_reused_block)
{
    int dropped = 0;
    /* A probe finishes and its block goes back to the pool: the first. */
    struct probe done;
    probe_init(&done, PROBE_READY_AFTER, 0, 7);
    struct cfut_join_handle h;
    ck_assert_int_eq(cfut_spawn(ex, &done.base, sizeof done, &h), CFUT_OK);
    struct respawner r;
    cfut_future_init(&r.base, &respawner_vtable);
    r.dropped = &dropped;
    ck_assert_int_eq(cfut_spawn(ex, &r.base, sizeof r, NULL), CFUT_OK);
    cfut_executor_run_ready(ex);
    uint64_t v = 0;
    ck_assert_int_eq(CFUT_JOIN_HANDLE_TAKE(&h, uint64_t, &v), CFUT_OK);
    ck_assert_uint_eq(v, 7);
    ck_assert_uint_eq(cfut_executor_n_task_blocks(ex), 1);
    ck_assert_uint_eq(cfut_executor_n_tasks(ex), 1);

    /* Cancelling the respawner spawns a probe into the pooled block. */
    cfut_executor_free(ex);
    ex = NULL;

    ck_assert_int_eq(dropped, 1);
}
END_TEST

START_TEST(test_executor_free_with_pending_tasks_leaks_nothing)
{
    int dropped = 0;
    struct cfut_join_handle hs[50];
    for (int i = 0; i < 100; i++) {
        struct probe p;
        probe_init(&p, PROBE_READY_AFTER, 1000, 1);
        p.dropped = &dropped;
        ck_assert_int_eq(
            cfut_spawn(ex, &p.base, sizeof p, i < 50 ? &hs[i] : NULL), CFUT_OK);
    }
    cfut_executor_run_ready(ex);

    cfut_executor_free(ex);
    ex = NULL;

    ck_assert_int_eq(dropped, 100);
    for (int i = 0; i < 50; i++) {
        CFUT_JOIN_OUTPUT(uint64_t) r;
        ck_assert_int_eq(testkit_poll(&hs[i].base, cfut_waker_noop(), &r),
                         CFUT_READY);
        ck_assert_int_eq(r.status, CFUT_ECANCELED);
        cfut_future_drop(&hs[i].base);
    }
}
END_TEST

/* ---- fairness and budget ---- */

START_TEST(test_executor_self_waking_task_does_not_starve_others)
{
    bool stop = false;
    struct probe busy;
    probe_init(&busy, PROBE_SELF_WAKE, 0, 0);
    busy.stop = &stop;
    struct cfut_join_handle hb;
    ck_assert_int_eq(cfut_spawn(ex, &busy.base, sizeof busy, &hb), CFUT_OK);
    struct testkit_countdown c;
    testkit_countdown_init(&c, 3, true, 1);
    struct cfut_join_handle hc;
    ck_assert_int_eq(cfut_spawn(ex, &c.base, sizeof c, &hc), CFUT_OK);

    /* Run pass by pass by hand: each block_on on a yield is one pass. */
    int passes = 0;
    while (!cfut_join_handle_is_finished(&hc) && passes < 100) {
        struct cfut_yield y;
        cfut_yield_now_init(&y);
        cfut_block_on(ex, &y.base, NULL);
        passes++;
    }
    stop = true;
    cfut_executor_run(ex);

    ck_assert(cfut_join_handle_is_finished(&hc));
    ck_assert_int_le(passes, 4);
    cfut_future_drop(&hb.base);
    cfut_future_drop(&hc.base);
}
END_TEST

START_TEST(test_executor_budget_forces_a_yield)
{
    struct probe p;
    probe_init(&p, PROBE_BUDGET, 0, 0);
    struct cfut_join_handle h;
    CFUT_JOIN_OUTPUT(uint64_t) r;
    ck_assert_int_eq(cfut_spawn(ex, &p.base, sizeof p, &h), CFUT_OK);

    cfut_executor_run_ready(ex);

    /* Each poll gets CFUT_BUDGET units; the refusal woke the task. */
    ck_assert_uint_eq(cfut_executor_n_polls(ex), 2);
    ck_assert_int_eq(testkit_poll(&h.base, cfut_waker_noop(), &r), CFUT_READY);
    ck_assert_uint_eq(r.value, 2 * CFUT_BUDGET);
    cfut_future_drop(&h.base);
}
END_TEST

/* ---- block_on and run errors ---- */

struct nest_check {
    struct cfut_future base;
    int rc_block;
    int rc_run;
};

static enum cfut_poll
nest_check_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct nest_check *n = cfut_container_of(f, struct nest_check, base);
    struct cfut_pending inner;
    (void)cx;
    (void)out;
    cfut_pending_init(&inner, 0);
    n->rc_block = cfut_block_on(cfut_executor_current(), &inner.base, NULL);
    n->rc_run = cfut_executor_run(cfut_executor_current());
    return CFUT_READY;
}

static const struct cfut_future_vtable nest_check_vtable = {
    nest_check_poll, NULL, 0, "nest_check", NULL};

START_TEST(test_executor_nested_run_returns_ebusy)
{
    struct nest_check n;
    cfut_future_init(&n.base, &nest_check_vtable);
    n.rc_block = n.rc_run = 0;
    struct nest_check *np = &n;

    int rc = cfut_block_on(ex, &np->base, NULL);

    ck_assert_int_eq(rc, CFUT_OK);
    ck_assert_int_eq(n.rc_block, CFUT_EBUSY);
    ck_assert_int_eq(n.rc_run, CFUT_EBUSY);
}
END_TEST

START_TEST(test_executor_block_on_a_future_nothing_wakes_is_edeadlk)
{
    struct cfut_pending p;
    cfut_pending_init(&p, 0);

    int rc = cfut_block_on(ex, &p.base, NULL);

    ck_assert_int_eq(rc, CFUT_EDEADLK);
}
END_TEST

START_TEST(test_executor_run_with_unwakeable_tasks_is_edeadlk)
{
    struct cfut_pending p;
    cfut_pending_init(&p, 0);
    ck_assert_int_eq(cfut_spawn(ex, &p.base, sizeof p, NULL), CFUT_OK);

    int rc = cfut_executor_run(ex);

    ck_assert_int_eq(rc, CFUT_EDEADLK);
    ck_assert_uint_eq(cfut_executor_n_tasks(ex), 1);
}
END_TEST

START_TEST(test_executor_dump_lists_live_tasks)
{
    struct cfut_pending p;
    cfut_pending_init(&p, 0);
    ck_assert_int_eq(cfut_spawn(ex, &p.base, sizeof p, NULL), CFUT_OK);
    char buf[256] = {0};
    FILE *f = fmemopen(buf, sizeof buf - 1, "w");

    cfut_executor_dump(ex, f);
    fclose(f);

    ck_assert_ptr_nonnull(strstr(buf, "task 1 'pending' scheduled"));
}
END_TEST

/* ---- allocation failure ---- */

START_TEST(test_executor_new_reports_enomem_at_every_allocation)
{
    cfut_executor_free(ex);
    ex = NULL;
    int failures = 0;
    for (long k = 1; k < 10; k++) {
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
        ck_assert_int_eq(testkit_alloc_live(), 0);
        failures++;
    }
    testkit_alloc_fail_at(0);
    ck_assert_int_ge(failures, 3);
    ck_assert_int_eq(cfut_executor_new(&ex), CFUT_OK);
}
END_TEST

START_TEST(test_executor_spawn_reports_enomem_and_keeps_future)
{
    int dropped = 0;
    struct probe p;
    probe_init(&p, PROBE_READY_AFTER, 0, 1);
    p.dropped = &dropped;
    struct cfut_join_handle h;
    testkit_alloc_fail_at(1);

    int rc = cfut_spawn(ex, &p.base, sizeof p, &h);

    ck_assert_int_eq(rc, CFUT_ENOMEM);
    ck_assert_uint_eq(cfut_executor_n_tasks(ex), 0);
    cfut_future_drop(&p.base); /* still the caller's */
    ck_assert_int_eq(dropped, 1);
}
END_TEST

START_TEST(test_executor_block_on_reports_enomem_and_drops_future)
{
    int dropped = 0;
    struct probe p;
    probe_init(&p, PROBE_READY_AFTER, 0, 1);
    p.dropped = &dropped;
    uint64_t out = 0;
    testkit_alloc_fail_at(1);

    int rc = cfut_block_on(ex, &p.base, &out);

    ck_assert_int_eq(rc, CFUT_ENOMEM);
    ck_assert_int_eq(dropped, 1);
}
END_TEST

START_TEST(test_executor_pool_reuses_blocks)
{
    for (int i = 0; i < 10; i++) {
        struct testkit_countdown c;
        testkit_countdown_init(&c, 0, true, 1);
        ck_assert_int_eq(cfut_spawn(ex, &c.base, sizeof c, NULL), CFUT_OK);
    }
    cfut_executor_run(ex);
    long allocs = testkit_alloc_count();

    for (int i = 0; i < 10; i++) {
        struct testkit_countdown c;
        testkit_countdown_init(&c, 0, true, 1);
        ck_assert_int_eq(cfut_spawn(ex, &c.base, sizeof c, NULL), CFUT_OK);
    }
    cfut_executor_run(ex);

    ck_assert_int_eq(testkit_alloc_count(), allocs);
}
END_TEST

/* ---- misuse ---- */

START_TEST(test_executor_spawning_a_polled_future_is_einval)
{
    struct testkit_countdown c;
    testkit_countdown_init(&c, 2, false, 1);
    uint64_t out;
    testkit_poll(&c.base, cfut_waker_noop(), &out);

    int rc = cfut_spawn(ex, &c.base, sizeof c, NULL);
    cfut_future_drop(&c.base);

#if CFUT_DEBUG_CHECKS
    ck_assert_int_eq(rc, CFUT_EINVAL);
#else
    ck_assert_int_eq(rc, CFUT_OK);
#endif
}
END_TEST

START_TEST(test_executor_block_on_with_null_out_discards_the_output)
{
    struct testkit_countdown c;
    testkit_countdown_init(&c, 2, true, 9);

    int rc = cfut_block_on(ex, &c.base, NULL);

    ck_assert_int_eq(rc, CFUT_OK);
    ck_assert_uint_eq(cfut_executor_n_task_blocks(ex), 0);
}
END_TEST

/* ---- the per-thread block cache (default allocator, no fixture) ---- */

START_TEST(test_executor_freeing_the_last_executor_flushes_the_block_cache)
{
    struct cfut_executor *a, *b;
    ck_assert_int_eq(cfut_executor_new(&a), CFUT_OK);
    ck_assert_int_eq(cfut_executor_new(&b), CFUT_OK);
    cfut__free_small(cfut__alloc_small(64), 64);
    ck_assert_uint_ge(cfut__small_n_cached(), 1);

    cfut_executor_free(a);
    size_t after_first = cfut__small_n_cached();
    cfut_executor_free(b);
    size_t after_last = cfut__small_n_cached();

    ck_assert_uint_ge(after_first, 1);
    ck_assert_uint_eq(after_last, 0);
}
END_TEST

/* Spawns a countdown with a handle and ends the handle ('detach': how). */
static void
spawn_and_end_handle(struct cfut_join_handle *h, bool detach)
{
    struct testkit_countdown c;
    testkit_countdown_init(&c, 1, false, 1);
    ck_assert_int_eq(cfut_spawn(ex, &c.base, sizeof c, h), CFUT_OK);
    if (detach)
        cfut_join_handle_detach(h);
    else
        cfut_future_drop(&h->base);
}

START_TEST(test_executor_cancel_through_a_dropped_handle_aborts)
{
    struct cfut_join_handle h;
    spawn_and_end_handle(&h, false);

    cfut_join_handle_cancel(&h);
}
END_TEST

START_TEST(test_executor_is_finished_on_a_detached_handle_aborts)
{
    struct cfut_join_handle h;
    spawn_and_end_handle(&h, true);

    (void)cfut_join_handle_is_finished(&h);
}
END_TEST

START_TEST(test_executor_id_of_a_dropped_handle_aborts)
{
    struct cfut_join_handle h;
    spawn_and_end_handle(&h, false);

    (void)cfut_join_handle_id(&h);
}
END_TEST

static void
cancel_dropped_handle(void *arg)
{
    (void)arg;
    struct cfut_join_handle h;
    spawn_and_end_handle(&h, false);
    cfut_join_handle_cancel(&h);
}

START_TEST(test_executor_handle_misuse_message_names_the_call)
{
    char msg[512];

    bool aborted = testkit_aborts(cancel_dropped_handle, NULL, msg, sizeof msg);

    ck_assert_msg(aborted, "did not abort; stderr: %s", msg);
    ck_assert_msg(strstr(msg, "cfut: ") != NULL &&
                      strstr(msg,
                             "cfut_join_handle_cancel() on a join "
                             "handle that was dropped or detached") != NULL,
                  "message: %s", msg);
}
END_TEST

static Suite *
executor_suite(void)
{
    Suite *s = suite_create("executor");
    TCase *tc = tcase_create("spawn and join");
    testkit_executor_fixture(tc);
    tcase_add_test(tc, test_executor_join_handle_delivers_output);
    tcase_add_test(tc, test_executor_run_finishes_detached_tasks);
    tcase_add_test(tc, test_executor_spawn_from_inside_a_task);
    tcase_add_test(tc, test_executor_block_on_polls_in_place);
    tcase_add_test(tc,
                   test_executor_block_on_with_null_out_discards_the_output);
    tcase_add_test(tc, test_executor_spawn_rejects_bad_arguments);
    tcase_add_test(tc,
                   test_executor_take_collects_a_finished_task_and_frees_it);
    tcase_add_test(
        tc, test_executor_take_before_the_end_is_eagain_and_changes_nothing);
    tcase_add_test(tc, test_executor_take_with_the_wrong_size_is_einval);
    tcase_add_test(tc, test_executor_take_of_a_cancelled_task_is_ecanceled);
    tcase_add_test(tc, test_executor_take_after_the_executor_is_freed);
    suite_add_tcase(s, tc);

    tc = tcase_create("wakes");
    testkit_executor_fixture(tc);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_executor_wake_during_own_poll_gives_one_more_poll);
    tcase_add_test(tc, test_executor_repeated_wakes_coalesce);
    tcase_add_test(tc, test_executor_wake_after_completion_is_harmless);
    tcase_add_test(tc, test_executor_last_waker_frees_detached_finished_task);
    tcase_add_test(tc, test_executor_spurious_polls_are_harmless);
    tcase_add_test(tc, test_executor_wake_from_other_thread_is_never_lost);
    tcase_add_test(tc, test_executor_foreign_clones_keep_task_alive);
    tcase_add_test(
        tc, test_executor_waker_outliving_executor_is_freed_by_other_thread);
    suite_add_tcase(s, tc);

    tc = tcase_create("cancellation");
    testkit_executor_fixture(tc);
    tcase_add_test(tc,
                   test_executor_cancel_drops_the_future_and_resolves_canceled);
    tcase_add_test(tc, test_executor_cancel_after_finish_keeps_output);
    tcase_add_test(tc, test_executor_free_with_pending_tasks_leaks_nothing);
    tcase_add_test(
        tc, test_executor_free_cancels_a_task_spawned_into_a_reused_block);
    suite_add_tcase(s, tc);

    tc = tcase_create("fairness");
    testkit_executor_fixture(tc);
    tcase_add_test(tc, test_executor_self_waking_task_does_not_starve_others);
    tcase_add_test(tc, test_executor_budget_forces_a_yield);
    suite_add_tcase(s, tc);

    tc = tcase_create("run errors");
    testkit_executor_fixture(tc);
    tcase_add_test(tc, test_executor_nested_run_returns_ebusy);
    tcase_add_test(tc,
                   test_executor_block_on_a_future_nothing_wakes_is_edeadlk);
    tcase_add_test(tc, test_executor_run_with_unwakeable_tasks_is_edeadlk);
    tcase_add_test(tc, test_executor_dump_lists_live_tasks);
    suite_add_tcase(s, tc);

    tc = tcase_create("allocation");
    testkit_executor_fixture(tc);
    tcase_add_test(tc, test_executor_new_reports_enomem_at_every_allocation);
    tcase_add_test(tc, test_executor_spawn_reports_enomem_and_keeps_future);
    tcase_add_test(tc, test_executor_block_on_reports_enomem_and_drops_future);
    tcase_add_test(tc, test_executor_pool_reuses_blocks);
    tcase_add_test(tc, test_executor_spawning_a_polled_future_is_einval);
    suite_add_tcase(s, tc);

    tc = tcase_create("block cache");
    tcase_add_test(
        tc, test_executor_freeing_the_last_executor_flushes_the_block_cache);
    suite_add_tcase(s, tc);

    tc = tcase_create("misuse");
    testkit_executor_fixture(tc);
    testkit_add_assert_test(
        tc, test_executor_cancel_through_a_dropped_handle_aborts);
    testkit_add_assert_test(
        tc, test_executor_is_finished_on_a_detached_handle_aborts);
    testkit_add_assert_test(tc, test_executor_id_of_a_dropped_handle_aborts);
    tcase_add_test(tc, test_executor_handle_misuse_message_names_the_call);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return testkit_run(executor_suite());
}
