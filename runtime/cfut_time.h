/*
 * cfut_time.h: time on the executor's clock: sleep for a duration or until
 * a deadline, a timeout around any future, an interval that does not
 * drift, and a paused (manual) clock for tests. Times are nanoseconds of
 * CLOCK_MONOTONIC, or of the paused clock once cfut_time_pause() was called.
 *
 * Threading: single-threaded: these futures are polled and dropped on the
 * thread of the executor that runs them; their timers live in that
 * executor's timer heap (a binary min-heap: O(log n) insert and cancel).
 * Polled where no executor runs but a pool does (a pool worker, or inside
 * cfut_pool_block_on()), they use the pool's shared timer heap instead:
 * on CLOCK_MONOTONIC (a pool's clock cannot be paused), fired by the
 * worker that turns the pool's driver, and a task that moves to another
 * worker keeps its timer (cfut_pool.h, "I/O and time").
 * Lifetime: each future lives in caller storage, is pinned from its first
 * poll until drop, and must be dropped before its executor is freed.
 * Dropping a pending one removes its timer (cancellation).
 */
#ifndef CFUT_TIME_H
#define CFUT_TIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cfut_executor.h"
#include "cfut_future.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Durations in nanoseconds. */
#define CFUT_USEC(n) ((uint64_t)(n)*1000u)
#define CFUT_MSEC(n) ((uint64_t)(n)*1000000u)
#define CFUT_SEC(n) ((uint64_t)(n)*1000000000u)

/* A timer in the executor's heap: embedded in every future that sleeps. */
struct cfut__timer {
    /* private: do not touch */
    uint64_t deadline;
    uint64_t seq;            /* insertion order: equal deadlines stay FIFO */
    size_t index;            /* position in the heap; SIZE_MAX: not armed */
    struct cfut_waker waker; /* a clone while armed */
};

/* ---------------------------------------------------------------------- */
/* Clock                                                                   */
/* ---------------------------------------------------------------------- */

/*
 * Returns the time now on the clock of 'ex' (NULL: the executor running on
 * this thread; with none, CLOCK_MONOTONIC), in nanoseconds.
 * Context: the executor's thread.
 */
CFUT_API uint64_t cfut_time_now(const struct cfut_executor *ex);

/*
 * Pauses the clock of 'ex' at its current value: from now on it moves only
 * through cfut_time_advance(), and, when the executor would block with
 * timers armed and no event arrives, it jumps to the earliest deadline
 * (auto-advance, as tokio's paused clock does). Timer tests then never
 * sleep for real. While paused, nothing the executor decides depends on
 * real time (its fairness tick turns the driver every 61 polls), so a
 * seeded run replays exactly. Pausing a paused clock does nothing.
 * Context: the executor's thread.
 */
CFUT_API void cfut_time_pause(struct cfut_executor *ex);

/*
 * Moves the paused clock of 'ex' forward by 'ns' and wakes every timer that
 * is then due, earliest first.
 * Returns: 0; CFUT_ESTATE if the clock is not paused.
 * Context: the executor's thread, inside or outside a task.
 */
CFUT_API int cfut_time_advance(struct cfut_executor *ex, uint64_t ns);

/* ---------------------------------------------------------------------- */
/* Sleep                                                                   */
/* ---------------------------------------------------------------------- */

/*
 * A future that finishes at a deadline. Output: an int status: CFUT_OK at
 * the deadline; CFUT_ENOMEM when the timer heap could not grow; CFUT_ESTATE
 * when polled outside an executor and outside a pool.
 */
struct cfut_sleep {
    /* private: do not touch */
    struct cfut_future base;
    uint64_t ns;   /* duration (relative) or deadline */
    bool relative; /* 'ns' counts from the first poll */
    bool armed;    /* 'timer' was inserted (it may have fired since) */
    void *timers;  /* where 'timer' lives, once armed */
    struct cfut__timer timer;
};

/*
 * Initialises 's' to finish 'ns' nanoseconds after its first poll (0:
 * ready at the first poll, after spending one unit of budget).
 * Pinned: from its first poll until drop.
 */
CFUT_API void cfut_sleep_init(struct cfut_sleep *s, uint64_t ns);

