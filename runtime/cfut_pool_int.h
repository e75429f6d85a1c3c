/*
 * cfut_pool_int.h: the pool's insides, shared by cfut_pool.c (workers,
 * queues, parking, the public calls) and cfut_pool_task.c (the task state
 * word, wakers, join handles): the task layout and every state
 * transition's rule, the bounded local ring with steal-half, and the
 * seeded schedule perturbation of test builds. docs/pool.md is the long
 * form. Internal: never included by a public header.
 */
#ifndef CFUT_POOL_INT_H
#define CFUT_POOL_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "cfut_list_int.h"
#include "cfut_pool.h"
#include "cfut_pool_io_int.h"

/* ---------------------------------------------------------------------- */
/* Schedule perturbation (debug builds, CFUT_SCHED_SEED)                   */
/* ---------------------------------------------------------------------- */

/*
 * In debug builds every atomic step of the queues and the task state may
 * yield the thread or spin for a pseudo-random time, drawn from a
 * per-thread generator seeded from the seed the pool was made with
 * (CFUT_SCHED_SEED in the environment). Off (one predictable branch)
 * without a seed; absent from release builds.
 */
#if CFUT_DEBUG_CHECKS
extern atomic_bool cfut__sched_on;
void cfut__sched_point(void);
#define CFUT__SCHED_POINT()                                                    \
    do {                                                                       \
        if (__builtin_expect(                                                  \
                atomic_load_explicit(&cfut__sched_on, memory_order_relaxed),   \
                0))                                                            \
            cfut__sched_point();                                               \
    } while (0)
#else
#define CFUT__SCHED_POINT() ((void)0)
#endif

/* Reads CFUT_SCHED_SEED and turns the perturbation on when it is set. */
void cfut__sched_init(void);

/* ---------------------------------------------------------------------- */
/* Tasks                                                                   */
/* ---------------------------------------------------------------------- */

/*
 * The state word ('state'): flags in the low bits, the reference count
 * above them, all in one atomic so that each transition is one CAS or one
 * read-modify-write (async-task's state.rs is the model).
 *
 *   SCHEDULED: the task must be polled (again). Set by a wake of an idle
 *     task together with one push onto a queue, by a cancel of an idle
 *     task (pushed too), and by a wake while RUNNING (then nobody pushes:
 *     the runner pushes after its poll). Cleared by the worker that pops
 *     the task, in the same step that sets RUNNING. Hence a task is on at
 *     most one queue, once: only the thread that moved it from "neither
 *     SCHEDULED nor RUNNING" to SCHEDULED pushes it.
 *   RUNNING: one worker owns the future (polls it, or drops it). Set only
 *     by the popper (SCHEDULED -> RUNNING in one fetch_xor); cleared only
 *     by that worker after the poll: to idle, to SCHEDULED (woken while
 *     running: it pushes the task itself, at the back of its queue), or
 *     to COMPLETED. So no two threads poll a task at once.
 *   COMPLETED: the future was dropped and 'status' (and the output) are
 *     final. Set once, by the RUNNING worker (READY, or CLOSED seen) or
 *     by the shutdown; never cleared. Wakes of a COMPLETED task do
 *     nothing.
 *   CLOSED: cancellation was asked for (cancel, or shutdown). Set once,
 *     never cleared. The owner of the future sees it before the next poll
 *     or right after the current one, and completes the task with
 *     CFUT_ECANCELED instead of polling on. A cancel of an idle task sets
 *     SCHEDULED too and pushes it, so that a worker does the drop.
 *   HANDLE: a join handle exists. Set at spawn; cleared (with its
 *     reference, in one fetch_sub) when the handle is dropped. The one
 *     who completes the task wakes the handle's waker only while it is
 *     set.
 *   References (REF_ONE each): the pool's (from spawn until COMPLETED),
 *     the handle's, one per waker clone. Queues hold none: a queued task
 *     is not COMPLETED, so the pool's reference keeps it. The block is
 *     freed by whoever drops the last one.
 */
#define CFUT__PT_SCHEDULED 0x01u
#define CFUT__PT_RUNNING 0x02u
#define CFUT__PT_COMPLETED 0x04u
#define CFUT__PT_CLOSED 0x08u
#define CFUT__PT_HANDLE 0x10u
#define CFUT__PT_REF_ONE 0x40u
#define CFUT__PT_REF_SHIFT 6

/* A pool task: header, then (in the same block) the future and output. */
struct cfut__ptask {
    atomic_size_t state; /* flags and references (above) */
    /* the join waker, guarded by 'join_lock' (a spin bit) */
    atomic_bool join_lock;
    int status; /* CFUT_OK or CFUT_ECANCELED once COMPLETED */
    struct cfut_waker join_waker;
    /* immutable after spawn */
    struct cfut_pool *pool;
    struct cfut_future *fut; /* in this block */
    void *out;               /* in this block */
    size_t output_size;
    size_t block_size;
    uint64_t id;
    unsigned shard; /* which registry shard it is on */
    /* guarded by the injection queue's lock */
    struct cfut__ptask *inject_next;
    /* guarded by its registry shard's lock */
    struct cfut_list all_link;
};

