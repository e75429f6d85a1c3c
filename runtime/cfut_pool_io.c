/*
 * cfut_pool_io.c: the pool's shared driver (cfut_pool_io_int.h): one
 * epoll driver and one timer heap per pool under one lock; its turn
 * (wait without the lock, dispatch and fire timers under it); the sleep
 * of a pool task (the timer lives in the shared heap, so a task that
 * moves to another worker keeps it); registrations on the pool (the
 * public cfut_pool_io_new() and cfut_pool_fd_stream_new()). Parking
 * workers in the driver is cfut_pool.c's; docs/pool.md tells the design.
 */
#define _GNU_SOURCE
#include "cfut_pool_io_int.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "cfut_executor_int.h"
#include "cfut_pool_int.h"
#include "cfut_stream.h"

_Thread_local struct cfut__pool_io *cfut__tls_pool_io;

/* ---------------------------------------------------------------------- */
/* The driver                                                              */
/* ---------------------------------------------------------------------- */

int
cfut__pool_io_init(struct cfut__pool_io *pio, struct cfut_pool *p)
{
    memset(pio, 0, sizeof *pio);
    int rc = cfut__driver_default_new(&pio->drv);
    if (rc != CFUT_OK)
        return rc;
    pthread_mutex_init(&pio->sh.lock, NULL);
    cfut__timers_init(&pio->timers, pio->drv, p);
    pio->pool = p;
    pio->wait_until = UINT64_MAX;
    atomic_init(&pio->busy, false);
    atomic_init(&pio->used, false);
    return CFUT_OK;
}

void
cfut__pool_io_deinit(struct cfut__pool_io *pio)
{
    CFUT_ASSERT(pio->timers.n == 0,
                "a pool was freed with a timer armed by a future that "
                "outlives its task");
    cfut__io_reap(&pio->sh);
    cfut__timers_deinit(&pio->timers);
    pio->drv->vt->free(pio->drv); /* aborts if a registration is alive */
    pthread_mutex_destroy(&pio->sh.lock);
}

void
cfut__pool_io_unpark(struct cfut__pool_io *pio)
{
    pio->drv->vt->unpark(pio->drv);
}

void
cfut__pool_io_turn(struct cfut__pool_io *pio, bool block)
{
    struct cfut__io_shared *sh = &pio->sh;
    pthread_mutex_lock(&sh->lock);
    uint64_t now = cfut__timers_now(&pio->timers);
    pio->last_turn = now; /* (guarded by 'busy', which the caller holds) */
    size_t fired = cfut__timers_fire_due(&pio->timers, now);
    int64_t wait = 0;
    if (block && fired == 0) {
        uint64_t next = cfut__timers_next_deadline(&pio->timers);
        if (next == UINT64_MAX) {
            wait = CFUT__DRIVER_FOREVER;
        } else {
            uint64_t d = next - now; /* not due: next > now */
            wait = d > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)d;
        }
        pio->blocking = true;
        pio->wait_until = next;
    }
    sh->in_turn = true; /* the events of this turn may name a registration
                           freed before its dispatch: see cfut_io_free() */
    pthread_mutex_unlock(&sh->lock);

    int n = cfut__epoll_wait(pio->drv, wait);

    pthread_mutex_lock(&sh->lock);
    pio->blocking = false;
    pio->wait_until = UINT64_MAX;
    if (n > 0)
        cfut__epoll_dispatch(pio->drv, n);
    if (pio->timers.n != 0)
        (void)cfut__timers_fire_due(&pio->timers,
                                    cfut__timers_now(&pio->timers));
    sh->in_turn = false;
    cfut__io_reap(sh);
    pthread_mutex_unlock(&sh->lock);
}

/* Marks 'pio' used; the first time, tells the pool. */
static void
note_use(struct cfut__pool_io *pio)
{
    if (atomic_load_explicit(&pio->used, memory_order_relaxed))
        return;
    if (!atomic_exchange(&pio->used, true))
        cfut__pool_io_first_use(pio->pool);
}

