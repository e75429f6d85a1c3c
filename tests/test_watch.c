/*
 * test_watch.c: the watch channel, both kinds: the initial value and
 * versions, the changed future before and after a send, receivers that
 * fall behind, closing, a send with no receiver, values that own memory
 * (copy and drop hooks), borrowing (local kind), dropped changed futures,
 * wakers that call back in, watcher tasks and their cancellation,
 * allocation failure, misuse, and a sender racing readers on threads
 * (never a torn value). Every test body that can runs on both kinds (the
 * kind table).
 */
#define _GNU_SOURCE
#include "testkit.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* ---- both kinds behind one table ---- */

union wtx {
    struct cfut_watch_sender l;
    struct cfut_watch_sync_sender s;
};
union wrx {
    struct cfut_watch_receiver l;
    struct cfut_watch_sync_receiver s;
};
/* The changed future is one type in both kinds. */
union wchanged {
    struct cfut_future base;
    struct cfut_watch_changed f;
};

struct wkind {
    int (*make)(size_t, const void *, const struct cfut_channel_value_ops *,
                union wtx *, union wrx *);
    int (*send)(union wtx *, const void *);
    union wrx (*subscribe)(union wtx *);
    bool (*is_closed)(union wtx *);
    void (*sender_drop)(union wtx *);
    union wrx (*clone)(union wrx *);
    void (*receiver_drop)(union wrx *);
    uint64_t (*get)(union wrx *, void *);
    bool (*has_changed)(union wrx *);
    void (*changed_init)(union wchanged *, union wrx *);
};

static int
l_make(size_t n, const void *v, const struct cfut_channel_value_ops *o,
       union wtx *t, union wrx *r)
{
    return cfut_watch_new(n, v, o, &t->l, &r->l);
}
static int
l_send(union wtx *t, const void *v)
{
    return cfut_watch_send(&t->l, v);
}
static union wrx
l_subscribe(union wtx *t)
{
    union wrx u;
    u.l = cfut_watch_subscribe(&t->l);
    return u;
}
static bool
l_is_closed(union wtx *t)
{
    return cfut_watch_sender_is_closed(&t->l);
}
static void
l_sender_drop(union wtx *t)
{
    cfut_watch_sender_drop(&t->l);
}
static union wrx
l_clone(union wrx *r)
{
    union wrx u;
    u.l = cfut_watch_receiver_clone(&r->l);
    return u;
}
static void
l_receiver_drop(union wrx *r)
{
    cfut_watch_receiver_drop(&r->l);
}
static uint64_t
l_get(union wrx *r, void *out)
{
    return cfut_watch_get(&r->l, out);
}
static bool
l_has_changed(union wrx *r)
{
    return cfut_watch_has_changed(&r->l);
}
static void
l_changed_init(union wchanged *f, union wrx *r)
{
    cfut_watch_changed_init(&f->f, &r->l);
}

static int
s_make(size_t n, const void *v, const struct cfut_channel_value_ops *o,
       union wtx *t, union wrx *r)
{
    return cfut_watch_sync_new(n, v, o, &t->s, &r->s);
}
static int
s_send(union wtx *t, const void *v)
{
    return cfut_watch_sync_send(&t->s, v);
}
static union wrx
s_subscribe(union wtx *t)
{
    union wrx u;
    u.s = cfut_watch_sync_subscribe(&t->s);
    return u;
}
static bool
s_is_closed(union wtx *t)
{
    return cfut_watch_sync_sender_is_closed(&t->s);
}
static void
s_sender_drop(union wtx *t)
{
    cfut_watch_sync_sender_drop(&t->s);
}
static union wrx
s_clone(union wrx *r)
{
    union wrx u;
    u.s = cfut_watch_sync_receiver_clone(&r->s);
    return u;
}
static void
s_receiver_drop(union wrx *r)
{
    cfut_watch_sync_receiver_drop(&r->s);
}
static uint64_t
s_get(union wrx *r, void *out)
{
    return cfut_watch_sync_get(&r->s, out);
}
static bool
s_has_changed(union wrx *r)
{
    return cfut_watch_sync_has_changed(&r->s);
}
static void
s_changed_init(union wchanged *f, union wrx *r)
{
    cfut_watch_sync_changed_init(&f->f, &r->s);
}

