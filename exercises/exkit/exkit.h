/*
 * exkit.h: what the exercises' check programs share: a list of checks run
 * one at a time, each in a forked child (a crash or an endless loop in one
 * fails that check only), verdicts written for a learner, a counting
 * allocator and counting wakers that turn leaks into failed checks, and a
 * capture of the executor's trace (CFUT_TRACE) for checks that read it.
 *
 * It is check code, not library code, and not part of any exercise: the
 * learner never edits or calls it. Single-threaded, except the counting
 * waker, which may be used from any thread.
 */
#ifndef EXKIT_H
#define EXKIT_H

#include <cfut.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

/* ---------------------------------------------------------------------- */
/* Checks and verdicts                                                     */
/* ---------------------------------------------------------------------- */

/* One check: a short name (for --only), what it verifies, and its body. */
struct exkit_check {
    const char *name; /* "ready-at-once": letters, digits and '-' */
    const char *what; /* "a countdown from 0 is READY at its first poll" */
    void (*run)(void);
};

/* The number of entries of an array. */
#define EXKIT_N(a) (sizeof(a) / sizeof((a)[0]))

/*
 * Runs the checks of one exercise and prints a verdict per check and a
 * summary. 'folder' is the exercise's folder name ("03_join"), 'title'
 * what the learner builds.
 * Options: --list prints the names, one per line; --only NAME runs one
 * check; --no-fork (or CK_FORK=no in the environment, as under valgrind)
 * runs the checks in this process.
 * Returns: 0 when every check run passed; 1 when one failed; 2 on a usage
 *   error (an unknown option or check name).
 */
int exkit_main(int argc, char **argv, const char *folder, const char *title,
               const struct exkit_check *checks, size_t n_checks);

/*
 * Fails the running check with a message for the learner (printf format)
 * and ends it: the check's function does not go on.
 * Context: inside a check, on the thread that runs it.
 */
_Noreturn void exkit_fail(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

/* Fails the running check with the message unless 'cond' holds. */
#define EXKIT_REQUIRE(cond, ...)                                               \
    do {                                                                       \
        if (!(cond))                                                           \
            exkit_fail(__VA_ARGS__);                                           \
    } while (0)

/*
 * Adds a line shown under the verdict when the check fails (context: what
 * happened before, the trace). Later notes replace nothing: they add up.
 */
void exkit_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---------------------------------------------------------------------- */
/* Counting allocator                                                      */
/* ---------------------------------------------------------------------- */

/*
 * Every check runs with a counting allocator installed under cfut
 * (cfut_set_allocator()), so cfut_alloc() in the learner's code and the
 * library's own allocations are counted; after the check, a block still
 * in use fails it. Returns the blocks in use now.
 */
long exkit_alloc_live(void);
/* Returns the number of cfut_alloc() calls since the check started. */
long exkit_alloc_count(void);
/* Makes the 'n'th cfut_alloc() from now fail (1: the next); 0 disables. */
void exkit_alloc_fail_at(long n);

/* ---------------------------------------------------------------------- */
/* Counting wakers                                                         */
/* ---------------------------------------------------------------------- */

/*
 * A waker that counts what is done to it, from any thread. The waker
 * exkit_waker_init() returns is the caller's own (a borrowed one, as a poll
 * gets it); clones are counted references, and after the check every
 * clone must have been dropped or consumed by a wake.
 */
struct exkit_waker {
    atomic_int refs;           /* clones not yet dropped or woken */
    atomic_int n_clones;       /* clone */
    atomic_int n_wakes;        /* wake (consumes a clone) */
    atomic_int n_wakes_by_ref; /* wake_by_ref */
    atomic_int n_drops;        /* drop */
    atomic_int n_remote;       /* wakes of either kind from another thread */
    pthread_t owner;           /* the thread that made it */
    pthread_mutex_t lock;      /* with 'cond': waiting for a wake */
    pthread_cond_t cond;
};

/* Initialises 'w' and returns its waker (not a clone: refs stays 0). */
struct cfut_waker exkit_waker_init(struct exkit_waker *w);
/* Returns the waker of 'w' again (as exkit_waker_init() did, counts kept). */
struct cfut_waker exkit_waker_of(struct exkit_waker *w);
/* Returns the wakes of either kind 'w' has seen. */
int exkit_waker_n_woken(struct exkit_waker *w);
/* Waits up to 'ms' milliseconds until 'w' has seen 'n' wakes in all. */
bool exkit_waker_wait(struct exkit_waker *w, int n, int ms);
/* Releases the lock and condition of 'w' (after its last use). */
void exkit_waker_deinit(struct exkit_waker *w);

/* ---------------------------------------------------------------------- */
/* The executor's trace                                                    */
/* ---------------------------------------------------------------------- */

/*
 * Starts the executor's trace in text form (as CFUT_TRACE=- does) and
 * captures it instead of printing it. Context: outside any poll.
 */
void exkit_trace_begin(void);
/*
 * Stops the capture and returns the trace's text (valid until the next
 * exkit_trace_begin()): lines like "cfut trace: task 1 'naps' polled ->
 * Pending, suspended at naps.c:31".
 */
const char *exkit_trace_end(void);
/* Returns the number of lines of 'text' that contain 'needle'. */
int exkit_trace_count(const char *text, const char *needle);
/* Adds 'text' as notes (at most 30 lines), under a heading. */
void exkit_note_trace(const char *text);

/* ---------------------------------------------------------------------- */
/* Small helpers                                                           */
/* ---------------------------------------------------------------------- */

/* Sleeps 'ms' milliseconds of real time. */
void exkit_sleep_ms(int ms);

#endif /* EXKIT_H */
