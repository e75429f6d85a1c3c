/*
 * test_join.c: join and try_join: outputs in order, re-polling only woken
 * children, wakes during another child's poll, joins of 0 and 1, drop as
 * cancellation, sub-wakers that outlive the join (also across threads),
 * try_join's first error, allocation failure.
 */
#include "testkit.h"

#include <pthread.h>
#include <string.h>

/* ---- helpers ---- */

static struct cfut_waker stolen; /* a sub-waker clone a child hands out */

/* A child that clones its waker into 'stolen' and stays pending. */
struct thief {
    struct cfut_future base;
};

static enum cfut_poll
thief_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    (void)f;
    (void)out;
    if (stolen.vtable == NULL)
        stolen = cfut_waker_clone(cx->waker);
    return CFUT_PENDING;
}

static const struct cfut_future_vtable thief_vtable = {
    thief_poll, NULL, sizeof(uint64_t), "thief", NULL};

/* A child with a status output: READY with 'status' after 'n_pending'
 * self-waking PENDINGs. */
struct status_out {
    int status;
    uint64_t v;
};

struct status_fut {
    struct cfut_future base;
    int n_pending;
    int status;
    uint64_t v;
    bool *dropped;
};

static enum cfut_poll
status_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct status_fut *s = cfut_container_of(f, struct status_fut, base);
    if (s->n_pending-- > 0) {
        cfut_waker_wake_by_ref(cx->waker);
        return CFUT_PENDING;
    }
    struct status_out o = {s->status, s->v};
    memcpy(out, &o, sizeof o);
    return CFUT_READY;
}

static void
status_drop(struct cfut_future *f)
{
    struct status_fut *s = cfut_container_of(f, struct status_fut, base);
    if (s->dropped != NULL)
        *s->dropped = true;
}

typedef struct status_out status3[3];

static const struct cfut_future_vtable status_vtable = {
    status_poll, status_drop, sizeof(struct status_out), "status", NULL};

static void
status_init(struct status_fut *s, int n_pending, int status, uint64_t v,
            bool *dropped)
{
    cfut_future_init(&s->base, &status_vtable);
    s->n_pending = n_pending;
    s->status = status;
    s->v = v;
    s->dropped = dropped;
}

/* A child that, when polled, wakes another child's kept waker first. */
struct poker {
    struct cfut_future base;
    struct testkit_countdown *target;
    int polls;
};

static enum cfut_poll
poker_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct poker *p = cfut_container_of(f, struct poker, base);
    (void)cx;
    if (p->polls++ == 0) {
        cfut_waker_wake_by_ref(cx->waker); /* come back once */
        return CFUT_PENDING;
    }
    testkit_countdown_wake(p->target);
    *(uint64_t *)out = 7;
    return CFUT_READY;
}

static const struct cfut_future_vtable poker_vtable = {
    poker_poll, NULL, sizeof(uint64_t), "poker", NULL};

/*
 * Fills kids[from..to) with ready children (in 'r', same indexes) whose
 * outputs are 100 + index: padding that makes a join larger than
 * CFUT_JOIN_SMALL_MAX, so that it takes the wake-set form.
 */
static void
pad_ready(struct cfut_ready *r, struct cfut_future **kids, int from, int to)
{
    for (int i = from; i < to; i++) {
        uint64_t v = (uint64_t)(100 + i);
        ck_assert_int_eq(cfut_ready_init(&r[i], &v, sizeof v), CFUT_OK);
        kids[i] = &r[i].base;
    }
}

/* ---- outputs ---- */

START_TEST(test_join_outputs_arrive_in_child_order)
{
    struct testkit_countdown c[3];
    testkit_countdown_init(&c[0], 3, true, 10);
    testkit_countdown_init(&c[1], 0, true, 11);
    testkit_countdown_init(&c[2], 1, true, 12);
    struct cfut_future *kids[3] = {&c[0].base, &c[1].base, &c[2].base};
    struct cfut_join j;
    ck_assert_int_eq(cfut_join_init(&j, kids, 3), CFUT_OK);
    struct testkit_waker tw;
    struct cfut_waker w = testkit_waker_init(&tw);
    uint64_t out[3] = {0, 0, 0};

    int polls = 1;
    while (testkit_poll(&j.base, &w, out) == CFUT_PENDING)
        polls++;
    cfut_future_drop(&j.base);

    ck_assert_uint_eq(out[0], 10);
    ck_assert_uint_eq(out[1], 11);
    ck_assert_uint_eq(out[2], 12);
    ck_assert_int_eq(polls, 4);
    ck_assert_int_eq(c[0].n_polls, 4);
    ck_assert_int_eq(c[1].n_polls, 1);
    ck_assert_int_eq(c[2].n_polls, 2);
}
END_TEST

