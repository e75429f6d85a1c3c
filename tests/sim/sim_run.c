/*
 * sim_run.c: the scenarios of the simulation and their checks. Each
 * client is one task that owns its connection (a cfut_transport over a
 * simulated link) and up to 'inflight' request futures, polled in slot
 * order; it reconnects when its connection ends. The server's handler
 * reads, from each request's payload, who sent it and what to do: answer
 * (after a delay, maybe past the client's timeout), answer with an error,
 * fail at once, or never answer. Every answer carries the identity of its
 * request, so a response handed to the wrong request is caught.
 *
 * Checked for every request: it completes exactly once (the server also
 * sees it at most once), with its own response, its own error, a timeout
 * no earlier than its deadline, a cancellation by its client, or the end
 * of a connection that the network broke. Checked for every connection
 * (the transport's counters): nothing pending, no duplicate, the
 * responses delivered equal those the client received, late ones no more
 * than the requests given up. At the end: the server's counters, no task
 * and no waker left on the executor; the caller checks the allocator.
 */
#define _GNU_SOURCE
#include "sim.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sim_scenario {
    const char *name;
    unsigned max_clients, max_requests, max_inflight;
    struct sim_net_params net; /* maxima: each seed draws below them */
    size_t max_filler;         /* request payload bytes past the header */
    size_t max_reply;          /* reply bytes past the header */
    uint64_t max_handler_delay_ns;
    unsigned error_per_mille, error_now_per_mille, never_per_mille;
    unsigned timeout_per_mille;
    uint64_t min_timeout_ns, max_timeout_ns;
    unsigned cancel_per_mille;
    unsigned abort_per_mille; /* client polls that free the transport */
    unsigned max_restarts;    /* the server is freed and made anew */
    uint64_t restart_window_ns;
    uint64_t max_gap_ns;     /* between two requests of a client */
    size_t max_server_limit; /* max_in_flight per connection: 1..this */
    bool ws;                 /* a WebSocket stream over each link */
    bool all_answered;       /* no loss allowed: every request answered */
};

/* ---- the run being made (for sim_fail) ---- */

const char *sim_argv0 = "test_sim";
static const char *cur_scenario = "?";
static uint64_t cur_seed;
static struct sim *cur_sim;
static void dump(struct sim *s);

void
sim_fail(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "\nsim: scenario '%s' seed %llu FAILED: ", cur_scenario,
            (unsigned long long)cur_seed);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    if (cur_sim != NULL) {
        struct sim *s = cur_sim;
        cur_sim = NULL;
        fputc('\n', stderr);
        dump(s);
    }
    fprintf(stderr,
            "\nsim: replay with: CFUT_SIM_SEED=%llu CFUT_SIM_SCENARIO=%s "
            "CFUT_SIM_VERBOSE=1 CK_FORK=no %s\n"
            "sim:          or: %s seeds %llu %llu %s\n",
            (unsigned long long)cur_seed, cur_scenario, sim_argv0, sim_argv0,
            (unsigned long long)cur_seed, (unsigned long long)cur_seed,
            cur_scenario);
    fflush(stderr);
    abort();
}

/* ---- requests and their payloads ---- */

enum action { ACT_ANSWER, ACT_ERROR, ACT_ERROR_NOW, ACT_NEVER };
enum outcome {
    OUT_NONE,
    OUT_OK,
    OUT_REMOTE,
    OUT_TIMEOUT,
    OUT_CANCELLED,
    OUT_CONN
};

#define MAGIC_REQ 0x53494d51u /* "SIMQ" */
#define MAGIC_OK 0x53494d52u  /* "SIMR" */
#define MAGIC_ERR 0x53494d45u /* "SIME" */
#define REQ_HEADER 24u
#define REPLY_HEADER 12u

struct req_info {
    uint8_t action;  /* enum action */
    uint8_t outcome; /* enum outcome */
    uint8_t srv_seen;
    uint16_t reply_len;
    uint32_t filler;
    uint32_t delay_us;
    int err;
    uint64_t timeout, issued_at;
};

struct slot {
    bool active;
    uint32_t seq;
    struct cfut_request r;
};

struct sim;

struct client {
    struct sim *s;
    unsigned id;
    struct sim_rng rng;
    unsigned n_req, inflight, issued, n_done, n_active;
    struct cfut_transport *t;
    struct sim_link *link;
    unsigned conn_gen; /* the server generation it connected to */
    bool aborted;      /* it freed the current transport itself */
    uint64_t t_ok, t_remote, t_abandoned; /* on the current connection */
    bool gap_armed, finished;
    struct cfut_sleep gap;
    struct slot *slots;
    struct req_info *req;
};

struct sim {
    const struct sim_scenario *sc;
    uint64_t seed;
    struct cfut_executor *ex;
    struct sim_net *net;
    struct cfut_server *srv;
    struct client *clients;
    unsigned n_clients, clients_left;
    /* drawn for this seed */
    uint64_t handler_delay, timeout_lo, timeout_hi, gap;
    size_t server_limit, server_rbuf;
    uint64_t handler_calls;   /* of the current server */
    uint64_t srv_connections; /* made to the current server */
    unsigned srv_gen;         /* servers made before the current one */
    bool swap;                /* CFUT_SIM_SWAP_REPLIES: the checks' own test */
    struct sim_result res;
};

