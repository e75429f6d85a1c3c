/*
 * test_semaphore.c: the semaphore, both kinds: try_acquire and permits
 * given back, the acquire future before and after a release, FIFO
 * fairness (a big request at the head is not starved by small ones),
 * cancelled waiters giving back what they were assigned, close,
 * add_permits and its limit, forget, permits outliving the handles, wakers
 * that call back in, tasks limited to N at a time and their cancellation,
 * allocation failure, misuse, and threads racing for permits. Every test
 * body that can runs on both kinds (the kind table).
 */
#define _GNU_SOURCE
#include "testkit.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* ---- both kinds behind one table ---- */

union sem {
    struct cfut_semaphore l;
    struct cfut_semaphore_sync s;
};
/* Permits, acquire futures and their output are one type in both kinds. */
union permit {
    struct cfut_semaphore_permit l;
};
union acquire {
    struct cfut_future base;
    struct cfut_semaphore_acquire l;
};
struct acquired {
    int status;
    union permit permit;
};
_Static_assert(sizeof(struct acquired) ==
                   sizeof(struct cfut_semaphore_acquired),
               "the test's output type does not match");

struct skind {
    int (*make)(size_t, union sem *);
    union sem (*clone)(union sem *);
    void (*drop)(union sem *);
    int (*try_acquire)(union sem *, size_t, union permit *);
    void (*acquire_init)(union acquire *, union sem *, size_t);
    void (*permit_drop)(union permit *);
    void (*permit_forget)(union permit *);
    int (*add)(union sem *, size_t);
    void (*close)(union sem *);
    bool (*is_closed)(union sem *);
    size_t (*available)(union sem *);
};

static int
l_make(size_t n, union sem *s)
{
    return cfut_semaphore_new(n, &s->l);
}
static union sem
l_clone(union sem *s)
{
    union sem u;
    u.l = cfut_semaphore_clone(&s->l);
    return u;
}
static void
l_drop(union sem *s)
{
    cfut_semaphore_drop(&s->l);
}
static int
l_try_acquire(union sem *s, size_t n, union permit *p)
{
    return cfut_semaphore_try_acquire(&s->l, n, &p->l);
}
static void
l_acquire_init(union acquire *f, union sem *s, size_t n)
{
    cfut_semaphore_acquire_init(&f->l, &s->l, n);
}
static void
l_permit_drop(union permit *p)
{
    cfut_semaphore_permit_drop(&p->l);
}
static void
l_permit_forget(union permit *p)
{
    cfut_semaphore_permit_forget(&p->l);
}
static int
l_add(union sem *s, size_t n)
{
    return cfut_semaphore_add_permits(&s->l, n);
}
static void
l_close(union sem *s)
{
    cfut_semaphore_close(&s->l);
}
static bool
l_is_closed(union sem *s)
{
    return cfut_semaphore_is_closed(&s->l);
}
static size_t
l_available(union sem *s)
{
    return cfut_semaphore_available(&s->l);
}

static int
s_make(size_t n, union sem *s)
{
    return cfut_semaphore_sync_new(n, &s->s);
}
static union sem
s_clone(union sem *s)
{
    union sem u;
    u.s = cfut_semaphore_sync_clone(&s->s);
    return u;
}
static void
s_drop(union sem *s)
{
    cfut_semaphore_sync_drop(&s->s);
}
static int
s_try_acquire(union sem *s, size_t n, union permit *p)
{
    return cfut_semaphore_sync_try_acquire(&s->s, n, &p->l);
}
static void
s_acquire_init(union acquire *f, union sem *s, size_t n)
{
    cfut_semaphore_sync_acquire_init(&f->l, &s->s, n);
}
static void
s_permit_drop(union permit *p)
{
    cfut_semaphore_permit_drop(&p->l);
}
static void
s_permit_forget(union permit *p)
{
    cfut_semaphore_permit_forget(&p->l);
}
static int
s_add(union sem *s, size_t n)
{
    return cfut_semaphore_sync_add_permits(&s->s, n);
}
static void
s_close(union sem *s)
{
    cfut_semaphore_sync_close(&s->s);
}
static bool
s_is_closed(union sem *s)
{
    return cfut_semaphore_sync_is_closed(&s->s);
}
static size_t
s_available(union sem *s)
{
    return cfut_semaphore_sync_available(&s->s);
}

