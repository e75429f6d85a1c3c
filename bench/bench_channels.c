/*
 * bench_channels.c: the channel workloads of bench/README.md:
 * oneshot_create_send_recv, oneshot_pingpong, mpsc_throughput,
 * broadcast_fanout_8 and semaphore_acquire_release, for the local kind
 * (cfut), the thread-safe kind on one executor (cfut-sync) and the floor
 * (the same work as hand-written state machines called directly, with the
 * same one allocation per oneshot). Prints JSON lines.
 */
#include "benchkit.h"

#include <cfut.h>

static struct cfut_executor *ex;

typedef CFUT_ONESHOT_OUTPUT(uint64_t) os_out;
typedef CFUT_MPSC_OUTPUT(uint64_t) mp_out;

static uint64_t
expect_sum_below(uint64_t ops)
{
    return ops * (ops - 1) / 2;
}

static uint64_t
expect_sum_to(uint64_t ops)
{
    return ops * (ops + 1) / 2;
}

/* Runs 'f' (fresh) to completion on the executor and returns its u64. */
static uint64_t
run_u64(struct cfut_future *f)
{
    uint64_t out = 0;
    if (cfut_block_on(ex, f, &out) != CFUT_OK)
        abort();
    return out;
}

/* ---- oneshot_create_send_recv ------------------------------------------ */

/* One task: n times, create a oneshot, send i, await the (ready) receiver. */
struct csr_task {
    struct cfut_future base;
    uint64_t n;
};

static enum cfut_poll
csr_local_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct csr_task *t = cfut_container_of(f, struct csr_task, base);
    uint64_t sum = 0;
    for (uint64_t i = 0; i < t->n; i++) {
        struct cfut_oneshot_sender tx;
        struct cfut_oneshot_receiver rx;
        if (cfut_oneshot_new(sizeof(uint64_t), NULL, &tx, &rx) != CFUT_OK)
            abort();
        cfut_oneshot_send(&tx, &i);
        os_out o;
        if (cfut_future_poll(&rx.base, cx, &o) != CFUT_READY)
            abort();
        cfut_future_drop(&rx.base);
        sum += o.value;
    }
    *(uint64_t *)out = sum;
    return CFUT_READY;
}

static enum cfut_poll
csr_sync_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct csr_task *t = cfut_container_of(f, struct csr_task, base);
    uint64_t sum = 0;
    for (uint64_t i = 0; i < t->n; i++) {
        struct cfut_oneshot_sync_sender tx;
        struct cfut_oneshot_sync_receiver rx;
        if (cfut_oneshot_sync_new(sizeof(uint64_t), NULL, &tx, &rx) != CFUT_OK)
            abort();
        cfut_oneshot_sync_send(&tx, &i);
        os_out o;
        if (cfut_future_poll(&rx.base, cx, &o) != CFUT_READY)
            abort();
        cfut_future_drop(&rx.base);
        sum += o.value;
    }
    *(uint64_t *)out = sum;
    return CFUT_READY;
}

/* The same with the state in caller storage (no allocation). */
static enum cfut_poll
csr_storage_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct csr_task *t = cfut_container_of(f, struct csr_task, base);
    CFUT_ONESHOT_STORAGE(uint64_t) st;
    uint64_t sum = 0;
    for (uint64_t i = 0; i < t->n; i++) {
        struct cfut_oneshot_sender tx;
        struct cfut_oneshot_receiver rx;
        if (cfut_oneshot_init(&st, sizeof st, sizeof(uint64_t), NULL, &tx,
                              &rx) != CFUT_OK)
            abort();
        cfut_oneshot_send(&tx, &i);
        os_out o;
        if (cfut_future_poll(&rx.base, cx, &o) != CFUT_READY)
            abort();
        cfut_future_drop(&rx.base);
        sum += o.value;
    }
    *(uint64_t *)out = sum;
    return CFUT_READY;
}

static const struct cfut_future_vtable csr_storage_vtable = {
    csr_storage_poll, NULL, sizeof(uint64_t), "csr_storage", NULL};

static const struct cfut_future_vtable csr_local_vtable = {
    csr_local_poll, NULL, sizeof(uint64_t), "csr", NULL};
static const struct cfut_future_vtable csr_sync_vtable = {
    csr_sync_poll, NULL, sizeof(uint64_t), "csr_sync", NULL};

static uint64_t
csr_cfut(uint64_t ops)
{
    struct csr_task t;
    cfut_future_init(&t.base, &csr_local_vtable);
    t.n = ops;
    return run_u64(&t.base);
}

static uint64_t
csr_cfut_storage(uint64_t ops)
{
    struct csr_task t;
    cfut_future_init(&t.base, &csr_storage_vtable);
    t.n = ops;
    return run_u64(&t.base);
}

static uint64_t
csr_cfut_sync(uint64_t ops)
{
    struct csr_task t;
    cfut_future_init(&t.base, &csr_sync_vtable);
    t.n = ops;
    return run_u64(&t.base);
}

/* The floor: a hand-written shared slot (one allocation, a state and the
 * value), filled and read by direct calls. */
struct floor_slot {
    int state; /* 0: empty, 1: value */
    int refs;
    uint64_t value;
};

__attribute__((noinline)) static struct floor_slot *
floor_slot_new(void)
{
    struct floor_slot *s = malloc(sizeof *s);
    if (s == NULL)
        abort();
    s->state = 0;
    s->refs = 2;
    return s;
}

__attribute__((noinline)) static void
floor_slot_release(struct floor_slot *s)
{
    if (--s->refs == 0)
        free(s);
}

__attribute__((noinline)) static void
floor_slot_send(struct floor_slot *s, uint64_t v)
{
    s->value = v;
    s->state = 1;
    floor_slot_release(s);
}

__attribute__((noinline)) static int
floor_slot_poll(struct floor_slot *s, uint64_t *out)
{
    if (s->state != 1)
        return 0;
    *out = s->value;
    return 1;
}

