/*
 * test_mpsc.c: the mpsc channel, both kinds, bounded and unbounded: FIFO
 * order, backpressure, drain then closed, receiver drop, cancelled send and
 * recv futures, budget, permits and the receiver's waker, callbacks that
 * call back in, tasks on an executor, allocation failure, misuse, and
 * producers on many threads. Every test body that can runs on both kinds
 * (the kind table), so the kinds cannot drift apart.
 */
#define _GNU_SOURCE
#include "testkit.h"
#include "mpsc_kinds.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* ---- both kinds behind one table (the unions: mpsc_kinds.h) ---- */

struct mkind {
    int (*make)(size_t, size_t, cfut_mpsc_drop_msg_fn *, union mtx *,
                union mrx *);
    union mtx (*clone)(union mtx *);
    void (*sender_drop)(union mtx *);
    bool (*is_closed)(union mtx *);
    int (*try_send)(union mtx *, const void *);
    void (*send_init)(union msend *, union mtx *, const void *);
    int (*try_recv)(union mrx *, void *);
    void (*recv_init)(union mrecv *, union mrx *);
    size_t (*len)(union mrx *);
    void (*receiver_drop)(union mrx *);
};

static int
l_make(size_t m, size_t c, cfut_mpsc_drop_msg_fn *d, union mtx *t, union mrx *r)
{
    return cfut_mpsc_new(m, c, d, &t->l, &r->l);
}
static union mtx
l_clone(union mtx *t)
{
    union mtx u;
    u.l = cfut_mpsc_sender_clone(&t->l);
    return u;
}
static void
l_sender_drop(union mtx *t)
{
    cfut_mpsc_sender_drop(&t->l);
}
static bool
l_is_closed(union mtx *t)
{
    return cfut_mpsc_sender_is_closed(&t->l);
}
static int
l_try_send(union mtx *t, const void *m)
{
    return cfut_mpsc_try_send(&t->l, m);
}
static void
l_send_init(union msend *f, union mtx *t, const void *m)
{
    cfut_mpsc_send_init(&f->l, &t->l, m);
}
static int
l_try_recv(union mrx *r, void *m)
{
    return cfut_mpsc_try_recv(&r->l, m);
}
static void
l_recv_init(union mrecv *f, union mrx *r)
{
    cfut_mpsc_recv_init(&f->l, &r->l);
}
static size_t
l_len(union mrx *r)
{
    return cfut_mpsc_len(&r->l);
}
static void
l_receiver_drop(union mrx *r)
{
    cfut_mpsc_receiver_drop(&r->l);
}

static int
s_make(size_t m, size_t c, cfut_mpsc_drop_msg_fn *d, union mtx *t, union mrx *r)
{
    return cfut_mpsc_sync_new(m, c, d, &t->s, &r->s);
}
static union mtx
s_clone(union mtx *t)
{
    union mtx u;
    u.s = cfut_mpsc_sync_sender_clone(&t->s);
    return u;
}
static void
s_sender_drop(union mtx *t)
{
    cfut_mpsc_sync_sender_drop(&t->s);
}
static bool
s_is_closed(union mtx *t)
{
    return cfut_mpsc_sync_sender_is_closed(&t->s);
}
static int
s_try_send(union mtx *t, const void *m)
{
    return cfut_mpsc_sync_try_send(&t->s, m);
}
static void
s_send_init(union msend *f, union mtx *t, const void *m)
{
    cfut_mpsc_sync_send_init(&f->s, &t->s, m);
}
static int
s_try_recv(union mrx *r, void *m)
{
    return cfut_mpsc_sync_try_recv(&r->s, m);
}
static void
s_recv_init(union mrecv *f, union mrx *r)
{
    cfut_mpsc_sync_recv_init(&f->s, &r->s);
}
static size_t
s_len(union mrx *r)
{
    return cfut_mpsc_sync_len(&r->s);
}
static void
s_receiver_drop(union mrx *r)
{
    cfut_mpsc_sync_receiver_drop(&r->s);
}

static const struct mkind kinds[2] = {
    {l_make, l_clone, l_sender_drop, l_is_closed, l_try_send, l_send_init,
     l_try_recv, l_recv_init, l_len, l_receiver_drop},
    {s_make, s_clone, s_sender_drop, s_is_closed, s_try_send, s_send_init,
     s_try_recv, s_recv_init, s_len, s_receiver_drop},
};

typedef CFUT_MPSC_OUTPUT(uint64_t) out_u64;

static atomic_long n_msgs_dropped;

static void
drop_msg(void *m)
{
    (void)m;
    atomic_fetch_add(&n_msgs_dropped, 1);
}

/* ---- order and capacity ---- */

START_TEST(test_mpsc_messages_come_out_in_fifo_order)
{
    /* _i: kind in bit 0, unbounded in bit 1. */
    const struct mkind *k = &kinds[_i & 1];
    size_t cap = (_i & 2) ? CFUT_MPSC_UNBOUNDED : 7;
    union mtx tx;
    union mrx rx;
    ck_assert_int_eq(k->make(sizeof(uint64_t), cap, NULL, &tx, &rx), CFUT_OK);
    uint64_t next_in = 0, next_out = 0, got = 0;

    /* Fill (up to 37 at a time), then take back half: the ring wraps and,
     * unbounded, grows with messages in it. */
    for (int round = 0; round < 40; round++) {
        for (int j = 0; j < 37 && k->try_send(&tx, &next_in) == CFUT_OK; j++)
            next_in++;
        size_t half = (k->len(&rx) + 1) / 2;
        for (size_t j = 0; j < half; j++) {
            ck_assert_int_eq(k->try_recv(&rx, &got), CFUT_OK);
            ck_assert_uint_eq(got, next_out);
            next_out++;
        }
    }
    while (k->try_recv(&rx, &got) == CFUT_OK) {
        ck_assert_uint_eq(got, next_out);
        next_out++;
    }

    ck_assert_uint_eq(next_out, next_in);
    ck_assert_uint_gt(next_in, 100);
    ck_assert_int_eq(k->try_recv(&rx, &got), CFUT_EAGAIN);
    k->sender_drop(&tx);
    k->receiver_drop(&rx);
}
END_TEST

