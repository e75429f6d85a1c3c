/*
 * cfut_echo.c: the cfut-echo program: an echo server and a load-generating
 * client for the cfut transport over TCP or WebSocket (wire format:
 * docs/wire-format.md).
 *
 * HOST is an IPv4 address, an IPv6 address in brackets ("[::1]:7000") or
 * localhost; the client also takes a host name (resolved, each address
 * tried in turn), the server listens on numeric addresses only.
 *
 *   cfut-echo serve [--listen HOST:PORT] [--ws-listen HOST:PORT]
 *                   [--shuffle] [--delay-ms MAX]
 *       answers each request with its own payload, over raw TCP
 *       (--listen), WebSocket (--ws-listen: one binary message per frame)
 *       or both; with --shuffle, replies leave out of order; with
 *       --delay-ms, each reply waits a random 0..MAX ms first. A request
 *       may ask for its own delay: a payload that starts with "wait MSms"
 *       ("wait 250ms hello": 0..60000 ms) is echoed, whole, after MS ms
 *       (the page in examples/web asks so). Prints
 *       "listening on HOST:PORT" and "listening on ws://HOST:PORT/" (the
 *       real port when PORT is 0) and serves until SIGTERM or SIGINT, then
 *       closes every connection, frees everything and exits 0.
 *   cfut-echo client --connect HOST:PORT|ws://HOST:PORT/PATH --requests N
 *                    --inflight K [--size B]
 *       sends N requests of B bytes (default 16), K in flight, checks every
 *       echo and prints: completed, errors, out-of-order, requests/s, p50
 *       and p99 latency.
 *   cfut-echo demo [--requests N] [--inflight K] [--ws]
 *       both in one process on one executor: a shuffled server on
 *       127.0.0.1 (a free port) and a client, then the summary.
 *
 * The client keeps K worker tasks, each sending requests back to back over
 * one transport; "out of order" counts responses that arrived after the
 * response to a request sent later.
 */
#define _GNU_SOURCE
#include <cfut.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "echo_handler.h"

static uint64_t
now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Splits "HOST:PORT" ("[::1]:7000" for IPv6); -1 if it does not parse. */
static int
parse_addr(const char *s, char *host, size_t cap, uint16_t *port)
{
    return s != NULL && cfut_hostport_split(s, host, cap, port) == 0 ? 0 : -1;
}

/* Writes 'host' and 'port' as "HOST:PORT" (brackets for IPv6). */
static const char *
format_addr(char *buf, size_t cap, const char *host, uint16_t port)
{
    bool v6 = strchr(host, ':') != NULL;
    snprintf(buf, cap, "%s%s%s:%u", v6 ? "[" : "", host, v6 ? "]" : "", port);
    return buf;
}

/* ---- the client ---- */

struct client {
    struct cfut_transport *t;
    bool ws;               /* over WebSocket */
    const char *host_port; /* the Host header ("HOST:PORT") */
    const char *path;      /* the request target */
    uint64_t n_total, next_seq, completed, errors, out_of_order, max_done;
    size_t size;
    uint64_t *lat; /* per request, ns */
    int workers_left;
    struct cfut_waker main_waker;
};

static void
fill(unsigned char *p, size_t size, uint64_t seq)
{
    for (size_t i = 0; i < size; i++)
        p[i] = (unsigned char)(seq >> (8 * (i % 8))) ^ (unsigned char)i;
}

/* Checks the answer to request 'seq' (sent at 't0') and counts it. */
static void
account(struct client *cl, uint64_t seq, uint64_t t0,
        const unsigned char *payload, const struct cfut_response *r)
{
    if (r->status != 0 || r->len != cl->size ||
        memcmp(cfut_response_data(r), payload, cl->size) != 0) {
        cl->errors++;
        return;
    }
    cl->lat[cl->completed++] = now_ns() - t0;
    if (seq < cl->max_done)
        cl->out_of_order++;
    else
        cl->max_done = seq;
}

/* A worker task: one request at a time, back to back, until the client's
 * count is reached; the last one out wakes the main future. */
