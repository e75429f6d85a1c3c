/*
 * cfut_blocking.h: a pool of threads for blocking C functions (tokio's
 * spawn_blocking, libuv's thread pool): a future hands a function and a
 * copy of its data to the pool and completes on its executor when the
 * function has returned, woken through its task waker from the pool's
 * thread. Name resolution (cfut_net.h) runs on it; so can a user's
 * blocking calls (file I/O, a C library without an async API).
 *
 * Threading: a pool is shared by every thread: its calls are
 * thread-safe. A job's function runs on one of the pool's threads, which
 * block every signal. A future is polled and dropped on one executor's
 * thread, like any future.
 * Lifetime: threads start when jobs need them, up to the pool's maximum,
 * and an idle thread exits after the pool's idle time; freeing a pool
 * cancels its queued jobs, waits for the running ones and joins every
 * thread. A pool's memory lives until its last job is dropped, so a
 * future may outlive its pool (it then reports CFUT_ECANCELED).
 */
#ifndef CFUT_BLOCKING_H
#define CFUT_BLOCKING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cfut_future.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The default most threads of a pool (libuv's default too). */
#define CFUT_BLOCKING_MAX_THREADS 4
/* The default idle time after which a pool thread exits: 10 s. */
#define CFUT_BLOCKING_IDLE_NS (10ull * 1000 * 1000 * 1000)
/* An idle time that keeps idle threads until the pool is freed. */
#define CFUT_BLOCKING_KEEP_IDLE UINT64_MAX

/* A pool of threads (opaque). */
struct cfut_blocking_pool;

/* How a pool is made; zeroed fields take the defaults. */
struct cfut_blocking_config {
    size_t max_threads; /* 0: CFUT_BLOCKING_MAX_THREADS */
    uint64_t idle_ns;   /* 0: CFUT_BLOCKING_IDLE_NS; or ..._KEEP_IDLE */
};

/* What a pool is doing (cfut_blocking_pool_stats()). */
struct cfut_blocking_stats {
    size_t n_threads; /* threads alive */
    size_t n_idle;    /* of them, waiting for a job */
    size_t n_queued;  /* jobs waiting for a thread */
    size_t n_running; /* jobs whose function runs */
    uint64_t n_done;  /* jobs whose function has returned, in all */
};

/* A function run on a pool thread, with the job's copy of its data. */
typedef void cfut_blocking_fn(void *data);

/* ---------------------------------------------------------------------- */
/* Pools                                                                   */
/* ---------------------------------------------------------------------- */

/*
 * Creates a pool. No thread starts until a job needs one.
 * Ownership: 'cfg' is borrowed (NULL: the defaults); '*out' receives the
 *   pool, freed with cfut_blocking_pool_free().
 * Returns: 0; CFUT_EINVAL if 'out' is NULL; CFUT_ENOMEM; the error of
 *   pthread_mutex_init() or pthread_cond_init() as -errno.
 * Context: any thread.
 */
CFUT_API int cfut_blocking_pool_new(const struct cfut_blocking_config *cfg,
                                    struct cfut_blocking_pool **out);

/*
 * Shuts 'p' down and releases it: jobs still queued never run (their
 * futures finish with CFUT_ECANCELED, their discard functions are called
 * when those futures are dropped), the running ones finish, and every
 * thread is joined before it returns. The pool's memory goes with its
 * last job.
 * Ownership: 'p' is taken. NULL is a no-op.
 * Context: any thread but one of the pool's own (that aborts with a
 *   message); it blocks until the running jobs return.
 */
CFUT_API void cfut_blocking_pool_free(struct cfut_blocking_pool *p);

/*
 * Gives the process's default pool (the defaults of struct
 * cfut_blocking_config), created at the first call, and again at the
 * first call after cfut_blocking_default_shutdown().
 * Ownership: '*out' receives a pool owned by the library: never free it.
 * Returns: 0; CFUT_EINVAL if 'out' is NULL; the errors of
 *   cfut_blocking_pool_new().
 * Context: any thread.
 */
CFUT_API int cfut_blocking_pool_default(struct cfut_blocking_pool **out);

/*
 * Frees the default pool if it exists (see cfut_blocking_pool_free()).
 * It also runs at exit (atexit()), so a program that ends with exit() or
 * by returning from main() leaves no thread behind; call it earlier to
 * stop the threads sooner or to see the memory freed (a test's allocator).
 * Context: any thread but one of the pool's own; not while another thread
 *   starts jobs on the default pool.
 */
CFUT_API void cfut_blocking_default_shutdown(void);

/*
 * Writes what 'p' is doing now to '*out'.
 * Context: any thread.
 */
CFUT_API void cfut_blocking_pool_stats(struct cfut_blocking_pool *p,
                                       struct cfut_blocking_stats *out);

/* ---------------------------------------------------------------------- */
/* Jobs                                                                    */
/* ---------------------------------------------------------------------- */

struct cfut__blocking_job;

/*
 * A future that runs a function on a pool thread. The job is queued at
 * the first poll and runs once a thread is free. Output: an int:
 *   CFUT_OK: the function ran and returned; its results are in the job's
 *     data (cfut_blocking_data());
 *   CFUT_ECANCELED: the pool was shut down before the function started;
 *   the error of pthread_create() as -errno (-EAGAIN), or CFUT_ENOMEM,
 *     when the pool had no thread and could not start one.
 * Dropping it before READY drops the interest in the result: a job not
 * started is removed and never runs; a running one finishes on its thread
 * and its result is discarded. In every case where the output was not
 * seen, the discard function is called once with the data (as the
 * function left it, or as given if it never ran): in the drop, or on the
 * pool thread once the function returns.
 * Pinned: from its first poll until drop.
 */
struct cfut_blocking {
    /* private: do not touch */
    struct cfut_future base;
    struct cfut__blocking_job *job;
    bool submitted; /* queued at the first poll */
};

/*
 * Initialises 'f' to run 'fn' on a thread of 'p' (NULL: the default pool)
 * with a copy of the 'size' bytes at 'data' (NULL: zeroed bytes), made in
 * one allocation here. 'fn' reads its arguments from that copy and writes
 * its results there; the future's owner reads them with
 * cfut_blocking_data(). 'discard' (NULL: none) frees what the data holds
 * when nobody will read it (see struct cfut_blocking); it may run on a
 * pool thread.
 * Ownership: 'p' is kept until 'f' is dropped (it may be freed meanwhile:
 *   see cfut_blocking_pool_free()); 'data' is borrowed (copied).
 * Returns: 0; CFUT_EINVAL if 'f' or 'fn' is NULL; CFUT_ENOMEM; the errors
 *   of cfut_blocking_pool_default() when 'p' is NULL. On failure nothing
 *   is called and 'f' is untouched.
 * Context: any thread; the future is then polled on one executor.
 */
CFUT_API int cfut_blocking_init(struct cfut_blocking *f,
                                struct cfut_blocking_pool *p,
                                cfut_blocking_fn *fn, cfut_blocking_fn *discard,
                                const void *data, size_t size);

/*
 * Returns the job's copy of the data: fill in arguments before the first
 * poll, read results after READY. Valid until 'f' is dropped.
 * Context: the future's thread; not while the function may run (between
 *   the first poll and READY).
 */
CFUT_API void *cfut_blocking_data(struct cfut_blocking *f);

#ifdef __cplusplus
}
#endif

#endif /* CFUT_BLOCKING_H */
