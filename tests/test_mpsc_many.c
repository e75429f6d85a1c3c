/*
 * test_mpsc_many.c: the mpsc channel's batched calls, both kinds:
 * try_send_many (what fits, in order, one wake per batch; EFULL,
 * ECLOSED, ENOMEM with the count queued), try_recv_many and
 * poll_recv_many (FIFO across the ring's end, each freed slot a permit for
 * a waiting sender, ECLOSED/EAGAIN/EINVAL), and batches crossing threads
 * with the thread-safe kind.
 */
#define _GNU_SOURCE
#include "testkit.h"
#include "mpsc_kinds.h"

#include <pthread.h>
#include <string.h>

/* ---- both kinds behind one table (the unions: mpsc_kinds.h) ---- */

static int
make(int kind, size_t cap, union mtx *t, union mrx *r)
{
    if (kind == 0)
        return cfut_mpsc_new(sizeof(uint64_t), cap, NULL, &t->l, &r->l);
    return cfut_mpsc_sync_new(sizeof(uint64_t), cap, NULL, &t->s, &r->s);
}

static int
send_many(int kind, union mtx *t, const uint64_t *m, size_t n, size_t *sent)
{
    if (kind == 0)
        return cfut_mpsc_try_send_many(&t->l, m, n, sent);
    return cfut_mpsc_sync_try_send_many(&t->s, m, n, sent);
}

static int
recv_many(int kind, union mrx *r, uint64_t *m, size_t max, size_t *n)
{
    if (kind == 0)
        return cfut_mpsc_try_recv_many(&r->l, m, max, n);
    return cfut_mpsc_sync_try_recv_many(&r->s, m, max, n);
}

static enum cfut_poll
poll_many(int kind, union mrx *r, const struct cfut_waker *w, uint64_t *m,
          size_t max, size_t *n)
{
    struct cfut_context cx;
    cfut_context_init(&cx, w);
    if (kind == 0)
        return cfut_mpsc_poll_recv_many(&r->l, &cx, m, max, n);
    return cfut_mpsc_sync_poll_recv_many(&r->s, &cx, m, max, n);
}

static void
send_init(int kind, union msend *f, union mtx *t, const uint64_t *m)
{
    if (kind == 0)
        cfut_mpsc_send_init(&f->l, &t->l, m);
    else
        cfut_mpsc_sync_send_init(&f->s, &t->s, m);
}

static void
sender_drop(int kind, union mtx *t)
{
    if (kind == 0)
        cfut_mpsc_sender_drop(&t->l);
    else
        cfut_mpsc_sync_sender_drop(&t->s);
}

static void
receiver_drop(int kind, union mrx *r)
{
    if (kind == 0)
        cfut_mpsc_receiver_drop(&r->l);
    else
        cfut_mpsc_sync_receiver_drop(&r->s);
}

static int
try_send(int kind, union mtx *t, uint64_t m)
{
    if (kind == 0)
        return cfut_mpsc_try_send(&t->l, &m);
    return cfut_mpsc_sync_try_send(&t->s, &m);
}

static int
try_recv(int kind, union mrx *r, uint64_t *m)
{
    if (kind == 0)
        return cfut_mpsc_try_recv(&r->l, m);
    return cfut_mpsc_sync_try_recv(&r->s, m);
}

/* ---- batches ---- */

START_TEST(test_mpsc_many_batches_keep_fifo_order_across_the_ring_end)
{
    int kind = _i;
    union mtx tx;
    union mrx rx;
    ck_assert_int_eq(make(kind, 8, &tx, &rx), CFUT_OK);
    uint64_t m[8], got[16];
    size_t n;
    for (int j = 0; j < 5; j++)
        ck_assert_int_eq(try_send(kind, &tx, (uint64_t)j), CFUT_OK);
    ck_assert_int_eq(recv_many(kind, &rx, got, 3, &n), CFUT_OK);
    ck_assert_uint_eq(n, 3);
    for (int j = 0; j < 3; j++)
        ck_assert_uint_eq(got[j], (uint64_t)j);

    /* 2 queued from slot 3: six more wrap around the ring's end. */
    for (int j = 0; j < 6; j++)
        m[j] = 5 + (uint64_t)j;
    ck_assert_int_eq(send_many(kind, &tx, m, 6, &n), CFUT_OK);
    ck_assert_uint_eq(n, 6);

    ck_assert_int_eq(recv_many(kind, &rx, got, 16, &n), CFUT_OK);
    ck_assert_uint_eq(n, 8);
    for (int j = 0; j < 8; j++)
        ck_assert_uint_eq(got[j], 3 + (uint64_t)j);
    ck_assert_int_eq(recv_many(kind, &rx, got, 16, &n), CFUT_EAGAIN);
    ck_assert_uint_eq(n, 0);

    sender_drop(kind, &tx);
    ck_assert_int_eq(recv_many(kind, &rx, got, 16, &n), CFUT_ECLOSED);
    ck_assert_uint_eq(n, 0);
    receiver_drop(kind, &rx);
}
END_TEST