/* ---------------------------------------------------------------------- */
/* Sleep on the pool                                                       */
/* ---------------------------------------------------------------------- */

/*
 * The sleep's vtable once its timer is in a pool's heap: the same states
 * as cfut_time.c's sleep, with the heap's lock around each look, since
 * the turning worker fires timers while the task runs elsewhere.
 */
static enum cfut_poll
pool_sleep_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct cfut_sleep *s = cfut_container_of(f, struct cfut_sleep, base);
    struct cfut__pool_io *pio = s->timers;
    pthread_mutex_lock(&pio->sh.lock);
    if (!cfut__timer_is_armed(&s->timer)) {
        pthread_mutex_unlock(&pio->sh.lock);
        *(int *)out = CFUT_OK;
        return CFUT_READY;
    }
    cfut_waker_register(&s->timer.waker, cx->waker);
    pthread_mutex_unlock(&pio->sh.lock);
    return CFUT_PENDING;
}

static void
pool_sleep_drop(struct cfut_future *f)
{
    struct cfut_sleep *s = cfut_container_of(f, struct cfut_sleep, base);
    struct cfut__pool_io *pio = s->timers;
    pthread_mutex_lock(&pio->sh.lock);
    struct cfut_waker k = s->timer.waker; /* dropped outside the lock */
    s->timer.waker = CFUT_WAKER_EMPTY;
    cfut__timers_remove(&pio->timers, &s->timer);
    pthread_mutex_unlock(&pio->sh.lock);
    cfut_waker_drop(&k);
}

static const struct cfut_future_vtable pool_sleep_vtable = {
    pool_sleep_poll, pool_sleep_drop, sizeof(int), "sleep", NULL};

enum cfut_poll
cfut__pool_sleep_start(struct cfut_sleep *s, struct cfut_context *cx,
                       int *status)
{
    struct cfut__pool_io *pio = cfut__tls_pool_io;
    if (pio == NULL) {
        *status = CFUT_ESTATE;
        return CFUT_READY;
    }
    pthread_mutex_lock(&pio->sh.lock);
    uint64_t now = cfut__timers_now(&pio->timers);
    if (s->relative) {
        s->ns = s->ns > UINT64_MAX - now ? UINT64_MAX : now + s->ns;
        s->relative = false;
    }
    if (s->ns <= now) {
        pthread_mutex_unlock(&pio->sh.lock);
        if (!cfut_context_consume_budget(cx))
            return CFUT_PENDING;
        *status = CFUT_OK;
        return CFUT_READY;
    }
    s->timer.deadline = s->ns;
    int rc = cfut__timers_insert(&pio->timers, &s->timer, cx->waker);
    bool unpark = false;
    if (rc == CFUT_OK && pio->blocking && s->ns < pio->wait_until) {
        pio->wait_until = s->ns; /* the blocked turn must wake sooner */
        unpark = true;
    }
    pthread_mutex_unlock(&pio->sh.lock);
    if (rc != CFUT_OK) {
        *status = rc;
        return CFUT_READY;
    }
    s->timers = pio;
    s->armed = true;
    s->base.vtable = &pool_sleep_vtable; /* polls and drop under the lock */
    if (unpark)
        cfut__pool_io_unpark(pio);
    note_use(pio);
    return CFUT_PENDING;
}

int
cfut__pool_io_now(uint64_t *now)
{
    struct cfut__pool_io *pio = cfut__tls_pool_io;
    if (pio == NULL)
        return CFUT_ESTATE;
    *now = pio->drv->vt->now(pio->drv); /* CLOCK_MONOTONIC: no state */
    return CFUT_OK;
}

/* ---------------------------------------------------------------------- */
/* Registrations on the pool                                               */
/* ---------------------------------------------------------------------- */

