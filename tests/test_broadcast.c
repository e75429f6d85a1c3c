/*
 * test_broadcast.c: the broadcast channel, both kinds: every receiver sees
 * every message in order, subscribers start at the tail, a receiver that
 * falls behind learns how many it missed, the recv future before and after
 * a send, the end after the last sender, a send with no receiver, messages
 * that own memory (released once every receiver has seen or skipped them),
 * cancelled recv futures, the budget, wakers that call back in, a fan-out
 * to receiver tasks and its cancellation, allocation failure, misuse, and
 * senders and receivers on threads. Every test body that can runs on both
 * kinds (the kind table).
 */
#define _GNU_SOURCE
#include "testkit.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* ---- both kinds behind one table ---- */

union btx {
    struct cfut_broadcast_sender l;
    struct cfut_broadcast_sync_sender s;
};
union brx {
    struct cfut_broadcast_receiver l;
    struct cfut_broadcast_sync_receiver s;
};
/* The recv future is one type in both kinds. */
union brecv {
    struct cfut_future base;
    struct cfut_broadcast_recv f;
};

struct bkind {
    int (*make)(size_t, size_t, const struct cfut_channel_value_ops *,
                union btx *, union brx *);
    union btx (*clone)(union btx *);
    void (*sender_drop)(union btx *);
    int (*send)(union btx *, const void *);
    union brx (*subscribe)(union btx *);
    int (*try_recv)(union brx *, void *, uint64_t *);
    void (*recv_init)(union brecv *, union brx *);
    uint64_t (*len)(union brx *);
    void (*receiver_drop)(union brx *);
};

static int
l_make(size_t m, size_t c, const struct cfut_channel_value_ops *o, union btx *t,
       union brx *r)
{
    return cfut_broadcast_new(m, c, o, &t->l, &r->l);
}
static union btx
l_clone(union btx *t)
{
    union btx u;
    u.l = cfut_broadcast_sender_clone(&t->l);
    return u;
}
static void
l_sender_drop(union btx *t)
{
    cfut_broadcast_sender_drop(&t->l);
}
static int
l_send(union btx *t, const void *m)
{
    return cfut_broadcast_send(&t->l, m);
}
static union brx
l_subscribe(union btx *t)
{
    union brx u;
    u.l = cfut_broadcast_subscribe(&t->l);
    return u;
}
static int
l_try_recv(union brx *r, void *m, uint64_t *n)
{
    return cfut_broadcast_try_recv(&r->l, m, n);
}
static void
l_recv_init(union brecv *f, union brx *r)
{
    cfut_broadcast_recv_init(&f->f, &r->l);
}
static uint64_t
l_len(union brx *r)
{
    return cfut_broadcast_len(&r->l);
}
static void
l_receiver_drop(union brx *r)
{
    cfut_broadcast_receiver_drop(&r->l);
}

static int
s_make(size_t m, size_t c, const struct cfut_channel_value_ops *o, union btx *t,
       union brx *r)
{
    return cfut_broadcast_sync_new(m, c, o, &t->s, &r->s);
}
static union btx
s_clone(union btx *t)
{
    union btx u;
    u.s = cfut_broadcast_sync_sender_clone(&t->s);
    return u;
}
static void
s_sender_drop(union btx *t)
{
    cfut_broadcast_sync_sender_drop(&t->s);
}
static int
s_send(union btx *t, const void *m)
{
    return cfut_broadcast_sync_send(&t->s, m);
}
static union brx
s_subscribe(union btx *t)
{
    union brx u;
    u.s = cfut_broadcast_sync_subscribe(&t->s);
    return u;
}
static int
s_try_recv(union brx *r, void *m, uint64_t *n)
{
    return cfut_broadcast_sync_try_recv(&r->s, m, n);
}
static void
s_recv_init(union brecv *f, union brx *r)
{
    cfut_broadcast_sync_recv_init(&f->f, &r->s);
}
static uint64_t
s_len(union brx *r)
{
    return cfut_broadcast_sync_len(&r->s);
}
static void
s_receiver_drop(union brx *r)
{
    cfut_broadcast_sync_receiver_drop(&r->s);
}

