/*
 * test_and_then.c: chains (and_then, then, map, map_err) and lazy: order
 * of effects, the first future dropped before the next is built, a
 * 100,000-link chain, drop mid-way, build failures in the output,
 * allocation failure at every site, misuse.
 */
#include "testkit.h"

#include <string.h>

typedef CFUT_CHAIN_OUTPUT(uint64_t) chain_u64;

/* ---- helpers ---- */

static char log_buf[64];
static size_t log_len;

static void
log_put(char c)
{
    if (log_len + 1 < sizeof log_buf) {
        log_buf[log_len++] = c;
        log_buf[log_len] = '\0';
    }
}

static void
log_reset(void)
{
    log_len = 0;
    log_buf[0] = '\0';
}

/* lazy: logs the char 'ctx' points to and yields 1. */
static void
lazy_log(void *ctx, struct cfut_context *cx, void *out)
{
    (void)cx;
    log_put(*(const char *)ctx);
    *(uint64_t *)out = 1;
}

/* A countdown-like future that logs 'x' on drop. */
struct logged {
    struct cfut_future base;
    uint64_t v;
    char on_drop;
};

static enum cfut_poll
logged_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    (void)cx;
    *(uint64_t *)out = cfut_container_of(f, struct logged, base)->v;
    return CFUT_READY;
}

static void
logged_drop(struct cfut_future *f)
{
    log_put(cfut_container_of(f, struct logged, base)->on_drop);
}

static const struct cfut_future_vtable logged_vtable = {
    logged_poll, logged_drop, sizeof(uint64_t), "logged", NULL};

/* and_then: logs 'B', then builds a lazy future logging 'C'. */
static int
step_b(void *ctx, void *in, void *storage, struct cfut_future **next)
{
    (void)ctx;
    ck_assert_uint_eq(*(uint64_t *)in, 1);
    log_put('B');
    struct cfut_lazy *l = storage;
    ck_assert_int_eq(cfut_lazy_init(l, lazy_log, "C", sizeof(uint64_t)),
                     CFUT_OK);
    *next = &l->base;
    return CFUT_OK;
}

/* then: logs 'D', adds 10. */
static void
step_d(void *ctx, void *in, void *out)
{
    (void)ctx;
    log_put('D');
    *(uint64_t *)out = *(uint64_t *)in + 10;
}

/* and_then: builds ready(in + 1) in the chain's storage. */
static int
add_one(void *ctx, void *in, void *storage, struct cfut_future **next)
{
    (void)ctx;
    uint64_t v = *(uint64_t *)in + 1;
    struct cfut_ready *r = storage;
    int rc = cfut_ready_init(r, &v, sizeof v);
    *next = &r->base;
    return rc;
}

/* map: doubles. */
static void
twice(void *ctx, void *in, void *out)
{
    (void)ctx;
    *(uint64_t *)out = *(uint64_t *)in * 2;
}

static void
ready_first(struct cfut_ready *r, uint64_t v)
{
    ck_assert_int_eq(cfut_ready_init(r, &v, sizeof v), CFUT_OK);
}

/* ---- order ---- */

START_TEST(test_and_then_runs_effects_in_order)
{
    log_reset();
    struct cfut_lazy first;
    ck_assert_int_eq(cfut_lazy_init(&first, lazy_log, "A", sizeof(uint64_t)),
                     CFUT_OK);
    struct cfut_chain c;
    ck_assert_int_eq(cfut_chain_init(&c, &first.base), CFUT_OK);
    ck_assert_int_eq(cfut_and_then(&c, step_b, NULL, sizeof(struct cfut_lazy),
                                   sizeof(uint64_t)),
                     CFUT_OK);
    ck_assert_int_eq(cfut_then(&c, step_d, NULL, sizeof(uint64_t)), CFUT_OK);
    ck_assert_str_eq(log_buf, ""); /* nothing runs before the first poll */
    chain_u64 out;

    ck_assert_int_eq(testkit_poll(&c.base, cfut_waker_noop(), &out),
                     CFUT_READY);
    cfut_future_drop(&c.base);

    ck_assert_str_eq(log_buf, "ABCD");
    ck_assert_int_eq(out.status, CFUT_OK);
    ck_assert_uint_eq(out.value, 11);
}
END_TEST

/* and_then: a countdown that stays pending twice, then gives in + 5. */
static int
slow_add_five(void *ctx, void *in, void *storage, struct cfut_future **next)
{
    (void)ctx;
    struct testkit_countdown *c = storage;
    testkit_countdown_init(c, 2, true, *(uint64_t *)in + 5);
    *next = &c->base;
    return CFUT_OK;
}