static const struct wkind kinds[2] = {
    {l_make, l_send, l_subscribe, l_is_closed, l_sender_drop, l_clone,
     l_receiver_drop, l_get, l_has_changed, l_changed_init},
    {s_make, s_send, s_subscribe, s_is_closed, s_sender_drop, s_clone,
     s_receiver_drop, s_get, s_has_changed, s_changed_init},
};

/* A channel of u64 values, and a counting waker. */
struct chan {
    const struct wkind *k;
    union wtx tx;
    union wrx rx;
    struct testkit_waker tw;
    struct cfut_waker w;
};

static void
chan_init(struct chan *c, int kind, uint64_t initial)
{
    c->k = &kinds[kind];
    ck_assert_int_eq(
        c->k->make(sizeof(uint64_t), &initial, NULL, &c->tx, &c->rx), CFUT_OK);
    c->w = testkit_waker_init(&c->tw);
}

static void
chan_send(struct chan *c, uint64_t v)
{
    ck_assert_int_eq(c->k->send(&c->tx, &v), CFUT_OK);
}

/* ---- values and versions ---- */

START_TEST(test_watch_receivers_read_the_initial_value_then_each_send)
{
    struct chan c;
    chan_init(&c, _i, 7);
    uint64_t v = 0;

    ck_assert(!c.k->has_changed(&c.rx));
    ck_assert_uint_eq(c.k->get(&c.rx, &v), 0);
    ck_assert_uint_eq(v, 7);
    chan_send(&c, 8);
    ck_assert(c.k->has_changed(&c.rx));
    union wrx late = c.k->subscribe(&c.tx); /* has seen version 1 */
    ck_assert(!c.k->has_changed(&late));
    union wrx twin = c.k->clone(&c.rx); /* has seen what rx saw: 0 */

    ck_assert(c.k->has_changed(&twin));
    ck_assert_uint_eq(c.k->get(&c.rx, &v), 1);
    ck_assert_uint_eq(v, 8);
    ck_assert(!c.k->has_changed(&c.rx));
    ck_assert(c.k->has_changed(&twin));
    chan_send(&c, 9);
    ck_assert_uint_eq(c.k->get(&late, &v), 2);
    ck_assert_uint_eq(v, 9);
    c.k->receiver_drop(&late);
    c.k->receiver_drop(&twin);
    c.k->sender_drop(&c.tx);
    c.k->receiver_drop(&c.rx);
}
END_TEST

START_TEST(test_watch_a_zero_size_value_is_a_bare_change_signal)
{
    const struct wkind *k = &kinds[_i];
    union wtx tx;
    union wrx rx;
    ck_assert_int_eq(k->make(0, NULL, NULL, &tx, &rx), CFUT_OK);

    ck_assert_int_eq(k->send(&tx, NULL), CFUT_OK);
    ck_assert_int_eq(k->send(&tx, NULL), CFUT_OK);

    ck_assert_uint_eq(k->get(&rx, NULL), 2);
    k->sender_drop(&tx);
    k->receiver_drop(&rx);
}
END_TEST

START_TEST(test_watch_changed_is_ready_at_once_after_a_send)
{
    struct chan c;
    chan_init(&c, _i, 0);
    chan_send(&c, 1);
    union wchanged f;
    c.k->changed_init(&f, &c.rx);
    int st = 99;

    enum cfut_poll p = testkit_poll(&f.base, testkit_waker_aborting(), &st);

    ck_assert_int_eq(p, CFUT_READY);
    ck_assert_int_eq(st, CFUT_OK);
    ck_assert(!c.k->has_changed(&c.rx)); /* it counts as seen */
    cfut_future_drop(&f.base);
    c.k->sender_drop(&c.tx);
    c.k->receiver_drop(&c.rx);
}
END_TEST