static const struct bkind kinds[2] = {
    {l_make, l_clone, l_sender_drop, l_send, l_subscribe, l_try_recv,
     l_recv_init, l_len, l_receiver_drop},
    {s_make, s_clone, s_sender_drop, s_send, s_subscribe, s_try_recv,
     s_recv_init, s_len, s_receiver_drop},
};

typedef CFUT_BROADCAST_OUTPUT(uint64_t) out_u64;

/* A channel of u64 messages, and a counting waker. */
struct chan {
    const struct bkind *k;
    union btx tx;
    union brx rx;
    struct testkit_waker tw;
    struct cfut_waker w;
};

static void
chan_init(struct chan *c, int kind, size_t cap)
{
    c->k = &kinds[kind];
    ck_assert_int_eq(c->k->make(sizeof(uint64_t), cap, NULL, &c->tx, &c->rx),
                     CFUT_OK);
    c->w = testkit_waker_init(&c->tw);
}

static void
chan_send(struct chan *c, uint64_t v)
{
    ck_assert_int_eq(c->k->send(&c->tx, &v), CFUT_OK);
}

/* Takes the next message of 'rx', which must be 'want'. */
static void
expect_msg(const struct bkind *k, union brx *rx, uint64_t want)
{
    uint64_t got = 0;
    ck_assert_int_eq(k->try_recv(rx, &got, NULL), CFUT_OK);
    ck_assert_uint_eq(got, want);
}

/* ---- order, subscribers, lag ---- */

START_TEST(test_broadcast_every_receiver_sees_every_message_in_order)
{
    struct chan c;
    chan_init(&c, _i, 8);
    union brx more[2] = {c.k->subscribe(&c.tx), c.k->subscribe(&c.tx)};

    for (uint64_t v = 0; v < 5; v++)
        chan_send(&c, v);

    union brx *all[3] = {&c.rx, &more[0], &more[1]};
    for (int j = 0; j < 3; j++) {
        ck_assert_uint_eq(c.k->len(all[j]), 5);
        for (uint64_t v = 0; v < 5; v++)
            expect_msg(c.k, all[j], v);
        uint64_t got;
        ck_assert_int_eq(c.k->try_recv(all[j], &got, NULL), CFUT_EAGAIN);
        ck_assert_uint_eq(c.k->len(all[j]), 0);
    }
    c.k->receiver_drop(&more[0]);
    c.k->receiver_drop(&more[1]);
    c.k->sender_drop(&c.tx);
    c.k->receiver_drop(&c.rx);
}
END_TEST

START_TEST(test_broadcast_a_subscriber_sees_only_what_is_sent_after_it)
{
    struct chan c;
    chan_init(&c, _i, 8);
    chan_send(&c, 1);
    chan_send(&c, 2);

    union brx late = c.k->subscribe(&c.tx);
    chan_send(&c, 3);

    ck_assert_uint_eq(c.k->len(&late), 1);
    expect_msg(c.k, &late, 3);
    expect_msg(c.k, &c.rx, 1);
    c.k->receiver_drop(&late);
    c.k->sender_drop(&c.tx);
    c.k->receiver_drop(&c.rx);
}
END_TEST

