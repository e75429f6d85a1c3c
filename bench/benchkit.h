/*
 * benchkit.h: the benchmark harness shared by every bench program: runs a
 * workload in repetitions of at least 50 ms (at least 7 of them), takes the
 * median, min and max ns per op, and prints one JSON line per result, as
 * bench/README.md specifies. Header-only; timing lives here, never in
 * tests.
 *
 * --count is the instruction-count mode (see README.md): each workload is
 * called once to warm up, then once with k batches of 'unit_ops' (k the
 * smallest giving at least BENCHKIT_COUNT_OPS ops) and once with 2k, each
 * call bracketed by callgrind client requests (zero the counters, dump them
 * with a label naming the workload, impl and op count). bench/run_bench
 * runs the program under valgrind --tool=callgrind and takes
 * (I(2k) - I(k)) / ops(k): the instructions k more batches cost, with
 * start-up and per-call set-up cancelled out. Outside
 * valgrind the client requests do nothing. They are compiled in when
 * meson finds <valgrind/callgrind.h> (BENCHKIT_CALLGRIND=1).
 */
#ifndef CFUT_BENCHKIT_H
#define CFUT_BENCHKIT_H

#define _POSIX_C_SOURCE 200809L
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(BENCHKIT_CALLGRIND) && BENCHKIT_CALLGRIND
#include <valgrind/callgrind.h>
#define BENCHKIT_CG_ZERO() CALLGRIND_ZERO_STATS
#define BENCHKIT_CG_DUMP(label) CALLGRIND_DUMP_STATS_AT(label)
#define BENCHKIT_ON_VALGRIND() (RUNNING_ON_VALGRIND != 0)
#else
#define BENCHKIT_CG_ZERO() ((void)0)
#define BENCHKIT_CG_DUMP(label) ((void)(label))
#define BENCHKIT_ON_VALGRIND() 0
#endif

/* --count: the fewest ops one counted call performs. */
#ifndef BENCHKIT_COUNT_OPS
#define BENCHKIT_COUNT_OPS 10000u
#endif

/* One workload run: does 'ops' operations and returns a checksum. */
typedef uint64_t benchkit_fn(uint64_t ops);

struct benchkit {
    int reps;      /* repetitions (7, or 3 with --quick) */
    double min_ms; /* each repetition runs at least this long */
    const char *filter;
    const char *impl; /* --impl: only this impl (the syscall counts) */
    bool count_mode;  /* --count: one repetition of fixed ops (callgrind) */
};

static inline double
benchkit_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static inline void
benchkit_args(struct benchkit *b, int argc, char **argv)
{
    b->reps = 7;
    b->min_ms = 50;
    b->filter = NULL;
    b->impl = NULL;
    b->count_mode = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) {
            b->reps = 3;
            b->min_ms = 10;
        } else if (strcmp(argv[i], "--count") == 0) {
            b->count_mode = true;
        } else if (strcmp(argv[i], "--filter") == 0 && i + 1 < argc) {
            b->filter = argv[++i];
        } else if (strncmp(argv[i], "--filter=", 9) == 0) {
            b->filter = argv[i] + 9;
        } else if (strcmp(argv[i], "--impl") == 0 && i + 1 < argc) {
            b->impl = argv[++i];
        } else {
            fprintf(stderr,
                    "usage: %s [--quick] [--count] [--filter S] [--impl I]\n",
                    argv[0]);
            exit(2);
        }
    }
}

static int
benchkit_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Exits if 'sum' is not what 'expect' gives for 'ops'. */
static inline void
benchkit_check(const char *name, const char *impl, uint64_t sum, uint64_t ops,
               uint64_t (*expect)(uint64_t ops))
{
    if (expect != NULL && sum != expect(ops)) {
        fprintf(stderr, "%s/%s: wrong result %llu for %llu ops\n", name, impl,
                (unsigned long long)sum, (unsigned long long)ops);
        exit(1);
    }
}

