/*
 * cfut_blocking.c: the blocking pool: a queue of jobs under one mutex,
 * worker threads started on demand (signals blocked) that wait on a
 * condition variable with the pool's idle time, and the future that
 * queues a job and is woken through its task waker when the job is done.
 * It does no I/O of its own and knows no executor: only wakers.
 */
#define _GNU_SOURCE
#include "cfut_blocking.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cfut_list_int.h"

/* The life of a job (under the pool's mutex). */
enum job_state {
    JOB_NEW,     /* not queued yet (before the first poll) */
    JOB_QUEUED,  /* on the pool's queue */
    JOB_RUNNING, /* its function runs on a pool thread */
    JOB_DONE,    /* the function returned: status CFUT_OK */
    JOB_FAILED,  /* it never ran: 'status' says why */
};

struct cfut__blocking_job {
    struct cfut_list queue_link; /* on pool->queue while QUEUED */
    struct cfut_blocking_pool *pool;
    cfut_blocking_fn *fn;
    cfut_blocking_fn *discard;
    enum job_state state;
    int status;              /* once DONE or FAILED */
    bool abandoned;          /* dropped while RUNNING: the worker frees */
    bool seen;               /* the future returned READY */
    struct cfut_waker waker; /* the future's, while it waits */
    _Alignas(max_align_t) unsigned char data[];
};

/* A pool thread's record; joined and freed by whoever finds it ended. */
struct worker {
    struct cfut_list worker_link; /* on pool->workers, then pool->ended */
    struct cfut_blocking_pool *pool;
    pthread_t tid;
};

struct cfut_blocking_pool {
    pthread_mutex_t mu;
    pthread_cond_t cond; /* jobs queued, or shutdown */
    size_t refs;         /* the owner (until freed) + each job */
    size_t max_threads;
    uint64_t idle_ns;
    bool shutdown;
    struct cfut_list queue;   /* struct job, by queue_link */
    struct cfut_list workers; /* struct worker of running threads */
    struct cfut_list ended;   /* struct worker of threads that returned */
    size_t n_threads;
    size_t n_idle;
    size_t n_running;
    uint64_t n_done;
};

/* The pool whose thread this is (for the free-from-inside check). */
static _Thread_local struct cfut_blocking_pool *current_pool;

/* Drops a reference to 'p' (not under its mutex); the last frees it. */
static void
pool_release(struct cfut_blocking_pool *p)
{
    pthread_mutex_lock(&p->mu);
    bool last = --p->refs == 0;
    pthread_mutex_unlock(&p->mu);
    if (!last)
        return;
    pthread_cond_destroy(&p->cond);
    pthread_mutex_destroy(&p->mu);
    cfut_free(p);
}

/* Frees 'j' (the caller has unlinked it and taken its waker). */
static void
job_free(struct cfut__blocking_job *j)
{
    struct cfut_blocking_pool *p = j->pool;
    cfut_free(j);
    pool_release(p);
}

/* ---------------------------------------------------------------------- */
/* Worker threads                                                          */
/* ---------------------------------------------------------------------- */

static void
deadline_after(struct timespec *ts, uint64_t ns)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    uint64_t t = (uint64_t)ts->tv_nsec + ns % 1000000000u;
    ts->tv_sec += (time_t)(ns / 1000000000u + t / 1000000000u);
    ts->tv_nsec = (long)(t % 1000000000u);
}

/*
 * A worker: takes jobs until the queue stays empty for the idle time (or
 * the pool shuts down with the queue empty), then moves its record to
 * 'ended' for someone to join.
 */
