/*
 * Lesson 05: the real contract: a pinned self and a context with a waker.
 *
 * What you will learn:
 *   - a cfut future is a struct whose first member is 'struct cfut_future'
 *     (a vtable pointer: poll, drop, output size, name); poll receives that
 *     base (the pinned self), a context carrying the waker, and 'out';
 *   - a PENDING future keeps the waker (cfut_waker_register) and wakes it
 *     when it can progress; drop releases what it holds, even when pending;
 *   - a future may be moved until its first poll, never after: keep it where
 *     it is, or move it once into a box (cfut_future_box, like Box::pin).
 * Builds on: lesson 02 (the wake callback) and lesson 04 (state machines).
 * API introduced: struct cfut_future, struct cfut_future_vtable, enum
 *   cfut_poll (CFUT_PENDING, CFUT_READY), cfut_future_init/poll/drop,
 *   cfut_container_of, struct cfut_context, cfut_context_init, struct
 *   cfut_waker, CFUT_WAKER_EMPTY, cfut_waker_noop, cfut_waker_register,
 *   cfut_waker_wake, cfut_waker_drop, cfut_future_box, CFUT_OK.
 * Run it: build/examples/05_the_contract
 * Expected output: examples/expected/05_the_contract.txt
 */
#include <cfut.h>
#include <stdio.h>

/* What our future waits for: a one-slot mailbox filled from outside. */
struct mailbox {
    int has_letter;
    int letter;
    struct cfut_waker waiter; /* the waker of whoever waits: empty or one */
};

/* The future "receive a letter": it borrows the mailbox. */
struct receive {
    struct cfut_future base; /* must come first: its address is ours */
    struct mailbox *box;
};

/* poll(self, cx, out): the same two outcomes as in lesson 02. */
static enum cfut_poll
receive_poll(struct cfut_future *self, struct cfut_context *cx, void *out)
{
    /* Step: recover our struct from the base the caller hands us. */
    struct receive *r = cfut_container_of(self, struct receive, base);
    if (r->box->has_letter) {
        *(int *)out = r->box->letter; /* READY: write the output */
        return CFUT_READY;
    }
    /* Step: PENDING: keep (a clone of) the waker from this poll. */
    cfut_waker_register(&r->box->waiter, cx->waker);
    printf("  receive: no letter yet, waker kept\n");
    return CFUT_PENDING;
}

/* drop: release what we hold; a pending receive holds the waker. */
static void
receive_drop(struct cfut_future *self)
{
    struct receive *r = cfut_container_of(self, struct receive, base);
    printf("  receive: dropped (holding a waker: %s)\n",
           r->box->waiter.vtable != NULL ? "yes, released" : "no");
    cfut_waker_drop(&r->box->waiter); /* empty is fine: a no-op */
}

/* One vtable per type: poll, drop, output size, name, dynamic size. */
static const struct cfut_future_vtable receive_vtable = {
    receive_poll, receive_drop, sizeof(int), "receive", NULL};

static void
receive_init(struct receive *r, struct mailbox *box)
{
    cfut_future_init(&r->base, &receive_vtable); /* fresh: may still move */
    r->box = box;
}

int
main(void)
{
    struct mailbox box = {0, 0, CFUT_WAKER_EMPTY};
    struct cfut_context cx;
    int letter = 0;

    /* Step 1: a context for polling by hand, with a waker that does
     * nothing (lesson 06 writes a real one). */
    cfut_context_init(&cx, cfut_waker_noop());

    /* Step 2: the future lives on our stack; its first poll pins it. */
    struct receive r;
    receive_init(&r, &box);
    enum cfut_poll p = cfut_future_poll(&r.base, &cx, &letter);
    printf("poll 1 -> %s\n", p == CFUT_READY ? "READY" : "PENDING");

    /* Step 3: the outside world delivers a letter and wakes the waiter. */
    box.letter = 42;
    box.has_letter = 1;
    cfut_waker_wake(&box.waiter); /* consumes the kept reference */
    printf("letter posted, waiter woken\n");

    /* Step 4: polled again, it finds the letter and writes the output. */
    p = cfut_future_poll(&r.base, &cx, &letter);
    printf("poll 2 -> %s, letter %d\n", p == CFUT_READY ? "READY" : "PENDING",
           letter);
    /* Step 5: every future is dropped exactly once, finished or not. */
    cfut_future_drop(&r.base);

    /* Step 6: a boxed future: moved once to the heap, pinned there. */
    box.has_letter = 0;
    struct receive fresh;
    receive_init(&fresh, &box);
    struct cfut_future *boxed;
    if (cfut_future_box(&fresh.base, sizeof fresh, &boxed) != CFUT_OK)
        return 1;
    p = cfut_future_poll(boxed, &cx, &letter);
    printf("boxed poll -> %s\n", p == CFUT_READY ? "READY" : "PENDING");

    /* Step 7: dropping a pending future cancels it: it lets go of the
     * waker, and cfut_future_drop() frees the box. */
    cfut_future_drop(boxed);
    printf("waiter slot empty again: %s\n",
           box.waiter.vtable == NULL ? "yes" : "no");
    return 0;
}
