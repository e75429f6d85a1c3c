/*
 * test_idmap.c: the id-keyed hash table: insert, lookup, remove (with
 * backward shifts), duplicates, growth, drain, allocation failure.
 */
#include "testkit.h"

#include <string.h>

static struct cfut_id
id_of(uint32_t k)
{
    struct cfut_id id;
    memset(&id, 0, sizeof id);
    memcpy(id.bytes, &k, sizeof k);
    id.bytes[15] = (unsigned char)(k * 7u);
    return id;
}

START_TEST(test_idmap_inserted_values_are_found)
{
    struct cfut_idmap m;
    ck_assert_int_eq(cfut_idmap_init(&m, sizeof(uint64_t)), 0);

    for (uint32_t k = 0; k < 1000; k++) {
        uint64_t v = (uint64_t)k * 3u;
        struct cfut_id id = id_of(k);
        ck_assert_int_eq(cfut_idmap_insert(&m, &id, &v), 0);
    }

    ck_assert_uint_eq(cfut_idmap_size(&m), 1000);
    for (uint32_t k = 0; k < 1000; k++) {
        struct cfut_id id = id_of(k);
        uint64_t *v = cfut_idmap_get(&m, &id);
        ck_assert_ptr_nonnull(v);
        ck_assert_uint_eq(*v, (uint64_t)k * 3u);
    }
    struct cfut_id absent = id_of(5000);
    ck_assert_ptr_null(cfut_idmap_get(&m, &absent));
    cfut_idmap_deinit(&m);
}
END_TEST

START_TEST(test_idmap_duplicate_insert_is_ebusy)
{
    struct cfut_idmap m;
    ck_assert_int_eq(cfut_idmap_init(&m, sizeof(int)), 0);
    struct cfut_id id = id_of(7);
    int a = 1, b = 2;
    ck_assert_int_eq(cfut_idmap_insert(&m, &id, &a), 0);

    int rc = cfut_idmap_insert(&m, &id, &b);

    ck_assert_int_eq(rc, CFUT_EBUSY);
    ck_assert_int_eq(*(int *)cfut_idmap_get(&m, &id), 1);
    cfut_idmap_deinit(&m);
}
END_TEST

START_TEST(test_idmap_removes_keep_every_other_entry_reachable)
{
    struct cfut_idmap m;
    ck_assert_int_eq(cfut_idmap_init(&m, sizeof(uint32_t)), 0);
    for (uint32_t k = 0; k < 5000; k++) {
        struct cfut_id id = id_of(k);
        ck_assert_int_eq(cfut_idmap_insert(&m, &id, &k), 0);
    }

    for (uint32_t k = 0; k < 5000; k += 3) {
        struct cfut_id id = id_of(k);
        uint32_t v = 0;
        ck_assert(cfut_idmap_remove(&m, &id, &v));
        ck_assert_uint_eq(v, k);
        ck_assert(!cfut_idmap_remove(&m, &id, &v));
    }

    for (uint32_t k = 0; k < 5000; k++) {
        struct cfut_id id = id_of(k);
        uint32_t *v = cfut_idmap_get(&m, &id);
        if (k % 3 == 0) {
            ck_assert_ptr_null(v);
        } else {
            ck_assert_ptr_nonnull(v);
            ck_assert_uint_eq(*v, k);
        }
    }
    ck_assert_uint_eq(cfut_idmap_size(&m), 5000 - 1667);
    cfut_idmap_deinit(&m);
}
END_TEST

START_TEST(test_idmap_churn_keeps_size_and_memory_bounded)
{
    struct cfut_idmap m;
    ck_assert_int_eq(cfut_idmap_init(&m, sizeof(void *)), 0);
    size_t peak = 0;

    for (uint32_t k = 0; k < 100000; k++) {
        struct cfut_id id = id_of(k);
        void *p = &m;
        ck_assert_int_eq(cfut_idmap_insert(&m, &id, &p), 0);
        if (k >= 64) {
            struct cfut_id old = id_of(k - 64);
            ck_assert(cfut_idmap_remove(&m, &old, NULL));
        }
        if (cfut_idmap_memory(&m) > peak)
            peak = cfut_idmap_memory(&m);
    }

    ck_assert_uint_eq(cfut_idmap_size(&m), 64);
    ck_assert_uint_le(peak, 128 * 25);
    cfut_idmap_deinit(&m);
}
END_TEST

struct drain_ctx {
    struct cfut_idmap *m;
    int n;
    uint64_t sum;
};

static void
drain_visit(void *ctx, const struct cfut_id *id, void *value)
{
    struct drain_ctx *c = ctx;
    c->n++;
    c->sum += *(uint64_t *)value;
    /* The map is already empty: a remove from inside finds nothing. */
    ck_assert(!cfut_idmap_remove(c->m, id, NULL));
}