static void
put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

static uint32_t
get32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

/* The i-th filler byte of request (client, seq); 'salt' tells the kind. */
static unsigned char
fill_byte(unsigned client, uint32_t seq, size_t i, unsigned salt)
{
    uint64_t x = ((uint64_t)client << 40) ^ ((uint64_t)seq << 8) ^ salt ^
                 (uint64_t)(i / 8) * 0x9e3779b97f4a7c15ull;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 29;
    return (unsigned char)(x >> ((i % 8) * 8));
}

static void
put_identity(unsigned char *p, uint32_t magic, unsigned client, uint32_t seq)
{
    put32(p, magic);
    put32(p + 4, client);
    put32(p + 8, seq);
}

static const int errors[] = {-EPERM, -ENOENT, -EIO, -EACCES, -EEXIST, -ERANGE};

/* ---- the server's handler ---- */

struct handler {
    struct cfut_future base;
    unsigned client;
    uint32_t seq;
    uint8_t action;
    uint16_t reply_len;
    int err;
    uint64_t delay;
    bool swap; /* the checks' own test: answer as another request */
    bool has_sleep;
    struct cfut_sleep sl;
};

static enum cfut_poll
handler_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct handler *h = (struct handler *)f;
    struct cfut_reply *rep = out;
    if (h->action == ACT_NEVER)
        return CFUT_PENDING; /* nothing will wake it: the end drops it */
    if (h->delay != 0) {
        if (!h->has_sleep) {
            cfut_sleep_init(&h->sl, h->delay);
            h->has_sleep = true;
        }
        int st = 0;
        if (cfut_future_poll(&h->sl.base, cx, &st) == CFUT_PENDING)
            return CFUT_PENDING;
        if (st != 0)
            sim_fail("a handler's timer failed: %s", cfut_strerror(st));
    }
    memset(rep, 0, sizeof *rep);
    if (h->action == ACT_ERROR) {
        rep->status = h->err;
        put_identity(rep->inline_bytes, MAGIC_ERR, h->client, h->seq);
        rep->len = REPLY_HEADER;
        return CFUT_READY;
    }
    size_t len = REPLY_HEADER + h->reply_len;
    unsigned char *p = rep->inline_bytes;
    if (len > CFUT_REPLY_INLINE) {
        p = rep->data = cfut_alloc(len);
        if (p == NULL) {
            rep->status = CFUT_ENOMEM;
            return CFUT_READY;
        }
    }
    put_identity(p, MAGIC_OK, h->client, h->seq ^ (h->swap ? 1u : 0u));
    for (size_t i = 0; i < h->reply_len; i++)
        p[REPLY_HEADER + i] = fill_byte(h->client, h->seq, i, 'r');
    rep->len = len;
    return CFUT_READY;
}

static void
handler_drop(struct cfut_future *f)
{
    struct handler *h = (struct handler *)f;
    if (h->has_sleep)
        cfut_future_drop(&h->sl.base);
}

static const struct cfut_future_vtable handler_vtable = {
    handler_poll, handler_drop, sizeof(struct cfut_reply), "sim_handler", NULL,
};

static int
handler_new(void *ctx, const unsigned char *p, size_t len,
            struct cfut_future **out)
{
    struct sim *s = ctx;
    s->handler_calls++;
    sim_net_progress(s->net);
    if (len < REQ_HEADER || get32(p) != MAGIC_REQ)
        sim_fail("the server got a request that is not one (%zu bytes)", len);
    unsigned cid = get32(p + 4);
    uint32_t seq = get32(p + 8);
    if (cid >= s->n_clients || seq >= s->clients[cid].issued)
        sim_fail("the server got request %u/%u, never sent", cid, seq);
    struct req_info *ri = &s->clients[cid].req[seq];
    if (++ri->srv_seen > 1)
        sim_fail("request %u/%u reached the server twice", cid, seq);
    if (p[12] != ri->action || (p[14] | p[15] << 8) != ri->reply_len ||
        get32(p + 16) != ri->delay_us || len != REQ_HEADER + ri->filler)
        sim_fail("request %u/%u reached the server altered", cid, seq);
    for (size_t i = 0; i < ri->filler; i++)
        if (p[REQ_HEADER + i] != fill_byte(cid, seq, i, 'q'))
            sim_fail("request %u/%u: byte %zu altered", cid, seq, i);
    if (ri->action == ACT_ERROR_NOW)
        return ri->err;
    struct handler h;
    cfut_future_init(&h.base, &handler_vtable);
    h.client = cid;
    h.seq = seq;
    h.action = ri->action;
    h.reply_len = ri->reply_len;
    h.err = ri->err;
    h.delay = (uint64_t)ri->delay_us * 1000u;
    h.swap = s->swap;
    h.has_sleep = false;
    return cfut_future_box(&h.base, sizeof h, out);
}

/* ---- checks ---- */