/* The floor of the storage variant: the slot on the stack. */
static uint64_t
csr_floor_storage(uint64_t ops)
{
    uint64_t sum = 0;
    struct floor_slot st;
    for (uint64_t i = 0; i < ops; i++) {
        struct floor_slot *s = &st;
        s->state = 0;
        s->refs = 3; /* never reaches 0: nothing to free */
        floor_slot_send(s, i);
        uint64_t v = 0;
        if (!floor_slot_poll(s, &v))
            abort();
        floor_slot_release(s);
        sum += v;
    }
    return sum;
}

static uint64_t
csr_floor(uint64_t ops)
{
    uint64_t sum = 0;
    for (uint64_t i = 0; i < ops; i++) {
        struct floor_slot *s = floor_slot_new();
        floor_slot_send(s, i);
        uint64_t v = 0;
        if (!floor_slot_poll(s, &v))
            abort();
        floor_slot_release(s);
        sum += v;
    }
    return sum;
}

/* ---- oneshot_pingpong ---------------------------------------------------- */

/* A request: the reply's oneshot sender and a number. */
struct req {
    struct cfut_oneshot_sender reply;
    uint64_t v;
};

/* The server task: replies v + 1 to each request until the channel closes. */
struct server {
    struct cfut_future base;
    struct cfut_mpsc_receiver rx;
    bool receiving;
    struct cfut_mpsc_recv recv;
};

static enum cfut_poll
server_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    (void)out;
    struct server *s = cfut_container_of(f, struct server, base);
    for (;;) {
        CFUT_MPSC_OUTPUT(struct req) r;
        if (cfut_mpsc_poll_recv(&s->rx, cx, &r) == CFUT_PENDING)
            return CFUT_PENDING;
        if (r.status != CFUT_OK)
            break;
        uint64_t v = r.value.v + 1;
        cfut_oneshot_send(&r.value.reply, &v);
    }
    cfut_mpsc_receiver_drop(&s->rx);
    return CFUT_READY;
}

static void
server_drop(struct cfut_future *f)
{
    struct server *s = cfut_container_of(f, struct server, base);
    if (s->receiving)
        cfut_future_drop(&s->recv.base);
    cfut_mpsc_receiver_drop(&s->rx);
}

static const struct cfut_future_vtable server_vtable = {
    server_poll, server_drop, 0, "server", NULL};

/* The client task: n requests one after another, summing the replies. */
struct client {
    struct cfut_future base;
    struct cfut_mpsc_sender tx;
    uint64_t i, n, sum;
    bool waiting;
    bool use_storage; /* the reply's state in 'storage', reused */
    struct cfut_oneshot_receiver reply;
    CFUT_ONESHOT_STORAGE(uint64_t) storage;
};

static enum cfut_poll
client_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct client *c = cfut_container_of(f, struct client, base);
    for (;;) {
        if (!c->waiting) {
            if (c->i == c->n)
                break;
            struct req q;
            int rc = c->use_storage
                         ? cfut_oneshot_init(&c->storage, sizeof c->storage,
                                             sizeof(uint64_t), NULL, &q.reply,
                                             &c->reply)
                         : cfut_oneshot_new(sizeof(uint64_t), NULL, &q.reply,
                                            &c->reply);
            if (rc != CFUT_OK)
                abort();
            q.v = c->i++;
            /* Unbounded: the send is immediate (an await that is ready). */
            if (cfut_mpsc_try_send(&c->tx, &q) != CFUT_OK)
                abort();
            c->waiting = true;
        }
        os_out o;
        if (cfut_future_poll(&c->reply.base, cx, &o) == CFUT_PENDING)
            return CFUT_PENDING;
        cfut_future_drop(&c->reply.base);
        c->waiting = false;
        c->sum += o.value;
    }
    cfut_mpsc_sender_drop(&c->tx);
    *(uint64_t *)out = c->sum;
    return CFUT_READY;
}

static void
client_drop(struct cfut_future *f)
{
    struct client *c = cfut_container_of(f, struct client, base);
    if (c->waiting)
        cfut_future_drop(&c->reply.base);
    cfut_mpsc_sender_drop(&c->tx);
}

static const struct cfut_future_vtable client_vtable = {
    client_poll, client_drop, sizeof(uint64_t), "client", NULL};

static uint64_t
pingpong_run(uint64_t ops, bool use_storage)
{
    struct server s;
    struct client c;
    cfut_future_init(&s.base, &server_vtable);
    cfut_future_init(&c.base, &client_vtable);
    if (cfut_mpsc_new(sizeof(struct req), CFUT_MPSC_UNBOUNDED, NULL, &c.tx,
                      &s.rx) != CFUT_OK)
        abort();
    s.receiving = false;
    c.i = 0;
    c.n = ops;
    c.sum = 0;
    c.waiting = false;
    c.use_storage = use_storage;
    if (cfut_spawn(ex, &s.base, sizeof s, NULL) != CFUT_OK)
        abort();
    uint64_t sum = run_u64(&c.base);
    if (cfut_executor_run(ex) != CFUT_OK) /* the server sees closed */
        abort();
    return sum;
}

static uint64_t
pingpong_cfut(uint64_t ops)
{
    return pingpong_run(ops, false);
}

static uint64_t
pingpong_cfut_storage(uint64_t ops)
{
    return pingpong_run(ops, true);
}

/* The same pair with the thread-safe kinds, on one executor. */
struct sreq {
    struct cfut_oneshot_sync_sender reply;
    uint64_t v;
};

struct sserver {
    struct cfut_future base;
    struct cfut_mpsc_sync_receiver rx;
    bool receiving;
    struct cfut_mpsc_sync_recv recv;
};

static enum cfut_poll
sserver_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    (void)out;
    struct sserver *s = cfut_container_of(f, struct sserver, base);
    for (;;) {
        CFUT_MPSC_OUTPUT(struct sreq) r;
        if (cfut_mpsc_sync_poll_recv(&s->rx, cx, &r) == CFUT_PENDING)
            return CFUT_PENDING;
        if (r.status != CFUT_OK)
            break;
        uint64_t v = r.value.v + 1;
        cfut_oneshot_sync_send(&r.value.reply, &v);
    }
    cfut_mpsc_sync_receiver_drop(&s->rx);
    return CFUT_READY;
}