START_TEST(test_mpsc_many_send_many_queues_what_fits_then_efull)
{
    int kind = _i;
    union mtx tx;
    union mrx rx;
    ck_assert_int_eq(make(kind, 4, &tx, &rx), CFUT_OK);
    uint64_t m[6] = {10, 11, 12, 13, 14, 15}, got[8];
    size_t n = 99;
    ck_assert_int_eq(send_many(kind, &tx, m, 6, &n), CFUT_EFULL);
    ck_assert_uint_eq(n, 4);
    ck_assert_int_eq(send_many(kind, &tx, m + 4, 2, &n), CFUT_EFULL);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(send_many(kind, &tx, m, 0, &n), CFUT_OK); /* nothing */
    ck_assert_uint_eq(n, 0);

    ck_assert_int_eq(recv_many(kind, &rx, got, 8, &n), CFUT_OK);
    ck_assert_uint_eq(n, 4);
    for (int j = 0; j < 4; j++)
        ck_assert_uint_eq(got[j], 10 + (uint64_t)j);
    sender_drop(kind, &tx);
    receiver_drop(kind, &rx);
}
END_TEST

START_TEST(test_mpsc_many_send_many_takes_no_slot_while_senders_wait)
{
    int kind = _i;
    union mtx tx;
    union mrx rx;
    ck_assert_int_eq(make(kind, 1, &tx, &rx), CFUT_OK);
    uint64_t a = 1, b = 2, c[2] = {3, 4}, got;
    ck_assert_int_eq(try_send(kind, &tx, a), CFUT_OK);
    union msend f;
    struct testkit_waker tw;
    struct cfut_waker w = testkit_waker_init(&tw);
    send_init(kind, &f, &tx, &b);
    int st = 99;
    ck_assert_int_eq(testkit_poll(&f.base, &w, &st), CFUT_PENDING);

    /* The receive frees the slot: it is the waiting sender's permit. */
    ck_assert_int_eq(try_recv(kind, &rx, &got), CFUT_OK);
    ck_assert_int_eq(testkit_waker_n_wakes(&tw), 1);
    size_t n = 99;
    ck_assert_int_eq(send_many(kind, &tx, c, 2, &n), CFUT_EFULL);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(testkit_poll(&f.base, &w, &st), CFUT_READY);
    ck_assert_int_eq(st, CFUT_OK);
    cfut_future_drop(&f.base);
    ck_assert_int_eq(try_recv(kind, &rx, &got), CFUT_OK);
    ck_assert_uint_eq(got, 2);
    sender_drop(kind, &tx);
    receiver_drop(kind, &rx);
}
END_TEST

