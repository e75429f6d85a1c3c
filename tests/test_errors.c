/*
 * test_errors.c: the status convention (libuv's): cfut's codes with an
 * errno meaning are that negated errno, its own codes lie outside every
 * errno, each has a distinct name and text, system errors keep their
 * errno and are named and described, unknown values still get a clear
 * text, and the names and texts are the same from many threads.
 */
#define _GNU_SOURCE
#include "testkit.h"

#include <netdb.h>
#include <pthread.h>
#include <string.h>

#include "cfut_errors_int.h"

#define AS_ROW(name, value, text) {#name, (value), (text)},

static const struct row {
    const char *name;
    int value;
    const char *text;
} rows[] = {CFUT_STATUS_MAP(AS_ROW)};

#define N_ROWS ((int)(sizeof rows / sizeof rows[0]))

START_TEST(test_errors_every_status_has_a_distinct_name_and_text)
{
    ck_assert_int_eq(N_ROWS, CFUT_N_STATUS);

    for (int i = 0; i < N_ROWS; i++) {
        ck_assert_str_eq(cfut_status_name(rows[i].value), rows[i].name);
        ck_assert_str_eq(cfut_strerror(rows[i].value), rows[i].text);
        ck_assert_ptr_null(strstr(rows[i].text, "unknown"));
        for (int j = 0; j < i; j++) {
            ck_assert_int_ne(rows[i].value, rows[j].value);
            ck_assert_str_ne(rows[i].text, rows[j].text);
            ck_assert_str_ne(rows[i].name, rows[j].name);
        }
    }
}
END_TEST

START_TEST(test_errors_codes_with_an_errno_meaning_are_that_errno)
{
    ck_assert_int_eq(CFUT_ENOMEM, -ENOMEM);
    ck_assert_int_eq(CFUT_EINVAL, -EINVAL);
    ck_assert_int_eq(CFUT_ECANCELED, -ECANCELED);
    ck_assert_int_eq(CFUT_EBUSY, -EBUSY);
    ck_assert_int_eq(CFUT_ETIMEDOUT, -ETIMEDOUT);
    ck_assert_int_eq(CFUT_EPROTO, -EPROTO);
    ck_assert_int_eq(CFUT_ECONNRESET, -ECONNRESET);
    ck_assert_int_eq(CFUT_EDEADLK, -EDEADLK);
    ck_assert_int_eq(CFUT_EAGAIN, -EAGAIN);
    ck_assert_int_eq(CFUT_EIO, -EIO);
    ck_assert_int_eq(CFUT_EMSGSIZE, -EMSGSIZE);
    ck_assert(cfut_status_is_errno(CFUT_ECONNRESET));
}
END_TEST

START_TEST(test_errors_own_codes_lie_outside_every_errno)
{
    const int own[] = {CFUT_ECLOSED,   CFUT_EEOF,       CFUT_ENOTFOUND,
                       CFUT_EFULL,     CFUT_EADDR,      CFUT_ESTATE,
                       CFUT_EHOSTNAME, CFUT_EAI_NONAME, CFUT_EAI_AGAIN,
                       CFUT_EAI_FAIL,  CFUT_EAI_NODATA};

    for (size_t i = 0; i < sizeof own / sizeof own[0]; i++) {
        ck_assert_int_lt(own[i], CFUT_STATUS_OWN_BASE);
        ck_assert_int_ge(own[i], CFUT_STATUS_OWN_BASE - 99);
        ck_assert(!cfut_status_is_errno(own[i]));
        ck_assert_int_eq(strncmp(cfut_status_name(own[i]), "CFUT_E", 6), 0);
    }
    ck_assert(!cfut_status_is_errno(CFUT_OK));
}
END_TEST

START_TEST(test_errors_system_errors_are_named_and_described)
{
    ck_assert_str_eq(cfut_status_name(-EADDRINUSE), "EADDRINUSE");
    ck_assert_ptr_nonnull(strcasestr(cfut_strerror(-EADDRINUSE), "in use"));
    ck_assert_str_eq(cfut_status_name(-ECONNREFUSED), "ECONNREFUSED");
    ck_assert_ptr_nonnull(strcasestr(cfut_strerror(-ECONNREFUSED), "refused"));
    ck_assert_str_eq(cfut_status_name(-EPIPE), "EPIPE");
    ck_assert_str_eq(cfut_status_name(-EMFILE), "EMFILE");
    ck_assert_ptr_nonnull(strcasestr(cfut_strerror(-EMFILE), "open files"));
    /* A system error that is also a cfut code takes cfut's name. */
    ck_assert_str_eq(cfut_status_name(-ETIMEDOUT), "CFUT_ETIMEDOUT");
}
END_TEST