START_TEST(
    test_broadcast_a_receiver_that_falls_behind_learns_how_many_it_missed)
{
    struct chan c;
    chan_init(&c, _i, 4);
    union brx other = c.k->subscribe(&c.tx);
    for (uint64_t v = 0; v < 10; v++)
        chan_send(&c, v);
    uint64_t got = 0, skipped = 0;

    /* try_recv: 6 were overwritten; then the 4 left. */
    ck_assert_uint_eq(c.k->len(&c.rx), 10);
    ck_assert_int_eq(c.k->try_recv(&c.rx, &got, &skipped), CFUT_ELAGGED);
    ck_assert_uint_eq(skipped, 6);
    for (uint64_t v = 6; v < 10; v++)
        expect_msg(c.k, &c.rx, v);

    /* The recv future says the same in its output. */
    union brecv f;
    out_u64 out = {99, 99, 99};
    c.k->recv_init(&f, &other);
    ck_assert_int_eq(testkit_poll(&f.base, &c.w, &out), CFUT_READY);
    cfut_future_drop(&f.base);
    ck_assert_int_eq(out.status, CFUT_ELAGGED);
    ck_assert_uint_eq(out.n_skipped, 6);
    c.k->recv_init(&f, &other);
    ck_assert_int_eq(testkit_poll(&f.base, &c.w, &out), CFUT_READY);
    cfut_future_drop(&f.base);
    ck_assert_int_eq(out.status, CFUT_OK);
    ck_assert_uint_eq(out.n_skipped, 0);
    ck_assert_uint_eq(out.value, 6);
    c.k->receiver_drop(&other);
    c.k->sender_drop(&c.tx);
    c.k->receiver_drop(&c.rx);
}
END_TEST

/* ---- the recv future ---- */

START_TEST(test_broadcast_recv_is_ready_at_once_when_a_message_waits)
{
    struct chan c;
    chan_init(&c, _i, 4);
    chan_send(&c, 42);
    union brecv f;
    c.k->recv_init(&f, &c.rx);
    out_u64 out = {99, 99, 99};

    enum cfut_poll p = testkit_poll(&f.base, testkit_waker_aborting(), &out);

    ck_assert_int_eq(p, CFUT_READY);
    ck_assert_int_eq(out.status, CFUT_OK);
    ck_assert_uint_eq(out.value, 42);
    cfut_future_drop(&f.base);
    c.k->sender_drop(&c.tx);
    c.k->receiver_drop(&c.rx);
}
END_TEST

START_TEST(test_broadcast_a_send_wakes_every_waiting_receiver_once)
{
    struct chan c;
    chan_init(&c, _i, 4);
    union brx rx[3];
    union brecv f[3];
    struct testkit_waker tw[3];
    struct cfut_waker w[3];
    out_u64 out = {99, 99, 99};
    for (int j = 0; j < 3; j++) {
        rx[j] = c.k->subscribe(&c.tx);
        w[j] = testkit_waker_init(&tw[j]);
        c.k->recv_init(&f[j], &rx[j]);
        ck_assert_int_eq(testkit_poll(&f[j].base, &w[j], &out), CFUT_PENDING);
        ck_assert_int_eq(testkit_poll(&f[j].base, &w[j], &out), CFUT_PENDING);
    }
    ck_assert_int_eq(testkit_wakers_live(), 3);

    chan_send(&c, 5);
    chan_send(&c, 6);

    for (int j = 0; j < 3; j++) {
        ck_assert_int_eq(testkit_waker_n_wakes(&tw[j]), 1);
        ck_assert_int_eq(testkit_poll(&f[j].base, &w[j], &out), CFUT_READY);
        ck_assert_int_eq(out.status, CFUT_OK);
        ck_assert_uint_eq(out.value, 5);
        cfut_future_drop(&f[j].base);
        expect_msg(c.k, &rx[j], 6);
        c.k->receiver_drop(&rx[j]);
    }
    ck_assert_int_eq(testkit_wakers_live(), 0);
    c.k->sender_drop(&c.tx);
    c.k->receiver_drop(&c.rx);
}
END_TEST

/* ---- closing ---- */