START_TEST(test_mpsc_try_send_on_a_full_channel_is_efull)
{
    const struct mkind *k = &kinds[_i];
    union mtx tx;
    union mrx rx;
    ck_assert_int_eq(k->make(sizeof(uint64_t), 2, NULL, &tx, &rx), CFUT_OK);
    uint64_t v = 1;
    ck_assert_int_eq(k->try_send(&tx, &v), CFUT_OK);
    ck_assert_int_eq(k->try_send(&tx, &v), CFUT_OK);

    int rc = k->try_send(&tx, &v);

    ck_assert_int_eq(rc, CFUT_EFULL);
    ck_assert_uint_eq(k->len(&rx), 2);
    k->sender_drop(&tx);
    k->receiver_drop(&rx);
}
END_TEST

START_TEST(test_mpsc_full_channel_parks_the_sender_and_recv_wakes_it)
{
    const struct mkind *k = &kinds[_i];
    union mtx tx;
    union mrx rx;
    ck_assert_int_eq(k->make(sizeof(uint64_t), 1, NULL, &tx, &rx), CFUT_OK);
    uint64_t a = 1, b = 2, got = 0;
    ck_assert_int_eq(k->try_send(&tx, &a), CFUT_OK);
    union msend f;
    k->send_init(&f, &tx, &b);
    struct testkit_waker tw;
    struct cfut_waker w = testkit_waker_init(&tw);
    int status = 99;
    ck_assert_int_eq(testkit_poll(&f.base, &w, &status), CFUT_PENDING);
    ck_assert_int_eq(testkit_poll(&f.base, &w, &status), CFUT_PENDING);
    ck_assert_int_eq(testkit_waker_n_wakes(&tw), 0);

    ck_assert_int_eq(k->try_recv(&rx, &got), CFUT_OK);

    ck_assert_uint_eq(got, 1);
    ck_assert_int_eq(testkit_waker_n_wakes(&tw), 1);
    ck_assert_int_eq(k->try_send(&tx, &a), CFUT_EFULL); /* slot reserved */
    ck_assert_int_eq(testkit_poll(&f.base, &w, &status), CFUT_READY);
    ck_assert_int_eq(status, CFUT_OK);
    cfut_future_drop(&f.base);
    ck_assert_int_eq(k->try_recv(&rx, &got), CFUT_OK);
    ck_assert_uint_eq(got, 2);
    k->sender_drop(&tx);
    k->receiver_drop(&rx);
}
END_TEST

/* ---- closing ---- */

START_TEST(test_mpsc_receiver_drains_then_sees_closed_after_last_sender)
{
    const struct mkind *k = &kinds[_i];
    union mtx tx;
    union mrx rx;
    ck_assert_int_eq(k->make(sizeof(uint64_t), 8, NULL, &tx, &rx), CFUT_OK);
    union mtx tx2 = k->clone(&tx);
    struct testkit_waker tw;
    struct cfut_waker w = testkit_waker_init(&tw);
    out_u64 out = {0, 0};
    union mrecv r;
    k->recv_init(&r, &rx);
    ck_assert_int_eq(testkit_poll(&r.base, &w, &out), CFUT_PENDING);
    for (uint64_t i = 0; i < 3; i++)
        ck_assert_int_eq(k->try_send(&tx2, &i), CFUT_OK);
    ck_assert_int_eq(testkit_waker_n_wakes(&tw), 1);

    k->sender_drop(&tx);
    ck_assert(!k->is_closed(&tx2));
    k->sender_drop(&tx2);

    for (uint64_t i = 0; i < 3; i++) {
        ck_assert_int_eq(testkit_poll(&r.base, &w, &out), CFUT_READY);
        ck_assert_int_eq(out.status, CFUT_OK);
        ck_assert_uint_eq(out.value, i);
        cfut_future_drop(&r.base);
        k->recv_init(&r, &rx);
    }
    ck_assert_int_eq(testkit_poll(&r.base, &w, &out), CFUT_READY);
    ck_assert_int_eq(out.status, CFUT_ECLOSED);
    cfut_future_drop(&r.base);
    ck_assert_int_eq(k->try_recv(&rx, &out.value), CFUT_ECLOSED);
    k->receiver_drop(&rx);
}
END_TEST

START_TEST(test_mpsc_last_sender_drop_wakes_a_waiting_receiver)
{
    const struct mkind *k = &kinds[_i];
    union mtx tx;
    union mrx rx;
    ck_assert_int_eq(k->make(sizeof(uint64_t), 8, NULL, &tx, &rx), CFUT_OK);
    struct testkit_waker tw;
    struct cfut_waker w = testkit_waker_init(&tw);
    out_u64 out = {0, 0};
    union mrecv r;
    k->recv_init(&r, &rx);
    ck_assert_int_eq(testkit_poll(&r.base, &w, &out), CFUT_PENDING);

    k->sender_drop(&tx);

    ck_assert_int_eq(testkit_waker_n_wakes(&tw), 1);
    ck_assert_int_eq(testkit_poll(&r.base, &w, &out), CFUT_READY);
    ck_assert_int_eq(out.status, CFUT_ECLOSED);
    cfut_future_drop(&r.base);
    k->receiver_drop(&rx);
}
END_TEST

/*
 * A send future that is READY has let go of the channel: it no longer
 * counts as a sender (the last one wakes the parked receiver, which drains
 * and sees CFUT_ECLOSED before the future is dropped), its first poll
 * registers no waker, and dropping it afterwards touches nothing, even
 * once the state is freed (ASan and the allocator's count check that).
 */