static void *
worker_main(void *arg)
{
    struct worker *w = arg;
    struct cfut_blocking_pool *p = w->pool;
    current_pool = p;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        if (cfut_list_is_empty(&p->queue)) {
            if (p->shutdown)
                break;
            p->n_idle++;
            int rc = 0;
            if (p->idle_ns == CFUT_BLOCKING_KEEP_IDLE) {
                pthread_cond_wait(&p->cond, &p->mu);
            } else {
                struct timespec ts;
                deadline_after(&ts, p->idle_ns);
                rc = pthread_cond_timedwait(&p->cond, &p->mu, &ts);
            }
            p->n_idle--;
            if (rc == ETIMEDOUT && cfut_list_is_empty(&p->queue))
                break; /* idle for the whole idle time */
            continue;
        }
        struct cfut__blocking_job *j =
            cfut_container_of(cfut_list_pop_front(&p->queue),
                              struct cfut__blocking_job, queue_link);
        j->state = JOB_RUNNING;
        p->n_running++;
        pthread_mutex_unlock(&p->mu);

        j->fn(j->data);

        pthread_mutex_lock(&p->mu);
        p->n_running--;
        p->n_done++;
        if (j->abandoned) {
            /* The future is gone: discard the result, free the job. */
            pthread_mutex_unlock(&p->mu);
            if (j->discard != NULL)
                j->discard(j->data);
            job_free(j);
            pthread_mutex_lock(&p->mu);
            continue;
        }
        j->state = JOB_DONE;
        j->status = CFUT_OK;
        struct cfut_waker wk = j->waker;
        j->waker = CFUT_WAKER_EMPTY;
        pthread_mutex_unlock(&p->mu);
        cfut_waker_wake(&wk); /* crosses to the future's executor */
        pthread_mutex_lock(&p->mu);
    }
    p->n_threads--;
    cfut_list_remove(&w->worker_link);
    cfut_list_push_back(&p->ended, &w->worker_link);
    pthread_cond_broadcast(&p->cond); /* a shutdown may wait for this */
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

/*
 * Joins and frees the records of threads that have ended. Called without
 * the mutex held; takes it to unlink each record.
 */
static void
join_ended(struct cfut_blocking_pool *p)
{
    for (;;) {
        pthread_mutex_lock(&p->mu);
        struct cfut_list *n = cfut_list_pop_front(&p->ended);
        pthread_mutex_unlock(&p->mu);
        if (n == NULL)
            return;
        struct worker *w = cfut_container_of(n, struct worker, worker_link);
        pthread_join(w->tid, NULL);
        cfut_free(w);
    }
}

/*
 * Starts a thread with every signal blocked (it inherits the mask set
 * around pthread_create(), so no signal can reach it even before its
 * first instruction). Called with the mutex held.
 * Returns: 0; CFUT_ENOMEM; pthread_create()'s error as -errno.
 */
static int
start_thread_locked(struct cfut_blocking_pool *p)
{
    struct worker *w = cfut_alloc(sizeof *w);
    if (w == NULL)
        return CFUT_ENOMEM;
    w->pool = p;
    cfut_list_init(&w->worker_link);
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&w->tid, NULL, worker_main, w);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        cfut_free(w);
        return -rc;
    }
    cfut_list_push_back(&p->workers, &w->worker_link);
    p->n_threads++;
    return CFUT_OK;
}

/* ---------------------------------------------------------------------- */
/* Pools                                                                   */
/* ---------------------------------------------------------------------- */

int
cfut_blocking_pool_new(const struct cfut_blocking_config *cfg,
                       struct cfut_blocking_pool **out)
{
    if (out == NULL)
        return CFUT_EINVAL;
    struct cfut_blocking_pool *p = cfut_alloc(sizeof *p);
    if (p == NULL)
        return CFUT_ENOMEM;
    memset(p, 0, sizeof *p);
    int rc = pthread_mutex_init(&p->mu, NULL);
    if (rc != 0)
        goto free_pool;
    pthread_condattr_t ca;
    rc = pthread_condattr_init(&ca);
    if (rc != 0)
        goto destroy_mutex;
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    rc = pthread_cond_init(&p->cond, &ca);
    pthread_condattr_destroy(&ca);
    if (rc != 0)
        goto destroy_mutex;
    p->refs = 1;
    p->max_threads = cfg != NULL && cfg->max_threads != 0
                         ? cfg->max_threads
                         : CFUT_BLOCKING_MAX_THREADS;
    p->idle_ns =
        cfg != NULL && cfg->idle_ns != 0 ? cfg->idle_ns : CFUT_BLOCKING_IDLE_NS;
    cfut_list_init(&p->queue);
    cfut_list_init(&p->workers);
    cfut_list_init(&p->ended);
    *out = p;
    return CFUT_OK;

destroy_mutex:
    pthread_mutex_destroy(&p->mu);
free_pool:
    cfut_free(p);
    return -rc;
}

