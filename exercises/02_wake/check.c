/*
 * check.c: the checks of exercise 02 (a future that hands over its wake
 * callback, and a loop that polls only after a wake). It provides the
 * world of wake.h and links your wake.c; run it with ./run exercise 2.
 */
#include "exkit.h"
#include "wake.h"

#define UNTOUCHED (-12345)

/* ---------------------------------------------------------------------- */
/* The world: a clock and up to 16 registered callbacks                    */
/* ---------------------------------------------------------------------- */

#define MAX_WAITERS 16

static struct {
    int clock;
    int n;
    int when[MAX_WAITERS];
    struct wake_cb cb[MAX_WAITERS];
    int n_registered; /* world_call_at() calls */
    int n_waits;      /* world_wait() calls */
} world;

static void
world_reset(int clock)
{
    world.clock = clock;
    world.n = 0;
    world.n_registered = 0;
    world.n_waits = 0;
}

int
world_now(void)
{
    return world.clock;
}

void
world_call_at(int when, struct wake_cb cb)
{
    EXKIT_REQUIRE(cb.fn != NULL,
                  "world_call_at() was given a callback whose function is "
                  "NULL: hand over the callback your poll received");
    EXKIT_REQUIRE(world.n < MAX_WAITERS,
                  "more than %d callbacks are registered at once: does a "
                  "poll register again and again without waiting?",
                  MAX_WAITERS);
    world.when[world.n] = when;
    world.cb[world.n++] = cb;
    world.n_registered++;
}

bool
world_wait(void)
{
    world.n_waits++;
    EXKIT_REQUIRE(world.n_waits < 1000,
                  "world_wait() was called 1000 times: does your loop wait "
                  "again after a wake instead of polling?");
    if (world.n == 0)
        return false;
    int next = world.when[0];
    for (int i = 1; i < world.n; i++)
        if (world.when[i] < next)
            next = world.when[i];
    if (next > world.clock)
        world.clock = next;
    for (int i = 0; i < world.n;) {
        if (world.when[i] <= world.clock) {
            struct wake_cb cb = world.cb[i];
            world.when[i] = world.when[world.n - 1]; /* remove, then call */
            world.cb[i] = world.cb[--world.n];
            cb.fn(cb.data);
        } else {
            i++;
        }
    }
    return true;
}

/* ---------------------------------------------------------------------- */
/* A spy future for the loop: it records how it is polled                  */
/* ---------------------------------------------------------------------- */

enum spy_wake {
    WOKEN_BY_WORLD,  /* each PENDING registers with the world, 10 later */
    WOKEN_BY_ITSELF, /* each PENDING calls its callback during the poll */
    WOKEN_BY_NOBODY  /* PENDING without arranging anything */
};

struct spy {
    struct future base;
    enum spy_wake how;
    int n_pending; /* PENDING answers before READY */
    int n_polls;
    bool woken;            /* its callback ran since its last poll */
    struct wake_cb latest; /* the callback of its latest poll */
};

/* The spy's own callback: notes the wake, then calls the loop's. */
static void
spy_woken(void *data)
{
    struct spy *s = data;
    s->woken = true;
    s->latest.fn(s->latest.data);
}

static enum poll
spy_poll(struct future *self, struct wake_cb wake, int *out)
{
    struct spy *s = (struct spy *)self;
    EXKIT_REQUIRE(s->n_polls == 0 || s->woken,
                  "your loop polled the future again although nobody had "
                  "called its wake callback (poll %d): poll only after a "
                  "wake, and call world_wait() otherwise",
                  s->n_polls + 1);
    EXKIT_REQUIRE(wake.fn != NULL,
                  "your loop polled with a wake callback whose function is "
                  "NULL");
    s->n_polls++;
    s->woken = false;
    s->latest = wake;
    if (s->n_polls > s->n_pending) {
        *out = 99;
        return READY;
    }
    if (s->how == WOKEN_BY_WORLD) {
        world_call_at(world_now() + 10, (struct wake_cb){spy_woken, s});
    } else if (s->how == WOKEN_BY_ITSELF) {
        spy_woken(s); /* "poll me again": a yield */
    }
    return PENDING;
}