START_TEST(test_mpsc_a_ready_send_future_lets_go_of_the_channel)
{
    const struct mkind *k = &kinds[_i % 2];
    union mtx tx;
    union mrx rx;
    ck_assert_int_eq(k->make(sizeof(uint64_t), 4, NULL, &tx, &rx), CFUT_OK);
    struct testkit_waker tw, sw;
    struct cfut_waker w = testkit_waker_init(&tw);
    struct cfut_waker ws = testkit_waker_init(&sw);
    out_u64 out = {0, 0};
    union mrecv r;
    k->recv_init(&r, &rx);
    ck_assert_int_eq(testkit_poll(&r.base, &w, &out), CFUT_PENDING);

    uint64_t v = 7;
    union msend f;
    k->send_init(&f, &tx, &v);
    k->sender_drop(&tx); /* the send future is the last sender */
    ck_assert_int_eq(testkit_waker_n_wakes(&tw), 0);
    int st = -1;
    ck_assert_int_eq(testkit_poll(&f.base, &ws, &st), CFUT_READY);
    ck_assert_int_eq(st, CFUT_OK);
    ck_assert_int_eq(atomic_load(&sw.clones), 0); /* the fast path */
    ck_assert_int_ge(testkit_waker_n_wakes(&tw), 1);

    ck_assert_int_eq(testkit_poll(&r.base, &w, &out), CFUT_READY);
    ck_assert_int_eq(out.status, CFUT_OK);
    ck_assert_uint_eq(out.value, 7);
    cfut_future_drop(&r.base);
    ck_assert_int_eq(k->try_recv(&rx, &out.value), CFUT_ECLOSED);
    if (_i >= 2) { /* the receiver goes first: the state is freed now */
        k->receiver_drop(&rx);
        cfut_future_drop(&f.base);
    } else {
        cfut_future_drop(&f.base);
        k->receiver_drop(&rx);
    }
}
END_TEST

/*
 * A send future that waited for capacity and is READY through its permit
 * lets go of the channel the same way: the receiver sees CFUT_ECLOSED
 * after draining, with the future not yet dropped.
 */
START_TEST(test_mpsc_a_send_ready_after_waiting_lets_go_of_the_channel)
{
    const struct mkind *k = &kinds[_i];
    union mtx tx;
    union mrx rx;
    ck_assert_int_eq(k->make(sizeof(uint64_t), 1, NULL, &tx, &rx), CFUT_OK);
    struct testkit_waker sw;
    struct cfut_waker ws = testkit_waker_init(&sw);
    uint64_t a = 1, b = 2, got = 0;
    ck_assert_int_eq(k->try_send(&tx, &a), CFUT_OK);
    union msend f;
    k->send_init(&f, &tx, &b);
    k->sender_drop(&tx);
    int st = -1;
    ck_assert_int_eq(testkit_poll(&f.base, &ws, &st), CFUT_PENDING);
    ck_assert_int_eq(k->try_recv(&rx, &got), CFUT_OK);
    ck_assert_uint_eq(got, 1);
    ck_assert_int_eq(testkit_waker_n_wakes(&sw), 1);
    ck_assert_int_eq(testkit_poll(&f.base, &ws, &st), CFUT_READY);
    ck_assert_int_eq(st, CFUT_OK);
    ck_assert_int_eq(atomic_load(&sw.refs), 0);
    ck_assert_int_eq(k->try_recv(&rx, &got), CFUT_OK);
    ck_assert_uint_eq(got, 2);
    ck_assert_int_eq(k->try_recv(&rx, &got), CFUT_ECLOSED);
    k->receiver_drop(&rx);
    cfut_future_drop(&f.base);
}
END_TEST

START_TEST(test_mpsc_receiver_drop_frees_queued_messages_and_fails_sends)
{
    const struct mkind *k = &kinds[_i & 1];
    size_t cap = (_i & 2) ? CFUT_MPSC_UNBOUNDED : 3;
    union mtx tx;
    union mrx rx;
    atomic_store(&n_msgs_dropped, 0);
    ck_assert_int_eq(k->make(sizeof(uint64_t), cap, drop_msg, &tx, &rx),
                     CFUT_OK);
    for (uint64_t i = 0; i < 3; i++)
        ck_assert_int_eq(k->try_send(&tx, &i), CFUT_OK);
    uint64_t v = 7;
    union msend f;
    k->send_init(&f, &tx, &v);
    struct testkit_waker tw;
    struct cfut_waker w = testkit_waker_init(&tw);
    int status = 99;
    enum cfut_poll first = testkit_poll(&f.base, &w, &status);

    k->receiver_drop(&rx);

    ck_assert(k->is_closed(&tx));
    if (cap != CFUT_MPSC_UNBOUNDED) {
        ck_assert_int_eq(first, CFUT_PENDING);
        ck_assert_int_eq(atomic_load(&n_msgs_dropped), 3);
        ck_assert_int_eq(testkit_waker_n_wakes(&tw), 1);
        ck_assert_int_eq(testkit_poll(&f.base, &w, &status), CFUT_READY);
        ck_assert_int_eq(status, CFUT_ECLOSED);
    } else {
        ck_assert_int_eq(first, CFUT_READY);
        ck_assert_int_eq(atomic_load(&n_msgs_dropped), 4);
    }
    cfut_future_drop(&f.base);
    ck_assert_int_eq(k->try_send(&tx, &v), CFUT_ECLOSED);
    k->sender_drop(&tx);
}
END_TEST

/* ---- cancellation ---- */