CFUT_ASYNC_FN(echo_worker, void, ((struct client *, cl)), uint64_t seq;
              uint64_t t0; unsigned char payload[256]; struct cfut_request req;
              struct cfut_response r;)
{
    CFUT_BEGIN();
    while (self->cl->next_seq < self->cl->n_total) {
        self->seq = self->cl->next_seq++;
        fill(self->payload, self->cl->size, self->seq);
        self->t0 = now_ns();
        if (cfut_request_init(&self->req, self->cl->t, self->payload,
                              self->cl->size) < 0) {
            self->cl->errors++;
            continue;
        }
        CFUT_AWAIT(&self->req, &self->r);
        account(self->cl, self->seq, self->t0, self->payload, &self->r);
        cfut_response_deinit(&self->r);
    }
    if (--self->cl->workers_left == 0)
        cfut_waker_wake_by_ref(&self->cl->main_waker);
    CFUT_END();
}

/* The main future: connects, starts the workers, waits for them. */
struct client_main {
    struct cfut_future base;
    struct client *cl;
    int state; /* 0 connecting, 1 WebSocket handshake, 2 running */
    int k;
    struct cfut_stream *ws; /* state 1: the stream shaking hands */
    struct cfut_tcp_connect conn;
    struct cfut_ws_handshake hs;
};

/* Starts the transport over 's' and the workers. */
static int
start_workers(struct client_main *m, struct cfut_stream *s)
{
    struct client *cl = m->cl;
    int rc = cfut_transport_new(cfut_executor_current(), s, NULL, &cl->t);
    if (rc < 0) {
        cfut_stream_close(s);
        return rc;
    }
    cl->workers_left = m->k;
    for (int i = 0; i < m->k; i++)
        if (echo_worker_spawn(NULL, NULL, cl) < 0)
            return CFUT_ENOMEM;
    return 0;
}

static enum cfut_poll
client_main_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct client_main *m = cfut_container_of(f, struct client_main, base);
    struct client *cl = m->cl;
    int *status = out;
    int rc = 0;
    if (m->state == 0) {
        struct cfut_accepted r;
        if (cfut_future_poll(&m->conn.base, cx, &r) == CFUT_PENDING)
            return CFUT_PENDING;
        cfut_future_drop(&m->conn.base);
        m->state = 2;
        struct cfut_stream *s = r.stream;
        rc = r.status;
        if (rc == 0 && cl->ws) {
            /* Over WebSocket: shake hands first, for a clear error. */
            struct cfut_ws_config wc = {.frame_messages = true,
                                        .host = cl->host_port,
                                        .path = cl->path};
            if ((rc = cfut_ws_stream_new(s, CFUT_WS_CLIENT, &wc, &m->ws)) < 0)
                cfut_stream_close(s);
            if (rc == 0) {
                cfut_ws_handshake_init(&m->hs, m->ws);
                m->state = 1;
            }
        } else if (rc == 0) {
            rc = start_workers(m, s);
        }
    }
    if (rc == 0 && m->state == 1) {
        if (cfut_future_poll(&m->hs.base, cx, &rc) == CFUT_PENDING)
            return CFUT_PENDING;
        cfut_future_drop(&m->hs.base);
        m->state = 2;
        if (rc < 0) {
            struct cfut_ws_stats st;
            cfut_ws_get_stats(m->ws, &st);
            fprintf(stderr, "cfut-echo: WebSocket handshake failed (HTTP %d)\n",
                    st.http_status);
            cfut_stream_close(m->ws);
        } else {
            rc = start_workers(m, m->ws);
        }
    }
    if (rc < 0) {
        *status = rc;
        return CFUT_READY;
    }
    if (cl->workers_left > 0) {
        cfut_waker_register(&cl->main_waker, cx->waker);
        return CFUT_PENDING;
    }
    *status = 0;
    return CFUT_READY;
}

static void
client_main_drop(struct cfut_future *f)
{
    struct client_main *m = cfut_container_of(f, struct client_main, base);
    if (m->state == 0) {
        cfut_future_drop(&m->conn.base);
    } else if (m->state == 1) {
        cfut_future_drop(&m->hs.base);
        cfut_stream_close(m->ws);
    }
}

