/*
 * test_sim.c: the deterministic simulation of the transport (tests/sim/):
 * many clients and one server over a seeded simulated network on the
 * paused clock. As a Check suite it runs a few seeds of each scenario,
 * checks that a seed replays the same run, and that the checks catch a
 * response handed to the wrong request. 'test_sim seeds FROM TO
 * [SCENARIO...]' is the long mode ('./run stress'): every scenario (or
 * those named) under seeds FROM..TO, each run checked for leaks too.
 *
 * Replaying one seed: CFUT_SIM_SEED=N [CFUT_SIM_SCENARIO=name]
 * [CFUT_SIM_VERBOSE=1] CK_FORK=no test_sim (a failure prints the line).
 * CFUT_SIM_SEEDS=N sets how many seeds the suite runs per scenario (12;
 * 3 under valgrind).
 */
#define _GNU_SOURCE
#include "testkit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sim/sim.h"

static unsigned
n_scenarios(void)
{
    unsigned n = 0;
    while (sim_scenarios[n] != NULL)
        n++;
    return n;
}

static bool
env_flag(const char *name)
{
    const char *v = getenv(name);
    return v != NULL && *v != '\0' && strcmp(v, "0") != 0;
}

/* Runs one seed and checks that it left nothing allocated. */
static void
run_checked(const struct sim_scenario *sc, uint64_t seed, bool verbose,
            struct sim_result *res)
{
    long before = testkit_alloc_live();
    sim_run(sc, seed, verbose, res);
    long after = testkit_alloc_live();
    if (after != before)
        sim_fail("%ld blocks leaked", after - before);
}

/* A few seeds of scenario '_i' (or the one CFUT_SIM_SEED names). */
START_TEST(test_sim_scenario_seeds)
{
    testkit_alloc_sweep_off(); /* the sim's own setup does not unwind */
    const struct sim_scenario *sc = sim_scenarios[_i];
    const char *only = getenv("CFUT_SIM_SCENARIO");
    if (only != NULL && strcmp(only, sim_scenario_name(sc)) != 0)
        return;
    const char *one = getenv("CFUT_SIM_SEED");
    bool verbose = env_flag("CFUT_SIM_VERBOSE");
    if (one != NULL) {
        run_checked(sc, strtoull(one, NULL, 0), verbose, NULL);
        return;
    }
    /* Fewer under valgrind (its preload is in LD_PRELOAD): it is 50x
     * slower, and ./run test runs this suite in the ASan build too. */
    const char *pre = getenv("LD_PRELOAD");
    bool valgrind = pre != NULL && strstr(pre, "vgpreload") != NULL;
    const char *ns = getenv("CFUT_SIM_SEEDS");
    uint64_t n = ns != NULL ? strtoull(ns, NULL, 0) : valgrind ? 3 : 12;
    struct sim_result total;
    memset(&total, 0, sizeof total);
    for (uint64_t seed = 1; seed <= n; seed++) {
        struct sim_result r;
        run_checked(sc, seed, verbose, &r);
        total.n_requests += r.n_requests;
        total.n_ok += r.n_ok;
        total.n_timeouts += r.n_timeouts;
        total.n_conn_errors += r.n_conn_errors;
        total.n_faults += r.n_faults;
        total.n_full += r.n_full;
        total.n_stalls += r.n_stalls;
        total.n_restarts += r.n_restarts;
        total.n_aborts += r.n_aborts;
    }
    /* Each scenario does what it is there for, over its seeds. */
    ck_assert_uint_gt(total.n_requests, 0);
    ck_assert_uint_gt(total.n_ok, 0);
    if (strcmp(sim_scenario_name(sc), "timeouts") == 0)
        ck_assert_uint_gt(total.n_timeouts, 0);
    if (strcmp(sim_scenario_name(sc), "backpressure") == 0) {
        ck_assert_uint_gt(total.n_full, 0);
        ck_assert_uint_gt(total.n_stalls, 0);
    }
    if (strcmp(sim_scenario_name(sc), "restarts") == 0) {
        ck_assert_uint_gt(total.n_restarts, 0);
        ck_assert_uint_gt(total.n_aborts, 0);
        ck_assert_uint_gt(total.n_conn_errors, 0);
    }
    if (strcmp(sim_scenario_name(sc), "disconnects") == 0) {
        ck_assert_uint_gt(total.n_faults, 0);
        ck_assert_uint_gt(total.n_conn_errors, 0);
    }
}
END_TEST

/* The same seed makes the same run: same events at the same times, and
 * the same polls (no real time in the executor's decisions). */
START_TEST(test_sim_same_seed_same_run)
{
    testkit_alloc_sweep_off();
    const struct sim_scenario *sc = sim_scenarios[_i];
    struct sim_result a, b, c;
    run_checked(sc, 7, false, &a);
    run_checked(sc, 7, false, &b);
    run_checked(sc, 8, false, &c);
    ck_assert_uint_eq(a.trace_hash, b.trace_hash);
    ck_assert_uint_eq(a.n_polls, b.n_polls);
    ck_assert_uint_eq(a.n_requests, b.n_requests);
    ck_assert_uint_eq(a.n_ok, b.n_ok);
    ck_assert_uint_eq(a.n_timeouts, b.n_timeouts);
    ck_assert_uint_eq(a.n_segments, b.n_segments);
    ck_assert_uint_ne(a.trace_hash, c.trace_hash);
}
END_TEST

