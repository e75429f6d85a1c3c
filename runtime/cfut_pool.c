/*
 * cfut_pool.c: the multi-threaded executor: worker threads, the steal
 * half of the local ring, the injection queue, scheduling a woken task,
 * the fairness rule, searching and parking (one searching worker
 * unparked at a time), the task registry the shutdown walks, and the
 * public calls (new, free, spawn, block_on, introspection). A task's
 * state word is cfut_pool_task.c's; docs/pool.md explains the design.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cfut_alloc_int.h"
#include "cfut_pool_int.h"
#include "cfut_trace_int.h"

/* Every this many polls a worker looks at the injection queue first. */
#define FAIRNESS_INTERVAL 61u
/* A searcher that found nothing looks again this many times, pausing
 * between looks, before it parks (see spin_search()). */
#define SPIN_ROUNDS 8u
/* At most this many polls in a row from the LIFO slot. */
#define MAX_LIFO_POLLS 3u
/* Where the future starts in a task block. */
#define TASK_FUT_OFF CFUT__ALIGN_UP(sizeof(struct cfut__ptask), CFUT__MAX_ALIGN)

_Thread_local struct cfut__worker *cfut__tls_worker;

/* ---------------------------------------------------------------------- */
/* Schedule perturbation                                                   */
/* ---------------------------------------------------------------------- */

#if CFUT_DEBUG_CHECKS
atomic_bool cfut__sched_on;
static atomic_uint_fast64_t sched_seed;
static atomic_uint_fast64_t sched_n_threads;
static atomic_uint sched_epoch; /* a new seed: every thread reseeds */
static _Thread_local uint64_t sched_rng;
static _Thread_local unsigned sched_my_epoch;

void
cfut__sched_point(void)
{
    unsigned epoch = atomic_load_explicit(&sched_epoch, memory_order_relaxed);
    if (sched_rng == 0 || sched_my_epoch != epoch) {
        sched_my_epoch = epoch;
        uint64_t k = atomic_fetch_add(&sched_n_threads, 1) + 1;
        sched_rng = atomic_load(&sched_seed) ^ (k * 0x9E3779B97F4A7C15u);
        if (sched_rng == 0)
            sched_rng = 1;
    }
    /* xorshift64 */
    uint64_t x = sched_rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    sched_rng = x;
    switch (x & 7u) {
    case 0:
        sched_yield();
        break;
    case 1:
    case 2:
        for (unsigned i = (unsigned)(x >> 8) & 511u; i > 0; i--)
            __asm__ __volatile__("" ::: "memory");
        break;
    default:
        break;
    }
}

void
cfut__sched_init(void)
{
    const char *s = getenv("CFUT_SCHED_SEED");
    if (s == NULL || *s == '\0')
        return;
    atomic_store(&sched_seed, strtoull(s, NULL, 0));
    atomic_store(&sched_n_threads, 0);
    atomic_fetch_add(&sched_epoch, 1);
    atomic_store(&cfut__sched_on, true);
}
#else
void
cfut__sched_init(void)
{
}
#endif

/* ---------------------------------------------------------------------- */
/* Parking (a futex word)                                                  */
/* ---------------------------------------------------------------------- */

#define PARK_EMPTY CFUT__PARK_EMPTY
#define PARK_PARKED CFUT__PARK_PARKED
#define PARK_NOTIFIED CFUT__PARK_NOTIFIED

static void
futex(atomic_uint *word, int op, unsigned val)
{
    (void)syscall(SYS_futex, (void *)word, op | FUTEX_PRIVATE_FLAG, val, NULL,
                  NULL, 0);
}

void
cfut__parker_park(struct cfut__parker *pk)
{
    if (atomic_exchange(&pk->state, PARK_PARKED) == PARK_NOTIFIED) {
        atomic_store(&pk->state, PARK_EMPTY);
        return;
    }
    for (;;) {
        futex(&pk->state, FUTEX_WAIT, PARK_PARKED);
        unsigned expect = PARK_NOTIFIED;
        if (atomic_compare_exchange_strong(&pk->state, &expect, PARK_EMPTY))
            return;
    }
}

void
cfut__parker_unpark(struct cfut__parker *pk)
{
    if (atomic_exchange(&pk->state, PARK_NOTIFIED) == PARK_PARKED)
        futex(&pk->state, FUTEX_WAKE, 1);
}

