/*
 * cfut_echo.c: the cfut-echo program: an echo server and a load-generating
 * client for the cfut transport over TCP (wire format: docs/wire-format.md).
 *
 * HOST is an IPv4 address, an IPv6 address in brackets ("[::1]:7000") or
 * localhost; host names are not resolved (the error says so).
 *
 *   cfut-echo serve --listen HOST:PORT [--shuffle]
 *       answers each request with its own payload; with --shuffle, replies
 *       leave out of order. Prints "listening on HOST:PORT" (the real port
 *       when PORT is 0) and serves until killed.
 *   cfut-echo client --connect HOST:PORT --requests N --inflight K [--size B]
 *       sends N requests of B bytes (default 16), K in flight, checks every
 *       echo and prints: completed, errors, out-of-order, requests/s, p50
 *       and p99 latency.
 *   cfut-echo demo [--requests N] [--inflight K]
 *       both in one process on one executor: a shuffled server on
 *       127.0.0.1 (a free port) and a client, then the summary.
 *
 * The client keeps K worker tasks, each sending requests back to back over
 * one transport; "out of order" counts responses that arrived after the
 * response to a request sent later.
 */
#define _POSIX_C_SOURCE 200809L
#include <cfut.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static uint64_t
now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * Splits "HOST:PORT" into 'host' and '*port': "127.0.0.1:7000",
 * "localhost:7000", "[::1]:7000" (an IPv6 address goes in brackets).
 */
static int
parse_addr(const char *s, char *host, size_t cap, uint16_t *port)
{
    if (s == NULL)
        return -1;
    const char *h = s, *colon;
    size_t n;
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (close == NULL || close[1] != ':')
            return -1;
        h = s + 1;
        n = (size_t)(close - h);
        colon = close + 1;
    } else {
        colon = strrchr(s, ':');
        if (colon == NULL || memchr(s, ':', (size_t)(colon - s)) != NULL)
            return -1; /* no port, or an IPv6 address without brackets */
        n = (size_t)(colon - s);
    }
    if (n >= cap)
        return -1;
    memcpy(host, h, n);
    host[n] = '\0';
    char *end;
    long p = strtol(colon + 1, &end, 10);
    if (colon[1] == '\0' || *end != '\0' || p < 0 || p > 65535)
        return -1;
    *port = (uint16_t)p;
    return 0;
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
    uint64_t n_total, next_seq, completed, errors, out_of_order, max_done;
    size_t size;
    uint64_t *lat; /* per request, ns */
    int workers_left;
    struct cfut_waker main_waker;
};

/* A worker task: one request at a time, back to back. */
struct worker {
    struct cfut_future base;
    struct client *cl;
    bool active;
    uint64_t seq, t0;
    unsigned char payload[256];
    struct cfut_request req;
};

static void
fill(unsigned char *p, size_t size, uint64_t seq)
{
    for (size_t i = 0; i < size; i++)
        p[i] = (unsigned char)(seq >> (8 * (i % 8))) ^ (unsigned char)i;
}

static enum cfut_poll
worker_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    (void)out;
    struct worker *w = cfut_container_of(f, struct worker, base);
    struct client *cl = w->cl;
    for (;;) {
        if (!w->active) {
            if (cl->next_seq == cl->n_total) {
                if (--cl->workers_left == 0)
                    cfut_waker_wake_by_ref(&cl->main_waker);
                return CFUT_READY;
            }
            w->seq = cl->next_seq++;
            fill(w->payload, cl->size, w->seq);
            w->t0 = now_ns();
            if (cfut_request_init(&w->req, cl->t, w->payload, cl->size) < 0) {
                cl->errors++;
                continue;
            }
            w->active = true;
        }
        struct cfut_response r;
        if (cfut_future_poll(&w->req.base, cx, &r) == CFUT_PENDING)
            return CFUT_PENDING;
        cfut_future_drop(&w->req.base);
        w->active = false;
        if (r.status != 0 || r.len != cl->size ||
            memcmp(cfut_response_data(&r), w->payload, cl->size) != 0) {
            cl->errors++;
        } else {
            cl->lat[cl->completed++] = now_ns() - w->t0;
            if (w->seq < cl->max_done)
                cl->out_of_order++;
            else
                cl->max_done = w->seq;
        }
        cfut_response_deinit(&r);
    }
}

static void
worker_drop(struct cfut_future *f)
{
    struct worker *w = cfut_container_of(f, struct worker, base);
    if (w->active)
        cfut_future_drop(&w->req.base);
}

static const struct cfut_future_vtable worker_vtable = {
    worker_poll, worker_drop, 0, "echo_worker", NULL,
};

