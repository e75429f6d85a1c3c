/*
 * bench_pool.c: the multi-threaded executor (cfut_pool) on the workloads
 * of tokio's own multi-threaded runtime benchmarks
 * (benches/rt_multi_threaded.rs): spawn_many_local, spawn_many_remote_idle,
 * spawn_many_remote_busy, yield_many, ping_pong, chained_spawn. Impl
 * 'cfut-pool' runs 2 workers (this machine's core count, the peer's
 * too); 'cfut-pool-1w' runs 1, for the scaling table. The peers are in
 * bench/peers/rust (tokio-multi-thread, 2 workers).
 */
#include "benchkit.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include <cfut.h>

#define NUM_SPAWN 10000u /* tasks per spawn_many batch */
#define YIELD_TASKS 200u /* yield_many: tasks ... */
#define NUM_YIELD 1000u  /* ... each yielding this often */
#define NUM_PINGS 1000u  /* ping_pong: pings per batch */
#define CHAIN 1000u      /* chained_spawn: spawns per chain */

static struct cfut_pool *pool;

static void
check(int rc)
{
    if (rc != CFUT_OK) {
        fprintf(stderr, "bench_pool: %s\n", cfut_strerror(rc));
        abort();
    }
}

/* ---- a latch: counts down, the last one wakes the waiter ---- */

struct latch {
    atomic_long rem;
    pthread_mutex_t lock;
    struct cfut_waker waker; /* guarded by 'lock' */
    bool fired;              /* guarded by 'lock' */
};

static struct latch latch = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void
latch_arm(long n)
{
    atomic_store(&latch.rem, n);
    latch.fired = false;
}

static void
latch_count_down(void)
{
    if (atomic_fetch_sub_explicit(&latch.rem, 1, memory_order_acq_rel) != 1)
        return;
    pthread_mutex_lock(&latch.lock);
    latch.fired = true;
    struct cfut_waker w = latch.waker;
    latch.waker = CFUT_WAKER_EMPTY;
    pthread_mutex_unlock(&latch.lock);
    cfut_waker_wake(&w);
}

struct latch_wait {
    struct cfut_future base;
};

static enum cfut_poll
latch_wait_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    (void)f;
    (void)out;
    pthread_mutex_lock(&latch.lock);
    bool fired = latch.fired;
    if (!fired)
        cfut_waker_register(&latch.waker, cx->waker);
    pthread_mutex_unlock(&latch.lock);
    return fired ? CFUT_READY : CFUT_PENDING;
}

static const struct cfut_future_vtable latch_wait_vtable = {
    latch_wait_poll, NULL, 0, "latch_wait", NULL};

/* Blocks the calling thread until the latch fires. */
static void
latch_wait(void)
{
    struct latch_wait w;
    cfut_future_init(&w.base, &latch_wait_vtable);
    check(cfut_pool_block_on(pool, &w.base, NULL));
}

/* ---- tasks ---- */

/* Counts the latch down and ends. */
struct tick {
    struct cfut_future base;
};

static enum cfut_poll
tick_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    (void)f;
    (void)cx;
    (void)out;
    latch_count_down();
    return CFUT_READY;
}

static const struct cfut_future_vtable tick_vtable = {tick_poll, NULL, 0,
                                                      "tick", NULL};

static void
spawn_tick(void)
{
    struct tick t;
    cfut_future_init(&t.base, &tick_vtable);
    check(cfut_pool_spawn(pool, &t.base, sizeof t, NULL));
}

/* Spawns 'n' ticks from inside the pool. */
struct spawner {
    struct cfut_future base;
    unsigned n;
};

static enum cfut_poll
spawner_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    (void)cx;
    (void)out;
    struct spawner *s = cfut_container_of(f, struct spawner, base);
    for (unsigned i = 0; i < s->n; i++)
        spawn_tick();
    return CFUT_READY;
}

