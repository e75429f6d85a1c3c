/*
 * Lesson 17: sub-wakers inside join: re-poll only the child that was woken.
 *
 * What you will learn:
 *   - lesson 03's join polls every unfinished child on every wake: O(n);
 *   - give each child its own waker (a sub-waker) that records "child i was
 *     woken" in the join and then wakes the join's task: the join re-polls
 *     only the recorded children, O(woken). cfut's join does this;
 *   - a waker is just {vtable, data}: here data points at a slot inside
 *     the pinned join, and cfut_context_with_waker() passes it down.
 * Builds on: lesson 03 (join by hand), 06 (waker vtables), 08 (executor).
 * API introduced: cfut_context_with_waker, cfut_executor_run_ready.
 * Run it: build/examples/17_sub_wakers
 * Expected output: examples/expected/17_sub_wakers.txt
 */
#include <cfut.h>
#include <stdio.h>

#define N 3

/* Three gates; a gate keeps the waker of whoever waits at it. */
static struct {
    bool open;
    struct cfut_waker waiter;
} gates[N];

/* Waiting at gate 'idx': READY once it is open. */
struct gate_wait {
    struct cfut_future base;
    int idx;
};

static enum cfut_poll
gate_wait_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct gate_wait *g = cfut_container_of(f, struct gate_wait, base);
    (void)out;
    if (gates[g->idx].open)
        return CFUT_READY;
    cfut_waker_register(&gates[g->idx].waiter, cx->waker);
    return CFUT_PENDING;
}

static void
gate_wait_drop(struct cfut_future *f)
{
    cfut_waker_drop(
        &gates[cfut_container_of(f, struct gate_wait, base)->idx].waiter);
}

static const struct cfut_future_vtable gate_wait_vtable = {
    gate_wait_poll, gate_wait_drop, 0, "gate_wait", NULL};

/* The join: children inline, a woken mask, the task's waker, sub-wakers. */
struct sub {
    struct join3 *join;
    unsigned bit;
};
struct join3 {
    struct cfut_future base;
    struct gate_wait child[N];
    bool done[N];
    unsigned woken;           /* bit i: child i woken since its last poll */
    struct cfut_waker parent; /* the task's waker, from our latest poll */
    struct sub subs[N];       /* what each sub-waker's 'data' points at */
    int n_done, n_child_polls;
};

/*
 * The sub-waker: wake marks the child and wakes the task. Its data lives in
 * the pinned join, and the children holding clones are dropped before the
 * join, so no reference count is needed here (cfut's join counts them, so a
 * clone handed elsewhere stays valid).
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
    struct sub *s = data;
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
    /* Step: at the first poll we are pinned: now the sub-wakers may point
     * at us (initialising a future must not publish its address). */
    if (j->parent.vtable == NULL) /* only before the first poll */
        for (int i = 0; i < N; i++)
            j->subs[i] = (struct sub){j, 1u << i};
    /* Step: keep the task's waker (the sub-wakers forward to it). */
    cfut_waker_register(&j->parent, cx->waker);
    printf("  join polled; children polled:");
    for (int i = 0; i < N; i++) {
        unsigned bit = 1u << i;
        if (j->done[i] || !(j->woken & bit))
            continue; /* not woken: its answer has not changed */
        j->woken &= ~bit;
        /* Step: poll child i under its own sub-waker. */
        struct cfut_waker w = {&sub_vtable, &j->subs[i]};
        struct cfut_context sub_cx = cfut_context_with_waker(cx, &w);
        printf(" %d", i);
        j->n_child_polls++;
        if (cfut_future_poll(&j->child[i].base, &sub_cx, NULL) == CFUT_READY) {
            cfut_future_drop(&j->child[i].base);
            j->done[i] = true;
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
        if (!j->done[i])
            cfut_future_drop(&j->child[i].base);
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
    /* Step 1: a join of three gate waits (every child starts "woken"). */
    struct join3 j;
    cfut_future_init(&j.base, &join3_vtable);
    for (int i = 0; i < N; i++) {
        cfut_future_init(&j.child[i].base, &gate_wait_vtable);
        j.child[i].idx = i;
        j.done[i] = false;
    }
    j.woken = (1u << N) - 1;
    j.parent = CFUT_WAKER_EMPTY;
    j.n_done = j.n_child_polls = 0;

    /* Step 2: spawn it (it moves into the task: fine before its first
     * poll) and run until nothing is runnable: every child is polled. */
    struct cfut_join_handle h;
    if (cfut_spawn(ex, &j.base, sizeof j, &h) != CFUT_OK)
        return 1;
    cfut_executor_run_ready(ex);

    /* Step 3: open the gates one at a time, in the order 2, 0, 1; each
     * wake goes through one sub-waker, so one child is polled. */
    static const int order[N] = {2, 0, 1};
    for (int k = 0; k < N; k++) {
        printf("open gate %d\n", order[k]);
        gates[order[k]].open = true;
        cfut_waker_wake(&gates[order[k]].waiter);
        cfut_executor_run_ready(ex);
    }
    cfut_future_drop(&h.base); /* the join has finished */
    cfut_executor_free(ex);
    return 0;
}
