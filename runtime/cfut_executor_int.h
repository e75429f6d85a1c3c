/*
 * cfut_executor_int.h: the executor's insides, shared by its three files:
 * the executor and task layout, the task states and flags with the rule
 * for each, the run queue and scheduling (inline: they are on every
 * wake), task memory and references (cfut_task.c), join handles
 * (cfut_join_handle.c), and what the time module and the reactor reach
 * through an executor: its driver and its timers. Internal: never
 * included by a public header.
 */
#ifndef CFUT_EXECUTOR_INT_H
#define CFUT_EXECUTOR_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include "cfut_driver_int.h"
#include "cfut_executor.h"
#include "cfut_list_int.h"
#include "cfut_timers_int.h"

#if defined(__GNUC__)
#define CFUT__UNLIKELY_INT(x) __builtin_expect(!!(x), 0)
#else
#define CFUT__UNLIKELY_INT(x) (x)
#endif

/* An extern thread-local read on hot paths: one instruction to reach. */
#if defined(__GNUC__)
#define CFUT__TLS_FAST                                                         \
    __attribute__((tls_model("initial-exec"), visibility("hidden")))
#else
#define CFUT__TLS_FAST
#endif

/*
 * The state shared with other threads: the inbox of tasks woken, cloned or
 * dropped from another thread. It is counted: the executor holds one
 * reference and every task that outlives the executor holds one.
 */
struct cfut__remote {
    pthread_mutex_t lock;
    atomic_uint refs;
    atomic_bool has_items; /* inbox is not empty (set under 'lock') */
    atomic_bool used;      /* sticky: a foreign op ever happened */
    /*
     * The owner will not look at the inbox without an unpark: set by the
     * owner before it blocks in its driver (or leaves a hosted run), then
     * cleared by the owner when it looks again, or by the first foreign op
     * that unparks it (an exchange: one unpark per parking). No lock: the
     * owner stores it, then loads 'has_items'; a foreign op stores
     * 'has_items', then loads it (both sequentially consistent), so one of
     * the two sees the other and no wake is lost.
     */
    atomic_bool parked;
    /* guarded by 'lock' */
    struct cfut_list inbox;   /* tasks, on their 'inbox_link' */
    struct cfut_executor *ex; /* NULL once the executor is freed */
    struct cfut__driver *drv; /* for unpark; NULL once freed */
};

/*
 * Task states ('state'): written and read on the owner thread only.
 *
 *   CFUT__TASK_SCHEDULED: on the run queue, exactly once. Set only together
 *     with pushing the task: at spawn and block_on, by a wake of an IDLE
 *     task, and after a poll during which it was woken. Left only when the
 *     queue hands it to poll_task(), or when the executor is freed.
 *   CFUT__TASK_RUNNING: its future is being polled. Set only by
 *     poll_task() right before the poll, and right before a finish outside
 *     a poll (cfut_executor_free() cancelling, cfut_block_on() giving up),
 *     which drops the future as a poll would. A wake now queues nothing:
 *     it moves the task to RUNNING_WOKEN.
 *   CFUT__TASK_RUNNING_WOKEN: woken during its own poll. Set only from
 *     RUNNING; after the poll the task is pushed once (SCHEDULED), unless
 *     the poll finished it or it was cancelled.
 *   CFUT__TASK_IDLE: pending, on no queue. Set only after a PENDING poll
 *     with no wake during it. Left by a wake or a cancel (SCHEDULED), or
 *     by a finish outside a poll (RUNNING, then DONE).
 *   CFUT__TASK_DONE: the future was dropped and 'status' is final. Set only
 *     by finish(); never left. Wakes of a DONE task do nothing; its block
 *     lives on while references (handle, wakers) remain.
 * So a task is queued at most once: only IDLE -> SCHEDULED and
 * RUNNING_WOKEN -> SCHEDULED push it, and only the queue takes it off.
 *   CFUT__TASK_FREE: not a task: the block is in the executor's pool. Set
 *     only when the last reference of a DONE task returns its block to the
 *     pool; left only when a spawn (or block_on) takes it again.
 */
