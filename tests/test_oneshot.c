/*
 * test_oneshot.c: the oneshot channel, both kinds: delivery, cancel,
 * close and closure, every ordering of the five events, wakes, values of
 * any size, allocation failure, misuse, and (thread-safe kind) a sender on
 * another thread and the close-versus-send race.
 */
#define _GNU_SOURCE
#include "testkit.h"

#include "cfut_oneshot_int.h"

#include <pthread.h>
#include <semaphore.h>
#include <string.h>
#include <unistd.h>

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif
#ifndef RUNNING_ON_VALGRIND
#define RUNNING_ON_VALGRIND 0
#endif

/* ---- both kinds behind one table, so a test runs on each ---- */

union tx_any {
    struct cfut_oneshot_sender local;
    struct cfut_oneshot_sync_sender sync;
};
union rx_any {
    struct cfut_future base;
    struct cfut_oneshot_receiver local;
    struct cfut_oneshot_sync_receiver sync;
};
union closed_any {
    struct cfut_future base;
    struct cfut_oneshot_closed local;
    struct cfut_oneshot_sync_closed sync;
};

struct kind {
    const char *name;
    int (*make)(size_t, cfut_oneshot_drop_value_fn *, union tx_any *,
                union rx_any *);
    int (*send)(union tx_any *, const void *);
    void (*sender_drop)(union tx_any *);
    bool (*is_closed)(union tx_any *);
    void (*closed_init)(union closed_any *, union tx_any *);
    void (*close)(union rx_any *);
    int (*try_recv)(union rx_any *, void *);
};

static int
l_make(size_t n, cfut_oneshot_drop_value_fn *d, union tx_any *t,
       union rx_any *r)
{
    return cfut_oneshot_new(n, d, &t->local, &r->local);
}
static int
l_send(union tx_any *t, const void *v)
{
    return cfut_oneshot_send(&t->local, v);
}
static void
l_sender_drop(union tx_any *t)
{
    cfut_oneshot_sender_drop(&t->local);
}
static bool
l_is_closed(union tx_any *t)
{
    return cfut_oneshot_sender_is_closed(&t->local);
}
static void
l_closed_init(union closed_any *c, union tx_any *t)
{
    cfut_oneshot_closed_init(&c->local, &t->local);
}
static void
l_close(union rx_any *r)
{
    cfut_oneshot_receiver_close(&r->local);
}
static int
l_try_recv(union rx_any *r, void *v)
{
    return cfut_oneshot_try_recv(&r->local, v);
}

/* The local kind in caller storage: two blocks, used in turn. */
static struct {
    _Alignas(max_align_t) unsigned char b[CFUT_ONESHOT_HEADER_SIZE + 1024];
} storage[2];
static int next_storage;

static int
c_make(size_t n, cfut_oneshot_drop_value_fn *d, union tx_any *t,
       union rx_any *r)
{
    void *st = &storage[next_storage++ % 2];
    return cfut_oneshot_init(st, sizeof storage[0], n, d, &t->local, &r->local);
}

static int
s_make(size_t n, cfut_oneshot_drop_value_fn *d, union tx_any *t,
       union rx_any *r)
{
    return cfut_oneshot_sync_new(n, d, &t->sync, &r->sync);
}

/* The thread-safe kind in caller storage: two blocks, used in turn. */
static struct {
    _Alignas(max_align_t) unsigned char b[CFUT_ONESHOT_SYNC_HEADER_SIZE + 1024];
} sync_storage[2];
static int next_sync_storage;

static int
sc_make(size_t n, cfut_oneshot_drop_value_fn *d, union tx_any *t,
        union rx_any *r)
{
    void *st = &sync_storage[next_sync_storage++ % 2];
    return cfut_oneshot_sync_init(st, sizeof sync_storage[0], n, d, &t->sync,
                                  &r->sync);
}
static int
s_send(union tx_any *t, const void *v)
{
    return cfut_oneshot_sync_send(&t->sync, v);
}
static void
s_sender_drop(union tx_any *t)
{
    cfut_oneshot_sync_sender_drop(&t->sync);
}
static bool
s_is_closed(union tx_any *t)
{
    return cfut_oneshot_sync_sender_is_closed(&t->sync);
}
static void
s_closed_init(union closed_any *c, union tx_any *t)
{
    cfut_oneshot_sync_closed_init(&c->sync, &t->sync);
}
static void
s_close(union rx_any *r)
{
    cfut_oneshot_sync_receiver_close(&r->sync);
}
static int
s_try_recv(union rx_any *r, void *v)
{
    return cfut_oneshot_sync_try_recv(&r->sync, v);
}

/* Either kind's sender as the transport keeps it (cfut_oneshot_int.h):
 * send and drop through the sender of either kind. */