START_TEST(test_watch_a_send_wakes_every_waiting_receiver_once)
{
    struct chan c;
    chan_init(&c, _i, 0);
    union wrx rx[3];
    union wchanged f[3];
    struct testkit_waker tw[3];
    struct cfut_waker w[3];
    int st = 99;
    for (int j = 0; j < 3; j++) {
        rx[j] = c.k->subscribe(&c.tx);
        w[j] = testkit_waker_init(&tw[j]);
        c.k->changed_init(&f[j], &rx[j]);
        ck_assert_int_eq(testkit_poll(&f[j].base, &w[j], &st), CFUT_PENDING);
        ck_assert_int_eq(testkit_poll(&f[j].base, &w[j], &st), CFUT_PENDING);
    }
    ck_assert_int_eq(testkit_wakers_live(), 3);

    chan_send(&c, 5);

    for (int j = 0; j < 3; j++) {
        uint64_t v = 0;
        ck_assert_int_eq(testkit_waker_n_wakes(&tw[j]), 1);
        ck_assert_int_eq(testkit_poll(&f[j].base, &w[j], &st), CFUT_READY);
        ck_assert_int_eq(st, CFUT_OK);
        cfut_future_drop(&f[j].base);
        ck_assert_uint_eq(c.k->get(&rx[j], &v), 1);
        ck_assert_uint_eq(v, 5);
        /* Nothing newer: the next changed future waits. */
        c.k->changed_init(&f[j], &rx[j]);
        ck_assert_int_eq(testkit_poll(&f[j].base, &w[j], &st), CFUT_PENDING);
        cfut_future_drop(&f[j].base);
        c.k->receiver_drop(&rx[j]);
    }
    ck_assert_int_eq(testkit_wakers_live(), 0);
    c.k->sender_drop(&c.tx);
    c.k->receiver_drop(&c.rx);
}
END_TEST

START_TEST(test_watch_a_receiver_that_falls_behind_sees_only_the_latest)
{
    struct chan c;
    chan_init(&c, _i, 0);
    for (uint64_t v = 1; v <= 5; v++)
        chan_send(&c, v * 10);
    union wchanged f;
    c.k->changed_init(&f, &c.rx);
    int st = 99;
    uint64_t v = 0;

    ck_assert_int_eq(testkit_poll(&f.base, &c.w, &st), CFUT_READY);
    cfut_future_drop(&f.base);

    ck_assert_uint_eq(c.k->get(&c.rx, &v), 5);
    ck_assert_uint_eq(v, 50);
    c.k->changed_init(&f, &c.rx);
    ck_assert_int_eq(testkit_poll(&f.base, &c.w, &st), CFUT_PENDING);
    cfut_future_drop(&f.base);
    c.k->sender_drop(&c.tx);
    c.k->receiver_drop(&c.rx);
}
END_TEST

/* ---- closing ---- */

START_TEST(test_watch_the_senders_drop_closes_after_the_last_value_is_seen)
{
    struct chan c;
    chan_init(&c, _i, 0);
    union wrx other = c.k->subscribe(&c.tx);
    union wchanged f;
    c.k->changed_init(&f, &other);
    int st = 99;
    ck_assert_int_eq(testkit_poll(&f.base, &c.w, &st), CFUT_PENDING);
    chan_send(&c, 3);
    ck_assert_int_eq(testkit_poll(&f.base, &c.w, &st), CFUT_READY);
    cfut_future_drop(&f.base);
    c.k->changed_init(&f, &other);
    ck_assert_int_eq(testkit_poll(&f.base, &c.w, &st), CFUT_PENDING);

    c.k->sender_drop(&c.tx);

    /* The waiter wakes to the end; 'rx' has a value it has not seen. */
    ck_assert_int_eq(testkit_waker_n_wakes(&c.tw), 2);
    ck_assert_int_eq(testkit_poll(&f.base, &c.w, &st), CFUT_READY);
    ck_assert_int_eq(st, CFUT_ECLOSED);
    cfut_future_drop(&f.base);
    c.k->changed_init(&f, &c.rx);
    ck_assert_int_eq(testkit_poll(&f.base, &c.w, &st), CFUT_READY);
    ck_assert_int_eq(st, CFUT_OK);
    cfut_future_drop(&f.base);
    c.k->changed_init(&f, &c.rx);
    ck_assert_int_eq(testkit_poll(&f.base, &c.w, &st), CFUT_READY);
    ck_assert_int_eq(st, CFUT_ECLOSED);
    cfut_future_drop(&f.base);
    uint64_t v = 0;
    ck_assert_uint_eq(c.k->get(&c.rx, &v), 1); /* the last value stays */
    ck_assert_uint_eq(v, 3);
    c.k->receiver_drop(&other);
    c.k->receiver_drop(&c.rx);
}
END_TEST