enum cfut__task_state {
    CFUT__TASK_IDLE,
    CFUT__TASK_SCHEDULED,
    CFUT__TASK_RUNNING,
    CFUT__TASK_RUNNING_WOKEN,
    CFUT__TASK_DONE,
    CFUT__TASK_FREE /* a pooled block: no task (on 'blocks' only) */
};

/*
 * Task flags ('flags'): owner thread only.
 *
 *   CFUT__TASK_CANCEL: cancellation was asked for. Set only by
 *     cfut_join_handle_cancel() on a task that is not DONE (which also
 *     schedules it); never cleared. The executor looks at it before each
 *     poll and after a PENDING one, and then finishes the task with
 *     CFUT_ECANCELED instead of polling on; it never interrupts a poll.
 *   CFUT__TASK_MAIN: the task is block_on's: its future and output are the
 *     caller's, not in the block, and it is not counted in 'n_tasks'. Set
 *     only when block_on makes the task; never changes.
 *   CFUT__TASK_TAKEN: the handle copied the output out. Set only by the
 *     handle's READY poll of a DONE task, once (debug builds assert it),
 *     and by cfut_join_handle_take() in debug builds; never cleared. (A join
 * handle's reference needs no flag: the handle holds the task, the task never
 * looks at its handle.)
 */
#define CFUT__TASK_CANCEL 0x2u
#define CFUT__TASK_MAIN 0x4u
#define CFUT__TASK_TAKEN 0x8u