/* Unparks worker 'w', asleep on its futex or blocked in the driver. */
static void
unpark_worker(struct cfut__worker *w)
{
    unsigned old = atomic_exchange(&w->parker.state, PARK_NOTIFIED);
    if (old == PARK_PARKED)
        futex(&w->parker.state, FUTEX_WAKE, 1);
    else if (old == CFUT__PARK_DRIVER)
        cfut__pool_io_unpark(&w->pool->io);
}

/* ---------------------------------------------------------------------- */
/* The ring's slow paths                                                   */
/* ---------------------------------------------------------------------- */

bool
cfut__ring_take_half(struct cfut__ring *q, struct cfut__ptask **dst)
{
    const uint32_t n = CFUT__RING_CAP / 2;
    uint64_t h = atomic_load_explicit(&q->head, memory_order_acquire);
    uint32_t real = ring_real(h);
    if (ring_steal(h) != real)
        return false; /* a stealer is making room */
    CFUT__SCHED_POINT();
    if (!atomic_compare_exchange_strong_explicit(
            &q->head, &h, ring_pack(real + n, real + n), memory_order_acq_rel,
            memory_order_acquire))
        return false;
    for (uint32_t i = 0; i < n; i++)
        dst[i] = atomic_load_explicit(&q->buf[(real + i) & CFUT__RING_MASK],
                                      memory_order_relaxed);
    return true;
}

struct cfut__ptask *
cfut__ring_steal_into(struct cfut__ring *src, struct cfut__ring *dst)
{
    uint32_t dst_tail = atomic_load_explicit(&dst->tail, memory_order_relaxed);
    /* Claim half: move 'real' forward, leaving 'steal' where it was. */
    uint64_t h = atomic_load_explicit(&src->head, memory_order_acquire);
    uint32_t first, n;
    uint64_t claimed;
    for (;;) {
        uint32_t steal = ring_steal(h), real = ring_real(h);
        if (steal != real)
            return NULL; /* another stealer is at work */
        uint32_t tail = atomic_load_explicit(&src->tail, memory_order_acquire);
        n = tail - real;
        n -= n / 2;
        if (n == 0)
            return NULL;
        if (n > CFUT__RING_CAP / 2)
            n = CFUT__RING_CAP / 2;
        claimed = ring_pack(steal, real + n);
        CFUT__SCHED_POINT();
        if (atomic_compare_exchange_weak_explicit(&src->head, &h, claimed,
                                                  memory_order_acq_rel,
                                                  memory_order_acquire)) {
            first = real;
            break;
        }
    }
    /* Copy them while the owner cannot reuse the slots. */
    for (uint32_t i = 0; i < n; i++) {
        struct cfut__ptask *t = atomic_load_explicit(
            &src->buf[(first + i) & CFUT__RING_MASK], memory_order_relaxed);
        atomic_store_explicit(&dst->buf[(dst_tail + i) & CFUT__RING_MASK], t,
                              memory_order_relaxed);
    }
    /* Release the slots: 'steal' catches up with 'real'. */
    h = claimed;
    for (;;) {
        uint32_t real = ring_real(h);
        CFUT__SCHED_POINT();
        if (atomic_compare_exchange_weak_explicit(
                &src->head, &h, ring_pack(real, real), memory_order_acq_rel,
                memory_order_acquire))
            break;
    }
    /* Keep all but the last; run the last now. */
    n--;
    struct cfut__ptask *run = atomic_load_explicit(
        &dst->buf[(dst_tail + n) & CFUT__RING_MASK], memory_order_relaxed);
    if (n != 0)
        atomic_store_explicit(&dst->tail, dst_tail + n, memory_order_release);
    return run;
}

/* ---------------------------------------------------------------------- */
/* The injection queue                                                     */
/* ---------------------------------------------------------------------- */

/*
 * Appends the chain 'first' .. 'last' ('n' tasks, linked on
 * 'inject_next'). Returns false (and pushes nothing) after shutdown began.
 */
static bool
inject_push(struct cfut_pool *p, struct cfut__ptask *first,
            struct cfut__ptask *last, size_t n)
{
    last->inject_next = NULL;
    pthread_mutex_lock(&p->inject_lock);
    if (p->inject_closed) {
        pthread_mutex_unlock(&p->inject_lock);
        return false;
    }
    if (p->inject_tail != NULL)
        p->inject_tail->inject_next = first;
    else
        p->inject_head = first;
    p->inject_tail = last;
    atomic_store_explicit(
        &p->inject_len,
        atomic_load_explicit(&p->inject_len, memory_order_relaxed) + n,
        memory_order_release);
    pthread_mutex_unlock(&p->inject_lock);
    return true;
}