static int
any_send(struct cfut__oneshot_any_sender any, const void *v)
{
    return cfut__oneshot_any_send(&any, v);
}
static void
any_drop(struct cfut__oneshot_any_sender any)
{
    cfut__oneshot_any_sender_drop(&any);
}
static int
la_send(union tx_any *t, const void *v)
{
    return any_send(cfut__oneshot_sender_any(&t->local), v);
}
static void
la_sender_drop(union tx_any *t)
{
    any_drop(cfut__oneshot_sender_any(&t->local)); /* empty stays empty */
}
static int
sa_send(union tx_any *t, const void *v)
{
    return any_send(cfut__oneshot_sync_sender_any(&t->sync), v);
}
static void
sa_sender_drop(union tx_any *t)
{
    if (t->sync.shared != NULL)
        any_drop(cfut__oneshot_sync_sender_any(&t->sync));
}

#define N_KINDS 6
static const struct kind kinds[N_KINDS] = {
    {"local", l_make, l_send, l_sender_drop, l_is_closed, l_closed_init,
     l_close, l_try_recv},
    {"sync", s_make, s_send, s_sender_drop, s_is_closed, s_closed_init, s_close,
     s_try_recv},
    {"local-storage", c_make, l_send, l_sender_drop, l_is_closed, l_closed_init,
     l_close, l_try_recv},
    {"local-any", l_make, la_send, la_sender_drop, l_is_closed, l_closed_init,
     l_close, l_try_recv},
    {"sync-any", s_make, sa_send, sa_sender_drop, s_is_closed, s_closed_init,
     s_close, s_try_recv},
    {"sync-storage", sc_make, s_send, s_sender_drop, s_is_closed, s_closed_init,
     s_close, s_try_recv},
};

/* A value that must be released exactly once: the channel's drop_value
 * counts releases it makes. */
static atomic_long n_dropped_by_channel;

static void
drop_value(void *v)
{
    (void)v;
    atomic_fetch_add(&n_dropped_by_channel, 1);
}

typedef CFUT_ONESHOT_OUTPUT(uint64_t) out_u64;

/* ---- delivery ---- */

START_TEST(test_oneshot_send_then_poll_delivers_the_value)
{
    const struct kind *k = &kinds[_i];
    union tx_any tx;
    union rx_any rx;
    ck_assert_int_eq(k->make(sizeof(uint64_t), NULL, &tx, &rx), CFUT_OK);
    uint64_t v = 77;
    out_u64 out = {0, 0};

    ck_assert_int_eq(k->send(&tx, &v), CFUT_OK);
    enum cfut_poll r = testkit_poll(&rx.base, testkit_waker_aborting(), &out);

    ck_assert_int_eq(r, CFUT_READY);
    ck_assert_int_eq(out.status, CFUT_OK);
    ck_assert_uint_eq(out.value, 77);
    ck_assert_uint_eq(cfut_future_output_size(&rx.base),
                      offsetof(out_u64, value) + sizeof(uint64_t));
    cfut_future_drop(&rx.base);
}
END_TEST

START_TEST(test_oneshot_poll_then_send_wakes_the_receiver)
{
    const struct kind *k = &kinds[_i];
    union tx_any tx;
    union rx_any rx;
    ck_assert_int_eq(k->make(sizeof(uint64_t), NULL, &tx, &rx), CFUT_OK);
    struct testkit_waker tw;
    struct cfut_waker w = testkit_waker_init(&tw);
    out_u64 out = {0, 0};
    ck_assert_int_eq(testkit_poll(&rx.base, &w, &out), CFUT_PENDING);
    uint64_t v = 5;

    ck_assert_int_eq(k->send(&tx, &v), CFUT_OK);

    ck_assert_int_eq(testkit_waker_n_wakes(&tw), 1);
    ck_assert_int_eq(testkit_poll(&rx.base, &w, &out), CFUT_READY);
    ck_assert_int_eq(out.status, CFUT_OK);
    ck_assert_uint_eq(out.value, 5);
    cfut_future_drop(&rx.base);
}
END_TEST

START_TEST(test_oneshot_sender_drop_resolves_the_receiver_canceled)
{
    const struct kind *k = &kinds[_i];
    union tx_any tx;
    union rx_any rx;
    ck_assert_int_eq(k->make(sizeof(uint64_t), NULL, &tx, &rx), CFUT_OK);
    struct testkit_waker tw;
    struct cfut_waker w = testkit_waker_init(&tw);
    out_u64 out = {0, 0};
    ck_assert_int_eq(testkit_poll(&rx.base, &w, &out), CFUT_PENDING);

    k->sender_drop(&tx);

    ck_assert_int_eq(testkit_waker_n_wakes(&tw), 1);
    ck_assert_int_eq(testkit_poll(&rx.base, &w, &out), CFUT_READY);
    ck_assert_int_eq(out.status, CFUT_ECANCELED);
    cfut_future_drop(&rx.base);
}
END_TEST

START_TEST(test_oneshot_send_after_receiver_drop_returns_the_value)
{
    const struct kind *k = &kinds[_i];
    union tx_any tx;
    union rx_any rx;
    atomic_store(&n_dropped_by_channel, 0);
    ck_assert_int_eq(k->make(sizeof(uint64_t), drop_value, &tx, &rx), CFUT_OK);
    cfut_future_drop(&rx.base);
    uint64_t v = 1234;

    int rc = k->send(&tx, &v);

    ck_assert_int_eq(rc, CFUT_ECLOSED);
    ck_assert_uint_eq(v, 1234);
    ck_assert_int_eq(atomic_load(&n_dropped_by_channel), 0);
}
END_TEST

