/*
 * app.c: the C half of the page in examples/web: cfut compiled to
 * WebAssembly, talking to cfut-echo over a WebSocket with the same
 * transport code as a native client (cfut_transport.h over the browser's
 * WebSocket stream, cfut_web.h). The page's JavaScript (page.js) only
 * draws: it calls the functions below and is called back with each
 * response. No part of the protocol is written in JavaScript.
 *
 * Every request is a task on the executor of the page (the browser's
 * driver runs it from the page's event loop). Its response, or its error,
 * goes to the page's Module.cfutDone(); the page's pending count is the
 * number of request tasks not yet finished.
 */
#include <cfut.h>
#include <cfut_web.h>
#include <emscripten/emscripten.h>
#include <stdlib.h>
#include <string.h>

/* The longest text a request carries (the page's input limits it too). */
#define MAX_TEXT 256u

static struct cfut_executor *ex;
static struct cfut_transport *conn;
static int n_pending; /* request tasks not yet finished */

/* ---- callbacks into the page ------------------------------------------- */

/* One request finished: its response, or why it failed. */
EM_JS(void, page_done,
      (unsigned seq, int status, const char *name, const char *why, int matched,
       double rtt_ms, const char *text, size_t len, int pending),
      {
          Module.cfutDone({
              seq : seq,
              status : status,
              name : UTF8ToString(name),
              error : UTF8ToString(why),
              matched : matched != 0,
              rttMs : rtt_ms,
              text : UTF8ToString(text, len),
              pending : pending
          });
      })

/* The measurement of web_bench() is over. */
EM_JS(void, page_bench_done,
      (unsigned n, unsigned errors, double elapsed_ms, double p50_ms,
       double p99_ms),
      {
          Module.cfutBenchDone({
              n : n,
              errors : errors,
              elapsedMs : elapsed_ms,
              p50Ms : p50_ms,
              p99Ms : p99_ms
          });
      })

/* ---- one request: a task that awaits its response ---------------------- */

struct call {
    struct cfut_future base;
    struct cfut_request req; /* the transport's request future */
    unsigned seq;            /* the page's number for it */
    double sent_ms;
    bool finished;
    size_t len;
    char text[MAX_TEXT + 1]; /* what was sent, to check the echo */
};

/* Reports 'status' for 'c' to the page, with the response 'r' if any. */
static void
report(struct call *c, int status, const struct cfut_response *r)
{
    const unsigned char *data = r != NULL ? cfut_response_data(r) : NULL;
    size_t len = r != NULL ? r->len : 0;
    /* Matched: the echo carries exactly the bytes this request sent. */
    bool matched = status == 0 && len == c->len &&
                   (len == 0 || memcmp(data, c->text, len) == 0);
    c->finished = true;
    n_pending--;
    page_done(c->seq, status, cfut_status_name(status),
              status == 0 ? "" : cfut_strerror(status), matched,
              emscripten_get_now() - c->sent_ms,
              data != NULL ? (const char *)data : "", len, n_pending);
}

static enum cfut_poll
call_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    (void)out;
    struct call *c = cfut_container_of(f, struct call, base);
    struct cfut_response r;
    if (cfut_future_poll(&c->req.base, cx, &r) == CFUT_PENDING)
        return CFUT_PENDING;
    report(c, r.status, &r);
    cfut_response_deinit(&r);
    return CFUT_READY;
}

static void
call_drop(struct cfut_future *f)
{
    struct call *c = cfut_container_of(f, struct call, base);
    if (!c->finished) /* cancelled: the page hears of it too */
        report(c, CFUT_ECANCELED, NULL);
    cfut_future_drop(&c->req.base);
}

static const struct cfut_future_vtable call_vtable = {
    call_poll, call_drop, 0, "page_request", NULL,
};

/* ---- what the page calls ----------------------------------------------- */

/*
 * Connects to the cfut server at 'url' ("ws://127.0.0.1:8765/"): a new
 * executor on the first call, a WebSocket stream, a transport on it (an
 * earlier connection is closed: its pending requests fail). Requests may
 * be sent at once: they leave when the socket opens.
 * Returns 0 or a negative cfut status.
 */
EMSCRIPTEN_KEEPALIVE int
web_connect(const char *url)
{
    int rc;
    if (ex == NULL && (rc = cfut_executor_new(&ex)) < 0)
        return rc;
    if (conn != NULL) {
        cfut_transport_free(conn);
        conn = NULL;
    }
    struct cfut_stream *ws;
    if ((rc = cfut_web_ws_open(url, NULL, &ws)) < 0)
        return rc;
    if ((rc = cfut_transport_new(ex, ws, NULL, &conn)) < 0)
        cfut_stream_close(ws);
    return rc;
}

/*
 * Sends 'text' as request number 'seq', asking the server to wait
 * 'delay_ms' first (the payload "wait MSms TEXT", which cfut-echo
 * understands; a negative delay sends 'text' alone). The response comes
 * back through Module.cfutDone().
 * Returns: the number of pending requests, or a negative cfut status when
 *   the request could not start (no connection, one that ended, a text
 *   too long, no memory): the page shows that error at once.
 */