/*
 * Takes a batch from the injection queue: returns the first to run now and
 * moves up to a fair share of the rest onto the ring of 'w'.
 */
static struct cfut__ptask *
inject_pop(struct cfut_pool *p, struct cfut__worker *w)
{
    if (atomic_load_explicit(&p->inject_len, memory_order_acquire) == 0)
        return NULL;
    pthread_mutex_lock(&p->inject_lock);
    size_t len = atomic_load_explicit(&p->inject_len, memory_order_relaxed);
    if (len == 0) {
        pthread_mutex_unlock(&p->inject_lock);
        return NULL;
    }
    size_t n = len / p->n_workers + 1;
    if (n > len)
        n = len;
    if (n > CFUT__RING_CAP / 2)
        n = CFUT__RING_CAP / 2;
    uint32_t tail = atomic_load_explicit(&w->ring.tail, memory_order_relaxed);
    uint32_t steal =
        ring_steal(atomic_load_explicit(&w->ring.head, memory_order_acquire));
    uint32_t room = CFUT__RING_CAP - (tail - steal);
    if (n - 1 > room)
        n = room + 1;
    struct cfut__ptask *run = p->inject_head;
    struct cfut__ptask *t = run->inject_next;
    for (size_t i = 1; i < n; i++) {
        atomic_store_explicit(&w->ring.buf[tail & CFUT__RING_MASK], t,
                              memory_order_relaxed);
        tail++;
        t = t->inject_next;
    }
    p->inject_head = t;
    if (t == NULL)
        p->inject_tail = NULL;
    atomic_store_explicit(&p->inject_len, len - n, memory_order_relaxed);
    pthread_mutex_unlock(&p->inject_lock);
    CFUT__SCHED_POINT();
    atomic_store_explicit(&w->ring.tail, tail, memory_order_release);
    return run;
}

/* ---------------------------------------------------------------------- */
/* Notifying and scheduling                                                */
/* ---------------------------------------------------------------------- */

/*
 * Unparks one idle worker unless a worker is searching already (it will
 * find the work; when it finds some and was the last searcher it calls
 * this again). The fence pairs with the one in park_worker(): either the
 * parking worker sees the new work, or this sees it idle.
 */
void
cfut__pool_notify_one(struct cfut_pool *p)
{
    atomic_thread_fence(memory_order_seq_cst);
    if (atomic_load_explicit(&p->n_searching, memory_order_relaxed) != 0)
        return;
    if (atomic_load_explicit(&p->n_idle, memory_order_relaxed) == 0)
        return;
    pthread_mutex_lock(&p->idle_lock);
    struct cfut__worker *w = p->idle;
    if (w == NULL ||
        atomic_load_explicit(&p->n_searching, memory_order_relaxed) != 0) {
        pthread_mutex_unlock(&p->idle_lock);
        return;
    }
    p->idle = w->idle_next;
    w->is_idle = false;
    atomic_fetch_sub(&p->n_idle, 1);
    atomic_fetch_add(&p->n_searching, 1); /* on its behalf */
    pthread_mutex_unlock(&p->idle_lock);
    unpark_worker(w);
}

void
cfut__pool_io_first_use(struct cfut_pool *p)
{
    /* A worker that parks from now on turns the driver; wake one in case
     * all sleep on their futex already. */
    cfut__pool_notify_one(p);
}

/* Pushes 't' at the back of the ring of 'w', overflowing half to the
 * injection queue when it is full. */
static void
push_local(struct cfut__worker *w, struct cfut__ptask *t)
{
    struct cfut__ptask *batch[CFUT__RING_CAP / 2];
    while (!cfut__ring_push(&w->ring, t)) {
        if (!cfut__ring_take_half(&w->ring, batch))
            continue;
        const size_t n = CFUT__RING_CAP / 2;
        for (size_t i = 0; i + 1 < n; i++)
            batch[i]->inject_next = batch[i + 1];
        batch[n - 1]->inject_next = t;
        (void)inject_push(w->pool, batch[0], t, n + 1);
        return;
    }
}