START_TEST(test_oneshot_receiver_drop_releases_an_untaken_value_once)
{
    const struct kind *k = &kinds[_i];
    union tx_any tx;
    union rx_any rx;
    atomic_store(&n_dropped_by_channel, 0);
    ck_assert_int_eq(k->make(sizeof(uint64_t), drop_value, &tx, &rx), CFUT_OK);
    uint64_t v = 9;
    ck_assert_int_eq(k->send(&tx, &v), CFUT_OK);

    cfut_future_drop(&rx.base);

    ck_assert_int_eq(atomic_load(&n_dropped_by_channel), 1);
}
END_TEST

START_TEST(test_oneshot_close_fails_later_sends_and_keeps_earlier_values)
{
    const struct kind *k = &kinds[_i];
    union tx_any tx, tx2;
    union rx_any rx, rx2;
    ck_assert_int_eq(k->make(sizeof(uint64_t), NULL, &tx, &rx), CFUT_OK);
    ck_assert_int_eq(k->make(sizeof(uint64_t), NULL, &tx2, &rx2), CFUT_OK);
    uint64_t v = 3, got = 0;
    ck_assert_int_eq(k->send(&tx2, &v), CFUT_OK);

    k->close(&rx);
    k->close(&rx2);

    ck_assert(k->is_closed(&tx));
    ck_assert_int_eq(k->send(&tx, &v), CFUT_ECLOSED);
    ck_assert_int_eq(k->try_recv(&rx, &got), CFUT_ECANCELED);
    ck_assert_int_eq(k->try_recv(&rx2, &got), CFUT_OK);
    ck_assert_uint_eq(got, 3);
    cfut_future_drop(&rx.base);
    cfut_future_drop(&rx2.base);
}
END_TEST

START_TEST(test_oneshot_try_recv_says_eagain_before_a_value)
{
    const struct kind *k = &kinds[_i];
    union tx_any tx;
    union rx_any rx;
    ck_assert_int_eq(k->make(sizeof(uint64_t), NULL, &tx, &rx), CFUT_OK);
    uint64_t got = 0;

    ck_assert_int_eq(k->try_recv(&rx, &got), CFUT_EAGAIN);
    k->sender_drop(&tx);
    ck_assert_int_eq(k->try_recv(&rx, &got), CFUT_ECANCELED);

    cfut_future_drop(&rx.base);
}
END_TEST

START_TEST(test_oneshot_closure_wakes_the_sender)
{
    const struct kind *k = &kinds[_i / 2];
    bool by_close = _i % 2 == 0;
    union tx_any tx;
    union rx_any rx;
    union closed_any cl;
    ck_assert_int_eq(k->make(sizeof(uint64_t), NULL, &tx, &rx), CFUT_OK);
    k->closed_init(&cl, &tx);
    struct testkit_waker tw;
    struct cfut_waker w = testkit_waker_init(&tw);
    ck_assert(!k->is_closed(&tx));
    ck_assert_int_eq(testkit_poll(&cl.base, &w, NULL), CFUT_PENDING);

    if (by_close)
        k->close(&rx);
    else
        cfut_future_drop(&rx.base);

    ck_assert_int_eq(testkit_waker_n_wakes(&tw), 1);
    ck_assert(k->is_closed(&tx));
    ck_assert_int_eq(testkit_poll(&cl.base, &w, NULL), CFUT_READY);
    cfut_future_drop(&cl.base);
    k->sender_drop(&tx);
    if (by_close)
        cfut_future_drop(&rx.base);
}
END_TEST

START_TEST(test_oneshot_values_of_any_size_are_copied_whole)
{
    const struct kind *k = &kinds[_i];
    union tx_any tx;
    union rx_any rx;
    unsigned char big[1000];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (unsigned char)(i * 7);
    ck_assert_int_eq(k->make(sizeof big, NULL, &tx, &rx), CFUT_OK);
    struct big_value {
        unsigned char b[1000];
    };
    CFUT_ONESHOT_OUTPUT(struct big_value) out;

    ck_assert_int_eq(k->send(&tx, big), CFUT_OK);
    memset(big, 0, sizeof big);
    ck_assert_int_eq(testkit_poll(&rx.base, cfut_waker_noop(), &out),
                     CFUT_READY);

    ck_assert_int_eq(out.status, CFUT_OK);
    for (size_t i = 0; i < sizeof big; i++)
        ck_assert_uint_eq(out.value.b[i], (unsigned char)(i * 7));
    cfut_future_drop(&rx.base);
}
END_TEST

/* What a woken half's waker does: it calls into the channel at once (the
 * state must be whole, and no lock held). */
struct call_back {
    const struct kind *k;
    union tx_any *tx; /* asks is_closed() of it, if not NULL */
    union rx_any *rx; /* closes it, if not NULL */
    bool saw_closed;
};

static void
call_back(void *arg)
{
    struct call_back *cb = arg;
    if (cb->tx != NULL)
        cb->saw_closed = cb->k->is_closed(cb->tx);
    if (cb->rx != NULL)
        cb->k->close(cb->rx);
}

