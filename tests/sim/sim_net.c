/*
 * sim_net.c: the simulated network of sim.h: links of two stream ends, one
 * bounded buffer per direction, and one task that delivers the bytes in
 * random segments at random times on the paused clock, starts and ends
 * the readers' stalls, and injects the connections' faults. Every random
 * choice of a link comes from generators derived from the seed and the
 * link's number, so a run does not depend on addresses or real time.
 */
#define _GNU_SOURCE
#include "sim.h"

#include <stdio.h>
#include <string.h>

/* ---- the generator ---- */

static uint64_t
mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 31;
    return x;
}

uint64_t
sim_rng_next(struct sim_rng *r)
{
    r->s += 0x9e3779b97f4a7c15ull;
    return mix64(r->s);
}

uint64_t
sim_rng_below(struct sim_rng *r, uint64_t n)
{
    return n == 0 ? 0 : sim_rng_next(r) % n;
}

uint64_t
sim_rng_range(struct sim_rng *r, uint64_t lo, uint64_t hi)
{
    return hi <= lo ? lo : lo + sim_rng_below(r, hi - lo + 1);
}

bool
sim_rng_chance(struct sim_rng *r, unsigned per_mille)
{
    return per_mille != 0 && sim_rng_below(r, 1000) < per_mille;
}

struct sim_rng
sim_rng_derive(uint64_t seed, uint64_t stream)
{
    struct sim_rng r = {mix64(seed * 0x2545f4914f6cdd1dull) ^ mix64(~stream)};
    return r;
}

/* ---- the network's state ---- */

/* One direction: bytes [0, delivered) are readable, [delivered, len) are
 * still in flight; the writer waits while 'len' is 'cap'. */
struct sim_dir {
    unsigned char *buf;
    size_t cap, len, delivered;
    size_t max_segment;
    bool fin;         /* the writer shut down or closed: EOF after the bytes */
    bool cut;         /* the network cut it: EOF after the delivered bytes */
    bool reset;       /* reads and writes fail with CFUT_ECONNRESET */
    bool reader_gone; /* the reader closed: writes fail */
    bool armed;       /* a delivery is due at 'at' */
    uint64_t at;
    uint64_t stall_until; /* the reader does not read until then (0: no) */
    struct cfut_waker reader, writer;
    struct sim_rng rng;
};

struct sim_link {
    struct sim_net *net;
    unsigned id;
    struct sim_link *next; /* every link, in creation order */
    struct sim_dir dir[2]; /* 0: client -> server, 1: server -> client */
    int n_open;            /* ends not yet closed */
    enum sim_fault fault;  /* what hit it */
    bool fault_armed;
    enum sim_fault fault_kind;
    uint64_t fault_at;
};

struct sim_end {
    struct cfut_stream base;
    struct sim_link *l;
    int side; /* 0: the client's end (writes dir 0), 1: the server's */
};

struct sim_net {
    struct cfut_executor *ex;
    struct sim_net_params p;
    uint64_t seed;
    bool verbose;
    struct sim_link *links, **tail;
    unsigned n_links, n_open_links;
    bool closing;
    struct cfut_waker task; /* the network task's */
    uint64_t hash;
    struct sim_net_stats st;
    uint64_t progress, watch_progress, watch_since, start;
    void (*on_idle)(void *arg);
    void *on_idle_arg;
};

static const char *const dir_name[2] = {"c2s", "s2c"};

static void
trace(struct sim_net *n, const struct sim_link *l, int d, const char *what,
      uint64_t a, uint64_t b)
{
    uint64_t now = cfut_time_now(n->ex) - n->start;
    n->hash = mix64(n->hash ^ now) ^ mix64((uint64_t)l->id << 8 | (unsigned)d);
    n->hash = mix64(n->hash ^ (uint64_t)(unsigned char)what[0] ^ a << 8) ^ b;
    if (n->verbose)
        fprintf(stderr, "sim %12.3f us link %u %s %s %llu %llu\n",
                (double)now / 1e3, l->id, d < 0 ? "-" : dir_name[d], what,
                (unsigned long long)a, (unsigned long long)b);
}

static void
kick(struct sim_net *n)
{
    cfut_waker_wake_by_ref(&n->task);
}