START_TEST(test_mpsc_dropped_send_future_releases_capacity_and_unlinks)
{
    const struct mkind *k = &kinds[_i];
    union mtx tx;
    union mrx rx;
    ck_assert_int_eq(k->make(sizeof(uint64_t), 1, NULL, &tx, &rx), CFUT_OK);
    uint64_t a = 1, b = 2, c = 3, d = 4, got = 0;
    ck_assert_int_eq(k->try_send(&tx, &a), CFUT_OK);
    /* Three senders wait: b, then d (on the heap, so a stale link to it
     * would be a use after free), then c. */
    union msend fb, fc;
    union msend *fd = malloc(sizeof *fd);
    struct testkit_waker twb, twc, twd;
    struct cfut_waker wb = testkit_waker_init(&twb);
    struct cfut_waker wc = testkit_waker_init(&twc);
    struct cfut_waker wd = testkit_waker_init(&twd);
    int st = 99;
    k->send_init(&fb, &tx, &b);
    k->send_init(fd, &tx, &d);
    k->send_init(&fc, &tx, &c);
    ck_assert_int_eq(testkit_poll(&fb.base, &wb, &st), CFUT_PENDING);
    ck_assert_int_eq(testkit_poll(&fd->base, &wd, &st), CFUT_PENDING);
    ck_assert_int_eq(testkit_poll(&fc.base, &wc, &st), CFUT_PENDING);

    cfut_future_drop(&fd->base); /* unlinks d */
    free(fd);
    ck_assert_int_eq(k->try_recv(&rx, &got), CFUT_OK); /* permit to b */
    ck_assert_int_eq(testkit_waker_n_wakes(&twb), 1);
    cfut_future_drop(&fb.base); /* b's permit passes to c */

    ck_assert_int_eq(testkit_waker_n_wakes(&twd), 0);
    ck_assert_int_eq(testkit_waker_n_wakes(&twc), 1);
    ck_assert_int_eq(testkit_poll(&fc.base, &wc, &st), CFUT_READY);
    ck_assert_int_eq(st, CFUT_OK);
    cfut_future_drop(&fc.base);
    ck_assert_int_eq(k->try_recv(&rx, &got), CFUT_OK);
    ck_assert_uint_eq(got, 3);
    ck_assert_int_eq(k->try_recv(&rx, &got), CFUT_EAGAIN);
    ck_assert_int_eq(k->try_send(&tx, &a), CFUT_OK); /* capacity is back */
    k->sender_drop(&tx);
    k->receiver_drop(&rx);
}
END_TEST

START_TEST(test_mpsc_dropped_recv_future_loses_no_message)
{
    const struct mkind *k = &kinds[_i];
    union mtx tx;
    union mrx rx;
    ck_assert_int_eq(k->make(sizeof(uint64_t), 4, NULL, &tx, &rx), CFUT_OK);
    struct testkit_waker tw;
    struct cfut_waker w = testkit_waker_init(&tw);
    out_u64 out = {0, 0};
    union mrecv r;
    k->recv_init(&r, &rx);
    ck_assert_int_eq(testkit_poll(&r.base, &w, &out), CFUT_PENDING);
    uint64_t v = 5;

    cfut_future_drop(&r.base);
    ck_assert_int_eq(testkit_wakers_live(), 0);
    ck_assert_int_eq(k->try_send(&tx, &v), CFUT_OK);

    ck_assert_int_eq(testkit_waker_n_wakes(&tw), 0);
    k->recv_init(&r, &rx);
    ck_assert_int_eq(testkit_poll(&r.base, &w, &out), CFUT_READY);
    ck_assert_uint_eq(out.value, 5);
    cfut_future_drop(&r.base);
    k->sender_drop(&tx);
    k->receiver_drop(&rx);
}
END_TEST

START_TEST(test_mpsc_a_spent_budget_makes_recv_yield_without_taking)
{
    const struct mkind *k = &kinds[_i];
    union mtx tx;
    union mrx rx;
    ck_assert_int_eq(k->make(sizeof(uint64_t), 4, NULL, &tx, &rx), CFUT_OK);
    uint64_t v = 8;
    ck_assert_int_eq(k->try_send(&tx, &v), CFUT_OK);
    struct testkit_waker tw;
    struct cfut_waker w = testkit_waker_init(&tw);
    uint32_t budget = 0;
    struct cfut_context cx;
    cfut_context_init(&cx, &w);
    cx.budget = &budget; /* a task whose budget is spent */
    out_u64 out = {0, 0};
    union mrecv r;
    k->recv_init(&r, &rx);

    enum cfut_poll p = cfut_future_poll(&r.base, &cx, &out);

    ck_assert_int_eq(p, CFUT_PENDING);
    ck_assert_int_eq(testkit_waker_n_wakes(&tw), 1);
    ck_assert_uint_eq(k->len(&rx), 1);
    budget = 1;
    ck_assert_int_eq(cfut_future_poll(&r.base, &cx, &out), CFUT_READY);
    ck_assert_uint_eq(out.value, 8);
    ck_assert_uint_eq(budget, 0);
    cfut_future_drop(&r.base);
    k->sender_drop(&tx);
    k->receiver_drop(&rx);
}
END_TEST

static enum cfut_poll
poll_recv_any(int kind, union mrx *rx, const struct cfut_waker *w, void *out)
{
    struct cfut_context cx;
    cfut_context_init(&cx, w);
    return kind == 0 ? cfut_mpsc_poll_recv(&rx->l, &cx, out)
                     : cfut_mpsc_sync_poll_recv(&rx->s, &cx, out);
}

START_TEST(test_mpsc_poll_recv_waits_takes_in_order_then_sees_closed)
{
    const struct mkind *k = &kinds[_i];
    union mtx tx;
    union mrx rx;
    ck_assert_int_eq(k->make(sizeof(uint64_t), 4, NULL, &tx, &rx), CFUT_OK);
    struct testkit_waker tw;
    struct cfut_waker w = testkit_waker_init(&tw);
    out_u64 out = {0, 0};
    ck_assert_int_eq(poll_recv_any(_i, &rx, &w, &out), CFUT_PENDING);

    for (uint64_t i = 10; i < 13; i++)
        ck_assert_int_eq(k->try_send(&tx, &i), CFUT_OK);
    k->sender_drop(&tx);

    ck_assert_int_eq(testkit_waker_n_wakes(&tw), 1);
    for (uint64_t i = 10; i < 13; i++) {
        ck_assert_int_eq(poll_recv_any(_i, &rx, &w, &out), CFUT_READY);
        ck_assert_int_eq(out.status, CFUT_OK);
        ck_assert_uint_eq(out.value, i);
    }
    ck_assert_int_eq(poll_recv_any(_i, &rx, &w, &out), CFUT_READY);
    ck_assert_int_eq(out.status, CFUT_ECLOSED);
    k->receiver_drop(&rx);
}
END_TEST