void
cfut__pool_schedule(struct cfut__ptask *t, bool is_yield)
{
    struct cfut_pool *p = t->pool;
    struct cfut__worker *w = cfut__tls_worker;
    if (w != NULL && w->pool == p) {
        /* A wake from the driver's turn (a timer, an fd event) goes to the
         * back of the ring, so that tasks run in the order they were
         * woken (timers: earliest deadline first). */
        if (!is_yield && !w->in_driver) {
            struct cfut__ptask *prev = w->lifo;
            w->lifo = t;
            if (prev == NULL)
                return; /* runs next here; nothing for the others */
            t = prev;
        }
        push_local(w, t);
        if (w->in_driver)
            return; /* the others are notified after the turn */
    } else if (!inject_push(p, t, t, 1)) {
        return; /* shutting down: the shutdown completes it */
    }
    cfut__pool_notify_one(p);
}

/* ---------------------------------------------------------------------- */
/* Workers                                                                 */
/* ---------------------------------------------------------------------- */

/* The next task from this worker's own sources, fairness rule first. */
static struct cfut__ptask *
next_local(struct cfut__worker *w)
{
    struct cfut_pool *p = w->pool;
    if (++w->tick % FAIRNESS_INTERVAL == 0) {
        cfut__pool_io_tick(w);
        struct cfut__ptask *t = inject_pop(p, w);
        if (t != NULL)
            return t;
    }
    struct cfut__ptask *t = w->lifo;
    if (t != NULL) {
        w->lifo = NULL;
        if (w->n_lifo_run < MAX_LIFO_POLLS) {
            w->n_lifo_run++;
            atomic_store_explicit(
                &w->n_lifo,
                atomic_load_explicit(&w->n_lifo, memory_order_relaxed) + 1,
                memory_order_relaxed);
            return t;
        }
        push_local(w, t); /* it waits its turn behind the queue */
    }
    w->n_lifo_run = 0;
    t = cfut__ring_pop(&w->ring);
    if (t != NULL)
        return t;
    return inject_pop(p, w);
}

/* Stops searching; the last searcher to find work wakes another. */
static void
stop_searching(struct cfut__worker *w)
{
    if (!w->searching)
        return;
    w->searching = false;
    if (atomic_fetch_sub(&w->pool->n_searching, 1) == 1)
        cfut__pool_notify_one(w->pool);
}

/* Steals from the other workers, then the injection queue. */
static struct cfut__ptask *
search(struct cfut__worker *w)
{
    struct cfut_pool *p = w->pool;
    if (!w->searching) {
        unsigned s = atomic_load(&p->n_searching);
        if (2 * s >= p->n_workers)
            return NULL; /* enough workers search already */
        atomic_fetch_add(&p->n_searching, 1);
        w->searching = true;
    }
    w->rng ^= w->rng << 13;
    w->rng ^= w->rng >> 7;
    w->rng ^= w->rng << 17;
    unsigned start = (unsigned)(w->rng % p->n_workers);
    for (unsigned i = 0; i < p->n_workers; i++) {
        struct cfut__worker *v = &p->workers[(start + i) % p->n_workers];
        if (v == w)
            continue;
        struct cfut__ptask *t = cfut__ring_steal_into(&v->ring, &w->ring);
        if (t != NULL) {
            atomic_store_explicit(
                &w->n_steals,
                atomic_load_explicit(&w->n_steals, memory_order_relaxed) + 1,
                memory_order_relaxed);
            return t;
        }
    }
    return inject_pop(p, w);
}

/* A short pause for a spinning thread (the CPU's hint where there is one). */
static inline void
cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/*
 * Looks for work again a few times before parking, while still counted as
 * searching: a push made meanwhile then needs no unpark
 * (cfut__pool_notify_one() sees a searcher), which spares the pushing thread a
 * futex wake and this one a sleep. Between looks it pauses, then yields the CPU
 * (on a loaded machine the pushing thread may be waiting for it). Costs a few
 * microseconds per idle period.
 */
static struct cfut__ptask *
spin_search(struct cfut__worker *w)
{
    for (unsigned i = 0; i < SPIN_ROUNDS && w->searching; i++) {
        for (unsigned k = 0; k < 32; k++)
            cpu_relax();
        sched_yield();
        struct cfut__ptask *t = search(w);
        if (t != NULL)
            return t;
        if (atomic_load_explicit(&w->pool->closed, memory_order_relaxed))
            break;
    }
    return NULL;
}