static const struct cfut_future_vtable client_main_vtable = {
    client_main_poll, client_main_drop, sizeof(int), "echo_client", NULL,
};

static int
cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int
run_client(struct cfut_executor *ex, const char *host, uint16_t port,
           const char *path, uint64_t n, int k, size_t size)
{
    struct client cl;
    memset(&cl, 0, sizeof cl);
    char host_port[300];
    format_addr(host_port, sizeof host_port, host, port);
    cl.ws = path != NULL;
    cl.host_port = host_port;
    cl.path = path;
    cl.n_total = n;
    cl.size = size;
    cl.lat = malloc((n != 0 ? n : 1) * sizeof *cl.lat);
    if (cl.lat == NULL)
        return 1;
    struct client_main m;
    memset(&m, 0, sizeof m);
    cfut_future_init(&m.base, &client_main_vtable);
    m.cl = &cl;
    m.k = k;
    int rc = cfut_tcp_connect_host_init(&m.conn, host, port, NULL);
    if (rc < 0) {
        char a[300];
        fprintf(stderr, "cfut-echo: cannot connect to %s: %s (%s)\n",
                format_addr(a, sizeof a, host, port), cfut_strerror(rc),
                cfut_status_name(rc));
        free(cl.lat);
        return 2;
    }
    uint64_t t0 = now_ns();
    int status = 0;
    rc = cfut_block_on(ex, &m.base, &status);
    double secs = (double)(now_ns() - t0) / 1e9;
    if (rc == 0)
        rc = status;
    cfut_waker_drop(&cl.main_waker);
    if (rc != 0) {
        fprintf(stderr, "cfut-echo: client failed: %s (%s)\n",
                cfut_strerror(rc), cfut_status_name(rc));
        free(cl.lat);
        cfut_transport_free(cl.t);
        return 1;
    }
    qsort(cl.lat, cl.completed, sizeof *cl.lat, cmp_u64);
    double p50 = cl.completed ? (double)cl.lat[cl.completed / 2] / 1e3 : 0;
    double p99 =
        cl.completed ? (double)cl.lat[cl.completed * 99 / 100] / 1e3 : 0;
    printf("completed: %" PRIu64 "\nerrors: %" PRIu64 "\nout-of-order: %" PRIu64
           "\nrequests/s: %.0f\n"
           "latency p50: %.1f us\nlatency p99: %.1f us\n",
           cl.completed, cl.errors, cl.out_of_order,
           (double)cl.completed / secs, p50, p99);
    struct cfut_transport_stats st;
    cfut_transport_get_stats(cl.t, &st);
    printf("batches: %" PRIu64 " writes for %" PRIu64 " requests, %" PRIu64
           " reads\n",
           st.n_writes, st.n_sent, st.n_reads);
    cfut_transport_free(cl.t);
    (void)cfut_executor_run_ready(ex);
    free(cl.lat);
    return cl.errors != 0 || cl.completed != n;
}

/* ---- the server: delayed replies, listeners, a clean stop ---- */

/* The handler's settings: the echo's, and the longest delay. */
struct serve_config {
    struct echo_config echo;
    uint64_t max_delay_ns; /* 0: no delay */
    uint64_t state;        /* xorshift state for the delays */
};

/* An echo that waits first: a sleep, then the echo future. */
struct delayed {
    struct cfut_future base;
    bool slept;
    struct cfut_sleep sleep;
    struct cfut_future *echo; /* boxed */
};

static enum cfut_poll
delayed_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct delayed *d = cfut_container_of(f, struct delayed, base);
    if (!d->slept) {
        int st;
        if (cfut_future_poll(&d->sleep.base, cx, &st) == CFUT_PENDING)
            return CFUT_PENDING;
        d->slept = true;
    }
    return cfut_future_poll(d->echo, cx, out);
}

static void
delayed_drop(struct cfut_future *f)
{
    struct delayed *d = cfut_container_of(f, struct delayed, base);
    cfut_future_drop(&d->sleep.base);
    cfut_future_drop(d->echo);
}

static const struct cfut_future_vtable delayed_vtable = {
    delayed_poll, delayed_drop, sizeof(struct cfut_reply), "delayed_echo", NULL,
};

