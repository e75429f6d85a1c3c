/*
 * Lesson 02: a poll that takes a wake callback.
 *
 * What you will learn:
 *   - poll gets a "wake me" callback; a PENDING future keeps it and the
 *     thing it waits for calls it when progress is possible;
 *   - the loop that drives the future polls only after a wake, and sleeps
 *     otherwise: no wasted polls.
 * Builds on: lesson 01 (a future polled by hand, busy polling).
 * API introduced: none yet; this is the idea behind cfut's waker.
 * Run it: build/examples/02_wake_callback
 * Expected output: examples/expected/02_wake_callback.txt
 */
#include <stdbool.h>
#include <stdio.h>

enum poll { PENDING, READY };

/* A wake callback: a function and the data it needs (a "closure" in C). */
struct wake_cb {
    void (*fn)(void *data);
    void *data;
};

/*
 * The world: a clock and at most one alarm waiting on it. When the clock
 * reaches the deadline, the world calls the stored callback.
 */
static struct {
    int clock;
    int deadline;        /* -1: nobody is waiting */
    struct wake_cb wake; /* whom to call at the deadline */
} world = {0, -1, {NULL, NULL}};

/* Lets time pass until the next deadline and fires its callback. */
static void
world_sleep_until_next_event(void)
{
    printf("  (loop sleeps; the world advances the clock %d -> %d)\n",
           world.clock, world.deadline);
    world.clock = world.deadline;
    world.deadline = -1;
    world.wake.fn(world.wake.data); /* the event: call the wake callback */
}

struct alarm {
    int deadline;
    int n_polls;
};

/*
 * Poll now takes 'wake'. Contract: when it returns PENDING, it has arranged
 * for 'wake' to be called once progress is possible. Here that means
 * handing the callback to the world along with the deadline.
 */
static enum poll
alarm_poll(struct alarm *a, struct wake_cb wake, const char **out)
{
    a->n_polls++;
    if (world.clock >= a->deadline) {
        *out = "ring!";
        return READY;
    }
    world.deadline = a->deadline; /* register interest ... */
    world.wake = wake;            /* ... and who to tell */
    return PENDING;
}

/* The driver's side of the callback: remember that a poll is worthwhile. */
static void
set_flag(void *data)
{
    bool *woken = data;
    printf("  wake callback called at clock=%d\n", world.clock);
    *woken = true;
}

int
main(void)
{
    /* Step 1: make the future and the flag the callback will set. */
    struct alarm a = {.deadline = 3000, .n_polls = 0};
    bool woken = true; /* the first poll needs no wake */
    const char *result = NULL;

    /* Step 2: the driving loop: poll only after a wake, else sleep. */
    for (;;) {
        if (!woken) {
            world_sleep_until_next_event();
            continue;
        }
        woken = false;
        /* Step 3: poll, handing over the callback that sets our flag. */
        struct wake_cb cb = {set_flag, &woken};
        enum poll p = alarm_poll(&a, cb, &result);
        printf("clock=%d poll #%d -> %s\n", world.clock, a.n_polls,
               p == READY ? "READY" : "PENDING");
        if (p == READY)
            break;
    }

    /* Step 4: same result as lesson 01, with two polls instead of 3001. */
    printf("result: %s\n", result);
    printf("polls made: %d\n", a.n_polls);
    return 0;
}
