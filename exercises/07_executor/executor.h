/*
 * executor.h: exercise 07, a tiny executor: a queue of tasks, spawn, and
 * run until nothing is queued. The interface the check calls; do not
 * change it. You write executor.c, where you also define the structs.
 *
 * Single-threaded: every call, and every use of a task's wakers, happens
 * on one thread. A task's waker may outlive the task (waking a finished
 * task does nothing) but not the executor.
 */
#ifndef EXECUTOR_H
#define EXECUTOR_H

#include <cfut.h>
#include <stddef.h>

/* An executor (yours: define it in executor.c). */
struct mini_executor;

/*
 * Makes an executor with an empty queue, in memory from cfut_alloc().
 * Returns: CFUT_OK, '*out' set; CFUT_ENOMEM when cfut_alloc() fails.
 */
int mini_executor_new(struct mini_executor **out);

/*
 * Frees 'ex': drops the future of every task that has not finished (that
 * is cancellation), and frees every task no waker refers to any more. A
 * task some waker still refers to is freed when its last waker goes.
 */
void mini_executor_free(struct mini_executor *ex);

/*
 * Moves the fresh future 'fresh' (its 'size' bytes) into a new task, one
 * cfut_alloc() block that holds the task, the future and room for its
 * output, and queues the task; it is polled only when mini_run() runs.
 * Ownership: 'fresh' is taken on success (its bytes were moved: the
 *   caller no longer uses them); on failure it stays the caller's.
 * Returns: CFUT_OK; CFUT_ENOMEM when cfut_alloc() fails.
 * Context: outside any poll, or inside a task's poll (the new task then
 *   runs in the same mini_run()).
 */
int mini_spawn(struct mini_executor *ex, struct cfut_future *fresh,
               size_t size);

/*
 * Polls the queued tasks, oldest first, until the queue is empty. Each
 * poll gets a context whose waker is the task's own: waking it queues the
 * task at the back, once (a task is never in the queue twice), also when
 * it is woken during its own poll. A task whose future is READY is
 * finished: its future is dropped at once and its output thrown away.
 * A task that is PENDING and not woken is not polled again until a wake.
 * Returns: the number of tasks alive (spawned and not finished).
 */
size_t mini_run(struct mini_executor *ex);

#endif /* EXECUTOR_H */