static bool
bytes_ok(const unsigned char *d, size_t len, uint32_t magic, unsigned cid,
         uint32_t seq, size_t reply_len)
{
    if (len != REPLY_HEADER + reply_len || get32(d) != magic ||
        get32(d + 4) != cid || get32(d + 8) != seq)
        return false;
    for (size_t i = 0; i < reply_len; i++)
        if (d[REPLY_HEADER + i] != fill_byte(cid, seq, i, 'r'))
            return false;
    return true;
}

static void
record(struct client *c, uint32_t seq, enum outcome o)
{
    struct req_info *ri = &c->req[seq];
    if (ri->outcome != OUT_NONE)
        sim_fail("request %u/%u completed twice (%d, then %d)", c->id, seq,
                 ri->outcome, o);
    ri->outcome = (uint8_t)o;
    c->n_done++;
    sim_net_progress(c->s->net);
}

/* Whether the end of the client's connection has a cause: a fault of the
 * network, or the server it connected to was freed since. */
static bool
explained(const struct client *c)
{
    return sim_link_fault(c->link) != SIM_FAULT_NONE ||
           c->conn_gen != c->s->srv_gen;
}

/* An error that only a connection broken by the network, a server that
 * went away, or the client's own free of the transport may explain. */
static void
check_conn_error(struct client *c, uint32_t seq, int status)
{
    if (c->aborted) {
        /* The client freed its transport: pending requests are cancelled
         * (those the connection's end failed first keep its status). */
        if (status != CFUT_ECANCELED && status != CFUT_ECONNRESET &&
            status != CFUT_EPROTO)
            sim_fail("request %u/%u ended with %s after its client freed "
                     "the transport",
                     c->id, seq, cfut_status_name(status));
        if (status != CFUT_ECANCELED && !explained(c))
            sim_fail("request %u/%u ended with %s on link %u, which no fault "
                     "hit",
                     c->id, seq, cfut_status_name(status),
                     sim_link_id(c->link));
        c->s->res.n_conn_errors++;
        record(c, seq, OUT_CONN);
        return;
    }
    int ts = cfut_transport_status(c->t);
    if (status != ts || (ts != CFUT_ECONNRESET && ts != CFUT_EPROTO))
        sim_fail("request %u/%u ended with %s, the connection's status is %s",
                 c->id, seq, cfut_status_name(status), cfut_status_name(ts));
    if (!explained(c))
        sim_fail("request %u/%u ended with %s on link %u, which no fault hit "
                 "and whose server still runs",
                 c->id, seq, cfut_status_name(status), sim_link_id(c->link));
    c->s->res.n_conn_errors++;
    record(c, seq, OUT_CONN);
}

static void
check_response(struct client *c, uint32_t seq, struct cfut_response *r)
{
    struct req_info *ri = &c->req[seq];
    const unsigned char *d = cfut_response_data(r);
    uint64_t now = cfut_time_now(c->s->ex);
    if (r->status == 0 && !r->remote_error) {
        if (ri->action != ACT_ANSWER ||
            !bytes_ok(d, r->len, MAGIC_OK, c->id, seq, ri->reply_len))
            sim_fail("request %u/%u (action %d) got a response that is not "
                     "its own (%zu bytes: %u/%u)",
                     c->id, seq, ri->action, r->len,
                     r->len >= 12 ? get32(d + 4) : 0,
                     r->len >= 12 ? get32(d + 8) : 0);
        c->t_ok++;
        c->s->res.n_ok++;
        record(c, seq, OUT_OK);
    } else if (r->remote_error) {
        bool mine = ri->action == ACT_ERROR_NOW ||
                    (ri->action == ACT_ERROR &&
                     bytes_ok(d, r->len, MAGIC_ERR, c->id, seq, 0));
        if ((ri->action != ACT_ERROR && ri->action != ACT_ERROR_NOW) ||
            r->status != ri->err || !mine)
            sim_fail("request %u/%u (action %d, error %s) got error %s that "
                     "is not its own",
                     c->id, seq, ri->action, cfut_status_name(ri->err),
                     cfut_status_name(r->status));
        c->t_remote++;
        c->s->res.n_remote_errors++;
        record(c, seq, OUT_REMOTE);
    } else if (r->status == CFUT_ETIMEDOUT) {
        if (ri->timeout == 0 || now - ri->issued_at < ri->timeout)
            sim_fail("request %u/%u timed out after %llu ns (its timeout: "
                     "%llu)",
                     c->id, seq, (unsigned long long)(now - ri->issued_at),
                     (unsigned long long)ri->timeout);
        c->t_abandoned++;
        c->s->res.n_timeouts++;
        record(c, seq, OUT_TIMEOUT);
    } else {
        check_conn_error(c, seq, r->status);
    }
    cfut_response_deinit(r);
}

