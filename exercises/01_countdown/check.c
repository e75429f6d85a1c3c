/*
 * check.c: the checks of exercise 01 (a countdown polled by hand). It
 * links your countdown.c; run it with ./run exercise 1. Each check says
 * what it verifies and, when it fails, what your code did instead.
 */
#include "countdown.h"
#include "exkit.h"

/* The output is written only on READY: a value no poll would write. */
#define UNTOUCHED (-12345)

static const char *
name(enum poll p)
{
    return p == READY ? "READY" : p == PENDING ? "PENDING" : "neither";
}

/* A countdown from 0 has nothing to count: READY at once, output 1. */
static void
check_zero_is_ready(void)
{
    struct countdown c;
    countdown_init(&c, 0);
    int out = UNTOUCHED;

    enum poll p = countdown_poll(&c, &out);

    EXKIT_REQUIRE(p == READY,
                  "countdown_poll() of a countdown from 0 answered %s: with "
                  "no PENDING answers to give, the first poll is READY",
                  name(p));
    EXKIT_REQUIRE(out == 1,
                  "the countdown was READY at its first poll but wrote %d to "
                  "*out: it took 1 poll, so the output is 1",
                  out);
}

/* countdown(3): PENDING, PENDING, PENDING, then READY with 4. */
static void
check_pending_n_times(void)
{
    struct countdown c;
    countdown_init(&c, 3);
    int out = UNTOUCHED;

    for (int i = 1; i <= 3; i++) {
        enum poll p = countdown_poll(&c, &out);
        EXKIT_REQUIRE(p == PENDING,
                      "poll %d of a countdown from 3 answered %s: it should "
                      "answer PENDING 3 times, then READY",
                      i, name(p));
        EXKIT_REQUIRE(out == UNTOUCHED,
                      "poll %d answered PENDING but wrote %d to *out: a "
                      "future writes its output only when it is READY",
                      i, out);
    }
    enum poll p = countdown_poll(&c, &out);

    EXKIT_REQUIRE(p == READY,
                  "poll 4 of a countdown from 3 answered %s: after 3 PENDING "
                  "answers it is READY",
                  name(p));
    EXKIT_REQUIRE(out == 4, "the countdown took 4 polls but its output is %d",
                  out);
    EXKIT_REQUIRE(c.n_polls == 4,
                  "the countdown was polled 4 times but its n_polls says %d",
                  c.n_polls);
}

/* Two countdowns keep their own state: no global variables. */
static void
check_independent(void)
{
    struct countdown a, b;
    countdown_init(&a, 2);
    countdown_init(&b, 1);
    int out_a = UNTOUCHED, out_b = UNTOUCHED;

    enum poll a1 = countdown_poll(&a, &out_a);
    enum poll b1 = countdown_poll(&b, &out_b);
    enum poll a2 = countdown_poll(&a, &out_a);
    enum poll b2 = countdown_poll(&b, &out_b);
    enum poll a3 = countdown_poll(&a, &out_a);

    EXKIT_REQUIRE(a1 == PENDING && a2 == PENDING && a3 == READY,
                  "polled in turns with another countdown, a countdown from "
                  "2 answered %s, %s, %s instead of PENDING, PENDING, READY "
                  "(each countdown keeps its state in its own struct, never "
                  "in a global variable)",
                  name(a1), name(a2), name(a3));
    EXKIT_REQUIRE(b1 == PENDING && b2 == READY,
                  "polled in turns with another countdown, a countdown from "
                  "1 answered %s, %s instead of PENDING, READY",
                  name(b1), name(b2));
    EXKIT_REQUIRE(out_a == 3 && out_b == 2,
                  "the outputs were %d and %d instead of 3 and 2 (each counts "
                  "its own polls)",
                  out_a, out_b);
}

/* countdown_run() polls until READY: 5 polls for a countdown from 4. */
static void
check_run(void)
{
    struct countdown c;
    countdown_init(&c, 4);
    int out = UNTOUCHED;

    int n = countdown_run(&c, &out);

    EXKIT_REQUIRE(n == 5,
                  "countdown_run() on a countdown from 4 returned %d: it "
                  "should poll until READY, which takes 5 polls, and return "
                  "that number",
                  n);
    EXKIT_REQUIRE(out == 5, "countdown_run() left %d in *out instead of 5",
                  out);
    EXKIT_REQUIRE(c.n_polls == 5,
                  "countdown_run() returned 5 but the countdown was polled %d "
                  "times",
                  c.n_polls);
}

/* countdown_run() stops at READY: a READY future is never polled again. */
static void
check_run_stops_at_ready(void)
{
    struct countdown c;
    countdown_init(&c, 0);
    int out = UNTOUCHED;

    int n = countdown_run(&c, &out);

    EXKIT_REQUIRE(c.n_polls > 0,
                  "countdown_run() returned without polling the countdown");
    EXKIT_REQUIRE(c.n_polls == 1,
                  "countdown_run() on a countdown from 0 polled it %d times: "
                  "it is READY at the first poll, and a future that said "
                  "READY must never be polled again",
                  c.n_polls);
    EXKIT_REQUIRE(n == 1 && out == 1,
                  "countdown_run() returned %d with output %d instead of 1 "
                  "and 1",
                  n, out);
}

static const struct exkit_check checks[] = {
    {"zero-is-ready", "a countdown from 0 is READY at its first poll",
     check_zero_is_ready},
    {"pending-n-times",
     "a countdown from 3 is PENDING 3 times, then READY with 4",
     check_pending_n_times},
    {"independent", "two countdowns polled in turns keep their own state",
     check_independent},
    {"run", "countdown_run() polls until READY and returns the polls made",
     check_run},
    {"run-stops-at-ready", "countdown_run() never polls after READY",
     check_run_stops_at_ready},
};

int
main(int argc, char **argv)
{
    return exkit_main(argc, argv, "01_countdown",
                      "a countdown future polled by hand", checks,
                      EXKIT_N(checks));
}