/*
 * map steps before and after an and_then that suspends: the value moves
 * between the two buffers across the suspension (1 * 2 = 2, + 5 = 7,
 * * 2 = 14, * 2 = 28), and nothing is left allocated.
 */
START_TEST(test_and_then_maps_around_a_suspended_link_keep_the_value)
{
    struct cfut_ready first;
    ready_first(&first, 1);
    struct cfut_chain c;
    ck_assert_int_eq(cfut_chain_init(&c, &first.base), CFUT_OK);
    ck_assert_int_eq(cfut_map(&c, twice, NULL, sizeof(uint64_t)), CFUT_OK);
    ck_assert_int_eq(cfut_and_then(&c, slow_add_five, NULL,
                                   sizeof(struct testkit_countdown),
                                   sizeof(uint64_t)),
                     CFUT_OK);
    ck_assert_int_eq(cfut_map(&c, twice, NULL, sizeof(uint64_t)), CFUT_OK);
    ck_assert_int_eq(cfut_map(&c, twice, NULL, sizeof(uint64_t)), CFUT_OK);
    chain_u64 out;
    ck_assert_int_eq(testkit_poll(&c.base, cfut_waker_noop(), &out),
                     CFUT_PENDING);
    ck_assert_int_eq(testkit_poll(&c.base, cfut_waker_noop(), &out),
                     CFUT_PENDING);
    ck_assert_int_eq(testkit_poll(&c.base, cfut_waker_noop(), &out),
                     CFUT_READY);
    cfut_future_drop(&c.base);
    ck_assert_int_eq(out.status, CFUT_OK);
    ck_assert_uint_eq(out.value, 28);
    ck_assert_int_eq(testkit_alloc_live(), 0);
    ck_assert_int_eq(testkit_wakers_live(), 0);
}
END_TEST

/* and_then: the first future must already be dropped ('x' logged). */
static int
check_first_dropped(void *ctx, void *in, void *storage,
                    struct cfut_future **next)
{
    (void)ctx;
    ck_assert_str_eq(log_buf, "x");
    log_put('b');
    return add_one(NULL, in, storage, next);
}

START_TEST(test_and_then_drops_the_first_future_before_building_the_next)
{
    log_reset();
    struct logged first;
    cfut_future_init(&first.base, &logged_vtable);
    first.v = 4;
    first.on_drop = 'x';
    struct cfut_chain c;
    ck_assert_int_eq(cfut_chain_init(&c, &first.base), CFUT_OK);
    ck_assert_int_eq(cfut_and_then(&c, check_first_dropped, NULL,
                                   sizeof(struct cfut_ready), sizeof(uint64_t)),
                     CFUT_OK);
    chain_u64 out;

    ck_assert_int_eq(testkit_poll(&c.base, cfut_waker_noop(), &out),
                     CFUT_READY);
    cfut_future_drop(&c.base);

    ck_assert_str_eq(log_buf, "xb");
    ck_assert_uint_eq(out.value, 5);
}
END_TEST

START_TEST(test_and_then_chain_of_100000_links_completes)
{
    enum { D = 100000 };
    struct cfut_ready first;
    ready_first(&first, 0);
    struct cfut_chain c;
    ck_assert_int_eq(cfut_chain_init(&c, &first.base), CFUT_OK);
    for (int i = 0; i < D; i++)
        ck_assert_int_eq(cfut_and_then(&c, add_one, NULL,
                                       sizeof(struct cfut_ready),
                                       sizeof(uint64_t)),
                         CFUT_OK);
    ck_assert_int_eq(cfut_map(&c, twice, NULL, sizeof(uint64_t)), CFUT_OK);
    chain_u64 out;

    ck_assert_int_eq(testkit_poll(&c.base, cfut_waker_noop(), &out),
                     CFUT_READY);
    cfut_future_drop(&c.base);

    ck_assert_int_eq(out.status, CFUT_OK);
    ck_assert_uint_eq(out.value, 2u * D);
}
END_TEST

/* and_then: builds a countdown that keeps its waker, pending once. */
static int
pend_once(void *ctx, void *in, void *storage, struct cfut_future **next)
{
    struct testkit_countdown *cd = storage;
    testkit_countdown_init(cd, 1, false, *(uint64_t *)in + 1);
    cd->dropped = ctx;
    *next = &cd->base;
    return CFUT_OK;
}