static const struct skind kinds[2] = {
    {l_make, l_clone, l_drop, l_try_acquire, l_acquire_init, l_permit_drop,
     l_permit_forget, l_add, l_close, l_is_closed, l_available},
    {s_make, s_clone, s_drop, s_try_acquire, s_acquire_init, s_permit_drop,
     s_permit_forget, s_add, s_close, s_is_closed, s_available},
};

/* An acquire future with its counting waker and output. */
struct waiter {
    union acquire f;
    struct testkit_waker tw;
    struct cfut_waker w;
    struct acquired out;
};

/* Starts 'x' acquiring 'n': its first poll must be PENDING. */
static void
wait_for(const struct skind *k, union sem *s, struct waiter *x, size_t n)
{
    x->w = testkit_waker_init(&x->tw);
    k->acquire_init(&x->f, s, n);
    ck_assert_int_eq(testkit_poll(&x->f.base, &x->w, &x->out), CFUT_PENDING);
}

/* Polls 'x' once more. */
static enum cfut_poll
poll_waiter(struct waiter *x)
{
    return testkit_poll(&x->f.base, &x->w, &x->out);
}

/* ---- acquiring and giving back ---- */

START_TEST(test_semaphore_try_acquire_takes_and_a_permits_drop_gives_back)
{
    const struct skind *k = &kinds[_i];
    union sem s;
    ck_assert_int_eq(k->make(5, &s), CFUT_OK);
    union permit a, b, none;

    ck_assert_int_eq(k->try_acquire(&s, 3, &a), CFUT_OK);
    ck_assert_uint_eq(a.l.n, 3);
    ck_assert_uint_eq(k->available(&s), 2);
    ck_assert_int_eq(k->try_acquire(&s, 3, &b), CFUT_EAGAIN);
    ck_assert_int_eq(k->try_acquire(&s, 2, &b), CFUT_OK);
    ck_assert_int_eq(k->try_acquire(&s, 0, &none), CFUT_OK);
    ck_assert_uint_eq(k->available(&s), 0);

    k->permit_drop(&a);
    ck_assert_uint_eq(k->available(&s), 3);
    ck_assert_uint_eq(a.l.n, 0);
    k->permit_drop(&a); /* an empty permit: a no-op */
    k->permit_drop(&b);
    k->permit_drop(&none);
    ck_assert_uint_eq(k->available(&s), 5);
    k->drop(&s);
}
END_TEST

START_TEST(test_semaphore_acquire_is_ready_at_once_with_room)
{
    const struct skind *k = &kinds[_i];
    union sem s;
    ck_assert_int_eq(k->make(2, &s), CFUT_OK);
    union acquire f;
    k->acquire_init(&f, &s, 2);
    struct acquired out = {99, {{0, NULL, NULL}}};

    enum cfut_poll p = testkit_poll(&f.base, testkit_waker_aborting(), &out);

    ck_assert_int_eq(p, CFUT_READY);
    ck_assert_int_eq(out.status, CFUT_OK);
    ck_assert_uint_eq(out.permit.l.n, 2);
    ck_assert_uint_eq(k->available(&s), 0);
    cfut_future_drop(&f.base); /* the permit is the output's now */
    ck_assert_uint_eq(k->available(&s), 0);
    k->permit_drop(&out.permit);
    ck_assert_uint_eq(k->available(&s), 2);
    k->drop(&s);
}
END_TEST

