/*
 * Lesson 18: sub-wakers inside join: re-poll only the child that was woken.
 *
 * What you will learn:
 *   - lesson 03's join polls every unfinished child on every wake: O(n);
 *   - give each child its own waker (a sub-waker) that records "child i was
 *     woken" in the join and then wakes the join's task: the join re-polls
 *     only the recorded children, O(woken). cfut's join does this;
 *   - a waker is just {vtable, data}: here data points at a slot inside
 *     the pinned join, and cfut_context_with_waker() passes it down.
 * Builds on: lesson 03 (join by hand), 06 (waker vtables), 16 (a select's
 *   children), 17 (oneshot receivers).
 * API introduced: cfut_context_with_waker.
 * Run it: build/examples/18_sub_wakers
 * Expected output: examples/expected/18_sub_wakers.txt
 */
#include <cfut.h>
#include <stdio.h>

#define N 3

/*
 * The join of N oneshot receivers: per child a slot (the receiver, done,
 * and what its sub-waker needs), a mask of the children woken, and the
 * task's waker.
 */
struct slot {
    struct cfut_oneshot_receiver rx;
    bool done;
    struct join3 *join; /* set at the first poll: the join is pinned then */
    unsigned bit;
};
struct join3 {
    struct cfut_future base;
    struct slot slots[N];
    unsigned woken;           /* bit i: child i woken since its last poll */
    struct cfut_waker parent; /* the task's waker, from our latest poll */
    int n_done, n_child_polls;
};

/*
 * The sub-waker (data: a slot): wake marks the child and wakes the task.
 * The children holding clones are dropped before the join, so nothing is
 * counted here (cfut's join counts them, so a clone handed elsewhere stays
 * valid).
 */
static const struct cfut_waker_vtable sub_vtable;
static struct cfut_waker
sub_clone(void *data)
{
    return (struct cfut_waker){&sub_vtable, data};
}
static void
sub_wake_by_ref(void *data)
{
    struct slot *s = data;
    s->join->woken |= s->bit;                 /* remember who ... */
    cfut_waker_wake_by_ref(&s->join->parent); /* ... and wake the task */
}
static void
sub_drop(void *data) /* nothing is counted */
{
    (void)data;
}
static const struct cfut_waker_vtable sub_vtable = {sub_clone, sub_wake_by_ref,
                                                    sub_wake_by_ref, sub_drop};

static enum cfut_poll
join3_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct join3 *j = cfut_container_of(f, struct join3, base);
    (void)out;
    /* Step: keep the task's waker: the sub-wakers forward to it. */
    cfut_waker_register(&j->parent, cx->waker);
    printf("  join polled; children polled:");
    for (int i = 0; i < N; i++) {
        struct slot *s = &j->slots[i];
        if (s->join == NULL) { /* first poll: pinned now, point at us */
            s->join = j;
            s->bit = 1u << i;
        }
        if (s->done || !(j->woken & s->bit))
            continue; /* not woken: its answer has not changed */
        j->woken &= ~s->bit;
        /* Step: poll child i under its own sub-waker. */
        struct cfut_waker w = {&sub_vtable, s};
        struct cfut_context sub_cx = cfut_context_with_waker(cx, &w);
        CFUT_ONESHOT_OUTPUT(int) got;
        printf(" %d", i);
        j->n_child_polls++;
        if (cfut_future_poll(&s->rx.base, &sub_cx, &got) == CFUT_READY) {
            cfut_future_drop(&s->rx.base);
            s->done = true;
            j->n_done++;
        }
    }
    printf("\n");
    if (j->n_done < N)
        return CFUT_PENDING;
    printf("child polls: %d (re-polling every unfinished child: %d)\n",
           j->n_child_polls, 3 + 3 + 2 + 1);
    return CFUT_READY;
}

static void
join3_drop(struct cfut_future *f)
{
    struct join3 *j = cfut_container_of(f, struct join3, base);
    for (int i = 0; i < N; i++) /* children first: they hold sub-wakers */
        if (!j->slots[i].done)
            cfut_future_drop(&j->slots[i].rx.base);
    cfut_waker_drop(&j->parent);
}

static const struct cfut_future_vtable join3_vtable = {join3_poll, join3_drop,
                                                       0, "join3", NULL};

int
main(void)
{
    struct cfut_executor *ex;
    if (cfut_executor_new(&ex) != CFUT_OK)
        return 1;
    /* Step 1: a join of three oneshot receivers, every child "woken" (to
     * be polled once); we keep the senders. */
    struct join3 j = {.woken = (1u << N) - 1, .parent = CFUT_WAKER_EMPTY};
    cfut_future_init(&j.base, &join3_vtable);
    struct cfut_oneshot_sender tx[N];
    for (int i = 0; i < N; i++)
        if (cfut_oneshot_new(sizeof(int), NULL, &tx[i], &j.slots[i].rx))
            return 1;

    /* Step 2: spawn it (it moves into the task: fine before its first
     * poll) and run until nothing is runnable: every child is polled. */
    struct cfut_join_handle h;
    if (cfut_spawn(ex, &j.base, sizeof j, &h) != CFUT_OK)
        return 1;
    cfut_executor_run_ready(ex);

    /* Step 3: send to one child at a time, in the order 2, 0, 1; each
     * wake goes through one sub-waker, so one child is polled. */
    static const int order[N] = {2, 0, 1};
    for (int k = 0; k < N; k++) {
        printf("send to child %d\n", order[k]);
        if (cfut_oneshot_send(&tx[order[k]], &order[k]) != CFUT_OK)
            return 1;
        cfut_executor_run_ready(ex);
    }
    cfut_future_drop(&h.base); /* the join has finished */
    cfut_executor_free(ex);
    return 0;
}