static const struct cfut_future_vtable spawner_vtable = {spawner_poll, NULL, 0,
                                                         "spawner", NULL};

/* Returns READY, with nothing: the remote spawns' task. */
static enum cfut_poll
nop_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    (void)f;
    (void)cx;
    (void)out;
    return CFUT_READY;
}

static const struct cfut_future_vtable nop_vtable = {nop_poll, NULL, 0, "nop",
                                                     NULL};

/* Awaits 'n' join handles in order. */
struct join_all {
    struct cfut_future base;
    struct cfut_pool_handle *hs;
    unsigned n, next;
};

static enum cfut_poll
join_all_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    (void)out;
    struct join_all *j = cfut_container_of(f, struct join_all, base);
    while (j->next < j->n) {
        struct cfut_join_status st;
        if (cfut_future_poll(&j->hs[j->next].base, cx, &st) == CFUT_PENDING)
            return CFUT_PENDING;
        if (st.status != CFUT_OK)
            abort();
        cfut_future_drop(&j->hs[j->next].base);
        j->next++;
    }
    return CFUT_READY;
}

static void
join_all_drop(struct cfut_future *f)
{
    struct join_all *j = cfut_container_of(f, struct join_all, base);
    for (unsigned i = j->next; i < j->n; i++)
        cfut_future_drop(&j->hs[i].base);
}

static const struct cfut_future_vtable join_all_vtable = {
    join_all_poll, join_all_drop, 0, "join_all", NULL};

/* Yields 'n' times (waking itself), then counts the latch down. */
struct yielder {
    struct cfut_future base;
    unsigned n;
    atomic_bool *stop; /* busy mode: yields until it is set */
};

static enum cfut_poll
yielder_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    (void)out;
    struct yielder *y = cfut_container_of(f, struct yielder, base);
    bool more = y->stop != NULL
                    ? !atomic_load_explicit(y->stop, memory_order_relaxed)
                    : y->n-- > 0;
    if (more) {
        cfut_waker_wake_by_ref(cx->waker);
        return CFUT_PENDING;
    }
    latch_count_down();
    return CFUT_READY;
}

static const struct cfut_future_vtable yielder_vtable = {yielder_poll, NULL, 0,
                                                         "yielder", NULL};

static void
spawn_yielder(unsigned n, atomic_bool *stop)
{
    struct yielder y;
    cfut_future_init(&y.base, &yielder_vtable);
    y.n = n;
    y.stop = stop;
    check(cfut_pool_spawn(pool, &y.base, sizeof y, NULL));
}

/* ---- spawn_many_local: spawns from a task on the pool ---- */

static uint64_t
spawn_many_local(uint64_t ops)
{
    for (uint64_t done = 0; done < ops; done += NUM_SPAWN) {
        latch_arm(NUM_SPAWN);
        struct spawner s;
        cfut_future_init(&s.base, &spawner_vtable);
        s.n = NUM_SPAWN;
        check(cfut_pool_spawn(pool, &s.base, sizeof s, NULL));
        latch_wait();
    }
    return ops;
}

/* ---- spawn_many_remote_*: spawns from outside, handles awaited ---- */

static struct cfut_pool_handle handles[NUM_SPAWN];

static void
spawn_remote_batch(void)
{
    for (unsigned i = 0; i < NUM_SPAWN; i++) {
        struct tick t;
        cfut_future_init(&t.base, &nop_vtable);
        check(cfut_pool_spawn(pool, &t.base, sizeof t, &handles[i]));
    }
    struct join_all j;
    cfut_future_init(&j.base, &join_all_vtable);
    j.hs = handles;
    j.n = NUM_SPAWN;
    j.next = 0;
    check(cfut_pool_block_on(pool, &j.base, NULL));
}

static uint64_t
spawn_many_remote_idle(uint64_t ops)
{
    for (uint64_t done = 0; done < ops; done += NUM_SPAWN)
        spawn_remote_batch();
    return ops;
}