START_TEST(test_semaphore_a_spent_budget_makes_acquire_yield_without_taking)
{
    const struct skind *k = &kinds[_i];
    union sem s;
    ck_assert_int_eq(k->make(1, &s), CFUT_OK);
    struct testkit_waker tw;
    struct cfut_waker w = testkit_waker_init(&tw);
    uint32_t budget = 0;
    struct cfut_context cx;
    cfut_context_init(&cx, &w);
    cx.budget = &budget;
    union acquire f;
    k->acquire_init(&f, &s, 1);
    struct acquired out;

    ck_assert_int_eq(cfut_future_poll(&f.base, &cx, &out), CFUT_PENDING);

    ck_assert_int_eq(testkit_waker_n_wakes(&tw), 1);
    ck_assert_uint_eq(k->available(&s), 1);
    budget = 1;
    ck_assert_int_eq(cfut_future_poll(&f.base, &cx, &out), CFUT_READY);
    ck_assert_int_eq(out.status, CFUT_OK);
    cfut_future_drop(&f.base);
    k->permit_drop(&out.permit);
    k->drop(&s);
}
END_TEST

START_TEST(test_semaphore_a_permits_drop_wakes_the_waiter_it_completes)
{
    const struct skind *k = &kinds[_i];
    union sem s;
    ck_assert_int_eq(k->make(1, &s), CFUT_OK);
    union permit held;
    ck_assert_int_eq(k->try_acquire(&s, 1, &held), CFUT_OK);
    struct waiter x;
    wait_for(k, &s, &x, 1);
    ck_assert_int_eq(poll_waiter(&x), CFUT_PENDING); /* waker kept */
    ck_assert_int_eq(testkit_wakers_live(), 1);

    k->permit_drop(&held);

    ck_assert_int_eq(testkit_waker_n_wakes(&x.tw), 1);
    ck_assert_uint_eq(k->available(&s), 0); /* assigned to the waiter */
    union permit other;
    ck_assert_int_eq(k->try_acquire(&s, 1, &other), CFUT_EAGAIN);
    ck_assert_int_eq(poll_waiter(&x), CFUT_READY);
    ck_assert_int_eq(x.out.status, CFUT_OK);
    cfut_future_drop(&x.f.base);
    k->permit_drop(&x.out.permit);
    ck_assert_uint_eq(k->available(&s), 1);
    k->drop(&s);
}
END_TEST

/* ---- fairness ---- */

START_TEST(test_semaphore_a_big_request_at_the_head_is_not_starved)
{
    const struct skind *k = &kinds[_i];
    union sem s;
    ck_assert_int_eq(k->make(4, &s), CFUT_OK);
    union permit one[4];
    for (int j = 0; j < 4; j++)
        ck_assert_int_eq(k->try_acquire(&s, 1, &one[j]), CFUT_OK);
    struct waiter big, small;
    wait_for(k, &s, &big, 3);
    wait_for(k, &s, &small, 1);

    /* Each permit given back goes to the head until it has its 3; the
     * small one behind it waits, and try_acquire cannot cut in. */
    for (int j = 0; j < 3; j++) {
        union permit cut;
        ck_assert_int_eq(testkit_waker_n_wakes(&big.tw), 0);
        k->permit_drop(&one[j]);
        ck_assert_uint_eq(k->available(&s), 0);
        ck_assert_int_eq(k->try_acquire(&s, 1, &cut), CFUT_EAGAIN);
        ck_assert_int_eq(testkit_waker_n_wakes(&small.tw), 0);
    }

    ck_assert_int_eq(testkit_waker_n_wakes(&big.tw), 1);
    ck_assert_int_eq(poll_waiter(&big), CFUT_READY);
    ck_assert_uint_eq(big.out.permit.l.n, 3);
    ck_assert_int_eq(poll_waiter(&small), CFUT_PENDING);
    k->permit_drop(&one[3]);
    ck_assert_int_eq(testkit_waker_n_wakes(&small.tw), 1);
    ck_assert_int_eq(poll_waiter(&small), CFUT_READY);
    cfut_future_drop(&big.f.base);
    cfut_future_drop(&small.f.base);
    k->permit_drop(&big.out.permit);
    k->permit_drop(&small.out.permit);
    ck_assert_uint_eq(k->available(&s), 4);
    k->drop(&s);
}
END_TEST