START_TEST(test_mpsc_many_recv_many_gives_each_freed_slot_to_a_waiter)
{
    int kind = _i;
    union mtx tx;
    union mrx rx;
    ck_assert_int_eq(make(kind, 2, &tx, &rx), CFUT_OK);
    ck_assert_int_eq(try_send(kind, &tx, 100), CFUT_OK);
    ck_assert_int_eq(try_send(kind, &tx, 101), CFUT_OK);
    union msend f[3];
    struct testkit_waker tw[3];
    struct cfut_waker w[3];
    uint64_t v[3] = {0, 1, 2}, got[8];
    int st = 99;
    for (int j = 0; j < 3; j++) {
        w[j] = testkit_waker_init(&tw[j]);
        send_init(kind, &f[j], &tx, &v[j]);
        ck_assert_int_eq(testkit_poll(&f[j].base, &w[j], &st), CFUT_PENDING);
    }

    /* Two slots freed at once: the first two waiters get them, in order. */
    size_t n;
    ck_assert_int_eq(recv_many(kind, &rx, got, 8, &n), CFUT_OK);
    ck_assert_uint_eq(n, 2);
    ck_assert_uint_eq(got[0], 100);
    ck_assert_uint_eq(got[1], 101);
    ck_assert_int_eq(testkit_waker_n_wakes(&tw[0]), 1);
    ck_assert_int_eq(testkit_waker_n_wakes(&tw[1]), 1);
    ck_assert_int_eq(testkit_waker_n_wakes(&tw[2]), 0);
    for (int j = 0; j < 2; j++) {
        ck_assert_int_eq(testkit_poll(&f[j].base, &w[j], &st), CFUT_READY);
        ck_assert_int_eq(st, CFUT_OK);
        cfut_future_drop(&f[j].base);
    }

    ck_assert_int_eq(recv_many(kind, &rx, got, 1, &n), CFUT_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert_uint_eq(got[0], 0);
    ck_assert_int_eq(testkit_waker_n_wakes(&tw[2]), 1);
    ck_assert_int_eq(testkit_poll(&f[2].base, &w[2], &st), CFUT_READY);
    cfut_future_drop(&f[2].base);
    ck_assert_int_eq(recv_many(kind, &rx, got, 8, &n), CFUT_OK);
    ck_assert_uint_eq(n, 2);
    ck_assert_uint_eq(got[0], 1);
    ck_assert_uint_eq(got[1], 2);
    sender_drop(kind, &tx);
    receiver_drop(kind, &rx);
}
END_TEST

START_TEST(test_mpsc_many_poll_recv_many_waits_then_takes_the_batch)
{
    int kind = _i;
    union mtx tx;
    union mrx rx;
    ck_assert_int_eq(make(kind, CFUT_MPSC_UNBOUNDED, &tx, &rx), CFUT_OK);
    struct testkit_waker tw;
    struct cfut_waker w = testkit_waker_init(&tw);
    uint64_t m[100], got[128];
    size_t n = 99;
    ck_assert_int_eq(poll_many(kind, &rx, &w, got, 128, &n), CFUT_PENDING);
    ck_assert_uint_eq(n, 0);

    /* One batch of 100 into an unbounded ring: it grows, one wake. */
    for (int j = 0; j < 100; j++)
        m[j] = (uint64_t)j * 3;
    ck_assert_int_eq(send_many(kind, &tx, m, 100, &n), CFUT_OK);
    ck_assert_uint_eq(n, 100);
    ck_assert_int_eq(testkit_waker_n_wakes(&tw), 1);

    ck_assert_int_eq(poll_many(kind, &rx, &w, got, 64, &n), CFUT_READY);
    ck_assert_uint_eq(n, 64);
    ck_assert_int_eq(poll_many(kind, &rx, &w, got + 64, 64, &n), CFUT_READY);
    ck_assert_uint_eq(n, 36);
    for (int j = 0; j < 100; j++)
        ck_assert_uint_eq(got[j], (uint64_t)j * 3);

    ck_assert_int_eq(poll_many(kind, &rx, &w, got, 64, &n), CFUT_PENDING);
    sender_drop(kind, &tx); /* the last sender wakes the parked receiver */
    ck_assert_int_eq(testkit_waker_n_wakes(&tw), 2);
    ck_assert_int_eq(poll_many(kind, &rx, &w, got, 64, &n), CFUT_READY);
    ck_assert_uint_eq(n, 0);
    receiver_drop(kind, &rx);
}
END_TEST

START_TEST(test_mpsc_many_poll_recv_many_sees_the_end)
{
    int kind = _i;
    union mtx tx;
    union mrx rx;
    ck_assert_int_eq(make(kind, 4, &tx, &rx), CFUT_OK);
    struct testkit_waker tw;
    struct cfut_waker w = testkit_waker_init(&tw);
    uint64_t got[4];
    size_t n = 99;
    ck_assert_int_eq(poll_many(kind, &rx, &w, got, 4, &n), CFUT_PENDING);
    ck_assert_int_eq(try_send(kind, &tx, 7), CFUT_OK);
    sender_drop(kind, &tx);
    ck_assert_int_eq(testkit_waker_n_wakes(&tw), 1);

    ck_assert_int_eq(poll_many(kind, &rx, &w, got, 4, &n), CFUT_READY);
    ck_assert_uint_eq(n, 1);
    ck_assert_uint_eq(got[0], 7);
    ck_assert_int_eq(poll_many(kind, &rx, &w, got, 4, &n), CFUT_READY);
    ck_assert_uint_eq(n, 0); /* drained, every sender gone */
    receiver_drop(kind, &rx);
}
END_TEST

START_TEST(test_mpsc_many_bad_arguments_and_a_gone_receiver)
{
    int kind = _i;
    union mtx tx;
    union mrx rx;
    ck_assert_int_eq(make(kind, 4, &tx, &rx), CFUT_OK);
    uint64_t m[2] = {1, 2}, got[2];
    size_t n = 99;
    ck_assert_int_eq(send_many(kind, &tx, m, 2, NULL), CFUT_EINVAL);
    ck_assert_int_eq(send_many(kind, &tx, NULL, 2, &n), CFUT_EINVAL);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(recv_many(kind, &rx, got, 0, &n), CFUT_EINVAL);
    ck_assert_int_eq(recv_many(kind, &rx, NULL, 2, &n), CFUT_EINVAL);
    ck_assert_int_eq(recv_many(kind, &rx, got, 2, NULL), CFUT_EINVAL);
    ck_assert_int_eq(recv_many(kind, &rx, got, 2, &n), CFUT_EAGAIN);

    receiver_drop(kind, &rx);
    n = 99;
    ck_assert_int_eq(send_many(kind, &tx, m, 2, &n), CFUT_ECLOSED);
    ck_assert_uint_eq(n, 0);
    sender_drop(kind, &tx);
}
END_TEST

START_TEST(test_mpsc_many_unbounded_growth_failure_keeps_what_was_queued)
{
    int kind = _i;
    union mtx tx;
    union mrx rx;
    ck_assert_int_eq(make(kind, CFUT_MPSC_UNBOUNDED, &tx, &rx), CFUT_OK);
    uint64_t m[40], got[40];
    for (int j = 0; j < 40; j++)
        m[j] = (uint64_t)j;
    size_t n;
    ck_assert_int_eq(send_many(kind, &tx, m, 10, &n), CFUT_OK); /* 16 slots */

    /* 30 more need the ring at 64 slots: the growth fails, the 6 that fit
     * are queued, the rest stays the caller's. */
    testkit_alloc_fail_at(1);
    ck_assert_int_eq(send_many(kind, &tx, m + 10, 30, &n), CFUT_ENOMEM);
    testkit_alloc_fail_at(0);
    ck_assert_uint_eq(n, 6);
    ck_assert_int_eq(recv_many(kind, &rx, got, 40, &n), CFUT_OK);
    ck_assert_uint_eq(n, 16);
    for (int j = 0; j < 16; j++)
        ck_assert_uint_eq(got[j], (uint64_t)j);
    sender_drop(kind, &tx);
    receiver_drop(kind, &rx);
}
END_TEST

/* ---- batches across threads (the thread-safe kind) ---- */

#define N_PRODUCERS 4
#define N_PER_PRODUCER 4000
#define BATCH 16

struct producer {
    struct cfut_mpsc_sync_sender tx;
    uint64_t id;
    int status;
};

static void *
produce(void *arg)
{
    struct producer *p = arg;
    struct cfut_executor *ex = NULL; /* (left alone when the call fails) */
    p->status = cfut_executor_new(&ex);
    uint64_t i = 0;
    while (p->status == CFUT_OK && i < N_PER_PRODUCER) {
        uint64_t m[BATCH];
        size_t k = 1 + (size_t)(i % BATCH), sent = 0;
        if (k > N_PER_PRODUCER - i)
            k = (size_t)(N_PER_PRODUCER - i);
        for (size_t j = 0; j < k; j++)
            m[j] = p->id << 32 | (i + j);
        int rc = cfut_mpsc_sync_try_send_many(&p->tx, m, k, &sent);
        i += sent;
        if (rc == CFUT_OK)
            continue;
        if (rc != CFUT_EFULL) {
            p->status = rc;
            break;
        }
        uint64_t one = p->id << 32 | i; /* full: wait for room */
        struct cfut_mpsc_sync_send f;
        cfut_mpsc_sync_send_init(&f, &p->tx, &one);
        int st = 99;
        p->status = cfut_block_on(ex, &f.base, &st);
        if (p->status == CFUT_OK)
            p->status = st;
        i++;
    }
    cfut_mpsc_sync_sender_drop(&p->tx);
    if (ex != NULL)
        cfut_executor_free(ex);
    return NULL;
}

/* A future that receives batches until the channel ends. */
struct batch_sink {
    struct cfut_future base;
    struct cfut_mpsc_sync_receiver *rx;
    uint64_t next[N_PRODUCERS];
    long n;
    bool in_order;
};

static enum cfut_poll
sink_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    (void)out;
    struct batch_sink *s = cfut_container_of(f, struct batch_sink, base);
    for (;;) {
        uint64_t got[24];
        size_t n;
        if (cfut_mpsc_sync_poll_recv_many(s->rx, cx, got, 24, &n) ==
            CFUT_PENDING)
            return CFUT_PENDING;
        if (n == 0)
            return CFUT_READY;
        for (size_t j = 0; j < n; j++) {
            uint64_t id = got[j] >> 32, seq = got[j] & 0xffffffffu;
            if (id >= N_PRODUCERS || seq != s->next[id])
                s->in_order = false;
            else
                s->next[id]++;
        }
        s->n += (long)n;
    }
}