START_TEST(test_broadcast_the_last_senders_drop_ends_the_stream_after_the_rest)
{
    struct chan c;
    chan_init(&c, _i, 4);
    union btx tx2 = c.k->clone(&c.tx);
    union brx waiting = c.k->subscribe(&c.tx);
    union brecv f;
    out_u64 out = {99, 99, 99};
    c.k->recv_init(&f, &waiting);
    ck_assert_int_eq(testkit_poll(&f.base, &c.w, &out), CFUT_PENDING);
    chan_send(&c, 1);
    ck_assert_int_eq(testkit_poll(&f.base, &c.w, &out), CFUT_READY);
    cfut_future_drop(&f.base);
    c.k->recv_init(&f, &waiting);
    ck_assert_int_eq(testkit_poll(&f.base, &c.w, &out), CFUT_PENDING);

    c.k->sender_drop(&c.tx);
    ck_assert_int_eq(testkit_waker_n_wakes(&c.tw), 1); /* a sender is left */
    c.k->sender_drop(&tx2);

    ck_assert_int_eq(testkit_waker_n_wakes(&c.tw), 2);
    ck_assert_int_eq(testkit_poll(&f.base, &c.w, &out), CFUT_READY);
    ck_assert_int_eq(out.status, CFUT_ECLOSED);
    cfut_future_drop(&f.base);
    expect_msg(c.k, &c.rx, 1); /* what is left, then the end */
    uint64_t got;
    ck_assert_int_eq(c.k->try_recv(&c.rx, &got, NULL), CFUT_ECLOSED);
    c.k->receiver_drop(&waiting);
    c.k->receiver_drop(&c.rx);
}
END_TEST

START_TEST(test_broadcast_a_send_with_no_receiver_fails_and_stores_nothing)
{
    struct chan c;
    chan_init(&c, _i, 4);
    c.k->receiver_drop(&c.rx);
    uint64_t v = 1;

    ck_assert_int_eq(c.k->send(&c.tx, &v), CFUT_ECLOSED);

    c.rx = c.k->subscribe(&c.tx);
    ck_assert_uint_eq(c.k->len(&c.rx), 0);
    chan_send(&c, 2);
    expect_msg(c.k, &c.rx, 2);
    c.k->sender_drop(&c.tx);
    c.k->receiver_drop(&c.rx);
}
END_TEST

/* ---- messages that own memory ---- */

START_TEST(test_broadcast_a_message_is_released_once_seen_or_skipped_by_all)
{
    const struct bkind *k = &kinds[_i];
    union btx tx;
    union brx reader;
    ck_assert_int_eq(k->make(sizeof(struct testkit_box *), 2, &testkit_box_ops,
                             &tx, &reader),
                     CFUT_OK);
    union brx laggard = k->subscribe(&tx), leaver = k->subscribe(&tx);
    struct testkit_box *b[3];
    for (int j = 0; j < 3; j++) {
        b[j] = testkit_box_new((uint64_t)j);
        ck_assert_int_eq(k->send(&tx, &b[j]), CFUT_OK);
        if (j < 2) { /* the reader keeps up: its copies are its own */
            struct testkit_box *mine = NULL;
            ck_assert_int_eq(k->try_recv(&reader, &mine, NULL), CFUT_OK);
            ck_assert_ptr_eq(mine, b[j]);
            testkit_box_release(mine);
        }
    }
    /* b[0] was overwritten unseen by two receivers: released. */
    ck_assert_int_eq(testkit_boxes_live(), 2);

    k->receiver_drop(&leaver); /* b[1] and b[2] wait for two now */
    ck_assert_int_eq(testkit_boxes_live(), 2);
    uint64_t skipped = 0;
    struct testkit_box *mine = NULL;
    ck_assert_int_eq(k->try_recv(&laggard, &mine, &skipped), CFUT_ELAGGED);
    ck_assert_uint_eq(skipped, 1);
    ck_assert_int_eq(k->try_recv(&laggard, &mine, NULL), CFUT_OK);
    testkit_box_release(mine); /* b[1]: seen by all, released */

    ck_assert_int_eq(testkit_boxes_live(), 1);
    k->receiver_drop(&laggard); /* b[2] waits for the reader only */
    ck_assert_int_eq(testkit_boxes_live(), 1);
    k->receiver_drop(&reader); /* and is released with it */
    ck_assert_int_eq(testkit_boxes_live(), 0);
    k->sender_drop(&tx);
}
END_TEST

/* ---- cancellation, budget, wakers that call back in ---- */

