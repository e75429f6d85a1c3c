/*
 * check.c: the checks of exercise 03 (join two futures by hand, polling
 * again only the woken child). It links your join.c; run it with
 * ./run exercise 3. The children are spies: they record every poll and
 * keep the callback they were given, which the check calls to wake them.
 */
#include "exkit.h"
#include "join.h"

#define UNTOUCHED (-12345)

/* A spy child: PENDING until the check makes it ready. */
struct child {
    struct future base;
    const char *name; /* "A" or "B" */
    int n_polls;
    bool ready;    /* READY at its next poll */
    bool finished; /* it answered READY */
    int value;
    bool woken;        /* the check woke it since its last poll */
    struct wake_cb cb; /* the callback of its latest poll */
};

static const char *last_woken = "neither"; /* for messages */

static enum poll
child_poll(struct future *self, struct wake_cb wake, int *out)
{
    struct child *c = (struct child *)self;
    EXKIT_REQUIRE(!c->finished,
                  "your join polled child %s again after it had answered "
                  "READY: a finished child must never be polled again",
                  c->name);
    EXKIT_REQUIRE(c->n_polls == 0 || c->woken,
                  "your join polled child %s again although only %s was "
                  "woken: give each child a callback of its own that "
                  "records which child it is, and poll only those",
                  c->name, last_woken);
    EXKIT_REQUIRE(wake.fn != NULL,
                  "your join polled child %s with a callback whose function "
                  "is NULL",
                  c->name);
    c->n_polls++;
    c->woken = false;
    c->cb = wake;
    if (c->ready) {
        c->finished = true;
        *out = c->value;
        return READY;
    }
    return PENDING;
}

static void
child_init(struct child *c, const char *name, int value)
{
    c->base.poll = child_poll;
    c->name = name;
    c->n_polls = 0;
    c->ready = false;
    c->finished = false;
    c->value = value;
    c->woken = false;
    c->cb = (struct wake_cb){NULL, NULL};
}

/* Wakes child 'c' the way an event would: through its latest callback. */
static void
child_wake(struct child *c)
{
    EXKIT_REQUIRE(c->cb.fn != NULL,
                  "child %s was never polled, so it has no callback to wake",
                  c->name);
    c->woken = true;
    last_woken = c->name;
    c->cb.fn(c->cb.data);
}

/* The callbacks the check polls the join with: each counts its calls. */
static int n_parent_wakes[2];

static void
parent_woken(void *data)
{
    n_parent_wakes[*(int *)data]++;
}

static int parent_ids[2] = {0, 1};

static struct wake_cb
parent_cb(int which)
{
    return (struct wake_cb){parent_woken, &parent_ids[which]};
}

/* Sets up A and B (values 10 and 20) and a join of them, polled once. */
static enum poll
first_poll(struct join2 *j, struct child *a, struct child *b, int *out)
{
    n_parent_wakes[0] = n_parent_wakes[1] = 0;
    last_woken = "neither";
    join2_init(j, &a->base, &b->base);
    enum poll p = j->base.poll(&j->base, parent_cb(0), out);
    EXKIT_REQUIRE(a->n_polls == 1 && b->n_polls == 1,
                  "at the join's first poll child A was polled %d time%s and "
                  "child B %d time%s: the first poll polls each child once",
                  a->n_polls, a->n_polls == 1 ? "" : "s", b->n_polls,
                  b->n_polls == 1 ? "" : "s");
    return p;
}

/* The first poll polls both children; both pending, the join is too. */
static void
check_first_poll(void)
{
    struct child a, b;
    child_init(&a, "A", 10);
    child_init(&b, "B", 20);
    struct join2 j;
    int out[2] = {UNTOUCHED, UNTOUCHED};

    enum poll p = first_poll(&j, &a, &b, out);

    EXKIT_REQUIRE(p == PENDING,
                  "the join answered READY although both children are "
                  "PENDING");
    EXKIT_REQUIRE(out[0] == UNTOUCHED && out[1] == UNTOUCHED,
                  "the join answered PENDING but wrote to its output");
}

/* A child's wake reaches the join's own caller. */
static void
check_child_wake_reaches_parent(void)
{
    struct child a, b;
    child_init(&a, "A", 10);
    child_init(&b, "B", 20);
    struct join2 j;
    int out[2];
    first_poll(&j, &a, &b, out);

    child_wake(&a);

    EXKIT_REQUIRE(n_parent_wakes[0] == 1,
                  "waking child A called the callback the join was polled "
                  "with %d times instead of once: a child's wake must reach "
                  "whoever polls the join, or the join is never polled again",
                  n_parent_wakes[0]);
}

/* Only the woken child is polled again. */
static void
check_repoll_only_woken(void)
{
    struct child a, b;
    child_init(&a, "A", 10);
    child_init(&b, "B", 20);
    struct join2 j;
    int out[2];
    first_poll(&j, &a, &b, out);

    child_wake(&a);
    j.base.poll(&j.base, parent_cb(0), out);
    EXKIT_REQUIRE(a.n_polls == 2,
                  "child A was woken, but the join's next poll did not poll "
                  "it (A was polled %d times in all)",
                  a.n_polls);
    child_wake(&b);
    j.base.poll(&j.base, parent_cb(0), out);

    EXKIT_REQUIRE(b.n_polls == 2,
                  "child B was woken, but the join's next poll did not poll "
                  "it (B was polled %d times in all)",
                  b.n_polls);
    EXKIT_REQUIRE(a.n_polls == 2,
                  "your join polled child A again although only B was woken");
}