/* The longest delay a request may ask for ("wait 60000ms"). */
#define MAX_ASKED_MS 60000u

/*
 * Reads the delay a request asks for: a payload that starts with
 * "wait MSms" (1 to 5 digits, MS at most MAX_ASKED_MS). Returns whether
 * it asks, with the delay in '*ns'.
 */
static bool
asked_delay(const unsigned char *p, size_t len, uint64_t *ns)
{
    if (len < 8 || memcmp(p, "wait ", 5) != 0)
        return false;
    size_t i = 5;
    uint64_t ms = 0;
    while (i < len && i < 10 && p[i] >= '0' && p[i] <= '9')
        ms = ms * 10 + (uint64_t)(p[i++] - '0');
    if (i == 5 || len - i < 2 || memcmp(p + i, "ms", 2) != 0 ||
        ms > MAX_ASKED_MS)
        return false;
    *ns = CFUT_MSEC(ms);
    return true;
}

/*
 * The server's handler: echo_handler(), after the delay the request
 * asks for, else a random one of up to --delay-ms.
 */
static int
serve_handler(void *ctx, const unsigned char *payload, size_t len,
              struct cfut_future **out)
{
    struct serve_config *sc = ctx;
    struct cfut_future *echo;
    int rc = echo_handler(&sc->echo, payload, len, &echo);
    uint64_t delay_ns;
    bool asked = rc == 0 && asked_delay(payload, len, &delay_ns);
    if (rc < 0 || (sc->max_delay_ns == 0 && !asked)) {
        if (rc == 0)
            *out = echo;
        return rc;
    }
    if (!asked) {
        uint64_t x = sc->state;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        sc->state = x;
        delay_ns = x % (sc->max_delay_ns + 1);
    }
    struct delayed d;
    cfut_future_init(&d.base, &delayed_vtable);
    d.slept = false;
    cfut_sleep_init(&d.sleep, delay_ns);
    d.echo = echo;
    rc = cfut_future_box(&d.base, sizeof d, out);
    if (rc < 0)
        cfut_future_drop(echo);
    return rc;
}

/* A task that frees the server at SIGTERM or SIGINT (cfut_signal.h). */
struct stopper {
    struct cfut_future base;
    struct cfut_signal *sig[2];
    struct cfut_server **srv;
    struct cfut_signal_recv recv[2];
};

static enum cfut_poll
stopper_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    (void)out;
    struct stopper *s = cfut_container_of(f, struct stopper, base);
    uint64_t n;
    if (cfut_future_poll(&s->recv[0].base, cx, &n) == CFUT_PENDING &&
        cfut_future_poll(&s->recv[1].base, cx, &n) == CFUT_PENDING)
        return CFUT_PENDING;
    /* Every connection ends, then every task: the executor's run returns. */
    cfut_server_free(*s->srv);
    *s->srv = NULL;
    return CFUT_READY;
}

static void
stopper_drop(struct cfut_future *f)
{
    struct stopper *s = cfut_container_of(f, struct stopper, base);
    for (int i = 0; i < 2; i++) {
        cfut_future_drop(&s->recv[i].base);
        cfut_signal_free(s->sig[i]);
    }
}

static const struct cfut_future_vtable stopper_vtable = {
    stopper_poll, stopper_drop, 0, "stopper", NULL,
};

static int
stop_on_signals(struct cfut_executor *ex, struct cfut_server **srv)
{
    struct stopper s;
    cfut_future_init(&s.base, &stopper_vtable);
    s.srv = srv;
    int rc = cfut_signal_new(ex, SIGTERM, &s.sig[0]);
    if (rc < 0)
        return rc;
    if ((rc = cfut_signal_new(ex, SIGINT, &s.sig[1])) < 0) {
        cfut_signal_free(s.sig[0]);
        return rc;
    }
    for (int i = 0; i < 2; i++)
        cfut_signal_recv_init(&s.recv[i], s.sig[i]);
    rc = cfut_spawn(ex, &s.base, sizeof s, NULL);
    if (rc < 0)
        cfut_future_drop(&s.base); /* a fresh future: drop frees both */
    return rc;
}