/* ---- permits, the receiver's waker, callbacks ---- */

/* A channel of u64 messages and a counting waker for its receiver. */
struct chan {
    const struct mkind *k;
    union mtx tx;
    union mrx rx;
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

/* Live references to 'tw' and clones made of it. */
static long
refs_of(struct testkit_waker *tw)
{
    return atomic_load(&tw->refs);
}

static long
clones_of(struct testkit_waker *tw)
{
    return atomic_load(&tw->clones);
}

START_TEST(test_mpsc_each_freed_slot_goes_to_the_next_waiting_sender)
{
    const struct mkind *k = &kinds[_i];
    union mtx tx;
    union mrx rx;
    ck_assert_int_eq(k->make(sizeof(uint64_t), 2, NULL, &tx, &rx), CFUT_OK);
    uint64_t m[2] = {100, 101}, v[3] = {0, 1, 2}, got = 0;
    ck_assert_int_eq(k->try_send(&tx, &m[0]), CFUT_OK);
    ck_assert_int_eq(k->try_send(&tx, &m[1]), CFUT_OK);
    union msend f[3];
    struct testkit_waker tw[3];
    struct cfut_waker w[3];
    int st = 99;
    for (int j = 0; j < 3; j++) {
        w[j] = testkit_waker_init(&tw[j]);
        k->send_init(&f[j], &tx, &v[j]);
        ck_assert_int_eq(testkit_poll(&f[j].base, &w[j], &st), CFUT_PENDING);
    }

    /* Each receive frees one slot: exactly the first waiter still waiting
     * is woken, its slot is kept from try_send, and it queues. */
    uint64_t want[] = {100, 101, 0, 1, 2};
    for (int j = 0; j < 3; j++) {
        ck_assert_int_eq(k->try_recv(&rx, &got), CFUT_OK);
        ck_assert_uint_eq(got, want[j]);
        for (int q = 0; q < 3; q++)
            ck_assert_int_eq(testkit_waker_n_wakes(&tw[q]), q <= j ? 1 : 0);
        ck_assert_int_eq(k->try_send(&tx, &got), CFUT_EFULL);
        ck_assert_int_eq(testkit_poll(&f[j].base, &w[j], &st), CFUT_READY);
        ck_assert_int_eq(st, CFUT_OK);
        cfut_future_drop(&f[j].base);
    }

    for (int j = 3; j < 5; j++) {
        ck_assert_int_eq(k->try_recv(&rx, &got), CFUT_OK);
        ck_assert_uint_eq(got, want[j]);
    }
    k->sender_drop(&tx);
    k->receiver_drop(&rx);
}
END_TEST

/* What the drop_msg callback of the next test reaches. */
static union msend *held_permit;
static struct testkit_waker *other_waiter;
static long other_wakes_in_callback;

static void
drop_msg_dropping_a_send(void *m)
{
    (void)m;
    if (held_permit != NULL) {
        cfut_future_drop(&held_permit->base);
        held_permit = NULL;
        other_wakes_in_callback = testkit_waker_n_wakes(other_waiter);
    }
}

START_TEST(
    test_mpsc_a_permit_given_back_after_the_receiver_goes_is_not_passed_on)
{
    const struct mkind *k = &kinds[_i];
    union mtx tx;
    union mrx rx;
    ck_assert_int_eq(
        k->make(sizeof(uint64_t), 2, drop_msg_dropping_a_send, &tx, &rx),
        CFUT_OK);
    uint64_t m = 7, b = 8, c = 9, got = 0;
    ck_assert_int_eq(k->try_send(&tx, &m), CFUT_OK);
    ck_assert_int_eq(k->try_send(&tx, &m), CFUT_OK);
    union msend fb, fc;
    struct testkit_waker twb, twc;
    struct cfut_waker wb = testkit_waker_init(&twb);
    struct cfut_waker wc = testkit_waker_init(&twc);
    int st = 99;
    k->send_init(&fb, &tx, &b);
    k->send_init(&fc, &tx, &c);
    ck_assert_int_eq(testkit_poll(&fb.base, &wb, &st), CFUT_PENDING);
    ck_assert_int_eq(testkit_poll(&fc.base, &wc, &st), CFUT_PENDING);
    ck_assert_int_eq(k->try_recv(&rx, &got), CFUT_OK); /* permit to b */
    ck_assert_int_eq(testkit_waker_n_wakes(&twb), 1);
    held_permit = &fb;
    other_waiter = &twc;
    other_wakes_in_callback = -1;

    /* The receiver's drop releases the queued message; its callback drops
     * b, which gives its permit back: with the receiver gone, c must not
     * get it, only the receiver's own wake. */
    k->receiver_drop(&rx);

    ck_assert_ptr_null(held_permit);
    ck_assert_int_eq(other_wakes_in_callback, 0);
    ck_assert_int_eq(testkit_waker_n_wakes(&twc), 1);
    ck_assert_int_eq(testkit_poll(&fc.base, &wc, &st), CFUT_READY);
    ck_assert_int_eq(st, CFUT_ECLOSED);
    cfut_future_drop(&fc.base);
    k->sender_drop(&tx);
}
END_TEST

START_TEST(test_mpsc_the_parked_receivers_waker_stays_registered_across_wakes)
{
    struct chan c;
    chan_init(&c, _i, 4);
    out_u64 out = {0, 0};
    ck_assert_int_eq(poll_recv_any(_i, &c.rx, &c.w, &out), CFUT_PENDING);
    ck_assert_int_eq(refs_of(&c.tw), 1);

    for (uint64_t i = 0; i < 3; i++) {
        ck_assert_int_eq(c.k->try_send(&c.tx, &i), CFUT_OK);
        ck_assert_int_eq(c.k->try_send(&c.tx, &i), CFUT_OK); /* not parked */
        ck_assert_int_eq(testkit_waker_n_wakes(&c.tw), (long)i + 1);
        ck_assert_int_eq(refs_of(&c.tw), 1); /* still registered */
        ck_assert_int_eq(poll_recv_any(_i, &c.rx, &c.w, &out), CFUT_READY);
        ck_assert_int_eq(poll_recv_any(_i, &c.rx, &c.w, &out), CFUT_READY);
        ck_assert_int_eq(poll_recv_any(_i, &c.rx, &c.w, &out), CFUT_PENDING);
        ck_assert_int_eq(refs_of(&c.tw), 1); /* parked again */
    }

    /* The documented cost difference: the local kind wakes the registered
     * waker by reference; the thread-safe kind wakes a clone of it taken
     * under the lock, one per wake. */
    ck_assert_int_eq(clones_of(&c.tw), _i == 0 ? 1 : 1 + 3);
    c.k->sender_drop(&c.tx);
    ck_assert_int_eq(testkit_waker_n_wakes(&c.tw), 4);
    c.k->receiver_drop(&c.rx);
    ck_assert_int_eq(refs_of(&c.tw), 0);
}
END_TEST

/* What a woken receiver's waker does: it looks at the channel at once
 * (the state must be whole, and no lock held). */
struct len_probe {
    const struct mkind *k;
    union mrx *rx;
    size_t len_seen;
};

static void
probe_len(void *arg)
{
    struct len_probe *p = arg;
    p->len_seen = p->k->len(p->rx);
}

START_TEST(test_mpsc_a_woken_receiver_may_call_into_the_channel_at_once)
{
    struct chan c;
    chan_init(&c, _i, 4);
    struct len_probe probe = {c.k, &c.rx, 0};
    c.w = testkit_waker_init_calling(&c.tw, probe_len, &probe);
    out_u64 out = {0, 0};
    ck_assert_int_eq(poll_recv_any(_i, &c.rx, &c.w, &out), CFUT_PENDING);
    uint64_t v = 3;

    ck_assert_int_eq(c.k->try_send(&c.tx, &v), CFUT_OK);

    ck_assert_int_eq(testkit_waker_n_wakes(&c.tw), 1);
    ck_assert_uint_eq(probe.len_seen, 1); /* the message was queued first */
    c.k->sender_drop(&c.tx);
    c.k->receiver_drop(&c.rx);
}
END_TEST

/* What the drop_msg callback of the next test drops. */
static const struct mkind *last_sender_kind;
static union mtx *last_sender;

static void
drop_msg_dropping_the_last_sender(void *m)
{
    (void)m;
    if (last_sender != NULL) {
        last_sender_kind->sender_drop(last_sender);
        last_sender = NULL;
    }
}

START_TEST(test_mpsc_drop_msg_may_drop_the_last_sender)
{
    const struct mkind *k = &kinds[_i];
    union mtx tx;
    union mrx rx;
    ck_assert_int_eq(k->make(sizeof(uint64_t), 4,
                             drop_msg_dropping_the_last_sender, &tx, &rx),
                     CFUT_OK);
    uint64_t v = 1;
    ck_assert_int_eq(k->try_send(&tx, &v), CFUT_OK);
    ck_assert_int_eq(k->try_send(&tx, &v), CFUT_OK);
    last_sender_kind = k;
    last_sender = &tx;

    /* The callback runs with no lock held and the state still alive. */
    k->receiver_drop(&rx);

    ck_assert_ptr_null(last_sender);
    ck_assert_ptr_null(tx.l.shared);
}
END_TEST

/* ---- tasks on an executor ---- */

/* A producer task: sends 0..n-1 with send futures, then drops its sender. */
struct producer {
    struct cfut_future base;
    const struct mkind *k;
    union mtx tx;
    uint64_t i, n, msg;
    bool sending;
    union msend send;
};

static enum cfut_poll
producer_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    (void)out;
    struct producer *p = cfut_container_of(f, struct producer, base);
    while (p->i < p->n) {
        if (!p->sending) {
            p->msg = p->i;
            p->k->send_init(&p->send, &p->tx, &p->msg);
            p->sending = true;
        }
        int st;
        if (cfut_future_poll(&p->send.base, cx, &st) == CFUT_PENDING)
            return CFUT_PENDING;
        cfut_future_drop(&p->send.base);
        p->sending = false;
        ck_assert_int_eq(st, CFUT_OK);
        p->i++;
    }
    p->k->sender_drop(&p->tx);
    return CFUT_READY;
}