static void
sserver_drop(struct cfut_future *f)
{
    struct sserver *s = cfut_container_of(f, struct sserver, base);
    if (s->receiving)
        cfut_future_drop(&s->recv.base);
    cfut_mpsc_sync_receiver_drop(&s->rx);
}

static const struct cfut_future_vtable sserver_vtable = {
    sserver_poll, sserver_drop, 0, "sserver", NULL};

struct sclient {
    struct cfut_future base;
    struct cfut_mpsc_sync_sender tx;
    uint64_t i, n, sum;
    bool waiting;
    bool use_storage; /* the reply's state in 'storage', reused */
    struct cfut_oneshot_sync_receiver reply;
    CFUT_ONESHOT_SYNC_STORAGE(uint64_t) storage;
};

static enum cfut_poll
sclient_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct sclient *c = cfut_container_of(f, struct sclient, base);
    for (;;) {
        if (!c->waiting) {
            if (c->i == c->n)
                break;
            struct sreq q;
            int rc = c->use_storage
                         ? cfut_oneshot_sync_init(
                               &c->storage, sizeof c->storage, sizeof(uint64_t),
                               NULL, &q.reply, &c->reply)
                         : cfut_oneshot_sync_new(sizeof(uint64_t), NULL,
                                                 &q.reply, &c->reply);
            if (rc != CFUT_OK)
                abort();
            q.v = c->i++;
            if (cfut_mpsc_sync_try_send(&c->tx, &q) != CFUT_OK)
                abort();
            c->waiting = true;
        }
        os_out o;
        if (cfut_future_poll(&c->reply.base, cx, &o) == CFUT_PENDING)
            return CFUT_PENDING;
        cfut_future_drop(&c->reply.base);
        c->waiting = false;
        c->sum += o.value;
    }
    cfut_mpsc_sync_sender_drop(&c->tx);
    *(uint64_t *)out = c->sum;
    return CFUT_READY;
}

static void
sclient_drop(struct cfut_future *f)
{
    struct sclient *c = cfut_container_of(f, struct sclient, base);
    if (c->waiting)
        cfut_future_drop(&c->reply.base);
    cfut_mpsc_sync_sender_drop(&c->tx);
}

static const struct cfut_future_vtable sclient_vtable = {
    sclient_poll, sclient_drop, sizeof(uint64_t), "sclient", NULL};

static uint64_t
pingpong_sync_run(uint64_t ops, bool use_storage)
{
    struct sserver s;
    struct sclient c;
    c.use_storage = use_storage;
    cfut_future_init(&s.base, &sserver_vtable);
    cfut_future_init(&c.base, &sclient_vtable);
    if (cfut_mpsc_sync_new(sizeof(struct sreq), CFUT_MPSC_UNBOUNDED, NULL,
                           &c.tx, &s.rx) != CFUT_OK)
        abort();
    s.receiving = false;
    c.i = 0;
    c.n = ops;
    c.sum = 0;
    c.waiting = false;
    if (cfut_spawn(ex, &s.base, sizeof s, NULL) != CFUT_OK)
        abort();
    uint64_t sum = run_u64(&c.base);
    if (cfut_executor_run(ex) != CFUT_OK)
        abort();
    return sum;
}

static uint64_t
pingpong_cfut_sync(uint64_t ops)
{
    return pingpong_sync_run(ops, false);
}

static uint64_t
pingpong_cfut_sync_storage(uint64_t ops)
{
    return pingpong_sync_run(ops, true);
}

/* The floor: client and server as hand-written state machines, a request
 * ring and a malloc'd reply slot per request, stepped alternately by a
 * two-entry loop (the "executor"). */
struct floor_req {
    struct floor_slot *reply;
    uint64_t v;
};

struct floor_chan {
    struct floor_req ring[16];
    unsigned head, len;
};

__attribute__((noinline)) static void
floor_chan_push(struct floor_chan *ch, struct floor_req r)
{
    ch->ring[(ch->head + ch->len) & 15] = r;
    ch->len++;
}

__attribute__((noinline)) static int
floor_chan_pop(struct floor_chan *ch, struct floor_req *r)
{
    if (ch->len == 0)
        return 0;
    *r = ch->ring[ch->head];
    ch->head = (ch->head + 1) & 15;
    ch->len--;
    return 1;
}

struct floor_client {
    uint64_t i, n, sum;
    struct floor_slot *reply; /* NULL: not waiting */
};

/* Returns 1 when finished. */
__attribute__((noinline)) static int
floor_client_step(struct floor_client *c, struct floor_chan *ch)
{
    for (;;) {
        if (c->reply == NULL) {
            if (c->i == c->n)
                return 1;
            c->reply = floor_slot_new();
            floor_chan_push(ch, (struct floor_req){c->reply, c->i++});
        }
        uint64_t v;
        if (!floor_slot_poll(c->reply, &v))
            return 0;
        floor_slot_release(c->reply);
        c->reply = NULL;
        c->sum += v;
    }
}

__attribute__((noinline)) static void
floor_server_step(struct floor_chan *ch)
{
    struct floor_req r;
    while (floor_chan_pop(ch, &r))
        floor_slot_send(r.reply, r.v + 1);
}

static uint64_t
pingpong_floor(uint64_t ops)
{
    struct floor_chan ch = {.head = 0, .len = 0};
    struct floor_client c = {0, ops, 0, NULL};
    while (!floor_client_step(&c, &ch))
        floor_server_step(&ch);
    return c.sum;
}

/* ---- mpsc_throughput ----------------------------------------------------- */

#define MPSC_CAP 1024

/* The producer task: sends 0..n-1 with send futures (awaiting capacity). */
struct mproducer {
    struct cfut_future base;
    struct cfut_mpsc_sender tx;
    uint64_t i, n;
    bool use_try; /* try_send first, a send future only when full */
    bool sending;
    struct cfut_mpsc_send send;
};

