/*
 * test_token.c: the cancellation token, both kinds: cancel and
 * is_cancelled on every clone, the cancelled future before and after the
 * cancel, the tree (parents cancel children, not the reverse; a child
 * unlinks itself; a parent's state outlives its handles), cancellation of
 * waiting futures and tasks, wakers that call back in, allocation
 * failure, misuse, and threads racing cancels, waits and children. Every
 * test body that can runs on both kinds (the kind table).
 */
#define _GNU_SOURCE
#include "testkit.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* ---- both kinds behind one table ---- */

union tok {
    struct cfut_token l;
    struct cfut_token_sync s;
};
/* The cancelled future is one type in both kinds. */
union tcancelled {
    struct cfut_future base;
    struct cfut_token_cancelled f;
};

struct tkind {
    int (*make)(union tok *);
    int (*child)(union tok *, union tok *);
    union tok (*clone)(union tok *);
    void (*drop)(union tok *);
    void (*cancel)(union tok *);
    bool (*is_cancelled)(union tok *);
    void (*cancelled_init)(union tcancelled *, union tok *);
};

static int
l_make(union tok *t)
{
    return cfut_token_new(&t->l);
}
static int
l_child(union tok *p, union tok *c)
{
    return cfut_token_child(&p->l, &c->l);
}
static union tok
l_clone(union tok *t)
{
    union tok u;
    u.l = cfut_token_clone(&t->l);
    return u;
}
static void
l_drop(union tok *t)
{
    cfut_token_drop(&t->l);
}
static void
l_cancel(union tok *t)
{
    cfut_token_cancel(&t->l);
}
static bool
l_is_cancelled(union tok *t)
{
    return cfut_token_is_cancelled(&t->l);
}
static void
l_cancelled_init(union tcancelled *f, union tok *t)
{
    cfut_token_cancelled_init(&f->f, &t->l);
}

static int
s_make(union tok *t)
{
    return cfut_token_sync_new(&t->s);
}
static int
s_child(union tok *p, union tok *c)
{
    return cfut_token_sync_child(&p->s, &c->s);
}
static union tok
s_clone(union tok *t)
{
    union tok u;
    u.s = cfut_token_sync_clone(&t->s);
    return u;
}
static void
s_drop(union tok *t)
{
    cfut_token_sync_drop(&t->s);
}
static void
s_cancel(union tok *t)
{
    cfut_token_sync_cancel(&t->s);
}
static bool
s_is_cancelled(union tok *t)
{
    return cfut_token_sync_is_cancelled(&t->s);
}
static void
s_cancelled_init(union tcancelled *f, union tok *t)
{
    cfut_token_sync_cancelled_init(&f->f, &t->s);
}

static const struct tkind kinds[2] = {
    {l_make, l_child, l_clone, l_drop, l_cancel, l_is_cancelled,
     l_cancelled_init},
    {s_make, s_child, s_clone, s_drop, s_cancel, s_is_cancelled,
     s_cancelled_init},
};

/* ---- cancelling ---- */

START_TEST(test_token_cancel_is_seen_through_every_clone)
{
    const struct tkind *k = &kinds[_i];
    union tok a;
    ck_assert_int_eq(k->make(&a), CFUT_OK);
    union tok b = k->clone(&a);
    ck_assert(!k->is_cancelled(&a));
    ck_assert(!k->is_cancelled(&b));

    k->cancel(&b);

    ck_assert(k->is_cancelled(&a));
    ck_assert(k->is_cancelled(&b));
    k->cancel(&a); /* twice: a no-op */
    ck_assert(k->is_cancelled(&a));
    k->drop(&a);
    ck_assert(k->is_cancelled(&b));
    k->drop(&b);
    k->drop(&b); /* an empty handle: a no-op */
}
END_TEST

START_TEST(test_token_cancelled_future_is_ready_at_once_after_the_cancel)
{
    const struct tkind *k = &kinds[_i];
    union tok t;
    ck_assert_int_eq(k->make(&t), CFUT_OK);
    k->cancel(&t);
    union tcancelled f;
    k->cancelled_init(&f, &t);
    k->drop(&t); /* the future holds its own reference */

    enum cfut_poll p = testkit_poll(&f.base, testkit_waker_aborting(), NULL);

    ck_assert_int_eq(p, CFUT_READY);
    cfut_future_drop(&f.base);
}
END_TEST