void
sim_net_progress(struct sim_net *n)
{
    n->progress++;
}

static uint64_t
draw_delay(struct sim_net *n, struct sim_dir *d)
{
    if (n->p.max_delay_ns == 0 || sim_rng_chance(&d->rng, 400))
        return 0;
    return sim_grain(sim_rng_range(&d->rng, 1, n->p.max_delay_ns),
                     n->p.grain_ns);
}

static void
arm(struct sim_net *n, struct sim_dir *d)
{
    if (d->armed || d->len == d->delivered)
        return;
    d->armed = true;
    d->at = cfut_time_now(n->ex) + draw_delay(n, d);
    kick(n);
}

/* ---- the stream ends ---- */

static enum cfut_poll
end_read(struct cfut_stream *s, struct cfut_context *cx, void *buf, size_t cap,
         struct cfut_stream_result *res)
{
    struct sim_end *e = (struct sim_end *)s;
    struct sim_net *n = e->l->net;
    struct sim_dir *d = &e->l->dir[1 - e->side];
    uint64_t now = cfut_time_now(n->ex);
    res->n = 0;
    if (d->reset) {
        res->status = CFUT_ECONNRESET;
        return CFUT_READY;
    }
    if (d->delivered == 0) {
        if (d->len == 0 && (d->fin || d->cut)) {
            res->status = CFUT_EEOF;
            return CFUT_READY;
        }
        cfut_waker_register(&d->reader, cx->waker);
        return CFUT_PENDING;
    }
    if (d->stall_until == 0 && sim_rng_chance(&d->rng, n->p.stall_per_mille)) {
        d->stall_until =
            now + sim_grain(sim_rng_range(&d->rng, 1, n->p.max_stall_ns),
                            n->p.grain_ns);
        n->st.n_stalls++;
        trace(n, e->l, 1 - e->side, "stall", d->stall_until - now, d->len);
        kick(n);
    }
    if (d->stall_until > now) {
        cfut_waker_register(&d->reader, cx->waker);
        return CFUT_PENDING;
    }
    d->stall_until = 0;
    if (!cfut_context_consume_budget(cx))
        return CFUT_PENDING;
    size_t k = d->delivered < cap ? d->delivered : cap;
    memcpy(buf, d->buf, k);
    memmove(d->buf, d->buf + k, d->len - k);
    d->len -= k;
    d->delivered -= k;
    cfut_waker_wake(&d->writer);
    n->progress++;
    res->status = 0;
    res->n = k;
    return CFUT_READY;
}

static enum cfut_poll
end_write(struct cfut_stream *s, struct cfut_context *cx,
          const struct cfut_iovec *iov, size_t n_iov,
          struct cfut_stream_result *res)
{
    struct sim_end *e = (struct sim_end *)s;
    struct sim_net *n = e->l->net;
    struct sim_dir *d = &e->l->dir[e->side];
    res->n = 0;
    if (d->reset || d->cut || d->reader_gone) {
        res->status = CFUT_ECONNRESET;
        return CFUT_READY;
    }
    if (d->fin) {
        res->status = CFUT_ESTATE;
        return CFUT_READY;
    }
    if (d->len == d->cap) {
        n->st.n_full++;
        cfut_waker_register(&d->writer, cx->waker);
        return CFUT_PENDING;
    }
    if (!cfut_context_consume_budget(cx))
        return CFUT_PENDING;
    size_t k = 0;
    for (size_t i = 0; i < n_iov && d->len < d->cap; i++) {
        size_t c = iov[i].len;
        if (c > d->cap - d->len)
            c = d->cap - d->len;
        memcpy(d->buf + d->len, iov[i].base, c);
        d->len += c;
        k += c;
    }
    arm(n, d);
    n->progress++;
    res->status = 0;
    res->n = k;
    return CFUT_READY;
}

static enum cfut_poll
end_shutdown(struct cfut_stream *s, struct cfut_context *cx,
             struct cfut_stream_result *res)
{
    (void)cx;
    struct sim_end *e = (struct sim_end *)s;
    struct sim_dir *d = &e->l->dir[e->side];
    d->fin = true;
    cfut_waker_wake(&d->reader);
    trace(e->l->net, e->l, e->side, "shutdown", d->len, 0);
    res->status = 0;
    res->n = 0;
    return CFUT_READY;
}

