/*
 * bench_core.c: the executor and coroutine workloads of bench/README.md:
 * spawn_complete and coro_await_ready (hand-written and as an async
 * function), each beside its floor (the same work as a hand-written state
 * machine called directly). Prints JSON lines.
 */
#include "benchkit.h"

#include <cfut.h>

/* ---- spawn_complete ---------------------------------------------------- */

/* A trivial task: READY at its first poll with its value + 1. */
struct trivial {
    struct cfut_future base;
    uint64_t value;
};

static enum cfut_poll
trivial_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    (void)cx;
    *(uint64_t *)out = cfut_container_of(f, struct trivial, base)->value + 1;
    return CFUT_READY;
}

static const struct cfut_future_vtable trivial_vtable = {
    trivial_poll, NULL, sizeof(uint64_t), "trivial", NULL};

#ifndef N_SPAWN
#define N_SPAWN 100000u
#endif

static struct cfut_executor *ex;
static struct cfut_join_handle *handles;

static uint64_t
expect_spawn(uint64_t ops)
{
    /* Each batch of N_SPAWN sums (i + 1) for i in [0, N_SPAWN). */
    return (ops / N_SPAWN) * ((uint64_t)N_SPAWN * (N_SPAWN + 1) / 2);
}

/* Spawns N_SPAWN trivial tasks with handles, then runs them. */
static void
spawn_batch(void)
{
    for (uint32_t i = 0; i < N_SPAWN; i++) {
        struct trivial t;
        cfut_future_init(&t.base, &trivial_vtable);
        t.value = i;
        if (cfut_spawn(ex, &t.base, sizeof t, &handles[i]) != CFUT_OK)
            abort();
    }
    cfut_executor_run_ready(ex);
}

/* The outputs collected with the typed take (no poll of the handle). */
static uint64_t
spawn_complete_cfut(uint64_t ops)
{
    uint64_t sum = 0;
    for (uint64_t done = 0; done < ops; done += N_SPAWN) {
        spawn_batch();
        for (uint32_t i = 0; i < N_SPAWN; i++) {
            uint64_t v;
            if (CFUT_JOIN_HANDLE_TAKE(&handles[i], uint64_t, &v) != CFUT_OK)
                abort();
            sum += v;
        }
    }
    return sum;
}

/* The outputs collected by polling each handle (a future) and dropping
 * it: the generic path. */
static uint64_t
spawn_complete_poll(uint64_t ops)
{
    uint64_t sum = 0;
    for (uint64_t done = 0; done < ops; done += N_SPAWN) {
        spawn_batch();
        for (uint32_t i = 0; i < N_SPAWN; i++) {
            CFUT_JOIN_OUTPUT(uint64_t) r;
            struct cfut_context cx;
            cfut_context_init(&cx, cfut_waker_noop());
            if (cfut_future_poll(&handles[i].base, &cx, &r) != CFUT_READY)
                abort();
            cfut_future_drop(&handles[i].base);
            sum += r.value;
        }
    }
    return sum;
}

/* The same trivial task as a coroutine written by hand (struct, poll, drop,
 * vtable, init, spawn), then as an async function: what the macro layer
 * costs per spawned task over the hand-written coroutine. */
struct trivial_coro {
    struct cfut_future base;
    struct cfut_coro co;
    uint64_t value;
};

static enum cfut_poll
trivial_coro_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct trivial_coro *self = cfut_container_of(f, struct trivial_coro, base);
    (void)cx;
    CFUT_ASYNC_BEGIN(&self->co);
    CFUT_ASYNC_RETURN(&self->co, out, uint64_t, self->value + 1);
    CFUT_ASYNC_END(&self->co);
}

static void
trivial_coro_drop(struct cfut_future *f)
{
    cfut_coro_drop(&cfut_container_of(f, struct trivial_coro, base)->co);
}

static const struct cfut_future_vtable trivial_coro_vtable = {
    trivial_coro_poll, trivial_coro_drop, sizeof(uint64_t), "trivial_coro",
    NULL};

static int
trivial_coro_spawn(struct cfut_join_handle *h, uint64_t value)
{
    struct trivial_coro t;
    cfut_future_init(&t.base, &trivial_coro_vtable);
    cfut_coro_init(&t.co);
    t.value = value;
    return cfut_spawn(ex, &t.base, sizeof t, h);
}