START_TEST(test_oneshot_a_woken_half_may_call_into_the_channel_at_once)
{
    const struct kind *k = &kinds[_i];
    union tx_any tx, tx2;
    union rx_any rx, rx2;
    union closed_any cl, cl2;
    ck_assert_int_eq(k->make(sizeof(uint64_t), NULL, &tx, &rx), CFUT_OK);
    ck_assert_int_eq(k->make(sizeof(uint64_t), NULL, &tx2, &rx2), CFUT_OK);
    k->closed_init(&cl, &tx);
    k->closed_init(&cl2, &tx2);
    /* Channel 1: the closed future's waker asks is_closed(). Channel 2:
     * the receiver's waker closes the receiver. */
    struct call_back asks = {k, &tx, NULL, false};
    struct call_back closes = {k, NULL, &rx2, false};
    struct testkit_waker twa, twc, tw;
    struct cfut_waker wa = testkit_waker_init_calling(&twa, call_back, &asks);
    struct cfut_waker wc = testkit_waker_init_calling(&twc, call_back, &closes);
    struct cfut_waker w = testkit_waker_init(&tw);
    out_u64 out = {0, 0};
    ck_assert_int_eq(testkit_poll(&cl.base, &wa, NULL), CFUT_PENDING);
    ck_assert_int_eq(testkit_poll(&rx2.base, &wc, &out), CFUT_PENDING);
    ck_assert_int_eq(testkit_poll(&cl2.base, &w, NULL), CFUT_PENDING);
    uint64_t v = 6;

    k->close(&rx);
    ck_assert_int_eq(k->send(&tx2, &v), CFUT_OK);

    ck_assert_int_eq(testkit_waker_n_wakes(&twa), 1);
    ck_assert(asks.saw_closed);
    ck_assert_int_eq(testkit_waker_n_wakes(&twc), 1);
    ck_assert_int_eq(testkit_waker_n_wakes(&tw), 1); /* closed in the wake */
    ck_assert_int_eq(testkit_poll(&rx2.base, &wc, &out), CFUT_READY);
    ck_assert_int_eq(out.status, CFUT_OK);
    ck_assert_uint_eq(out.value, 6);
    k->sender_drop(&tx);
    cfut_future_drop(&rx.base);
    cfut_future_drop(&rx2.base);
    cfut_future_drop(&cl.base);
    cfut_future_drop(&cl2.base);
}
END_TEST

/* ---- every ordering of the five events ---- */

enum ev { SEND, DROP_TX, DROP_RX, POLL_RX, CLOSE, N_EV };

/* Runs one ordering on kind 'k' and checks it against a model. */
static void
run_ordering(const struct kind *k, const int *order)
{
    union tx_any tx;
    union rx_any rx;
    union closed_any cl;
    atomic_store(&n_dropped_by_channel, 0);
    ck_assert_int_eq(k->make(sizeof(uint64_t), drop_value, &tx, &rx), CFUT_OK);
    struct testkit_waker rw, cw;
    struct cfut_waker rwk = testkit_waker_init(&rw);
    struct cfut_waker cwk = testkit_waker_init(&cw);
    k->closed_init(&cl, &tx);
    ck_assert_int_eq(testkit_poll(&cl.base, &cwk, NULL), CFUT_PENDING);

    /* The model. */
    bool tx_alive = true, rx_alive = true, rx_done = false;
    bool in_slot = false, closed = false, tx_done = false, rx_waiting = false;
    long taken = 0, returned = 0, sent = 0;
    long want_rx_wakes = 0, want_closed_wakes = 0;

    for (int e = 0; e < N_EV; e++) {
        switch (order[e]) {
        case SEND: {
            if (!tx_alive)
                break;
            uint64_t v = 42;
            int rc = k->send(&tx, &v);
            tx_alive = false;
            tx_done = true;
            sent = 1;
            if (closed || !rx_alive) {
                ck_assert_int_eq(rc, CFUT_ECLOSED);
                ck_assert_uint_eq(v, 42);
                returned++;
            } else {
                ck_assert_int_eq(rc, CFUT_OK);
                in_slot = true;
                if (rx_waiting)
                    want_rx_wakes++;
                rx_waiting = false;
            }
            break;
        }
        case DROP_TX:
            if (!tx_alive)
                break;
            k->sender_drop(&tx);
            tx_alive = false;
            tx_done = true;
            if (rx_alive && rx_waiting)
                want_rx_wakes++;
            rx_waiting = false;
            break;
        case DROP_RX:
            cfut_future_drop(&rx.base);
            if (!closed)
                want_closed_wakes++;
            rx_alive = false;
            closed = true;
            rx_waiting = false;
            break;
        case POLL_RX: {
            if (!rx_alive || rx_done)
                break;
            out_u64 out = {0, 0};
            enum cfut_poll r = testkit_poll(&rx.base, &rwk, &out);
            if (in_slot) {
                ck_assert_int_eq(r, CFUT_READY);
                ck_assert_int_eq(out.status, CFUT_OK);
                ck_assert_uint_eq(out.value, 42);
                in_slot = false;
                taken++;
                rx_done = true;
            } else if (tx_done || closed) {
                ck_assert_int_eq(r, CFUT_READY);
                ck_assert_int_eq(out.status, CFUT_ECANCELED);
                rx_done = true;
            } else {
                ck_assert_int_eq(r, CFUT_PENDING);
                rx_waiting = true;
            }
            break;
        }
        case CLOSE:
            if (!rx_alive)
                break;
            k->close(&rx);
            if (!closed)
                want_closed_wakes++;
            closed = true;
            break;
        }
        ck_assert_int_eq(testkit_waker_n_wakes(&rw), want_rx_wakes);
        ck_assert_int_eq(testkit_waker_n_wakes(&cw), want_closed_wakes);
    }
    if (tx_alive)
        k->sender_drop(&tx);
    if (rx_alive)
        cfut_future_drop(&rx.base);
    ck_assert_int_eq(testkit_poll(&cl.base, &cwk, NULL), CFUT_READY);
    cfut_future_drop(&cl.base);

    /* The value met exactly one fate, and nothing is left. */
    long dropped = atomic_load(&n_dropped_by_channel);
    ck_assert_int_le(dropped, 1);
    ck_assert_int_eq(taken + returned + dropped, sent);
    ck_assert_int_eq(testkit_waker_n_wakes(&rw), want_rx_wakes);
    ck_assert_int_eq(testkit_alloc_live(), 0);
    ck_assert_int_eq(testkit_wakers_live(), 0);
}