static enum cfut_poll
mproducer_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    (void)out;
    struct mproducer *p = cfut_container_of(f, struct mproducer, base);
    while (p->i < p->n) {
        if (p->use_try && !p->sending &&
            cfut_mpsc_try_send(&p->tx, &p->i) == CFUT_OK) {
            p->i++;
            continue;
        }
        if (!p->sending) {
            cfut_mpsc_send_init(&p->send, &p->tx, &p->i);
            p->sending = true;
        }
        int st;
        if (cfut_future_poll(&p->send.base, cx, &st) == CFUT_PENDING)
            return CFUT_PENDING;
        cfut_future_drop(&p->send.base);
        p->sending = false;
        p->i++;
    }
    cfut_mpsc_sender_drop(&p->tx);
    return CFUT_READY;
}

static void
mproducer_drop(struct cfut_future *f)
{
    struct mproducer *p = cfut_container_of(f, struct mproducer, base);
    if (p->sending)
        cfut_future_drop(&p->send.base);
    cfut_mpsc_sender_drop(&p->tx);
}

static const struct cfut_future_vtable mproducer_vtable = {
    mproducer_poll, mproducer_drop, 0, "mproducer", NULL};

/* The consumer task: sums until the channel closes. */
struct mconsumer {
    struct cfut_future base;
    struct cfut_mpsc_receiver rx;
    uint64_t sum;
    bool use_future; /* a recv future per message, or poll_recv */
    bool receiving;
    struct cfut_mpsc_recv recv;
};

static enum cfut_poll
mconsumer_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct mconsumer *c = cfut_container_of(f, struct mconsumer, base);
    while (!c->use_future) {
        mp_out r;
        if (cfut_mpsc_poll_recv(&c->rx, cx, &r) == CFUT_PENDING)
            return CFUT_PENDING;
        if (r.status != CFUT_OK)
            goto closed;
        c->sum += r.value;
    }
    for (;;) {
        if (!c->receiving) {
            cfut_mpsc_recv_init(&c->recv, &c->rx);
            c->receiving = true;
        }
        mp_out r;
        if (cfut_future_poll(&c->recv.base, cx, &r) == CFUT_PENDING)
            return CFUT_PENDING;
        cfut_future_drop(&c->recv.base);
        c->receiving = false;
        if (r.status != CFUT_OK)
            break;
        c->sum += r.value;
    }
closed:
    cfut_mpsc_receiver_drop(&c->rx);
    *(uint64_t *)out = c->sum;
    return CFUT_READY;
}

static void
mconsumer_drop(struct cfut_future *f)
{
    struct mconsumer *c = cfut_container_of(f, struct mconsumer, base);
    if (c->receiving)
        cfut_future_drop(&c->recv.base);
    cfut_mpsc_receiver_drop(&c->rx);
}

static const struct cfut_future_vtable mconsumer_vtable = {
    mconsumer_poll, mconsumer_drop, sizeof(uint64_t), "mconsumer", NULL};

static uint64_t
mpsc_run(uint64_t ops, bool use_try, bool use_future)
{
    struct mproducer p;
    struct mconsumer c;
    cfut_future_init(&p.base, &mproducer_vtable);
    cfut_future_init(&c.base, &mconsumer_vtable);
    if (cfut_mpsc_new(sizeof(uint64_t), MPSC_CAP, NULL, &p.tx, &c.rx) !=
        CFUT_OK)
        abort();
    p.i = 0;
    p.n = ops;
    p.use_try = use_try;
    p.sending = false;
    c.sum = 0;
    c.use_future = use_future;
    c.receiving = false;
    if (cfut_spawn(ex, &p.base, sizeof p, NULL) != CFUT_OK)
        abort();
    return run_u64(&c.base);
}

static uint64_t
mpsc_cfut(uint64_t ops)
{
    return mpsc_run(ops, false, false);
}

static uint64_t
mpsc_cfut_try(uint64_t ops)
{
    return mpsc_run(ops, true, false);
}

static uint64_t
mpsc_cfut_recv_future(uint64_t ops)
{
    return mpsc_run(ops, false, true);
}

/*
 * The batched variants (both kinds): the producer queues up to MPSC_BATCH
 * messages a call with try_send_many and, when the channel is full, awaits
 * a send future for the next one (capacity); the consumer takes up to
 * MPSC_BATCH a poll with poll_recv_many.
 */
#define MPSC_BATCH 64

struct bproducer {
    struct cfut_future base;
    bool sync;
    struct cfut_mpsc_sender tx;
    struct cfut_mpsc_sync_sender stx;
    uint64_t i, n;
    bool sending;
    struct cfut_mpsc_send send;
    struct cfut_mpsc_sync_send ssend;
    uint64_t batch[MPSC_BATCH];
};

static enum cfut_poll
bproducer_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    (void)out;
    struct bproducer *p = cfut_container_of(f, struct bproducer, base);
    while (p->i < p->n) {
        if (!p->sending) {
            size_t k =
                p->n - p->i < MPSC_BATCH ? (size_t)(p->n - p->i) : MPSC_BATCH;
            for (size_t j = 0; j < k; j++)
                p->batch[j] = p->i + j;
            size_t sent;
            int rc =
                p->sync
                    ? cfut_mpsc_sync_try_send_many(&p->stx, p->batch, k, &sent)
                    : cfut_mpsc_try_send_many(&p->tx, p->batch, k, &sent);
            p->i += sent;
            if (rc == CFUT_OK)
                continue;
            if (rc != CFUT_EFULL)
                abort();
            p->batch[0] = p->i; /* full: wait for room for the next one */
            if (p->sync)
                cfut_mpsc_sync_send_init(&p->ssend, &p->stx, &p->batch[0]);
            else
                cfut_mpsc_send_init(&p->send, &p->tx, &p->batch[0]);
            p->sending = true;
        }
        int st;
        struct cfut_future *sf = p->sync ? &p->ssend.base : &p->send.base;
        if (cfut_future_poll(sf, cx, &st) == CFUT_PENDING)
            return CFUT_PENDING;
        cfut_future_drop(sf);
        p->sending = false;
        p->i++;
    }
    if (p->sync)
        cfut_mpsc_sync_sender_drop(&p->stx);
    else
        cfut_mpsc_sender_drop(&p->tx);
    return CFUT_READY;
}