START_TEST(test_token_cancel_wakes_every_waiting_future_once)
{
    const struct tkind *k = &kinds[_i];
    union tok t;
    ck_assert_int_eq(k->make(&t), CFUT_OK);
    union tcancelled f[3];
    struct testkit_waker tw[3];
    struct cfut_waker w[3];
    for (int j = 0; j < 3; j++) {
        w[j] = testkit_waker_init(&tw[j]);
        k->cancelled_init(&f[j], &t);
        ck_assert_int_eq(testkit_poll(&f[j].base, &w[j], NULL), CFUT_PENDING);
        ck_assert_int_eq(testkit_poll(&f[j].base, &w[j], NULL), CFUT_PENDING);
    }
    ck_assert_int_eq(testkit_wakers_live(), 3); /* one each, kept */

    k->cancel(&t);
    k->cancel(&t);

    for (int j = 0; j < 3; j++) {
        ck_assert_int_eq(testkit_waker_n_wakes(&tw[j]), 1);
        ck_assert_int_eq(testkit_poll(&f[j].base, &w[j], NULL), CFUT_READY);
        cfut_future_drop(&f[j].base);
    }
    ck_assert_int_eq(testkit_wakers_live(), 0);
    k->drop(&t);
}
END_TEST

START_TEST(test_token_a_waiter_polled_with_a_new_waker_wakes_only_that_one)
{
    const struct tkind *k = &kinds[_i];
    union tok t;
    ck_assert_int_eq(k->make(&t), CFUT_OK);
    struct testkit_waker tw1, tw2;
    struct cfut_waker w1 = testkit_waker_init(&tw1);
    struct cfut_waker w2 = testkit_waker_init(&tw2);
    union tcancelled f;
    k->cancelled_init(&f, &t);
    ck_assert_int_eq(testkit_poll(&f.base, &w1, NULL), CFUT_PENDING);

    ck_assert_int_eq(testkit_poll(&f.base, &w2, NULL), CFUT_PENDING);
    k->cancel(&t);

    ck_assert_int_eq(testkit_waker_n_wakes(&tw1), 0);
    ck_assert_int_eq(testkit_waker_n_wakes(&tw2), 1);
    cfut_future_drop(&f.base);
    k->drop(&t);
}
END_TEST

/* ---- the tree ---- */

START_TEST(test_token_a_parent_cancels_its_descendants_not_the_reverse)
{
    const struct tkind *k = &kinds[_i];
    union tok root, a, b, a1;
    ck_assert_int_eq(k->make(&root), CFUT_OK);
    ck_assert_int_eq(k->child(&root, &a), CFUT_OK);
    ck_assert_int_eq(k->child(&root, &b), CFUT_OK);
    ck_assert_int_eq(k->child(&a, &a1), CFUT_OK);
    struct testkit_waker tw;
    struct cfut_waker w = testkit_waker_init(&tw);
    union tcancelled f;
    k->cancelled_init(&f, &a1);
    ck_assert_int_eq(testkit_poll(&f.base, &w, NULL), CFUT_PENDING);

    /* A child's cancel goes down only. */
    k->cancel(&b);
    ck_assert(!k->is_cancelled(&root));
    ck_assert(!k->is_cancelled(&a));
    ck_assert_int_eq(testkit_waker_n_wakes(&tw), 0);

    /* The root's reaches the grandchild and wakes its waiter. */
    k->cancel(&root);

    ck_assert(k->is_cancelled(&a));
    ck_assert(k->is_cancelled(&a1));
    ck_assert_int_eq(testkit_waker_n_wakes(&tw), 1);
    ck_assert_int_eq(testkit_poll(&f.base, &w, NULL), CFUT_READY);
    cfut_future_drop(&f.base);
    k->drop(&a1);
    k->drop(&b);
    k->drop(&a);
    k->drop(&root);
}
END_TEST