EMSCRIPTEN_KEEPALIVE int
web_send(unsigned seq, const char *text, int delay_ms)
{
    if (conn == NULL)
        return CFUT_ESTATE;
    struct call c;
    cfut_future_init(&c.base, &call_vtable);
    c.seq = seq;
    c.finished = false;
    int n = delay_ms >= 0 ? snprintf(c.text, sizeof c.text, "wait %dms %s",
                                     delay_ms, text)
                          : snprintf(c.text, sizeof c.text, "%s", text);
    if (n < 0 || (size_t)n > MAX_TEXT)
        return CFUT_EMSGSIZE;
    c.len = (size_t)n;
    int rc = cfut_request_init(&c.req, conn, c.text, c.len);
    if (rc < 0)
        return rc;
    c.sent_ms = emscripten_get_now();
    rc = cfut_spawn(ex, &c.base, sizeof c, NULL);
    if (rc < 0) {
        c.finished = true; /* nothing to report: the call fails at once */
        cfut_future_drop(&c.base);
        return rc;
    }
    return ++n_pending;
}

/* Returns the number of requests sent and not yet answered or failed. */
EMSCRIPTEN_KEEPALIVE int
web_pending(void)
{
    return n_pending;
}

/* Returns why the connection ended (0 while it is open or none is made). */
EMSCRIPTEN_KEEPALIVE int
web_status(void)
{
    return conn != NULL ? cfut_transport_status(conn) : 0;
}

/* Returns the symbolic name of 'status' ("CFUT_ECONNRESET"). */
EMSCRIPTEN_KEEPALIVE const char *
web_status_name(int status)
{
    return cfut_status_name(status);
}

/* ---- a measurement: N requests, K in flight, back to back -------------- */

static struct {
    unsigned n, next, done, errors;
    double start_ms;
    double *lat_ms; /* per request */
} bench;

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The last worker reports the throughput and latency percentiles. */
static void
bench_finish(void)
{
    double elapsed = emscripten_get_now() - bench.start_ms;
    qsort(bench.lat_ms, bench.n, sizeof *bench.lat_ms, cmp_double);
    page_bench_done(bench.n, bench.errors, elapsed, bench.lat_ms[bench.n / 2],
                    bench.lat_ms[(size_t)bench.n * 99 / 100]);
    free(bench.lat_ms);
    bench.lat_ms = NULL;
}

/* A worker: sends one request at a time until all N are taken. */
struct worker {
    struct cfut_future base;
    bool in_request; /* 'req' is live */
    unsigned idx;    /* the request it awaits */
    double sent_ms;
    struct cfut_request req;
};

static enum cfut_poll
worker_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    (void)out;
    static const char payload[16] = "0123456789abcdef";
    struct worker *w = cfut_container_of(f, struct worker, base);
    for (;;) {
        if (!w->in_request) {
            if (bench.next == bench.n)
                return CFUT_READY;
            w->idx = bench.next++;
            w->sent_ms = emscripten_get_now();
            if (cfut_request_init(&w->req, conn, payload, sizeof payload) < 0) {
                bench.lat_ms[w->idx] = 0;
                bench.errors++;
                if (++bench.done == bench.n)
                    bench_finish();
                continue;
            }
            w->in_request = true;
        }
        struct cfut_response r;
        if (cfut_future_poll(&w->req.base, cx, &r) == CFUT_PENDING)
            return CFUT_PENDING;
        bench.lat_ms[w->idx] = emscripten_get_now() - w->sent_ms;
        if (r.status != 0 || r.len != sizeof payload ||
            memcmp(cfut_response_data(&r), payload, sizeof payload) != 0)
            bench.errors++;
        cfut_response_deinit(&r);
        cfut_future_drop(&w->req.base);
        w->in_request = false;
        if (++bench.done == bench.n)
            bench_finish();
    }
}

static void
worker_drop(struct cfut_future *f)
{
    struct worker *w = cfut_container_of(f, struct worker, base);
    if (w->in_request)
        cfut_future_drop(&w->req.base);
}

static const struct cfut_future_vtable worker_vtable = {
    worker_poll, worker_drop, 0, "bench_worker", NULL,
};

/*
 * Measures 'n' echo requests of 16 bytes with 'inflight' in flight (no
 * delay asked) on the current connection; the result comes back through
 * Module.cfutBenchDone() (requests/s from its elapsed time, p50 and p99).
 * Returns 0 or a negative cfut status (one measurement at a time).
 */
EMSCRIPTEN_KEEPALIVE int
web_bench(unsigned n, unsigned inflight)
{
    if (conn == NULL || n == 0 || inflight == 0)
        return CFUT_EINVAL;
    if (bench.lat_ms != NULL)
        return CFUT_EBUSY;
    bench.lat_ms = calloc(n, sizeof *bench.lat_ms);
    if (bench.lat_ms == NULL)
        return CFUT_ENOMEM;
    bench.n = n;
    bench.next = bench.done = bench.errors = 0;
    bench.start_ms = emscripten_get_now();
    for (unsigned i = 0; i < inflight && i < n; i++) {
        struct worker w;
        cfut_future_init(&w.base, &worker_vtable);
        w.in_request = false;
        int rc = cfut_spawn(ex, &w.base, sizeof w, NULL);
        if (rc < 0)
            return rc; /* the workers already spawned do the rest */
    }
    return 0;
}