/*
 * Initialises 's' to finish when the executor's clock reaches 'deadline'
 * (a value of cfut_time_now(); a past deadline is ready at once).
 * Pinned: from its first poll until drop.
 */
CFUT_API void cfut_sleep_until_init(struct cfut_sleep *s, uint64_t deadline);

/*
 * Returns the deadline of 's': the one given to cfut_sleep_until_init(),
 * or, for cfut_sleep_init(), the one fixed at its first poll (0 before).
 */
CFUT_API uint64_t cfut_sleep_deadline(const struct cfut_sleep *s);

/* ---------------------------------------------------------------------- */
/* Timeout                                                                 */
/* ---------------------------------------------------------------------- */

/* Offset of the child's output inside a timeout's output. */
#define CFUT_TIMEOUT_VALUE_OFFSET (_Alignof(max_align_t))

/*
 * The output of a timeout around a child whose output type is 'T': 'status'
 * is CFUT_OK (then 'value' holds the child's output), CFUT_ETIMEDOUT (the
 * deadline came first; the child was dropped), or CFUT_ENOMEM / CFUT_ESTATE
 * from the timer (the child was dropped too).
 */
#define CFUT_TIMEOUT_OUTPUT(T)                                                 \
    struct {                                                                   \
        int status;                                                            \
        _Alignas(max_align_t) T value;                                         \
    }

/*
 * A future that runs a child until a deadline. Each poll polls the child
 * first, then the timer: a child that finishes in the same poll in which
 * the deadline passes wins. Its output size is sizeof(int) for a child with
 * no output, else CFUT_TIMEOUT_VALUE_OFFSET + the child's output size.
 */
struct cfut_timeout {
    /* private: do not touch */
    struct cfut_future base;
    struct cfut_future *child; /* NULL once dropped */
    size_t child_size;         /* the child's output size */
    struct cfut_sleep sleep;
};

/*
 * Initialises 't' to run 'child' for at most 'ns' nanoseconds from its
 * first poll.
 * Ownership: 'child' is taken: 't' polls it and drops it when it finishes,
 *   when the deadline passes, or when 't' is dropped. It must stay where it
 *   is until then (boxed, or embedded beside 't' in a pinned parent).
 * Pinned: from its first poll until drop.
 */
CFUT_API void cfut_timeout_init(struct cfut_timeout *t,
                                struct cfut_future *child, uint64_t ns);

/* ---------------------------------------------------------------------- */
/* Interval                                                                */
/* ---------------------------------------------------------------------- */

/*
 * A schedule of ticks 'period' apart: tick k is due at start + k * period,
 * where start is when the first tick was polled, so lateness never
 * accumulates (no drift). A tick that is late is due at once; missed ticks
 * are delivered one after another (burst), each with its own deadline.
 * Not a future: await its ticks (struct cfut_interval_tick).
 */
struct cfut_interval {
    /* private: do not touch */
    uint64_t period;
    uint64_t next; /* deadline of the next tick */
    bool started;  /* 'next' is set */
};

/*
 * Initialises 'iv' with 'period' nanoseconds between ticks.
 * Returns: 0; CFUT_EINVAL if 'period' is 0 ('iv' is then untouched).
 */
CFUT_API int cfut_interval_init(struct cfut_interval *iv, uint64_t period);

/* The output of a tick. */
struct cfut_interval_tick_result {
    int status;        /* CFUT_OK, or a sleep's error (CFUT_ENOMEM, ...) */
    uint64_t deadline; /* when this tick was due */
};

/* A future for the next tick of an interval. */
struct cfut_interval_tick {
    /* private: do not touch */
    struct cfut_future base;
    struct cfut_interval *iv;
    bool has_sleep; /* 'sleep' was initialised (at the first poll) */
    struct cfut_sleep sleep;
};

/*
 * Initialises 't' to finish at the next tick of 'iv' (the first tick is
 * due at its first poll). The interval moves on only when a tick finishes:
 * dropping a pending tick loses nothing.
 * Ownership: 'iv' is kept until 't' is dropped.
 * Pinned: from its first poll until drop.
 */
CFUT_API void cfut_interval_tick_init(struct cfut_interval_tick *t,
                                      struct cfut_interval *iv);

#ifdef __cplusplus
}
#endif

#endif /* CFUT_TIME_H */
