/*
 * executor.c: exercise 07, the reference solution (spoilers: try the
 * exercise first). A FIFO run queue of tasks, each one block holding a
 * reference count, the future and its output; the task's waker is a
 * counted reference to the task.
 */
#include "executor.h"

#include <stdbool.h>
#include <string.h>

/* A link of a circular, doubly linked list with a sentinel. */
struct link {
    struct link *next, *prev;
};

struct task {
    struct mini_executor *ex;
    struct task *next_queued;    /* on the run queue */
    struct link unfinished_link; /* on the executor's unfinished list */
    int refs;                    /* the executor's (until done) + wakers */
    bool queued;                 /* on the run queue now */
    bool done;                   /* the future was dropped */
    size_t output_offset;        /* where the output goes in 'bytes' */
    _Alignas(max_align_t) unsigned char bytes[]; /* future, then output */
};

struct mini_executor {
    struct task *head, *tail; /* the run queue, oldest first */
    struct link unfinished;   /* sentinel: the tasks not finished yet */
    size_t n_alive;
};

static struct cfut_future *
future_of(struct task *t)
{
    return (struct cfut_future *)(void *)t->bytes;
}

/* Drops one reference; the last one frees the task. */
static void
task_release(struct task *t)
{
    if (--t->refs == 0)
        cfut_free(t);
}

/* Queues 't' at the back unless it is queued or finished already. */
static void
task_schedule(struct task *t)
{
    if (t->queued || t->done)
        return;
    t->queued = true;
    t->next_queued = NULL;
    if (t->ex->tail != NULL)
        t->ex->tail->next_queued = t;
    else
        t->ex->head = t;
    t->ex->tail = t;
}

/* ---- the task's waker: a counted reference to the task ---- */

static const struct cfut_waker_vtable task_waker_vtable;

static struct cfut_waker
task_waker_clone(void *data)
{
    struct task *t = data;
    t->refs++;
    return (struct cfut_waker){&task_waker_vtable, t};
}

static void
task_waker_wake_by_ref(void *data)
{
    task_schedule(data);
}

static void
task_waker_wake(void *data)
{
    task_schedule(data);
    task_release(data); /* wake consumes the reference */
}

static void
task_waker_drop(void *data)
{
    task_release(data);
}

static const struct cfut_waker_vtable task_waker_vtable = {
    task_waker_clone, task_waker_wake, task_waker_wake_by_ref, task_waker_drop};

/* Drops the future of 't' and the executor's reference to it. */
static void
task_finish(struct task *t)
{
    cfut_future_drop(future_of(t));
    t->done = true;
    t->unfinished_link.prev->next = t->unfinished_link.next; /* unlink */
    t->unfinished_link.next->prev = t->unfinished_link.prev;
    t->ex->n_alive--;
    if (!t->queued) /* a queued task is released when it leaves the queue */
        task_release(t);
}

/* ---- the executor ---- */

int
mini_executor_new(struct mini_executor **out)
{
    struct mini_executor *ex = cfut_alloc(sizeof *ex);
    if (ex == NULL)
        return CFUT_ENOMEM;
    ex->head = ex->tail = NULL;
    ex->unfinished.next = ex->unfinished.prev = &ex->unfinished;
    ex->n_alive = 0;
    *out = ex;
    return CFUT_OK;
}

int
mini_spawn(struct mini_executor *ex, struct cfut_future *fresh, size_t size)
{
    size_t align = _Alignof(max_align_t);
    size_t offset = (size + align - 1) / align * align;
    size_t out_size = cfut_future_output_size(fresh);
    struct task *t = cfut_alloc(sizeof *t + offset + out_size);
    if (t == NULL)
        return CFUT_ENOMEM; /* 'fresh' is still the caller's */
    t->ex = ex;
    t->refs = 1; /* the executor's, until the future is done */
    t->queued = false;
    t->done = false;
    t->output_offset = offset;
    memcpy(t->bytes, fresh, size); /* moved: allowed before the first poll */
    t->unfinished_link.next = &ex->unfinished; /* at the end of the list */
    t->unfinished_link.prev = ex->unfinished.prev;
    ex->unfinished.prev->next = &t->unfinished_link;
    ex->unfinished.prev = &t->unfinished_link;
    ex->n_alive++;
    task_schedule(t);
    return CFUT_OK;
}

size_t
mini_run(struct mini_executor *ex)
{
    while (ex->head != NULL) {
        struct task *t = ex->head; /* take the oldest off the queue */
        ex->head = t->next_queued;
        if (ex->head == NULL)
            ex->tail = NULL;
        t->queued = false;
        if (t->done) { /* it finished after it was queued */
            task_release(t);
            continue;
        }
        struct cfut_waker w = {&task_waker_vtable, t};
        struct cfut_context cx;
        cfut_context_init(&cx, &w); /* borrowed: the poll clones it to keep */
        if (cfut_future_poll(future_of(t), &cx, t->bytes + t->output_offset) ==
            CFUT_READY)
            task_finish(t);
    }
    return ex->n_alive;
}

void
mini_executor_free(struct mini_executor *ex)
{
    /* Cancel every unfinished task: drop its future. A queued task keeps
     * its reference until it leaves the queue below. */
    while (ex->unfinished.next != &ex->unfinished)
        task_finish(cfut_container_of(ex->unfinished.next, struct task,
                                      unfinished_link));
    while (ex->head != NULL) { /* empty the queue */
        struct task *t = ex->head;
        ex->head = t->next_queued;
        t->queued = false;
        task_release(t);
    }
    cfut_free(ex);
}