static const struct cfut_future_vtable sink_vtable = {sink_poll, NULL, 0,
                                                      "batch_sink", NULL};

START_TEST(test_mpsc_many_sync_batches_from_many_threads_lose_nothing)
{
    struct cfut_executor *ex;
    ck_assert_int_eq(cfut_executor_new(&ex), CFUT_OK);
    struct cfut_mpsc_sync_sender tx;
    struct cfut_mpsc_sync_receiver rx;
    ck_assert_int_eq(cfut_mpsc_sync_new(sizeof(uint64_t), 8, NULL, &tx, &rx),
                     CFUT_OK);
    struct producer p[N_PRODUCERS];
    pthread_t th[N_PRODUCERS];
    for (int i = 0; i < N_PRODUCERS; i++) {
        p[i].tx = cfut_mpsc_sync_sender_clone(&tx);
        p[i].id = (uint64_t)i;
        p[i].status = CFUT_OK;
        ck_assert_int_eq(pthread_create(&th[i], NULL, produce, &p[i]), 0);
    }
    cfut_mpsc_sync_sender_drop(&tx);
    struct batch_sink s;
    memset(&s, 0, sizeof s);
    cfut_future_init(&s.base, &sink_vtable);
    s.rx = &rx;
    s.in_order = true;
    ck_assert_int_eq(cfut_block_on(ex, &s.base, NULL), CFUT_OK);
    for (int i = 0; i < N_PRODUCERS; i++) {
        pthread_join(th[i], NULL);
        ck_assert_int_eq(p[i].status, CFUT_OK);
    }
    ck_assert(s.in_order); /* FIFO per producer */
    ck_assert_int_eq(s.n, N_PRODUCERS * N_PER_PRODUCER);
    cfut_mpsc_sync_receiver_drop(&rx);
    cfut_executor_free(ex);
}
END_TEST

