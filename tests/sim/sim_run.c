/*
 * sim_run.c: one run of a scenario under a seed (the parameters drawn,
 * the executor with its clock paused, the network, the server and the
 * clients; the checks at the end: every request completed, the server's
 * counters, no task and no waker left on the executor; the caller checks
 * the allocator), what a failure prints, and the scenarios.
 */
#define _GNU_SOURCE
#include "sim_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    /* Half the seeds put every duration on a coarse grid, so that many
     * events (a response, a timeout, a fault) fall on the same instant. */
    np->grain_ns = sim_rng_chance(r, 500) ? sc->net.grain_ns : 0;
    s->grain = np->grain_ns;
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
    sim_net_on_idle(s.net, sim_on_idle, &s);
    s.server_rbuf = (size_t)sim_rng_range(&r, 1, 4096);
    if (sc->max_frame != 0) {
        s.cmax = (size_t)sim_rng_range(&r, sc->min_frame, sc->max_frame);
        s.smax = (size_t)sim_rng_range(&r, sc->min_frame, sc->max_frame);
    }
    sim_new_server(&s);
    if (sc->max_restarts != 0 &&
        sim_spawn_restarter(
            &s, (unsigned)sim_rng_range(&r, 1, sc->max_restarts)) < 0)
        sim_fail("cfut_spawn");
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
        c->srv_last = -1;
        c->n_req = (unsigned)sim_rng_range(&r, 1, sc->max_requests);
        c->inflight = (unsigned)sim_rng_range(&r, 1, sc->max_inflight);
        c->slots = cfut_alloc(c->inflight * sizeof *c->slots);
        c->req = cfut_alloc(c->n_req * sizeof *c->req);
        if (c->slots == NULL || c->req == NULL)
            sim_fail("out of memory");
        memset(c->slots, 0, c->inflight * sizeof *c->slots);
        memset(c->req, 0, c->n_req * sizeof *c->req);
        if (sim_spawn_client(&s, c) < 0)
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
    s.res.n_polls = cfut_executor_n_polls(s.ex);
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
    .net = {US(200), 64, 64, 8192, 0, 0, 0, 0, 0},
    .max_filler = 200,
    .max_reply = 200,
    .max_handler_delay_ns = US(500),
    .error_per_mille = 150,
    .error_now_per_mille = 50,
    .sync_per_mille = 200,
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
    .net = {US(100), 128, 256, 8192, 0, 0, 0, 0, US(50)},
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
    .net = {US(200), 96, 64, 4096, 0, 0, 500, MS(2), US(100)},
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
    .net = {US(50), 512, 16, 512, 300, MS(2), 0, 0, 0},
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
    .net = {US(200), 128, 64, 4096, 50, US(500), 0, 0, US(100)},
    .max_filler = 400,
    .max_reply = 400,
    .max_handler_delay_ns = US(800),
    .error_per_mille = 100,
    .timeout_per_mille = 300,
    .min_timeout_ns = US(300),
    .max_timeout_ns = MS(3),
    .abort_per_mille = 5,
    .sync_per_mille = 150,
    .max_restarts = 4,
    .restart_window_ns = MS(3),
    .max_gap_ns = US(200),
    .max_server_limit = 32,
};

/* Small largest frames on either side: requests refused at once, over
 * the server's limit (the connection ends), responses over the server's
 * (an error response says so) or the client's (the connection ends). */
static const struct sim_scenario sc_limits = {
    .name = "limits",
    .max_clients = 4,
    .max_requests = 24,
    .max_inflight = 6,
    .net = {US(100), 256, 64, 4096, 0, 0, 0, 0, 0},
    .max_filler = 700,
    .max_reply = 1200,
    .max_handler_delay_ns = US(300),
    .error_per_mille = 100,
    .error_now_per_mille = 50,
    .timeout_per_mille = 200,
    .min_timeout_ns = US(300),
    .max_timeout_ns = MS(2),
    .max_gap_ns = US(100),
    .max_server_limit = 16,
    .min_frame = 256,
    .max_frame = 2048,
};

/* Everything at once. */
static const struct sim_scenario sc_chaos = {
    .name = "chaos",
    .max_clients = 8,
    .max_requests = 24,
    .max_inflight = 8,
    .net = {US(300), 256, 16, 4096, 150, MS(1), 300, MS(4), US(25)},
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
    .sync_per_mille = 150,
    .abort_per_mille = 2,
    .max_restarts = 2,
    .restart_window_ns = MS(8),
    .max_gap_ns = US(300),
    .max_server_limit = 8,
};

/* The WebSocket stream over small buffers and stalled readers, with a
 * low limit of requests in flight per connection: everything answered. */
static const struct sim_scenario sc_ws_backpressure = {
    .name = "ws_backpressure",
    .max_clients = 4,
    .max_requests = 16,
    .max_inflight = 6,
    .net = {US(100), 256, 16, 600, 300, MS(1), 0, 0, 0},
    .max_filler = 2000,
    .max_reply = 2000,
    .max_handler_delay_ns = US(400),
    .error_per_mille = 100,
    .error_now_per_mille = 50,
    .max_gap_ns = US(100),
    .max_server_limit = 3,
    .ws = true,
    .all_answered = true,
};

/* The WebSocket stream over the simulated network, with faults. */
static const struct sim_scenario sc_ws = {
    .name = "ws",
    .max_clients = 4,
    .max_requests = 16,
    .max_inflight = 6,
    .net = {US(200), 128, 64, 4096, 100, MS(1), 200, MS(3), US(50)},
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
    &sc_happy,           &sc_timeouts, &sc_disconnects, &sc_backpressure,
    &sc_restarts,        &sc_limits,   &sc_chaos,       &sc_ws,
    &sc_ws_backpressure, NULL,
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