START_TEST(test_join_lays_out_mixed_sizes_like_a_struct)
{
    uint8_t a = 3;
    uint64_t b = 0x1122334455667788u;
    uint32_t c = 99;
    struct cfut_ready ra, rb, rc;
    ck_assert_int_eq(cfut_ready_init(&ra, &a, sizeof a), CFUT_OK);
    ck_assert_int_eq(cfut_ready_init(&rb, &b, sizeof b), CFUT_OK);
    ck_assert_int_eq(cfut_ready_init(&rc, &c, sizeof c), CFUT_OK);
    struct cfut_future *kids[3] = {&ra.base, &rb.base, &rc.base};
    struct cfut_join j;
    ck_assert_int_eq(cfut_join_init(&j, kids, 3), CFUT_OK);
    struct mixed {
        uint8_t a;
        uint64_t b;
        uint32_t c;
    } out;
    memset(&out, 0, sizeof out);

    ck_assert_uint_eq(cfut_future_output_size(&j.base), 20);
    ck_assert_uint_eq(cfut_join_offset(&j, 1), offsetof(struct mixed, b));
    ck_assert_int_eq(testkit_poll(&j.base, cfut_waker_noop(), &out),
                     CFUT_READY);
    cfut_future_drop(&j.base);

    ck_assert_uint_eq(out.a, 3);
    ck_assert_uint_eq(out.b, b);
    ck_assert_uint_eq(out.c, 99);
}
END_TEST

START_TEST(test_join_of_zero_is_ready_at_once_without_allocating)
{
    struct cfut_join j;
    ck_assert_int_eq(cfut_join_init(&j, NULL, 0), CFUT_OK);

    ck_assert_int_eq(testkit_alloc_count(), 0);
    ck_assert_uint_eq(cfut_future_output_size(&j.base), 0);
    ck_assert_int_eq(testkit_poll(&j.base, testkit_waker_aborting(), NULL),
                     CFUT_READY);
    cfut_future_drop(&j.base);
}
END_TEST

START_TEST(test_join_of_one_gives_that_childs_output)
{
    struct testkit_countdown c;
    testkit_countdown_init(&c, 2, true, 42);
    struct cfut_future *kids[1] = {&c.base};
    struct cfut_join j;
    ck_assert_int_eq(cfut_join_init(&j, kids, 1), CFUT_OK);
    uint64_t out = 0;

    ck_assert_int_eq(testkit_poll(&j.base, cfut_waker_noop(), &out),
                     CFUT_PENDING);
    ck_assert_int_eq(testkit_poll(&j.base, cfut_waker_noop(), &out),
                     CFUT_PENDING);
    ck_assert_int_eq(testkit_poll(&j.base, cfut_waker_noop(), &out),
                     CFUT_READY);
    cfut_future_drop(&j.base);

    ck_assert_uint_eq(out, 42);
}
END_TEST

START_TEST(test_join2_joins_a_boxed_and_an_inline_child)
{
    struct testkit_countdown a, b;
    testkit_countdown_init(&a, 1, true, 1);
    testkit_countdown_init(&b, 0, true, 2);
    struct cfut_future *boxed;
    ck_assert_int_eq(cfut_future_box(&a.base, sizeof a, &boxed), CFUT_OK);
    struct cfut_join j;
    ck_assert_int_eq(cfut_join2(&j, boxed, &b.base), CFUT_OK);
    uint64_t out[2] = {0, 0};

    while (testkit_poll(&j.base, cfut_waker_noop(), out) == CFUT_PENDING)
        ;
    cfut_future_drop(&j.base);

    ck_assert_uint_eq(out[0], 1);
    ck_assert_uint_eq(out[1], 2);
}
END_TEST

/* ---- wakes ---- */