/* The checks of a connection that ends, before it is freed. */
static void
end_connection(struct client *c)
{
    struct cfut_transport_stats st;
    cfut_transport_get_stats(c->t, &st);
    size_t pending = cfut_transport_status(c->t) == 0 ? c->n_active : 0;
    if (st.n_pending != pending)
        sim_fail("client %u: %zu requests pending in the transport, %zu "
                 "expected",
                 c->id, st.n_pending, pending);
    if (st.n_duplicate != 0)
        sim_fail("client %u: %llu duplicate responses", c->id,
                 (unsigned long long)st.n_duplicate);
    if (st.n_completed != c->t_ok + c->t_remote)
        sim_fail("client %u: the transport delivered %llu responses, the "
                 "requests received %llu",
                 c->id, (unsigned long long)st.n_completed,
                 (unsigned long long)(c->t_ok + c->t_remote));
    if (st.n_late + st.n_unknown > c->t_abandoned)
        sim_fail("client %u: %llu late or unknown responses for %llu "
                 "requests given up",
                 c->id, (unsigned long long)(st.n_late + st.n_unknown),
                 (unsigned long long)c->t_abandoned);
    if (cfut_transport_status(c->t) != 0 && !explained(c))
        sim_fail("client %u: link %u ended (%s) with no fault", c->id,
                 sim_link_id(c->link),
                 cfut_status_name(cfut_transport_status(c->t)));
    c->s->res.n_late += st.n_late + st.n_unknown;
    cfut_transport_free(c->t);
    c->t = NULL;
    c->t_ok = c->t_remote = c->t_abandoned = 0;
}

/* ---- the clients ---- */

static int
connect_client(struct client *c)
{
    struct sim *s = c->s;
    struct cfut_stream *cs, *ss;
    int rc = sim_net_connect(s->net, &cs, &ss, &c->link);
    if (rc < 0)
        return rc;
    if (s->sc->ws) {
        struct cfut_stream *wc, *wsrv;
        struct cfut_ws_config wcfg;
        memset(&wcfg, 0, sizeof wcfg);
        wcfg.write_buffer = (size_t)sim_rng_range(&c->rng, 1024, 8192);
        rc = cfut_ws_stream_new(cs, CFUT_WS_CLIENT, &wcfg, &wc);
        if (rc < 0)
            sim_fail("cfut_ws_stream_new: %s", cfut_strerror(rc));
        wcfg.frame_messages = true;
        rc = cfut_ws_stream_new(ss, CFUT_WS_SERVER, &wcfg, &wsrv);
        if (rc < 0)
            sim_fail("cfut_ws_stream_new: %s", cfut_strerror(rc));
        cs = wc;
        ss = wsrv;
    }
    struct cfut_transport_config cfg = {0, 0, 0};
    cfg.read_buf_size = (size_t)sim_rng_range(&c->rng, 16, 4096);
    rc = cfut_transport_new(s->ex, cs, &cfg, &c->t);
    if (rc < 0)
        sim_fail("cfut_transport_new: %s", cfut_strerror(rc));
    rc = cfut_server_add_stream(s->srv, ss);
    if (rc < 0)
        sim_fail("cfut_server_add_stream: %s", cfut_strerror(rc));
    s->res.n_connections++;
    s->srv_connections++;
    c->conn_gen = s->srv_gen;
    c->aborted = false;
    return 0;
}

static void
issue(struct client *c, struct slot *sl)
{
    struct sim *s = c->s;
    const struct sim_scenario *sc = s->sc;
    uint32_t seq = c->issued++;
    struct req_info *ri = &c->req[seq];
    memset(ri, 0, sizeof *ri);
    unsigned roll = (unsigned)sim_rng_below(&c->rng, 1000);
    if (roll < sc->error_per_mille)
        ri->action = ACT_ERROR;
    else if (roll < sc->error_per_mille + sc->error_now_per_mille)
        ri->action = ACT_ERROR_NOW;
    else if (roll < sc->error_per_mille + sc->error_now_per_mille +
                        sc->never_per_mille)
        ri->action = ACT_NEVER;
    else
        ri->action = ACT_ANSWER;
    ri->err = errors[sim_rng_below(&c->rng, sizeof errors / sizeof *errors)];
    ri->reply_len = (uint16_t)sim_rng_below(&c->rng, sc->max_reply + 1);
    ri->filler = (uint32_t)sim_rng_below(&c->rng, sc->max_filler + 1);
    if (!sim_rng_chance(&c->rng, 300))
        ri->delay_us =
            (uint32_t)(sim_rng_below(&c->rng, s->handler_delay + 1) / 1000u);
    if (ri->action == ACT_NEVER ||
        sim_rng_chance(&c->rng, sc->timeout_per_mille))
        ri->timeout = sim_rng_range(&c->rng, s->timeout_lo, s->timeout_hi);
    ri->issued_at = cfut_time_now(s->ex);
    size_t len = REQ_HEADER + ri->filler;
    unsigned char *p = cfut_alloc(len);
    if (p == NULL)
        sim_fail("out of memory for a payload");
    put32(p, MAGIC_REQ);
    put32(p + 4, c->id);
    put32(p + 8, seq);
    p[12] = ri->action;
    p[13] = 0;
    p[14] = (unsigned char)ri->reply_len;
    p[15] = (unsigned char)(ri->reply_len >> 8);
    put32(p + 16, ri->delay_us);
    put32(p + 20, 0);
    for (size_t i = 0; i < ri->filler; i++)
        p[REQ_HEADER + i] = fill_byte(c->id, seq, i, 'q');
    int rc = cfut_request_init_timeout(&sl->r, c->t, p, len, ri->timeout);
    cfut_free(p);
    s->res.n_requests++;
    if (rc < 0) {
        check_conn_error(c, seq, rc);
        return;
    }
    sl->active = true;
    sl->seq = seq;
    c->n_active++;
}

