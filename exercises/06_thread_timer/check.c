/*
 * check.c: the checks of exercise 06 (a timer future completed by another
 * thread). It links your thread_timer.c; run it with ./run exercise 6. It
 * polls your timer by hand with counting wakers (which note the thread
 * each wake comes from), and under cfut's executor with its trace on.
 */
#include "exkit.h"
#include "thread_timer.h"

#include <time.h>

/* How long the check waits for a wake before it gives up. */
#define WAIT_MS 3000

static long long
now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Polls 't' by hand once with the waker of 'w'. */
static enum cfut_poll
poll_with(struct cfut_future *t, struct exkit_waker *w)
{
    struct cfut_waker waker = exkit_waker_of(w);
    struct cfut_context cx;
    cfut_context_init(&cx, &waker);
    return cfut_future_poll(t, &cx, NULL);
}

/* The first poll: PENDING, with a clone of the waker kept for the thread. */
static void
first_poll(struct cfut_future *t, struct exkit_waker *w)
{
    enum cfut_poll p = poll_with(t, w);
    EXKIT_REQUIRE(p == CFUT_PENDING,
                  "the first poll of a fresh timer answered READY: its time "
                  "starts at the first poll, so it is PENDING then (did "
                  "something start the thread before the first poll?)");
    EXKIT_REQUIRE(atomic_load(&w->refs) == 1,
                  "the first poll answered PENDING but kept %d clones of the "
                  "waker instead of 1: PENDING means \"I have arranged a "
                  "wake\", so keep a clone for the thread to wake "
                  "(cfut_waker_register())",
                  atomic_load(&w->refs));
}

/* PENDING at the first poll, with one clone of the waker kept. */
static void
check_first_poll_keeps_waker(void)
{
    struct exkit_waker w;
    exkit_waker_init(&w);
    struct thread_timer t;
    thread_timer_init(&t, 20);

    first_poll(&t.base, &w);

    cfut_future_drop(&t.base);
    exkit_waker_deinit(&w);
}

/* The thread wakes the waker once, from another thread, after 'ms'. */
static void
check_woken_from_thread(void)
{
    struct exkit_waker w;
    exkit_waker_init(&w);
    struct thread_timer t;
    thread_timer_init(&t, 30);
    long long start = now_ms();
    first_poll(&t.base, &w);

    bool woken = exkit_waker_wait(&w, 1, WAIT_MS);
    long long waited = now_ms() - start;
    exkit_sleep_ms(20); /* a second wake would come now */

    EXKIT_REQUIRE(woken,
                  "nobody woke the waker within %d ms of the first "
                  "poll of a 30 ms timer: does the thread start, and "
                  "does it wake the waker the poll kept?",
                  WAIT_MS);
    EXKIT_REQUIRE(waited >= 30,
                  "the waker was woken %lld ms after the first poll of a "
                  "30 ms timer: the thread must sleep the whole time first",
                  waited);
    EXKIT_REQUIRE(atomic_load(&w.n_remote) == 1,
                  "the wake did not come from the timer's thread: the thread "
                  "wakes the task, not the poll");
    EXKIT_REQUIRE(atomic_load(&w.n_wakes) == 1 && exkit_waker_n_woken(&w) == 1,
                  "the waker was woken %d times (%d with wake, %d with "
                  "wake_by_ref) instead of once, with cfut_waker_wake(): the "
                  "thread's wake consumes the clone the poll kept",
                  exkit_waker_n_woken(&w), atomic_load(&w.n_wakes),
                  atomic_load(&w.n_wakes_by_ref));
    enum cfut_poll p = poll_with(&t.base, &w);
    EXKIT_REQUIRE(p == CFUT_READY,
                  "after the thread's wake, the timer answered PENDING again: "
                  "the thread must set 'done' before it wakes");
    cfut_future_drop(&t.base);
    exkit_waker_deinit(&w);
}

/* init starts nothing: a timer made long ago is still PENDING at poll 1. */
static void
check_not_started_by_init(void)
{
    struct exkit_waker w;
    exkit_waker_init(&w);
    struct thread_timer t;
    thread_timer_init(&t, 20);

    exkit_sleep_ms(80); /* a thread started by init would be done now */
    first_poll(&t.base, &w);
    bool woken = exkit_waker_wait(&w, 1, WAIT_MS);

    EXKIT_REQUIRE(woken,
                  "a timer made 80 ms before its first poll was never woken "
                  "after it (waited %d ms): start the thread at the first "
                  "poll, not in init",
                  WAIT_MS);
    EXKIT_REQUIRE(poll_with(&t.base, &w) == CFUT_READY,
                  "after its wake the timer answered PENDING again");
    cfut_future_drop(&t.base);
    exkit_waker_deinit(&w);
}