/* and_then: like pend_once, but boxed. */
static int
pend_once_boxed(void *ctx, void *in, void *storage, struct cfut_future **next)
{
    struct testkit_countdown cd;
    struct cfut_future *tmp;
    (void)storage;
    ck_assert_int_eq(pend_once(ctx, in, &cd, &tmp), CFUT_OK);
    return cfut_future_box(&cd.base, sizeof cd, next);
}

START_TEST(test_and_then_drop_mid_way_frees_every_link)
{
    bool dropped[3] = {false, false, false};
    struct cfut_ready first;
    ready_first(&first, 0);
    struct cfut_chain c;
    ck_assert_int_eq(cfut_chain_init(&c, &first.base), CFUT_OK);
    ck_assert_int_eq(cfut_and_then(&c, pend_once, &dropped[0],
                                   sizeof(struct testkit_countdown),
                                   sizeof(uint64_t)),
                     CFUT_OK);
    ck_assert_int_eq(
        cfut_and_then(&c, pend_once_boxed, &dropped[1], 0, sizeof(uint64_t)),
        CFUT_OK);
    for (int i = 0; i < 6; i++) /* heap steps, never reached */
        ck_assert_int_eq(cfut_and_then(&c, pend_once, &dropped[2],
                                       sizeof(struct testkit_countdown),
                                       sizeof(uint64_t)),
                         CFUT_OK);
    struct testkit_waker tw;
    struct cfut_waker w = testkit_waker_init(&tw);
    chain_u64 out;
    ck_assert_int_eq(testkit_poll(&c.base, &w, &out), CFUT_PENDING);
    ck_assert(!dropped[0]);
    ck_assert_int_eq(testkit_poll(&c.base, &w, &out), CFUT_PENDING);
    ck_assert(dropped[0]);
    ck_assert(!dropped[1]);
    ck_assert_int_gt(testkit_alloc_live(), 1); /* heap steps + the box */

    cfut_future_drop(&c.base);

    ck_assert(dropped[1]);
    ck_assert(!dropped[2]);
    ck_assert_int_eq(testkit_alloc_live(), 0);
    ck_assert_int_eq(testkit_wakers_live(), 0);
}
END_TEST

/* ---- failures in the output ---- */

static int
fail_build(void *ctx, void *in, void *storage, struct cfut_future **next)
{
    (void)ctx;
    (void)in;
    (void)storage;
    (void)next;
    log_put('f');
    return CFUT_ENOMEM;
}

START_TEST(test_and_then_build_failure_travels_in_the_output)
{
    log_reset();
    struct cfut_ready first;
    ready_first(&first, 3);
    struct cfut_chain c;
    ck_assert_int_eq(cfut_chain_init(&c, &first.base), CFUT_OK);
    ck_assert_int_eq(cfut_and_then(&c, fail_build, NULL, 0, sizeof(uint64_t)),
                     CFUT_OK);
    ck_assert_int_eq(cfut_then(&c, step_d, NULL, sizeof(uint64_t)), CFUT_OK);
    chain_u64 out;
    out.value = 77;

    ck_assert_int_eq(testkit_poll(&c.base, cfut_waker_noop(), &out),
                     CFUT_READY);
    cfut_future_drop(&c.base);

    ck_assert_int_eq(out.status, CFUT_ENOMEM);
    ck_assert_uint_eq(out.value, 0);
    ck_assert_str_eq(log_buf, "f"); /* the then step was skipped */
}
END_TEST

struct st_val {
    int status;
    uint64_t v;
};

static void
to_timeout(void *ctx, void *inout)
{
    struct st_val *sv = inout;
    ++*(int *)ctx;
    sv->status = CFUT_ETIMEDOUT;
}

START_TEST(test_map_err_rewrites_only_negative_statuses)
{
    for (int bad = 0; bad < 2; bad++) {
        struct st_val first_v = {bad ? CFUT_ECLOSED : CFUT_OK, 8};
        struct cfut_ready first;
        ck_assert_int_eq(cfut_ready_init(&first, &first_v, sizeof first_v),
                         CFUT_OK);
        struct cfut_chain c;
        ck_assert_int_eq(cfut_chain_init(&c, &first.base), CFUT_OK);
        int calls = 0;
        ck_assert_int_eq(cfut_map_err(&c, to_timeout, &calls), CFUT_OK);
        CFUT_CHAIN_OUTPUT(struct st_val) out;

        ck_assert_int_eq(testkit_poll(&c.base, cfut_waker_noop(), &out),
                         CFUT_READY);
        cfut_future_drop(&c.base);

        ck_assert_int_eq(out.status, CFUT_OK);
        ck_assert_int_eq(out.value.status, bad ? CFUT_ETIMEDOUT : CFUT_OK);
        ck_assert_uint_eq(out.value.v, 8);
        ck_assert_int_eq(calls, bad);
    }
}
END_TEST