static void
producer_drop(struct cfut_future *f)
{
    struct producer *p = cfut_container_of(f, struct producer, base);
    if (p->sending)
        cfut_future_drop(&p->send.base);
    p->k->sender_drop(&p->tx);
}

static const struct cfut_future_vtable producer_vtable = {
    producer_poll, producer_drop, 0, "producer", NULL};

/* A consumer task: sums messages until the channel closes. */
struct consumer {
    struct cfut_future base;
    const struct mkind *k;
    union mrx *rx;
    uint64_t sum, n;
    bool receiving;
    union mrecv recv;
};

static enum cfut_poll
consumer_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct consumer *c = cfut_container_of(f, struct consumer, base);
    for (;;) {
        if (!c->receiving) {
            c->k->recv_init(&c->recv, c->rx);
            c->receiving = true;
        }
        out_u64 r;
        if (cfut_future_poll(&c->recv.base, cx, &r) == CFUT_PENDING)
            return CFUT_PENDING;
        cfut_future_drop(&c->recv.base);
        c->receiving = false;
        if (r.status == CFUT_ECLOSED)
            break;
        ck_assert_uint_eq(r.value, c->n); /* FIFO */
        c->sum += r.value;
        c->n++;
    }
    *(uint64_t *)out = c->sum;
    return CFUT_READY;
}

static void
consumer_drop(struct cfut_future *f)
{
    struct consumer *c = cfut_container_of(f, struct consumer, base);
    if (c->receiving)
        cfut_future_drop(&c->recv.base);
}

static const struct cfut_future_vtable consumer_vtable = {
    consumer_poll, consumer_drop, sizeof(uint64_t), "consumer", NULL};