void
cfut_blocking_pool_free(struct cfut_blocking_pool *p)
{
    if (p == NULL)
        return;
    CFUT_ASSERT(current_pool != p,
                "cfut_blocking_pool_free: called on one of the pool's own "
                "threads (it would join itself)");
    /*
     * Queued jobs fail. Each moves to 'cancelled' (still under the lock:
     * a drop meanwhile unlinks it from there) and its waker is taken and
     * woken one at a time, outside the lock.
     */
    struct cfut_list cancelled;
    cfut_list_init(&cancelled);
    pthread_mutex_lock(&p->mu);
    p->shutdown = true;
    struct cfut_list *n;
    while ((n = cfut_list_pop_front(&p->queue)) != NULL) {
        struct cfut__blocking_job *j =
            cfut_container_of(n, struct cfut__blocking_job, queue_link);
        j->state = JOB_FAILED;
        j->status = CFUT_ECANCELED;
        cfut_list_push_back(&cancelled, &j->queue_link);
    }
    pthread_cond_broadcast(&p->cond);
    for (;;) {
        n = cfut_list_pop_front(&cancelled);
        if (n == NULL)
            break;
        struct cfut__blocking_job *j =
            cfut_container_of(n, struct cfut__blocking_job, queue_link);
        struct cfut_waker wk = j->waker;
        j->waker = CFUT_WAKER_EMPTY;
        pthread_mutex_unlock(&p->mu);
        cfut_waker_wake(&wk);
        pthread_mutex_lock(&p->mu);
    }
    /* Wait for every thread to end (running jobs finish), join them. */
    while (p->n_threads > 0)
        pthread_cond_wait(&p->cond, &p->mu);
    pthread_mutex_unlock(&p->mu);
    join_ended(p);
    pool_release(p);
}

void
cfut_blocking_pool_stats(struct cfut_blocking_pool *p,
                         struct cfut_blocking_stats *out)
{
    pthread_mutex_lock(&p->mu);
    size_t queued = 0;
    cfut_list_for_each(it, &p->queue) queued++;
    *out = (struct cfut_blocking_stats){p->n_threads, p->n_idle, queued,
                                        p->n_running, p->n_done};
    pthread_mutex_unlock(&p->mu);
}

/* The default pool: made at first use, freed at exit or on request. */
static pthread_mutex_t default_mu = PTHREAD_MUTEX_INITIALIZER;
static struct cfut_blocking_pool *default_pool;
static bool at_exit_registered;

static void
default_at_exit(void)
{
    /* A pool thread that calls exit() cannot join itself: leave it. */
    if (current_pool == NULL || current_pool != default_pool)
        cfut_blocking_default_shutdown();
}

int
cfut_blocking_pool_default(struct cfut_blocking_pool **out)
{
    if (out == NULL)
        return CFUT_EINVAL;
    int rc = CFUT_OK;
    pthread_mutex_lock(&default_mu);
    if (default_pool == NULL) {
        rc = cfut_blocking_pool_new(NULL, &default_pool);
        if (rc == CFUT_OK && !at_exit_registered)
            at_exit_registered = atexit(default_at_exit) == 0;
    }
    if (rc == CFUT_OK)
        *out = default_pool;
    pthread_mutex_unlock(&default_mu);
    return rc;
}

void
cfut_blocking_default_shutdown(void)
{
    pthread_mutex_lock(&default_mu);
    struct cfut_blocking_pool *p = default_pool;
    default_pool = NULL;
    pthread_mutex_unlock(&default_mu);
    cfut_blocking_pool_free(p);
}

/* ---------------------------------------------------------------------- */
/* Jobs                                                                    */
/* ---------------------------------------------------------------------- */

/*
 * Queues 'j' and makes sure a thread will take it: one is idle, or one
 * starts (up to the maximum). Called with the mutex held. When no thread
 * exists and none can start, the job fails with that error.
 */
static void
submit_locked(struct cfut_blocking_pool *p, struct cfut__blocking_job *j)
{
    if (p->shutdown) {
        j->state = JOB_FAILED;
        j->status = CFUT_ECANCELED;
        return;
    }
    cfut_list_push_back(&p->queue, &j->queue_link);
    j->state = JOB_QUEUED;
    size_t queued = 0;
    cfut_list_for_each(it, &p->queue)
    {
        if (++queued > p->n_idle)
            break;
    }
    if (queued > p->n_idle && p->n_threads < p->max_threads) {
        int rc = start_thread_locked(p);
        if (rc != CFUT_OK && p->n_threads == 0) {
            cfut_list_remove(&j->queue_link);
            j->state = JOB_FAILED;
            j->status = rc;
            return;
        }
    }
    pthread_cond_signal(&p->cond);
}

