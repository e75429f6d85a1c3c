/*
 * cfut_executor_int.h: what the rest of the runtime (the reactor, timers,
 * tracing) needs to know about the executor: the driver interface through
 * which the executor parks, and the task layout. Internal: never included
 * by a public header.
 */
#ifndef CFUT_EXECUTOR_INT_H
#define CFUT_EXECUTOR_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include "cfut_executor.h"
#include "cfut_list_int.h"

/*
 * A driver: what the executor blocks in when no task is runnable (the
 * reactor: epoll, timers and the eventfd for unparks). The executor owns it.
 */
struct cfut__driver_vtable {
    /*
     * Waits at most 'timeout_ms' (-1: no limit; 0: just look) for events,
     * wakes the tasks they concern, and consumes any unpark signal.
     * Returns 0 or the system's error as -errno. Context: the owner
     * thread, outside any poll.
     */
    int (*turn)(void *drv, int timeout_ms);
    /* Makes a turn that is blocked, or the next one, return. Any thread. */
    void (*unpark)(void *drv);
    /* Frees the driver. Context: the owner thread. */
    void (*free)(void *drv);
};

/*
 * The state shared with other threads: the inbox of tasks woken, cloned or
 * dropped from another thread. It is counted: the executor holds one
 * reference and every task that outlives the executor holds one.
 */
struct cfut__remote {
    pthread_mutex_t lock;
    atomic_uint refs;
    atomic_bool has_items; /* inbox is not empty (a hint) */
    atomic_bool used;      /* sticky: a foreign op ever happened */
    /* guarded by 'lock' */
    struct cfut_list inbox;   /* tasks, on their 'inbox_link' */
    struct cfut_executor *ex; /* NULL once the executor is freed */
    bool parked;              /* the owner is blocked in a turn */
    bool notified;            /* an unpark was sent since parking */
    void *drv;                /* for unpark */
    const struct cfut__driver_vtable *drv_vt;
};

/* Task states. */
enum cfut__task_state {
    CFUT__TASK_IDLE,          /* pending, not queued */
    CFUT__TASK_SCHEDULED,     /* on the run queue */
    CFUT__TASK_RUNNING,       /* being polled */
    CFUT__TASK_RUNNING_WOKEN, /* woken while being polled: requeue after */
    CFUT__TASK_DONE           /* future dropped; 'status' is final */
};

/* Task flags. */
#define CFUT__TASK_HAS_HANDLE 0x1u /* a join handle refers to it */
#define CFUT__TASK_CANCEL 0x2u     /* cancel requested */
#define CFUT__TASK_MAIN 0x4u       /* the block_on future (not spawned) */
#define CFUT__TASK_TAKEN 0x8u      /* the handle took the output */

/* A task: header, then (in the same block) the future and its output. */
struct cfut__task {
    struct cfut__task *run_next;  /* on the run queue (singly linked) */
    struct cfut_future *fut;      /* in this block, or block_on's */
    void *out;                    /* where the output is written */
    struct cfut_executor *ex;     /* NULL once orphaned */
    uint32_t refs;                /* executor + handle + wakers */
    uint8_t state;                /* enum cfut__task_state */
    uint8_t flags;                /* CFUT__TASK_* */
    uint16_t size_class;          /* pool class, or CFUT__BIG */
    int status;                   /* CFUT_OK or CFUT_ECANCELED when DONE */
    const void *owner;            /* owner thread token (immutable) */
    struct cfut__remote *remote;  /* immutable */
    struct cfut_list all_link;    /* on ex->all_tasks while allocated */
    struct cfut_waker join_waker; /* who awaits the join handle */
    uint64_t id;
    size_t output_size;
    /* guarded by remote->lock */
    struct cfut_list inbox_link; /* on remote->inbox */
    int32_t remote_delta;        /* references gained/lost elsewhere */
    bool remote_woken;           /* woken from another thread */
#if CFUT_DEBUG_CHECKS
    /* owner thread: where the task's innermost coroutine waits (dump) */
    const char *dbg_await_file; /* NULL: not suspended in an await */
    int dbg_await_line;
#endif
};

/*
 * Returns the driver data of 'ex' (the reactor installs itself through
 * cfut__executor_set_driver()).
 */
void *cfut__executor_driver(struct cfut_executor *ex);

/*
 * Replaces the driver of 'ex' by 'drv' (the old one is freed).
 * Context: right after cfut_executor_new(), before any task runs.
 */
void cfut__executor_set_driver(struct cfut_executor *ex, void *drv,
                               const struct cfut__driver_vtable *vt);

#endif /* CFUT_EXECUTOR_INT_H */