START_TEST(test_mpsc_tasks_pass_messages_under_backpressure)
{
    const struct mkind *k = &kinds[_i];
    struct cfut_executor *ex;
    ck_assert_int_eq(cfut_executor_new(&ex), CFUT_OK);
    union mrx rx;
    struct producer p;
    memset(&p, 0, sizeof p);
    cfut_future_init(&p.base, &producer_vtable);
    p.k = k;
    p.n = 1000;
    ck_assert_int_eq(k->make(sizeof(uint64_t), 2, NULL, &p.tx, &rx), CFUT_OK);
    struct consumer c;
    memset(&c, 0, sizeof c);
    cfut_future_init(&c.base, &consumer_vtable);
    c.k = k;
    c.rx = &rx;
    ck_assert_int_eq(cfut_spawn(ex, &p.base, sizeof p, NULL), CFUT_OK);
    uint64_t sum = 0;

    ck_assert_int_eq(cfut_block_on(ex, &c.base, &sum), CFUT_OK);

    ck_assert_uint_eq(sum, 999 * 1000 / 2);
    k->receiver_drop(&rx);
    cfut_executor_free(ex);
}
END_TEST

/* ---- allocation failure and misuse ---- */

START_TEST(test_mpsc_new_reports_enomem_and_leaks_nothing)
{
    const struct mkind *k = &kinds[_i & 1];
    size_t cap = (_i & 2) ? CFUT_MPSC_UNBOUNDED : 16;
    int failures = 0;
    for (long n = 1; n < 10; n++) {
        union mtx tx = {{NULL}};
        union mrx rx = {{NULL}};
        testkit_alloc_fail_at(n);
        int rc = k->make(sizeof(uint64_t), cap, NULL, &tx, &rx);
        if (rc == CFUT_OK) {
            ck_assert(!testkit_alloc_failed());
            k->sender_drop(&tx);
            k->receiver_drop(&rx);
            break;
        }
        ck_assert_int_eq(rc, CFUT_ENOMEM);
        ck_assert_ptr_null(tx.l.shared);
        ck_assert_ptr_null(rx.l.shared);
        ck_assert_int_eq(testkit_alloc_live(), 0);
        failures++;
    }
    testkit_alloc_fail_at(0);
    ck_assert_int_eq(failures, 1);
}
END_TEST

START_TEST(test_mpsc_unbounded_growth_reports_enomem_and_keeps_messages)
{
    const struct mkind *k = &kinds[_i];
    union mtx tx;
    union mrx rx;
    atomic_store(&n_msgs_dropped, 0);
    ck_assert_int_eq(
        k->make(sizeof(uint64_t), CFUT_MPSC_UNBOUNDED, drop_msg, &tx, &rx),
        CFUT_OK);
    uint64_t i = 0, got = 0;
    int failures = 0;

    /* Every growth (the first ring, then 16 -> 32 -> 64) fails once. */
    while (i < 40) {
        testkit_alloc_fail_at(1);
        int rc = k->try_send(&tx, &i);
        if (rc == CFUT_ENOMEM) {
            ck_assert(testkit_alloc_failed());
            failures++;
            testkit_alloc_fail_at(0);
            /* The send future meets the same failure in its status. */
            union msend f;
            int st = 99;
            k->send_init(&f, &tx, &i);
            testkit_alloc_fail_at(1);
            ck_assert_int_eq(testkit_poll(&f.base, cfut_waker_noop(), &st),
                             CFUT_READY);
            ck_assert_int_eq(st, CFUT_ENOMEM);
            cfut_future_drop(&f.base);
            testkit_alloc_fail_at(0);
            ck_assert_int_eq(k->try_send(&tx, &i), CFUT_OK);
        } else {
            ck_assert_int_eq(rc, CFUT_OK);
        }
        i++;
    }
    testkit_alloc_fail_at(0);

    ck_assert_int_eq(failures, 3);
    for (uint64_t j = 0; j < 20; j++) {
        ck_assert_int_eq(k->try_recv(&rx, &got), CFUT_OK);
        ck_assert_uint_eq(got, j);
    }
    k->sender_drop(&tx);
    k->receiver_drop(&rx);
    ck_assert_int_eq(atomic_load(&n_msgs_dropped), 20);
}
END_TEST

START_TEST(test_mpsc_new_rejects_bad_arguments)
{
    struct cfut_mpsc_sender tx;
    struct cfut_mpsc_receiver rx;

    ck_assert_int_eq(cfut_mpsc_new(0, 4, NULL, &tx, &rx), CFUT_EINVAL);
    ck_assert_int_eq(cfut_mpsc_new(8, 4, NULL, NULL, &rx), CFUT_EINVAL);
    ck_assert_int_eq(cfut_mpsc_new(8, SIZE_MAX / 4, NULL, &tx, &rx),
                     CFUT_EINVAL);
    ck_assert_int_eq(testkit_alloc_count(), 0);
}
END_TEST

START_TEST(test_mpsc_two_recv_futures_abort)
{
    struct cfut_mpsc_sender tx;
    struct cfut_mpsc_receiver rx;
    struct cfut_mpsc_recv a, b;
    ck_assert_int_eq(cfut_mpsc_new(8, 4, NULL, &tx, &rx), CFUT_OK);
    cfut_mpsc_recv_init(&a, &rx);

    cfut_mpsc_recv_init(&b, &rx);
}
END_TEST

/* ---- producers on many threads ---- */

#define N_PRODUCERS 4
#define N_PER_PRODUCER 4000

struct thread_producer {
    struct cfut_mpsc_sync_sender tx;
    uint64_t id;
    int status; /* the first failure, checked by the test's thread */
};

static void *
produce(void *arg)
{
    struct thread_producer *tp = arg;
    struct cfut_executor *ex;
    tp->status = cfut_executor_new(&ex);
    if (tp->status != CFUT_OK) {
        cfut_mpsc_sync_sender_drop(&tp->tx);
        return NULL;
    }
    for (uint64_t i = 0; i < N_PER_PRODUCER && tp->status == CFUT_OK; i++) {
        uint64_t m = tp->id << 32 | i;
        if (i % 2 == 0 && cfut_mpsc_sync_try_send(&tp->tx, &m) == CFUT_OK)
            continue;
        struct cfut_mpsc_sync_send f;
        cfut_mpsc_sync_send_init(&f, &tp->tx, &m);
        int st = 99;
        tp->status = cfut_block_on(ex, &f.base, &st);
        if (tp->status == CFUT_OK)
            tp->status = st;
    }
    cfut_mpsc_sync_sender_drop(&tp->tx);
    cfut_executor_free(ex);
    return NULL;
}