START_TEST(test_watch_a_send_with_no_receiver_fails_and_stores_nothing)
{
    struct chan c;
    chan_init(&c, _i, 1);
    c.k->receiver_drop(&c.rx);
    ck_assert(c.k->is_closed(&c.tx));
    uint64_t v = 2;

    ck_assert_int_eq(c.k->send(&c.tx, &v), CFUT_ECLOSED);

    /* A new receiver makes sends work again; the failed one left no
     * trace. */
    c.rx = c.k->subscribe(&c.tx);
    ck_assert(!c.k->is_closed(&c.tx));
    ck_assert_uint_eq(c.k->get(&c.rx, &v), 0);
    ck_assert_uint_eq(v, 1);
    chan_send(&c, 3);
    ck_assert_uint_eq(c.k->get(&c.rx, &v), 1);
    ck_assert_uint_eq(v, 3);
    c.k->sender_drop(&c.tx);
    c.k->receiver_drop(&c.rx);
}
END_TEST

/* ---- values that own memory ---- */

START_TEST(test_watch_hooks_copy_for_each_reader_and_drop_what_is_replaced)
{
    const struct wkind *k = &kinds[_i];
    union wtx tx;
    union wrx rx;
    struct testkit_box *first = testkit_box_new(1);
    ck_assert_int_eq(k->make(sizeof first, &first, &testkit_box_ops, &tx, &rx),
                     CFUT_OK);
    struct testkit_box *mine = NULL;
    k->get(&rx, &mine); /* a reference of its own */
    ck_assert_ptr_eq(mine, first);
    ck_assert_int_eq(atomic_load(&first->refs), 2);

    struct testkit_box *second = testkit_box_new(2);
    ck_assert_int_eq(k->send(&tx, &second), CFUT_OK);

    /* The channel let go of the first box; the reader's copy holds it. */
    ck_assert_int_eq(atomic_load(&first->refs), 1);
    ck_assert_uint_eq(first->n, 1);
    testkit_box_release(mine);
    ck_assert_int_eq(testkit_boxes_live(), 1);
    /* A failed send leaves the value with the caller. */
    k->receiver_drop(&rx);
    struct testkit_box *third = testkit_box_new(3);
    ck_assert_int_eq(k->send(&tx, &third), CFUT_ECLOSED);
    testkit_box_release(third);
    k->sender_drop(&tx); /* the last: the second box goes with the state */
    ck_assert_int_eq(testkit_boxes_live(), 0);
}
END_TEST

START_TEST(test_watch_borrow_lends_the_current_value_in_place)
{
    struct cfut_watch_sender tx;
    struct cfut_watch_receiver rx;
    uint64_t init = 11;
    ck_assert_int_eq(cfut_watch_new(sizeof init, &init, NULL, &tx, &rx),
                     CFUT_OK);
    uint64_t v = 12, version = 99;
    ck_assert_int_eq(cfut_watch_send(&tx, &v), CFUT_OK);
    ck_assert(cfut_watch_has_changed(&rx));

    const uint64_t *p = cfut_watch_borrow(&rx, &version);

    ck_assert_uint_eq(*p, 12);
    ck_assert_uint_eq(version, 1);
    ck_assert(!cfut_watch_has_changed(&rx));
    ck_assert_uint_eq((uintptr_t)p % _Alignof(max_align_t), 0);
    ck_assert_ptr_eq(cfut_watch_borrow(&rx, NULL), p);
    cfut_watch_sender_drop(&tx);
    cfut_watch_receiver_drop(&rx);
}
END_TEST

/* ---- cancellation, wakers that call back in ---- */

START_TEST(test_watch_a_dropped_changed_future_marks_nothing_seen)
{
    struct chan c;
    chan_init(&c, _i, 0);
    union wchanged f;
    c.k->changed_init(&f, &c.rx);
    int st = 99;
    ck_assert_int_eq(testkit_poll(&f.base, &c.w, &st), CFUT_PENDING);

    cfut_future_drop(&f.base);
    ck_assert_int_eq(testkit_wakers_live(), 0);
    chan_send(&c, 4);

    ck_assert_int_eq(testkit_waker_n_wakes(&c.tw), 0);
    ck_assert(c.k->has_changed(&c.rx));
    c.k->changed_init(&f, &c.rx);
    ck_assert_int_eq(testkit_poll(&f.base, &c.w, &st), CFUT_READY);
    ck_assert_int_eq(st, CFUT_OK);
    cfut_future_drop(&f.base);
    c.k->sender_drop(&c.tx);
    c.k->receiver_drop(&c.rx);
}
END_TEST

