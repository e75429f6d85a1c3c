/*
 * bench_combinators.c: the combinator workloads of bench/README.md:
 * join_ready_{2,8,64}, join_pending_{8,64,1024}, select_2 and
 * and_then_chain_{1,10,100}, each for cfut beside its floor (the same work
 * as a hand-written state machine with direct calls). Prints JSON lines.
 */
#include "benchkit.h"

#include <cfut.h>

/* ---- shared: a ready child with a u64 output ---------------------------- */

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

/* The floor's child: the same value, polled by a direct call. */
struct floor_child {
    uint64_t value;
};

__attribute__((noinline)) static int
floor_child_poll(struct floor_child *c, uint64_t *out)
{
    *out = c->value;
    return 1;
}

#define MAX_N 1024

static struct cfut_context noop_cx;

/* ---- join_ready_N ------------------------------------------------------- */

static struct ready_u64 ready_kids[MAX_N];
static struct cfut_future *kid_ptrs[MAX_N];
static uint64_t join_out[MAX_N];
static struct floor_child floor_kids[MAX_N];
static unsigned join_n;

/* Each join sums 0..n-1. */
static uint64_t
expect_join(uint64_t ops)
{
    return ops / join_n * ((uint64_t)join_n * (join_n - 1) / 2);
}

static uint64_t
join_ready_cfut(uint64_t ops)
{
    uint64_t sum = 0;
    unsigned n = join_n;
    for (uint64_t done = 0; done < ops; done += n) {
        for (unsigned i = 0; i < n; i++) {
            cfut_future_init(&ready_kids[i].base, &ready_u64_vtable);
            ready_kids[i].value = i;
        }
        struct cfut_join j;
        if (cfut_join_init(&j, kid_ptrs, n) != CFUT_OK)
            abort();
        if (cfut_future_poll(&j.base, &noop_cx, join_out) != CFUT_READY)
            abort();
        cfut_future_drop(&j.base);
        for (unsigned i = 0; i < n; i++)
            sum += join_out[i];
    }
    return sum;
}

/* The floor: a join written by hand: an array of slots, polled directly. */
static uint64_t
join_ready_floor(uint64_t ops)
{
    uint64_t sum = 0;
    unsigned n = join_n;
    for (uint64_t done = 0; done < ops; done += n) {
        for (unsigned i = 0; i < n; i++)
            floor_kids[i].value = i;
        unsigned left = n;
        for (unsigned i = 0; i < n; i++)
            if (floor_child_poll(&floor_kids[i], &join_out[i]))
                left--;
        if (left != 0)
            abort();
        for (unsigned i = 0; i < n; i++)
            sum += join_out[i];
    }
    return sum;
}

/* ---- join_pending_N ----------------------------------------------------- */

/*
 * The channels are written in parallel with this file, so join_pending uses
 * a minimal local one-shot signal instead of a oneshot channel: a flag and
 * a kept waker. A spawned signaller task sets the signals one by one, waking
 * each, and yields after each so the join task runs in between.
 */
struct signal {
    struct cfut_future base;
    bool fired;
    uint64_t value;
    struct cfut_waker waker;
};

static uint64_t signal_sum;

static enum cfut_poll
signal_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct signal *s = cfut_container_of(f, struct signal, base);
    (void)out;
    if (!s->fired) {
        cfut_waker_register(&s->waker, cx->waker);
        return CFUT_PENDING;
    }
    signal_sum += s->value;
    return CFUT_READY;
}

static void
signal_drop(struct cfut_future *f)
{
    cfut_waker_drop(&cfut_container_of(f, struct signal, base)->waker);
}

static const struct cfut_future_vtable signal_vtable = {
    signal_poll, signal_drop, 0, "signal", NULL};

static struct signal signals[MAX_N];

/* The signaller task: fires signal i, then yields, until all are fired. */
struct signaller {
    struct cfut_future base;
    unsigned i, n;
};

static enum cfut_poll
signaller_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct signaller *s = cfut_container_of(f, struct signaller, base);
    (void)out;
    struct signal *sig = &signals[s->i++];
    sig->fired = true;
    cfut_waker_wake(&sig->waker);
    if (s->i == s->n)
        return CFUT_READY;
    cfut_waker_wake_by_ref(cx->waker);
    return CFUT_PENDING;
}