START_TEST(test_broadcast_a_dropped_recv_future_loses_no_message)
{
    struct chan c;
    chan_init(&c, _i, 4);
    union brecv f;
    out_u64 out = {99, 99, 99};
    c.k->recv_init(&f, &c.rx);
    ck_assert_int_eq(testkit_poll(&f.base, &c.w, &out), CFUT_PENDING);

    cfut_future_drop(&f.base);
    ck_assert_int_eq(testkit_wakers_live(), 0);
    chan_send(&c, 8);

    ck_assert_int_eq(testkit_waker_n_wakes(&c.tw), 0);
    expect_msg(c.k, &c.rx, 8);
    c.k->sender_drop(&c.tx);
    c.k->receiver_drop(&c.rx);
}
END_TEST

START_TEST(test_broadcast_a_spent_budget_makes_recv_yield_without_taking)
{
    struct chan c;
    chan_init(&c, _i, 4);
    chan_send(&c, 3);
    uint32_t budget = 0;
    struct cfut_context cx;
    cfut_context_init(&cx, &c.w);
    cx.budget = &budget;
    union brecv f;
    c.k->recv_init(&f, &c.rx);
    out_u64 out = {99, 99, 99};

    ck_assert_int_eq(cfut_future_poll(&f.base, &cx, &out), CFUT_PENDING);

    ck_assert_int_eq(testkit_waker_n_wakes(&c.tw), 1);
    ck_assert_uint_eq(c.k->len(&c.rx), 1);
    budget = 1;
    ck_assert_int_eq(cfut_future_poll(&f.base, &cx, &out), CFUT_READY);
    ck_assert_uint_eq(out.value, 3);
    cfut_future_drop(&f.base);
    c.k->sender_drop(&c.tx);
    c.k->receiver_drop(&c.rx);
}
END_TEST

/* What a woken receiver's waker does: it takes the message at once. */
struct taker {
    const struct bkind *k;
    union brx *rx;
    uint64_t got;
};

static void
take_at_once(void *arg)
{
    struct taker *t = arg;
    ck_assert_int_eq(t->k->try_recv(t->rx, &t->got, NULL), CFUT_OK);
}

START_TEST(test_broadcast_a_woken_receiver_may_call_into_the_channel_at_once)
{
    struct chan c;
    chan_init(&c, _i, 4);
    struct taker t = {c.k, &c.rx, 0};
    c.w = testkit_waker_init_calling(&c.tw, take_at_once, &t);
    union brecv f;
    out_u64 out = {99, 99, 99};
    c.k->recv_init(&f, &c.rx);
    ck_assert_int_eq(testkit_poll(&f.base, &c.w, &out), CFUT_PENDING);

    chan_send(&c, 77);

    ck_assert_int_eq(testkit_waker_n_wakes(&c.tw), 1);
    ck_assert_uint_eq(t.got, 77);
    cfut_future_drop(&f.base);
    c.k->sender_drop(&c.tx);
    c.k->receiver_drop(&c.rx);
}
END_TEST

/* ---- tasks ---- */

/* A receiver task: sums the messages it receives until the end. */
struct summer {
    struct cfut_future base;
    const struct bkind *k;
    union brx rx;
    bool receiving;
    union brecv recv;
    uint64_t sum, n;
};

static enum cfut_poll
summer_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct summer *s = cfut_container_of(f, struct summer, base);
    for (;;) {
        if (!s->receiving) {
            s->k->recv_init(&s->recv, &s->rx);
            s->receiving = true;
        }
        out_u64 r;
        if (cfut_future_poll(&s->recv.base, cx, &r) == CFUT_PENDING)
            return CFUT_PENDING;
        cfut_future_drop(&s->recv.base);
        s->receiving = false;
        if (r.status == CFUT_ECLOSED)
            break;
        ck_assert_int_eq(r.status, CFUT_OK); /* no lag in these tests */
        ck_assert_uint_eq(r.value, s->n);    /* in order */
        s->sum += r.value;
        s->n++;
    }
    *(uint64_t *)out = s->sum;
    return CFUT_READY;
}

