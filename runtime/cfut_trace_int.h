/*
 * cfut_trace_int.h: the hooks through which the executor, the timers and
 * the reactor tell the trace what happens. Each hook is wrapped in
 * CFUT__TRACE(), which costs one predictable branch on a global flag
 * while tracing is off. Internal: never included by a public header.
 */
#ifndef CFUT_TRACE_INT_H
#define CFUT_TRACE_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "cfut_future.h"
#include "cfut_trace.h"

#if defined(__GNUC__)
#define CFUT__UNLIKELY(x) __builtin_expect(!!(x), 0)
#define CFUT__HIDDEN __attribute__((visibility("hidden")))
/* A hook is never inlined (not even by LTO): the hot path that checks
 * cfut__trace_on keeps no register or stack frame for it. */
#define CFUT__TRACE_HOOK __attribute__((cold, noinline))
#else
#define CFUT__UNLIKELY(x) (x)
#define CFUT__HIDDEN
#define CFUT__TRACE_HOOK
#endif

/*
 * Nonzero while a trace runs (written only by start/stop). Hidden, so the
 * check is one load relative to the instruction pointer, not via the GOT.
 */
extern CFUT__HIDDEN int cfut__trace_on;

/*
 * Calls the hook cfut__trace_<call> when tracing is on, e.g.
 * CFUT__TRACE(spawn(ex, t->id, name, false)). Arguments are evaluated only
 * when it is on.
 */
#define CFUT__TRACE(call)                                                      \
    do {                                                                       \
        if (CFUT__UNLIKELY(cfut__trace_on))                                    \
            cfut__trace_##call;                                                \
    } while (0)

/*
 * The hooks. Each is told what happened in plain values: 'ex' names an
 * executor (a key the trace numbers its rows by; it is never read), 'id'
 * a task, 'name' its future's type. The trace reads no structure of the
 * executor's and writes none.
 */

/*
 * Registers 'ex' with the trace; the first call reads CFUT_TRACE and
 * starts the trace it names. Called (unconditionally) by
 * cfut_executor_new(). Context: the new executor's thread.
 */
void cfut__trace_executor_new(const void *ex);

/* 'ex' is being freed (after its tasks were cancelled). */
void cfut__trace_executor_free(const void *ex);

/*
 * Task 'id' (future 'name') was spawned on 'ex', or entered block_on
 * ('main').
 */
CFUT__TRACE_HOOK void cfut__trace_spawn(const void *ex, uint64_t id,
                                        const char *name, bool main);

/* The executor 'ex' is about to poll task 'id'. */
CFUT__TRACE_HOOK void cfut__trace_poll_begin(const void *ex, uint64_t id,
                                             const char *name);

/*
 * The poll of task 'id' returned 'r'; called at once, before a READY
 * future is dropped. 'file' and 'line' name the await its innermost
 * coroutine suspended at during that poll ('file' NULL: none).
 */
CFUT__TRACE_HOOK void cfut__trace_poll_end(const void *ex, uint64_t id,
                                           const char *name, enum cfut_poll r,
                                           const char *file, int line);

/*
 * Task 'id' of 'ex' was woken: on its executor's thread ('name' is its
 * future's type), or from another thread ('name' NULL; 'ex' NULL when the
 * executor is gone). The first wake since the task's last poll starts a
 * flow that its next poll ends. Context: any thread.
 */
CFUT__TRACE_HOOK void cfut__trace_wake(const void *ex, uint64_t id,
                                       const char *name);

/* Task 'id' finishes with 'status' (CFUT_OK or CFUT_ECANCELED). */
CFUT__TRACE_HOOK void cfut__trace_finish(const void *ex, uint64_t id,
                                         const char *name, int status);

/*
 * A run of 'ex' (block_on, run, run_ready) returns: no task is polled or
 * finished any more, so spawns and wakes that follow on this thread come
 * from outside any task (the last task's finish no longer counts).
 */
CFUT__TRACE_HOOK void cfut__trace_run_end(const void *ex);

/* The executor 'ex' parks ('begin') or wakes up from parking. */
CFUT__TRACE_HOOK void cfut__trace_park(const void *ex, bool begin);

/*
 * The paused clock of 'ex' jumped 'ns' forward (cfut_time_advance(), or to
 * the next deadline when every task waits). The trace's time jumps with
 * it, so the wait shows at its virtual length, and the jump is marked on
 * the executor's row ("paused clock +N ms"). Context: the executor's
 * thread.
 */
void cfut__trace_clock(const void *ex, uint64_t ns);

/*
 * Records an event of the driver's turn on the row of 'ex': 'what'
 * ("timer fired", "readable", ...) and the fd it concerns (-1: none). The
 * wakes that follow on this thread, outside any task, are attributed to
 * it. Context: the executor's thread, inside a turn (or a clock advance).
 */
void cfut__trace_event(const void *ex, const char *what, int fd);

/*
 * The calling thread is worker 'index' of a multi-threaded pool (or, with
 * -1, no longer a worker): its polls are recorded with the worker that
 * ran them ("on worker N" in the narration, args.worker in the JSON), so
 * a task that moves between workers shows it. Context: the thread itself
 * (the value is thread-local: no lock, no race).
 */
void cfut__trace_worker(int index);

#endif /* CFUT_TRACE_INT_H */
