/*
 * Lesson 04: and_then: one future after another.
 *
 * What you will learn:
 *   - a future that runs two steps is a state machine: an enum that says
 *     which step it is in, and a switch in poll that resumes there;
 *   - the second future is built from the first one's output, and the first
 *     is finished (dropped) before the second starts, so a union can hold
 *     either one.
 * Builds on: lesson 03 (a future that owns and polls children).
 * API introduced: none yet; lesson 09 writes this with async/await.
 * Run it: build/examples/04_and_then
 * Expected output: examples/expected/04_and_then.txt
 */
#include <stdbool.h>
#include <stdio.h>

enum poll { PENDING, READY };

struct wake_cb {
    void (*fn)(void *data);
    void *data;
};

/* The world of lesson 02: a clock and one waiter. */
static struct {
    int clock;
    int deadline;
    struct wake_cb wake;
} world = {0, -1, {NULL, NULL}};

static void
world_sleep_until_next_event(void)
{
    printf("  (sleep: clock %d -> %d)\n", world.clock, world.deadline);
    world.clock = world.deadline;
    world.deadline = -1;
    world.wake.fn(world.wake.data);
}

/* A leaf future: "the value 'value' arrives at time 'at'". */
struct delayed {
    int at, value;
};

static enum poll
delayed_poll(struct delayed *d, struct wake_cb wake, int *out)
{
    if (world.clock >= d->at) {
        *out = d->value;
        return READY;
    }
    world.deadline = d->at;
    world.wake = wake;
    return PENDING;
}

/*
 * and_then(lookup_user, fetch_score): first find the user id, then fetch
 * that user's score. The states:
 *   LOOKUP: waiting for the user id (the 'lookup' child);
 *   FETCH:  waiting for the score (the 'fetch' child, made from the id);
 *   DONE:   finished; polling again is a bug.
 */
enum and_then_state { LOOKUP, FETCH, DONE };

struct and_then {
    enum and_then_state state;
    union { /* only one child is alive at a time */
        struct delayed lookup;
        struct delayed fetch;
    } child;
};

static enum poll
and_then_poll(struct and_then *f, struct wake_cb wake, int *out)
{
    int v;
    switch (f->state) {
    case LOOKUP:
        if (delayed_poll(&f->child.lookup, wake, &v) == PENDING)
            return PENDING; /* resume here next time */
        /* Step: the first future is done; build the second from 'v'. */
        printf("  lookup done: user id %d; starting fetch\n", v);
        f->child.fetch = (struct delayed){world.clock + v, v * 10};
        f->state = FETCH;
        /* Poll the new child at once: it may be ready already. */
        /* fall through */
    case FETCH:
        if (delayed_poll(&f->child.fetch, wake, &v) == PENDING)
            return PENDING;
        printf("  fetch done: score %d\n", v);
        f->state = DONE;
        *out = v;
        return READY;
    case DONE:
    default:
        printf("bug: polled after READY\n");
        return PENDING;
    }
}

static void
set_flag(void *data)
{
    *(bool *)data = true;
}

int
main(void)
{
    /* Step 1: the chained future starts in LOOKUP (user 7 known at t=5). */
    struct and_then f = {LOOKUP, {.lookup = {5, 7}}};
    bool woken = true;
    int score;

    /* Step 2: drive it; print the state before each poll. */
    static const char *const names[] = {"LOOKUP", "FETCH", "DONE"};
    for (;;) {
        if (!woken) {
            world_sleep_until_next_event();
            continue;
        }
        woken = false;
        printf("poll in state %s at clock=%d\n", names[f.state], world.clock);
        if (and_then_poll(&f, (struct wake_cb){set_flag, &woken}, &score) ==
            READY)
            break;
    }

    /* Step 3: one output; the two waits ran one after the other (5 + 7). */
    printf("score=%d at clock=%d, state %s\n", score, world.clock,
           names[f.state]);
    return 0;
}