START_TEST(test_oneshot_every_ordering_frees_the_value_once_and_wakes)
{
    const struct kind *k = &kinds[_i];
    int order[N_EV] = {0, 1, 2, 3, 4};
    int n = 0;
    /* Heap's algorithm, iteratively: every permutation once. */
    int c[N_EV] = {0};
    run_ordering(k, order);
    n++;
    for (int i = 1; i < N_EV;) {
        if (c[i] < i) {
            int j = i % 2 == 0 ? 0 : c[i];
            int t = order[j];
            order[j] = order[i];
            order[i] = t;
            run_ordering(k, order);
            n++;
            c[i]++;
            i = 1;
        } else {
            c[i] = 0;
            i++;
        }
    }
    ck_assert_int_eq(n, 120);
}
END_TEST

/* ---- inside an executor ---- */

/* A task that awaits a local receiver and returns its value + 1. */
struct awaiter {
    struct cfut_future base;
    struct cfut_oneshot_receiver rx;
};

static enum cfut_poll
awaiter_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct awaiter *a = cfut_container_of(f, struct awaiter, base);
    out_u64 r;
    if (cfut_future_poll(&a->rx.base, cx, &r) == CFUT_PENDING)
        return CFUT_PENDING;
    *(uint64_t *)out = r.status == CFUT_OK ? r.value + 1 : 0;
    return CFUT_READY;
}

static void
awaiter_drop(struct cfut_future *f)
{
    cfut_future_drop(&cfut_container_of(f, struct awaiter, base)->rx.base);
}

static const struct cfut_future_vtable awaiter_vtable = {
    awaiter_poll, awaiter_drop, sizeof(uint64_t), "awaiter", NULL};

START_TEST(test_oneshot_receiver_moved_into_a_task_is_woken_by_send)
{
    struct cfut_executor *ex;
    ck_assert_int_eq(cfut_executor_new(&ex), CFUT_OK);
    struct cfut_oneshot_sender tx;
    struct awaiter a;
    cfut_future_init(&a.base, &awaiter_vtable);
    ck_assert_int_eq(cfut_oneshot_new(sizeof(uint64_t), NULL, &tx, &a.rx),
                     CFUT_OK);
    struct cfut_join_handle h;
    ck_assert_int_eq(cfut_spawn(ex, &a.base, sizeof a, &h), CFUT_OK);
    ck_assert_int_eq(cfut_executor_run_ready(ex), CFUT_OK);
    ck_assert(!cfut_join_handle_is_finished(&h));
    uint64_t v = 10;

    ck_assert_int_eq(cfut_oneshot_send(&tx, &v), CFUT_OK);
    CFUT_JOIN_OUTPUT(uint64_t) r;
    ck_assert_int_eq(cfut_block_on(ex, &h.base, &r), CFUT_OK);

    ck_assert_uint_eq(r.value, 11);
    cfut_executor_free(ex);
}
END_TEST

/* ---- allocation failure and misuse ---- */

START_TEST(test_oneshot_new_reports_enomem_and_leaks_nothing)
{
    const struct kind *k = &kinds[_i];
    int failures = 0;
    for (long n = 1; n < 10; n++) {
        union tx_any tx = {{NULL}};
        union rx_any rx;
        memset(&rx, 0xAB, sizeof rx);
        testkit_alloc_fail_at(n);
        int rc = k->make(sizeof(uint64_t), NULL, &tx, &rx);
        if (rc == CFUT_OK) {
            ck_assert(!testkit_alloc_failed());
            k->sender_drop(&tx);
            cfut_future_drop(&rx.base);
            break;
        }
        ck_assert_int_eq(rc, CFUT_ENOMEM);
        ck_assert_ptr_null(tx.local.shared);
        ck_assert_int_eq(testkit_alloc_live(), 0);
        failures++;
    }
    testkit_alloc_fail_at(0);
    ck_assert_int_eq(failures, 1);
    ck_assert_int_eq(testkit_alloc_live(), 0);
}
END_TEST