/* The --count mode of benchkit_run (see the top comment). Prints
 * {"name", "impl", "ops", "count": [ops of the k-batch and 2k-batch calls]};
 * the instruction figures come from the callgrind dumps labelled
 * "benchkit NAME IMPL OPS". */
static inline void
benchkit_count(const char *name, const char *impl, benchkit_fn *fn,
               uint64_t unit_ops, uint64_t per_op,
               uint64_t (*expect)(uint64_t ops))
{
    static bool warned;
    char label[256];
    if (!BENCHKIT_ON_VALGRIND() && !warned) {
        fprintf(stderr, "benchkit: --count outside callgrind: no "
                        "instruction counts (use ./run bench --count)\n");
        warned = true;
    }
    uint64_t base = unit_ops * ((BENCHKIT_COUNT_OPS + unit_ops - 1) / unit_ops);
    benchkit_check(name, impl, fn(base), base, expect); /* warm up */
    for (uint64_t k = 1; k <= 2; k++) {
        uint64_t ops = k * base;
        snprintf(label, sizeof label, "benchkit %s %s %llu", name, impl,
                 (unsigned long long)(ops * per_op));
        BENCHKIT_CG_ZERO();
        uint64_t sum = fn(ops);
        BENCHKIT_CG_DUMP(label);
        benchkit_check(name, impl, sum, ops, expect);
    }
    printf("{\"name\": \"%s\", \"impl\": \"%s\", \"ops\": %llu, "
           "\"count\": [%llu, %llu]}\n",
           name, impl, (unsigned long long)(base * per_op),
           (unsigned long long)(base * per_op),
           (unsigned long long)(2 * base * per_op));
    fflush(stdout);
}

/*
 * Runs 'fn' as workload 'name' for 'impl'. 'unit_ops' is the batch size one
 * call performs (fn is called with multiples of it); 'per_op' divides the
 * time further (children per batch, links per chain). 'expect' gives the
 * checksum for a given op count (NULL: unchecked); a wrong one exits.
 */
static inline void
benchkit_run(const struct benchkit *b, const char *name, const char *impl,
             benchkit_fn *fn, uint64_t unit_ops, uint64_t per_op,
             uint64_t (*expect)(uint64_t ops))
{
    if (b->filter != NULL && strstr(name, b->filter) == NULL)
        return;
    if (b->impl != NULL && strcmp(impl, b->impl) != 0)
        return;
    if (b->count_mode) {
        benchkit_count(name, impl, fn, unit_ops, per_op, expect);
        return;
    }
    /* Warm up (pools, caches), then grow the op count until one call takes
     * at least min_ms. */
    benchkit_check(name, impl, fn(unit_ops), unit_ops, expect);
    uint64_t ops = unit_ops;
    for (;;) {
        double t = benchkit_now_ns();
        uint64_t sum = fn(ops);
        t = benchkit_now_ns() - t;
        benchkit_check(name, impl, sum, ops, expect);
        if (t >= b->min_ms * 1e6)
            break;
        ops *= t < b->min_ms * 1e5 ? 10 : 2;
    }
    double ns[64];
    int reps = b->reps < 64 ? b->reps : 64;
    for (int r = 0; r < reps; r++) {
        double t = benchkit_now_ns();
        uint64_t sum = fn(ops);
        t = benchkit_now_ns() - t;
        benchkit_check(name, impl, sum, ops, expect);
        ns[r] = t / (double)(ops * per_op);
    }
    qsort(ns, (size_t)reps, sizeof ns[0], benchkit_cmp);
    printf("{\"name\": \"%s\", \"impl\": \"%s\", \"ns_per_op\": %.3f, "
           "\"min\": %.3f, \"max\": %.3f, \"ops\": %llu}\n",
           name, impl, ns[reps / 2], ns[0], ns[reps - 1],
           (unsigned long long)(ops * per_op));
    fflush(stdout);
}

#endif /* CFUT_BENCHKIT_H */