/* What a woken reader's waker does: it reads the channel at once. */
struct reader {
    const struct wkind *k;
    union wrx *rx;
    uint64_t value;
};

static void
read_at_once(void *arg)
{
    struct reader *r = arg;
    r->k->get(r->rx, &r->value);
}

START_TEST(test_watch_a_woken_receiver_may_read_the_channel_at_once)
{
    struct chan c;
    chan_init(&c, _i, 0);
    struct reader r = {c.k, &c.rx, 0};
    c.w = testkit_waker_init_calling(&c.tw, read_at_once, &r);
    union wchanged f;
    c.k->changed_init(&f, &c.rx);
    int st = 99;
    ck_assert_int_eq(testkit_poll(&f.base, &c.w, &st), CFUT_PENDING);

    chan_send(&c, 21);

    ck_assert_int_eq(testkit_waker_n_wakes(&c.tw), 1);
    ck_assert_uint_eq(r.value, 21);
    cfut_future_drop(&f.base);
    c.k->sender_drop(&c.tx);
    c.k->receiver_drop(&c.rx);
}
END_TEST

/* ---- tasks ---- */

/* A watcher task: reads every change it is woken for, until closed. */
struct watcher {
    struct cfut_future base;
    const struct wkind *k;
    union wrx rx;
    bool waiting;
    union wchanged changed;
    uint64_t last, n_reads;
};

static enum cfut_poll
watcher_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct watcher *w = cfut_container_of(f, struct watcher, base);
    for (;;) {
        if (!w->waiting) {
            w->k->changed_init(&w->changed, &w->rx);
            w->waiting = true;
        }
        int st;
        if (cfut_future_poll(&w->changed.base, cx, &st) == CFUT_PENDING)
            return CFUT_PENDING;
        cfut_future_drop(&w->changed.base);
        w->waiting = false;
        if (st == CFUT_ECLOSED)
            break;
        uint64_t v;
        w->k->get(&w->rx, &v);
        ck_assert_uint_gt(v, w->last); /* values only go up */
        w->last = v;
        w->n_reads++;
    }
    *(uint64_t *)out = w->last;
    return CFUT_READY;
}

static void
watcher_drop(struct cfut_future *f)
{
    struct watcher *w = cfut_container_of(f, struct watcher, base);
    if (w->waiting)
        cfut_future_drop(&w->changed.base);
    w->k->receiver_drop(&w->rx);
}

static const struct cfut_future_vtable watcher_vtable = {
    watcher_poll, watcher_drop, sizeof(uint64_t), "watcher", NULL};

static void
spawn_watcher(const struct wkind *k, union wtx *tx, uint64_t *last)
{
    struct watcher w;
    memset(&w, 0, sizeof w);
    cfut_future_init(&w.base, &watcher_vtable);
    w.k = k;
    w.rx = k->subscribe(tx);
    struct testkit_await t;
    testkit_await_init(&t, &w.base, sizeof w, last, NULL);
    ck_assert_int_eq(cfut_spawn(testkit_ex, &t.base, sizeof t, NULL), CFUT_OK);
}

START_TEST(test_watch_watcher_tasks_follow_the_value_to_the_end)
{
    const struct wkind *k = &kinds[_i];
    union wtx tx;
    union wrx rx;
    uint64_t zero = 0, last[4] = {0};
    ck_assert_int_eq(k->make(sizeof zero, &zero, NULL, &tx, &rx), CFUT_OK);
    k->receiver_drop(&rx);
    for (int j = 0; j < 4; j++)
        spawn_watcher(k, &tx, &last[j]);

    for (uint64_t v = 1; v <= 100; v++) {
        ck_assert_int_eq(k->send(&tx, &v), CFUT_OK);
        if (v % 3 == 0) /* some changes land while watchers wait */
            ck_assert_int_eq(cfut_executor_run_ready(testkit_ex), CFUT_OK);
    }
    k->sender_drop(&tx);
    ck_assert_int_eq(cfut_executor_run(testkit_ex), CFUT_OK);

    for (int j = 0; j < 4; j++)
        ck_assert_uint_eq(last[j], 100);
}
END_TEST