START_TEST(test_idmap_drain_visits_every_entry_and_empties_the_map)
{
    struct cfut_idmap m;
    ck_assert_int_eq(cfut_idmap_init(&m, sizeof(uint64_t)), 0);
    uint64_t want = 0;
    for (uint32_t k = 1; k <= 100; k++) {
        uint64_t v = k;
        want += v;
        struct cfut_id id = id_of(k);
        ck_assert_int_eq(cfut_idmap_insert(&m, &id, &v), 0);
    }
    struct drain_ctx c = {&m, 0, 0};

    cfut_idmap_drain(&m, drain_visit, &c);

    ck_assert_int_eq(c.n, 100);
    ck_assert_uint_eq(c.sum, want);
    ck_assert_uint_eq(cfut_idmap_size(&m), 0);
    ck_assert_uint_eq(cfut_idmap_memory(&m), 0);
    cfut_idmap_deinit(&m);
}
END_TEST

START_TEST(test_idmap_init_rejects_large_values)
{
    struct cfut_idmap m;

    ck_assert_int_eq(cfut_idmap_init(&m, CFUT_IDMAP_MAX_VALUE + 1),
                     CFUT_EINVAL);
}
END_TEST

START_TEST(test_idmap_insert_reports_enomem_at_every_allocation)
{
    for (long k = 1;; k++) {
        struct cfut_idmap m;
        ck_assert_int_eq(cfut_idmap_init(&m, sizeof(uint32_t)), 0);
        int rc = 0;
        uint32_t i;

        testkit_alloc_fail_at(k);
        for (i = 0; i < 100; i++) {
            struct cfut_id id = id_of(i);
            rc = cfut_idmap_insert(&m, &id, &i);
            if (rc != 0)
                break;
        }
        testkit_alloc_fail_at(0);

        if (rc == 0) {
            ck_assert(!testkit_alloc_failed());
            cfut_idmap_deinit(&m);
            break;
        }
        ck_assert_int_eq(rc, CFUT_ENOMEM);
        /* The failed insert left the map as it was. */
        ck_assert_uint_eq(cfut_idmap_size(&m), i);
        for (uint32_t j = 0; j < i; j++) {
            struct cfut_id id = id_of(j);
            ck_assert_ptr_nonnull(cfut_idmap_get(&m, &id));
        }
        cfut_idmap_deinit(&m);
        ck_assert_int_eq(testkit_alloc_live(), 0);
    }
}
END_TEST

START_TEST(test_idmap_random_operations_match_a_plain_array)
{
    enum { KEYS = 512 };
    static bool present[KEYS];
    static uint32_t value[KEYS];
    memset(present, 0, sizeof present);
    struct cfut_idmap m;
    ck_assert_int_eq(cfut_idmap_init(&m, sizeof(uint32_t)), 0);
    uint64_t x = 0x1234567887654321ull;
    size_t n = 0;

    for (int step = 0; step < 50000; step++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        /* Few distinct keys with clustered hashes: long probe runs. */
        uint32_t k = (uint32_t)(x % KEYS);
        struct cfut_id id = id_of(k * 64u);
        if ((x >> 40) & 1) {
            uint32_t v = (uint32_t)(x >> 20);
            int rc = cfut_idmap_insert(&m, &id, &v);
            ck_assert_int_eq(rc, present[k] ? CFUT_EBUSY : 0);
            if (!present[k]) {
                present[k] = true;
                value[k] = v;
                n++;
            }
        } else {
            uint32_t v = 0;
            bool had = cfut_idmap_remove(&m, &id, &v);
            ck_assert(had == present[k]);
            if (had) {
                ck_assert_uint_eq(v, value[k]);
                present[k] = false;
                n--;
            }
        }
    }

    ck_assert_uint_eq(cfut_idmap_size(&m), n);
    for (uint32_t k = 0; k < KEYS; k++) {
        struct cfut_id id = id_of(k * 64u);
        uint32_t *v = cfut_idmap_get(&m, &id);
        ck_assert(present[k] == (v != NULL));
        if (v != NULL)
            ck_assert_uint_eq(*v, value[k]);
    }
    cfut_idmap_deinit(&m);
}
END_TEST

static Suite *
idmap_suite(void)
{
    Suite *s = suite_create("idmap");
    TCase *tc = tcase_create("map");
    testkit_fixture(tc);
    tcase_add_test(tc, test_idmap_inserted_values_are_found);
    tcase_add_test(tc, test_idmap_duplicate_insert_is_ebusy);
    tcase_add_test(tc, test_idmap_removes_keep_every_other_entry_reachable);
    tcase_add_test(tc, test_idmap_churn_keeps_size_and_memory_bounded);
    tcase_add_test(tc, test_idmap_drain_visits_every_entry_and_empties_the_map);
    tcase_add_test(tc, test_idmap_init_rejects_large_values);
    tcase_add_test(tc, test_idmap_random_operations_match_a_plain_array);
    suite_add_tcase(s, tc);

    tc = tcase_create("allocation");
    testkit_fixture(tc);
    tcase_add_test(tc, test_idmap_insert_reports_enomem_at_every_allocation);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return testkit_run(idmap_suite());
}