START_TEST(test_semaphore_one_release_serves_every_waiter_it_covers_in_order)
{
    const struct skind *k = &kinds[_i];
    union sem s;
    ck_assert_int_eq(k->make(0, &s), CFUT_OK);
    struct waiter x[4];
    size_t want[4] = {1, 2, 1, 5};
    for (int j = 0; j < 4; j++)
        wait_for(k, &s, &x[j], want[j]);

    ck_assert_int_eq(k->add(&s, 6), CFUT_OK); /* 1 + 2 + 1, then 2 of 5 */

    for (int j = 0; j < 4; j++)
        ck_assert_int_eq(testkit_waker_n_wakes(&x[j].tw), j < 3 ? 1 : 0);
    ck_assert_uint_eq(k->available(&s), 0);
    for (int j = 0; j < 3; j++) {
        ck_assert_int_eq(poll_waiter(&x[j]), CFUT_READY);
        cfut_future_drop(&x[j].f.base);
        k->permit_drop(&x[j].out.permit); /* to the 5 first: 1, then 2 */
        ck_assert_int_eq(testkit_waker_n_wakes(&x[3].tw), j < 1 ? 0 : 1);
    }
    ck_assert_uint_eq(k->available(&s), 1); /* x[2]'s, nobody wanted it */
    ck_assert_int_eq(poll_waiter(&x[3]), CFUT_READY);
    cfut_future_drop(&x[3].f.base);
    k->permit_drop(&x[3].out.permit);
    ck_assert_uint_eq(k->available(&s), 6);
    k->drop(&s);
}
END_TEST

/* ---- cancellation ---- */

START_TEST(test_semaphore_a_dropped_waiter_gives_what_it_was_assigned_on)
{
    const struct skind *k = &kinds[_i];
    union sem s;
    ck_assert_int_eq(k->make(2, &s), CFUT_OK);
    struct waiter big, next;
    wait_for(k, &s, &big, 3); /* takes the 2 there are, waits for 1 */
    ck_assert_uint_eq(k->available(&s), 0);
    wait_for(k, &s, &next, 1);

    cfut_future_drop(&big.f.base);

    ck_assert_int_eq(testkit_waker_n_wakes(&big.tw), 0);
    ck_assert_int_eq(testkit_waker_n_wakes(&next.tw), 1);
    ck_assert_uint_eq(k->available(&s), 1);
    ck_assert_int_eq(poll_waiter(&next), CFUT_READY);
    cfut_future_drop(&next.f.base);
    k->permit_drop(&next.out.permit);
    ck_assert_uint_eq(k->available(&s), 2);
    ck_assert_int_eq(testkit_wakers_live(), 0);
    k->drop(&s);
}
END_TEST

START_TEST(test_semaphore_a_served_waiter_dropped_before_its_poll_gives_back)
{
    const struct skind *k = &kinds[_i];
    union sem s;
    ck_assert_int_eq(k->make(1, &s), CFUT_OK);
    union permit held;
    ck_assert_int_eq(k->try_acquire(&s, 1, &held), CFUT_OK);
    struct waiter x, y;
    wait_for(k, &s, &x, 1);
    wait_for(k, &s, &y, 1);
    k->permit_drop(&held); /* x is served and woken */
    ck_assert_int_eq(testkit_waker_n_wakes(&x.tw), 1);

    cfut_future_drop(&x.f.base); /* never saw it: the permit goes on */

    ck_assert_int_eq(testkit_waker_n_wakes(&y.tw), 1);
    ck_assert_int_eq(poll_waiter(&y), CFUT_READY);
    cfut_future_drop(&y.f.base);
    k->permit_drop(&y.out.permit);
    ck_assert_uint_eq(k->available(&s), 1);
    k->drop(&s);
}
END_TEST

/* ---- close, add, forget, lifetime ---- */