START_TEST(test_oneshot_new_rejects_bad_arguments)
{
    struct cfut_oneshot_receiver rx;
    struct cfut_oneshot_sender tx;

    ck_assert_int_eq(cfut_oneshot_new(8, NULL, NULL, &rx), CFUT_EINVAL);
    ck_assert_int_eq(cfut_oneshot_new(8, NULL, &tx, NULL), CFUT_EINVAL);
    ck_assert_int_eq(cfut_oneshot_new(SIZE_MAX, NULL, &tx, &rx), CFUT_EINVAL);
    ck_assert_int_eq(testkit_alloc_count(), 0);
}
END_TEST

START_TEST(test_oneshot_init_rejects_unfit_storage)
{
    static struct {
        _Alignas(max_align_t) unsigned char b[CFUT_ONESHOT_HEADER_SIZE + 16];
    } st;
    CFUT_ONESHOT_STORAGE(uint64_t) good;
    struct cfut_oneshot_sender tx = {NULL};
    struct cfut_oneshot_receiver rx;

    ck_assert_int_eq(cfut_oneshot_init(&st, sizeof st, 17, NULL, &tx, &rx),
                     CFUT_EINVAL);
    ck_assert_int_eq(
        cfut_oneshot_init(st.b + 1, sizeof st - 1, 8, NULL, &tx, &rx),
        CFUT_EINVAL);
    ck_assert_int_eq(cfut_oneshot_init(NULL, sizeof st, 8, NULL, &tx, &rx),
                     CFUT_EINVAL);
    ck_assert_ptr_null(tx.shared);
    ck_assert_int_eq(
        cfut_oneshot_init(&good, sizeof good, sizeof(uint64_t), NULL, &tx, &rx),
        CFUT_OK);
    ck_assert_int_eq(testkit_alloc_count(), 0);
    cfut_oneshot_sender_drop(&tx);
    cfut_future_drop(&rx.base);
}
END_TEST

START_TEST(test_oneshot_sync_init_rejects_unfit_storage_and_allocates_nothing)
{
    static struct {
        _Alignas(
            max_align_t) unsigned char b[CFUT_ONESHOT_SYNC_HEADER_SIZE + 16];
    } st;
    CFUT_ONESHOT_SYNC_STORAGE(uint64_t) good;
    struct cfut_oneshot_sync_sender tx = {NULL};
    struct cfut_oneshot_sync_receiver rx;

    ck_assert_int_eq(cfut_oneshot_sync_init(&st, sizeof st, 17, NULL, &tx, &rx),
                     CFUT_EINVAL);
    ck_assert_int_eq(
        cfut_oneshot_sync_init(st.b + 1, sizeof st - 1, 8, NULL, &tx, &rx),
        CFUT_EINVAL);
    ck_assert_int_eq(cfut_oneshot_sync_init(NULL, sizeof st, 8, NULL, &tx, &rx),
                     CFUT_EINVAL);
    ck_assert_ptr_null(tx.shared);
    ck_assert_int_eq(cfut_oneshot_sync_init(&good, sizeof good,
                                            sizeof(uint64_t), NULL, &tx, &rx),
                     CFUT_OK);
    uint64_t v = 5, got = 0;
    ck_assert_int_eq(cfut_oneshot_sync_send(&tx, &v), CFUT_OK);
    ck_assert_int_eq(cfut_oneshot_sync_try_recv(&rx, &got), CFUT_OK);
    ck_assert_uint_eq(got, 5);
    ck_assert_int_eq(testkit_alloc_count(), 0);
    cfut_future_drop(&rx.base);
}
END_TEST

START_TEST(test_oneshot_send_twice_aborts)
{
    struct cfut_oneshot_sender tx;
    struct cfut_oneshot_receiver rx;
    ck_assert_int_eq(cfut_oneshot_new(8, NULL, &tx, &rx), CFUT_OK);
    uint64_t v = 1;
    cfut_oneshot_send(&tx, &v);

    cfut_oneshot_send(&tx, &v);
}
END_TEST

START_TEST(test_oneshot_two_closed_futures_abort)
{
    struct cfut_oneshot_sender tx;
    struct cfut_oneshot_receiver rx;
    struct cfut_oneshot_closed a, b;
    ck_assert_int_eq(cfut_oneshot_new(8, NULL, &tx, &rx), CFUT_OK);
    cfut_oneshot_closed_init(&a, &tx);

    cfut_oneshot_closed_init(&b, &tx);
}
END_TEST

/* ---- thread-safe kind across threads ---- */

struct late_send {
    struct cfut_oneshot_sync_sender tx;
    uint64_t v;
};

static void *
send_later(void *arg)
{
    struct late_send *ls = arg;
    usleep(2000);
    cfut_oneshot_sync_send(&ls->tx, &ls->v);
    return NULL;
}