static void
end_close(struct cfut_stream *s)
{
    struct sim_end *e = (struct sim_end *)s;
    struct sim_link *l = e->l;
    struct sim_net *n = l->net;
    struct sim_dir *tx = &l->dir[e->side];
    struct sim_dir *rx = &l->dir[1 - e->side];
    /* Our writes end: the peer reads what is in flight, then its end. */
    tx->fin = true;
    cfut_waker_drop(&tx->writer);
    cfut_waker_wake(&tx->reader);
    /* Our reads end: what was sent to us is lost, the peer's writes fail. */
    rx->reader_gone = true;
    rx->len = rx->delivered = 0;
    rx->armed = false;
    rx->stall_until = 0;
    cfut_waker_drop(&rx->reader);
    cfut_waker_wake(&rx->writer);
    trace(n, l, -1, e->side == 0 ? "close-client" : "close-server", tx->len, 0);
    cfut_free(e);
    if (--l->n_open == 0) {
        for (int i = 0; i < 2; i++) {
            cfut_waker_drop(&l->dir[i].reader);
            cfut_waker_drop(&l->dir[i].writer);
        }
        n->n_open_links--;
    }
    n->progress++;
    kick(n);
}

static const struct cfut_stream_vtable end_vtable = {
    end_read, end_write, end_shutdown, end_close, "sim_stream",
};

/* ---- the network's task ---- */

static void
deliver(struct sim_net *n, struct sim_link *l, int i, uint64_t now)
{
    struct sim_dir *d = &l->dir[i];
    d->armed = false;
    size_t avail = d->len - d->delivered;
    if (avail == 0)
        return;
    size_t k = (size_t)sim_rng_range(&d->rng, 1, d->max_segment);
    if (k > avail)
        k = avail;
    d->delivered += k;
    n->st.n_segments++;
    n->st.n_bytes += k;
    n->progress++;
    trace(n, l, i, "deliver", k, avail - k);
    cfut_waker_wake(&d->reader);
    if (d->delivered < d->len) {
        d->armed = true;
        d->at = now + draw_delay(n, d);
    }
}

static void
apply_fault(struct sim_net *n, struct sim_link *l)
{
    l->fault_armed = false;
    l->fault = l->fault_kind;
    n->st.n_faults++;
    for (int i = 0; i < 2; i++) {
        struct sim_dir *d = &l->dir[i];
        bool hit = l->fault == SIM_FAULT_RESET ||
                   (i == 0 && l->fault == SIM_FAULT_CUT_C2S) ||
                   (i == 1 && l->fault == SIM_FAULT_CUT_S2C);
        if (!hit)
            continue;
        if (l->fault == SIM_FAULT_RESET) {
            d->reset = true;
            d->len = d->delivered = 0;
        } else {
            /* A random part of what is in flight still arrives. */
            d->delivered +=
                (size_t)sim_rng_below(&d->rng, d->len - d->delivered + 1);
            d->len = d->delivered;
            d->cut = true;
        }
        d->armed = false;
        trace(n, l, i, l->fault == SIM_FAULT_RESET ? "reset" : "cut", d->len,
              0);
        cfut_waker_wake(&d->reader);
        cfut_waker_wake(&d->writer);
    }
}

/* Runs what is due at 'now'; returns when the next thing is due. */
static uint64_t
run_due(struct sim_net *n, uint64_t now)
{
    uint64_t next = UINT64_MAX;
    for (struct sim_link *l = n->links; l != NULL; l = l->next) {
        if (l->n_open == 0)
            continue;
        if (l->fault_armed && l->fault_at <= now)
            apply_fault(n, l);
        if (l->fault_armed && l->fault_at < next)
            next = l->fault_at;
        for (int i = 0; i < 2; i++) {
            struct sim_dir *d = &l->dir[i];
            if (d->armed && d->at <= now)
                deliver(n, l, i, now);
            if (d->stall_until != 0 && d->stall_until <= now) {
                d->stall_until = 0;
                trace(n, l, i, "resume", d->len, 0);
                cfut_waker_wake(&d->reader);
            }
            if (d->armed && d->at < next)
                next = d->at;
            if (d->stall_until != 0 && d->stall_until < next)
                next = d->stall_until;
        }
    }
    return next;
}

