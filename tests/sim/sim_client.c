/*
 * sim_client.c: the clients of the simulation and the checks of what
 * their requests get. Each client is one task that owns its connection (a
 * cfut_transport over a simulated link) and up to 'inflight' request
 * futures, polled in slot order; it reconnects when its connection ends.
 *
 * Checked for every request: it completes exactly once (the server also
 * sees it at most once), with its own response, its own error, a timeout
 * no earlier than its deadline, a cancellation by its client, or the end
 * of a connection that has a cause (a fault of the network, the server
 * freed, the client's own free of the transport, a frame over a limit).
 * Checked for every connection (the transport's counters): what is
 * pending, no duplicate, the responses delivered equal those the client
 * received, late ones no more than the requests given up.
 */
#define _GNU_SOURCE
#include "sim_int.h"

#include <string.h>

static const int errors[] = {-EPERM, -ENOENT, -EIO, -EACCES, -EEXIST, -ERANGE};

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
           c->conn_gen != c->s->srv_gen || c->doomed;
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
    size_t reply = CFUT_FRAME_MIN_LEN + REPLY_HEADER + ri->reply_len;
    bool too_big = c->s->smax != 0 && reply > c->s->smax;
    if (r->status == 0 && !r->remote_error) {
        if (ri->action != ACT_ANSWER || too_big ||
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
        int want = ri->err;
        if (ri->action == ACT_ANSWER && too_big) {
            want = CFUT_EMSGSIZE; /* the server says so instead */
            mine = true;
        }
        if ((ri->action == ACT_ANSWER && !too_big) || ri->action == ACT_NEVER ||
            r->status != want || !mine)
            sim_fail("request %u/%u (action %d, error %s) got error %s that "
                     "is not its own",
                     c->id, seq, ri->action, cfut_status_name(ri->err),
                     cfut_status_name(r->status));
        c->t_remote++;
        c->s->res.n_remote_errors++;
        record(c, seq, OUT_REMOTE);
    } else if (r->status == CFUT_ETIMEDOUT) {
        /* On the paused clock the timer fires at its deadline, and the
         * client's task runs before the clock moves on: exactly then. */
        if (ri->timeout == 0 || now - ri->issued_at != ri->timeout)
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
    /* Those in flight, and those dropped from the inbox path whose
     * response has not come yet (their entry waits for it). */
    size_t pending = 0, extra = 0;
    if (cfut_transport_status(c->t) == 0) {
        /* Through the inbox, a request enters the map at the driver's
         * next poll: it may not be there yet. */
        for (unsigned i = 0; i < c->inflight; i++) {
            pending += c->slots[i].active && !c->slots[i].sync;
            extra += c->slots[i].active && c->slots[i].sync;
        }
        extra += c->t_sync_cancelled;
    }
    if (st.n_pending < pending || st.n_pending > pending + extra)
        sim_fail("client %u: %zu requests pending in the transport, %zu "
                 "(+ up to %zu) expected",
                 c->id, st.n_pending, pending, extra);
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
    c->t_ok = c->t_remote = c->t_abandoned = c->t_sync_cancelled = 0;
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
    cfg.max_frame_len = s->cmax;
    cfg.read_buf_size = (size_t)sim_rng_range(&c->rng, 1, 4096);
    rc = cfut_transport_new(s->ex, cs, &cfg, &c->t);
    if (rc < 0)
        sim_fail("cfut_transport_new: %s", cfut_strerror(rc));
    rc = cfut_server_add_stream(s->srv, ss);
    if (rc < 0)
        sim_fail("cfut_server_add_stream: %s", cfut_strerror(rc));
    s->res.n_connections++;
    c->n_conns++;
    s->srv_connections++;
    c->conn_gen = s->srv_gen;
    c->aborted = false;
    c->doomed = false;
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
            (uint32_t)(sim_grain(sim_rng_below(&c->rng, s->handler_delay + 1),
                                 s->grain) /
                       1000u);
    if (ri->action == ACT_NEVER ||
        sim_rng_chance(&c->rng, sc->timeout_per_mille))
        ri->timeout = sim_grain(
            sim_rng_range(&c->rng, s->timeout_lo, s->timeout_hi), s->grain);
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
    put32(p + 20, c->n_conns); /* which connection carries it */
    for (size_t i = 0; i < ri->filler; i++)
        p[REQ_HEADER + i] = fill_byte(c->id, seq, i, 'q');
    /* A request through the inbox has no timeout: it gets an answer. */
    bool sync = sim_rng_chance(&c->rng, sc->sync_per_mille);
    ri->sync = sync;
    if (sync) {
        ri->timeout = 0;
        if (ri->action == ACT_NEVER)
            ri->action = ACT_ANSWER;
        p[12] = ri->action;
    }
    int rc =
        sync ? cfut_request_sync_init(&sl->u.rs, c->t, p, len)
             : cfut_request_init_timeout(&sl->u.r, c->t, p, len, ri->timeout);
    cfut_free(p);
    s->res.n_requests++;
    size_t frame = CFUT_FRAME_MIN_LEN + len;
    if (s->cmax != 0 && frame > s->cmax) {
        if (rc != CFUT_EMSGSIZE)
            sim_fail("request %u/%u of a %zu-byte frame (the client's largest "
                     "%zu) started with %s",
                     c->id, seq, frame, s->cmax, cfut_status_name(rc));
        record(c, seq, OUT_TOOBIG);
        return;
    }
    /* A request over the server's largest frame ends the connection; so
     * does a response over the client's, unless the server refuses it. */
    size_t reply = CFUT_FRAME_MIN_LEN + REPLY_HEADER + ri->reply_len;
    if (s->smax != 0 &&
        (frame > s->smax ||
         (ri->action == ACT_ANSWER && reply <= s->smax && reply > s->cmax)))
        c->doomed = true;
    if (rc < 0) {
        /* The inbox says CFUT_ECONNRESET once the driver has ended. */
        check_conn_error(
            c, seq,
            sync && rc == CFUT_ECONNRESET ? cfut_transport_status(c->t) : rc);
        return;
    }
    sl->sync = sync;
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
        if (cfut_future_poll(&sl->u.base, cx, &r) == CFUT_READY) {
            check_response(c, sl->seq, &r);
        } else if (sim_rng_chance(&c->rng, c->s->sc->cancel_per_mille)) {
            c->t_abandoned++;
            c->t_sync_cancelled += sl->sync;
            c->s->res.n_cancelled++;
            record(c, sl->seq, OUT_CANCELLED);
        } else {
            continue;
        }
        cfut_future_drop(&sl->u.base);
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
                cfut_sleep_init(
                    &c->gap,
                    sim_grain(sim_rng_below(&c->rng, s->gap + 1), s->grain));
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

int
sim_spawn_client(struct sim *s, struct client *c)
{
    struct client_task t;
    cfut_future_init(&t.base, &client_vtable);
    t.c = c;
    return cfut_spawn(s->ex, &t.base, sizeof t, NULL);
}