START_TEST(test_join_small_polls_every_child_with_the_parent_waker)
{
    enum { N = CFUT_JOIN_SMALL_MAX };
    struct testkit_countdown c[N];
    struct cfut_future *kids[N];
    for (int i = 0; i < N; i++) {
        testkit_countdown_init(&c[i], i + 1, false, (uint64_t)i);
        kids[i] = &c[i].base;
    }
    struct cfut_join j;
    ck_assert_int_eq(cfut_join_init(&j, kids, N), CFUT_OK);
    ck_assert_int_eq(testkit_alloc_live(), 0); /* inline: no block */
    struct testkit_waker tw;
    struct cfut_waker w = testkit_waker_init(&tw);
    uint64_t out[N];
    ck_assert_int_eq(testkit_poll(&j.base, &w, out), CFUT_PENDING);
    for (int i = 0; i < N; i++) /* each child holds the parent's waker */
        ck_assert(cfut_waker_will_wake(&c[i].waker, &w));

    testkit_countdown_wake(&c[N - 1]);
    ck_assert_int_eq(testkit_waker_n_wakes(&tw), 1);
    ck_assert_int_eq(testkit_poll(&j.base, &w, out), CFUT_PENDING);

    /* every running child is polled, woken or not, in index order */
    ck_assert_int_eq(c[0].n_polls, 2); /* finished at its second poll */
    for (int i = 1; i < N; i++)
        ck_assert_int_eq(c[i].n_polls, 2);
    while (testkit_poll(&j.base, &w, out) == CFUT_PENDING)
        ;
    ck_assert_int_eq(c[0].n_polls, 2); /* a finished child is not polled */
    cfut_future_drop(&j.base);
    for (int i = 0; i < N; i++)
        ck_assert_uint_eq(out[i], (uint64_t)i);
    ck_assert_int_eq(testkit_alloc_live(), 0);
    ck_assert_int_eq(testkit_wakers_live(), 0);
}
END_TEST

/*
 * The small form writes the children's outputs straight into the caller's
 * storage; a child finished in an earlier poll must survive a later poll
 * that gets another 'out' (the contract does not pin 'out').
 */
START_TEST(test_join_small_keeps_outputs_when_out_moves_between_polls)
{
    struct status_fut s[3];
    struct cfut_future *kids[3];
    for (int i = 0; i < 3; i++) {
        status_init(&s[i], i, CFUT_OK, (uint64_t)(20 + i), NULL);
        kids[i] = &s[i].base;
    }
    struct cfut_join j;
    ck_assert_int_eq(cfut_join_init(&j, kids, 3), CFUT_OK);
    ck_assert_int_eq(testkit_alloc_live(), 0); /* the small form */
    status3 out[3];
    memset(out, 0xAA, sizeof out);
    for (int p = 0; p < 2; p++)
        ck_assert_int_eq(testkit_poll(&j.base, cfut_waker_noop(), &out[p]),
                         CFUT_PENDING);
    ck_assert_int_eq(testkit_poll(&j.base, cfut_waker_noop(), &out[2]),
                     CFUT_READY);
    cfut_future_drop(&j.base);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(out[2][i].status, CFUT_OK);
        ck_assert_uint_eq(out[2][i].v, (uint64_t)(20 + i));
    }
}
END_TEST

START_TEST(test_try_join_small_failure_keeps_earlier_values_when_out_moves)
{
    bool dropped[3] = {false, false, false};
    struct status_fut s[3];
    status_init(&s[0], 0, CFUT_OK, 1, &dropped[0]);
    status_init(&s[1], 1, CFUT_EIO, 2, &dropped[1]);
    status_init(&s[2], 5, CFUT_OK, 3, &dropped[2]);
    struct cfut_future *kids[3] = {&s[0].base, &s[1].base, &s[2].base};
    struct cfut_join j;
    ck_assert_int_eq(cfut_try_join_init(&j, kids, 3), CFUT_OK);
    CFUT_TRY_JOIN_OUTPUT(status3) out[2];
    memset(out, 0xAA, sizeof out);
    ck_assert_int_eq(testkit_poll(&j.base, cfut_waker_noop(), &out[0]),
                     CFUT_PENDING);
    ck_assert(dropped[0]); /* finished: dropped at once */
    ck_assert(!dropped[2]);
    ck_assert_int_eq(testkit_poll(&j.base, cfut_waker_noop(), &out[1]),
                     CFUT_READY);
    ck_assert(dropped[1]);
    ck_assert(dropped[2]); /* the running sibling is cancelled */
    ck_assert_int_eq(out[1].status, CFUT_EIO);
    ck_assert_uint_eq(out[1].failed, 1);
    ck_assert_uint_eq(out[1].values[0].v, 1); /* from the earlier poll */
    ck_assert_uint_eq(out[1].values[1].v, 2);
    cfut_future_drop(&j.base);
    ck_assert_int_eq(testkit_alloc_live(), 0);
}
END_TEST