START_TEST(test_errors_unknown_values_get_a_clear_text)
{
    const int unknown[] = {
        1,      4000, -3999, CFUT_STATUS_OWN_BASE, CFUT_STATUS_OWN_BASE - 98,
        -100000};

    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        ck_assert_ptr_nonnull(strcasestr(cfut_strerror(unknown[i]), "unknown"));
        ck_assert_str_eq(cfut_status_name(unknown[i]), "UNKNOWN");
    }
}
END_TEST

START_TEST(test_errors_host_name_text_says_names_are_not_resolved)
{
    ck_assert_ptr_nonnull(
        strstr(cfut_strerror(CFUT_EHOSTNAME), "host names are not resolved"));
    ck_assert_ptr_nonnull(
        strstr(cfut_strerror(CFUT_EHOSTNAME), "cfut_resolve"));
}
END_TEST

START_TEST(test_errors_resolver_failures_map_to_their_own_statuses)
{
    ck_assert_int_eq(cfut__status_from_gai(0, 0), CFUT_OK);
    ck_assert_int_eq(cfut__status_from_gai(EAI_NONAME, 0), CFUT_EAI_NONAME);
    ck_assert_int_eq(cfut__status_from_gai(EAI_AGAIN, 0), CFUT_EAI_AGAIN);
    ck_assert_int_eq(cfut__status_from_gai(EAI_FAIL, 0), CFUT_EAI_FAIL);
    ck_assert_int_eq(cfut__status_from_gai(EAI_NODATA, 0), CFUT_EAI_NODATA);
    ck_assert_int_eq(cfut__status_from_gai(EAI_ADDRFAMILY, 0), CFUT_EAI_NODATA);
    ck_assert_int_eq(cfut__status_from_gai(EAI_MEMORY, 0), CFUT_ENOMEM);
    ck_assert_int_eq(cfut__status_from_gai(EAI_SYSTEM, EMFILE), -EMFILE);
    ck_assert_int_eq(cfut__status_from_gai(EAI_SYSTEM, 0), CFUT_EAI_FAIL);
    ck_assert_int_eq(cfut__status_from_gai(EAI_FAMILY, 0), CFUT_EINVAL);
    ck_assert_int_eq(cfut__status_from_gai(EAI_SERVICE, 0), CFUT_EINVAL);
    ck_assert_int_eq(cfut__status_from_gai(-12345, 0), CFUT_EAI_FAIL);
    ck_assert_str_eq(cfut_status_name(CFUT_EAI_NONAME), "CFUT_EAI_NONAME");
    ck_assert_ptr_nonnull(
        strstr(cfut_strerror(CFUT_EAI_NONAME), "no such host"));
    ck_assert_ptr_nonnull(strstr(cfut_strerror(CFUT_EAI_AGAIN), "try again"));
}
END_TEST

/* Many threads ask for names and texts at once (TSan watches). */
static void *
ask(void *arg)
{
    long bad = 0;
    for (int k = 0; k < 2000; k++) {
        int st = k % 2 ? -EADDRINUSE - (k % 7) : rows[k % N_ROWS].value;
        const char *t = cfut_strerror(st);
        const char *n = cfut_status_name(st);
        bad += t == NULL || n == NULL || t[0] == '\0' || n[0] == '\0';
    }
    *(long *)arg = bad;
    return NULL;
}

START_TEST(test_errors_texts_are_safe_from_many_threads)
{
    pthread_t th[4];
    long bad[4];

    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, ask, &bad[i]), 0);
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(pthread_join(th[i], NULL), 0);

    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(bad[i], 0);
    ck_assert_str_eq(cfut_status_name(-EADDRINUSE), "EADDRINUSE");
}
END_TEST

static Suite *
errors_suite(void)
{
    Suite *s = suite_create("errors");
    TCase *tc = tcase_create("table");
    testkit_fixture(tc);
    tcase_add_test(tc, test_errors_every_status_has_a_distinct_name_and_text);
    tcase_add_test(tc, test_errors_codes_with_an_errno_meaning_are_that_errno);
    tcase_add_test(tc, test_errors_own_codes_lie_outside_every_errno);
    tcase_add_test(tc, test_errors_system_errors_are_named_and_described);
    tcase_add_test(tc, test_errors_unknown_values_get_a_clear_text);
    tcase_add_test(tc, test_errors_host_name_text_says_names_are_not_resolved);
    tcase_add_test(tc, test_errors_resolver_failures_map_to_their_own_statuses);
    tcase_add_test(tc, test_errors_texts_are_safe_from_many_threads);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return testkit_run(errors_suite());
}