START_TEST(test_semaphore_close_fails_waiters_and_later_acquires)
{
    const struct skind *k = &kinds[_i];
    union sem s;
    ck_assert_int_eq(k->make(1, &s), CFUT_OK);
    struct waiter big;
    wait_for(k, &s, &big, 2); /* holds 1 of 2 */
    union permit p;

    k->close(&s);

    ck_assert(k->is_closed(&s));
    ck_assert_int_eq(testkit_waker_n_wakes(&big.tw), 1);
    ck_assert_int_eq(poll_waiter(&big), CFUT_READY);
    ck_assert_int_eq(big.out.status, CFUT_ECLOSED);
    ck_assert_ptr_null(big.out.permit.l.shared);
    cfut_future_drop(&big.f.base);
    ck_assert_uint_eq(k->available(&s), 1); /* its part came back */
    ck_assert_int_eq(k->try_acquire(&s, 1, &p), CFUT_ECLOSED);
    union acquire f;
    struct acquired out;
    k->acquire_init(&f, &s, 1);
    ck_assert_int_eq(testkit_poll(&f.base, testkit_waker_aborting(), &out),
                     CFUT_READY);
    ck_assert_int_eq(out.status, CFUT_ECLOSED);
    cfut_future_drop(&f.base);
    k->close(&s); /* twice: a no-op */
    k->drop(&s);
}
END_TEST

START_TEST(test_semaphore_permits_held_at_the_close_stay_valid)
{
    const struct skind *k = &kinds[_i];
    union sem s;
    ck_assert_int_eq(k->make(2, &s), CFUT_OK);
    union permit p;
    ck_assert_int_eq(k->try_acquire(&s, 2, &p), CFUT_OK);

    k->close(&s);
    k->drop(&s); /* the permit keeps the state */

    ck_assert_int_eq(testkit_alloc_live(), 1);
    k->permit_drop(&p);
    ck_assert_int_eq(testkit_alloc_live(), 0);
}
END_TEST

START_TEST(test_semaphore_add_permits_keeps_to_the_maximum)
{
    const struct skind *k = &kinds[_i];
    union sem s;
    ck_assert_int_eq(k->make(CFUT_SEMAPHORE_MAX_PERMITS - 1, &s), CFUT_OK);
    union permit p;
    ck_assert_int_eq(k->try_acquire(&s, 10, &p), CFUT_OK);

    /* Held permits count: the total may not pass the maximum. */
    ck_assert_int_eq(k->add(&s, 2), CFUT_EINVAL);
    ck_assert_int_eq(k->add(&s, 1), CFUT_OK);
    ck_assert_int_eq(k->add(&s, 1), CFUT_EINVAL);

    ck_assert_uint_eq(k->available(&s), CFUT_SEMAPHORE_MAX_PERMITS - 10);
    ck_assert_int_eq(k->try_acquire(&s, CFUT_SEMAPHORE_MAX_PERMITS + 1, &p),
                     CFUT_EINVAL);
    k->permit_drop(&p);
    ck_assert_uint_eq(k->available(&s), CFUT_SEMAPHORE_MAX_PERMITS);
    k->drop(&s);
}
END_TEST

START_TEST(test_semaphore_a_forgotten_permit_is_gone_for_good)
{
    const struct skind *k = &kinds[_i];
    union sem s;
    ck_assert_int_eq(k->make(3, &s), CFUT_OK);
    union permit p;
    ck_assert_int_eq(k->try_acquire(&s, 2, &p), CFUT_OK);

    k->permit_forget(&p);

    ck_assert_ptr_null(p.l.shared);
    ck_assert_uint_eq(k->available(&s), 1);
    ck_assert_int_eq(k->add(&s, CFUT_SEMAPHORE_MAX_PERMITS - 1), CFUT_OK);
    k->drop(&s);
}
END_TEST

/* What a served waiter's waker does: it asks the semaphore at once. */
struct asker {
    const struct skind *k;
    union sem *s;
    size_t available_seen;
};

static void
ask_at_once(void *arg)
{
    struct asker *a = arg;
    a->available_seen = a->k->available(a->s);
}