/* Polls every request in flight, in slot order. Returns true on progress. */
static bool
poll_slots(struct client *c, struct cfut_context *cx)
{
    bool progress = false;
    for (unsigned i = 0; i < c->inflight; i++) {
        struct slot *sl = &c->slots[i];
        if (!sl->active)
            continue;
        struct cfut_response r;
        if (cfut_future_poll(&sl->r.base, cx, &r) == CFUT_READY) {
            check_response(c, sl->seq, &r);
        } else if (sim_rng_chance(&c->rng, c->s->sc->cancel_per_mille)) {
            c->t_abandoned++;
            c->s->res.n_cancelled++;
            record(c, sl->seq, OUT_CANCELLED);
        } else {
            continue;
        }
        cfut_future_drop(&sl->r.base);
        sl->active = false;
        c->n_active--;
        progress = true;
    }
    return progress;
}

struct client_task {
    struct cfut_future base;
    struct client *c;
};

static enum cfut_poll
client_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    (void)out;
    struct client *c = ((struct client_task *)f)->c;
    struct sim *s = c->s;
    for (;;) {
        bool progress = poll_slots(c, cx);
        if (c->t != NULL && c->n_active != 0 &&
            sim_rng_chance(&c->rng, s->sc->abort_per_mille)) {
            /* Every request in flight was just polled: none has an answer
             * waiting, so the counters are exact here. */
            end_connection(c);
            c->aborted = true;
            s->res.n_aborts++;
            progress = true;
        }
        if (c->t != NULL && c->n_active == 0 &&
            (cfut_transport_status(c->t) != 0 || c->n_done == c->n_req)) {
            end_connection(c);
            progress = true;
        }
        if (c->n_done == c->n_req && c->n_active == 0) {
            if (c->gap_armed)
                cfut_future_drop(&c->gap.base);
            c->gap_armed = false;
            c->finished = true;
            if (--s->clients_left == 0)
                sim_net_close(s->net);
            return CFUT_READY;
        }
        if (c->t == NULL && c->n_active == 0 && c->issued < c->n_req) {
            if (connect_client(c) < 0)
                sim_fail("out of memory for a link");
            progress = true;
        }
        if (c->t != NULL && cfut_transport_status(c->t) == 0 &&
            c->issued < c->n_req && c->n_active < c->inflight) {
            if (!c->gap_armed) {
                cfut_sleep_init(&c->gap, sim_rng_below(&c->rng, s->gap + 1));
                c->gap_armed = true;
            }
            int st = 0;
            if (cfut_future_poll(&c->gap.base, cx, &st) == CFUT_READY) {
                cfut_future_drop(&c->gap.base);
                c->gap_armed = false;
                unsigned i = 0;
                while (c->slots[i].active)
                    i++;
                issue(c, &c->slots[i]);
                progress = true;
            }
        }
        if (!progress)
            return CFUT_PENDING;
    }
}

static void
client_drop(struct cfut_future *f)
{
    struct client *c = ((struct client_task *)f)->c;
    if (!c->finished)
        sim_fail("client %u dropped before it finished", c->id);
}

static const struct cfut_future_vtable client_vtable = {
    client_poll, client_drop, 0, "sim_client", NULL,
};

/* ---- a run ---- */

/* What a failure prints besides its message. */
static void
dump(struct sim *s)
{
    for (unsigned i = 0; i < s->n_clients; i++) {
        struct client *c = &s->clients[i];
        fprintf(stderr,
                "sim: client %u: %u/%u issued, %u done, %u active, %s, "
                "link %u, status %s\n",
                i, c->issued, c->n_req, c->n_done, c->n_active,
                c->finished ? "finished" : "running",
                c->link != NULL ? sim_link_id(c->link) : 0,
                c->t != NULL ? cfut_status_name(cfut_transport_status(c->t))
                             : "-");
        for (unsigned k = 0; k < c->inflight; k++)
            if (c->slots[k].active) {
                const struct req_info *ri = &c->req[c->slots[k].seq];
                fprintf(stderr,
                        "sim:   request %u: action %d, delay %u us, timeout "
                        "%llu ns, issued at %llu, seen by the server %u\n",
                        c->slots[k].seq, ri->action, ri->delay_us,
                        (unsigned long long)ri->timeout,
                        (unsigned long long)ri->issued_at, ri->srv_seen);
            }
    }
    if (s->srv != NULL) {
        struct cfut_server_stats st;
        cfut_server_get_stats(s->srv, &st);
        fprintf(stderr,
                "sim: server: %llu open, %llu requests, %llu replies, %llu "
                "protocol errors\n",
                (unsigned long long)st.n_open,
                (unsigned long long)st.n_requests,
                (unsigned long long)st.n_replies,
                (unsigned long long)st.n_protocol_errors);
    }
    sim_net_dump(s->net);
    cfut_executor_dump(s->ex, stderr);
}