START_TEST(test_watch_dropping_waiting_watchers_cancels_their_waits)
{
    const struct wkind *k = &kinds[_i];
    union wtx tx;
    union wrx rx;
    uint64_t zero = 0;
    ck_assert_int_eq(k->make(sizeof zero, &zero, NULL, &tx, &rx), CFUT_OK);
    for (int j = 0; j < 3; j++)
        spawn_watcher(k, &tx, NULL);
    ck_assert_int_eq(cfut_executor_run_ready(testkit_ex), CFUT_OK);

    cfut_executor_free(testkit_ex); /* drops the waiting tasks */
    testkit_ex = NULL;

    ck_assert_int_eq(testkit_wakers_live(), 0);
    uint64_t v = 1;
    ck_assert_int_eq(k->send(&tx, &v), CFUT_OK); /* wakes nobody */
    k->receiver_drop(&rx);
    ck_assert(k->is_closed(&tx));
    k->sender_drop(&tx);
}
END_TEST

/* ---- allocation and misuse ---- */

START_TEST(test_watch_new_reports_enomem_and_leaks_nothing)
{
    const struct wkind *k = &kinds[_i];
    union wtx tx = {{NULL}};
    union wrx rx = {{NULL, 0}};
    uint64_t v = 1;
    testkit_alloc_fail_at(1);

    int rc = k->make(sizeof v, &v, NULL, &tx, &rx);

    testkit_alloc_fail_at(0);
    ck_assert_int_eq(rc, CFUT_ENOMEM);
    ck_assert_ptr_null(tx.l.shared);
    ck_assert_ptr_null(rx.l.shared);
    ck_assert_int_eq(testkit_alloc_live(), 0);
}
END_TEST

START_TEST(test_watch_new_rejects_bad_arguments)
{
    struct cfut_watch_sender tx;
    struct cfut_watch_receiver rx;
    struct cfut_watch_sync_sender stx;
    struct cfut_watch_sync_receiver srx;

    ck_assert_int_eq(cfut_watch_new(8, NULL, NULL, NULL, &rx), CFUT_EINVAL);
    ck_assert_int_eq(cfut_watch_new(8, NULL, NULL, &tx, NULL), CFUT_EINVAL);
    ck_assert_int_eq(cfut_watch_new(SIZE_MAX / 2, NULL, NULL, &tx, &rx),
                     CFUT_EINVAL);
    ck_assert_int_eq(cfut_watch_sync_new(8, NULL, NULL, NULL, &srx),
                     CFUT_EINVAL);
    ck_assert_int_eq(cfut_watch_sync_new(SIZE_MAX / 2, NULL, NULL, &stx, &srx),
                     CFUT_EINVAL);
    ck_assert_int_eq(testkit_alloc_count(), 0);
}
END_TEST

START_TEST(test_watch_get_on_an_empty_receiver_aborts)
{
    struct cfut_watch_receiver rx = {NULL, 0};
    uint64_t v;

    cfut_watch_get(&rx, &v);
}
END_TEST

/* ---- threads ---- */

/* A value whose halves must always agree: a torn copy would not. */
struct pair {
    uint64_t a, b;
};

#define N_READERS 3
#define N_SENDS 20000

struct thread_reader {
    struct cfut_watch_sync_receiver rx;
    uint64_t n_changes, last;
    int status; /* a failed call's status, checked by the test's thread */
    bool torn;  /* a torn, mislabelled or backward value was seen */
};

static void *
read_changes(void *arg)
{
    struct thread_reader *r = arg;
    struct cfut_executor *ex;
    r->status = cfut_executor_new(&ex);
    if (r->status != CFUT_OK) {
        cfut_watch_sync_receiver_drop(&r->rx);
        return NULL;
    }
    uint64_t seen = 0;
    for (;;) {
        struct cfut_watch_changed f;
        cfut_watch_sync_changed_init(&f, &r->rx);
        int st = 99;
        r->status = cfut_block_on(ex, &f.base, &st);
        if (r->status != CFUT_OK || st == CFUT_ECLOSED)
            break;
        struct pair p;
        uint64_t version = cfut_watch_sync_get(&r->rx, &p);
        if (p.b != ~p.a || p.a != version || version <= seen) {
            r->torn = true;
            break;
        }
        seen = version;
        r->n_changes++;
    }
    r->last = seen;
    cfut_watch_sync_receiver_drop(&r->rx);
    cfut_executor_free(ex);
    return NULL;
}

