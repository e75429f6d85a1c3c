/*
 * sim_server.c: the server side of the simulation: the handler, which
 * reads from each request's payload who sent it and what to do (answer
 * after a delay, maybe past the client's timeout; answer with an error;
 * fail at once; never answer) and answers with the request's identity;
 * the server's counters; its restarts.
 */
#define _GNU_SOURCE
#include "sim_int.h"

#include <string.h>

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

int
sim_handler_new(void *ctx, const unsigned char *p, size_t len,
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
    /* One connection's frames arrive in the order they were queued (an
     * older connection's may still arrive after a newer one's). */
    struct client *c = &s->clients[cid];
    uint32_t conn = get32(p + 20);
    if (conn > c->srv_conn) {
        c->srv_conn = conn;
        c->srv_last = -1;
    }
    if (!ri->sync && conn == c->srv_conn) {
        if ((int64_t)seq <= c->srv_last)
            sim_fail("request %u/%u reached the server after request %lld "
                     "of the same connection",
                     cid, seq, (long long)c->srv_last);
        c->srv_last = seq;
    }
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
void
sim_on_idle(void *arg)
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

void
sim_new_server(struct sim *s)
{
    struct cfut_server_config scfg = {s->smax, s->server_limit, s->server_rbuf};
    int rc = cfut_server_new(s->ex, sim_handler_new, s, &scfg, &s->srv);
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
        sim_new_server(s);
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

int
sim_spawn_restarter(struct sim *s, unsigned n)
{
    struct restarter t;
    cfut_future_init(&t.base, &restarter_vtable);
    t.s = s;
    t.rng = sim_rng_derive(s->seed, 0xffffu);
    t.left = n;
    t.armed = false;
    return cfut_spawn(s->ex, &t.base, sizeof t, NULL);
}
