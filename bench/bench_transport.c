/*
 * bench_transport.c: reqresp_socketpair_inflight_K (K = 1, 64) of
 * bench/README.md: a cfut transport client and a cfut server on the two
 * ends of a Unix socketpair, on one executor, 16-byte payloads echoed, K
 * requests in flight (K worker tasks sending back to back); ns per
 * completed request. The floor is a synchronous single-thread loop over
 * the same socketpair with the same 40-byte frames: write K requests in
 * one write, read them and write K responses in one write, read them and
 * match each by id. Prints JSON lines.
 */
#include "benchkit.h"

#include <cfut.h>
#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>
#include "echo_handler.h"

#define FRAME 40u
#define PAYLOAD 16u

static struct cfut_executor *ex;

/* The checksum: the sum of the sequence numbers echoed back. */
static uint64_t
expect_sum(uint64_t ops)
{
    return ops * (ops - 1) / 2;
}

/* ---- cfut ---- */

struct run {
    struct cfut_transport *t;
    uint64_t n, next, sum;
    int workers_left;
    struct cfut_waker main_waker;
};

struct worker {
    struct cfut_future base;
    struct run *run;
    bool active;
    uint64_t seq;
    unsigned char payload[PAYLOAD];
    struct cfut_request req;
};

static enum cfut_poll
worker_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    (void)out;
    struct worker *w = cfut_container_of(f, struct worker, base);
    struct run *run = w->run;
    for (;;) {
        if (!w->active) {
            if (run->next == run->n) {
                if (--run->workers_left == 0)
                    cfut_waker_wake_by_ref(&run->main_waker);
                return CFUT_READY;
            }
            w->seq = run->next++;
            memcpy(w->payload, &w->seq, sizeof w->seq);
            if (cfut_request_init(&w->req, run->t, w->payload, PAYLOAD) != 0)
                abort();
            w->active = true;
        }
        struct cfut_response r;
        if (cfut_future_poll(&w->req.base, cx, &r) == CFUT_PENDING)
            return CFUT_PENDING;
        cfut_future_drop(&w->req.base);
        w->active = false;
        if (r.status != 0 || r.len != PAYLOAD)
            abort();
        uint64_t v;
        memcpy(&v, cfut_response_data(&r), sizeof v);
        run->sum += v;
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
    worker_poll, worker_drop, 0, "bench_worker", NULL,
};

struct waiter {
    struct cfut_future base;
    struct run *run;
};

static enum cfut_poll
waiter_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    (void)out;
    struct run *run = cfut_container_of(f, struct waiter, base)->run;
    if (run->workers_left == 0)
        return CFUT_READY;
    cfut_waker_register(&run->main_waker, cx->waker);
    return CFUT_PENDING;
}

static const struct cfut_future_vtable waiter_vtable = {
    waiter_poll, NULL, 0, "bench_waiter", NULL,
};

static uint64_t
reqresp_cfut(uint64_t ops, int k)
{
    int fds[2];
    struct cfut_stream *a, *b;
    struct cfut_server *srv;
    struct run run;
    memset(&run, 0, sizeof run);
    run.n = ops;
    if (cfut_socketpair(fds) != 0 || cfut_fd_stream_new(ex, fds[0], &a) != 0 ||
        cfut_fd_stream_new(ex, fds[1], &b) != 0 ||
        cfut_transport_new(ex, a, NULL, &run.t) != 0 ||
        cfut_server_new_reply(ex, echo_reply, NULL, NULL, &srv) != 0 ||
        cfut_server_add_stream(srv, b) != 0)
        abort();
    run.workers_left = k;
    for (int i = 0; i < k; i++) {
        struct worker w;
        memset(&w, 0, sizeof w);
        cfut_future_init(&w.base, &worker_vtable);
        w.run = &run;
        if (cfut_spawn(ex, &w.base, sizeof w, NULL) != 0)
            abort();
    }
    struct waiter wt;
    cfut_future_init(&wt.base, &waiter_vtable);
    wt.run = &run;
    if (cfut_block_on(ex, &wt.base, NULL) != 0)
        abort();
    cfut_waker_drop(&run.main_waker);
    cfut_transport_free(run.t);
    cfut_server_free(srv);
    if (cfut_executor_run(ex) != 0)
        abort();
    return run.sum;
}

