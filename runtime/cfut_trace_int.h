/*
 * cfut_trace_int.h: the hooks the executor (and the reactor) call to
 * record trace events. Each hook is wrapped in CFUT__TRACE(), which costs
 * one predictable branch on a global flag while tracing is off. Internal:
 * never included by a public header.
 */
#ifndef CFUT_TRACE_INT_H
#define CFUT_TRACE_INT_H

#include "cfut_executor_int.h"
#include "cfut_trace.h"

#if defined(__GNUC__)
#define CFUT__UNLIKELY(x) __builtin_expect(!!(x), 0)
#define CFUT__HIDDEN __attribute__((visibility("hidden")))
#else
#define CFUT__UNLIKELY(x) (x)
#define CFUT__HIDDEN
#endif

/*
 * Nonzero while a trace runs (written only by start/stop). Hidden, so the
 * check is one load relative to the instruction pointer, not via the GOT.
 */
extern CFUT__HIDDEN int cfut__trace_on;

/*
 * Calls the hook cfut__trace_<call> when tracing is on, e.g.
 * CFUT__TRACE(spawn(ex, t)). Arguments are evaluated only when it is on.
 */
#define CFUT__TRACE(call)                                                      \
    do {                                                                       \
        if (CFUT__UNLIKELY(cfut__trace_on))                                    \
            cfut__trace_##call;                                                \
    } while (0)

/*
 * The poll hooks run in debug builds even when tracing is off: they also
 * record, for the task dump, the await a coroutine is suspended at.
 */
#if CFUT_DEBUG_CHECKS
#define CFUT__TRACE_POLL(call) cfut__trace_##call
#else
#define CFUT__TRACE_POLL(call) CFUT__TRACE(call)
#endif

/*
 * Registers 'ex' with the trace; the first call reads CFUT_TRACE and
 * starts the trace it names. Called (unconditionally) by
 * cfut_executor_new(). Context: the new executor's thread.
 */
void cfut__trace_executor_new(struct cfut_executor *ex);

/* 'ex' is being freed (after its tasks were cancelled). */
void cfut__trace_executor_free(struct cfut_executor *ex);

/* Task 't' was spawned (or is block_on's future, flagged MAIN). */
void cfut__trace_spawn(struct cfut_executor *ex, struct cfut__task *t);

/* The executor is about to poll 't'. */
void cfut__trace_poll_begin(struct cfut_executor *ex, struct cfut__task *t);

/*
 * The poll of 't' returned 'r'; called at once, before a READY future is
 * dropped. In debug builds it records where a pending coroutine waits.
 */
void cfut__trace_poll_end(struct cfut_executor *ex, struct cfut__task *t,
                          enum cfut_poll r);

/*
 * Task 't' was woken; 'local' is true on its executor's thread (then its
 * future's name may be read). Context: any thread.
 */
void cfut__trace_wake(struct cfut__task *t, bool local);

/* Task 't' finishes with 'status' (CFUT_OK or CFUT_ECANCELED). */
void cfut__trace_finish(struct cfut_executor *ex, struct cfut__task *t,
                        int status);

/*
 * A run of 'ex' (block_on, run, run_ready) returns: no task is polled or
 * finished any more, so spawns and wakes that follow on this thread come
 * from outside any task (the last task's finish no longer counts).
 */
void cfut__trace_run_end(struct cfut_executor *ex);

/* The executor parks ('begin') or wakes up from parking. */
void cfut__trace_park(struct cfut_executor *ex, bool begin);

/*
 * Records a reactor event on the current executor's row: 'what' ("timer
 * fired", "readable", ...) and the fd it concerns (-1: none). The wakes
 * that follow on this thread, outside any task, are attributed to it.
 * Context: the executor's thread, inside its driver's turn.
 */
void cfut__trace_reactor(const char *what, int fd);

#endif /* CFUT_TRACE_INT_H */