static void
spy_init(struct spy *s, enum spy_wake how, int n_pending)
{
    s->base.poll = spy_poll;
    s->how = how;
    s->n_pending = n_pending;
    s->n_polls = 0;
    s->woken = false;
}

/* ---------------------------------------------------------------------- */
/* The alarm                                                               */
/* ---------------------------------------------------------------------- */

static void
note_woken(void *data)
{
    *(int *)data += 1;
}

/* An alarm whose deadline has passed is READY and registers nothing. */
static void
check_alarm_ready(void)
{
    world_reset(50);
    struct alarm a;
    alarm_init(&a, 40);
    int out = UNTOUCHED, n_woken = 0;

    enum poll p =
        a.base.poll(&a.base, (struct wake_cb){note_woken, &n_woken}, &out);

    EXKIT_REQUIRE(p == READY,
                  "an alarm for 40 polled at clock 50 answered PENDING: its "
                  "deadline has passed, so it is READY");
    EXKIT_REQUIRE(out == 50,
                  "the alarm was READY at clock 50 but wrote %d to *out "
                  "instead of the clock",
                  out);
    EXKIT_REQUIRE(world.n_registered == 0,
                  "the alarm answered READY but also registered its callback "
                  "with the world: only a PENDING answer arranges a wake");
}

/* A PENDING alarm hands the callback it was given to the world. */
static void
check_alarm_registers(void)
{
    world_reset(0);
    struct alarm a;
    alarm_init(&a, 30);
    int out = UNTOUCHED, n_woken = 0;

    enum poll p =
        a.base.poll(&a.base, (struct wake_cb){note_woken, &n_woken}, &out);

    EXKIT_REQUIRE(p == PENDING,
                  "an alarm for 30 polled at clock 0 answered READY");
    EXKIT_REQUIRE(out == UNTOUCHED,
                  "the alarm answered PENDING but wrote %d to *out", out);
    EXKIT_REQUIRE(world.n_registered == 1,
                  "the alarm answered PENDING and made %d world_call_at() "
                  "calls instead of 1: PENDING means \"I have arranged to be "
                  "woken\", so hand the callback to the world, once",
                  world.n_registered);
    EXKIT_REQUIRE(world.when[0] == 30,
                  "the alarm for 30 asked to be called at %d", world.when[0]);
    EXKIT_REQUIRE(world.cb[0].fn == note_woken && world.cb[0].data == &n_woken,
                  "the alarm registered a callback other than the one its "
                  "poll was given: the world must call the poller's callback");
}

/* After the world calls the callback, the alarm is READY. */
static void
check_alarm_after_wake(void)
{
    world_reset(0);
    struct alarm a;
    alarm_init(&a, 30);
    int out = UNTOUCHED, n_woken = 0;
    struct wake_cb cb = {note_woken, &n_woken};
    enum poll p = a.base.poll(&a.base, cb, &out);
    EXKIT_REQUIRE(p == PENDING && world.n_registered == 1,
                  "an alarm for 30 polled at clock 0 should answer PENDING "
                  "and register its callback once (it answered %s and "
                  "registered %d)",
                  p == READY ? "READY" : "PENDING", world.n_registered);

    world_wait();
    p = a.base.poll(&a.base, cb, &out);

    EXKIT_REQUIRE(n_woken == 1,
                  "the world called the alarm's callback %d times instead of "
                  "once",
                  n_woken);
    EXKIT_REQUIRE(p == READY,
                  "after the world moved the clock to 30 and called the "
                  "callback, the alarm answered PENDING again");
    EXKIT_REQUIRE(out == 30, "the alarm was READY at 30 but its output is %d",
                  out);
}

/* ---------------------------------------------------------------------- */
/* The loop                                                                */
/* ---------------------------------------------------------------------- */