CFUT_ASYNC_FN(trivial_async, uint64_t, ((uint64_t, value)))
{
    CFUT_BEGIN();
    CFUT_RETURN(self->value + 1);
    CFUT_END();
}

static int
trivial_async_spawn_ex(struct cfut_join_handle *h, uint64_t value)
{
    return trivial_async_spawn(ex, h, value);
}

/* spawn_complete with 'spawn' making each task. */
static uint64_t
spawn_complete_with(uint64_t ops,
                    int (*spawn)(struct cfut_join_handle *h, uint64_t value))
{
    uint64_t sum = 0;
    for (uint64_t done = 0; done < ops; done += N_SPAWN) {
        for (uint32_t i = 0; i < N_SPAWN; i++)
            if (spawn(&handles[i], i) != CFUT_OK)
                abort();
        cfut_executor_run_ready(ex);
        for (uint32_t i = 0; i < N_SPAWN; i++) {
            CFUT_JOIN_OUTPUT(uint64_t) r;
            struct cfut_context cx;
            cfut_context_init(&cx, cfut_waker_noop());
            if (cfut_future_poll(&handles[i].base, &cx, &r) != CFUT_READY)
                abort();
            cfut_future_drop(&handles[i].base);
            sum += r.value;
        }
    }
    return sum;
}

static uint64_t
spawn_complete_coro(uint64_t ops)
{
    return spawn_complete_with(ops, trivial_coro_spawn);
}

static uint64_t
spawn_complete_async(uint64_t ops)
{
    return spawn_complete_with(ops, trivial_async_spawn_ex);
}

/* The floor: the same tasks as structs in an array, polled directly. */
struct floor_task {
    uint64_t value;
    uint64_t out;
    int state; /* 0: queued, 1: done */
};

static struct floor_task *floor_tasks;

__attribute__((noinline)) static int
floor_poll(struct floor_task *t)
{
    t->out = t->value + 1;
    t->state = 1;
    return 1;
}

static uint64_t
spawn_complete_floor(uint64_t ops)
{
    uint64_t sum = 0;
    for (uint64_t done = 0; done < ops; done += N_SPAWN) {
        for (uint32_t i = 0; i < N_SPAWN; i++) {
            floor_tasks[i].value = i;
            floor_tasks[i].state = 0;
        }
        for (uint32_t i = 0; i < N_SPAWN; i++)
            floor_poll(&floor_tasks[i]);
        for (uint32_t i = 0; i < N_SPAWN; i++) {
            if (floor_tasks[i].state != 1)
                abort();
            sum += floor_tasks[i].out;
        }
    }
    return sum;
}

/* ---- coro_await_ready ---------------------------------------------------- */

/* A ready child with a fixed u64 output. */
struct ready_u64 {
    struct cfut_future base;
    uint64_t value;
};

static enum cfut_poll
ready_u64_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    (void)cx;
    *(uint64_t *)out = cfut_container_of(f, struct ready_u64, base)->value;
    return CFUT_READY;
}

static const struct cfut_future_vtable ready_u64_vtable = {
    ready_u64_poll, NULL, sizeof(uint64_t), "ready_u64", NULL};

struct awaiter {
    struct cfut_future base;
    struct cfut_coro co;
    uint64_t i, n, sum, v;
    struct ready_u64 child;
};

static enum cfut_poll
awaiter_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct awaiter *self = cfut_container_of(f, struct awaiter, base);
    CFUT_ASYNC_BEGIN(&self->co);
    for (self->i = 0; self->i < self->n; self->i++) {
        cfut_future_init(&self->child.base, &ready_u64_vtable);
        self->child.value = self->i;
        CFUT_AWAIT(&self->co, cx, &self->child.base, &self->v);
        self->sum += self->v;
    }
    CFUT_ASYNC_RETURN(&self->co, out, uint64_t, self->sum);
    CFUT_ASYNC_END(&self->co);
}

static const struct cfut_future_vtable awaiter_vtable = {
    awaiter_poll, NULL, sizeof(uint64_t), "awaiter", NULL};

static uint64_t
expect_await(uint64_t ops)
{
    return ops * (ops - 1) / 2;
}

/* Polls 'f' by hand until it is READY, drops it and returns its output. */
static uint64_t
run_to_ready(struct cfut_future *f)
{
    uint64_t out = 0;
    struct cfut_context cx;
    cfut_context_init(&cx, cfut_waker_noop());
    while (cfut_future_poll(f, &cx, &out) == CFUT_PENDING)
        ;
    cfut_future_drop(f);
    return out;
}