START_TEST(test_semaphore_a_woken_waiter_may_call_into_the_semaphore_at_once)
{
    const struct skind *k = &kinds[_i];
    union sem s;
    ck_assert_int_eq(k->make(0, &s), CFUT_OK);
    struct asker a = {k, &s, 99};
    struct waiter x;
    x.w = testkit_waker_init_calling(&x.tw, ask_at_once, &a);
    k->acquire_init(&x.f, &s, 1);
    ck_assert_int_eq(poll_waiter(&x), CFUT_PENDING);

    ck_assert_int_eq(k->add(&s, 3), CFUT_OK);

    ck_assert_int_eq(testkit_waker_n_wakes(&x.tw), 1);
    ck_assert_uint_eq(a.available_seen, 2);
    cfut_future_drop(&x.f.base);
    k->drop(&s);
}
END_TEST

/* ---- tasks ---- */

/* A worker task: holds one permit while it yields a few times (or, given
 * a negative count, until it is dropped). */
struct worker {
    struct cfut_future base;
    const struct skind *k;
    union sem s;
    int state; /* 0: acquiring, 1: working */
    union acquire acq;
    union permit permit;
    int n_yields;
    int *in_use, *max_in_use;
};

static enum cfut_poll
worker_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    (void)out;
    struct worker *w = cfut_container_of(f, struct worker, base);
    if (w->state == 0) {
        struct acquired got;
        if (cfut_future_poll(&w->acq.base, cx, &got) == CFUT_PENDING)
            return CFUT_PENDING;
        cfut_future_drop(&w->acq.base);
        ck_assert_int_eq(got.status, CFUT_OK);
        w->permit = got.permit;
        w->state = 1;
        if (++*w->in_use > *w->max_in_use)
            *w->max_in_use = *w->in_use;
    }
    if (w->n_yields < 0)
        return CFUT_PENDING; /* holds its permit until dropped */
    if (w->n_yields-- > 0) {
        cfut_waker_wake_by_ref(cx->waker);
        return CFUT_PENDING;
    }
    --*w->in_use;
    w->k->permit_drop(&w->permit);
    w->state = 2;
    return CFUT_READY;
}

static void
worker_drop(struct cfut_future *f)
{
    struct worker *w = cfut_container_of(f, struct worker, base);
    if (w->state == 0)
        cfut_future_drop(&w->acq.base);
    else if (w->state == 1)
        w->k->permit_drop(&w->permit);
    w->k->drop(&w->s);
}

static const struct cfut_future_vtable worker_vtable = {
    worker_poll, worker_drop, 0, "worker", NULL};

static void
spawn_workers(const struct skind *k, union sem *s, int n, bool hold,
              int *in_use, int *max_in_use, atomic_int *n_done)
{
    for (int j = 0; j < n; j++) {
        struct worker w;
        memset(&w, 0, sizeof w);
        cfut_future_init(&w.base, &worker_vtable);
        w.k = k;
        w.s = k->clone(s);
        k->acquire_init(&w.acq, &w.s, 1);
        w.n_yields = hold ? -1 : 1 + j % 4;
        w.in_use = in_use;
        w.max_in_use = max_in_use;
        testkit_await_spawn(testkit_ex, &w.base, sizeof w, NULL, n_done);
    }
}

START_TEST(test_semaphore_limits_how_many_tasks_work_at_once)
{
    const struct skind *k = &kinds[_i];
    union sem s;
    ck_assert_int_eq(k->make(3, &s), CFUT_OK);
    int in_use = 0, max_in_use = 0;
    atomic_int n_done = 0;
    spawn_workers(k, &s, 20, false, &in_use, &max_in_use, &n_done);

    ck_assert_int_eq(cfut_executor_run(testkit_ex), CFUT_OK);

    ck_assert_int_eq(atomic_load(&n_done), 20);
    ck_assert_int_eq(max_in_use, 3);
    ck_assert_uint_eq(k->available(&s), 3);
    k->drop(&s);
}
END_TEST

START_TEST(test_semaphore_dropping_waiting_tasks_gives_every_permit_back)
{
    const struct skind *k = &kinds[_i];
    union sem s;
    ck_assert_int_eq(k->make(2, &s), CFUT_OK);
    int in_use = 0, max_in_use = 0;
    spawn_workers(k, &s, 6, true, &in_use, &max_in_use, NULL);
    ck_assert_int_eq(cfut_executor_run_ready(testkit_ex), CFUT_OK);
    ck_assert_int_eq(in_use, 2); /* the others wait */

    cfut_executor_free(testkit_ex); /* drops workers and waiters alike */
    testkit_ex = NULL;

    ck_assert_uint_eq(k->available(&s), 2);
    ck_assert_int_eq(testkit_wakers_live(), 0);
    k->drop(&s);
}
END_TEST