/* Tells whether any queue looks non-empty (after the parking fence). */
static bool
work_available(struct cfut_pool *p)
{
    if (atomic_load_explicit(&p->inject_len, memory_order_acquire) != 0)
        return true;
    for (unsigned i = 0; i < p->n_workers; i++)
        if (!cfut__ring_is_empty(&p->workers[i].ring))
            return true;
    return false;
}

/*
 * Parks 'w': it joins the idle stack (no longer searching), looks at the
 * queues once more, and sleeps unless it found work or was taken off the
 * stack meanwhile. A notify takes it off and counts it as searching.
 */
static void
park_worker(struct cfut__worker *w)
{
    struct cfut_pool *p = w->pool;
    pthread_mutex_lock(&p->idle_lock);
    if (w->searching) {
        w->searching = false;
        atomic_fetch_sub(&p->n_searching, 1);
    }
    w->is_idle = true;
    w->idle_next = p->idle;
    p->idle = w;
    atomic_fetch_add(&p->n_idle, 1);
    pthread_mutex_unlock(&p->idle_lock);
    atomic_thread_fence(memory_order_seq_cst);
    if (work_available(p) || atomic_load(&p->closed)) {
        pthread_mutex_lock(&p->idle_lock);
        if (w->is_idle) {
            struct cfut__worker **pp = &p->idle;
            while (*pp != w)
                pp = &(*pp)->idle_next;
            *pp = w->idle_next;
            w->is_idle = false;
            atomic_fetch_sub(&p->n_idle, 1);
            pthread_mutex_unlock(&p->idle_lock);
            return;
        }
        pthread_mutex_unlock(&p->idle_lock);
        /* A notify took it off: its unpark is on the way (consumed next). */
    }
    atomic_store_explicit(
        &w->n_parks,
        atomic_load_explicit(&w->n_parks, memory_order_relaxed) + 1,
        memory_order_relaxed);
    if (!cfut__pool_park_in_driver(w))
        cfut__parker_park(&w->parker);
    /*
     * A notify took it off the stack and counted it as searching; a turn
     * of the driver (an event, a timer) or a late unpark leaves it there.
     */
    pthread_mutex_lock(&p->idle_lock);
    if (w->is_idle) {
        struct cfut__worker **pp = &p->idle;
        while (*pp != w)
            pp = &(*pp)->idle_next;
        *pp = w->idle_next;
        w->is_idle = false;
        atomic_fetch_sub(&p->n_idle, 1);
        w->searching = false;
    } else {
        w->searching = true;
    }
    pthread_mutex_unlock(&p->idle_lock);
    if (!cfut__ring_is_empty(&w->ring))
        cfut__pool_notify_one(
            p); /* the turn woke more than this worker runs next */
}

static void *
worker_main(void *arg)
{
    struct cfut__worker *w = arg;
    struct cfut_pool *p = w->pool;
    cfut__tls_worker = w;
    cfut__tls_pool_io = &p->io;
    cfut__trace_worker((int)w->index);
    struct cfut_context cx;
    cx.budget = &w->budget;
    while (!atomic_load_explicit(&p->closed, memory_order_acquire)) {
        struct cfut__ptask *t = next_local(w);
        if (t == NULL) {
            t = search(w);
            if (t == NULL)
                t = spin_search(w);
            if (t == NULL) {
                park_worker(w);
                continue;
            }
        }
        stop_searching(w);
        w->budget = CFUT_BUDGET;
        atomic_store_explicit(
            &w->n_polls,
            atomic_load_explicit(&w->n_polls, memory_order_relaxed) + 1,
            memory_order_relaxed);
        cfut__ptask_run(t, &cx);
    }
    /* 'n_searching' means nothing once closed: no count to give back. */
    cfut__tls_worker = NULL;
    cfut__tls_pool_io = NULL;
    cfut__trace_worker(-1);
    cfut_thread_cleanup();
    return NULL;
}

/* ---------------------------------------------------------------------- */
/* Pool lifetime                                                           */
/* ---------------------------------------------------------------------- */