static uint64_t
reqresp_cfut_1(uint64_t ops)
{
    return reqresp_cfut(ops, 1);
}

static uint64_t
reqresp_cfut_64(uint64_t ops)
{
    return reqresp_cfut(ops, 64);
}

/* ---- floor: the same frames, a synchronous loop ---- */

static void
put_frame(unsigned char *p, unsigned kind, uint64_t id, uint64_t value)
{
    memset(p, 0, FRAME);
    p[3] = FRAME - 4;
    p[4] = 1;
    p[5] = (unsigned char)kind;
    memcpy(p + 8, &id, sizeof id);
    memcpy(p + 24, &value, sizeof value);
}

static void
write_all(int fd, const unsigned char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            abort();
        p += w;
        n -= (size_t)w;
    }
}

static void
read_all(int fd, unsigned char *p, size_t n)
{
    while (n > 0) {
        ssize_t r = read(fd, p, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            abort();
        p += r;
        n -= (size_t)r;
    }
}

static uint64_t
reqresp_floor(uint64_t ops, unsigned k)
{
    int fds[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0)
        abort();
    static unsigned char cbuf[64 * FRAME], sbuf[64 * FRAME];
    uint64_t pending[64];
    uint64_t sum = 0, next = 0;
    while (next < ops) {
        unsigned n = (unsigned)(ops - next < k ? ops - next : k);
        /* Client: n requests in one write; slot = id % k. */
        for (unsigned i = 0; i < n; i++) {
            uint64_t seq = next + i;
            pending[seq % k] = seq;
            put_frame(cbuf + i * FRAME, 1, seq, seq);
        }
        write_all(fds[0], cbuf, n * FRAME);
        /* Server: read them, answer each in one write. */
        read_all(fds[1], sbuf, n * FRAME);
        for (unsigned i = 0; i < n; i++) {
            unsigned char *p = sbuf + i * FRAME;
            if (p[3] != FRAME - 4 || p[4] != 1 || p[5] != 1)
                abort();
            p[5] = 2;
        }
        write_all(fds[1], sbuf, n * FRAME);
        /* Client: read the responses, match each to its slot. */
        read_all(fds[0], cbuf, n * FRAME);
        for (unsigned i = 0; i < n; i++) {
            unsigned char *p = cbuf + i * FRAME;
            uint64_t id, v;
            memcpy(&id, p + 8, sizeof id);
            memcpy(&v, p + 24, sizeof v);
            if (p[5] != 2 || pending[id % k] != id)
                abort();
            sum += v;
        }
        next += n;
    }
    close(fds[0]);
    close(fds[1]);
    return sum;
}

static uint64_t
reqresp_floor_1(uint64_t ops)
{
    return reqresp_floor(ops, 1);
}

static uint64_t
reqresp_floor_64(uint64_t ops)
{
    return reqresp_floor(ops, 64);
}

int
main(int argc, char **argv)
{
    struct benchkit b;
    benchkit_args(&b, argc, argv);
    if (cfut_executor_new(&ex) != CFUT_OK)
        return 1;
    benchkit_run(&b, "reqresp_socketpair_inflight_1", "cfut", reqresp_cfut_1,
                 1024, 1, expect_sum);
    benchkit_run(&b, "reqresp_socketpair_inflight_1", "floor", reqresp_floor_1,
                 1024, 1, expect_sum);
    benchkit_run(&b, "reqresp_socketpair_inflight_64", "cfut", reqresp_cfut_64,
                 8192, 1, expect_sum);
    benchkit_run(&b, "reqresp_socketpair_inflight_64", "floor",
                 reqresp_floor_64, 8192, 1, expect_sum);
    cfut_executor_free(ex);
    return 0;
}