static void
bproducer_drop(struct cfut_future *f)
{
    struct bproducer *p = cfut_container_of(f, struct bproducer, base);
    if (p->sending)
        cfut_future_drop(p->sync ? &p->ssend.base : &p->send.base);
    cfut_mpsc_sender_drop(&p->tx);
    cfut_mpsc_sync_sender_drop(&p->stx);
}

static const struct cfut_future_vtable bproducer_vtable = {
    bproducer_poll, bproducer_drop, 0, "bproducer", NULL};

struct bconsumer {
    struct cfut_future base;
    bool sync;
    struct cfut_mpsc_receiver rx;
    struct cfut_mpsc_sync_receiver srx;
    uint64_t sum;
    uint64_t batch[MPSC_BATCH];
};

static enum cfut_poll
bconsumer_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct bconsumer *c = cfut_container_of(f, struct bconsumer, base);
    for (;;) {
        size_t n;
        enum cfut_poll r = c->sync ? cfut_mpsc_sync_poll_recv_many(
                                         &c->srx, cx, c->batch, MPSC_BATCH, &n)
                                   : cfut_mpsc_poll_recv_many(
                                         &c->rx, cx, c->batch, MPSC_BATCH, &n);
        if (r == CFUT_PENDING)
            return CFUT_PENDING;
        if (n == 0)
            break;
        for (size_t j = 0; j < n; j++)
            c->sum += c->batch[j];
    }
    cfut_mpsc_receiver_drop(&c->rx);
    cfut_mpsc_sync_receiver_drop(&c->srx);
    *(uint64_t *)out = c->sum;
    return CFUT_READY;
}

static void
bconsumer_drop(struct cfut_future *f)
{
    struct bconsumer *c = cfut_container_of(f, struct bconsumer, base);
    cfut_mpsc_receiver_drop(&c->rx);
    cfut_mpsc_sync_receiver_drop(&c->srx);
}

static const struct cfut_future_vtable bconsumer_vtable = {
    bconsumer_poll, bconsumer_drop, sizeof(uint64_t), "bconsumer", NULL};

static uint64_t
mpsc_batch_run(uint64_t ops, bool sync)
{
    struct bproducer p = {.sync = sync, .n = ops};
    struct bconsumer c = {.sync = sync};
    cfut_future_init(&p.base, &bproducer_vtable);
    cfut_future_init(&c.base, &bconsumer_vtable);
    int rc =
        sync ? cfut_mpsc_sync_new(sizeof(uint64_t), MPSC_CAP, NULL, &p.stx,
                                  &c.srx)
             : cfut_mpsc_new(sizeof(uint64_t), MPSC_CAP, NULL, &p.tx, &c.rx);
    if (rc != CFUT_OK)
        abort();
    if (cfut_spawn(ex, &p.base, sizeof p, NULL) != CFUT_OK)
        abort();
    return run_u64(&c.base);
}

static uint64_t
mpsc_cfut_batch(uint64_t ops)
{
    return mpsc_batch_run(ops, false);
}

static uint64_t
mpsc_cfut_sync_batch(uint64_t ops)
{
    return mpsc_batch_run(ops, true);
}

/* The same with the thread-safe kind, both tasks on one executor. */
struct smproducer {
    struct cfut_future base;
    struct cfut_mpsc_sync_sender tx;
    uint64_t i, n;
    bool sending;
    struct cfut_mpsc_sync_send send;
};

static enum cfut_poll
smproducer_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    (void)out;
    struct smproducer *p = cfut_container_of(f, struct smproducer, base);
    while (p->i < p->n) {
        if (!p->sending) {
            cfut_mpsc_sync_send_init(&p->send, &p->tx, &p->i);
            p->sending = true;
        }
        int st;
        if (cfut_future_poll(&p->send.base, cx, &st) == CFUT_PENDING)
            return CFUT_PENDING;
        cfut_future_drop(&p->send.base);
        p->sending = false;
        p->i++;
    }
    cfut_mpsc_sync_sender_drop(&p->tx);
    return CFUT_READY;
}

static void
smproducer_drop(struct cfut_future *f)
{
    struct smproducer *p = cfut_container_of(f, struct smproducer, base);
    if (p->sending)
        cfut_future_drop(&p->send.base);
    cfut_mpsc_sync_sender_drop(&p->tx);
}

static const struct cfut_future_vtable smproducer_vtable = {
    smproducer_poll, smproducer_drop, 0, "smproducer", NULL};

struct smconsumer {
    struct cfut_future base;
    struct cfut_mpsc_sync_receiver rx;
    uint64_t sum;
    bool receiving;
    struct cfut_mpsc_sync_recv recv;
};

static enum cfut_poll
smconsumer_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct smconsumer *c = cfut_container_of(f, struct smconsumer, base);
    for (;;) {
        mp_out r;
        if (cfut_mpsc_sync_poll_recv(&c->rx, cx, &r) == CFUT_PENDING)
            return CFUT_PENDING;
        if (r.status != CFUT_OK)
            break;
        c->sum += r.value;
    }
    cfut_mpsc_sync_receiver_drop(&c->rx);
    *(uint64_t *)out = c->sum;
    return CFUT_READY;
}

static void
smconsumer_drop(struct cfut_future *f)
{
    struct smconsumer *c = cfut_container_of(f, struct smconsumer, base);
    if (c->receiving)
        cfut_future_drop(&c->recv.base);
    cfut_mpsc_sync_receiver_drop(&c->rx);
}

static const struct cfut_future_vtable smconsumer_vtable = {
    smconsumer_poll, smconsumer_drop, sizeof(uint64_t), "smconsumer", NULL};

static uint64_t
mpsc_cfut_sync(uint64_t ops)
{
    struct smproducer p;
    struct smconsumer c;
    cfut_future_init(&p.base, &smproducer_vtable);
    cfut_future_init(&c.base, &smconsumer_vtable);
    if (cfut_mpsc_sync_new(sizeof(uint64_t), MPSC_CAP, NULL, &p.tx, &c.rx) !=
        CFUT_OK)
        abort();
    p.i = 0;
    p.n = ops;
    p.sending = false;
    c.sum = 0;
    c.receiving = false;
    if (cfut_spawn(ex, &p.base, sizeof p, NULL) != CFUT_OK)
        abort();
    return run_u64(&c.base);
}