/* The counters of the current server, before it is freed. */
static void
check_server(struct sim *s)
{
    struct cfut_server_stats st;
    cfut_server_get_stats(s->srv, &st);
    if (st.n_requests != s->handler_calls)
        sim_fail("the server decoded %llu requests, its handler saw %llu",
                 (unsigned long long)st.n_requests,
                 (unsigned long long)s->handler_calls);
    if (st.n_replies > st.n_requests)
        sim_fail("the server wrote %llu replies for %llu requests",
                 (unsigned long long)st.n_replies,
                 (unsigned long long)st.n_requests);
    if (st.n_connections != s->srv_connections)
        sim_fail("the server saw %llu connections, the clients made %llu",
                 (unsigned long long)st.n_connections,
                 (unsigned long long)s->srv_connections);
}

/* All links are closed: the server's counters, then the server goes. */
static void
on_idle(void *arg)
{
    struct sim *s = arg;
    struct cfut_server_stats st;
    cfut_server_get_stats(s->srv, &st);
    if (st.n_open != 0)
        sim_fail("every link is closed but the server has %llu open",
                 (unsigned long long)st.n_open);
    check_server(s);
    cfut_server_free(s->srv);
    s->srv = NULL;
}

static void
new_server(struct sim *s)
{
    struct cfut_server_config scfg = {0, s->server_limit, s->server_rbuf};
    int rc = cfut_server_new(s->ex, handler_new, s, &scfg, &s->srv);
    if (rc < 0)
        sim_fail("cfut_server_new: %s", cfut_strerror(rc));
    s->handler_calls = 0;
    s->srv_connections = 0;
}

/* The restarts: at random times, the server is freed (its connections
 * end, its handlers are dropped) and a new one serves the reconnections. */
struct restarter {
    struct cfut_future base;
    struct sim *s;
    struct sim_rng rng;
    unsigned left;
    bool armed;
    struct cfut_sleep sl;
};

static enum cfut_poll
restarter_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    (void)out;
    struct restarter *t = (struct restarter *)f;
    struct sim *s = t->s;
    for (;;) {
        if (t->left == 0 || s->clients_left == 0 || s->srv == NULL)
            return CFUT_READY;
        if (!t->armed) {
            cfut_sleep_init(
                &t->sl, sim_rng_range(&t->rng, 1, s->sc->restart_window_ns));
            t->armed = true;
        }
        int st = 0;
        if (cfut_future_poll(&t->sl.base, cx, &st) == CFUT_PENDING)
            return CFUT_PENDING;
        cfut_future_drop(&t->sl.base);
        t->armed = false;
        if (s->clients_left == 0 || s->srv == NULL)
            return CFUT_READY;
        check_server(s);
        cfut_server_free(s->srv);
        s->srv_gen++;
        s->res.n_restarts++;
        new_server(s);
        t->left--;
    }
}

static void
restarter_drop(struct cfut_future *f)
{
    struct restarter *t = (struct restarter *)f;
    if (t->armed)
        cfut_future_drop(&t->sl.base);
}

static const struct cfut_future_vtable restarter_vtable = {
    restarter_poll, restarter_drop, 0, "sim_restarter", NULL,
};

static void
draw(struct sim *s, struct sim_net_params *np, struct sim_rng *r)
{
    const struct sim_scenario *sc = s->sc;
    np->max_delay_ns = sim_rng_below(r, sc->net.max_delay_ns + 1);
    np->max_segment = (size_t)sim_rng_range(r, 1, sc->net.max_segment);
    np->min_buf = (size_t)sim_rng_range(r, sc->net.min_buf, sc->net.max_buf);
    np->max_buf = (size_t)sim_rng_range(r, np->min_buf, sc->net.max_buf);
    np->stall_per_mille =
        (unsigned)sim_rng_below(r, sc->net.stall_per_mille + 1);
    np->max_stall_ns = sim_rng_range(r, 1, sc->net.max_stall_ns + 1);
    np->fault_per_mille = sc->net.fault_per_mille;
    np->fault_window_ns = sim_rng_range(r, 1, sc->net.fault_window_ns + 1);
    s->handler_delay = sim_rng_below(r, sc->max_handler_delay_ns + 1);
    s->timeout_lo = sim_rng_range(r, sc->min_timeout_ns, sc->max_timeout_ns);
    s->timeout_hi = sim_rng_range(r, s->timeout_lo, sc->max_timeout_ns);
    s->gap = sim_rng_below(r, sc->max_gap_ns + 1);
    /*
     * A connection at its limit of requests in flight reads no more (so it
     * does not see its peer's end either) until a handler finishes; with
     * handlers that never do, the limit must stay above what one client
     * sends, or the connection would wait for ever (docs/testing.md).
     */
    size_t min_limit = sc->never_per_mille != 0 ? sc->max_requests + 1 : 1;
    s->server_limit = (size_t)sim_rng_range(
        r, min_limit,
        sc->max_server_limit > min_limit ? sc->max_server_limit : min_limit);
    s->n_clients = (unsigned)sim_rng_range(r, 1, sc->max_clients);
}

