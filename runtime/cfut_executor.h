/*
 * cfut_executor.h: the single-threaded executor: tasks, the run queue,
 * spawn, join handles, block_on and run.
 *
 * Threading: an executor belongs to the thread that created it; every call
 * here except the waker operations must be made on that thread. Task wakers
 * may be cloned, woken and dropped from any thread: a wake from another
 * thread goes through a locked inbox and unparks the executor's driver (on
 * Linux an eventfd in its epoll set), while wakes on the owner thread take
 * no lock and no atomic operation. The executor parks in its driver when
 * nothing is runnable, no longer than its next timer.
 * Lifetime: a task is one allocation (header, future and output) taken from
 * the executor's pool; it lives while its future, its join handle or any of
 * its wakers does. Freeing the executor cancels (drops) every live task.
 */
#ifndef CFUT_EXECUTOR_H
#define CFUT_EXECUTOR_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cfut_future.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * An executor (opaque: it owns a task pool, a lock, its timers and its
 * driver).
 */
struct cfut_executor;

/* A task (opaque; reached through a join handle). */
struct cfut__task;

/* ---------------------------------------------------------------------- */
/* Executor lifecycle                                                      */
/* ---------------------------------------------------------------------- */

/*
 * Creates an executor owned by the calling thread.
 * Ownership: '*out' receives the executor; free it with
 *   cfut_executor_free().
 * Returns: 0; CFUT_EINVAL if 'out' is NULL; CFUT_ENOMEM; the system's
 *   error as -errno (-EMFILE, -ENFILE, ...) when its driver's epoll
 *   instance or wake-up eventfd cannot be created.
 * Context: any thread that is not inside a poll.
 */
CFUT_API int cfut_executor_new(struct cfut_executor **out);

/*
 * Frees 'ex': drops the future of every live task (cancellation), wakes
 * their join handles (which then resolve to CFUT_ECANCELED) and releases the
 * pool. Task memory still referenced by a join handle or a waker outlives
 * the executor and is freed with the last reference.
 * Ownership: 'ex' is taken. NULL is a no-op.
 * Context: the owner thread, outside cfut_block_on() and
 *   cfut_executor_run().
 */
CFUT_API void cfut_executor_free(struct cfut_executor *ex);

/*
 * Returns the executor running on this thread (inside cfut_block_on() or
 * cfut_executor_run()), or NULL. Leaf futures use it to reach its timers
 * and its driver.
 */
CFUT_API struct cfut_executor *cfut_executor_current(void);

/* ---------------------------------------------------------------------- */
/* Join handles                                                            */
/* ---------------------------------------------------------------------- */

/*
 * A join handle: a future for the output of a spawned task. Its output is a
 * status followed by the task's output: use CFUT_JOIN_OUTPUT(T) for storage.
 * Dropping the handle without awaiting it detaches the task (it runs on).
 * Cancel-safe: dropping a pending handle loses nothing but the output.
 */
struct cfut_join_handle {
    /* private: do not touch */
    struct cfut_future base;
    struct cfut__task *task;
};

/* Offset of the task's output inside a join handle's output. */
#define CFUT_JOIN_VALUE_OFFSET (_Alignof(max_align_t))

/*
 * The output of a join handle for a task whose output type is 'T':
 * 'status' is CFUT_OK (then 'value' holds the output) or CFUT_ECANCELED.
 */
#define CFUT_JOIN_OUTPUT(T)                                                    \
    struct {                                                                   \
        int status;                                                            \
        _Alignas(max_align_t) T value;                                         \
    }

/* The output of a join handle for a task with no output. */
struct cfut_join_status {
    int status; /* CFUT_OK or CFUT_ECANCELED */
};

/*
 * Takes the output of the task of 'h' without polling: when the task has
 * finished, writes its output to 'out' (when its status is CFUT_OK) and
 * ends 'h' as a drop would; otherwise leaves 'h' untouched. The fast way
 * to collect a task known to be done (no vtable call, no join output
 * layout): CFUT_JOIN_HANDLE_TAKE(h, T, &value) for a task of output type
 * 'T'.
 * Ownership: 'h' is taken when the call returns CFUT_OK or CFUT_ECANCELED
 *   (do not drop it again), borrowed otherwise. 'out' receives
 *   'out_size' bytes, which must be the task's output size (0 and NULL
 *   for a task with no output).
 * Returns: CFUT_OK (the output is in 'out'); CFUT_ECANCELED (the task was
 *   cancelled: 'out' is untouched); CFUT_EAGAIN when the task has not
 *   finished (nothing changes: poll or take again later); CFUT_EINVAL when
 *   'out_size' is not the task's output size, or 'out' is NULL with a
 *   size (nothing changes).
 * Context: the executor's thread, inside or outside a task. Calling it on
 *   a handle that was dropped or detached is a misuse: it aborts with a
 *   "cfut:" message naming the call (in every build).
 */
CFUT_API int cfut_join_handle_take(struct cfut_join_handle *h, void *out,
                                   size_t out_size);

/* cfut_join_handle_take() for a task whose output type is 'T'. */
#define CFUT_JOIN_HANDLE_TAKE(h, T, out)                                       \
    cfut_join_handle_take((h), (T *)(out), sizeof(T))