/* The thread-safe pairs again on a pool of 2 workers (cfut_pool): the
 * server (producer) spawned detached, the client (consumer) awaited
 * through its join handle from this thread. */
static struct cfut_pool *pool2;

static uint64_t
run_pool_pair(struct cfut_future *bg, size_t bg_size, struct cfut_future *fg,
              size_t fg_size)
{
    struct cfut_pool_handle h;
    if (cfut_pool_spawn(pool2, bg, bg_size, NULL) != CFUT_OK ||
        cfut_pool_spawn(pool2, fg, fg_size, &h) != CFUT_OK)
        abort();
    CFUT_JOIN_OUTPUT(uint64_t) out;
    if (cfut_pool_block_on(pool2, &h.base, &out) != CFUT_OK ||
        out.status != CFUT_OK)
        abort();
    return out.value;
}

static uint64_t
pingpong_pool(uint64_t ops)
{
    struct sserver s;
    struct sclient c;
    cfut_future_init(&s.base, &sserver_vtable);
    cfut_future_init(&c.base, &sclient_vtable);
    if (cfut_mpsc_sync_new(sizeof(struct sreq), CFUT_MPSC_UNBOUNDED, NULL,
                           &c.tx, &s.rx) != CFUT_OK)
        abort();
    s.receiving = false;
    c.i = 0;
    c.n = ops;
    c.sum = 0;
    c.waiting = false;
    return run_pool_pair(&s.base, sizeof s, &c.base, sizeof c);
}

static uint64_t
mpsc_pool(uint64_t ops)
{
    struct smproducer p;
    struct smconsumer c;
    cfut_future_init(&p.base, &smproducer_vtable);
    cfut_future_init(&c.base, &smconsumer_vtable);
    if (cfut_mpsc_sync_new(sizeof(uint64_t), MPSC_CAP, NULL, &p.tx, &c.rx) !=
        CFUT_OK)
        abort();
    p.i = 0;
    p.n = ops;
    p.sending = false;
    c.sum = 0;
    c.receiving = false;
    return run_pool_pair(&p.base, sizeof p, &c.base, sizeof c);
}

/* The floor: a 1024-slot ring and two hand-written state machines, the
 * producer filling it and the consumer draining it, stepped alternately. */
struct floor_ring {
    uint64_t slots[MPSC_CAP];
    size_t head, len;
    bool closed;
};

__attribute__((noinline)) static int
floor_produce(struct floor_ring *r, uint64_t *i, uint64_t n)
{
    while (*i < n) {
        if (r->len == MPSC_CAP)
            return 0;
        size_t k = r->head + r->len;
        if (k >= MPSC_CAP)
            k -= MPSC_CAP;
        r->slots[k] = *i;
        r->len++;
        ++*i;
    }
    r->closed = true;
    return 1;
}

__attribute__((noinline)) static int
floor_consume(struct floor_ring *r, uint64_t *sum)
{
    while (r->len != 0) {
        *sum += r->slots[r->head];
        if (++r->head == MPSC_CAP)
            r->head = 0;
        r->len--;
    }
    return r->closed;
}

static uint64_t
mpsc_floor(uint64_t ops)
{
    static struct floor_ring r;
    r.head = 0;
    r.len = 0;
    r.closed = false;
    uint64_t i = 0, sum = 0;
    for (;;) {
        floor_produce(&r, &i, ops);
        if (floor_consume(&r, &sum))
            break;
    }
    return sum;
}

/* ---- broadcast_fanout_8 ------------------------------------------------ */

#define FANOUT 8
#define FANOUT_CAP 64
#define FANOUT_BURST 16 /* messages a sender poll sends before it yields */

typedef CFUT_BROADCAST_OUTPUT(uint64_t) bc_out;

/*
 * A receiver task of either kind: sums what it receives until the end
 * (a lag would make the sum wrong, and the benchmark fail).
 */
struct bc_receiver {
    struct cfut_future base;
    bool is_sync;
    struct cfut_broadcast_receiver rx;
    struct cfut_broadcast_sync_receiver srx;
    bool receiving;
    struct cfut_broadcast_recv recv;
    uint64_t *sum;
};

static enum cfut_poll
bc_receiver_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    (void)out;
    struct bc_receiver *r = cfut_container_of(f, struct bc_receiver, base);
    for (;;) {
        if (!r->receiving) {
            if (r->is_sync)
                cfut_broadcast_sync_recv_init(&r->recv, &r->srx);
            else
                cfut_broadcast_recv_init(&r->recv, &r->rx);
            r->receiving = true;
        }
        bc_out o;
        if (cfut_future_poll(&r->recv.base, cx, &o) == CFUT_PENDING)
            return CFUT_PENDING;
        cfut_future_drop(&r->recv.base);
        r->receiving = false;
        if (o.status != CFUT_OK)
            break;
        *r->sum += o.value;
    }
    return CFUT_READY;
}

static void
bc_receiver_drop(struct cfut_future *f)
{
    struct bc_receiver *r = cfut_container_of(f, struct bc_receiver, base);
    if (r->receiving)
        cfut_future_drop(&r->recv.base);
    cfut_broadcast_receiver_drop(&r->rx);
    cfut_broadcast_sync_receiver_drop(&r->srx);
}

static const struct cfut_future_vtable bc_receiver_vtable = {
    bc_receiver_poll, bc_receiver_drop, 0, "bc_receiver", NULL};

/* The sender task: sends 0..n-1, FANOUT_BURST a poll, then yields so that
 * the receivers keep up (the ring holds FANOUT_CAP). */
struct bc_sender {
    struct cfut_future base;
    bool is_sync;
    struct cfut_broadcast_sender tx;
    struct cfut_broadcast_sync_sender stx;
    uint64_t i, n;
};