static const struct cfut_future_vtable signaller_vtable = {
    signaller_poll, NULL, 0, "signaller", NULL};

static struct cfut_executor *ex;

static void
signals_init(unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        cfut_future_init(&signals[i].base, &signal_vtable);
        signals[i].fired = false;
        signals[i].value = i;
        signals[i].waker = CFUT_WAKER_EMPTY;
        kid_ptrs[i] = &signals[i].base;
    }
}

static uint64_t
join_pending_cfut(uint64_t ops)
{
    unsigned n = join_n;
    signal_sum = 0;
    for (uint64_t done = 0; done < ops; done += n) {
        signals_init(n);
        struct cfut_join j;
        if (cfut_join_init(&j, kid_ptrs, n) != CFUT_OK)
            abort();
        struct cfut_join_handle h;
        if (cfut_spawn(ex, &j.base, sizeof j, &h) != CFUT_OK)
            abort();
        struct signaller s;
        cfut_future_init(&s.base, &signaller_vtable);
        s.i = 0;
        s.n = n;
        if (cfut_spawn(ex, &s.base, sizeof s, NULL) != CFUT_OK)
            abort();
        if (cfut_executor_run(ex) != CFUT_OK)
            abort();
        struct cfut_join_status st;
        if (cfut_future_poll(&h.base, &noop_cx, &st) != CFUT_READY ||
            st.status != CFUT_OK)
            abort();
        cfut_future_drop(&h.base);
    }
    return signal_sum;
}

/*
 * The same join polled by hand (no executor): the signaller is a loop that
 * fires one signal and polls the join. Shows the combinator's own cost.
 */
static uint64_t
join_pending_direct(uint64_t ops)
{
    unsigned n = join_n;
    signal_sum = 0;
    for (uint64_t done = 0; done < ops; done += n) {
        signals_init(n);
        struct cfut_join j;
        if (cfut_join_init(&j, kid_ptrs, n) != CFUT_OK)
            abort();
        if (cfut_future_poll(&j.base, &noop_cx, NULL) != CFUT_PENDING)
            abort();
        enum cfut_poll r = CFUT_PENDING;
        for (unsigned i = 0; i < n; i++) {
            signals[i].fired = true;
            cfut_waker_wake(&signals[i].waker);
            r = cfut_future_poll(&j.base, &noop_cx, NULL);
        }
        if (r != CFUT_READY)
            abort();
        cfut_future_drop(&j.base);
    }
    return signal_sum;
}

/*
 * The floor: the same two "tasks" as hand-written state machines: the
 * signals are flags, a "wake" pushes the child's index on the join's ready
 * list by a direct call, and a loop polls the join, then the signaller.
 */
struct floor_join {
    unsigned ready[MAX_N];
    unsigned n_ready;
    unsigned left;
    bool queued;
};

static struct floor_join fj;
static bool floor_fired[MAX_N];
static uint64_t floor_sum;

__attribute__((noinline)) static void
floor_wake(unsigned i)
{
    fj.ready[fj.n_ready++] = i;
    fj.queued = true;
}

__attribute__((noinline)) static int
floor_signal_poll(unsigned i)
{
    if (!floor_fired[i])
        return 0;
    floor_sum += i;
    return 1;
}

__attribute__((noinline)) static int
floor_join_poll(void)
{
    for (unsigned k = 0; k < fj.n_ready; k++)
        if (floor_signal_poll(fj.ready[k]))
            fj.left--;
    fj.n_ready = 0;
    return fj.left == 0;
}

static uint64_t
join_pending_floor(uint64_t ops)
{
    unsigned n = join_n;
    floor_sum = 0;
    for (uint64_t done = 0; done < ops; done += n) {
        for (unsigned i = 0; i < n; i++)
            floor_fired[i] = false;
        fj.n_ready = 0;
        fj.left = n;
        for (unsigned i = 0; i < n; i++) /* the first poll: all pending */
            if (floor_signal_poll(i))
                abort();
        for (unsigned i = 0; i < n; i++) {
            floor_fired[i] = true; /* the signaller's step */
            floor_wake(i);
            if (fj.queued) {
                fj.queued = false;
                if (floor_join_poll() != (i + 1 == n))
                    abort();
            }
        }
    }
    return floor_sum;
}