static void
summer_drop(struct cfut_future *f)
{
    struct summer *s = cfut_container_of(f, struct summer, base);
    if (s->receiving)
        cfut_future_drop(&s->recv.base);
    s->k->receiver_drop(&s->rx);
}

static const struct cfut_future_vtable summer_vtable = {
    summer_poll, summer_drop, sizeof(uint64_t), "summer", NULL};

static void
spawn_summer(const struct bkind *k, union btx *tx, uint64_t *sum)
{
    struct summer s;
    memset(&s, 0, sizeof s);
    cfut_future_init(&s.base, &summer_vtable);
    s.k = k;
    s.rx = k->subscribe(tx);
    struct testkit_await t;
    testkit_await_init(&t, &s.base, sizeof s, sum, NULL);
    ck_assert_int_eq(cfut_spawn(testkit_ex, &t.base, sizeof t, NULL), CFUT_OK);
}

START_TEST(test_broadcast_fans_out_to_receiver_tasks)
{
    const struct bkind *k = &kinds[_i];
    union btx tx;
    union brx rx;
    ck_assert_int_eq(k->make(sizeof(uint64_t), 16, NULL, &tx, &rx), CFUT_OK);
    k->receiver_drop(&rx);
    uint64_t sum[8] = {0};
    for (int j = 0; j < 8; j++)
        spawn_summer(k, &tx, &sum[j]);

    for (uint64_t v = 0; v < 1000; v++) {
        ck_assert_int_eq(k->send(&tx, &v), CFUT_OK);
        if (v % 8 == 7)
            ck_assert_int_eq(cfut_executor_run_ready(testkit_ex), CFUT_OK);
    }
    k->sender_drop(&tx);
    ck_assert_int_eq(cfut_executor_run(testkit_ex), CFUT_OK);

    for (int j = 0; j < 8; j++)
        ck_assert_uint_eq(sum[j], 999 * 1000 / 2);
}
END_TEST

START_TEST(test_broadcast_dropping_waiting_receiver_tasks_cancels_their_waits)
{
    const struct bkind *k = &kinds[_i];
    union btx tx;
    union brx rx;
    ck_assert_int_eq(
        k->make(sizeof(struct testkit_box *), 4, &testkit_box_ops, &tx, &rx),
        CFUT_OK);
    for (int j = 0; j < 3; j++)
        spawn_summer(k, &tx, NULL);
    ck_assert_int_eq(cfut_executor_run_ready(testkit_ex), CFUT_OK);
    struct testkit_box *b = testkit_box_new(1);
    ck_assert_int_eq(k->send(&tx, &b), CFUT_OK); /* woken, not yet run */

    cfut_executor_free(testkit_ex); /* drops them: cancellation */
    testkit_ex = NULL;

    ck_assert_int_eq(testkit_wakers_live(), 0);
    ck_assert_int_eq(testkit_boxes_live(), 1); /* 'rx' has yet to see it */
    k->receiver_drop(&rx);
    ck_assert_int_eq(testkit_boxes_live(), 0);
    k->sender_drop(&tx);
}
END_TEST

/* ---- allocation and misuse ---- */

START_TEST(test_broadcast_new_reports_enomem_and_leaks_nothing)
{
    const struct bkind *k = &kinds[_i];
    union btx tx = {{NULL}};
    union brx rx = {{NULL, 0}};
    testkit_alloc_fail_at(1);

    int rc = k->make(sizeof(uint64_t), 8, NULL, &tx, &rx);

    testkit_alloc_fail_at(0);
    ck_assert_int_eq(rc, CFUT_ENOMEM);
    ck_assert_ptr_null(tx.l.shared);
    ck_assert_ptr_null(rx.l.shared);
    ck_assert_int_eq(testkit_alloc_live(), 0);
}
END_TEST