struct net_task {
    struct cfut_future base;
    struct sim_net *n;
    bool sleeping;
    uint64_t sleep_at;
    struct cfut_sleep sl;
};

/* The watchdog: simulated time with nothing moving means a hang. */
#define WATCH_NS CFUT_SEC(60)
#define LIMIT_NS CFUT_SEC(3600)

static enum cfut_poll
net_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    (void)out;
    struct net_task *t = (struct net_task *)f;
    struct sim_net *n = t->n;
    cfut_waker_register(&n->task, cx->waker);
    for (;;) {
        uint64_t now = cfut_time_now(n->ex);
        uint64_t next = run_due(n, now);
        if (n->closing && n->n_open_links == 0) {
            if (t->sleeping)
                cfut_future_drop(&t->sl.base);
            t->sleeping = false;
            cfut_waker_drop(&n->task);
            if (n->on_idle != NULL)
                n->on_idle(n->on_idle_arg);
            return CFUT_READY;
        }
        if (n->progress != n->watch_progress) {
            n->watch_progress = n->progress;
            n->watch_since = now;
        } else if (now - n->watch_since > WATCH_NS) {
            sim_fail("stuck: nothing moved for %llu s of simulated time "
                     "(%u links open)",
                     (unsigned long long)(WATCH_NS / CFUT_SEC(1)),
                     n->n_open_links);
        }
        if (now - n->start > LIMIT_NS)
            sim_fail("the run passed %llu s of simulated time",
                     (unsigned long long)(LIMIT_NS / CFUT_SEC(1)));
        if (next <= now) {
            /* More is due now: let the tasks it woke run first. */
            cfut_waker_wake_by_ref(cx->waker);
            return CFUT_PENDING;
        }
        if (next == UINT64_MAX)
            next = now + CFUT_SEC(1); /* the watchdog's tick */
        if (t->sleeping && t->sleep_at != next) {
            cfut_future_drop(&t->sl.base);
            t->sleeping = false;
        }
        if (!t->sleeping) {
            cfut_sleep_until_init(&t->sl, next);
            t->sleeping = true;
            t->sleep_at = next;
        }
        int st = 0;
        if (cfut_future_poll(&t->sl.base, cx, &st) == CFUT_PENDING)
            return CFUT_PENDING;
        if (st != 0)
            sim_fail("the network's timer failed: %s", cfut_strerror(st));
        cfut_future_drop(&t->sl.base);
        t->sleeping = false;
    }
}

static void
net_drop(struct cfut_future *f)
{
    struct net_task *t = (struct net_task *)f;
    if (t->sleeping)
        cfut_future_drop(&t->sl.base);
    cfut_waker_drop(&t->n->task);
}

static const struct cfut_future_vtable net_vtable = {
    net_poll, net_drop, 0, "sim_net", NULL,
};

/* ---- the network's life ---- */

int
sim_net_new(struct cfut_executor *ex, const struct sim_net_params *p,
            uint64_t seed, bool verbose, struct sim_net **out)
{
    struct sim_net *n = cfut_alloc(sizeof *n);
    if (n == NULL)
        return CFUT_ENOMEM;
    memset(n, 0, sizeof *n);
    n->ex = ex;
    n->p = *p;
    n->seed = seed;
    n->verbose = verbose;
    n->tail = &n->links;
    n->task = CFUT_WAKER_EMPTY;
    n->start = cfut_time_now(ex);
    n->watch_since = n->start;
    n->hash = mix64(seed);
    struct net_task t;
    cfut_future_init(&t.base, &net_vtable);
    t.n = n;
    t.sleeping = false;
    t.sleep_at = 0;
    int rc = cfut_spawn(ex, &t.base, sizeof t, NULL);
    if (rc < 0) {
        cfut_free(n);
        return rc;
    }
    *out = n;
    return 0;
}

void
sim_net_close(struct sim_net *n)
{
    n->closing = true;
    kick(n);
}

void
sim_net_on_idle(struct sim_net *n, void (*fn)(void *arg), void *arg)
{
    n->on_idle = fn;
    n->on_idle_arg = arg;
}