static int
pool_io_new(struct cfut__pool_io *pio, int fd, struct cfut_io **out)
{
    int rc = cfut__io_new_shared(pio->drv, &pio->sh, pio->pool, fd, out);
    if (rc == CFUT_OK)
        note_use(pio);
    return rc;
}

int
cfut_pool_io_new(struct cfut_pool *p, int fd, struct cfut_io **out)
{
    if (p == NULL || out == NULL || fd < 0)
        return CFUT_EINVAL;
    return pool_io_new(&p->io, fd, out);
}

int
cfut_pool_fd_stream_new(struct cfut_pool *p, int fd, struct cfut_stream **out)
{
    if (p == NULL || out == NULL || fd < 0)
        return CFUT_EINVAL;
    struct cfut_io *io;
    int rc = pool_io_new(&p->io, fd, &io);
    if (rc != CFUT_OK)
        return rc;
    rc = cfut_fd_stream_from_io(io, out);
    if (rc != CFUT_OK)
        cfut__io_free_keep_fd(io); /* 'fd' stays the caller's */
    return rc;
}

int
cfut__io_new_current(int fd, struct cfut_io **out)
{
    struct cfut_executor *ex = cfut_executor_current();
    if (ex != NULL)
        return cfut_io_new(ex, fd, out);
    if (cfut__tls_pool_io == NULL)
        return CFUT_ESTATE;
    return pool_io_new(cfut__tls_pool_io, fd, out);
}

void
cfut_pool_io_counts(struct cfut_pool *p, struct cfut_pool_io_counts *out)
{
    struct cfut__pool_io *pio = &p->io;
    pthread_mutex_lock(&pio->sh.lock);
    out->n_timers = pio->timers.n;
    out->n_waiters = pio->drv->n_waiters;
    out->n_registrations = pio->drv->n_regs;
    pthread_mutex_unlock(&pio->sh.lock);
}

/* ---------------------------------------------------------------------- */
/* Workers in the driver                                                   */
/* ---------------------------------------------------------------------- */

/* The least time between two turns of the fairness tick (as the
 * single-threaded executor's TURN_INTERVAL_NS). */
#define TICK_TURN_NS 1000000u

bool
cfut__pool_park_in_driver(struct cfut__worker *w)
{
    struct cfut__pool_io *pio = &w->pool->io;
    if (!atomic_load_explicit(&pio->used, memory_order_acquire) ||
        atomic_exchange_explicit(&pio->busy, true, memory_order_acquire))
        return false;
    struct cfut__parker *pk = &w->parker;
    /* An unpark from now on writes the eventfd: the turn returns. */
    if (atomic_exchange(&pk->state, CFUT__PARK_DRIVER) != CFUT__PARK_NOTIFIED) {
        w->in_driver = true;
        cfut__pool_io_turn(pio, true);
        w->in_driver = false;
    }
    atomic_store(&pk->state, CFUT__PARK_EMPTY); /* an unpark is consumed */
    atomic_store_explicit(&pio->busy, false, memory_order_release);
    return true;
}

void
cfut__pool_io_tick(struct cfut__worker *w)
{
    struct cfut__pool_io *pio = &w->pool->io;
    if (!atomic_load_explicit(&pio->used, memory_order_relaxed) ||
        atomic_load_explicit(&pio->busy, memory_order_relaxed) ||
        atomic_exchange_explicit(&pio->busy, true, memory_order_acquire))
        return;
    uint64_t now = pio->drv->vt->now(pio->drv);
    bool turn = now - pio->last_turn >= TICK_TURN_NS;
    if (turn) {
        w->in_driver = true;
        cfut__pool_io_turn(pio, false);
        w->in_driver = false;
    }
    atomic_store_explicit(&pio->busy, false, memory_order_release);
    if (turn && !cfut__ring_is_empty(&w->ring))
        cfut__pool_notify_one(w->pool); /* others may take some */
}