/* A task: header, then (in the same block) the future and its output. */
struct cfut__task {
    struct cfut__task *run_next;  /* on the run queue (singly linked) */
    struct cfut_future *fut;      /* in this block, or block_on's */
    void *out;                    /* where the output is written */
    struct cfut_executor *ex;     /* NULL once orphaned */
    uint32_t refs;                /* executor + handle + wakers */
    uint8_t state;                /* enum cfut__task_state */
    uint8_t flags;                /* CFUT__TASK_* */
    uint16_t size_class;          /* pool class, or CFUT__TASK_BIG */
    int status;                   /* CFUT_OK or CFUT_ECANCELED when DONE */
    const void *owner;            /* owner thread token (immutable) */
    struct cfut__remote *remote;  /* immutable */
    struct cfut_list all_link;    /* on ex->blocks while allocated */
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

/* Pool size classes: 64-byte steps up to CFUT__TASK_POOL_MAX. */
#define CFUT__TASK_POOL_STEP 64u
#define CFUT__TASK_POOL_CLASSES 32u
#define CFUT__TASK_POOL_MAX (CFUT__TASK_POOL_STEP * CFUT__TASK_POOL_CLASSES)
#define CFUT__TASK_BIG 0xFFFFu /* a block of its own (larger than the max) */

/* A pooled block while free (it was a task). */
struct cfut__free_block {
    struct cfut__free_block *next;
};

struct cfut_executor {
    /* run queue: singly linked FIFO of SCHEDULED tasks */
    struct cfut__task *run_head;
    struct cfut__task *run_tail;
    uint32_t budget;    /* of the task being polled */
    uint32_t tick;      /* polls since the last maintenance */
    uint64_t last_turn; /* CLOCK_MONOTONIC ns of the tick's last driver turn */
    bool running;       /* inside block_on or run */
    bool host_idle;     /* hosted driver, no run: a wake must unpark it */
    size_t n_tasks;     /* spawned tasks with a live future */
    size_t n_wakers;    /* task waker clones alive */
    uint64_t n_polls;
    uint64_t next_id;
    const void *owner; /* owner thread token */
    /*
     * Every block of the executor, pooled (CFUT__TASK_FREE) or in use, in
     * the order they were allocated: a block is linked once, when it is
     * allocated, and unlinked only when its memory is freed, so spawning
     * and freeing a task from the pool touch no list. Walked by
     * cfut_executor_free(), the dump and cfut_executor_n_task_blocks().
     */
    struct cfut_list blocks;
    struct cfut__free_block *pool[CFUT__TASK_POOL_CLASSES];
    struct cfut__remote *remote;
    struct cfut__driver *drv; /* owned */
    struct cfut__timers timers;
};

/* ---------------------------------------------------------------------- */
/* Thread identity                                                         */
/* ---------------------------------------------------------------------- */

/* A byte per thread whose address identifies the thread (cfut_task.c). */
extern _Thread_local char cfut__thread_token CFUT__TLS_FAST;

/* Returns a value unique to the calling thread while it lives. */
static inline const void *
cfut__thread_id(void)
{
    return &cfut__thread_token;
}

/* Tells whether 't' is on its executor's thread with the executor alive. */
static inline bool
cfut__task_is_local(const struct cfut__task *t)
{
    /* Other threads stop at the first test and never read 't->ex'. */
    return t->owner == cfut__thread_id() && t->ex != NULL;
}

/* ---------------------------------------------------------------------- */
/* The run queue                                                           */
/* ---------------------------------------------------------------------- */

/*
 * Appends 't' to the run queue. Pre: 't' is not on it. Outside a run of
 * an executor whose driver is hosted, the first push unparks the driver,
 * so that its host runs the executor.
 */
static inline void
cfut__run_push(struct cfut_executor *ex, struct cfut__task *t)
{
    t->run_next = NULL;
    if (ex->run_tail != NULL)
        ex->run_tail->run_next = t;
    else
        ex->run_head = t;
    ex->run_tail = t;
    if (ex->host_idle) {
        ex->host_idle = false;
        ex->drv->vt->unpark(ex->drv);
    }
}

/*
 * Wakes 't' on the owner thread (see the task states): an IDLE task is
 * queued, a RUNNING one requeued after its poll, others are left as they
 * are.
 */
static inline void
cfut__task_schedule(struct cfut_executor *ex, struct cfut__task *t)
{
    switch ((enum cfut__task_state)t->state) {
    case CFUT__TASK_IDLE:
        t->state = CFUT__TASK_SCHEDULED;
        cfut__run_push(ex, t);
        break;
    case CFUT__TASK_RUNNING:
        t->state = CFUT__TASK_RUNNING_WOKEN;
        break;
    case CFUT__TASK_SCHEDULED:     /* queued already */
    case CFUT__TASK_RUNNING_WOKEN: /* will be requeued already */
    case CFUT__TASK_DONE:          /* nothing left to run */
    case CFUT__TASK_FREE:          /* no task (never reached) */
        break;
    }
}

/* ---------------------------------------------------------------------- */
/* Task memory and references (cfut_task.c)                                */
/* ---------------------------------------------------------------------- */

/* The slow half of cfut__task_alloc(): a new block (cfut_task.c). */
struct cfut__task *cfut__task_alloc_new(struct cfut_executor *ex, size_t size);

/*
 * Returns a block of 'size' bytes for a task of 'ex' (from the pool, or
 * a new one), or NULL when the allocator fails. Its header is set up by
 * cfut__task_init().
 */
static inline struct cfut__task *
cfut__task_alloc(struct cfut_executor *ex, size_t size)
{
    if (size <= CFUT__TASK_POOL_MAX) {
        unsigned c = (unsigned)((size - 1) / CFUT__TASK_POOL_STEP);
        struct cfut__free_block *b = ex->pool[c];
        if (b != NULL) {
            ex->pool[c] = b->next;
            return (struct cfut__task *)(void *)b;
        }
    }
    return cfut__task_alloc_new(ex, size);
}

/*
 * Initialises the header of a new task of 'ex' with 'refs' references,
 * state SCHEDULED (not yet pushed), no flags and the next id. The fields a
 * block keeps while pooled (and its link on 'blocks') are already set.
 */
static inline void
cfut__task_init(struct cfut_executor *ex, struct cfut__task *t, uint32_t refs)
{
    t->refs = refs;
    t->state = CFUT__TASK_SCHEDULED;
    t->flags = 0;
    t->status = CFUT_OK;
    t->id = ex->next_id++;
#if CFUT_DEBUG_CHECKS
    t->dbg_await_file = NULL;
    t->dbg_await_line = 0;
#endif
}

/* Frees the memory of 't' for good (orphans, pool teardown). */
void cfut__task_free_memory(struct cfut__task *t);

/* Returns the block of 't' to the pool of 'ex' (last reference gone). */
static inline void
cfut__task_free(struct cfut_executor *ex, struct cfut__task *t)
{
    if (CFUT__UNLIKELY_INT(t->size_class == CFUT__TASK_BIG)) {
        cfut_list_remove(&t->all_link);
        cfut__task_free_memory(t);
        return;
    }
    t->state = CFUT__TASK_FREE;
    struct cfut__free_block *b = (struct cfut__free_block *)(void *)t;
    b->next = ex->pool[t->size_class];
    ex->pool[t->size_class] = b;
}

/* Frees every pooled block of 'ex'. */
void cfut__task_pool_free(struct cfut_executor *ex);

/*
 * The slow half of cfut__task_release(): the last owner-thread reference
 * is gone; frees the task unless other threads gave it references not
 * yet taken in (then it takes them in, and schedules it if they woke it).
 */
void cfut__task_last_ref(struct cfut_executor *ex, struct cfut__task *t);

/*
 * Drops one reference on the owner thread. The last one frees the task
 * here unless another thread ever made a waker operation on the executor
 * (then cfut__task_last_ref() takes in what it may have posted).
 */
static inline void
cfut__task_release(struct cfut_executor *ex, struct cfut__task *t)
{
    if (--t->refs != 0)
        return;
    if (!atomic_load_explicit(&t->remote->used, memory_order_relaxed))
        cfut__task_free(ex, t);
    else
        cfut__task_last_ref(ex, t);
}

/*
 * Applies a waker operation made on a thread other than the owner's (or
 * on a task whose executor is gone): 'delta' references and a wake. It
 * goes to the inbox, and unparks the owner when it is parked.
 * Context: any thread.
 */
void cfut__task_remote_op(struct cfut__task *t, int32_t delta, bool wake);

/* The slow half of cfut__inbox_drain(): the inbox has items. */
void cfut__inbox_take(struct cfut_executor *ex);

/*
 * Takes in every task on the inbox: applies their reference changes,
 * frees those left with none and schedules the woken ones. An empty inbox
 * costs one load.
 * Context: the owner thread.
 */
static inline void
cfut__inbox_drain(struct cfut_executor *ex)
{
    if (atomic_load_explicit(&ex->remote->has_items, memory_order_acquire))
        cfut__inbox_take(ex);
}

/*
 * Takes in the inbox for good when 'ex' is freed: tasks with references
 * left become orphans (their memory lives on, counted on the remote
 * state), the others are freed; the remote state forgets 'ex'.
 */
void cfut__inbox_orphan(struct cfut_executor *ex);

/* Releases one reference to 'r' (the last frees it). */
void cfut__remote_release(struct cfut__remote *r);

/* ---------------------------------------------------------------------- */
/* Join handles (cfut_join_handle.c)                                       */
/* ---------------------------------------------------------------------- */

/* The vtable of every join handle. */
extern const struct cfut_future_vtable cfut__join_handle_vtable;

/* Makes 'h' the join handle of the new task 't' (its reference is in). */
static inline void
cfut__join_handle_init(struct cfut_join_handle *h, struct cfut__task *t)
{
    cfut_future_init(&h->base, &cfut__join_handle_vtable);
    h->task = t;
}

/* ---------------------------------------------------------------------- */
/* What an executor offers the time module and the reactor                 */
/* ---------------------------------------------------------------------- */

/*
 * Creates an executor owned by the calling thread that parks in (or is
 * run by the host of) 'drv' instead of the platform's default driver.
 * cfut_executor_new() is this with cfut__driver_default_new().
 * Ownership: 'drv' is taken on success (cfut_executor_free() frees it,
 *   last) and left to the caller on failure; '*out' receives the executor.
 * Returns: 0; CFUT_EINVAL if 'drv' or 'out' is NULL; CFUT_ENOMEM.
 * Context: any thread that is not inside a poll.
 */
int cfut__executor_new_with_driver(struct cfut__driver *drv,
                                   struct cfut_executor **out);

/* Returns the driver of 'ex'. */
static inline struct cfut__driver *
cfut__executor_driver(const struct cfut_executor *ex)
{
    return ex->drv;
}

/* Returns the timers of 'ex'. */
static inline struct cfut__timers *
cfut__executor_timers(struct cfut_executor *ex)
{
    return &ex->timers;
}

#endif /* CFUT_EXECUTOR_INT_H */