static uint64_t
spawn_many_remote_busy(uint64_t ops)
{
    /* Every worker kept busy by a task that yields until told to stop. */
    atomic_bool stop = false;
    unsigned n = cfut_pool_n_workers(pool);
    latch_arm(n);
    for (unsigned i = 0; i < n; i++)
        spawn_yielder(0, &stop);
    for (uint64_t done = 0; done < ops; done += NUM_SPAWN)
        spawn_remote_batch();
    atomic_store(&stop, true);
    latch_wait();
    return ops;
}

/* ---- yield_many: 200 tasks yield 1000 times each ---- */

static uint64_t
yield_many(uint64_t ops)
{
    for (uint64_t done = 0; done < ops; done += YIELD_TASKS * NUM_YIELD) {
        latch_arm(YIELD_TASKS);
        for (unsigned i = 0; i < YIELD_TASKS; i++)
            spawn_yielder(NUM_YIELD, NULL);
        latch_wait();
    }
    return ops;
}

/* ---- ping_pong: a task per ping, a oneshot each way ---- */

/* Awaits 'rx1', then sends on 'tx2'. */
struct ponger {
    struct cfut_future base;
    struct cfut_oneshot_sync_receiver rx1;
    struct cfut_oneshot_sync_sender tx2;
};

typedef CFUT_ONESHOT_OUTPUT(uint64_t) os_out;

static enum cfut_poll
ponger_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    (void)out;
    struct ponger *p = cfut_container_of(f, struct ponger, base);
    os_out o;
    if (cfut_future_poll(&p->rx1.base, cx, &o) == CFUT_PENDING)
        return CFUT_PENDING;
    uint64_t v = o.value + 1;
    check(cfut_oneshot_sync_send(&p->tx2, &v));
    return CFUT_READY;
}

static void
ponger_drop(struct cfut_future *f)
{
    struct ponger *p = cfut_container_of(f, struct ponger, base);
    cfut_future_drop(&p->rx1.base);
    cfut_oneshot_sync_sender_drop(&p->tx2);
}

static const struct cfut_future_vtable ponger_vtable = {
    ponger_poll, ponger_drop, 0, "ponger", NULL};

/* Spawns a ponger, sends it a ping, awaits the pong. */
struct pinger {
    struct cfut_future base;
    bool started;
    struct cfut_oneshot_sync_receiver rx2;
};

static enum cfut_poll
pinger_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    (void)out;
    struct pinger *p = cfut_container_of(f, struct pinger, base);
    if (!p->started) {
        struct ponger q;
        struct cfut_oneshot_sync_sender tx1;
        cfut_future_init(&q.base, &ponger_vtable);
        check(cfut_oneshot_sync_new(sizeof(uint64_t), NULL, &tx1, &q.rx1));
        check(cfut_oneshot_sync_new(sizeof(uint64_t), NULL, &q.tx2, &p->rx2));
        check(cfut_pool_spawn(pool, &q.base, sizeof q, NULL));
        uint64_t v = 1;
        check(cfut_oneshot_sync_send(&tx1, &v));
        p->started = true;
    }
    os_out o;
    if (cfut_future_poll(&p->rx2.base, cx, &o) == CFUT_PENDING)
        return CFUT_PENDING;
    if (o.status != CFUT_OK || o.value != 2)
        abort();
    latch_count_down();
    return CFUT_READY;
}

static void
pinger_drop(struct cfut_future *f)
{
    struct pinger *p = cfut_container_of(f, struct pinger, base);
    if (p->started)
        cfut_future_drop(&p->rx2.base);
}

static const struct cfut_future_vtable pinger_vtable = {
    pinger_poll, pinger_drop, 0, "pinger", NULL};

