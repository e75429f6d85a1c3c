/*
 * Lesson 06: a waker is a vtable of clone / wake / wake_by_ref / drop.
 *
 * What you will learn:
 *   - a waker is {vtable, data}: a counted reference to "whatever polls the
 *     future again"; clone adds a reference, drop releases one, wake
 *     schedules a poll and consumes its reference, wake_by_ref keeps it;
 *   - a tiny block_on: poll, and if PENDING wait until the waker was woken;
 *   - counting references shows that every clone is released (no leak).
 * Builds on: lesson 05 (the contract, polled with a no-op waker).
 * API introduced: struct cfut_waker_vtable, cfut_waker_wake_by_ref,
 *   cfut_waker_will_wake.
 * Run it: build/examples/06_waker_vtable
 * Expected output: examples/expected/06_waker_vtable.txt
 */
#include <cfut.h>
#include <stdbool.h>
#include <stdio.h>

/* What our waker points at: a flag and a reference count. */
struct flag {
    int refs;   /* live references (clones not yet dropped or woken) */
    bool woken; /* set by wake: "poll again" */
};

/* The four slots. Each one says what it does to the reference count. */
static const struct cfut_waker_vtable flag_vtable;

static struct cfut_waker
flag_clone(void *data)
{
    struct flag *fl = data;
    fl->refs++; /* +1: the clone is a new reference */
    printf("    waker: clone (refs %d)\n", fl->refs);
    return (struct cfut_waker){&flag_vtable, fl};
}

static void
flag_wake(void *data)
{
    struct flag *fl = data;
    fl->woken = true;
    fl->refs--; /* wake consumes the reference it was called on */
    printf("    waker: wake (refs %d)\n", fl->refs);
}

static void
flag_wake_by_ref(void *data)
{
    struct flag *fl = data;
    fl->woken = true; /* the reference stays with the caller */
    printf("    waker: wake_by_ref (refs %d)\n", fl->refs);
}

static void
flag_drop(void *data)
{
    struct flag *fl = data;
    fl->refs--; /* -1: released without waking */
    printf("    waker: drop (refs %d)\n", fl->refs);
}

static const struct cfut_waker_vtable flag_vtable = {
    flag_clone, flag_wake, flag_wake_by_ref, flag_drop};

/* The event source: it keeps one waker and wakes it when it "fires". */
static struct cfut_waker event_waiter = {NULL, NULL};
static bool event_fired;

/* A future that first yields once, then waits for the event. */
struct waiter {
    struct cfut_future base;
    int step;
};

static enum cfut_poll
waiter_poll(struct cfut_future *self, struct cfut_context *cx, void *out)
{
    struct waiter *w = cfut_container_of(self, struct waiter, base);
    (void)out;
    if (w->step++ == 0) {
        /* A yield: "poll me again soon", keeping no reference. */
        cfut_waker_wake_by_ref(cx->waker);
        return CFUT_PENDING;
    }
    if (event_fired)
        return CFUT_READY;
    /* Keep the latest waker: register clones it only if it is new. */
    cfut_waker_register(&event_waiter, cx->waker);
    return CFUT_PENDING;
}

static const struct cfut_future_vtable waiter_vtable = {waiter_poll, NULL, 0,
                                                        "waiter", NULL};

int
main(void)
{
    /* Step 1: our flag; the waker we lend to each poll is one reference. */
    struct flag fl = {1, false};
    struct cfut_waker w = {&flag_vtable, &fl};
    struct cfut_context cx;
    cfut_context_init(&cx, &w);

    /* Step 2: a mini block_on: poll; on PENDING, wait for the flag. */
    struct waiter f;
    cfut_future_init(&f.base, &waiter_vtable);
    f.step = 0;
    for (int n = 1;; n++) {
        fl.woken = false;
        printf("poll %d\n", n);
        if (cfut_future_poll(&f.base, &cx, NULL) == CFUT_READY)
            break;
        if (!fl.woken) {
            /* Step 3: nothing to do until woken: let the event fire. */
            printf("  not woken: waiting for the event\n");
            printf("  same waker kept? %s\n",
                   cfut_waker_will_wake(&event_waiter, &w) ? "yes" : "no");
            event_fired = true;
            cfut_waker_wake(&event_waiter); /* consumes the clone */
        }
    }
    printf("ready\n");

    /* Step 4: drop the future; then release our own reference. */
    cfut_future_drop(&f.base);
    cfut_waker_drop(&w);
    printf("references left: %d\n", fl.refs);
    return 0;
}