void
sim_net_free(struct sim_net *n)
{
    struct sim_link *l = n->links;
    while (l != NULL) {
        struct sim_link *next = l->next;
        for (int i = 0; i < 2; i++) {
            cfut_waker_drop(&l->dir[i].reader);
            cfut_waker_drop(&l->dir[i].writer);
            cfut_free(l->dir[i].buf);
        }
        cfut_free(l);
        l = next;
    }
    cfut_waker_drop(&n->task);
    cfut_free(n);
}

void
sim_net_dump(const struct sim_net *n)
{
    for (const struct sim_link *l = n->links; l != NULL; l = l->next) {
        if (l->n_open == 0)
            continue;
        fprintf(stderr, "sim: link %u: %d ends open, fault %d%s\n", l->id,
                l->n_open, l->fault, l->fault_armed ? " (armed)" : "");
        for (int i = 0; i < 2; i++) {
            const struct sim_dir *d = &l->dir[i];
            fprintf(stderr,
                    "sim:   %s: %zu/%zu bytes, %zu delivered, fin %d cut %d "
                    "reset %d reader_gone %d, reader %s, writer %s, stall "
                    "until %llu\n",
                    dir_name[i], d->len, d->cap, d->delivered, d->fin, d->cut,
                    d->reset, d->reader_gone,
                    d->reader.vtable != NULL ? "waiting" : "-",
                    d->writer.vtable != NULL ? "waiting" : "-",
                    (unsigned long long)d->stall_until);
        }
    }
}

uint64_t
sim_net_trace_hash(const struct sim_net *n)
{
    return n->hash;
}

void
sim_net_get_stats(const struct sim_net *n, struct sim_net_stats *out)
{
    *out = n->st;
}

enum sim_fault
sim_link_fault(const struct sim_link *l)
{
    return l->fault;
}

unsigned
sim_link_id(const struct sim_link *l)
{
    return l->id;
}

int
sim_net_connect(struct sim_net *n, struct cfut_stream **client,
                struct cfut_stream **server, struct sim_link **link)
{
    struct sim_link *l = cfut_alloc(sizeof *l);
    struct sim_end *a = cfut_alloc(sizeof *a);
    struct sim_end *b = cfut_alloc(sizeof *b);
    if (l != NULL)
        memset(l, 0, sizeof *l);
    struct sim_rng r = sim_rng_derive(n->seed, 1000003u * (n->n_links + 1));
    for (int i = 0; l != NULL && i < 2; i++) {
        struct sim_dir *d = &l->dir[i];
        d->cap = (size_t)sim_rng_range(&r, n->p.min_buf, n->p.max_buf);
        d->max_segment = (size_t)sim_rng_range(&r, 1, n->p.max_segment);
        d->buf = cfut_alloc(d->cap);
        d->reader = d->writer = CFUT_WAKER_EMPTY;
        d->rng = sim_rng_derive(n->seed,
                                1000003u * (n->n_links + 1) + 1 + (unsigned)i);
    }
    if (l == NULL || a == NULL || b == NULL || l->dir[0].buf == NULL ||
        l->dir[1].buf == NULL) {
        if (l != NULL) {
            cfut_free(l->dir[0].buf);
            cfut_free(l->dir[1].buf);
        }
        cfut_free(l);
        cfut_free(a);
        cfut_free(b);
        return CFUT_ENOMEM;
    }
    l->net = n;
    l->id = ++n->n_links;
    l->n_open = 2;
    if (sim_rng_chance(&r, n->p.fault_per_mille)) {
        l->fault_armed = true;
        l->fault_kind = (enum sim_fault)(1 + sim_rng_below(&r, 3));
        l->fault_at = cfut_time_now(n->ex) +
                      sim_grain(sim_rng_below(&r, n->p.fault_window_ns + 1),
                                n->p.grain_ns);
    }
    *n->tail = l;
    n->tail = &l->next;
    n->n_open_links++;
    n->st.n_links++;
    a->base.vtable = &end_vtable;
    a->l = l;
    a->side = 0;
    b->base.vtable = &end_vtable;
    b->l = l;
    b->side = 1;
    trace(n, l, -1, "connect", l->dir[0].cap, l->dir[1].cap);
    if (l->fault_armed)
        kick(n);
    *client = &a->base;
    *server = &b->base;
    *link = l;
    return 0;
}