/* Spawns NUM_PINGS pingers from inside the pool. */
static enum cfut_poll
pings_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    (void)f;
    (void)cx;
    (void)out;
    for (unsigned i = 0; i < NUM_PINGS; i++) {
        struct pinger p;
        cfut_future_init(&p.base, &pinger_vtable);
        p.started = false;
        check(cfut_pool_spawn(pool, &p.base, sizeof p, NULL));
    }
    return CFUT_READY;
}

static const struct cfut_future_vtable pings_vtable = {pings_poll, NULL, 0,
                                                       "pings", NULL};

static uint64_t
ping_pong(uint64_t ops)
{
    for (uint64_t done = 0; done < ops; done += NUM_PINGS) {
        latch_arm(NUM_PINGS);
        struct tick t;
        cfut_future_init(&t.base, &pings_vtable);
        check(cfut_pool_spawn(pool, &t.base, sizeof t, NULL));
        latch_wait();
    }
    return ops;
}

/* ---- chained_spawn: each task spawns the next ---- */

struct link {
    struct cfut_future base;
    unsigned n;
};

static const struct cfut_future_vtable link_vtable;

static enum cfut_poll
link_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    (void)cx;
    (void)out;
    struct link *l = cfut_container_of(f, struct link, base);
    if (l->n == 0) {
        latch_count_down();
        return CFUT_READY;
    }
    struct link next;
    cfut_future_init(&next.base, &link_vtable);
    next.n = l->n - 1;
    check(cfut_pool_spawn(pool, &next.base, sizeof next, NULL));
    return CFUT_READY;
}

static const struct cfut_future_vtable link_vtable = {link_poll, NULL, 0,
                                                      "link", NULL};

static uint64_t
chained_spawn(uint64_t ops)
{
    for (uint64_t done = 0; done < ops; done += CHAIN) {
        latch_arm(1);
        struct link l;
        cfut_future_init(&l.base, &link_vtable);
        l.n = CHAIN;
        check(cfut_pool_spawn(pool, &l.base, sizeof l, NULL));
        latch_wait();
    }
    return ops;
}

static uint64_t
expect_ops(uint64_t ops)
{
    return ops;
}

/* Runs every workload on a pool of 'n_workers' as 'impl'. */
static void
run_all(const struct benchkit *b, unsigned n_workers, const char *impl)
{
    struct cfut_pool_config cfg = {.n_workers = n_workers};
    check(cfut_pool_new(&cfg, &pool));
    benchkit_run(b, "spawn_many_local", impl, spawn_many_local, NUM_SPAWN, 1,
                 expect_ops);
    benchkit_run(b, "spawn_many_remote_idle", impl, spawn_many_remote_idle,
                 NUM_SPAWN, 1, expect_ops);
    benchkit_run(b, "spawn_many_remote_busy", impl, spawn_many_remote_busy,
                 NUM_SPAWN, 1, expect_ops);
    benchkit_run(b, "yield_many", impl, yield_many, YIELD_TASKS * NUM_YIELD, 1,
                 expect_ops);
    benchkit_run(b, "ping_pong", impl, ping_pong, NUM_PINGS, 1, expect_ops);
    benchkit_run(b, "chained_spawn", impl, chained_spawn, CHAIN, 1, expect_ops);
    if (getenv("BENCH_POOL_STATS") != NULL) {
        struct cfut_pool_stats st;
        cfut_pool_stats(pool, &st);
        fprintf(stderr, "%s: polls %llu steals %llu parks %llu lifo %llu\n",
                impl, (unsigned long long)st.n_polls,
                (unsigned long long)st.n_steals, (unsigned long long)st.n_parks,
                (unsigned long long)st.n_lifo);
    }
    cfut_pool_free(pool);
    pool = NULL;
}

int
main(int argc, char **argv)
{
    struct benchkit b;
    benchkit_args(&b, argc, argv);
    run_all(&b, 2, "cfut-pool");
    run_all(&b, 1, "cfut-pool-1w");
    return 0;
}