/*
 * States (under the pool's mutex): NEW: queue it (first poll). QUEUED or
 * RUNNING: keep the latest waker, PENDING. DONE or FAILED: READY with the
 * status.
 */
static enum cfut_poll
cfut_blocking_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct cfut_blocking *b = cfut_container_of(f, struct cfut_blocking, base);
    struct cfut__blocking_job *j = b->job;
    struct cfut_blocking_pool *p = j->pool;
    struct cfut_waker old = CFUT_WAKER_EMPTY;
    if (!b->submitted)
        join_ended(p); /* threads that went idle and ended */
    pthread_mutex_lock(&p->mu);
    if (!b->submitted) {
        b->submitted = true;
        submit_locked(p, j);
    }
    bool done = j->state == JOB_DONE || j->state == JOB_FAILED;
    if (done) {
        j->seen = true;
        old = j->waker;
        j->waker = CFUT_WAKER_EMPTY;
    } else if (!cfut_waker_will_wake(&j->waker, cx->waker)) {
        old = j->waker;
        j->waker = cfut_waker_clone(cx->waker);
    }
    int status = j->status;
    pthread_mutex_unlock(&p->mu);
    cfut_waker_drop(&old);
    if (!done)
        return CFUT_PENDING;
    *(int *)out = status;
    return CFUT_READY;
}

/*
 * Unqueues a job not started, leaves a running one to its worker (which
 * discards its result), frees the others; calls 'discard' when the
 * output was not seen.
 */
static void
cfut_blocking_drop(struct cfut_future *f)
{
    struct cfut_blocking *b = cfut_container_of(f, struct cfut_blocking, base);
    struct cfut__blocking_job *j = b->job;
    struct cfut_blocking_pool *p = j->pool;
    pthread_mutex_lock(&p->mu);
    bool running = j->state == JOB_RUNNING;
    if (cfut_list_is_linked(&j->queue_link))
        cfut_list_remove(&j->queue_link); /* queued, or being cancelled */
    if (running)
        j->abandoned = true;
    struct cfut_waker wk = j->waker;
    j->waker = CFUT_WAKER_EMPTY;
    pthread_mutex_unlock(&p->mu);
    cfut_waker_drop(&wk);
    if (running)
        return; /* the worker discards and frees it */
    if (!j->seen && j->discard != NULL)
        j->discard(j->data);
    job_free(j);
}

static const struct cfut_future_vtable cfut_blocking_vtable = {
    cfut_blocking_poll, cfut_blocking_drop, sizeof(int), "blocking", NULL};

int
cfut_blocking_init(struct cfut_blocking *f, struct cfut_blocking_pool *p,
                   cfut_blocking_fn *fn, cfut_blocking_fn *discard,
                   const void *data, size_t size)
{
    if (f == NULL || fn == NULL)
        return CFUT_EINVAL;
    if (p == NULL) {
        int rc = cfut_blocking_pool_default(&p);
        if (rc != CFUT_OK)
            return rc;
    }
    if (size > SIZE_MAX - sizeof(struct cfut__blocking_job))
        return CFUT_ENOMEM;
    struct cfut__blocking_job *j = cfut_alloc(sizeof *j + size);
    if (j == NULL)
        return CFUT_ENOMEM;
    cfut_list_init(&j->queue_link);
    j->pool = p;
    j->fn = fn;
    j->discard = discard;
    j->state = JOB_NEW;
    j->status = 0;
    j->abandoned = false;
    j->seen = false;
    j->waker = CFUT_WAKER_EMPTY;
    if (size > 0) {
        if (data != NULL)
            memcpy(j->data, data, size);
        else
            memset(j->data, 0, size);
    }
    pthread_mutex_lock(&p->mu);
    p->refs++;
    pthread_mutex_unlock(&p->mu);
    cfut_future_init(&f->base, &cfut_blocking_vtable);
    f->job = j;
    f->submitted = false;
    return CFUT_OK;
}

void *
cfut_blocking_data(struct cfut_blocking *f)
{
    return f->job->data;
}