/* The checks fail on a response handed to another request. */
static void
run_with_swapped_replies(void *arg)
{
    (void)arg;
    testkit_alloc_install();
    setenv("CFUT_SIM_SWAP_REPLIES", "1", 1);
    for (uint64_t seed = 1; seed <= 20; seed++)
        sim_run(sim_scenario_find("happy"), seed, false, NULL);
}

START_TEST(test_sim_detects_a_misdelivered_response)
{
    testkit_alloc_sweep_off();
    static char msg[1 << 17];
    ck_assert(testkit_aborts(run_with_swapped_replies, NULL, msg, sizeof msg));
    ck_assert_ptr_nonnull(strstr(msg, "not its own"));
    ck_assert_ptr_nonnull(strstr(msg, "replay with: CFUT_SIM_SEED="));
}
END_TEST

static Suite *
sim_suite(void)
{
    Suite *s = suite_create("sim");
    TCase *tc = tcase_create("scenarios");
    testkit_fixture(tc);
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_sim_scenario_seeds, 0, (int)n_scenarios());
    tcase_add_loop_test(tc, test_sim_same_seed_same_run, 0, (int)n_scenarios());
    tcase_add_test(tc, test_sim_detects_a_misdelivered_response);
    suite_add_tcase(s, tc);
    return s;
}

/* ---- the long mode ---- */

static int
seeds(uint64_t from, uint64_t to, int argc, char **argv)
{
    bool verbose = env_flag("CFUT_SIM_VERBOSE");
    for (int k = 0; k < argc; k++)
        if (sim_scenario_find(argv[k]) == NULL) {
            fprintf(stderr, "test_sim: no scenario '%s' (test_sim list)\n",
                    argv[k]);
            return 2;
        }
    for (unsigned i = 0; sim_scenarios[i] != NULL; i++) {
        const struct sim_scenario *sc = sim_scenarios[i];
        bool wanted = argc == 0;
        for (int k = 0; k < argc; k++)
            wanted |= strcmp(argv[k], sim_scenario_name(sc)) == 0;
        if (!wanted)
            continue;
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        struct sim_result tot;
        memset(&tot, 0, sizeof tot);
        for (uint64_t seed = from; seed <= to; seed++) {
            testkit_alloc_install();
            struct sim_result r;
            run_checked(sc, seed, verbose, &r);
            testkit_alloc_uninstall();
            tot.n_requests += r.n_requests;
            tot.n_ok += r.n_ok;
            tot.n_remote_errors += r.n_remote_errors;
            tot.n_timeouts += r.n_timeouts;
            tot.n_cancelled += r.n_cancelled;
            tot.n_conn_errors += r.n_conn_errors;
            tot.n_late += r.n_late;
            tot.n_connections += r.n_connections;
            tot.n_faults += r.n_faults;
            tot.n_segments += r.n_segments;
            tot.n_restarts += r.n_restarts;
            tot.n_aborts += r.n_aborts;
            tot.n_full += r.n_full;
        }
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double secs = (double)(t1.tv_sec - t0.tv_sec) +
                      (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
        printf("test_sim seeds %llu..%llu %-12s passed in %7.1f s: "
               "%llu requests (%llu ok, %llu error replies, %llu timeouts, "
               "%llu cancelled, %llu lost with their connection), %llu late "
               "responses dropped, %llu connections, %llu faults, %llu "
               "restarts, %llu transports freed in flight, %llu segments, "
               "%llu writes that found a full buffer\n",
               (unsigned long long)from, (unsigned long long)to,
               sim_scenario_name(sc), secs, (unsigned long long)tot.n_requests,
               (unsigned long long)tot.n_ok,
               (unsigned long long)tot.n_remote_errors,
               (unsigned long long)tot.n_timeouts,
               (unsigned long long)tot.n_cancelled,
               (unsigned long long)tot.n_conn_errors,
               (unsigned long long)tot.n_late,
               (unsigned long long)tot.n_connections,
               (unsigned long long)tot.n_faults,
               (unsigned long long)tot.n_restarts,
               (unsigned long long)tot.n_aborts,
               (unsigned long long)tot.n_segments,
               (unsigned long long)tot.n_full);
        fflush(stdout);
    }
    return 0;
}

int
main(int argc, char **argv)
{
    sim_argv0 = argv[0];
    if (argc >= 4 && strcmp(argv[1], "seeds") == 0)
        return seeds(strtoull(argv[2], NULL, 0), strtoull(argv[3], NULL, 0),
                     argc - 4, argv + 4);
    if (argc == 2 && strcmp(argv[1], "list") == 0) {
        for (unsigned i = 0; sim_scenarios[i] != NULL; i++)
            printf("%s\n", sim_scenario_name(sim_scenarios[i]));
        return 0;
    }
    return testkit_run(sim_suite());
}