static enum cfut_poll
bc_sender_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    (void)out;
    struct bc_sender *s = cfut_container_of(f, struct bc_sender, base);
    for (int k = 0; k < FANOUT_BURST && s->i < s->n; k++, s->i++) {
        int rc = s->is_sync ? cfut_broadcast_sync_send(&s->stx, &s->i)
                            : cfut_broadcast_send(&s->tx, &s->i);
        if (rc != CFUT_OK)
            abort();
    }
    if (s->i < s->n) {
        cfut_waker_wake_by_ref(cx->waker);
        return CFUT_PENDING;
    }
    cfut_broadcast_sender_drop(&s->tx);
    cfut_broadcast_sync_sender_drop(&s->stx);
    return CFUT_READY;
}

static const struct cfut_future_vtable bc_sender_vtable = {
    bc_sender_poll, NULL, 0, "bc_sender", NULL};

static uint64_t
fanout_run(uint64_t ops, bool is_sync)
{
    struct bc_sender s = {.is_sync = is_sync, .n = ops};
    cfut_future_init(&s.base, &bc_sender_vtable);
    struct cfut_broadcast_receiver rx0 = {NULL, 0};
    struct cfut_broadcast_sync_receiver srx0 = {NULL, 0};
    int rc = is_sync ? cfut_broadcast_sync_new(sizeof(uint64_t), FANOUT_CAP,
                                               NULL, &s.stx, &srx0)
                     : cfut_broadcast_new(sizeof(uint64_t), FANOUT_CAP, NULL,
                                          &s.tx, &rx0);
    if (rc != CFUT_OK)
        abort();
    uint64_t sums[FANOUT] = {0};
    for (int j = 0; j < FANOUT; j++) {
        struct bc_receiver r = {.is_sync = is_sync, .sum = &sums[j]};
        cfut_future_init(&r.base, &bc_receiver_vtable);
        if (is_sync)
            r.srx = cfut_broadcast_sync_subscribe(&s.stx);
        else
            r.rx = cfut_broadcast_subscribe(&s.tx);
        if (cfut_spawn(ex, &r.base, sizeof r, NULL) != CFUT_OK)
            abort();
    }
    cfut_broadcast_receiver_drop(&rx0);
    cfut_broadcast_sync_receiver_drop(&srx0);
    if (cfut_spawn(ex, &s.base, sizeof s, NULL) != CFUT_OK ||
        cfut_executor_run(ex) != CFUT_OK)
        abort();
    uint64_t sum = 0;
    for (int j = 0; j < FANOUT; j++)
        sum += sums[j];
    return sum;
}

static uint64_t
fanout_cfut(uint64_t ops)
{
    return fanout_run(ops, false);
}

static uint64_t
fanout_cfut_sync(uint64_t ops)
{
    return fanout_run(ops, true);
}

/* Every receiver sums 0..ops-1. */
static uint64_t
expect_fanout(uint64_t ops)
{
    return FANOUT * expect_sum_below(ops);
}

/* The floor: a ring of FANOUT_CAP values and FANOUT positions; the sender
 * writes a burst, then each receiver reads up to the tail, by direct calls
 * to hand-written steps. */
struct floor_fanout {
    uint64_t ring[FANOUT_CAP];
    uint64_t tail;
    uint64_t next[FANOUT];
    uint64_t sum[FANOUT];
};

__attribute__((noinline)) static void
floor_fanout_send(struct floor_fanout *b, uint64_t v)
{
    b->ring[b->tail % FANOUT_CAP] = v;
    b->tail++;
}

__attribute__((noinline)) static int
floor_fanout_recv(struct floor_fanout *b, int j, uint64_t *v)
{
    if (b->next[j] == b->tail)
        return 0;
    *v = b->ring[b->next[j] % FANOUT_CAP];
    b->next[j]++;
    return 1;
}

static uint64_t
fanout_floor(uint64_t ops)
{
    static struct floor_fanout b;
    memset(&b, 0, sizeof b);
    for (uint64_t i = 0; i < ops;) {
        for (int k = 0; k < FANOUT_BURST && i < ops; k++, i++)
            floor_fanout_send(&b, i);
        for (int j = 0; j < FANOUT; j++) {
            uint64_t v;
            while (floor_fanout_recv(&b, j, &v))
                b.sum[j] += v;
        }
    }
    uint64_t sum = 0;
    for (int j = 0; j < FANOUT; j++)
        sum += b.sum[j];
    return sum;
}

/* ---- semaphore_acquire_release ------------------------------------------ */

/* One task: n times, acquire a permit (an acquire future, or try_acquire)
 * and drop it; its sum counts the permits held. */
struct sem_task {
    struct cfut_future base;
    bool is_sync, use_try, acquiring;
    struct cfut_semaphore sem;
    struct cfut_semaphore_sync ssem;
    struct cfut_semaphore_acquire acq;
    uint64_t i, n, sum;
};

static enum cfut_poll
sem_task_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct sem_task *t = cfut_container_of(f, struct sem_task, base);
    for (; t->i < t->n; t->i++) {
        struct cfut_semaphore_acquired got = {CFUT_OK, {0, NULL, NULL}};
        if (t->use_try) {
            if (cfut_semaphore_try_acquire(&t->sem, 1, &got.permit) != CFUT_OK)
                abort();
        } else {
            if (!t->acquiring) {
                if (t->is_sync)
                    cfut_semaphore_sync_acquire_init(&t->acq, &t->ssem, 1);
                else
                    cfut_semaphore_acquire_init(&t->acq, &t->sem, 1);
                t->acquiring = true;
            }
            if (cfut_future_poll(&t->acq.base, cx, &got) == CFUT_PENDING)
                return CFUT_PENDING; /* the budget: it yields */
            cfut_future_drop(&t->acq.base);
            t->acquiring = false;
            if (got.status != CFUT_OK)
                abort();
        }
        t->sum += got.permit.n;
        cfut_semaphore_permit_drop(&got.permit);
    }
    *(uint64_t *)out = t->sum;
    return CFUT_READY;
}

static const struct cfut_future_vtable sem_task_vtable = {
    sem_task_poll, NULL, sizeof(uint64_t), "sem_task", NULL};