/*
 * Asks the task of 'h' to stop: at the next safe point (before its next
 * poll, never in the middle of one) the executor drops the task's future,
 * and 'h' resolves to CFUT_ECANCELED. A task that already finished keeps
 * its output and the handle resolves to CFUT_OK.
 * Ownership: 'h' is borrowed; it stays valid and must still be dropped.
 * Context: the executor's thread, inside or outside a task. Calling it on
 *   a handle that was dropped or detached is a misuse: it aborts with a
 *   "cfut:" message naming the call (in every build).
 */
CFUT_API void cfut_join_handle_cancel(struct cfut_join_handle *h);

/*
 * Detaches the task of 'h' (it runs to completion on its own) and ends 'h';
 * the same as dropping the handle.
 * Ownership: 'h' is taken.
 */
CFUT_API void cfut_join_handle_detach(struct cfut_join_handle *h);

/*
 * Tells whether the task of 'h' has finished or been cancelled.
 * Ownership: 'h' is borrowed.
 * Context: any time before 'h' is dropped or detached; after, the call
 *   aborts with a "cfut:" message naming it (in every build).
 */
CFUT_API bool cfut_join_handle_is_finished(const struct cfut_join_handle *h);

/*
 * Returns the id of the task of 'h' (unique per executor, from 1).
 * Ownership: 'h' is borrowed.
 * Context: as cfut_join_handle_is_finished().
 */
CFUT_API uint64_t cfut_join_handle_id(const struct cfut_join_handle *h);

/* ---------------------------------------------------------------------- */
/* Spawning and running                                                    */
/* ---------------------------------------------------------------------- */

/*
 * Spawns 'fresh' as a new task: its 'size' bytes are moved into one pooled
 * allocation that also holds the task header and the output. The task runs
 * when the executor runs; a task spawned from inside a task runs in the
 * next pass.
 * Ownership: 'fresh' is taken on success (its bytes are moved: do not use
 *   or drop the original); on failure it stays the caller's, untouched.
 *   'handle' receives the join handle on success, or is NULL to detach.
 * Returns: 0; CFUT_EINVAL if 'fresh' is NULL, already polled (debug builds)
 *   or 'size' is smaller than a future base; CFUT_ENOMEM when the pool must
 *   grow and the allocator fails.
 * Context: the executor's thread, inside or outside a task.
 */
CFUT_API int cfut_spawn(struct cfut_executor *ex, struct cfut_future *fresh,
                        size_t size, struct cfut_join_handle *handle);

/*
 * Runs 'ex' until 'f' is READY, polling it in place (it is not copied), and
 * running spawned tasks meanwhile; parks the thread when nothing is
 * runnable. Tasks still alive when 'f' finishes stay in the executor.
 * Ownership: 'f' is taken whatever the result: block_on drops it before it
 *   returns. 'out' receives the output on success (room for
 *   cfut_future_output_size(f) bytes), or is NULL to discard it: block_on
 *   then gives 'f' storage of its own, which nobody reads.
 * Returns: 0; CFUT_EBUSY if this thread is already inside cfut_block_on()
 *   or cfut_executor_run() (a nested run would deadlock); CFUT_EINVAL if
 *   'f' is NULL; CFUT_ENOMEM; CFUT_EDEADLK when 'f' is pending and no waker
 *   exists anywhere that could wake anything.
 * Context: the owner thread, outside any poll.
 */
CFUT_API int cfut_block_on(struct cfut_executor *ex, struct cfut_future *f,
                           void *out);

/*
 * Runs 'ex' until no task is alive, parking when nothing is runnable.
 * Returns: 0 when every task has finished; CFUT_EBUSY when nested (see
 *   cfut_block_on()); CFUT_EDEADLK when tasks are alive but no waker exists
 *   that could wake them (they would wait forever).
 * Context: the owner thread, outside any poll.
 */
CFUT_API int cfut_executor_run(struct cfut_executor *ex);

/*
 * Runs every task that is runnable now, and those they wake, until none is;
 * never parks. Wakes from other threads that already arrived are taken in.
 * Returns: 0; CFUT_EBUSY when nested.
 * Context: the owner thread, outside any poll.
 */
CFUT_API int cfut_executor_run_ready(struct cfut_executor *ex);

/* ---------------------------------------------------------------------- */
/* Introspection                                                           */
/* ---------------------------------------------------------------------- */

/* Returns the number of spawned tasks whose future is still alive. */
CFUT_API size_t cfut_executor_n_tasks(const struct cfut_executor *ex);

/*
 * Returns the number of task wakers alive (clones not yet dropped or
 * consumed), counting wakes from other threads taken in so far.
 */
CFUT_API size_t cfut_executor_n_wakers(const struct cfut_executor *ex);

/*
 * Returns the number of task blocks in use: tasks whose future, join handle
 * or wakers are still alive (finished tasks count until the last goes).
 */
CFUT_API size_t cfut_executor_n_task_blocks(const struct cfut_executor *ex);

/* Returns the number of task polls made so far (for tests and lessons). */
CFUT_API uint64_t cfut_executor_n_polls(const struct cfut_executor *ex);

/*
 * Writes one line per live task to 'f': its id, its future's name, its
 * state and, in debug builds, for a task whose innermost coroutine is
 * suspended in an await, where: "task 3 'fetch' idle, suspended at
 * app.c:88" (CFUT_TRACE shows the same in release builds).
 * Context: the owner thread.
 */
CFUT_API void cfut_executor_dump(const struct cfut_executor *ex, FILE *f);

#ifdef __cplusplus
}
#endif

#endif /* CFUT_EXECUTOR_H */
