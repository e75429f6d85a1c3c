/*
 * Lesson 01: a future polled by hand.
 *
 * What you will learn:
 *   - a future is a value that may not be finished yet: you ask it "are you
 *     done?" by calling its poll function, which answers PENDING or READY;
 *   - polling in a loop works, but a busy loop burns the CPU asking a
 *     question whose answer has not changed (lesson 02 fixes that).
 * Builds on: nothing; no library yet, just the idea in plain C.
 * API introduced: none (we write our own 'poll').
 * Run it: build/examples/01_poll_by_hand
 * Expected output: examples/expected/01_poll_by_hand.txt
 */
#include <stdio.h>

/* The two answers a poll can give. */
enum poll { PENDING, READY };

/*
 * A pretend clock that the outside world advances. In a real program this
 * would be time passing, or bytes arriving on a socket.
 */
static int world_clock;

/* A future for "the clock has reached 'deadline'"; its output is a string. */
struct alarm {
    int deadline; /* when the alarm goes off */
    int n_polls;  /* how often we were asked (to show the waste) */
};

/*
 * The poll function: it never blocks and never waits. It looks at the world
 * once and answers. On READY it writes the output through 'out'.
 */
static enum poll
alarm_poll(struct alarm *a, const char **out)
{
    a->n_polls++;
    if (world_clock < a->deadline)
        return PENDING; /* not yet: the caller must ask again later */
    *out = "ring!";
    return READY;
}

int
main(void)
{
    /* Step 1: make the future. Nothing happens yet: a future is lazy. */
    struct alarm a = {.deadline = 3, .n_polls = 0};
    const char *result = NULL;

    /* Step 2: poll it in a loop until it says READY. */
    for (;;) {
        enum poll p = alarm_poll(&a, &result);
        printf("clock=%d poll #%d -> %s\n", world_clock, a.n_polls,
               p == READY ? "READY" : "PENDING");
        if (p == READY)
            break;
        /*
         * Step 3: the world moves on. Here we advance the clock only once
         * every 1000 spins, to model a real wait: most of our polls find
         * nothing new. We print only the polls where something changed.
         */
        for (int spin = 0; spin < 999; spin++)
            (void)alarm_poll(&a, &result); /* wasted: the clock is the same */
        world_clock++;
    }

    /* Step 4: the output, and the cost of getting it by busy polling. */
    printf("result: %s\n", result);
    printf("polls made: %d, polls that could succeed: 1\n", a.n_polls);
    printf("busy polling wasted %d polls\n", a.n_polls - 1);
    printf("lesson 02 adds a wake callback: poll only after a change\n");
    return 0;
}