START_TEST(test_oneshot_sync_sender_on_another_thread_wakes_parked_executor)
{
    struct cfut_executor *ex;
    ck_assert_int_eq(cfut_executor_new(&ex), CFUT_OK);
    for (int i = 0; i < 20; i++) {
        struct late_send ls;
        struct cfut_oneshot_sync_receiver rx;
        ck_assert_int_eq(
            cfut_oneshot_sync_new(sizeof(uint64_t), NULL, &ls.tx, &rx),
            CFUT_OK);
        ls.v = (uint64_t)i * 3;
        pthread_t th;
        ck_assert_int_eq(pthread_create(&th, NULL, send_later, &ls), 0);
        out_u64 out = {0, 0};

        int rc = cfut_block_on(ex, &rx.base, &out);

        ck_assert_int_eq(rc, CFUT_OK);
        ck_assert_int_eq(out.status, CFUT_OK);
        ck_assert_uint_eq(out.value, (uint64_t)i * 3);
        pthread_join(th, NULL);
    }
    cfut_executor_free(ex);
}
END_TEST

/* The race: per round, the main thread closes and drops the receiver while
 * a helper sends. Each value must meet exactly one fate: received after
 * the close (send won), returned to the sender (close won), or released by
 * the channel (send won, nobody took it). */
#define RACE_ROUNDS 100000
/* Under valgrind (one thread at a time, 50x slower) the race runs fewer
 * rounds; TSan and the other builds run all of them. */
static long race_rounds;
static int spin_limit; /* both set before the helper thread starts */

/* A one-shot event between the two threads of the race: the waiter spins
 * briefly on 'set' (both threads running: the two sides start together),
 * then blocks on the semaphore (the machine is busy: sleep, and be woken
 * at once by the post). Every post is consumed by exactly one wait. */
struct event {
    atomic_bool set;
    sem_t sem;
};

static void
event_post(struct event *e)
{
    atomic_store(&e->set, true);
    sem_post(&e->sem);
}

static void
event_wait(struct event *e)
{
    for (int i = 0; i < spin_limit && !atomic_load(&e->set); i++)
        atomic_signal_fence(memory_order_seq_cst);
    while (sem_wait(&e->sem) != 0)
        ;
    atomic_store(&e->set, false);
}

struct race {
    struct cfut__oneshot_sync *handoff; /* the round's sender */
    struct event ready, taken, done;
    atomic_long returned;
};

static void *
race_sender(void *arg)
{
    struct race *r = arg;
    for (long i = 0; i < race_rounds; i++) {
        event_wait(&r->ready);
        struct cfut_oneshot_sync_sender tx = {r->handoff};
        event_post(&r->taken);
        uint64_t v = (uint64_t)i;
        /* A varying head start for the receiver's side, so that each
         * outcome happens many times. */
        for (long d = (i % 16) * 64; d > 0; d--)
            atomic_signal_fence(memory_order_seq_cst);
        if (cfut_oneshot_sync_send(&tx, &v) == CFUT_ECLOSED)
            atomic_fetch_add(&r->returned, 1);
        event_post(&r->done);
    }
    return NULL;
}

START_TEST(test_oneshot_sync_close_racing_send_loses_nothing)
{
    static struct race r;
    race_rounds = RUNNING_ON_VALGRIND ? RACE_ROUNDS / 10 : RACE_ROUNDS;
    spin_limit = RUNNING_ON_VALGRIND ? 0 : 2000;
    struct event *evs[3] = {&r.ready, &r.taken, &r.done};
    for (int k = 0; k < 3; k++) {
        atomic_store(&evs[k]->set, false);
        ck_assert_int_eq(sem_init(&evs[k]->sem, 0, 0), 0);
    }
    atomic_store(&r.returned, 0);
    atomic_store(&n_dropped_by_channel, 0);
    long received = 0;
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, race_sender, &r), 0);

    for (long i = 0; i < race_rounds; i++) {
        struct cfut_oneshot_sync_sender tx;
        struct cfut_oneshot_sync_receiver rx;
        ck_assert_int_eq(
            cfut_oneshot_sync_new(sizeof(uint64_t), drop_value, &tx, &rx),
            CFUT_OK);
        r.handoff = tx.shared;
        event_post(&r.ready);
        /* Start together: act as soon as the helper holds the sender. */
        event_wait(&r.taken);
        uint64_t got = 0;
        if (i % 2 == 0) {
            cfut_oneshot_sync_receiver_close(&rx);
            if (cfut_oneshot_sync_try_recv(&rx, &got) == CFUT_OK) {
                ck_assert_uint_eq(got, (uint64_t)i);
                received++;
            }
        }
        cfut_future_drop(&rx.base);
        event_wait(&r.done);
    }
    pthread_join(th, NULL);
    for (int k = 0; k < 3; k++)
        sem_destroy(&evs[k]->sem);

    long total = received + atomic_load(&r.returned) +
                 atomic_load(&n_dropped_by_channel);
    ck_assert_int_eq(total, race_rounds);
    ck_assert_int_eq(testkit_alloc_live(), 0);
}
END_TEST

/* One caller storage block reused round after round: the receiver's
 * thread sets up the next channel in it as soon as it has dropped the
 * receiver that saw the value, without waiting for the sender's thread
 * (which must touch nothing after the unlock that published the value:
 * ThreadSanitizer and memcheck watch the block). */