void
sim_run(const struct sim_scenario *sc, uint64_t seed, bool verbose,
        struct sim_result *out)
{
    cur_scenario = sc->name;
    cur_seed = seed;
    struct sim s;
    memset(&s, 0, sizeof s);
    cur_sim = &s;
    s.sc = sc;
    s.seed = seed;
    s.swap = getenv("CFUT_SIM_SWAP_REPLIES") != NULL;
    struct sim_rng r = sim_rng_derive(seed, 1);
    struct sim_net_params np;
    draw(&s, &np, &r);
    if (cfut_executor_new(&s.ex) < 0)
        sim_fail("cfut_executor_new");
    cfut_time_pause(s.ex);
    if (sim_net_new(s.ex, &np, seed, verbose, &s.net) < 0)
        sim_fail("sim_net_new");
    sim_net_on_idle(s.net, on_idle, &s);
    s.server_rbuf = (size_t)sim_rng_range(&r, 16, 4096);
    new_server(&s);
    if (sc->max_restarts != 0) {
        struct restarter t;
        cfut_future_init(&t.base, &restarter_vtable);
        t.s = &s;
        t.rng = sim_rng_derive(seed, 0xffffu);
        t.left = (unsigned)sim_rng_range(&r, 1, sc->max_restarts);
        t.armed = false;
        if (cfut_spawn(s.ex, &t.base, sizeof t, NULL) < 0)
            sim_fail("cfut_spawn");
    }
    s.clients = cfut_alloc(s.n_clients * sizeof *s.clients);
    if (s.clients == NULL)
        sim_fail("out of memory");
    memset(s.clients, 0, s.n_clients * sizeof *s.clients);
    s.clients_left = s.n_clients;
    for (unsigned i = 0; i < s.n_clients; i++) {
        struct client *c = &s.clients[i];
        c->s = &s;
        c->id = i;
        c->rng = sim_rng_derive(seed, 2 + i);
        c->n_req = (unsigned)sim_rng_range(&r, 1, sc->max_requests);
        c->inflight = (unsigned)sim_rng_range(&r, 1, sc->max_inflight);
        c->slots = cfut_alloc(c->inflight * sizeof *c->slots);
        c->req = cfut_alloc(c->n_req * sizeof *c->req);
        if (c->slots == NULL || c->req == NULL)
            sim_fail("out of memory");
        memset(c->slots, 0, c->inflight * sizeof *c->slots);
        memset(c->req, 0, c->n_req * sizeof *c->req);
        struct client_task t;
        cfut_future_init(&t.base, &client_vtable);
        t.c = c;
        if (cfut_spawn(s.ex, &t.base, sizeof t, NULL) < 0)
            sim_fail("cfut_spawn");
    }
    int rc = cfut_executor_run(s.ex);
    if (rc != 0)
        sim_fail("cfut_executor_run: %s (%zu tasks left)", cfut_strerror(rc),
                 cfut_executor_n_tasks(s.ex));
    if (s.srv != NULL)
        sim_fail("the run ended with the server alive");
    if (cfut_executor_n_tasks(s.ex) != 0 || cfut_executor_n_wakers(s.ex) != 0)
        sim_fail("%zu tasks and %zu wakers left on the executor",
                 cfut_executor_n_tasks(s.ex), cfut_executor_n_wakers(s.ex));
    for (unsigned i = 0; i < s.n_clients; i++) {
        struct client *c = &s.clients[i];
        for (unsigned q = 0; q < c->n_req; q++) {
            const struct req_info *ri = &c->req[q];
            if (ri->outcome == OUT_NONE)
                sim_fail("request %u/%u never completed", i, q);
            if (sc->all_answered && ri->outcome != OUT_OK &&
                ri->outcome != OUT_REMOTE)
                sim_fail("request %u/%u was lost (outcome %d)", i, q,
                         ri->outcome);
        }
        cfut_free(c->slots);
        cfut_free(c->req);
    }
    cfut_free(s.clients);
    struct sim_net_stats ns;
    sim_net_get_stats(s.net, &ns);
    s.res.n_faults = ns.n_faults;
    s.res.n_segments = ns.n_segments;
    s.res.n_stalls = ns.n_stalls;
    s.res.n_full = ns.n_full;
    s.res.trace_hash = sim_net_trace_hash(s.net);
    cur_sim = NULL;
    sim_net_free(s.net);
    cfut_executor_free(s.ex);
    if (out != NULL)
        *out = s.res;
}

/* ---- the scenarios ---- */

#define US(n) CFUT_USEC(n)
#define MS(n) CFUT_MSEC(n)

/* Many clients, everything answered: splits, delays, reordering. */
static const struct sim_scenario sc_happy = {
    .name = "happy",
    .max_clients = 8,
    .max_requests = 24,
    .max_inflight = 8,
    .net = {US(200), 64, 64, 8192, 0, 0, 0, 0},
    .max_filler = 200,
    .max_reply = 200,
    .max_handler_delay_ns = US(500),
    .error_per_mille = 150,
    .error_now_per_mille = 50,
    .max_gap_ns = US(100),
    .max_server_limit = 64,
    .all_answered = true,
};