void
cfut__pool_release(struct cfut_pool *p)
{
    if (atomic_fetch_sub_explicit(&p->refs, 1, memory_order_acq_rel) != 1)
        return;
    for (unsigned i = 0; i <= p->n_workers; i++)
        pthread_mutex_destroy(&p->shards[i].lock);
    pthread_mutex_destroy(&p->inject_lock);
    pthread_mutex_destroy(&p->idle_lock);
    cfut_free(p->shards);
    cfut_free(p->workers);
    cfut_free(p);
}

/* Stops the workers: 'closed' is set, every worker is unparked and joined. */
static void
stop_workers(struct cfut_pool *p, unsigned n_started)
{
    atomic_store(&p->closed, true);
    pthread_mutex_lock(&p->inject_lock);
    p->inject_closed = true;
    p->inject_head = p->inject_tail = NULL; /* no references in it */
    atomic_store(&p->inject_len, 0);
    pthread_mutex_unlock(&p->inject_lock);
    for (unsigned i = 0; i < n_started; i++)
        unpark_worker(&p->workers[i]);
    for (unsigned i = 0; i < n_started; i++)
        pthread_join(p->workers[i].thread, NULL);
}

int
cfut_pool_new(const struct cfut_pool_config *cfg, struct cfut_pool **out)
{
    if (out == NULL)
        return CFUT_EINVAL;
    unsigned n = cfg != NULL ? cfg->n_workers : 0;
    if (n > 256)
        return CFUT_EINVAL;
    if (n == 0) {
        long c = sysconf(_SC_NPROCESSORS_ONLN);
        n = c < 1 ? 1 : c > 256 ? 256 : (unsigned)c;
    }
    cfut__sched_init();
    int rc = CFUT_ENOMEM;
    struct cfut_pool *p = cfut_alloc(sizeof *p);
    if (p == NULL)
        return CFUT_ENOMEM;
    memset(p, 0, sizeof *p);
    p->n_workers = n;
    p->workers = cfut_alloc(sizeof *p->workers * n);
    p->shards = cfut_alloc(sizeof *p->shards * (n + 1));
    if (p->workers == NULL || p->shards == NULL)
        goto free_pool;
    memset(p->workers, 0, sizeof *p->workers * n);
    memset(p->shards, 0, sizeof *p->shards * (n + 1));
    pthread_mutex_init(&p->inject_lock, NULL);
    pthread_mutex_init(&p->idle_lock, NULL);
    for (unsigned i = 0; i <= n; i++) {
        pthread_mutex_init(&p->shards[i].lock, NULL);
        cfut_list_init(&p->shards[i].tasks);
    }
    atomic_init(&p->refs, 1);
    rc = cfut__pool_io_init(&p->io, p);
    if (rc != CFUT_OK) {
        for (unsigned i = 0; i <= n; i++)
            pthread_mutex_destroy(&p->shards[i].lock);
        pthread_mutex_destroy(&p->inject_lock);
        pthread_mutex_destroy(&p->idle_lock);
        goto free_pool;
    }
    for (unsigned i = 0; i < n; i++) {
        struct cfut__worker *w = &p->workers[i];
        w->pool = p;
        w->index = i;
        w->rng = 0x2545F4914F6CDD1Du * (i + 1);
    }
    cfut__trace_executor_new(p); /* reads CFUT_TRACE once */
    for (unsigned i = 0; i < n; i++) {
        int e = pthread_create(&p->workers[i].thread, NULL, worker_main,
                               &p->workers[i]);
        if (e != 0) {
            stop_workers(p, i);
            cfut__pool_io_deinit(&p->io);
            CFUT__TRACE(executor_free(p));
            cfut__pool_release(p);
            return -e;
        }
    }
    *out = p;
    return CFUT_OK;

free_pool:
    cfut_free(p->workers);
    cfut_free(p->shards);
    cfut_free(p);
    return rc;
}