START_TEST(test_broadcast_new_rejects_bad_arguments)
{
    struct cfut_broadcast_sender tx;
    struct cfut_broadcast_receiver rx;
    struct cfut_broadcast_sync_sender stx;
    struct cfut_broadcast_sync_receiver srx;

    ck_assert_int_eq(cfut_broadcast_new(0, 4, NULL, &tx, &rx), CFUT_EINVAL);
    ck_assert_int_eq(cfut_broadcast_new(8, 0, NULL, &tx, &rx), CFUT_EINVAL);
    ck_assert_int_eq(cfut_broadcast_new(8, 4, NULL, NULL, &rx), CFUT_EINVAL);
    ck_assert_int_eq(cfut_broadcast_new(8, SIZE_MAX / 8, NULL, &tx, &rx),
                     CFUT_EINVAL);
    ck_assert_int_eq(cfut_broadcast_sync_new(0, 4, NULL, &stx, &srx),
                     CFUT_EINVAL);
    ck_assert_int_eq(cfut_broadcast_sync_new(8, 4, NULL, &stx, NULL),
                     CFUT_EINVAL);
    ck_assert_int_eq(testkit_alloc_count(), 0);
}
END_TEST

START_TEST(test_broadcast_send_on_an_empty_sender_aborts)
{
    struct cfut_broadcast_sender tx = {NULL};
    uint64_t v = 1;

    cfut_broadcast_send(&tx, &v);
}
END_TEST

/* ---- threads ---- */

#define N_SENDERS 2
#define N_RECEIVERS 3
#define N_PER_SENDER 20000

struct thread_sender {
    struct cfut_broadcast_sync_sender tx;
    uint64_t id;
};

static void *
send_all(void *arg)
{
    struct thread_sender *ts = arg;
    for (uint64_t i = 0; i < N_PER_SENDER; i++) {
        uint64_t m = ts->id << 32 | i;
        if (cfut_broadcast_sync_send(&ts->tx, &m) != CFUT_OK)
            abort();
    }
    cfut_broadcast_sync_sender_drop(&ts->tx);
    return NULL;
}

struct thread_receiver {
    struct cfut_broadcast_sync_receiver rx;
    uint64_t n_got, n_skipped;
};

static void *
receive_all(void *arg)
{
    struct thread_receiver *tr = arg;
    struct cfut_executor *ex;
    if (cfut_executor_new(&ex) != CFUT_OK)
        abort();
    uint64_t next[N_SENDERS] = {0};
    for (;;) {
        struct cfut_broadcast_recv f;
        cfut_broadcast_sync_recv_init(&f, &tr->rx);
        out_u64 out;
        if (cfut_block_on(ex, &f.base, &out) != CFUT_OK)
            abort();
        if (out.status == CFUT_ECLOSED)
            break;
        if (out.status == CFUT_ELAGGED) {
            tr->n_skipped += out.n_skipped;
            continue;
        }
        uint64_t id = out.value >> 32, seq = out.value & 0xffffffffu;
        if (out.status != CFUT_OK || id >= N_SENDERS || seq < next[id])
            abort(); /* every sender's messages come in order */
        next[id] = seq + 1;
        tr->n_got++;
    }
    cfut_broadcast_sync_receiver_drop(&tr->rx);
    cfut_executor_free(ex);
    return NULL;
}