/* ---- pending, executor ---- */

static int
then_yield(void *ctx, void *in, void *storage, struct cfut_future **next)
{
    (void)in;
    (void)ctx;
    struct cfut_yield *y = storage;
    cfut_yield_now_init(y);
    *next = &y->base;
    return CFUT_OK;
}

static void
const_5(void *ctx, void *in, void *out)
{
    (void)ctx;
    (void)in;
    *(uint64_t *)out = 5;
}

START_TEST(test_and_then_chain_with_a_yield_runs_under_block_on)
{
    struct cfut_executor *ex;
    ck_assert_int_eq(cfut_executor_new(&ex), CFUT_OK);
    struct cfut_ready first;
    ready_first(&first, 1);
    struct cfut_chain c;
    ck_assert_int_eq(cfut_chain_init(&c, &first.base), CFUT_OK);
    ck_assert_int_eq(
        cfut_and_then(&c, then_yield, NULL, sizeof(struct cfut_yield), 0),
        CFUT_OK);
    ck_assert_int_eq(cfut_then(&c, const_5, NULL, sizeof(uint64_t)), CFUT_OK);
    ck_assert_int_eq(cfut_map(&c, twice, NULL, sizeof(uint64_t)), CFUT_OK);
    chain_u64 out;

    ck_assert_int_eq(cfut_block_on(ex, &c.base, &out), CFUT_OK);

    ck_assert_uint_eq(out.value, 10);
    cfut_executor_free(ex);
}
END_TEST

START_TEST(test_and_then_appending_after_the_first_poll_is_estate)
{
    struct testkit_countdown first;
    testkit_countdown_init(&first, 1, true, 1);
    struct cfut_chain c;
    ck_assert_int_eq(cfut_chain_init(&c, &first.base), CFUT_OK);
    chain_u64 out;
    ck_assert_int_eq(testkit_poll(&c.base, cfut_waker_noop(), &out),
                     CFUT_PENDING);

    ck_assert_int_eq(cfut_map(&c, twice, NULL, 8), CFUT_ESTATE);
    ck_assert_int_eq(cfut_and_then(&c, NULL, NULL, 0, 8), CFUT_EINVAL);
    ck_assert_int_eq(cfut_chain_init(&c, NULL), CFUT_EINVAL);

    ck_assert_int_eq(testkit_poll(&c.base, cfut_waker_noop(), &out),
                     CFUT_READY);
    cfut_future_drop(&c.base);
    ck_assert_uint_eq(out.value, 1);
}
END_TEST

/* ---- lazy ---- */

START_TEST(test_lazy_runs_at_its_first_poll_only)
{
    log_reset();
    struct cfut_lazy l, unused;
    ck_assert_int_eq(cfut_lazy_init(&l, lazy_log, "L", sizeof(uint64_t)),
                     CFUT_OK);
    ck_assert_int_eq(cfut_lazy_init(&unused, lazy_log, "U", 8), CFUT_OK);
    ck_assert_str_eq(log_buf, "");
    uint64_t v = 0;

    ck_assert_int_eq(testkit_poll(&l.base, cfut_waker_noop(), &v), CFUT_READY);
    cfut_future_drop(&l.base);
    cfut_future_drop(&unused.base);

    ck_assert_str_eq(log_buf, "L");
    ck_assert_uint_eq(v, 1);
    ck_assert_int_eq(cfut_lazy_init(NULL, lazy_log, NULL, 0), CFUT_EINVAL);
}
END_TEST

/* ---- allocation ---- */

typedef unsigned char bytes48[48];

/* and_then for big futures: builds a 'big' future in storage. */
struct big {
    struct cfut_future base;
    unsigned char pad[200];
    uint64_t v;
};

static enum cfut_poll
big_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    (void)cx;
    struct big *b = cfut_container_of(f, struct big, base);
    memset(out, 0, 48);
    memcpy(out, &b->v, sizeof b->v);
    return CFUT_READY;
}