START_TEST(test_join_repolls_only_the_woken_children)
{
    enum { N = 8 };
    struct testkit_countdown c[N];
    struct cfut_future *kids[N];
    for (int i = 0; i < N; i++) {
        testkit_countdown_init(&c[i], 1, false, (uint64_t)i);
        kids[i] = &c[i].base;
    }
    struct cfut_join j;
    ck_assert_int_eq(cfut_join_init(&j, kids, N), CFUT_OK);
    struct testkit_waker tw;
    struct cfut_waker w = testkit_waker_init(&tw);
    uint64_t out[N];
    ck_assert_int_eq(testkit_poll(&j.base, &w, out), CFUT_PENDING);

    testkit_countdown_wake(&c[5]);
    testkit_countdown_wake(&c[2]);
    ck_assert_int_eq(testkit_poll(&j.base, &w, out), CFUT_PENDING);

    for (int i = 0; i < N; i++)
        ck_assert_int_eq(c[i].n_polls, (i == 2 || i == 5) ? 2 : 1);
    ck_assert_int_eq(testkit_waker_n_wakes(&tw), 1); /* coalesced */
    ck_assert_int_eq(testkit_poll(&j.base, &w, out), CFUT_PENDING);
    for (int i = 0; i < N; i++)
        ck_assert_int_eq(c[i].n_polls, (i == 2 || i == 5) ? 2 : 1);
    for (int i = 0; i < N; i++)
        if (i != 2 && i != 5)
            testkit_countdown_wake(&c[i]);
    ck_assert_int_eq(testkit_poll(&j.base, &w, out), CFUT_READY);
    cfut_future_drop(&j.base);
    for (int i = 0; i < N; i++) {
        ck_assert_int_eq(c[i].n_polls, 2);
        ck_assert_uint_eq(out[i], (uint64_t)i);
    }
}
END_TEST

START_TEST(test_join_keeps_a_wake_made_during_another_childs_poll)
{
    struct testkit_countdown target;
    testkit_countdown_init(&target, 1, false, 5);
    struct poker p;
    cfut_future_init(&p.base, &poker_vtable);
    p.target = &target;
    p.polls = 0;
    /* padded past CFUT_JOIN_SMALL_MAX: the wake-set form */
    struct cfut_ready r[5];
    struct cfut_future *kids[5] = {&p.base, &target.base};
    pad_ready(r, kids, 2, 5);
    struct cfut_join j;
    ck_assert_int_eq(cfut_join_init(&j, kids, 5), CFUT_OK);
    struct testkit_waker tw;
    struct cfut_waker w = testkit_waker_init(&tw);
    uint64_t out[5] = {0, 0, 0, 0, 0};
    ck_assert_int_eq(testkit_poll(&j.base, &w, out), CFUT_PENDING);
    ck_assert_int_eq(testkit_waker_n_wakes(&tw), 1); /* the poker's */

    /* Only the poker is woken; during its poll it wakes the target. */
    ck_assert_int_eq(testkit_poll(&j.base, &w, out), CFUT_PENDING);
    ck_assert_int_eq(target.n_polls, 1);
    ck_assert_int_eq(testkit_waker_n_wakes(&tw), 2);
    ck_assert_int_eq(testkit_poll(&j.base, &w, out), CFUT_READY);
    cfut_future_drop(&j.base);

    ck_assert_int_eq(target.n_polls, 2);
    ck_assert_uint_eq(out[0], 7);
    ck_assert_uint_eq(out[1], 5);
}
END_TEST

START_TEST(test_join_wakes_the_latest_parent_waker)
{
    struct testkit_countdown c;
    testkit_countdown_init(&c, 1, false, 1);
    struct cfut_ready r[5];
    struct cfut_future *kids[5] = {&c.base};
    pad_ready(r, kids, 1, 5); /* the wake-set form */
    struct cfut_join j;
    ck_assert_int_eq(cfut_join_init(&j, kids, 5), CFUT_OK);
    struct testkit_waker tw1, tw2;
    struct cfut_waker w1 = testkit_waker_init(&tw1);
    struct cfut_waker w2 = testkit_waker_init(&tw2);
    uint64_t out[5];
    ck_assert_int_eq(testkit_poll(&j.base, &w1, out), CFUT_PENDING);
    ck_assert_int_eq(testkit_poll(&j.base, &w2, out), CFUT_PENDING);

    testkit_countdown_wake(&c);

    ck_assert_int_eq(testkit_waker_n_wakes(&tw1), 0);
    ck_assert_int_eq(testkit_waker_n_wakes(&tw2), 1);
    ck_assert_int_eq(testkit_poll(&j.base, &w2, out), CFUT_READY);
    cfut_future_drop(&j.base);
}
END_TEST

START_TEST(test_join_copes_with_pending_once_children_and_spurious_polls)
{
    struct testkit_countdown c[3];
    struct testkit_wrap wr[3];
    struct cfut_future *kids[3];
    for (int i = 0; i < 3; i++) {
        testkit_countdown_init(&c[i], i, true, (uint64_t)(i + 1));
        testkit_wrap_init(&wr[i], &c[i].base, true);
        kids[i] = &wr[i].base;
    }
    struct cfut_join j;
    ck_assert_int_eq(cfut_join_init(&j, kids, 3), CFUT_OK);
    uint64_t out[3] = {0, 0, 0};

    int n = 0;
    for (;;) {
        ck_assert_int_lt(++n, 20);
        if (testkit_poll(&j.base, cfut_waker_noop(), out) == CFUT_READY)
            break;
        /* a spurious extra poll must be harmless */
        if (testkit_poll(&j.base, cfut_waker_noop(), out) == CFUT_READY)
            break;
    }
    cfut_future_drop(&j.base);

    ck_assert_uint_eq(out[0] + out[1] + out[2], 6);
    ck_assert_uint_eq(out[2], 3);
}
END_TEST