/* ---------------------------------------------------------------------- */
/* The local ring (tokio's queue: fixed size, steal half)                  */
/* ---------------------------------------------------------------------- */

#define CFUT__RING_CAP 256u
#define CFUT__RING_MASK (CFUT__RING_CAP - 1u)

/*
 * A worker's local run queue: a ring of CFUT__RING_CAP slots. The owner
 * pushes at 'tail' and pops at the head; stealers take half from the
 * head. The head is two u32 in one atomic u64: 'real' (the next slot to
 * take) and 'steal' (equal to 'real' unless a steal is copying slots
 * [steal, real)). The owner never overwrites a slot a stealer copies,
 * because it counts free room from 'steal'.
 */
struct cfut__ring {
    _Alignas(64) atomic_uint_fast64_t head; /* steal << 32 | real */
    _Alignas(64) atomic_uint tail;          /* written by the owner only */
    _Atomic(struct cfut__ptask *) buf[CFUT__RING_CAP];
};

static inline uint64_t
ring_pack(uint32_t steal, uint32_t real)
{
    return (uint64_t)steal << 32 | real;
}

static inline uint32_t
ring_steal(uint64_t h)
{
    return (uint32_t)(h >> 32);
}

static inline uint32_t
ring_real(uint64_t h)
{
    return (uint32_t)h;
}

/* Tells whether 'q' looks empty (any thread; a hint). */
static inline bool
cfut__ring_is_empty(struct cfut__ring *q)
{
    uint64_t h = atomic_load_explicit(&q->head, memory_order_acquire);
    uint32_t t = atomic_load_explicit(&q->tail, memory_order_acquire);
    return ring_real(h) == t;
}

/*
 * Pushes 't' at the tail when there is room. Returns false when the ring
 * is full (the caller moves half of it to the injection queue). Owner only.
 */
static inline bool
cfut__ring_push(struct cfut__ring *q, struct cfut__ptask *t)
{
    uint32_t tail = atomic_load_explicit(&q->tail, memory_order_relaxed);
    uint64_t h = atomic_load_explicit(&q->head, memory_order_acquire);
    if (tail - ring_steal(h) >= CFUT__RING_CAP)
        return false;
    CFUT__SCHED_POINT();
    atomic_store_explicit(&q->buf[tail & CFUT__RING_MASK], t,
                          memory_order_relaxed);
    atomic_store_explicit(&q->tail, tail + 1, memory_order_release);
    return true;
}

/* Pops the task at the head, or NULL when empty. Owner only. */
static inline struct cfut__ptask *
cfut__ring_pop(struct cfut__ring *q)
{
    uint64_t h = atomic_load_explicit(&q->head, memory_order_acquire);
    for (;;) {
        uint32_t steal = ring_steal(h), real = ring_real(h);
        uint32_t tail = atomic_load_explicit(&q->tail, memory_order_relaxed);
        if (real == tail)
            return NULL;
        uint64_t next = steal == real ? ring_pack(real + 1, real + 1)
                                      : ring_pack(steal, real + 1);
        CFUT__SCHED_POINT();
        if (atomic_compare_exchange_weak_explicit(
                &q->head, &h, next, memory_order_acq_rel, memory_order_acquire))
            return atomic_load_explicit(&q->buf[real & CFUT__RING_MASK],
                                        memory_order_relaxed);
    }
}

/*
 * Claims the oldest 'CFUT__RING_CAP / 2' tasks of a full ring for the
 * owner to move elsewhere, copying them to 'dst'. Returns false when a
 * stealer got in first (then the ring has room again). Owner only.
 */
bool cfut__ring_take_half(struct cfut__ring *q, struct cfut__ptask **dst);

/*
 * Steals half of the tasks of 'src' (rounded up) into 'dst', whose owner
 * calls it, and returns one of them to run now (or NULL: nothing stolen).
 * Pre: 'dst' has room for half a ring.
 */
struct cfut__ptask *cfut__ring_steal_into(struct cfut__ring *src,
                                          struct cfut__ring *dst);

/* ---------------------------------------------------------------------- */
/* Workers and the pool                                                    */
/* ---------------------------------------------------------------------- */

/*
 * A thread parker: a futex word. PARKED: asleep on the futex; DRIVER: a
 * worker blocked in the shared driver's turn (an unpark writes the
 * driver's eventfd instead of waking the futex).
 */
enum {
    CFUT__PARK_EMPTY,
    CFUT__PARK_PARKED,
    CFUT__PARK_NOTIFIED,
    CFUT__PARK_DRIVER
};
struct cfut__parker {
    atomic_uint state;
};