/* ---- allocation and misuse ---- */

START_TEST(test_semaphore_new_reports_enomem_and_rejects_bad_arguments)
{
    const struct skind *k = &kinds[_i];
    union sem s = {{NULL}};
    testkit_alloc_fail_at(1);
    ck_assert_int_eq(k->make(1, &s), CFUT_ENOMEM);
    testkit_alloc_fail_at(0);
    ck_assert_ptr_null(s.l.shared);
    ck_assert_int_eq(testkit_alloc_live(), 0);

    ck_assert_int_eq(k->make(CFUT_SEMAPHORE_MAX_PERMITS + 1, &s), CFUT_EINVAL);
    ck_assert_int_eq(cfut_semaphore_new(1, NULL), CFUT_EINVAL);
    ck_assert_int_eq(cfut_semaphore_sync_new(1, NULL), CFUT_EINVAL);
    ck_assert_int_eq(testkit_alloc_live(), 0);
}
END_TEST

START_TEST(test_semaphore_acquire_over_the_maximum_fails_at_once)
{
    const struct skind *k = &kinds[_i];
    union sem s;
    ck_assert_int_eq(k->make(1, &s), CFUT_OK);
    union acquire f;
    struct acquired out;
    k->acquire_init(&f, &s, CFUT_SEMAPHORE_MAX_PERMITS + 1);

    ck_assert_int_eq(testkit_poll(&f.base, testkit_waker_aborting(), &out),
                     CFUT_READY);

    ck_assert_int_eq(out.status, CFUT_EINVAL);
    cfut_future_drop(&f.base);
    ck_assert_uint_eq(k->available(&s), 1);
    k->drop(&s);
}
END_TEST

START_TEST(test_semaphore_acquire_on_an_empty_handle_aborts)
{
    struct cfut_semaphore s = {NULL};
    struct cfut_semaphore_permit p;

    cfut_semaphore_try_acquire(&s, 1, &p);
}
END_TEST

/* ---- threads ---- */

#define N_THREADS 4
#define N_ROUNDS 2000
#define N_PERMITS 3

struct racer {
    struct cfut_semaphore_sync s;
    atomic_int *in_use;
    atomic_int *max_in_use;
};

static void *
race(void *arg)
{
    struct racer *r = arg;
    struct cfut_executor *ex;
    if (cfut_executor_new(&ex) != CFUT_OK)
        abort();
    for (int i = 0; i < N_ROUNDS; i++) {
        int n = 1 + i % 2;
        struct cfut_semaphore_permit p;
        if (i % 3 != 0 ||
            cfut_semaphore_sync_try_acquire(&r->s, (size_t)n, &p) != CFUT_OK) {
            struct cfut_semaphore_acquire f;
            cfut_semaphore_sync_acquire_init(&f, &r->s, (size_t)n);
            struct cfut_semaphore_acquired out;
            if (cfut_block_on(ex, &f.base, &out) != CFUT_OK ||
                out.status != CFUT_OK)
                abort();
            p = out.permit;
        }
        int now = atomic_fetch_add(r->in_use, n) + n;
        int max = atomic_load(r->max_in_use);
        while (now > max &&
               !atomic_compare_exchange_weak(r->max_in_use, &max, now))
            ;
        atomic_fetch_sub(r->in_use, n);
        cfut_semaphore_permit_drop(&p);
    }
    cfut_semaphore_sync_drop(&r->s);
    cfut_executor_free(ex);
    return NULL;
}