/* ---- drop ---- */

START_TEST(test_join_drop_while_pending_drops_every_child)
{
    bool dropped[3] = {false, false, false};
    struct testkit_countdown a, c;
    testkit_countdown_init(&a, 5, false, 1);
    testkit_countdown_init(&c, 0, true, 3);
    a.dropped = &dropped[0];
    c.dropped = &dropped[2];
    struct testkit_countdown bsrc;
    testkit_countdown_init(&bsrc, 5, false, 2);
    bsrc.dropped = &dropped[1];
    struct cfut_future *b;
    ck_assert_int_eq(cfut_future_box(&bsrc.base, sizeof bsrc, &b), CFUT_OK);
    struct cfut_future *kids[3] = {&a.base, b, &c.base};
    struct cfut_join j;
    ck_assert_int_eq(cfut_join_init(&j, kids, 3), CFUT_OK);
    struct testkit_waker tw;
    struct cfut_waker w = testkit_waker_init(&tw);
    uint64_t out[3];
    ck_assert_int_eq(testkit_poll(&j.base, &w, out), CFUT_PENDING);
    ck_assert(dropped[2]); /* finished children are dropped at once */

    cfut_future_drop(&j.base);

    ck_assert(dropped[0]);
    ck_assert(dropped[1]);
    ck_assert_int_eq(testkit_wakers_live(), 0);
    ck_assert_int_eq(testkit_alloc_live(), 0);
}
END_TEST

START_TEST(test_join_sub_waker_may_outlive_the_join)
{
    struct thief t;
    cfut_future_init(&t.base, &thief_vtable);
    stolen = CFUT_WAKER_EMPTY;
    struct cfut_ready r[5];
    struct cfut_future *kids[5] = {&t.base};
    pad_ready(r, kids, 1, 5); /* the wake-set form */
    struct cfut_join j;
    ck_assert_int_eq(cfut_join_init(&j, kids, 5), CFUT_OK);
    struct testkit_waker tw;
    struct cfut_waker w = testkit_waker_init(&tw);
    uint64_t out[5];
    ck_assert_int_eq(testkit_poll(&j.base, &w, out), CFUT_PENDING);

    cfut_future_drop(&j.base);
    ck_assert_int_eq(testkit_alloc_live(), 1); /* the block, held by it */
    struct cfut_waker again = cfut_waker_clone(&stolen);
    cfut_waker_wake_by_ref(&stolen);
    cfut_waker_wake(&stolen);
    cfut_waker_drop(&again);

    ck_assert_int_eq(testkit_waker_n_wakes(&tw), 0);
    ck_assert_int_eq(testkit_alloc_live(), 0);
}
END_TEST

enum { N_SIG = 64 };
static struct testkit_signal sigs[N_SIG];

static int n_sig; /* signals in use */

static void *
fire_all(void *arg)
{
    (void)arg;
    for (int i = n_sig - 1; i >= 0; i--)
        testkit_signal_fire(&sigs[i]);
    return NULL;
}

/*
 * Joins 'n' signals that another thread fires (in reverse order): with 64
 * the wake-set form's sub-wakers, with 3 the small form, whose children
 * hold the parent's waker itself; both must reach the parent.
 */
static void
join_signals_fired_elsewhere(int n)
{
    n_sig = n;
    struct cfut_future *kids[N_SIG];
    for (int i = 0; i < n; i++) {
        testkit_signal_init(&sigs[i], 1);
        kids[i] = &sigs[i].base;
    }
    struct cfut_join j;
    ck_assert_int_eq(cfut_join_init(&j, kids, (size_t)n), CFUT_OK);
    struct testkit_waker tw;
    struct cfut_waker w = testkit_waker_init(&tw);
    uint64_t out[N_SIG];
    ck_assert_int_eq(testkit_poll(&j.base, &w, out), CFUT_PENDING);
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, fire_all, NULL), 0);

    long polls = 0;
    while (testkit_poll(&j.base, &w, out) == CFUT_PENDING)
        polls++;
    pthread_join(th, NULL);
    cfut_future_drop(&j.base);

    for (int i = 0; i < n; i++) {
        ck_assert_uint_eq(out[i], 1);
        testkit_signal_fini(&sigs[i]);
    }
    ck_assert_int_ge(testkit_waker_n_wakes(&tw), 1);
}