/* ---- select_2 ----------------------------------------------------------- */

static uint64_t
expect_select(uint64_t ops)
{
    return ops * 7;
}

static uint64_t
select_2_cfut(uint64_t ops)
{
    uint64_t sum = 0;
    for (uint64_t i = 0; i < ops; i++) {
        struct ready_u64 r;
        cfut_future_init(&r.base, &ready_u64_vtable);
        r.value = 7;
        struct cfut_pending p;
        cfut_pending_init(&p, sizeof(uint64_t));
        struct cfut_select s;
        if (cfut_select2(&s, &p.base, &r.base, CFUT_SELECT_BIASED) != CFUT_OK)
            abort();
        CFUT_SELECT_OUTPUT(uint64_t) out;
        if (cfut_future_poll(&s.base, &noop_cx, &out) != CFUT_READY ||
            out.index != 1)
            abort();
        cfut_future_drop(&s.base);
        sum += out.value;
    }
    return sum;
}

__attribute__((noinline)) static int
floor_pending_poll(void *p)
{
    (void)p;
    return 0;
}

__attribute__((noinline)) static void
floor_drop(void *p)
{
    (void)p;
}

static uint64_t
select_2_floor(uint64_t ops)
{
    uint64_t sum = 0;
    for (uint64_t i = 0; i < ops; i++) {
        struct floor_child r = {7};
        int pend = 0;
        uint64_t v = 0;
        if (floor_pending_poll(&pend))
            abort();
        if (!floor_child_poll(&r, &v))
            abort();
        floor_drop(&pend); /* the loser */
        sum += v;
    }
    return sum;
}

/* ---- and_then_chain_D --------------------------------------------------- */

static unsigned chain_d;

static int
add_one(void *ctx, void *in, void *storage, struct cfut_future **next)
{
    (void)ctx;
    struct ready_u64 *r = storage;
    cfut_future_init(&r->base, &ready_u64_vtable);
    r->value = *(uint64_t *)in + 1;
    *next = &r->base;
    return CFUT_OK;
}

/* Each chain ends at D (it starts at 0). */
static uint64_t
expect_chain(uint64_t ops)
{
    return ops / chain_d * chain_d;
}

static uint64_t
chain_cfut(uint64_t ops)
{
    uint64_t sum = 0;
    unsigned d = chain_d;
    for (uint64_t done = 0; done < ops; done += d) {
        struct ready_u64 first;
        cfut_future_init(&first.base, &ready_u64_vtable);
        first.value = 0;
        struct cfut_chain c;
        if (cfut_chain_init(&c, &first.base) != CFUT_OK)
            abort();
        for (unsigned i = 0; i < d; i++)
            if (cfut_and_then(&c, add_one, NULL, sizeof(struct ready_u64),
                              sizeof(uint64_t)) != CFUT_OK)
                abort();
        CFUT_CHAIN_OUTPUT(uint64_t) out;
        if (cfut_future_poll(&c.base, &noop_cx, &out) != CFUT_READY ||
            out.status != CFUT_OK)
            abort();
        cfut_future_drop(&c.base);
        sum += out.value;
    }
    return sum;
}

/*
 * The same chain known at compile time, as an async function (cfut_async.h):
 * each link is an await of a child built in place from the previous
 * output, with no step array and no type erasure: the form issue 14 asks
 * for chains whose shape the program knows.
 */
CFUT_ASYNC_FN(async_chain, uint64_t, ((unsigned, d)), unsigned i; uint64_t v;
              struct ready_u64 child;)
{
    CFUT_BEGIN();
    cfut_future_init(&self->child.base, &ready_u64_vtable);
    self->child.value = 0;
    CFUT_AWAIT(&self->child, &self->v);
    for (self->i = 0; self->i < self->d; self->i++) {
        cfut_future_init(&self->child.base, &ready_u64_vtable);
        self->child.value = self->v + 1; /* the and_then step */
        CFUT_AWAIT(&self->child, &self->v);
    }
    CFUT_RETURN(self->v);
    CFUT_END();
}