/* Lesson 02's result: an alarm at 3000 takes 2 polls, not 3001. */
static void
check_drive_alarm(void)
{
    world_reset(0);
    struct alarm a;
    alarm_init(&a, 3000);
    int out = UNTOUCHED;

    int n = drive(&a.base, &out);

    EXKIT_REQUIRE(n == 2,
                  "drive() on an alarm for 3000 returned %d: it should poll "
                  "(PENDING), wait once, poll again (READY) and return 2",
                  n);
    EXKIT_REQUIRE(out == 3000, "drive() left %d in *out instead of 3000", out);
    EXKIT_REQUIRE(world.n_waits == 1,
                  "drive() called world_wait() %d times instead of once",
                  world.n_waits);
}

/* A future woken by the world three times is polled exactly four times. */
static void
check_drive_polls_after_wakes(void)
{
    world_reset(0);
    struct spy s;
    spy_init(&s, WOKEN_BY_WORLD, 3);
    int out = UNTOUCHED;

    int n = drive(&s.base, &out);

    EXKIT_REQUIRE(s.n_polls == 4,
                  "a future that is PENDING 3 times (each time woken later "
                  "by the world) was polled %d times instead of 4",
                  s.n_polls);
    EXKIT_REQUIRE(n == 4 && out == 99,
                  "drive() returned %d with output %d instead of 4 and 99", n,
                  out);
}

/* A wake during the poll itself (a yield): poll again, do not wait. */
static void
check_drive_self_wake(void)
{
    world_reset(0);
    struct spy s;
    spy_init(&s, WOKEN_BY_ITSELF, 2);
    int out = UNTOUCHED;

    int n = drive(&s.base, &out);

    EXKIT_REQUIRE(n == 3 && s.n_polls == 3,
                  "a future that calls its wake callback during its own poll "
                  "(twice, then READY) should be polled 3 times; drive() "
                  "returned %d after %d polls: the wake came before the poll "
                  "returned, so poll again at once",
                  n, s.n_polls);
    EXKIT_REQUIRE(world.n_waits == 0,
                  "drive() called world_wait() although the future had "
                  "already been woken: clear your flag before the poll, so "
                  "that a wake during the poll counts");
    EXKIT_REQUIRE(out == 99, "drive() left %d in *out instead of 99", out);
}

/* PENDING without arranging a wake: drive() reports it instead of hanging. */
static void
check_drive_stuck(void)
{
    world_reset(0);
    struct spy s;
    spy_init(&s, WOKEN_BY_NOBODY, 1);
    int out = UNTOUCHED;

    int n = drive(&s.base, &out);

    EXKIT_REQUIRE(s.n_polls == 1,
                  "a future that answers PENDING without arranging a wake "
                  "was polled %d times: poll once, then only after a wake",
                  s.n_polls);
    EXKIT_REQUIRE(n == DRIVE_STUCK,
                  "drive() returned %d for a future that can never be woken "
                  "(world_wait() returned false): it should return "
                  "DRIVE_STUCK",
                  n);
    EXKIT_REQUIRE(out == UNTOUCHED,
                  "drive() wrote %d to *out although the "
                  "future never became READY",
                  out);
}

static const struct exkit_check checks[] = {
    {"alarm-ready", "an alarm whose deadline has passed is READY",
     check_alarm_ready},
    {"alarm-registers",
     "a PENDING alarm hands its poll's callback to the world, once",
     check_alarm_registers},
    {"alarm-after-wake", "after the world's wake, the alarm is READY",
     check_alarm_after_wake},
    {"drive-alarm", "drive() takes 2 polls for an alarm at 3000, not 3001",
     check_drive_alarm},
    {"drive-polls-after-wakes",
     "drive() polls again only after a wake, and after each wake",
     check_drive_polls_after_wakes},
    {"drive-self-wake", "a wake during the poll itself leads to a new poll",
     check_drive_self_wake},
    {"drive-stuck", "drive() returns DRIVE_STUCK when no wake can come",
     check_drive_stuck},
};

int
main(int argc, char **argv)
{
    return exkit_main(argc, argv, "02_wake",
                      "a future that hands over its wake callback, and a "
                      "loop that polls only after a wake",
                      checks, EXKIT_N(checks));
}