/* Polled again with another waker: the newest one is kept and woken. */
static void
check_newest_waker(void)
{
    struct exkit_waker a, b;
    exkit_waker_init(&a);
    exkit_waker_init(&b);
    struct thread_timer t;
    thread_timer_init(&t, 100);
    first_poll(&t.base, &a);

    enum cfut_poll p = poll_with(&t.base, &b); /* moved to another task */
    int a_refs = atomic_load(&a.refs), b_refs = atomic_load(&b.refs);
    bool woken = exkit_waker_wait(&b, 1, WAIT_MS);

    EXKIT_REQUIRE(p == CFUT_PENDING,
                  "the second poll, at once, answered READY");
    EXKIT_REQUIRE(a_refs == 0 && b_refs == 1,
                  "polled first with waker A, then with waker B, the timer "
                  "kept %d clones of A and %d of B instead of 0 and 1: only "
                  "the latest poll's waker must be woken, so replace the old "
                  "one (and drop it)",
                  a_refs, b_refs);
    EXKIT_REQUIRE(woken && exkit_waker_n_woken(&a) == 0,
                  "the thread woke waker A %d times and waker B %d times "
                  "instead of 0 and 1",
                  exkit_waker_n_woken(&a), exkit_waker_n_woken(&b));
    cfut_future_drop(&t.base);
    exkit_waker_deinit(&a);
    exkit_waker_deinit(&b);
}

/* Dropped while pending: the drop waits for the thread, frees the waker. */
static void
check_drop_while_pending(void)
{
    struct exkit_waker w;
    exkit_waker_init(&w);
    struct thread_timer fresh;
    thread_timer_init(&fresh, 30);
    struct cfut_future *t; /* in a heap box: its drop frees the memory */
    EXKIT_REQUIRE(cfut_future_box(&fresh.base, sizeof fresh, &t) == CFUT_OK,
                  "(the check could not box the timer)");
    first_poll(t, &w);

    cfut_future_drop(t); /* the thread still sleeps */
    int refs = atomic_load(&w.refs);
    int woken = exkit_waker_n_woken(&w);
    exkit_sleep_ms(80); /* a thread left running would wake now */

    EXKIT_REQUIRE(refs == 0,
                  "after the timer was dropped while pending, %d clone of "
                  "the waker was still alive: drop releases the waker it "
                  "kept (cancellation)",
                  refs);
    EXKIT_REQUIRE(exkit_waker_n_woken(&w) == woken,
                  "the waker was woken after the timer was dropped: the "
                  "thread outlived the future (it must be joined in drop, or "
                  "it touches freed memory)");
    exkit_waker_deinit(&w);
}

/* Under cfut's executor: two polls, the wake from another thread. */
static void
check_block_on(void)
{
    struct cfut_executor *ex;
    EXKIT_REQUIRE(cfut_executor_new(&ex) == CFUT_OK,
                  "(the check could not make an executor)");
    struct thread_timer t;
    thread_timer_init(&t, 20);

    exkit_trace_begin();
    int rc = cfut_block_on(ex, &t.base, NULL);
    const char *trace = exkit_trace_end();
    uint64_t n_polls = cfut_executor_n_polls(ex);
    cfut_executor_free(ex);

    exkit_note_trace(trace);
    EXKIT_REQUIRE(rc == CFUT_OK, "cfut_block_on() on your timer returned %s%s",
                  cfut_status_name(rc),
                  rc == CFUT_EDEADLK
                      ? ": the task was PENDING and no waker was alive "
                        "anywhere, so nothing could ever wake it"
                      : "");
    EXKIT_REQUIRE(exkit_trace_count(trace, "woken from thread") == 1,
                  "the executor's trace shows %d wakes from another thread "
                  "instead of 1: the timer's thread wakes the task",
                  exkit_trace_count(trace, "woken from thread"));
    EXKIT_REQUIRE(n_polls == 2,
                  "cfut_block_on() polled your timer %llu times instead of "
                  "2: PENDING, then READY after the thread's wake",
                  (unsigned long long)n_polls);
}

static const struct exkit_check checks[] = {
    {"first-poll-keeps-waker",
     "the first poll is PENDING and keeps one clone of the waker",
     check_first_poll_keeps_waker},
    {"woken-from-thread",
     "the timer's thread wakes that clone once, after the time",
     check_woken_from_thread},
    {"not-started-by-init", "init starts no thread: the first poll does",
     check_not_started_by_init},
    {"newest-waker", "polled with a new waker, the timer wakes the newest",
     check_newest_waker},
    {"drop-while-pending",
     "dropped while pending, it joins the thread and releases the waker",
     check_drop_while_pending},
    {"block-on", "under cfut_block_on(): 2 polls, woken from another thread",
     check_block_on},
};

int
main(int argc, char **argv)
{
    return exkit_main(argc, argv, "06_thread_timer",
                      "a timer future completed by another thread", checks,
                      EXKIT_N(checks));
}
