/*
 * Lesson 24: many threads: a work-stealing pool, and a task that moves.
 *
 * What you will learn:
 *   - a pool (cfut_pool) runs tasks on N worker threads; each worker has
 *     its own queue, and an idle worker steals half of a busy one's queue;
 *   - a task may run each poll on a different worker: its state lives in
 *     its own memory (the future), never on a thread, so it keeps its
 *     values when it moves, and it is dropped exactly once;
 *   - a join handle of the pool is a future like any other, and
 *     cfut_pool_block_on() waits for it from the main thread.
 * Builds on: lesson 09 (the executor) and lesson 13 (yielding).
 * API introduced: cfut_pool_new, cfut_pool_config, cfut_pool_spawn,
 *   cfut_pool_block_on, cfut_pool_worker_index, cfut_pool_current,
 *   cfut_pool_n_workers, cfut_pool_free, cfut_pool_handle.
 * Run it: build/examples/24_work_stealing
 *   (CFUT_TRACE=- narrates each poll with the worker that ran it).
 * Expected output: examples/expected/24_work_stealing.txt
 */
#include <cfut.h>
#include <stdatomic.h>
#include <stdio.h>

/* A "sitter": holds its worker (spins in its poll) until told to go. */
struct sitter {
    struct cfut_future base;
    atomic_bool *go;
};

static enum cfut_poll
sitter_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    (void)cx;
    (void)out;
    struct sitter *s = cfut_container_of(f, struct sitter, base);
    /* Step: keep this worker busy: nothing else can run on it now. */
    while (!atomic_load(s->go)) {
    }
    return CFUT_READY;
}

static const struct cfut_future_vtable sitter_vtable = {sitter_poll, NULL, 0,
                                                        "sitter", NULL};

/* One flag per sitter (outside the task: a sitter may still look at its
 * flag after the traveller is gone). */
static atomic_bool go[4];

/* The traveller: 5 polls, adding up 1..5, moving worker at each poll. */
struct traveller {
    struct cfut_future base;
    int n_polls;
    int sum;         /* survives the moves: it lives in the task */
    int last_worker; /* -1 before the first poll */
    int *n_moves;
    int *n_drops;
};

static enum cfut_poll
traveller_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct traveller *t = cfut_container_of(f, struct traveller, base);
    int here = cfut_pool_worker_index();
    /* Step: count a move, and free the sitter that kept us away. */
    if (t->last_worker >= 0 && here != t->last_worker) {
        (*t->n_moves)++;
        atomic_store(&go[t->n_polls - 1], true);
    }
    t->last_worker = here;
    t->sum += ++t->n_polls;
    if (t->n_polls == 5) {
        *(int *)out = t->sum;
        return CFUT_READY;
    }
    /* Step: a sitter spawned from here goes to this worker's LIFO slot,
     * so this worker runs it next and is stuck in it. */
    struct sitter s;
    cfut_future_init(&s.base, &sitter_vtable);
    s.go = &go[t->n_polls - 1];
    if (cfut_pool_spawn(cfut_pool_current(), &s.base, sizeof s, NULL) != 0)
        return CFUT_PENDING; /* (not reached in this lesson) */
    /* Step: yield: we go to the back of this worker's queue, where the
     * other worker, idle, steals us. */
    cfut_waker_wake_by_ref(cx->waker);
    return CFUT_PENDING;
}

static void
traveller_drop(struct cfut_future *f)
{
    struct traveller *t = cfut_container_of(f, struct traveller, base);
    (*t->n_drops)++;
}

static const struct cfut_future_vtable traveller_vtable = {
    traveller_poll, traveller_drop, sizeof(int), "traveller", NULL};

int
main(void)
{
    /* Step: a pool of two worker threads. */
    struct cfut_pool_config cfg = {.n_workers = 2};
    struct cfut_pool *pool;
    if (cfut_pool_new(&cfg, &pool) != CFUT_OK)
        return 1;
    printf("pool: %u workers\n", cfut_pool_n_workers(pool));

    /* Step: spawn the traveller from the main thread, keep its handle. */
    int n_drops = 0, n_moves = 0;
    struct traveller t;
    cfut_future_init(&t.base, &traveller_vtable);
    t.n_polls = 0;
    t.sum = 0;
    t.last_worker = -1;
    t.n_moves = &n_moves;
    t.n_drops = &n_drops;
    struct cfut_pool_handle h;
    if (cfut_pool_spawn(pool, &t.base, sizeof t, &h) != CFUT_OK)
        return 1;

    /* Step: wait for its output here (the handle is a future). */
    CFUT_JOIN_OUTPUT(int) out;
    if (cfut_pool_block_on(pool, &h.base, &out) != CFUT_OK)
        return 1;
    printf("traveller: status %s, output %d (1+2+3+4+5)\n",
           cfut_status_name(out.status), out.value);

    /* Step: the pool goes; its workers are joined first. */
    cfut_pool_free(pool);
    printf("traveller moved between workers %d times in 5 polls\n", n_moves);
    printf("its future was dropped %d time(s)\n", n_drops);
    return 0;
}