static Suite *
mpsc_many_suite(void)
{
    Suite *s = suite_create("mpsc_many");
    TCase *tc = tcase_create("batches");
    testkit_fixture(tc);
    tcase_add_loop_test(
        tc, test_mpsc_many_batches_keep_fifo_order_across_the_ring_end, 0, 2);
    tcase_add_loop_test(
        tc, test_mpsc_many_send_many_queues_what_fits_then_efull, 0, 2);
    tcase_add_loop_test(
        tc, test_mpsc_many_send_many_takes_no_slot_while_senders_wait, 0, 2);
    tcase_add_loop_test(
        tc, test_mpsc_many_recv_many_gives_each_freed_slot_to_a_waiter, 0, 2);
    tcase_add_loop_test(
        tc, test_mpsc_many_poll_recv_many_waits_then_takes_the_batch, 0, 2);
    tcase_add_loop_test(tc, test_mpsc_many_poll_recv_many_sees_the_end, 0, 2);
    tcase_add_loop_test(tc, test_mpsc_many_bad_arguments_and_a_gone_receiver, 0,
                        2);
    tcase_add_loop_test(
        tc, test_mpsc_many_unbounded_growth_failure_keeps_what_was_queued, 0,
        2);
    suite_add_tcase(s, tc);

    tc = tcase_create("threads");
    testkit_fixture(tc);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc,
                   test_mpsc_many_sync_batches_from_many_threads_lose_nothing);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return testkit_run(mpsc_many_suite());
}