START_TEST(test_mpsc_sync_producers_on_many_threads_lose_nothing)
{
    struct cfut_executor *ex;
    ck_assert_int_eq(cfut_executor_new(&ex), CFUT_OK);
    struct cfut_mpsc_sync_sender tx;
    struct cfut_mpsc_sync_receiver rx;
    ck_assert_int_eq(cfut_mpsc_sync_new(sizeof(uint64_t), 8, NULL, &tx, &rx),
                     CFUT_OK);
    struct thread_producer tp[N_PRODUCERS];
    pthread_t th[N_PRODUCERS];
    for (int i = 0; i < N_PRODUCERS; i++) {
        tp[i].tx = cfut_mpsc_sync_sender_clone(&tx);
        tp[i].id = (uint64_t)i;
        tp[i].status = CFUT_OK;
        ck_assert_int_eq(pthread_create(&th[i], NULL, produce, &tp[i]), 0);
    }
    cfut_mpsc_sync_sender_drop(&tx);
    uint64_t next[N_PRODUCERS] = {0};
    long n = 0;

    for (;;) {
        struct cfut_mpsc_sync_recv r;
        cfut_mpsc_sync_recv_init(&r, &rx);
        out_u64 out = {0, 0};
        ck_assert_int_eq(cfut_block_on(ex, &r.base, &out), CFUT_OK);
        if (out.status == CFUT_ECLOSED)
            break;
        uint64_t id = out.value >> 32, seq = out.value & 0xffffffffu;
        ck_assert_uint_lt(id, N_PRODUCERS);
        ck_assert_uint_eq(seq, next[id]); /* FIFO per producer */
        next[id]++;
        n++;
    }
    for (int i = 0; i < N_PRODUCERS; i++) {
        pthread_join(th[i], NULL);
        ck_assert_int_eq(tp[i].status, CFUT_OK);
    }
    ck_assert_int_eq(n, N_PRODUCERS * N_PER_PRODUCER);
    cfut_mpsc_sync_receiver_drop(&rx);
    cfut_executor_free(ex);
}
END_TEST

static Suite *
mpsc_suite(void)
{
    Suite *s = suite_create("mpsc");
    TCase *tc = tcase_create("order and capacity");
    testkit_fixture(tc);
    tcase_add_loop_test(tc, test_mpsc_messages_come_out_in_fifo_order, 0, 4);
    tcase_add_loop_test(tc, test_mpsc_try_send_on_a_full_channel_is_efull, 0,
                        2);
    tcase_add_loop_test(
        tc, test_mpsc_full_channel_parks_the_sender_and_recv_wakes_it, 0, 2);
    tcase_add_loop_test(
        tc, test_mpsc_a_spent_budget_makes_recv_yield_without_taking, 0, 2);
    tcase_add_loop_test(
        tc, test_mpsc_poll_recv_waits_takes_in_order_then_sees_closed, 0, 2);
    tcase_add_loop_test(tc, test_mpsc_tasks_pass_messages_under_backpressure, 0,
                        2);
    suite_add_tcase(s, tc);

    tc = tcase_create("closing and cancellation");
    testkit_fixture(tc);
    tcase_add_loop_test(
        tc, test_mpsc_receiver_drains_then_sees_closed_after_last_sender, 0, 2);
    tcase_add_loop_test(tc, test_mpsc_last_sender_drop_wakes_a_waiting_receiver,
                        0, 2);
    tcase_add_loop_test(
        tc, test_mpsc_receiver_drop_frees_queued_messages_and_fails_sends, 0,
        4);
    tcase_add_loop_test(
        tc, test_mpsc_dropped_send_future_releases_capacity_and_unlinks, 0, 2);
    tcase_add_loop_test(tc, test_mpsc_dropped_recv_future_loses_no_message, 0,
                        2);
    tcase_add_loop_test(
        tc, test_mpsc_a_ready_send_future_lets_go_of_the_channel, 0, 4);
    tcase_add_loop_test(
        tc, test_mpsc_a_send_ready_after_waiting_lets_go_of_the_channel, 0, 2);
    suite_add_tcase(s, tc);

    tc = tcase_create("permits, wakes and callbacks");
    testkit_fixture(tc);
    tcase_add_loop_test(
        tc, test_mpsc_each_freed_slot_goes_to_the_next_waiting_sender, 0, 2);
    tcase_add_loop_test(
        tc,
        test_mpsc_a_permit_given_back_after_the_receiver_goes_is_not_passed_on,
        0, 2);
    tcase_add_loop_test(
        tc, test_mpsc_the_parked_receivers_waker_stays_registered_across_wakes,
        0, 2);
    tcase_add_loop_test(
        tc, test_mpsc_a_woken_receiver_may_call_into_the_channel_at_once, 0, 2);
    tcase_add_loop_test(tc, test_mpsc_drop_msg_may_drop_the_last_sender, 0, 2);
    suite_add_tcase(s, tc);

    tc = tcase_create("allocation and misuse");
    testkit_fixture(tc);
    tcase_add_loop_test(tc, test_mpsc_new_reports_enomem_and_leaks_nothing, 0,
                        4);
    tcase_add_loop_test(
        tc, test_mpsc_unbounded_growth_reports_enomem_and_keeps_messages, 0, 2);
    tcase_add_test(tc, test_mpsc_new_rejects_bad_arguments);
    testkit_add_abort_test(tc, test_mpsc_two_recv_futures_abort);
    suite_add_tcase(s, tc);

    tc = tcase_create("threads");
    testkit_fixture(tc);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_mpsc_sync_producers_on_many_threads_lose_nothing);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return testkit_run(mpsc_suite());
}