/* READY once both are, outputs in order, whoever finishes first. */
static void
check_outputs_in_order(void)
{
    struct child a, b;
    child_init(&a, "A", 10);
    child_init(&b, "B", 20);
    struct join2 j;
    int out[2] = {UNTOUCHED, UNTOUCHED};
    first_poll(&j, &a, &b, out);

    b.ready = true;
    child_wake(&b);
    enum poll p1 = j.base.poll(&j.base, parent_cb(0), out);
    a.ready = true;
    child_wake(&a);
    enum poll p2 = j.base.poll(&j.base, parent_cb(0), out);

    EXKIT_REQUIRE(p1 == PENDING,
                  "the join answered READY when only child B was done");
    EXKIT_REQUIRE(p2 == READY,
                  "both children answered READY but the join answered "
                  "PENDING");
    EXKIT_REQUIRE(out[0] == 10 && out[1] == 20,
                  "the join's output is {%d, %d} instead of {10, 20}: A's "
                  "output first, B's second, whichever finished first",
                  out[0], out[1]);
}

/* Two children ready at once: the join is READY at its first poll. */
static void
check_ready_at_once(void)
{
    struct child a, b;
    child_init(&a, "A", 1);
    child_init(&b, "B", 2);
    a.ready = b.ready = true;
    struct join2 j;
    int out[2] = {UNTOUCHED, UNTOUCHED};

    enum poll p = first_poll(&j, &a, &b, out);

    EXKIT_REQUIRE(p == READY,
                  "both children answered READY at the first poll, but the "
                  "join answered PENDING");
    EXKIT_REQUIRE(out[0] == 1 && out[1] == 2,
                  "the join's output is {%d, %d} instead of {1, 2}", out[0],
                  out[1]);
}

/* A finished child is not polled again while the other goes on. */
static void
check_finished_child_left_alone(void)
{
    struct child a, b;
    child_init(&a, "A", 5);
    child_init(&b, "B", 6);
    a.ready = true;
    struct join2 j;
    int out[2] = {UNTOUCHED, UNTOUCHED};
    enum poll p = first_poll(&j, &a, &b, out);
    EXKIT_REQUIRE(p == PENDING,
                  "the join answered READY although child B is PENDING");

    for (int i = 0; i < 3; i++) {
        child_wake(&b);
        j.base.poll(&j.base, parent_cb(0), out);
    }
    b.ready = true;
    child_wake(&b);
    p = j.base.poll(&j.base, parent_cb(0), out);

    EXKIT_REQUIRE(b.n_polls == 5,
                  "child B was woken 4 times but polled %d times instead of "
                  "5 (1 + one per wake)",
                  b.n_polls);
    EXKIT_REQUIRE(p == READY && out[0] == 5 && out[1] == 6,
                  "the join should end READY with {5, 6}; it answered %s "
                  "with {%d, %d}",
                  p == READY ? "READY" : "PENDING", out[0], out[1]);
}

/* A wake after a later poll calls that later poll's callback. */
static void
check_latest_callback(void)
{
    struct child a, b;
    child_init(&a, "A", 10);
    child_init(&b, "B", 20);
    struct join2 j;
    int out[2];
    first_poll(&j, &a, &b, out);
    child_wake(&a);
    EXKIT_REQUIRE(n_parent_wakes[0] == 1,
                  "waking child A did not call the join's callback once "
                  "(it was called %d times)",
                  n_parent_wakes[0]);

    j.base.poll(&j.base, parent_cb(1), out); /* polled by someone else now */
    child_wake(&b);

    EXKIT_REQUIRE(n_parent_wakes[1] == 1 && n_parent_wakes[0] == 1,
                  "the join was polled with a new callback, then child B "
                  "woke; the new callback was called %d times and the old "
                  "one %d more times: keep the callback of the latest poll "
                  "(the join may have moved to another driver)",
                  n_parent_wakes[1], n_parent_wakes[0] - 1);
}

static const struct exkit_check checks[] = {
    {"first-poll", "the first poll polls both children once", check_first_poll},
    {"child-wake-reaches-parent",
     "a child's wake calls the callback the join was polled with",
     check_child_wake_reaches_parent},
    {"repoll-only-woken", "the join polls again only the child that was woken",
     check_repoll_only_woken},
    {"outputs-in-order",
     "READY once both are done, with A's output first and B's second",
     check_outputs_in_order},
    {"ready-at-once", "two ready children: READY at the first poll",
     check_ready_at_once},
    {"finished-child-left-alone",
     "a finished child is never polled again; the other one goes on",
     check_finished_child_left_alone},
    {"latest-callback", "a child's wake calls the latest poll's callback",
     check_latest_callback},
};

int
main(int argc, char **argv)
{
    return exkit_main(argc, argv, "03_join",
                      "join two futures, polling again only the woken child",
                      checks, EXKIT_N(checks));
}
