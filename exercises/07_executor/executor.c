/*
 * executor.c: exercise 07, a tiny executor: a queue of tasks, spawn, and
 * run until nothing is queued.
 * This is your file: define the structs and fill in the functions below,
 * then run
 *     ./run exercise 7
 * The README beside this file says what to build and gives hints.
 */
#include "executor.h"

#include <stdbool.h>
#include <string.h>

/*
 * A task: one cfut_alloc() block. Exercise: add what you need: a link for
 * the run queue, a reference count, flags, where the output goes; the
 * future's bytes come last, in 'bytes' (aligned for any type).
 */
struct task {
    struct mini_executor *ex;
    _Alignas(max_align_t) unsigned char bytes[]; /* future, then output */
};

/* The executor. Exercise: add the run queue and what else you need. */
struct mini_executor {
    size_t n_alive; /* tasks spawned and not finished */
};

int
mini_executor_new(struct mini_executor **out)
{
    struct mini_executor *ex = cfut_alloc(sizeof *ex);
    if (ex == NULL)
        return CFUT_ENOMEM;
    ex->n_alive = 0;
    *out = ex;
    return CFUT_OK;
}

int
mini_spawn(struct mini_executor *ex, struct cfut_future *fresh, size_t size)
{
    /* Exercise: allocate one block for the task, the future's 'size'
     * bytes and the output (cfut_future_output_size(fresh)); copy the
     * future in (memcpy: it was never polled, so it may move); queue it. */
    (void)ex;
    (void)fresh;
    (void)size;
    return CFUT_ENOMEM; /* not written yet */
}

size_t
mini_run(struct mini_executor *ex)
{
    /* Exercise: while the queue is not empty, take the oldest task off it
     * and poll its future with a context whose waker is the task's own
     * (a vtable of yours); on READY drop the future. */
    return ex->n_alive;
}

void
mini_executor_free(struct mini_executor *ex)
{
    /* Exercise: drop the future of every unfinished task, release the
     * tasks, then free the executor. */
    cfut_free(ex);
}