static const struct cfut_future_vtable big_vtable = {big_poll, NULL, 48, "big",
                                                     NULL};

static int
build_big(void *ctx, void *in, void *storage, struct cfut_future **next)
{
    (void)ctx;
    struct big *b = storage;
    cfut_future_init(&b->base, &big_vtable);
    memcpy(&b->v, in, sizeof b->v);
    b->v++;
    *next = &b->base;
    return CFUT_OK;
}

START_TEST(test_and_then_reports_enomem_at_every_allocation)
{
    enum { N = 9 };
    for (long k = 1;; k++) {
        struct cfut_ready first;
        ready_first(&first, 0);
        struct cfut_chain c;
        ck_assert_int_eq(cfut_chain_init(&c, &first.base), CFUT_OK);
        testkit_alloc_fail_at(k);
        int rc = CFUT_OK;
        int appended = 0;
        for (int i = 0; i < N && rc == CFUT_OK; i++) {
            rc = cfut_and_then(&c, build_big, NULL, sizeof(struct big), 48);
            appended += rc == CFUT_OK;
        }
        bool injected = testkit_alloc_failed();
        testkit_alloc_fail_at(0);
        if (rc == CFUT_OK) {
            CFUT_CHAIN_OUTPUT(bytes48) out;
            ck_assert_int_eq(testkit_poll(&c.base, cfut_waker_noop(), &out),
                             CFUT_READY);
            cfut_future_drop(&c.base);
            uint64_t v;
            memcpy(&v, out.value, sizeof v);
            ck_assert_uint_eq(v, N);
            ck_assert_int_ge(k, 4); /* steps, storage, values, steps again */
            break;
        }
        ck_assert_int_eq(rc, CFUT_ENOMEM);
        ck_assert(injected);
        /* the chain is unchanged and still usable: run what was appended */
        CFUT_CHAIN_OUTPUT(bytes48) out;
        ck_assert_int_eq(testkit_poll(&c.base, cfut_waker_noop(), &out),
                         CFUT_READY);
        cfut_future_drop(&c.base);
        if (appended > 0) {
            uint64_t v;
            memcpy(&v, out.value, sizeof v);
            ck_assert_uint_eq(v, (uint64_t)appended);
        }
        ck_assert_int_eq(testkit_alloc_live(), 0);
    }
}
END_TEST

/* ---- misuse ---- */

static int
wrong_size(void *ctx, void *in, void *storage, struct cfut_future **next)
{
    return add_one(ctx, in, storage, next);
}

START_TEST(test_and_then_future_of_the_wrong_output_size_aborts)
{
    struct cfut_ready first;
    ready_first(&first, 0);
    struct cfut_chain c;
    ck_assert_int_eq(cfut_chain_init(&c, &first.base), CFUT_OK);
    ck_assert_int_eq(
        cfut_and_then(&c, wrong_size, NULL, sizeof(struct cfut_ready), 4),
        CFUT_OK);
    chain_u64 out;

    testkit_poll(&c.base, cfut_waker_noop(), &out);
}
END_TEST

static Suite *
and_then_suite(void)
{
    Suite *s = suite_create("and_then");
    TCase *tc = tcase_create("order");
    testkit_fixture(tc);
    tcase_add_test(tc, test_and_then_runs_effects_in_order);
    tcase_add_test(tc,
                   test_and_then_maps_around_a_suspended_link_keep_the_value);
    tcase_add_test(
        tc, test_and_then_drops_the_first_future_before_building_the_next);
    tcase_add_test(tc, test_and_then_chain_of_100000_links_completes);
    tcase_add_test(tc, test_and_then_chain_with_a_yield_runs_under_block_on);
    tcase_add_test(tc, test_lazy_runs_at_its_first_poll_only);
    suite_add_tcase(s, tc);

    tc = tcase_create("drop and errors");
    testkit_fixture(tc);
    tcase_add_test(tc, test_and_then_drop_mid_way_frees_every_link);
    tcase_add_test(tc, test_and_then_build_failure_travels_in_the_output);
    tcase_add_test(tc, test_map_err_rewrites_only_negative_statuses);
    tcase_add_test(tc, test_and_then_appending_after_the_first_poll_is_estate);
    tcase_add_test(tc, test_and_then_reports_enomem_at_every_allocation);
    suite_add_tcase(s, tc);

    tc = tcase_create("misuse");
    testkit_add_abort_test(
        tc, test_and_then_future_of_the_wrong_output_size_aborts);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return testkit_run(and_then_suite());
}