START_TEST(test_join_children_woken_from_another_thread_all_finish)
{
    join_signals_fired_elsewhere(N_SIG);
}
END_TEST

START_TEST(test_join_small_children_woken_from_another_thread_reach_the_parent)
{
    join_signals_fired_elsewhere(3);
}
END_TEST

static void *
drop_stolen(void *arg)
{
    (void)arg;
    struct cfut_waker w = stolen;
    cfut_waker_wake_by_ref(&w);
    cfut_waker_drop(&w);
    return NULL;
}

START_TEST(test_join_drop_races_a_wake_from_another_thread)
{
    struct thief t;
    cfut_future_init(&t.base, &thief_vtable);
    stolen = CFUT_WAKER_EMPTY;
    struct cfut_future *kids[1] = {&t.base};
    struct cfut_join j;
    ck_assert_int_eq(cfut_join_init(&j, kids, 1), CFUT_OK);
    struct testkit_waker tw;
    struct cfut_waker w = testkit_waker_init(&tw);
    uint64_t out;
    ck_assert_int_eq(testkit_poll(&j.base, &w, &out), CFUT_PENDING);
    pthread_t th;

    ck_assert_int_eq(pthread_create(&th, NULL, drop_stolen, NULL), 0);
    cfut_future_drop(&j.base);
    pthread_join(th, NULL);

    ck_assert_int_le(testkit_waker_n_wakes(&tw), 1);
    ck_assert_int_eq(testkit_wakers_live(), 0);
    ck_assert_int_eq(testkit_alloc_live(), 0);
}
END_TEST

START_TEST(test_join_nested_in_a_join_repolls_only_the_woken_leaf)
{
    struct testkit_countdown c[4];
    for (int i = 0; i < 4; i++)
        testkit_countdown_init(&c[i], 1, false, (uint64_t)i);
    /* each inner join padded to the wake-set form; the outer's outputs
     * (80 bytes) exceed CFUT_JOIN_SMALL_BYTES, so it is one too */
    struct cfut_join inner[2];
    struct cfut_ready r0[5], r1[5];
    struct cfut_future *k0[5] = {&c[0].base, &c[1].base};
    struct cfut_future *k1[5] = {&c[2].base, &c[3].base};
    pad_ready(r0, k0, 2, 5);
    pad_ready(r1, k1, 2, 5);
    ck_assert_int_eq(cfut_join_init(&inner[0], k0, 5), CFUT_OK);
    ck_assert_int_eq(cfut_join_init(&inner[1], k1, 5), CFUT_OK);
    struct cfut_future *outer_kids[2] = {&inner[0].base, &inner[1].base};
    struct cfut_join outer;
    ck_assert_int_eq(cfut_join_init(&outer, outer_kids, 2), CFUT_OK);
    struct testkit_waker tw;
    struct cfut_waker w = testkit_waker_init(&tw);
    uint64_t out[10] = {0};
    ck_assert_int_eq(testkit_poll(&outer.base, &w, out), CFUT_PENDING);

    testkit_countdown_wake(&c[3]);
    ck_assert_int_eq(testkit_waker_n_wakes(&tw), 1);
    ck_assert_int_eq(testkit_poll(&outer.base, &w, out), CFUT_PENDING);

    ck_assert_int_eq(c[0].n_polls, 1);
    ck_assert_int_eq(c[1].n_polls, 1);
    ck_assert_int_eq(c[2].n_polls, 1);
    ck_assert_int_eq(c[3].n_polls, 2);
    testkit_countdown_wake(&c[0]);
    testkit_countdown_wake(&c[1]);
    testkit_countdown_wake(&c[2]);
    ck_assert_int_eq(testkit_poll(&outer.base, &w, out), CFUT_READY);
    cfut_future_drop(&outer.base);
    for (int i = 0; i < 4; i++)
        ck_assert_uint_eq(out[i / 2 * 5 + i % 2], (uint64_t)i);
    ck_assert_uint_eq(out[9], 104);
}
END_TEST

/* ---- executor integration ---- */

START_TEST(test_join_of_yielding_children_runs_under_block_on)
{
    struct cfut_executor *ex;
    ck_assert_int_eq(cfut_executor_new(&ex), CFUT_OK);
    struct cfut_yield y[4];
    struct cfut_future *kids[4];
    for (int i = 0; i < 4; i++) {
        cfut_yield_now_init(&y[i]);
        kids[i] = &y[i].base;
    }
    struct cfut_join j;
    ck_assert_int_eq(cfut_join_init(&j, kids, 4), CFUT_OK);

    ck_assert_int_eq(cfut_block_on(ex, &j.base, NULL), CFUT_OK);

    cfut_executor_free(ex);
}
END_TEST

