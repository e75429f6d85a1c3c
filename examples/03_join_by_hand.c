/*
 * Lesson 03: joining two futures by hand.
 *
 * What you will learn:
 *   - a future can own other futures (its children) and poll them from its
 *     own poll: that is how futures compose;
 *   - join polls every child that is not finished yet, keeps each output as
 *     it arrives, and is READY when all are: the two waits overlap.
 * Builds on: lesson 02 (poll with a wake callback).
 * API introduced: none yet; cfut's join does this with a sub-waker per child.
 * Run it: build/examples/03_join_by_hand
 * Expected output: examples/expected/03_join_by_hand.txt
 */
#include <stdbool.h>
#include <stdio.h>

enum poll { PENDING, READY };

struct wake_cb {
    void (*fn)(void *data);
    void *data;
};

/* The world: a clock and up to four waiting alarms. */
#define MAX_WAITERS 4
static struct {
    int clock;
    int n;
    int deadline[MAX_WAITERS];
    struct wake_cb wake[MAX_WAITERS];
} world;

/* Advances the clock to the earliest deadline and fires every wake due. */
static void
world_sleep_until_next_event(void)
{
    int next = world.deadline[0];
    for (int i = 1; i < world.n; i++)
        if (world.deadline[i] < next)
            next = world.deadline[i];
    printf("  (sleep: clock %d -> %d)\n", world.clock, next);
    world.clock = next;
    for (int i = 0; i < world.n;) {
        if (world.deadline[i] <= world.clock) {
            struct wake_cb w = world.wake[i];
            world.deadline[i] = world.deadline[world.n - 1]; /* remove */
            world.wake[i] = world.wake[--world.n];
            w.fn(w.data);
        } else {
            i++;
        }
    }
}

/* The alarm of lesson 02, with a name so we can see who is polled. */
struct alarm {
    const char *name;
    int deadline;
    bool waiting; /* our wake is with the world already: no duplicate */
};

static enum poll
alarm_poll(struct alarm *a, struct wake_cb wake, int *out)
{
    printf("    poll alarm %s\n", a->name);
    if (world.clock >= a->deadline) {
        *out = a->deadline;
        return READY;
    }
    if (!a->waiting) { /* the callback is the same each time: keep one */
        world.deadline[world.n] = a->deadline;
        world.wake[world.n++] = wake;
        a->waiting = true;
    }
    return PENDING;
}

/* Join: two children embedded by value, and a slot for each output. */
struct join2 {
    struct alarm a, b;
    bool a_done, b_done;
    int a_out, b_out;
};

/*
 * Join's poll: poll each child that has not finished, passing our own wake
 * callback down (when a child can progress, we must be polled). READY only
 * when both are done.
 */
static enum poll
join2_poll(struct join2 *j, struct wake_cb wake, int out[2])
{
    if (!j->a_done && alarm_poll(&j->a, wake, &j->a_out) == READY)
        j->a_done = true;
    if (!j->b_done && alarm_poll(&j->b, wake, &j->b_out) == READY)
        j->b_done = true;
    if (!(j->a_done && j->b_done))
        return PENDING;
    out[0] = j->a_out;
    out[1] = j->b_out;
    return READY;
}

static void
set_flag(void *data)
{
    *(bool *)data = true;
}

int
main(void)
{
    /* Step 1: a join of two alarms; 'b' goes off first. */
    struct join2 j = {{"a", 20, false}, {"b", 10, false}, false, false, 0, 0};
    bool woken = true;
    int out[2];

    /* Step 2: drive the join exactly like a single future (lesson 02). */
    for (int poll_no = 1;;) {
        if (!woken) {
            world_sleep_until_next_event();
            continue;
        }
        woken = false;
        printf("poll join #%d at clock=%d\n", poll_no++, world.clock);
        if (join2_poll(&j, (struct wake_cb){set_flag, &woken}, out) == READY)
            break;
    }

    /* Step 3: both outputs; the total wait is the longest, not the sum. */
    printf("join ready: a=%d b=%d at clock=%d (not %d)\n", out[0], out[1],
           world.clock, out[0] + out[1]);
    printf("notice: poll #3 polled only 'a'; 'b' finished in poll #2\n");
    return 0;
}
