/*
 * cfut_pool.h: the multi-threaded work-stealing executor: a pool of worker
 * threads that poll tasks, each with a bounded local run queue that the
 * others steal from, a global injection queue, and a LIFO slot for the
 * task just woken by the running one. docs/pool.md explains the design.
 *
 * Threading: every call here may be made from any thread, inside or
 * outside the pool, except cfut_pool_free() (outside the pool, once) and
 * cfut_pool_block_on() (outside any poll). A task on the pool may move
 * from one worker thread to another between two polls, so everything a
 * pool task touches must be thread-safe: only the thread-safe kinds of
 * channels (CFUT_CHANNEL_SYNC) may cross tasks there, and the objects of
 * a single-threaded executor (its join handles, local channels, timers,
 * fd registrations) stay on that executor's thread.
 * I/O and time: each pool has one shared driver (epoll and a timer heap
 * under a lock), turned by a worker that parks. Leaf futures polled on a
 * worker or inside cfut_pool_block_on(), where cfut_executor_current() is
 * NULL, use it: cfut_sleep and the rest of cfut_time.h (on
 * CLOCK_MONOTONIC; the pool's clock cannot be paused), connects, and the
 * readiness, read, write and accept futures of registrations made with
 * cfut_pool_io_new() or cfut_pool_fd_stream_new(). A task that moves to
 * another worker keeps its timer and its place in a wait list (they live
 * in the pool, not in a worker). A pool registration may be used from any
 * thread of its pool (one reader and one writer at a time, as for any
 * registration) and freed from any thread; dropping a pending leaf
 * future (cancelling its task, freeing the pool) takes its timer or
 * waiter out.
 * Lifetime: a task is one allocation (header, future and output); it
 * lives while its future, its join handle or any of its wakers does, and
 * may outlive the pool. Freeing the pool drops every live task's future
 * exactly once and wakes its join handle with CFUT_ECANCELED.
 */
#ifndef CFUT_POOL_H
#define CFUT_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cfut_executor.h"
#include "cfut_future.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A pool of worker threads (opaque). */
struct cfut_pool;

/* A task of a pool (opaque; reached through a pool join handle). */
struct cfut__ptask;

struct cfut_io;     /* cfut_reactor.h */
struct cfut_stream; /* cfut_stream.h */

/* How to make a pool. Zero-initialise it, then set what you need. */
struct cfut_pool_config {
    /* Worker threads; 0: the number of CPUs (sysconf). At most 256. */
    unsigned n_workers;
};

/* ---------------------------------------------------------------------- */
/* Pool lifecycle                                                          */
/* ---------------------------------------------------------------------- */

/*
 * Creates a pool and starts its worker threads, which park until there
 * is work.
 * Ownership: 'cfg' is borrowed (NULL: defaults); '*out' receives the pool;
 *   free it with cfut_pool_free().
 * Returns: 0; CFUT_EINVAL if 'out' is NULL or 'cfg->n_workers' is above
 *   256; CFUT_ENOMEM; the system's error as -errno (-EAGAIN) when a
 *   thread cannot be started.
 * Context: any thread.
 */
CFUT_API int cfut_pool_new(const struct cfut_pool_config *cfg,
                           struct cfut_pool **out);

/*
 * Shuts 'p' down: stops the workers after the polls in progress, then
 * drops the future of every live task, once, on the calling thread,
 * whether it was queued, idle or being woken; their join handles resolve
 * to CFUT_ECANCELED. Wakes that arrive meanwhile or later are ignored;
 * spawns fail with CFUT_ESTATE. Task memory still referenced by a join
 * handle or a waker outlives the pool.
 * Ownership: 'p' is taken. NULL is a no-op.
 * Context: a thread that is not a worker of 'p', outside
 *   cfut_pool_block_on() on 'p', once.
 */
CFUT_API void cfut_pool_free(struct cfut_pool *p);

/* Returns the pool whose worker is the calling thread, or NULL. */
CFUT_API struct cfut_pool *cfut_pool_current(void);

/*
 * Returns the index (0 .. n_workers - 1) of the calling thread as a worker
 * of its pool, or -1 when it is not a worker.
 */
CFUT_API int cfut_pool_worker_index(void);

/* Returns the number of worker threads of 'p'. */
CFUT_API unsigned cfut_pool_n_workers(const struct cfut_pool *p);

/* ---------------------------------------------------------------------- */
/* Join handles                                                            */
/* ---------------------------------------------------------------------- */

/*
 * A join handle of a pool task: a future for the task's output, which any
 * executor (single-threaded, a pool, cfut_block_on(), cfut_pool_block_on())
 * may await, on any thread. Its output is a status then the task's output,
 * as for cfut_join_handle: use CFUT_JOIN_OUTPUT(T) (or struct
 * cfut_join_status for a task with no output). Dropping it without
 * awaiting it detaches the task (it runs on).
 */
struct cfut_pool_handle {
    /* private: do not touch */
    struct cfut_future base;
    struct cfut__ptask *task;
};

/*
 * Asks the task of 'h' to stop: its future is dropped at the next safe
 * point (before its next poll, or right after the poll in progress, never
 * during one), on a worker, and 'h' resolves to CFUT_ECANCELED. A task
 * that already finished keeps its output and 'h' resolves to CFUT_OK.
 * Ownership: 'h' is borrowed; it stays valid and must still be dropped.
 * Context: any thread. Calling it on a handle that was dropped or
 *   detached aborts with a "cfut:" message (every build).
 */
CFUT_API void cfut_pool_handle_cancel(struct cfut_pool_handle *h);

/*
 * Detaches the task of 'h' (it runs on by itself) and ends 'h'; the same
 * as dropping the handle.
 * Ownership: 'h' is taken.
 */