START_TEST(test_watch_sync_readers_on_threads_never_see_a_torn_value)
{
    struct cfut_watch_sync_sender tx;
    struct cfut_watch_sync_receiver rx;
    struct pair p = {0, ~(uint64_t)0};
    ck_assert_int_eq(cfut_watch_sync_new(sizeof p, &p, NULL, &tx, &rx),
                     CFUT_OK);
    struct thread_reader r[N_READERS];
    pthread_t th[N_READERS];
    for (int i = 0; i < N_READERS; i++) {
        r[i] = (struct thread_reader){cfut_watch_sync_receiver_clone(&rx), 0, 0,
                                      CFUT_OK, false};
        ck_assert_int_eq(pthread_create(&th[i], NULL, read_changes, &r[i]), 0);
    }
    cfut_watch_sync_receiver_drop(&rx);

    for (uint64_t v = 1; v <= N_SENDS; v++) {
        p = (struct pair){v, ~v};
        ck_assert_int_eq(cfut_watch_sync_send(&tx, &p), CFUT_OK);
    }
    cfut_watch_sync_sender_drop(&tx);

    for (int i = 0; i < N_READERS; i++) {
        pthread_join(th[i], NULL);
        ck_assert_msg(!r[i].torn, "a torn, mislabelled or backward value");
        ck_assert_int_eq(r[i].status, CFUT_OK);
        ck_assert_uint_eq(r[i].last, N_SENDS); /* the last one is seen */
        ck_assert_uint_ge(r[i].n_changes, 1);
    }
}
END_TEST

static Suite *
watch_suite(void)
{
    Suite *s = suite_create("watch");
    TCase *tc = tcase_create("values and versions");
    testkit_fixture(tc);
    tcase_add_loop_test(
        tc, test_watch_receivers_read_the_initial_value_then_each_send, 0, 2);
    tcase_add_loop_test(
        tc, test_watch_a_zero_size_value_is_a_bare_change_signal, 0, 2);
    tcase_add_loop_test(tc, test_watch_changed_is_ready_at_once_after_a_send, 0,
                        2);
    tcase_add_loop_test(tc, test_watch_a_send_wakes_every_waiting_receiver_once,
                        0, 2);
    tcase_add_loop_test(
        tc, test_watch_a_receiver_that_falls_behind_sees_only_the_latest, 0, 2);
    suite_add_tcase(s, tc);

    tc = tcase_create("closing and hooks");
    testkit_fixture(tc);
    tcase_add_loop_test(
        tc, test_watch_the_senders_drop_closes_after_the_last_value_is_seen, 0,
        2);
    tcase_add_loop_test(
        tc, test_watch_a_send_with_no_receiver_fails_and_stores_nothing, 0, 2);
    tcase_add_loop_test(
        tc, test_watch_hooks_copy_for_each_reader_and_drop_what_is_replaced, 0,
        2);
    tcase_add_test(tc, test_watch_borrow_lends_the_current_value_in_place);
    suite_add_tcase(s, tc);

    tc = tcase_create("cancellation and wakes");
    testkit_fixture(tc);
    tcase_add_loop_test(
        tc, test_watch_a_dropped_changed_future_marks_nothing_seen, 0, 2);
    tcase_add_loop_test(
        tc, test_watch_a_woken_receiver_may_read_the_channel_at_once, 0, 2);
    suite_add_tcase(s, tc);

    tc = tcase_create("tasks");
    testkit_executor_fixture(tc);
    tcase_add_loop_test(
        tc, test_watch_watcher_tasks_follow_the_value_to_the_end, 0, 2);
    tcase_add_loop_test(
        tc, test_watch_dropping_waiting_watchers_cancels_their_waits, 0, 2);
    suite_add_tcase(s, tc);

    tc = tcase_create("allocation and misuse");
    testkit_fixture(tc);
    tcase_add_loop_test(tc, test_watch_new_reports_enomem_and_leaks_nothing, 0,
                        2);
    tcase_add_test(tc, test_watch_new_rejects_bad_arguments);
    testkit_add_assert_test(tc, test_watch_get_on_an_empty_receiver_aborts);
    suite_add_tcase(s, tc);

    tc = tcase_create("threads");
    testkit_fixture(tc);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc,
                   test_watch_sync_readers_on_threads_never_see_a_torn_value);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return testkit_run(watch_suite());
}