/* ---- try_join ---- */

START_TEST(test_try_join_first_error_wins_and_drops_siblings_at_once)
{
    bool dropped[2] = {false, false};
    struct status_fut a, b;
    status_init(&a, 3, CFUT_OK, 1, &dropped[0]);
    status_init(&b, 1, CFUT_ETIMEDOUT, 2, &dropped[1]);
    struct cfut_future *c;
    struct cfut_pending never;
    cfut_pending_init(&never, sizeof(struct status_out));
    ck_assert_int_eq(cfut_future_box(&never.base, sizeof never, &c), CFUT_OK);
    struct cfut_future *kids[3] = {&a.base, &b.base, c};
    struct cfut_join j;
    ck_assert_int_eq(cfut_try_join_init(&j, kids, 3), CFUT_OK);
    CFUT_TRY_JOIN_OUTPUT(status3) out;
    ck_assert_uint_eq(cfut_future_output_size(&j.base), sizeof out);

    ck_assert_int_eq(testkit_poll(&j.base, cfut_waker_noop(), &out),
                     CFUT_PENDING);
    ck_assert_int_eq(testkit_poll(&j.base, cfut_waker_noop(), &out),
                     CFUT_READY);

    ck_assert_int_eq(out.status, CFUT_ETIMEDOUT);
    ck_assert_uint_eq(out.failed, 1);
    ck_assert_uint_eq(out.values[1].v, 2);
    ck_assert(dropped[0]);
    ck_assert(dropped[1]);
    /* the boxed sibling is freed already; a small join holds no block */
    ck_assert_int_eq(testkit_alloc_live(), 0);
    cfut_future_drop(&j.base);
    ck_assert_int_eq(testkit_alloc_live(), 0);
}
END_TEST

START_TEST(test_try_join_all_ok_gives_every_value)
{
    struct status_fut s[3];
    struct cfut_future *kids[3];
    for (int i = 0; i < 3; i++) {
        status_init(&s[i], i, CFUT_OK, (uint64_t)(10 + i), NULL);
        kids[i] = &s[i].base;
    }
    struct cfut_join j;
    ck_assert_int_eq(cfut_try_join_init(&j, kids, 3), CFUT_OK);
    CFUT_TRY_JOIN_OUTPUT(status3) out;

    while (testkit_poll(&j.base, cfut_waker_noop(), &out) == CFUT_PENDING)
        ;
    cfut_future_drop(&j.base);

    ck_assert_int_eq(out.status, CFUT_OK);
    ck_assert_uint_eq(out.failed, SIZE_MAX);
    for (int i = 0; i < 3; i++)
        ck_assert_uint_eq(out.values[i].v, (uint64_t)(10 + i));
}
END_TEST

START_TEST(test_try_join_rejects_children_without_a_status)
{
    struct cfut_pending p;
    cfut_pending_init(&p, 1);
    struct cfut_future *kids[1] = {&p.base};
    struct cfut_join j;

    ck_assert_int_eq(cfut_try_join_init(&j, kids, 1), CFUT_EINVAL);
    ck_assert_int_eq(cfut_join_init(&j, NULL, 2), CFUT_EINVAL);
    kids[0] = NULL;
    ck_assert_int_eq(cfut_join_init(&j, kids, 1), CFUT_EINVAL);
}
END_TEST

/* ---- allocation ---- */

START_TEST(test_join_reports_enomem_at_every_allocation)
{
    for (long k = 1;; k++) {
        bool dropped = false;
        struct testkit_countdown a;
        testkit_countdown_init(&a, 1, true, 1);
        a.dropped = &dropped;
        struct cfut_ready r;
        uint64_t v = 2;
        ck_assert_int_eq(cfut_ready_init(&r, &v, sizeof v), CFUT_OK);
        struct cfut_ready pad[5];
        struct cfut_future *kids[5] = {&a.base, &r.base};
        pad_ready(pad, kids, 2, 5); /* the wake-set form allocates */
        struct cfut_join j;
        testkit_alloc_fail_at(k);
        int rc = cfut_join_init(&j, kids, 5);
        testkit_alloc_fail_at(0);
        if (rc == CFUT_OK) {
            uint64_t out[5];
            while (testkit_poll(&j.base, cfut_waker_noop(), out) ==
                   CFUT_PENDING)
                ;
            cfut_future_drop(&j.base);
            ck_assert_uint_eq(out[0] + out[1], 3);
            ck_assert_int_ge(k, 2);
            break;
        }
        ck_assert_int_eq(rc, CFUT_ENOMEM);
        ck_assert(!dropped); /* the children are still the caller's */
        for (int i = 0; i < 5; i++)
            cfut_future_drop(kids[i]);
        ck_assert_int_eq(testkit_alloc_live(), 0);
    }
}
END_TEST