CFUT_API void cfut_pool_handle_detach(struct cfut_pool_handle *h);

/*
 * Tells whether the task of 'h' has finished or been cancelled (its
 * future is dropped and its status final).
 * Ownership: 'h' is borrowed.
 * Context: any thread, before 'h' is dropped or detached.
 */
CFUT_API bool cfut_pool_handle_is_finished(const struct cfut_pool_handle *h);

/* Returns the id of the task of 'h' (unique per pool, from 1). */
CFUT_API uint64_t cfut_pool_handle_id(const struct cfut_pool_handle *h);

/* ---------------------------------------------------------------------- */
/* Spawning and running                                                    */
/* ---------------------------------------------------------------------- */

/*
 * Spawns 'fresh' as a task of 'p': its 'size' bytes are moved into one
 * allocation that also holds the task header and the output. A spawn from
 * a worker of 'p' goes to that worker (its LIFO slot: it runs next unless
 * another worker steals it); a spawn from any other thread goes to the
 * injection queue and unparks one idle worker.
 * Ownership: 'fresh' is taken on success (its bytes are moved: do not use
 *   or drop the original); on failure it stays the caller's, untouched.
 *   'handle' receives the join handle on success, or is NULL to detach.
 * Returns: 0; CFUT_EINVAL if 'p' or 'fresh' is NULL, 'fresh' was already
 *   polled (debug builds) or 'size' is smaller than a future base;
 *   CFUT_ENOMEM; CFUT_ESTATE once the pool is shutting down.
 * Context: any thread, inside or outside a task.
 */
CFUT_API int cfut_pool_spawn(struct cfut_pool *p, struct cfut_future *fresh,
                             size_t size, struct cfut_pool_handle *handle);

/*
 * Runs 'f' to completion on the calling thread, polling it in place and
 * sleeping between polls until its waker is woken (from any thread), while
 * the workers of 'p' run the pool's tasks. 'f' may spawn onto 'p' and
 * await pool join handles.
 * Ownership: 'f' is taken whatever the result: it is dropped before the
 *   call returns. 'out' receives the output (room for
 *   cfut_future_output_size(f) bytes), or is NULL to discard it.
 * Returns: 0; CFUT_EINVAL if 'p' or 'f' is NULL; CFUT_EBUSY when called
 *   on a worker of a pool (it would block a worker); CFUT_ENOMEM.
 * Context: any thread that is not a pool worker, outside any poll.
 */
CFUT_API int cfut_pool_block_on(struct cfut_pool *p, struct cfut_future *f,
                                void *out);

/* ---------------------------------------------------------------------- */
/* I/O on the pool                                                         */
/* ---------------------------------------------------------------------- */

/*
 * Registers 'fd' with the shared driver of 'p' (edge-triggered, for
 * reading and writing) and makes it non-blocking, as cfut_io_new() does
 * for an executor. The futures of cfut_io.h on it may be polled by pool
 * tasks (on any worker) and by cfut_pool_block_on().
 * Ownership: 'fd' is taken on success (cfut_io_free() closes it) and left
 *   to the caller on failure; '*out' receives the registration, which must
 *   be freed (from any thread) before the pool.
 * Returns: 0; CFUT_EINVAL if 'p' or 'out' is NULL or 'fd' is negative;
 *   CFUT_ENOMEM; -EPERM, -EBADF, -EEXIST as cfut_io_new().
 * Context: any thread.
 */
CFUT_API int cfut_pool_io_new(struct cfut_pool *p, int fd,
                              struct cfut_io **out);

/*
 * Makes a duplex stream (cfut_stream.h) over 'fd' registered with the
 * shared driver of 'p', as cfut_fd_stream_new() does for an executor: its
 * reads, writes and shutdown may be polled by pool tasks on any worker.
 * Ownership: as cfut_pool_io_new(); cfut_stream_close() frees the stream,
 *   its registration and the fd (before the pool is freed).
 * Returns: 0; CFUT_EINVAL; CFUT_ENOMEM; -EPERM, -EBADF, -EEXIST.
 * Context: any thread.
 */
CFUT_API int cfut_pool_fd_stream_new(struct cfut_pool *p, int fd,
                                     struct cfut_stream **out);

/* What the shared driver of a pool holds (tests: zero at teardown). */
struct cfut_pool_io_counts {
    size_t n_timers;        /* timers armed (sleeps, timeouts, ticks) */
    size_t n_waiters;       /* futures waiting for fd readiness */
    size_t n_registrations; /* live registrations (struct cfut_io) */
};

/* Fills 'out' with the counts of the shared driver of 'p'. Any thread. */
CFUT_API void cfut_pool_io_counts(struct cfut_pool *p,
                                  struct cfut_pool_io_counts *out);

/* ---------------------------------------------------------------------- */
/* Introspection                                                           */
/* ---------------------------------------------------------------------- */

/* Returns the number of spawned tasks whose future is still alive. */
CFUT_API size_t cfut_pool_n_tasks(struct cfut_pool *p);

/*
 * Returns the number of task blocks of 'p' alive (their future, handle or
 * wakers still hold them).
 */
CFUT_API size_t cfut_pool_n_task_blocks(const struct cfut_pool *p);

/* Statistics of a pool, summed over its workers (each read racily). */
struct cfut_pool_stats {
    uint64_t n_polls;  /* task polls */
    uint64_t n_steals; /* successful steals (batches) */
    uint64_t n_parks;  /* times a worker went to sleep */
    uint64_t n_lifo;   /* polls of a task taken from the LIFO slot */
};

/* Fills 'out' with the statistics of 'p'. Context: any thread. */
CFUT_API void cfut_pool_stats(const struct cfut_pool *p,
                              struct cfut_pool_stats *out);

#ifdef __cplusplus
}
#endif

#endif /* CFUT_POOL_H */