void
cfut_pool_free(struct cfut_pool *p)
{
    if (p == NULL)
        return;
    CFUT_ASSERT(cfut__tls_worker == NULL || cfut__tls_worker->pool != p,
                "cfut_pool_free() called from a worker of the pool");
    stop_workers(p, p->n_workers);
    /*
     * Every task still registered is not COMPLETED and nobody owns its
     * future now: drop them one by one. A drop may wake or cancel other
     * tasks (their pushes are refused) and free blocks, but completes no
     * other task, so taking the first until none is left ends.
     */
    for (unsigned i = 0; i <= p->n_workers; i++) {
        struct cfut__shard *sh = &p->shards[i];
        for (;;) {
            pthread_mutex_lock(&sh->lock);
            if (cfut_list_is_empty(&sh->tasks)) {
                pthread_mutex_unlock(&sh->lock);
                break;
            }
            struct cfut__ptask *t =
                cfut_container_of(sh->tasks.next, struct cfut__ptask, all_link);
            pthread_mutex_unlock(&sh->lock);
            cfut__ptask_shutdown(t);
        }
    }
    cfut__pool_io_deinit(&p->io); /* no future uses it now */
    CFUT__TRACE(executor_free(p));
    cfut__pool_release(p);
}

/* ---------------------------------------------------------------------- */
/* Spawning                                                                */
/* ---------------------------------------------------------------------- */

int
cfut_pool_spawn(struct cfut_pool *p, struct cfut_future *fresh, size_t size,
                struct cfut_pool_handle *handle)
{
    if (p == NULL || fresh == NULL || size < sizeof(struct cfut_future))
        return CFUT_EINVAL;
#if CFUT_DEBUG_CHECKS
    if (fresh->dbg_magic != CFUT_MAGIC_LIVE ||
        fresh->dbg_state != CFUT_DBG_FRESH)
        return CFUT_EINVAL;
#endif
    if (atomic_load_explicit(&p->closed, memory_order_relaxed))
        return CFUT_ESTATE;
    size_t out_size = cfut_future_output_size(fresh);
    size_t out_off = CFUT__ALIGN_UP(TASK_FUT_OFF + size, CFUT__MAX_ALIGN);
    size_t block = out_off + out_size;
    struct cfut__ptask *t = cfut__alloc_small(block);
    if (t == NULL)
        return CFUT_ENOMEM;
    atomic_init(&t->state, CFUT__PT_SCHEDULED |
                               (handle != NULL ? CFUT__PT_HANDLE : 0u) |
                               CFUT__PT_REF_ONE * (handle != NULL ? 2u : 1u));
    atomic_init(&t->join_lock, false);
    t->status = CFUT_OK;
    t->join_waker = CFUT_WAKER_EMPTY;
    t->pool = p;
    t->fut = (struct cfut_future *)(void *)((char *)t + TASK_FUT_OFF);
    t->out = (char *)t + out_off;
    t->output_size = out_size;
    t->block_size = block;
    t->inject_next = NULL;
    cfut_list_init(&t->all_link);
    cfut__copy(t->fut, fresh, size);
    struct cfut__worker *w = cfut__tls_worker;
    t->shard = w != NULL && w->pool == p ? w->index : p->n_workers;
    atomic_fetch_add_explicit(&p->refs, 1, memory_order_relaxed);
    struct cfut__shard *sh = &p->shards[t->shard];
    pthread_mutex_lock(&sh->lock);
    if (atomic_load_explicit(&p->closed, memory_order_relaxed)) {
        pthread_mutex_unlock(&sh->lock);
        cfut__free_small(t, block);
        cfut__pool_release(p);
        return CFUT_ESTATE;
    }
    cfut_list_push_back(&sh->tasks, &t->all_link);
    sh->n_tasks++;
    /* Unique per pool: shards interleave their sequences. */
    t->id = sh->n_spawned++ * (p->n_workers + 1u) + t->shard + 1u;
    pthread_mutex_unlock(&sh->lock);
#if CFUT_DEBUG_CHECKS
    fresh->dbg_magic = CFUT_MAGIC_DEAD; /* its bytes moved into the task */
    fresh->dbg_state = CFUT_DBG_DROPPED;
#endif
    if (handle != NULL) {
        cfut_future_init(&handle->base, &cfut__pool_handle_vtable);
        handle->task = t;
    }
    CFUT__TRACE(spawn(p, t->id, cfut_future_name(t->fut), false));
    cfut__pool_schedule(t, false);
    return CFUT_OK;
}

/* ---------------------------------------------------------------------- */
/* block_on                                                                */
/* ---------------------------------------------------------------------- */

/* The waker of a block_on: a counted parker of the calling thread. */
struct block_waker {
    atomic_size_t refs;
    struct cfut__parker pk;
};

static const struct cfut_waker_vtable block_waker_vtable;