static uint64_t
coro_await_ready_cfut(uint64_t ops)
{
    struct awaiter a;
    cfut_future_init(&a.base, &awaiter_vtable);
    cfut_coro_init(&a.co);
    a.n = ops;
    a.sum = 0;
    return run_to_ready(&a.base);
}

/* The same coroutine as an async function (cfut_async.h): what the macro
 * layer costs over the hand-written coroutine above (nothing, it should). */
CFUT_ASYNC_FN(async_awaiter, uint64_t, ((uint64_t, n)), uint64_t i, sum, v;
              struct ready_u64 child;)
{
    CFUT_BEGIN();
    for (self->i = 0; self->i < self->n; self->i++) {
        cfut_future_init(&self->child.base, &ready_u64_vtable);
        self->child.value = self->i;
        CFUT_AWAIT(&self->child, &self->v);
        self->sum += self->v;
    }
    CFUT_RETURN(self->sum);
    CFUT_END();
}

static uint64_t
coro_await_ready_async(uint64_t ops)
{
    struct async_awaiter a;
    async_awaiter_init(&a, ops);
    return run_to_ready(&a.base);
}

/* The floor: the same loop as an explicit state machine, child called
 * directly (no vtable), no coroutine macros. */
struct floor_child {
    uint64_t value;
};

__attribute__((noinline)) static int
floor_child_poll(struct floor_child *c, uint64_t *out)
{
    *out = c->value;
    return 1;
}

struct floor_awaiter {
    enum { FA_START, FA_AWAIT, FA_DONE } state;
    uint64_t i, n, sum, v;
    struct floor_child child;
};

static int
floor_awaiter_poll(struct floor_awaiter *s, uint64_t *out)
{
    switch (s->state) {
    case FA_START:
        s->i = 0;
        goto loop;
    case FA_AWAIT:
        goto resume;
    case FA_DONE:
        abort();
    }
loop:
    if (s->i >= s->n) {
        s->state = FA_DONE;
        *out = s->sum;
        return 1;
    }
    s->child.value = s->i;
resume:
    if (!floor_child_poll(&s->child, &s->v)) {
        s->state = FA_AWAIT;
        return 0;
    }
    s->sum += s->v;
    s->i++;
    goto loop;
}

static uint64_t
coro_await_ready_floor(uint64_t ops)
{
    struct floor_awaiter s = {FA_START, 0, ops, 0, 0, {0}};
    uint64_t out = 0;
    while (!floor_awaiter_poll(&s, &out))
        ;
    return out;
}

int
main(int argc, char **argv)
{
    struct benchkit b;
    benchkit_args(&b, argc, argv);
    if (cfut_executor_new(&ex) != CFUT_OK)
        return 1;
    handles = calloc(N_SPAWN, sizeof *handles);
    floor_tasks = calloc(N_SPAWN, sizeof *floor_tasks);
    if (handles == NULL || floor_tasks == NULL)
        return 1;

    benchkit_run(&b, "spawn_complete", "cfut", spawn_complete_cfut, N_SPAWN, 1,
                 expect_spawn);
    benchkit_run(&b, "spawn_complete", "cfut-poll", spawn_complete_poll,
                 N_SPAWN, 1, expect_spawn);
    benchkit_run(&b, "spawn_complete", "cfut-coro", spawn_complete_coro,
                 N_SPAWN, 1, expect_spawn);
    benchkit_run(&b, "spawn_complete", "cfut-async", spawn_complete_async,
                 N_SPAWN, 1, expect_spawn);
    benchkit_run(&b, "spawn_complete", "floor", spawn_complete_floor, N_SPAWN,
                 1, expect_spawn);
    benchkit_run(&b, "coro_await_ready", "cfut-coro", coro_await_ready_cfut,
                 1000000, 1, expect_await);
    benchkit_run(&b, "coro_await_ready", "cfut-async", coro_await_ready_async,
                 1000000, 1, expect_await);
    benchkit_run(&b, "coro_await_ready", "floor", coro_await_ready_floor,
                 1000000, 1, expect_await);

    free(handles);
    free(floor_tasks);
    cfut_executor_free(ex);
    return 0;
}