START_TEST(test_semaphore_sync_threads_never_hold_more_than_there_are)
{
    /* Its threads abort on a failed call: no allocation sweep here. */
    testkit_alloc_sweep_off();
    struct cfut_semaphore_sync s;
    ck_assert_int_eq(cfut_semaphore_sync_new(N_PERMITS, &s), CFUT_OK);
    atomic_int in_use = 0, max_in_use = 0;
    struct racer r[N_THREADS];
    pthread_t th[N_THREADS];
    for (int i = 0; i < N_THREADS; i++) {
        r[i] =
            (struct racer){cfut_semaphore_sync_clone(&s), &in_use, &max_in_use};
        ck_assert_int_eq(pthread_create(&th[i], NULL, race, &r[i]), 0);
    }

    for (int i = 0; i < N_THREADS; i++)
        pthread_join(th[i], NULL);

    ck_assert_int_le(atomic_load(&max_in_use), N_PERMITS);
    ck_assert_uint_eq(cfut_semaphore_sync_available(&s), N_PERMITS);
    cfut_semaphore_sync_drop(&s);
}
END_TEST

static Suite *
semaphore_suite(void)
{
    Suite *s = suite_create("semaphore");
    TCase *tc = tcase_create("acquiring");
    testkit_fixture(tc);
    tcase_add_loop_test(
        tc, test_semaphore_try_acquire_takes_and_a_permits_drop_gives_back, 0,
        2);
    tcase_add_loop_test(tc, test_semaphore_acquire_is_ready_at_once_with_room,
                        0, 2);
    tcase_add_loop_test(
        tc, test_semaphore_a_spent_budget_makes_acquire_yield_without_taking, 0,
        2);
    tcase_add_loop_test(
        tc, test_semaphore_a_permits_drop_wakes_the_waiter_it_completes, 0, 2);
    suite_add_tcase(s, tc);

    tc = tcase_create("fairness and cancellation");
    testkit_fixture(tc);
    tcase_add_loop_test(
        tc, test_semaphore_a_big_request_at_the_head_is_not_starved, 0, 2);
    tcase_add_loop_test(
        tc, test_semaphore_one_release_serves_every_waiter_it_covers_in_order,
        0, 2);
    tcase_add_loop_test(
        tc, test_semaphore_a_dropped_waiter_gives_what_it_was_assigned_on, 0,
        2);
    tcase_add_loop_test(
        tc, test_semaphore_a_served_waiter_dropped_before_its_poll_gives_back,
        0, 2);
    suite_add_tcase(s, tc);

    tc = tcase_create("close, add, forget");
    testkit_fixture(tc);
    tcase_add_loop_test(
        tc, test_semaphore_close_fails_waiters_and_later_acquires, 0, 2);
    tcase_add_loop_test(tc, test_semaphore_permits_held_at_the_close_stay_valid,
                        0, 2);
    tcase_add_loop_test(tc, test_semaphore_add_permits_keeps_to_the_maximum, 0,
                        2);
    tcase_add_loop_test(tc, test_semaphore_a_forgotten_permit_is_gone_for_good,
                        0, 2);
    tcase_add_loop_test(
        tc, test_semaphore_a_woken_waiter_may_call_into_the_semaphore_at_once,
        0, 2);
    suite_add_tcase(s, tc);

    tc = tcase_create("tasks");
    testkit_executor_fixture(tc);
    tcase_add_loop_test(tc, test_semaphore_limits_how_many_tasks_work_at_once,
                        0, 2);
    tcase_add_loop_test(
        tc, test_semaphore_dropping_waiting_tasks_gives_every_permit_back, 0,
        2);
    suite_add_tcase(s, tc);

    tc = tcase_create("allocation and misuse");
    testkit_fixture(tc);
    tcase_add_loop_test(
        tc, test_semaphore_new_reports_enomem_and_rejects_bad_arguments, 0, 2);
    tcase_add_loop_test(
        tc, test_semaphore_acquire_over_the_maximum_fails_at_once, 0, 2);
    testkit_add_assert_test(tc,
                            test_semaphore_acquire_on_an_empty_handle_aborts);
    suite_add_tcase(s, tc);

    tc = tcase_create("threads");
    testkit_fixture(tc);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc,
                   test_semaphore_sync_threads_never_hold_more_than_there_are);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return testkit_run(semaphore_suite());
}