static uint64_t
chain_async(uint64_t ops)
{
    uint64_t sum = 0;
    unsigned d = chain_d;
    for (uint64_t done = 0; done < ops; done += d) {
        struct async_chain a;
        async_chain_init(&a, d);
        uint64_t out;
        if (cfut_future_poll(&a.base, &noop_cx, &out) != CFUT_READY)
            abort();
        cfut_future_drop(&a.base);
        sum += out;
    }
    return sum;
}

/* The floor: the chain as a hand-written state machine: a list of D steps
 * (built first, like the chain), each building the next child by a direct
 * call and polling it directly. */
struct floor_step {
    void (*build)(struct floor_child *c, uint64_t in);
};

__attribute__((noinline)) static void
floor_add_one(struct floor_child *c, uint64_t in)
{
    c->value = in + 1;
}

static struct floor_step floor_steps[128];

static uint64_t
chain_floor(uint64_t ops)
{
    uint64_t sum = 0;
    unsigned d = chain_d;
    for (uint64_t done = 0; done < ops; done += d) {
        for (unsigned i = 0; i < d; i++)
            floor_steps[i].build = floor_add_one;
        struct floor_child cur = {0};
        uint64_t v = 0;
        if (!floor_child_poll(&cur, &v))
            abort();
        for (unsigned i = 0; i < d; i++) {
            floor_steps[i].build(&cur, v);
            if (!floor_child_poll(&cur, &v))
                abort();
        }
        sum += v;
    }
    return sum;
}

/* ---- main --------------------------------------------------------------- */

int
main(int argc, char **argv)
{
    struct benchkit b;
    benchkit_args(&b, argc, argv);
    cfut_context_init(&noop_cx, cfut_waker_noop());
    if (cfut_executor_new(&ex) != CFUT_OK)
        return 1;
    for (unsigned i = 0; i < MAX_N; i++)
        kid_ptrs[i] = &ready_kids[i].base;
    char name[64];

    static const unsigned ready_ns[] = {2, 8, 64};
    for (unsigned k = 0; k < 3; k++) {
        join_n = ready_ns[k];
        for (unsigned i = 0; i < MAX_N; i++)
            kid_ptrs[i] = &ready_kids[i].base;
        snprintf(name, sizeof name, "join_ready_%u", join_n);
        benchkit_run(&b, name, "cfut", join_ready_cfut, join_n, 1, expect_join);
        benchkit_run(&b, name, "floor", join_ready_floor, join_n, 1,
                     expect_join);
    }
    static const unsigned pending_ns[] = {8, 64, 1024};
    for (unsigned k = 0; k < 3; k++) {
        join_n = pending_ns[k];
        snprintf(name, sizeof name, "join_pending_%u", join_n);
        benchkit_run(&b, name, "cfut", join_pending_cfut, join_n, 1,
                     expect_join);
        benchkit_run(&b, name, "cfut-direct", join_pending_direct, join_n, 1,
                     expect_join);
        benchkit_run(&b, name, "floor", join_pending_floor, join_n, 1,
                     expect_join);
    }
    benchkit_run(&b, "select_2", "cfut", select_2_cfut, 1000, 1, expect_select);
    benchkit_run(&b, "select_2", "floor", select_2_floor, 1000, 1,
                 expect_select);
    static const unsigned depths[] = {1, 10, 100};
    for (unsigned k = 0; k < 3; k++) {
        chain_d = depths[k];
        snprintf(name, sizeof name, "and_then_chain_%u", chain_d);
        benchkit_run(&b, name, "cfut", chain_cfut, chain_d, 1, expect_chain);
        benchkit_run(&b, name, "cfut-async", chain_async, chain_d, 1,
                     expect_chain);
        benchkit_run(&b, name, "floor", chain_floor, chain_d, 1, expect_chain);
    }
    cfut_executor_free(ex);
    return 0;
}