START_TEST(test_token_a_child_of_a_cancelled_parent_starts_cancelled)
{
    const struct tkind *k = &kinds[_i];
    union tok root, c, cc;
    ck_assert_int_eq(k->make(&root), CFUT_OK);
    k->cancel(&root);

    ck_assert_int_eq(k->child(&root, &c), CFUT_OK);
    ck_assert_int_eq(k->child(&c, &cc), CFUT_OK);

    ck_assert(k->is_cancelled(&c));
    ck_assert(k->is_cancelled(&cc));
    union tcancelled f;
    k->cancelled_init(&f, &cc);
    ck_assert_int_eq(testkit_poll(&f.base, testkit_waker_aborting(), NULL),
                     CFUT_READY);
    cfut_future_drop(&f.base);
    k->drop(&root);
    k->drop(&c);
    k->drop(&cc);
}
END_TEST

START_TEST(test_token_a_child_dropped_before_its_parent_unlinks_itself)
{
    const struct tkind *k = &kinds[_i];
    union tok root;
    ck_assert_int_eq(k->make(&root), CFUT_OK);
    long base = testkit_alloc_live();
    union tok kids[5];
    for (int j = 0; j < 5; j++)
        ck_assert_int_eq(k->child(&root, &kids[j]), CFUT_OK);
    ck_assert_int_eq(testkit_alloc_live(), base + 5);

    /* Each child's state goes with its last handle, wherever it sits in
     * the parent's list; the cancel walks only those left. */
    k->drop(&kids[2]);
    k->drop(&kids[0]);
    k->drop(&kids[4]);
    ck_assert_int_eq(testkit_alloc_live(), base + 2);
    k->cancel(&root);

    ck_assert(k->is_cancelled(&kids[1]));
    ck_assert(k->is_cancelled(&kids[3]));
    k->drop(&kids[1]);
    k->drop(&kids[3]);
    ck_assert_int_eq(testkit_alloc_live(), base);
    k->drop(&root);
    ck_assert_int_eq(testkit_alloc_live(), 0);
}
END_TEST

START_TEST(test_token_a_parent_without_handles_still_passes_the_cancel_down)
{
    const struct tkind *k = &kinds[_i];
    union tok root, mid, leaf;
    ck_assert_int_eq(k->make(&root), CFUT_OK);
    ck_assert_int_eq(k->child(&root, &mid), CFUT_OK);
    ck_assert_int_eq(k->child(&mid, &leaf), CFUT_OK);

    k->drop(&mid); /* its state lives on for 'leaf' */
    ck_assert_int_eq(testkit_alloc_live(), 3);
    k->cancel(&root);

    ck_assert(k->is_cancelled(&leaf));
    k->drop(&root);
    ck_assert_int_eq(testkit_alloc_live(), 3); /* 'leaf' holds them all */
    k->drop(&leaf);                            /* and frees them, up */
    ck_assert_int_eq(testkit_alloc_live(), 0);
}
END_TEST

START_TEST(test_token_a_deep_tree_cancels_without_recursion)
{
    /* 100,000 generations under one root, a handle kept on every fifth,
     * plus a wide fan at the bottom: one walk, no stack to overflow. */
    const struct tkind *k = &kinds[_i];
    enum { DEPTH = 100000, FAN = 100 };
    union tok *kept = malloc(sizeof *kept * (DEPTH / 5 + FAN));
    union tok root, cur;
    ck_assert_int_eq(k->make(&root), CFUT_OK);
    cur = k->clone(&root);
    int n_kept = 0;
    for (int d = 0; d < DEPTH; d++) {
        union tok next;
        ck_assert_int_eq(k->child(&cur, &next), CFUT_OK);
        if (d % 5 == 0)
            kept[n_kept++] = k->clone(&cur);
        k->drop(&cur);
        cur = next;
    }
    for (int j = 0; j < FAN; j++)
        ck_assert_int_eq(k->child(&cur, &kept[n_kept++]), CFUT_OK);

    k->cancel(&root);

    for (int j = 0; j < n_kept; j++)
        ck_assert(k->is_cancelled(&kept[j]));
    ck_assert(k->is_cancelled(&cur));
    k->drop(&cur);
    for (int j = 0; j < n_kept; j++)
        k->drop(&kept[j]);
    k->drop(&root);
    free(kept);
}
END_TEST