/*
 * Listens on 'host' and 'port' and serves there, over WebSocket when
 * 'ws'; '*port' gets the real port. Returns 0 or the failure.
 */
static int
serve_on(struct cfut_executor *ex, struct cfut_server *srv, const char *host,
         bool ws, uint16_t *port)
{
    struct cfut_listener *l;
    int rc = cfut_tcp_listen_host(ex, host, *port, NULL, &l);
    if (rc < 0)
        return rc;
    *port = cfut_listener_port(l);
    rc = ws ? cfut_server_listen_ws(srv, l, NULL) : cfut_server_listen(srv, l);
    if (rc < 0)
        cfut_listener_free(l);
    return rc;
}

/*
 * Listens on "HOST:PORT" ('addr', parsed already), over WebSocket when
 * 'ws'; prints where, then 'suffix'. Returns 0 or the failure (said).
 */
static int
listen_at(struct cfut_executor *ex, struct cfut_server *srv, const char *addr,
          bool ws, const char *suffix)
{
    char host[256], a[300];
    uint16_t port;
    (void)parse_addr(addr, host, sizeof host, &port);
    int rc = serve_on(ex, srv, host, ws, &port);
    if (rc < 0) {
        fprintf(stderr, "cfut-echo: cannot listen on %s%s: %s (%s)\n",
                ws ? "ws://" : "", format_addr(a, sizeof a, host, port),
                cfut_strerror(rc), cfut_status_name(rc));
        return rc;
    }
    printf("listening on %s%s%s%s\n", ws ? "ws://" : "",
           format_addr(a, sizeof a, host, port), ws ? "/" : "", suffix);
    return 0;
}

/* ---- main ---- */