static uint64_t
sem_run(uint64_t ops, bool is_sync, bool use_try)
{
    struct sem_task t = {.is_sync = is_sync, .use_try = use_try, .n = ops};
    cfut_future_init(&t.base, &sem_task_vtable);
    if ((is_sync ? cfut_semaphore_sync_new(1, &t.ssem)
                 : cfut_semaphore_new(1, &t.sem)) != CFUT_OK)
        abort();
    uint64_t sum = run_u64(&t.base);
    cfut_semaphore_drop(&t.sem);
    cfut_semaphore_sync_drop(&t.ssem);
    return sum;
}

static uint64_t
sem_cfut(uint64_t ops)
{
    return sem_run(ops, false, false);
}

static uint64_t
sem_cfut_try(uint64_t ops)
{
    return sem_run(ops, false, true);
}

static uint64_t
sem_cfut_sync(uint64_t ops)
{
    return sem_run(ops, true, false);
}

static uint64_t
expect_ops(uint64_t ops)
{
    return ops;
}

/* The floor: a count of permits, taken and given back by direct calls. */
struct floor_sem {
    size_t available;
};

__attribute__((noinline)) static int
floor_sem_acquire(struct floor_sem *s, size_t n)
{
    if (s->available < n)
        return 0;
    s->available -= n;
    return 1;
}

__attribute__((noinline)) static void
floor_sem_release(struct floor_sem *s, size_t n)
{
    s->available += n;
}

static uint64_t
sem_floor(uint64_t ops)
{
    struct floor_sem s = {1};
    uint64_t sum = 0;
    for (uint64_t i = 0; i < ops; i++) {
        if (!floor_sem_acquire(&s, 1))
            abort();
        sum++;
        floor_sem_release(&s, 1);
    }
    return sum;
}

int
main(int argc, char **argv)
{
    struct benchkit b;
    benchkit_args(&b, argc, argv);
    if (cfut_executor_new(&ex) != CFUT_OK)
        return 1;

    benchkit_run(&b, "oneshot_create_send_recv", "cfut", csr_cfut, 100000, 1,
                 expect_sum_below);
    benchkit_run(&b, "oneshot_create_send_recv", "cfut-storage",
                 csr_cfut_storage, 100000, 1, expect_sum_below);
    benchkit_run(&b, "oneshot_create_send_recv", "cfut-sync", csr_cfut_sync,
                 100000, 1, expect_sum_below);
    benchkit_run(&b, "oneshot_create_send_recv", "floor", csr_floor, 100000, 1,
                 expect_sum_below);
    benchkit_run(&b, "oneshot_create_send_recv", "floor-storage",
                 csr_floor_storage, 100000, 1, expect_sum_below);
    benchkit_run(&b, "oneshot_pingpong", "cfut", pingpong_cfut, 100000, 1,
                 expect_sum_to);
    benchkit_run(&b, "oneshot_pingpong", "cfut-storage", pingpong_cfut_storage,
                 100000, 1, expect_sum_to);
    benchkit_run(&b, "oneshot_pingpong", "cfut-sync", pingpong_cfut_sync,
                 100000, 1, expect_sum_to);
    benchkit_run(&b, "oneshot_pingpong", "cfut-sync-storage",
                 pingpong_cfut_sync_storage, 100000, 1, expect_sum_to);
    benchkit_run(&b, "oneshot_pingpong", "floor", pingpong_floor, 100000, 1,
                 expect_sum_to);
    benchkit_run(&b, "mpsc_throughput", "cfut", mpsc_cfut, 1000000, 1,
                 expect_sum_below);
    benchkit_run(&b, "mpsc_throughput", "cfut-try", mpsc_cfut_try, 1000000, 1,
                 expect_sum_below);
    benchkit_run(&b, "mpsc_throughput", "cfut-recv-future",
                 mpsc_cfut_recv_future, 1000000, 1, expect_sum_below);
    benchkit_run(&b, "mpsc_throughput", "cfut-sync", mpsc_cfut_sync, 1000000, 1,
                 expect_sum_below);
    benchkit_run(&b, "mpsc_throughput", "cfut-batch", mpsc_cfut_batch, 1000000,
                 1, expect_sum_below);
    benchkit_run(&b, "mpsc_throughput", "cfut-sync-batch", mpsc_cfut_sync_batch,
                 1000000, 1, expect_sum_below);
    benchkit_run(&b, "mpsc_throughput", "floor", mpsc_floor, 1000000, 1,
                 expect_sum_below);
    benchkit_run(&b, "broadcast_fanout_8", "cfut", fanout_cfut, 100000, FANOUT,
                 expect_fanout);
    benchkit_run(&b, "broadcast_fanout_8", "cfut-sync", fanout_cfut_sync,
                 100000, FANOUT, expect_fanout);
    benchkit_run(&b, "broadcast_fanout_8", "floor", fanout_floor, 100000,
                 FANOUT, expect_fanout);
    benchkit_run(&b, "semaphore_acquire_release", "cfut", sem_cfut, 100000, 1,
                 expect_ops);
    benchkit_run(&b, "semaphore_acquire_release", "cfut-try", sem_cfut_try,
                 100000, 1, expect_ops);
    benchkit_run(&b, "semaphore_acquire_release", "cfut-sync", sem_cfut_sync,
                 100000, 1, expect_ops);
    benchkit_run(&b, "semaphore_acquire_release", "floor", sem_floor, 100000, 1,
                 expect_ops);

    /* Last: once a process has started a thread, glibc's locks and malloc
     * leave their single-thread fast paths for good, which would change
     * the instruction counts of the workloads above. */
    struct cfut_pool_config pool_cfg = {.n_workers = 2};
    if (cfut_pool_new(&pool_cfg, &pool2) != CFUT_OK)
        return 1;
    benchkit_run(&b, "oneshot_pingpong", "cfut-pool", pingpong_pool, 100000, 1,
                 expect_sum_to);
    benchkit_run(&b, "mpsc_throughput", "cfut-pool", mpsc_pool, 1000000, 1,
                 expect_sum_below);
    cfut_pool_free(pool2);
    cfut_executor_free(ex);
    return 0;
}