/* ---- cancellation of waiters, wakers that call back in ---- */

START_TEST(test_token_a_dropped_waiting_future_leaves_and_is_not_woken)
{
    const struct tkind *k = &kinds[_i];
    union tok t;
    ck_assert_int_eq(k->make(&t), CFUT_OK);
    struct testkit_waker tw_gone, tw_kept;
    struct cfut_waker w_gone = testkit_waker_init(&tw_gone);
    struct cfut_waker w_kept = testkit_waker_init(&tw_kept);
    /* The dropped one is on the heap between two others: a stale link to
     * it would be a use after free. */
    union tcancelled a, c;
    union tcancelled *b = malloc(sizeof *b);
    k->cancelled_init(&a, &t);
    k->cancelled_init(b, &t);
    k->cancelled_init(&c, &t);
    ck_assert_int_eq(testkit_poll(&a.base, &w_kept, NULL), CFUT_PENDING);
    ck_assert_int_eq(testkit_poll(&b->base, &w_gone, NULL), CFUT_PENDING);
    ck_assert_int_eq(testkit_poll(&c.base, &w_kept, NULL), CFUT_PENDING);

    cfut_future_drop(&b->base);
    free(b);
    ck_assert_int_eq(testkit_wakers_live(), 2);
    k->cancel(&t);

    ck_assert_int_eq(testkit_waker_n_wakes(&tw_gone), 0);
    ck_assert_int_eq(testkit_waker_n_wakes(&tw_kept), 2);
    cfut_future_drop(&a.base);
    cfut_future_drop(&c.base);
    k->drop(&t);
}
END_TEST

/* What a woken waiter's waker does: it asks the token at once and drops
 * a handle of its tree (no lock may be held, the state must be whole). */
struct call_in {
    const struct tkind *k;
    union tok *ask;
    union tok *drop;
    int n_cancelled_seen;
};

static void
call_in(void *arg)
{
    struct call_in *c = arg;
    c->n_cancelled_seen += c->k->is_cancelled(c->ask);
    c->k->drop(c->drop);
}

START_TEST(test_token_a_woken_waiter_may_call_into_the_tree_at_once)
{
    const struct tkind *k = &kinds[_i];
    union tok root, child, spare;
    ck_assert_int_eq(k->make(&root), CFUT_OK);
    ck_assert_int_eq(k->child(&root, &child), CFUT_OK);
    spare = k->clone(&child);
    struct call_in ci = {k, &root, &spare, 0};
    struct testkit_waker tw;
    struct cfut_waker w = testkit_waker_init_calling(&tw, call_in, &ci);
    union tcancelled f;
    k->cancelled_init(&f, &child);
    ck_assert_int_eq(testkit_poll(&f.base, &w, NULL), CFUT_PENDING);

    k->cancel(&root);

    ck_assert_int_eq(testkit_waker_n_wakes(&tw), 1);
    ck_assert_int_eq(ci.n_cancelled_seen, 1);
    ck_assert_ptr_null(spare.l.shared);
    cfut_future_drop(&f.base);
    k->drop(&child);
    k->drop(&root);
}
END_TEST

START_TEST(test_token_tasks_waiting_on_children_finish_on_the_roots_cancel)
{
    const struct tkind *k = &kinds[_i];
    union tok root;
    ck_assert_int_eq(k->make(&root), CFUT_OK);
    atomic_int n_done = 0;
    for (int j = 0; j < 10; j++) {
        union tok child;
        ck_assert_int_eq(k->child(&root, &child), CFUT_OK);
        union tcancelled f;
        k->cancelled_init(&f, &child);
        k->drop(&child);
        testkit_await_spawn(testkit_ex, &f.base, sizeof f, NULL, &n_done);
    }
    ck_assert_int_eq(cfut_executor_run_ready(testkit_ex), CFUT_OK);
    ck_assert_int_eq(atomic_load(&n_done), 0);

    k->cancel(&root);
    ck_assert_int_eq(cfut_executor_run(testkit_ex), CFUT_OK);

    ck_assert_int_eq(atomic_load(&n_done), 10);
    k->drop(&root);
}
END_TEST