START_TEST(test_broadcast_sync_receivers_on_threads_see_or_skip_every_message)
{
    /* Its threads abort on a failed call: no allocation sweep here. */
    testkit_alloc_sweep_off();
    struct cfut_broadcast_sync_sender tx;
    struct cfut_broadcast_sync_receiver rx;
    ck_assert_int_eq(
        cfut_broadcast_sync_new(sizeof(uint64_t), 64, NULL, &tx, &rx), CFUT_OK);
    struct thread_receiver tr[N_RECEIVERS];
    pthread_t rth[N_RECEIVERS], sth[N_SENDERS];
    for (int i = 0; i < N_RECEIVERS; i++) {
        tr[i] =
            (struct thread_receiver){cfut_broadcast_sync_subscribe(&tx), 0, 0};
        ck_assert_int_eq(pthread_create(&rth[i], NULL, receive_all, &tr[i]), 0);
    }
    cfut_broadcast_sync_receiver_drop(&rx);
    struct thread_sender ts[N_SENDERS];
    for (int i = 0; i < N_SENDERS; i++) {
        ts[i] = (struct thread_sender){cfut_broadcast_sync_sender_clone(&tx),
                                       (uint64_t)i};
        ck_assert_int_eq(pthread_create(&sth[i], NULL, send_all, &ts[i]), 0);
    }
    cfut_broadcast_sync_sender_drop(&tx);

    for (int i = 0; i < N_SENDERS; i++)
        pthread_join(sth[i], NULL);
    for (int i = 0; i < N_RECEIVERS; i++)
        pthread_join(rth[i], NULL);

    for (int i = 0; i < N_RECEIVERS; i++)
        ck_assert_uint_eq(tr[i].n_got + tr[i].n_skipped,
                          N_SENDERS * N_PER_SENDER);
}
END_TEST

static Suite *
broadcast_suite(void)
{
    Suite *s = suite_create("broadcast");
    TCase *tc = tcase_create("order, subscribers, lag");
    testkit_fixture(tc);
    tcase_add_loop_test(
        tc, test_broadcast_every_receiver_sees_every_message_in_order, 0, 2);
    tcase_add_loop_test(
        tc, test_broadcast_a_subscriber_sees_only_what_is_sent_after_it, 0, 2);
    tcase_add_loop_test(
        tc,
        test_broadcast_a_receiver_that_falls_behind_learns_how_many_it_missed,
        0, 2);
    tcase_add_loop_test(
        tc, test_broadcast_recv_is_ready_at_once_when_a_message_waits, 0, 2);
    tcase_add_loop_test(
        tc, test_broadcast_a_send_wakes_every_waiting_receiver_once, 0, 2);
    suite_add_tcase(s, tc);

    tc = tcase_create("closing and hooks");
    testkit_fixture(tc);
    tcase_add_loop_test(
        tc, test_broadcast_the_last_senders_drop_ends_the_stream_after_the_rest,
        0, 2);
    tcase_add_loop_test(
        tc, test_broadcast_a_send_with_no_receiver_fails_and_stores_nothing, 0,
        2);
    tcase_add_loop_test(
        tc, test_broadcast_a_message_is_released_once_seen_or_skipped_by_all, 0,
        2);
    suite_add_tcase(s, tc);

    tc = tcase_create("cancellation, budget, wakes");
    testkit_fixture(tc);
    tcase_add_loop_test(
        tc, test_broadcast_a_dropped_recv_future_loses_no_message, 0, 2);
    tcase_add_loop_test(
        tc, test_broadcast_a_spent_budget_makes_recv_yield_without_taking, 0,
        2);
    tcase_add_loop_test(
        tc, test_broadcast_a_woken_receiver_may_call_into_the_channel_at_once,
        0, 2);
    suite_add_tcase(s, tc);

    tc = tcase_create("tasks");
    testkit_executor_fixture(tc);
    tcase_add_loop_test(tc, test_broadcast_fans_out_to_receiver_tasks, 0, 2);
    tcase_add_loop_test(
        tc, test_broadcast_dropping_waiting_receiver_tasks_cancels_their_waits,
        0, 2);
    suite_add_tcase(s, tc);

    tc = tcase_create("allocation and misuse");
    testkit_fixture(tc);
    tcase_add_loop_test(tc, test_broadcast_new_reports_enomem_and_leaks_nothing,
                        0, 2);
    tcase_add_test(tc, test_broadcast_new_rejects_bad_arguments);
    testkit_add_assert_test(tc, test_broadcast_send_on_an_empty_sender_aborts);
    suite_add_tcase(s, tc);

    tc = tcase_create("threads");
    testkit_fixture(tc);
    tcase_set_timeout(tc, 120);
    tcase_add_test(
        tc, test_broadcast_sync_receivers_on_threads_see_or_skip_every_message);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return testkit_run(broadcast_suite());
}