START_TEST(test_try_join_reports_enomem_at_every_allocation)
{
    for (long k = 1;; k++) {
        struct status_fut s;
        status_init(&s, 0, CFUT_OK, 5, NULL);
        struct cfut_future *kids[1] = {&s.base};
        struct cfut_join j;
        testkit_alloc_fail_at(k);
        int rc = cfut_try_join_init(&j, kids, 1);
        testkit_alloc_fail_at(0);
        if (rc == CFUT_OK) {
            CFUT_TRY_JOIN_OUTPUT(struct status_out) out;
            ck_assert_int_eq(testkit_poll(&j.base, cfut_waker_noop(), &out),
                             CFUT_READY);
            cfut_future_drop(&j.base);
            ck_assert_uint_eq(out.values.v, 5);
            break;
        }
        ck_assert_int_eq(rc, CFUT_ENOMEM);
        cfut_future_drop(&s.base);
        ck_assert_int_eq(testkit_alloc_live(), 0);
    }
}
END_TEST

/* ---- misuse ---- */

START_TEST(test_join_polled_after_ready_aborts)
{
    struct cfut_join j;
    ck_assert_int_eq(cfut_join_init(&j, NULL, 0), CFUT_OK);
    ck_assert_int_eq(testkit_poll(&j.base, cfut_waker_noop(), NULL),
                     CFUT_READY);

    testkit_poll(&j.base, cfut_waker_noop(), NULL);
}
END_TEST

static Suite *
join_suite(void)
{
    Suite *s = suite_create("join");
    TCase *tc = tcase_create("outputs");
    testkit_fixture(tc);
    tcase_add_test(tc, test_join_outputs_arrive_in_child_order);
    tcase_add_test(tc, test_join_lays_out_mixed_sizes_like_a_struct);
    tcase_add_test(tc, test_join_of_zero_is_ready_at_once_without_allocating);
    tcase_add_test(tc, test_join_of_one_gives_that_childs_output);
    tcase_add_test(tc, test_join2_joins_a_boxed_and_an_inline_child);
    suite_add_tcase(s, tc);

    tc = tcase_create("wakes");
    testkit_fixture(tc);
    tcase_add_test(tc, test_join_repolls_only_the_woken_children);
    tcase_add_test(tc,
                   test_join_small_keeps_outputs_when_out_moves_between_polls);
    tcase_add_test(
        tc, test_try_join_small_failure_keeps_earlier_values_when_out_moves);
    tcase_add_test(tc, test_join_small_polls_every_child_with_the_parent_waker);
    tcase_add_test(tc, test_join_keeps_a_wake_made_during_another_childs_poll);
    tcase_add_test(tc, test_join_wakes_the_latest_parent_waker);
    tcase_add_test(
        tc, test_join_copes_with_pending_once_children_and_spurious_polls);
    tcase_add_test(tc, test_join_of_yielding_children_runs_under_block_on);
    tcase_add_test(tc, test_join_nested_in_a_join_repolls_only_the_woken_leaf);
    suite_add_tcase(s, tc);

    tc = tcase_create("drop and threads");
    testkit_fixture(tc);
    tcase_add_test(tc, test_join_drop_while_pending_drops_every_child);
    tcase_add_test(tc, test_join_sub_waker_may_outlive_the_join);
    tcase_add_test(tc, test_join_children_woken_from_another_thread_all_finish);
    tcase_add_test(
        tc,
        test_join_small_children_woken_from_another_thread_reach_the_parent);
    tcase_add_test(tc, test_join_drop_races_a_wake_from_another_thread);
    suite_add_tcase(s, tc);

    tc = tcase_create("try_join");
    testkit_fixture(tc);
    tcase_add_test(tc,
                   test_try_join_first_error_wins_and_drops_siblings_at_once);
    tcase_add_test(tc, test_try_join_all_ok_gives_every_value);
    tcase_add_test(tc, test_try_join_rejects_children_without_a_status);
    suite_add_tcase(s, tc);

    tc = tcase_create("allocation");
    testkit_fixture(tc);
    tcase_add_test(tc, test_join_reports_enomem_at_every_allocation);
    tcase_add_test(tc, test_try_join_reports_enomem_at_every_allocation);
    suite_add_tcase(s, tc);

    tc = tcase_create("misuse");
    testkit_add_abort_test(tc, test_join_polled_after_ready_aborts);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return testkit_run(join_suite());
}