static struct cfut_waker
block_clone(void *data)
{
    struct block_waker *b = data;
    atomic_fetch_add_explicit(&b->refs, 1, memory_order_relaxed);
    return (struct cfut_waker){&block_waker_vtable, b};
}

static void
block_wake_by_ref(void *data)
{
    struct block_waker *b = data;
    cfut__parker_unpark(&b->pk);
}

static void
block_drop(void *data)
{
    struct block_waker *b = data;
    if (atomic_fetch_sub_explicit(&b->refs, 1, memory_order_acq_rel) == 1)
        cfut_free(b);
}

static void
block_wake(void *data)
{
    block_wake_by_ref(data);
    block_drop(data);
}

static const struct cfut_waker_vtable block_waker_vtable = {
    block_clone, block_wake, block_wake_by_ref, block_drop};

int
cfut_pool_block_on(struct cfut_pool *p, struct cfut_future *f, void *out)
{
    if (f == NULL)
        return CFUT_EINVAL;
    int rc = CFUT_OK;
    void *scratch = NULL;
    struct block_waker *b = NULL;
    if (p == NULL) {
        rc = CFUT_EINVAL;
        goto drop_future;
    }
    if (cfut__tls_worker != NULL) {
        rc = CFUT_EBUSY;
        goto drop_future;
    }
    size_t out_size = cfut_future_output_size(f);
    if (out == NULL && out_size != 0) {
        out = scratch = cfut_alloc(out_size);
        if (scratch == NULL) {
            rc = CFUT_ENOMEM;
            goto drop_future;
        }
    }
    b = cfut_alloc(sizeof *b);
    if (b == NULL) {
        rc = CFUT_ENOMEM;
        goto drop_future;
    }
    atomic_init(&b->refs, 1);
    atomic_init(&b->pk.state, PARK_EMPTY);
    struct cfut_waker w = {&block_waker_vtable, b};
    uint32_t budget;
    struct cfut_context cx;
    cx.waker = &w;
    cx.budget = &budget;
    /* Leaf futures (sleep, I/O) find the pool's shared driver. */
    struct cfut__pool_io *saved_io = cfut__tls_pool_io;
    cfut__tls_pool_io = &p->io;
    for (;;) {
        budget = CFUT_BUDGET;
        if (cfut_future_poll(f, &cx, out) == CFUT_READY)
            break;
        cfut__parker_park(&b->pk);
    }
    cfut_future_drop(f);
    cfut__tls_pool_io = saved_io;
    f = NULL;

drop_future:
    if (f != NULL)
        cfut_future_drop(f);
    if (b != NULL)
        block_drop(b);
    cfut_free(scratch);
    return rc;
}

/* ---------------------------------------------------------------------- */
/* Introspection                                                           */
/* ---------------------------------------------------------------------- */

struct cfut_pool *
cfut_pool_current(void)
{
    return cfut__tls_worker != NULL ? cfut__tls_worker->pool : NULL;
}

int
cfut_pool_worker_index(void)
{
    return cfut__tls_worker != NULL ? (int)cfut__tls_worker->index : -1;
}

unsigned
cfut_pool_n_workers(const struct cfut_pool *p)
{
    return p->n_workers;
}

size_t
cfut_pool_n_tasks(struct cfut_pool *p)
{
    size_t n = 0;
    for (unsigned i = 0; i <= p->n_workers; i++) {
        pthread_mutex_lock(&p->shards[i].lock);
        n += p->shards[i].n_tasks;
        pthread_mutex_unlock(&p->shards[i].lock);
    }
    return n;
}

size_t
cfut_pool_n_task_blocks(const struct cfut_pool *p)
{
    return atomic_load(&((struct cfut_pool *)(uintptr_t)p)->refs) - 1;
}

void
cfut_pool_stats(const struct cfut_pool *p, struct cfut_pool_stats *out)
{
    memset(out, 0, sizeof *out);
    for (unsigned i = 0; i < p->n_workers; i++) {
        struct cfut__worker *w = &p->workers[i];
        out->n_polls += atomic_load_explicit(&w->n_polls, memory_order_relaxed);
        out->n_steals +=
            atomic_load_explicit(&w->n_steals, memory_order_relaxed);
        out->n_parks += atomic_load_explicit(&w->n_parks, memory_order_relaxed);
        out->n_lifo += atomic_load_explicit(&w->n_lifo, memory_order_relaxed);
    }
}