/* Blocks until cfut__parker_unpark() (an unpark before it counts). */
void cfut__parker_park(struct cfut__parker *pk);

/* Makes the next or current cfut__parker_park() return. Any thread. */
void cfut__parker_unpark(struct cfut__parker *pk);

/* One registry shard: the live tasks spawned from one worker (or from
 * outside the pool), for the shutdown to find idle ones. */
struct cfut__shard {
    _Alignas(64) pthread_mutex_t lock;
    struct cfut_list tasks; /* on their 'all_link' */
    size_t n_tasks;
    uint64_t n_spawned; /* makes task ids */
};

struct cfut__worker {
    struct cfut__ring ring;                /* first: 64-byte aligned */
    _Alignas(64) struct cfut__ptask *lifo; /* owner only */
    struct cfut_pool *pool;
    unsigned index;
    uint32_t tick;       /* polls, for the fairness check */
    uint32_t budget;     /* of the task being polled */
    uint32_t n_lifo_run; /* consecutive polls from the LIFO slot */
    bool searching;
    bool in_poll;
    bool in_driver; /* turning the shared driver: wakes queue here, and
                       the others are notified after the turn */
    uint64_t rng;   /* victim choice */
    /* statistics (written by the owner, read racily) */
    atomic_uint_fast64_t n_polls, n_steals, n_parks, n_lifo;
    /* guarded by pool->idle_lock */
    struct cfut__worker *idle_next;
    bool is_idle;
    struct cfut__parker parker;
    pthread_t thread;
};

struct cfut_pool {
    unsigned n_workers;
    atomic_bool closed; /* shutting down: no spawn, no push */
    atomic_uint n_searching;
    /* the injection queue */
    _Alignas(64) pthread_mutex_t inject_lock;
    struct cfut__ptask *inject_head, *inject_tail;
    atomic_size_t inject_len;
    bool inject_closed; /* guarded by 'inject_lock' */
    /* idle workers */
    _Alignas(64) pthread_mutex_t idle_lock;
    struct cfut__worker *idle; /* stack, on 'idle_next' */
    atomic_uint n_idle;
    /* lifetime: the user's reference plus one per task block */
    _Alignas(64) atomic_size_t refs;
    atomic_uint_fast64_t next_id;
    struct cfut__shard *shards; /* n_workers + 1 (the last: outside) */
    struct cfut__worker *workers;
    /* I/O and time: the shared driver (cfut_pool_io.c) */
    struct cfut__pool_io io;
};

/* The worker the calling thread is (NULL: not a worker). */
extern _Thread_local struct cfut__worker *cfut__tls_worker;

/*
 * Schedules 't', which the caller just moved to SCHEDULED: onto the
 * calling worker's LIFO slot (or back of its queue when 'is_yield') when
 * the caller is a worker of its pool, else onto the injection queue,
 * unparking an idle worker. After shutdown began the push is skipped.
 */
void cfut__pool_schedule(struct cfut__ptask *t, bool is_yield);

/*
 * Unparks one idle worker unless one is searching already (cfut_pool.c).
 */
void cfut__pool_notify_one(struct cfut_pool *p);

/*
 * Parks worker 'w' in the shared driver when it is in use and no other
 * worker turns it: it blocks in the turn until an fd event, the next
 * timer or an unpark. Returns false (nothing done) when it could not.
 * (cfut_pool_io.c)
 */
bool cfut__pool_park_in_driver(struct cfut__worker *w);

/*
 * The fairness tick's look at the shared driver: a turn that does not
 * block, at most once a millisecond, when the driver is in use and free.
 * (cfut_pool_io.c)
 */
void cfut__pool_io_tick(struct cfut__worker *w);

/* Releases one reference to the pool (the last frees it). */
void cfut__pool_release(struct cfut_pool *p);

/* ---------------------------------------------------------------------- */
/* Task operations (cfut_pool_task.c)                                      */
/* ---------------------------------------------------------------------- */

/* The waker vtable of pool tasks. */
extern const struct cfut_waker_vtable cfut__ptask_waker_vtable;

/* The vtable of pool join handles. */
extern const struct cfut_future_vtable cfut__pool_handle_vtable;

/* Drops one reference to 't' (the last frees its block). */
void cfut__ptask_release(struct cfut__ptask *t, size_t n);

/*
 * Runs 't', which a worker just popped (SCHEDULED): completes it when it
 * is CLOSED, else polls it with 'cx' and applies the outcome.
 */
void cfut__ptask_run(struct cfut__ptask *t, struct cfut_context *cx);

/*
 * Completes a task whose future no thread owns any more (workers are
 * stopped): drops it with CFUT_ECANCELED. Used by the shutdown only.
 */
void cfut__ptask_shutdown(struct cfut__ptask *t);

#endif /* CFUT_POOL_INT_H */