START_TEST(test_token_dropping_waiting_tasks_frees_the_tree)
{
    const struct tkind *k = &kinds[_i];
    union tok root;
    ck_assert_int_eq(k->make(&root), CFUT_OK);
    for (int j = 0; j < 4; j++) {
        union tok child;
        ck_assert_int_eq(k->child(&root, &child), CFUT_OK);
        union tcancelled f;
        k->cancelled_init(&f, &child);
        k->drop(&child);
        testkit_await_spawn(testkit_ex, &f.base, sizeof f, NULL, NULL);
    }
    ck_assert_int_eq(cfut_executor_run_ready(testkit_ex), CFUT_OK);
    k->drop(&root); /* the waiting futures hold the tree */

    cfut_executor_free(testkit_ex); /* drops every task: cancellation */
    testkit_ex = NULL;

    ck_assert_int_eq(testkit_alloc_live(), 0);
    ck_assert_int_eq(testkit_wakers_live(), 0);
}
END_TEST

/* ---- allocation and misuse ---- */

START_TEST(test_token_new_and_child_report_enomem_and_leak_nothing)
{
    const struct tkind *k = &kinds[_i];
    union tok t = {{NULL}}, c = {{NULL}};
    testkit_alloc_fail_at(1);
    ck_assert_int_eq(k->make(&t), CFUT_ENOMEM);
    ck_assert_ptr_null(t.l.shared);
    ck_assert_int_eq(testkit_alloc_live(), 0);
    testkit_alloc_fail_at(0);
    ck_assert_int_eq(k->make(&t), CFUT_OK);

    testkit_alloc_fail_at(1);
    int rc = k->child(&t, &c);
    testkit_alloc_fail_at(0);

    ck_assert_int_eq(rc, CFUT_ENOMEM);
    ck_assert_ptr_null(c.l.shared);
    ck_assert_int_eq(testkit_alloc_live(), 1);
    /* The failed child left the parent as it was: it still frees. */
    k->cancel(&t);
    k->drop(&t);
}
END_TEST

START_TEST(test_token_new_rejects_null)
{
    ck_assert_int_eq(cfut_token_new(NULL), CFUT_EINVAL);
    ck_assert_int_eq(cfut_token_sync_new(NULL), CFUT_EINVAL);
    struct cfut_token t;
    ck_assert_int_eq(cfut_token_new(&t), CFUT_OK);
    ck_assert_int_eq(cfut_token_child(&t, NULL), CFUT_EINVAL);
    cfut_token_drop(&t);
    ck_assert_int_eq(testkit_alloc_live(), 0);
}
END_TEST

START_TEST(test_token_cancel_of_an_empty_token_aborts)
{
    struct cfut_token t = {NULL};

    cfut_token_cancel(&t);
}
END_TEST

/* ---- threads ---- */

#define N_THREADS 4

struct racer {
    struct cfut_token_sync root;
    atomic_int *n_woken;
};

/* Each thread, until its wait ends: makes a child, waits on it (its own
 * executor), while making and dropping throwaway children. */
static void *
race_wait(void *arg)
{
    struct racer *r = arg;
    struct cfut_executor *ex;
    if (cfut_executor_new(&ex) != CFUT_OK)
        abort();
    for (int j = 0; j < 50; j++) {
        struct cfut_token_sync junk;
        if (cfut_token_sync_child(&r->root, &junk) != CFUT_OK)
            abort();
        cfut_token_sync_drop(&junk);
    }
    struct cfut_token_sync mine;
    if (cfut_token_sync_child(&r->root, &mine) != CFUT_OK)
        abort();
    struct cfut_token_cancelled f;
    cfut_token_sync_cancelled_init(&f, &mine);
    if (cfut_block_on(ex, &f.base, NULL) != CFUT_OK) /* it drops 'f' */
        abort();
    if (!cfut_token_sync_is_cancelled(&mine))
        abort();
    atomic_fetch_add(r->n_woken, 1);
    cfut_token_sync_drop(&mine);
    cfut_token_sync_drop(&r->root);
    cfut_executor_free(ex);
    return NULL;
}