struct reuse {
    struct cfut_oneshot_sync_sender handoff;
    struct event ready;
    long rounds;
};

static void *
reuse_sender(void *arg)
{
    struct reuse *r = arg;
    for (long i = 0; i < r->rounds; i++) {
        event_wait(&r->ready);
        struct cfut_oneshot_sync_sender tx = r->handoff;
        uint64_t v = (uint64_t)i;
        ck_assert_int_eq(cfut_oneshot_sync_send(&tx, &v), CFUT_OK);
    }
    return NULL;
}

START_TEST(test_oneshot_sync_storage_is_reusable_once_the_value_is_seen)
{
    static struct reuse r;
    static CFUT_ONESHOT_SYNC_STORAGE(uint64_t) st;
    struct cfut_executor *ex;
    ck_assert_int_eq(cfut_executor_new(&ex), CFUT_OK);
    r.rounds = RUNNING_ON_VALGRIND ? 200 : 2000;
    spin_limit = RUNNING_ON_VALGRIND ? 0 : 2000;
    atomic_init(&r.ready.set, false);
    ck_assert_int_eq(sem_init(&r.ready.sem, 0, 0), 0);
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, reuse_sender, &r), 0);
    for (long i = 0; i < r.rounds; i++) {
        struct cfut_oneshot_sync_receiver rx;
        ck_assert_int_eq(cfut_oneshot_sync_init(&st, sizeof st,
                                                sizeof(uint64_t), NULL,
                                                &r.handoff, &rx),
                         CFUT_OK);
        event_post(&r.ready);
        CFUT_ONESHOT_OUTPUT(uint64_t) out;
        ck_assert_int_eq(cfut_block_on(ex, &rx.base, &out), CFUT_OK);
        ck_assert_int_eq(out.status, CFUT_OK);
        ck_assert_uint_eq(out.value, (uint64_t)i);
    }
    pthread_join(th, NULL);
    sem_destroy(&r.ready.sem);
    cfut_executor_free(ex);
}
END_TEST

static Suite *
oneshot_suite(void)
{
    Suite *s = suite_create("oneshot");
    TCase *tc = tcase_create("delivery");
    testkit_fixture(tc);
    tcase_add_loop_test(tc, test_oneshot_send_then_poll_delivers_the_value, 0,
                        N_KINDS);
    tcase_add_loop_test(tc, test_oneshot_poll_then_send_wakes_the_receiver, 0,
                        N_KINDS);
    tcase_add_loop_test(tc, test_oneshot_values_of_any_size_are_copied_whole, 0,
                        N_KINDS);
    tcase_add_loop_test(tc, test_oneshot_try_recv_says_eagain_before_a_value, 0,
                        N_KINDS);
    tcase_add_test(tc,
                   test_oneshot_receiver_moved_into_a_task_is_woken_by_send);
    suite_add_tcase(s, tc);

    tc = tcase_create("cancel and close");
    testkit_fixture(tc);
    tcase_add_loop_test(tc,
                        test_oneshot_sender_drop_resolves_the_receiver_canceled,
                        0, N_KINDS);
    tcase_add_loop_test(tc,
                        test_oneshot_send_after_receiver_drop_returns_the_value,
                        0, N_KINDS);
    tcase_add_loop_test(
        tc, test_oneshot_receiver_drop_releases_an_untaken_value_once, 0,
        N_KINDS);
    tcase_add_loop_test(
        tc, test_oneshot_close_fails_later_sends_and_keeps_earlier_values, 0,
        N_KINDS);
    tcase_add_loop_test(tc, test_oneshot_closure_wakes_the_sender, 0,
                        2 * N_KINDS);
    tcase_add_loop_test(
        tc, test_oneshot_a_woken_half_may_call_into_the_channel_at_once, 0,
        N_KINDS);
    tcase_add_loop_test(
        tc, test_oneshot_every_ordering_frees_the_value_once_and_wakes, 0,
        N_KINDS);
    suite_add_tcase(s, tc);

    tc = tcase_create("allocation and misuse");
    testkit_fixture(tc);
    tcase_add_loop_test(tc, test_oneshot_new_reports_enomem_and_leaks_nothing,
                        0, 2);
    tcase_add_test(tc, test_oneshot_new_rejects_bad_arguments);
    tcase_add_test(tc, test_oneshot_init_rejects_unfit_storage);
    tcase_add_test(
        tc, test_oneshot_sync_init_rejects_unfit_storage_and_allocates_nothing);
    testkit_add_abort_test(tc, test_oneshot_send_twice_aborts);
    testkit_add_abort_test(tc, test_oneshot_two_closed_futures_abort);
    suite_add_tcase(s, tc);

    tc = tcase_create("threads");
    testkit_fixture(tc);
    tcase_set_timeout(tc, 120);
    tcase_add_test(
        tc, test_oneshot_sync_sender_on_another_thread_wakes_parked_executor);
    tcase_add_test(tc, test_oneshot_sync_close_racing_send_loses_nothing);
    tcase_add_test(
        tc, test_oneshot_sync_storage_is_reusable_once_the_value_is_seen);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return testkit_run(oneshot_suite());
}