static const char *
opt(int argc, char **argv, const char *name)
{
    for (int i = 2; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return argv[i + 1];
    return NULL;
}

static bool
flag(int argc, char **argv, const char *name)
{
    for (int i = 2; i < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return true;
    return false;
}

static int
usage(void)
{
    fprintf(stderr,
            "usage: cfut-echo serve [--listen HOST:PORT] "
            "[--ws-listen HOST:PORT] [--shuffle] [--delay-ms MAX]\n"
            "       cfut-echo client --connect HOST:PORT|ws://HOST:PORT/PATH "
            "--requests N --inflight K [--size B]\n"
            "       cfut-echo demo [--requests N] [--inflight K] [--ws]\n");
    return 2;
}

int
main(int argc, char **argv)
{
    if (argc < 2)
        return usage();
    const char *mode = argv[1];
    bool demo = strcmp(mode, "demo") == 0;
    bool serve = strcmp(mode, "serve") == 0 || demo;
    bool client = strcmp(mode, "client") == 0 || demo;
    if (!serve && !client)
        return usage();
    char host[256] = "127.0.0.1";
    uint16_t port = 0;
    const char *path = NULL; /* a WebSocket client's request target */
    const char *listen = opt(argc, argv, "--listen");
    const char *ws_listen = opt(argc, argv, "--ws-listen");
    if (!demo && serve && listen == NULL && ws_listen == NULL)
        return usage();
    if (!demo && serve) {
        /* Addresses that do not parse are a usage error (exit 2). */
        char h[256];
        uint16_t p;
        if ((listen != NULL && parse_addr(listen, h, sizeof h, &p) < 0) ||
            (ws_listen != NULL && parse_addr(ws_listen, h, sizeof h, &p) < 0))
            return usage();
    }
    if (!demo && client) {
        const char *addr = opt(argc, argv, "--connect");
        char hp[300];
        if (addr != NULL && strncmp(addr, "ws://", 5) == 0) {
            /* ws://HOST:PORT/PATH */
            const char *slash = strchr(addr + 5, '/');
            path = slash != NULL ? slash : "/";
            size_t n =
                slash != NULL ? (size_t)(slash - addr - 5) : strlen(addr + 5);
            if (n >= sizeof hp)
                return usage();
            memcpy(hp, addr + 5, n);
            hp[n] = '\0';
            addr = hp;
        }
        if (parse_addr(addr, host, sizeof host, &port) < 0)
            return usage();
    }
    const char *nreq = opt(argc, argv, "--requests");
    const char *kin = opt(argc, argv, "--inflight");
    const char *sz = opt(argc, argv, "--size");
    const char *delay = opt(argc, argv, "--delay-ms");
    uint64_t n = nreq ? strtoull(nreq, NULL, 10) : demo ? 100000 : 0;
    int k = kin ? atoi(kin) : demo ? 64 : 0;
    size_t size = sz ? (size_t)atoi(sz) : 16;
    if (client && (n == 0 || k <= 0 || size > 256))
        return usage();
    bool demo_ws = demo && flag(argc, argv, "--ws");

    struct cfut_executor *ex;
    if (cfut_executor_new(&ex) < 0)
        return 1;
    struct serve_config sc = {
        {demo || flag(argc, argv, "--shuffle"), (uint64_t)now_ns()},
        delay != NULL ? CFUT_MSEC(strtoull(delay, NULL, 10)) : 0,
        (uint64_t)now_ns() | 1u,
    };
    struct cfut_server *srv = NULL;
    int rc = 0;
    char a[300], replies[64] = "";
    if (sc.echo.shuffle && sc.max_delay_ns != 0)
        snprintf(replies, sizeof replies,
                 " (replies shuffled, delayed up to %s ms)", delay);
    else if (sc.max_delay_ns != 0)
        snprintf(replies, sizeof replies, " (replies delayed up to %s ms)",
                 delay);
    else if (sc.echo.shuffle)
        snprintf(replies, sizeof replies, " (replies shuffled)");
    if (serve) {
        rc = cfut_server_new(ex, serve_handler, &sc, NULL, &srv);
        if (rc < 0)
            fprintf(stderr, "cfut-echo: cannot make the server: %s\n",
                    cfut_strerror(rc));
        if (rc == 0 && demo) {
            /* A free port on 127.0.0.1, over TCP or WebSocket. */
            rc = serve_on(ex, srv, host, demo_ws, &port);
            if (demo_ws)
                path = "/";
            if (rc == 0)
                printf("listening on %s%s%s%s\n", demo_ws ? "ws://" : "",
                       format_addr(a, sizeof a, host, port), demo_ws ? "/" : "",
                       replies);
            else
                fprintf(stderr, "cfut-echo: cannot serve: %s (%s)\n",
                        cfut_strerror(rc), cfut_status_name(rc));
        }
        if (rc == 0 && listen != NULL)
            rc = listen_at(ex, srv, listen, false, replies);
        if (rc == 0 && ws_listen != NULL)
            rc = listen_at(ex, srv, ws_listen, true, replies);
        if (rc == 0 && !demo && (rc = stop_on_signals(ex, &srv)) < 0)
            fprintf(stderr, "cfut-echo: cannot watch for SIGTERM: %s (%s)\n",
                    cfut_strerror(rc), cfut_status_name(rc));
        if (rc < 0) {
            cfut_server_free(srv);
            (void)cfut_executor_run_ready(ex);
            cfut_executor_free(ex);
            return 1;
        }
        fflush(stdout);
    }
    if (demo)
        printf("client: %" PRIu64 " requests of %zu bytes, %d in flight, "
               "over %s\n",
               n, size, k, demo_ws ? "WebSocket" : "TCP");
    if (client)
        rc = run_client(ex, host, port, path, n, k, size);
    else
        rc = cfut_executor_run(ex) == 0 ? 0 : 1;
    if (srv != NULL) {
        struct cfut_server_stats st;
        cfut_server_get_stats(srv, &st);
        if (demo)
            printf("server: %" PRIu64 " connection(s), %" PRIu64
                   " requests, %" PRIu64 " replies\n",
                   st.n_connections, st.n_requests, st.n_replies);
        cfut_server_free(srv);
        (void)cfut_executor_run_ready(ex);
    }
    cfut_executor_free(ex);
    if (demo && !cfut_trace_is_on())
        printf("watch it: CFUT_TRACE=demo.json ./run demo --requests 200, "
               "then open demo.json in Perfetto or chrome://tracing "
               "(CFUT_TRACE=- narrates to stderr)\n");
    else if (demo)
        printf("trace written where CFUT_TRACE points\n");
    return rc;
}