START_TEST(test_token_sync_a_cancel_races_waiters_and_children_on_threads)
{
    /* Its threads abort on a failed call: no allocation sweep here. */
    testkit_alloc_sweep_off();
    for (int round = 0; round < 50; round++) {
        struct cfut_token_sync root;
        ck_assert_int_eq(cfut_token_sync_new(&root), CFUT_OK);
        atomic_int n_woken = 0;
        struct racer r[N_THREADS];
        pthread_t th[N_THREADS];
        for (int i = 0; i < N_THREADS; i++) {
            r[i].root = cfut_token_sync_clone(&root);
            r[i].n_woken = &n_woken;
            ck_assert_int_eq(pthread_create(&th[i], NULL, race_wait, &r[i]), 0);
        }

        if (round % 2)
            sched_yield();
        cfut_token_sync_cancel(&root);

        for (int i = 0; i < N_THREADS; i++)
            pthread_join(th[i], NULL);
        ck_assert_int_eq(atomic_load(&n_woken), N_THREADS);
        cfut_token_sync_drop(&root);
        ck_assert_int_eq(testkit_alloc_live(), 0);
    }
}
END_TEST

static Suite *
token_suite(void)
{
    Suite *s = suite_create("token");
    TCase *tc = tcase_create("cancelling");
    testkit_fixture(tc);
    tcase_add_loop_test(tc, test_token_cancel_is_seen_through_every_clone, 0,
                        2);
    tcase_add_loop_test(
        tc, test_token_cancelled_future_is_ready_at_once_after_the_cancel, 0,
        2);
    tcase_add_loop_test(tc, test_token_cancel_wakes_every_waiting_future_once,
                        0, 2);
    tcase_add_loop_test(
        tc, test_token_a_waiter_polled_with_a_new_waker_wakes_only_that_one, 0,
        2);
    suite_add_tcase(s, tc);

    tc = tcase_create("the tree");
    testkit_fixture(tc);
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(
        tc, test_token_a_parent_cancels_its_descendants_not_the_reverse, 0, 2);
    tcase_add_loop_test(
        tc, test_token_a_child_of_a_cancelled_parent_starts_cancelled, 0, 2);
    tcase_add_loop_test(
        tc, test_token_a_child_dropped_before_its_parent_unlinks_itself, 0, 2);
    tcase_add_loop_test(
        tc, test_token_a_parent_without_handles_still_passes_the_cancel_down, 0,
        2);
    tcase_add_loop_test(tc, test_token_a_deep_tree_cancels_without_recursion, 0,
                        2);
    suite_add_tcase(s, tc);

    tc = tcase_create("waiters and tasks");
    testkit_fixture(tc);
    tcase_add_loop_test(
        tc, test_token_a_dropped_waiting_future_leaves_and_is_not_woken, 0, 2);
    tcase_add_loop_test(
        tc, test_token_a_woken_waiter_may_call_into_the_tree_at_once, 0, 2);
    suite_add_tcase(s, tc);

    tc = tcase_create("tasks");
    testkit_executor_fixture(tc);
    tcase_add_loop_test(
        tc, test_token_tasks_waiting_on_children_finish_on_the_roots_cancel, 0,
        2);
    tcase_add_loop_test(tc, test_token_dropping_waiting_tasks_frees_the_tree, 0,
                        2);
    suite_add_tcase(s, tc);

    tc = tcase_create("allocation and misuse");
    testkit_fixture(tc);
    tcase_add_loop_test(
        tc, test_token_new_and_child_report_enomem_and_leak_nothing, 0, 2);
    tcase_add_test(tc, test_token_new_rejects_null);
    testkit_add_assert_test(tc, test_token_cancel_of_an_empty_token_aborts);
    suite_add_tcase(s, tc);

    tc = tcase_create("threads");
    testkit_fixture(tc);
    tcase_set_timeout(tc, 120);
    tcase_add_test(
        tc, test_token_sync_a_cancel_races_waiters_and_children_on_threads);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return testkit_run(token_suite());
}