/* The main future: connects, starts the workers, waits for them. */
struct client_main {
    struct cfut_future base;
    struct client *cl;
    int state; /* 0 connecting, 1 running */
    int k;
    struct cfut_connect conn;
};

static enum cfut_poll
client_main_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct client_main *m = cfut_container_of(f, struct client_main, base);
    struct client *cl = m->cl;
    int *status = out;
    if (m->state == 0) {
        struct cfut_connect_result r;
        if (cfut_future_poll(&m->conn.base, cx, &r) == CFUT_PENDING)
            return CFUT_PENDING;
        cfut_future_drop(&m->conn.base);
        m->state = 1;
        struct cfut_stream *s;
        int rc = r.status;
        if (rc == 0 && (rc = cfut_fd_stream_from_io(r.io, &s)) < 0)
            cfut_io_free(r.io);
        if (rc == 0 && (rc = cfut_transport_new(cfut_executor_current(), s,
                                                NULL, &cl->t)) < 0)
            cfut_stream_close(s);
        if (rc < 0) {
            *status = rc;
            return CFUT_READY;
        }
        cl->workers_left = m->k;
        for (int i = 0; i < m->k; i++) {
            struct worker w;
            memset(&w, 0, sizeof w);
            cfut_future_init(&w.base, &worker_vtable);
            w.cl = cl;
            if (cfut_spawn(cfut_executor_current(), &w.base, sizeof w, NULL) <
                0) {
                *status = CFUT_ENOMEM;
                return CFUT_READY;
            }
        }
    }
    if (cl->workers_left > 0) {
        cfut_waker_register(&cl->main_waker, cx->waker);
        return CFUT_PENDING;
    }
    *status = 0;
    return CFUT_READY;
}

static const struct cfut_future_vtable client_main_vtable = {
    client_main_poll, NULL, sizeof(int), "echo_client", NULL,
};

static int
cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int
run_client(struct cfut_executor *ex, const char *host, uint16_t port,
           uint64_t n, int k, size_t size)
{
    struct client cl;
    memset(&cl, 0, sizeof cl);
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
    int rc = cfut_tcp_connect_init(&m.conn, host, port);
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
    fprintf(stderr, "usage: cfut-echo serve --listen HOST:PORT [--shuffle]\n"
                    "       cfut-echo client --connect HOST:PORT --requests N "
                    "--inflight K [--size B]\n"
                    "       cfut-echo demo [--requests N] [--inflight K]\n");
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
    const char *addr = opt(argc, argv,
                           demo    ? "--unused"
                           : serve ? "--listen"
                                   : "--connect");
    if (!demo && parse_addr(addr, host, sizeof host, &port) < 0)
        return usage();
    const char *nreq = opt(argc, argv, "--requests");
    const char *kin = opt(argc, argv, "--inflight");
    const char *sz = opt(argc, argv, "--size");
    uint64_t n = nreq ? strtoull(nreq, NULL, 10) : demo ? 100000 : 0;
    int k = kin ? atoi(kin) : demo ? 64 : 0;
    size_t size = sz ? (size_t)atoi(sz) : 16;
    if (client && (n == 0 || k <= 0 || size > 256))
        return usage();

    struct cfut_executor *ex;
    if (cfut_executor_new(&ex) < 0)
        return 1;
    struct cfut_echo_config echo = {demo || flag(argc, argv, "--shuffle"),
                                    (uint64_t)now_ns()};
    struct cfut_server *srv = NULL;
    int rc = 0;
    if (serve) {
        int fd = -1;
        rc = cfut_tcp_listen(host, port, 128, &fd);
        if (rc == 0)
            rc = cfut_socket_local_port(fd, &port);
        if (rc == 0)
            rc = cfut_server_new(ex, cfut_echo_handler, &echo, NULL, &srv);
        if (rc == 0)
            rc = cfut_server_listen(srv, fd);
        char a[300];
        if (rc < 0) {
            fprintf(stderr, "cfut-echo: cannot listen on %s: %s (%s)\n",
                    format_addr(a, sizeof a, host, port), cfut_strerror(rc),
                    cfut_status_name(rc));
            if (srv == NULL && fd >= 0)
                close(fd); /* not handed to the server yet */
            cfut_server_free(srv);
            (void)cfut_executor_run_ready(ex);
            cfut_executor_free(ex);
            return 1;
        }
        printf("listening on %s%s\n", format_addr(a, sizeof a, host, port),
               echo.shuffle ? " (replies shuffled)" : "");
        fflush(stdout);
    }
    if (demo)
        printf("client: %" PRIu64 " requests of %zu bytes, %d in flight, "
               "over TCP\n",
               n, size, k);
    if (client)
        rc = run_client(ex, host, port, n, k, size);
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
