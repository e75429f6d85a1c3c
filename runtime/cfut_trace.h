/*
 * cfut_trace.h: traces of what the executor does: every spawn, poll (with
 * its result and, for coroutines, the await it suspended at), wake (who
 * woke whom, from which thread), finish or cancellation, park, and the
 * reactor's timer and I/O events, written either as a Chrome trace-event
 * JSON file (open it in https://ui.perfetto.dev or chrome://tracing) or as
 * plain sentences on stderr.
 *
 * Turning it on: set the environment variable CFUT_TRACE before the first
 * executor is created: CFUT_TRACE=FILE writes JSON to FILE, CFUT_TRACE=-
 * narrates on stderr. Or call cfut_trace_start() yourself.
 *
 * In the JSON, each executor is a process (pid 1, 2, ... in creation
 * order) and each task is a thread (tid = task id; tid 0 is the executor
 * itself, where parking and the reactor's events show; a thread that wakes
 * tasks from outside gets a row of its own, tid 1000000 + its number): a
 * poll is a slice on its task's row. A wake is an instant on the woken
 * task's row and a flow (ph "s" then "f", category "wake"): an arrow from
 * where it happened (the waking task's poll, the other thread, or the
 * executor's row for the reactor) to the poll it queued, the woken task's
 * next one (later wakes before that poll draw none: they queue nothing).
 * Timestamps are real time, except that each jump of a paused clock
 * (cfut_time_pause(): a jump to the next deadline, or cfut_time_advance())
 * moves the trace's time forward by the virtual amount too, so a wait
 * shows at its virtual length; each jump is a slice "paused clock +N ms"
 * on the executor's row (args.virtual_ns), and the text narration says
 * "paused clock: +N ms (virtual time)".
 *
 * Threading: events may come from any thread (a wake from another thread
 * is recorded there); the trace takes a lock only while it is on. Start
 * and stop the trace while no other thread is running cfut code.
 * A poll end names the innermost await of a coroutine that suspended
 * during that poll (a future that polls a coroutine by hand shows its
 * await too).
 * Lifetime: the JSON file is complete (valid JSON) whenever no executor
 * is alive, after cfut_trace_stop(), and at exit.
 * Cost when off: one predictable branch per event.
 */
#ifndef CFUT_TRACE_H
#define CFUT_TRACE_H

#include <stdbool.h>

#include "cfut_errors.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The environment variable the first cfut_executor_new() reads. */
#define CFUT_TRACE_ENV "CFUT_TRACE"

/*
 * Starts tracing: to the file 'spec' as JSON, or as text on stderr when
 * 'spec' is "-". Executors created before the call are traced too.
 * Ownership: 'spec' is borrowed.
 * Returns: 0; CFUT_EINVAL if 'spec' is NULL or empty; CFUT_EBUSY if a trace
 *   is already running; the negated errno of fopen() (-ENOENT, -EACCES...)
 *   if the file cannot be created.
 * Context: outside any poll, while no other thread runs cfut code.
 */
CFUT_API int cfut_trace_start(const char *spec);

/*
 * Stops tracing and completes and closes the JSON file (a no-op when no
 * trace runs). A later cfut_trace_start() may start a new one.
 * Context: outside any poll, while no other thread runs cfut code.
 */
CFUT_API void cfut_trace_stop(void);

/* Tells whether a trace is running. Context: any thread. */
CFUT_API bool cfut_trace_is_on(void);

#ifdef __cplusplus
}
#endif

#endif /* CFUT_TRACE_H */