/* Timeouts, late responses after them, cancellations, never-answered. */
static const struct sim_scenario sc_timeouts = {
    .name = "timeouts",
    .max_clients = 6,
    .max_requests = 32,
    .max_inflight = 8,
    .net = {US(100), 128, 256, 8192, 0, 0, 0, 0},
    .max_filler = 64,
    .max_reply = 64,
    .max_handler_delay_ns = MS(2),
    .error_per_mille = 100,
    .never_per_mille = 100,
    .timeout_per_mille = 700,
    .min_timeout_ns = US(50),
    .max_timeout_ns = MS(1),
    .cancel_per_mille = 4,
    .max_gap_ns = US(200),
    .max_server_limit = 64,
};

/* Connections reset or cut at any byte, either direction; reconnects. */
static const struct sim_scenario sc_disconnects = {
    .name = "disconnects",
    .max_clients = 6,
    .max_requests = 24,
    .max_inflight = 6,
    .net = {US(200), 96, 64, 4096, 0, 0, 500, MS(2)},
    .max_filler = 300,
    .max_reply = 300,
    .max_handler_delay_ns = US(800),
    .error_per_mille = 100,
    .never_per_mille = 50,
    .timeout_per_mille = 300,
    .min_timeout_ns = US(200),
    .max_timeout_ns = MS(2),
    .max_gap_ns = US(200),
    .max_server_limit = 16,
};

/* Small buffers, readers that stop reading, large payloads, a low limit
 * of requests in flight per connection: writers must wait. */
static const struct sim_scenario sc_backpressure = {
    .name = "backpressure",
    .max_clients = 4,
    .max_requests = 16,
    .max_inflight = 8,
    .net = {US(50), 512, 16, 512, 300, MS(2), 0, 0},
    .max_filler = 4000,
    .max_reply = 4000,
    .max_handler_delay_ns = US(300),
    .error_per_mille = 100,
    .max_gap_ns = US(50),
    .max_server_limit = 4,
    .all_answered = true,
};

/* The server freed under load and made anew, clients that free their
 * transport with requests in flight; reconnections. */
static const struct sim_scenario sc_restarts = {
    .name = "restarts",
    .max_clients = 6,
    .max_requests = 32,
    .max_inflight = 8,
    .net = {US(200), 128, 64, 4096, 50, US(500), 0, 0},
    .max_filler = 400,
    .max_reply = 400,
    .max_handler_delay_ns = US(800),
    .error_per_mille = 100,
    .timeout_per_mille = 300,
    .min_timeout_ns = US(300),
    .max_timeout_ns = MS(3),
    .abort_per_mille = 5,
    .max_restarts = 4,
    .restart_window_ns = MS(3),
    .max_gap_ns = US(200),
    .max_server_limit = 32,
};

/* Everything at once. */
static const struct sim_scenario sc_chaos = {
    .name = "chaos",
    .max_clients = 8,
    .max_requests = 24,
    .max_inflight = 8,
    .net = {US(300), 256, 16, 4096, 150, MS(1), 300, MS(4)},
    .max_filler = 1500,
    .max_reply = 1500,
    .max_handler_delay_ns = MS(1),
    .error_per_mille = 100,
    .error_now_per_mille = 50,
    .never_per_mille = 50,
    .timeout_per_mille = 500,
    .min_timeout_ns = US(100),
    .max_timeout_ns = MS(2),
    .cancel_per_mille = 3,
    .abort_per_mille = 2,
    .max_restarts = 2,
    .restart_window_ns = MS(8),
    .max_gap_ns = US(300),
    .max_server_limit = 8,
};

/* The WebSocket stream over the simulated network, with faults. */
static const struct sim_scenario sc_ws = {
    .name = "ws",
    .max_clients = 4,
    .max_requests = 16,
    .max_inflight = 6,
    .net = {US(200), 128, 64, 4096, 100, MS(1), 200, MS(3)},
    .max_filler = 600,
    .max_reply = 600,
    .max_handler_delay_ns = US(800),
    .error_per_mille = 100,
    .never_per_mille = 30,
    .timeout_per_mille = 300,
    .min_timeout_ns = US(200),
    .max_timeout_ns = MS(2),
    .cancel_per_mille = 2,
    .max_gap_ns = US(200),
    .max_server_limit = 16,
    .ws = true,
};

const struct sim_scenario *const sim_scenarios[] = {
    &sc_happy,    &sc_timeouts, &sc_disconnects, &sc_backpressure,
    &sc_restarts, &sc_chaos,    &sc_ws,          NULL,
};

const char *
sim_scenario_name(const struct sim_scenario *sc)
{
    return sc->name;
}

const struct sim_scenario *
sim_scenario_find(const char *name)
{
    for (size_t i = 0; sim_scenarios[i] != NULL; i++)
        if (strcmp(sim_scenarios[i]->name, name) == 0)
            return sim_scenarios[i];
    return NULL;
}
