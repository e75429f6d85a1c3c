/*
 * test_transport.c: the client transport over an in-memory pair, against a
 * server played by hand (the test reads request frames and writes response
 * frames byte for byte): out-of-order matching, unknown and duplicate ids,
 * protocol errors, disconnects, dropped requests, frames split at every
 * byte, 100,000 pending requests, requests from another thread and
 * allocation failure.
 */
#define _GNU_SOURCE
#include "testkit.h"

#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "echo_handler.h"

static struct cfut_executor *ex;
static struct cfut_stream *cli_end, *srv_end;
static struct cfut_transport *tr;
static struct cfut_frame_decoder srv_dec;

static void
pair_setup_cap(size_t cap)
{
    ck_assert_int_eq(cfut_executor_new(&ex), 0);
    ck_assert_int_eq(cfut_mem_stream_pair_new(cap, &cli_end, &srv_end), 0);
    ck_assert_int_eq(cfut_transport_new(ex, cli_end, NULL, &tr), 0);
    ck_assert_int_eq(cfut_frame_decoder_init(&srv_dec, 0), 0);
}

static void
tr_setup(void)
{
    testkit_setup();
    pair_setup_cap(1 << 16);
}

static void
tr_teardown(void)
{
    if (tr != NULL)
        cfut_transport_free(tr);
    tr = NULL;
    (void)cfut_executor_run_ready(ex);
    if (srv_end != NULL)
        cfut_stream_close(srv_end);
    srv_end = NULL;
    cfut_frame_decoder_deinit(&srv_dec);
    cfut_executor_free(ex);
    ex = NULL;
    testkit_teardown();
}

/* ---- the hand-played server ---- */

struct seen {
    struct cfut_id id;
    unsigned char payload[64];
    size_t len;
};

/* Reads every request frame the client wrote so far into 's'. */
static int
srv_read(struct seen *s, int max)
{
    static unsigned char buf[1 << 16];
    int n = 0;
    struct cfut_context cx;
    cfut_context_init(&cx, cfut_waker_noop());
    for (;;) {
        struct cfut_stream_result res;
        if (cfut_stream_poll_read(srv_end, &cx, buf, sizeof buf, &res) ==
            CFUT_PENDING)
            return n;
        ck_assert_int_eq(res.status, 0);
        const unsigned char *p = buf;
        size_t left = res.n;
        while (left > 0) {
            size_t used = 0;
            struct cfut_frame f;
            int rc = cfut_frame_decoder_next(&srv_dec, p, left, &used, &f);
            ck_assert_int_ge(rc, 0);
            p += used;
            left -= used;
            if (rc == 1) {
                ck_assert_int_eq(f.kind, CFUT_FRAME_REQUEST);
                ck_assert_int_lt(n, max);
                s[n].id = f.id;
                s[n].len = f.payload_len;
                ck_assert_uint_le(f.payload_len, sizeof s[n].payload);
                memcpy(s[n].payload, f.payload, f.payload_len);
                n++;
            }
        }
    }
}

/* Writes 'n' raw bytes to the client, running the executor as needed. */
static void
srv_write(const void *data, size_t n)
{
    struct cfut_context cx;
    cfut_context_init(&cx, cfut_waker_noop());
    const unsigned char *p = data;
    while (n > 0) {
        struct cfut_iovec iov = {p, n};
        struct cfut_stream_result res;
        if (cfut_stream_poll_write(srv_end, &cx, &iov, 1, &res) ==
            CFUT_PENDING) {
            ck_assert_int_eq(cfut_executor_run_ready(ex), 0);
            continue;
        }
        ck_assert_int_eq(res.status, 0);
        p += res.n;
        n -= res.n;
    }
    ck_assert_int_eq(cfut_executor_run_ready(ex), 0);
}

static void
srv_reply(enum cfut_frame_kind kind, const struct cfut_id *id,
          const void *payload, size_t len)
{
    unsigned char buf[256];
    size_t w = 0;
    ck_assert_int_eq(
        cfut_frame_encode(buf, sizeof buf, kind, id, payload, len, 0, &w), 0);
    srv_write(buf, w);
}

static void
run(void)
{
    ck_assert_int_eq(cfut_executor_run_ready(ex), 0);
}

/* Polls request 'r' by hand once. */
static enum cfut_poll
poll_req(struct cfut_request *r, struct cfut_response *out)
{
    return testkit_poll(&r->base, cfut_waker_noop(), out);
}

static struct cfut_transport_stats
stats(void)
{
    struct cfut_transport_stats s;
    cfut_transport_get_stats(tr, &s);
    return s;
}

/* ---- matching ---- */

START_TEST(test_transport_out_of_order_responses_all_match)
{
    enum { N = 16 };
    struct cfut_request r[N];
    char msg[N][8];
    for (int i = 0; i < N; i++) {
        snprintf(msg[i], sizeof msg[i], "req%02d", i);
        ck_assert_int_eq(cfut_request_init(&r[i], tr, msg[i], 5), 0);
    }
    run();
    struct seen s[N];
    ck_assert_int_eq(srv_read(s, N), N);

    /* Answer in reverse order, each with its request's payload. */
    for (int i = N - 1; i >= 0; i--)
        srv_reply(CFUT_FRAME_RESPONSE, &s[i].id, s[i].payload, s[i].len);

    for (int i = 0; i < N; i++) {
        struct cfut_response out;
        ck_assert_int_eq(poll_req(&r[i], &out), CFUT_READY);
        ck_assert_int_eq(out.status, 0);
        ck_assert_uint_eq(out.len, 5);
        ck_assert_mem_eq(cfut_response_data(&out), msg[i], 5);
        cfut_response_deinit(&out);
        cfut_future_drop(&r[i].base);
    }
    ck_assert_uint_eq(stats().n_completed, N);
    ck_assert_uint_eq(stats().n_pending, 0);
}
END_TEST

/*
 * One slot used in turn by local requests and a request from the sync
 * kind (the slot's union holds the oneshot's core, or the thread-safe
 * sender): local, local (the core is kept, only its flags start over),
 * sync, local again (the core is built anew). Each use gets its answer;
 * the slab's free list gives the same slot back each time.
 */
static void
local_round(const char *msg)
{
    struct cfut_request r;
    struct cfut_response out;
    ck_assert_int_eq(cfut_request_init(&r, tr, msg, strlen(msg)), 0);
    ck_assert_int_eq(poll_req(&r, &out), CFUT_PENDING);
    run();
    struct seen s[1];
    ck_assert_int_eq(srv_read(s, 1), 1);
    ck_assert_uint_eq(s[0].id.bytes[11], 0); /* slot 0, low index byte */
    srv_reply(CFUT_FRAME_RESPONSE, &s[0].id, s[0].payload, s[0].len);
    ck_assert_int_eq(poll_req(&r, &out), CFUT_READY);
    ck_assert_int_eq(out.status, 0);
    ck_assert_uint_eq(out.len, strlen(msg));
    ck_assert_mem_eq(cfut_response_data(&out), msg, out.len);
    cfut_response_deinit(&out);
    cfut_future_drop(&r.base);
}

START_TEST(test_transport_a_slot_reused_by_local_and_sync_requests)
{
    local_round("one");
    local_round("two");

    struct cfut_request_sync rs;
    ck_assert_int_eq(cfut_request_sync_init(&rs, tr, "sync", 4), 0);
    run();
    struct seen s[1];
    ck_assert_int_eq(srv_read(s, 1), 1);
    srv_reply(CFUT_FRAME_RESPONSE, &s[0].id, s[0].payload, s[0].len);
    struct cfut_response out;
    ck_assert_int_eq(testkit_poll(&rs.base, cfut_waker_noop(), &out),
                     CFUT_READY);
    ck_assert_int_eq(out.status, 0);
    ck_assert_mem_eq(cfut_response_data(&out), "sync", 4);
    cfut_response_deinit(&out);
    cfut_future_drop(&rs.base);

    local_round("three");
    ck_assert_uint_eq(stats().n_completed, 4);
    ck_assert_uint_eq(stats().n_pending, 0);
}
END_TEST

START_TEST(test_transport_requests_are_written_in_one_batch)
{
    enum { N = 32 };
    struct cfut_request r[N];
    for (int i = 0; i < N; i++)
        ck_assert_int_eq(cfut_request_init(&r[i], tr, "x", 1), 0);

    run();

    ck_assert_uint_eq(stats().n_writes, 1);
    ck_assert_uint_eq(stats().n_sent, N);
    for (int i = 0; i < N; i++)
        cfut_future_drop(&r[i].base);
}
END_TEST

START_TEST(test_transport_large_and_error_responses_are_delivered)
{
    struct cfut_request a, b;
    ck_assert_int_eq(cfut_request_init(&a, tr, "a", 1), 0);
    ck_assert_int_eq(cfut_request_init(&b, tr, "b", 1), 0);
    run();
    struct seen s[2];
    ck_assert_int_eq(srv_read(s, 2), 2);
    unsigned char big[200];
    memset(big, 0xab, sizeof big);
    /* -4003 (CFUT_ENOTFOUND) in 4 big-endian bytes, then a message. */
    unsigned char err[4 + 7] = {0xff, 0xff, 0xf0, 0x5d, 'n', 'o',
                                ' ',  'n',  'a',  'm',  'e'};

    srv_reply(CFUT_FRAME_RESPONSE, &s[0].id, big, sizeof big);
    srv_reply(CFUT_FRAME_ERROR, &s[1].id, err, sizeof err);

    struct cfut_response out;
    ck_assert_int_eq(poll_req(&a, &out), CFUT_READY);
    ck_assert_int_eq(out.status, 0);
    ck_assert_uint_eq(out.len, 200);
    ck_assert_mem_eq(cfut_response_data(&out), big, 200);
    cfut_response_deinit(&out);
    ck_assert_int_eq(poll_req(&b, &out), CFUT_READY);
    ck_assert_int_eq(out.status, CFUT_ENOTFOUND);
    ck_assert(out.remote_error);
    ck_assert_mem_eq(cfut_response_data(&out), "no name", 7);
    cfut_response_deinit(&out);
    cfut_future_drop(&a.base);
    cfut_future_drop(&b.base);
}
END_TEST

START_TEST(test_transport_unknown_id_is_counted_and_dropped)
{
    struct cfut_request r;
    ck_assert_int_eq(cfut_request_init(&r, tr, "x", 1), 0);
    run();
    struct seen s[1];
    ck_assert_int_eq(srv_read(s, 1), 1);
    struct cfut_id other = s[0].id;
    other.bytes[15] ^= 1;

    srv_reply(CFUT_FRAME_RESPONSE, &other, "zz", 2);

    struct cfut_response out;
    ck_assert_int_eq(poll_req(&r, &out), CFUT_PENDING);
    ck_assert_uint_eq(stats().n_unknown, 1);
    ck_assert_uint_eq(stats().n_pending, 1);
    ck_assert_int_eq(cfut_transport_status(tr), 0);
    srv_reply(CFUT_FRAME_RESPONSE, &s[0].id, "ok", 2);
    ck_assert_int_eq(poll_req(&r, &out), CFUT_READY);
    ck_assert_mem_eq(cfut_response_data(&out), "ok", 2);
    cfut_future_drop(&r.base);
}
END_TEST

START_TEST(test_transport_duplicate_response_is_counted_and_dropped)
{
    struct cfut_request r;
    ck_assert_int_eq(cfut_request_init(&r, tr, "x", 1), 0);
    run();
    struct seen s[1];
    ck_assert_int_eq(srv_read(s, 1), 1);

    srv_reply(CFUT_FRAME_RESPONSE, &s[0].id, "one", 3);
    srv_reply(CFUT_FRAME_RESPONSE, &s[0].id, "two", 3);

    struct cfut_response out;
    ck_assert_int_eq(poll_req(&r, &out), CFUT_READY);
    ck_assert_mem_eq(cfut_response_data(&out), "one", 3);
    ck_assert_uint_eq(stats().n_duplicate, 1);
    ck_assert_uint_eq(stats().n_completed, 1);
    ck_assert_int_eq(cfut_transport_status(tr), 0);
    cfut_future_drop(&r.base);
}
END_TEST

/* ---- failures ---- */

static void
check_all_fail(struct cfut_request *r, int n, int status)
{
    for (int i = 0; i < n; i++) {
        struct cfut_response out;
        ck_assert_int_eq(poll_req(&r[i], &out), CFUT_READY);
        ck_assert_int_eq(out.status, status);
        cfut_future_drop(&r[i].base);
    }
    ck_assert_uint_eq(stats().n_pending, 0);
    ck_assert_int_eq(cfut_transport_status(tr), status);
}

START_TEST(test_transport_peer_disconnect_fails_every_pending_request)
{
    enum { N = 100 };
    static struct cfut_request r[N];
    for (int i = 0; i < N; i++)
        ck_assert_int_eq(cfut_request_init(&r[i], tr, "x", 1), 0);
    run();

    cfut_stream_close(srv_end);
    srv_end = NULL;
    run();

    ck_assert_uint_eq(stats().n_pending, 0);
    check_all_fail(r, N, CFUT_ECONNRESET);
    struct cfut_request late;
    ck_assert_int_eq(cfut_request_init(&late, tr, "x", 1), CFUT_ECONNRESET);
}
END_TEST

static void
malformed_fails_pending(const unsigned char *bad, size_t n)
{
    enum { N = 10 };
    struct cfut_request r[N];
    for (int i = 0; i < N; i++)
        ck_assert_int_eq(cfut_request_init(&r[i], tr, "x", 1), 0);
    run();

    srv_write(bad, n);

    check_all_fail(r, N, CFUT_EPROTO);
}

START_TEST(test_transport_short_length_fails_pending_with_eproto)
{
    unsigned char bad[8] = {0, 0, 0, 19, 1, 2, 0, 0};
    malformed_fails_pending(bad, sizeof bad);
}
END_TEST

START_TEST(test_transport_oversized_frame_fails_pending_with_eproto)
{
    unsigned char bad[8] = {0x7f, 0xff, 0xff, 0xff, 1, 2, 0, 0};
    long allocs = testkit_alloc_count();
    malformed_fails_pending(bad, sizeof bad);
    /* Ten requests' worth of allocations at most, none for the frame. */
    ck_assert_int_lt(testkit_alloc_count() - allocs, 40);
}
END_TEST

START_TEST(test_transport_unknown_version_fails_pending_with_eproto)
{
    unsigned char bad[8] = {0, 0, 0, 20, 2, 2, 0, 0};
    malformed_fails_pending(bad, sizeof bad);
}
END_TEST

START_TEST(test_transport_unknown_kind_fails_pending_with_eproto)
{
    unsigned char bad[8] = {0, 0, 0, 20, 1, 7, 0, 0};
    malformed_fails_pending(bad, sizeof bad);
}
END_TEST

START_TEST(test_transport_request_frame_from_server_is_eproto)
{
    unsigned char bad[24] = {0, 0, 0, 20, 1, 1, 0, 0};
    malformed_fails_pending(bad, sizeof bad);
}
END_TEST

START_TEST(test_transport_dropped_request_removes_its_entry)
{
    struct cfut_request a, b;
    ck_assert_int_eq(cfut_request_init(&a, tr, "a", 1), 0);
    ck_assert_int_eq(cfut_request_init(&b, tr, "b", 1), 0);
    run();
    struct seen s[2];
    ck_assert_int_eq(srv_read(s, 2), 2);

    cfut_future_drop(&a.base);
    ck_assert_uint_eq(stats().n_pending, 1);
    srv_reply(CFUT_FRAME_RESPONSE, &s[0].id, "late", 4);

    ck_assert_uint_eq(stats().n_late, 1);
    ck_assert_uint_eq(stats().n_completed, 0);
    srv_reply(CFUT_FRAME_RESPONSE, &s[1].id, "b", 1);
    struct cfut_response out;
    ck_assert_int_eq(poll_req(&b, &out), CFUT_READY);
    ck_assert_mem_eq(cfut_response_data(&out), "b", 1);
    cfut_future_drop(&b.base);
}
END_TEST

START_TEST(test_transport_free_fails_pending_with_ecanceled)
{
    struct cfut_request r;
    ck_assert_int_eq(cfut_request_init(&r, tr, "a", 1), 0);
    run();

    cfut_transport_free(tr);
    run();

    struct cfut_response out;
    ck_assert_int_eq(poll_req(&r, &out), CFUT_READY);
    ck_assert_int_eq(out.status, CFUT_ECANCELED);
    cfut_future_drop(&r.base);
    tr = NULL;
}
END_TEST

/* ---- split frames ---- */

START_TEST(test_transport_frames_split_at_every_byte_are_delivered)
{
    /* Rebuild the fixture with 1-byte rings: every byte moves alone. */
    tr_teardown();
    testkit_setup();
    pair_setup_cap(1);
    enum { N = 4 };
    struct cfut_request r[N];
    for (int i = 0; i < N; i++)
        ck_assert_int_eq(cfut_request_init(&r[i], tr, "abcdef", 6), 0);
    struct seen s[N];
    int got = 0;
    while (got < N) {
        run();
        got += srv_read(s + got, N - got);
    }

    for (int i = N - 1; i >= 0; i--)
        srv_reply(CFUT_FRAME_RESPONSE, &s[i].id, "0123456789", 10);

    for (int i = 0; i < N; i++) {
        struct cfut_response out;
        ck_assert_int_eq(poll_req(&r[i], &out), CFUT_READY);
        ck_assert_int_eq(out.status, 0);
        ck_assert_mem_eq(cfut_response_data(&out), "0123456789", 10);
        cfut_future_drop(&r[i].base);
    }
    ck_assert_uint_ge(stats().n_reads, N * 34);
}
END_TEST

/* ---- scale ---- */

/*
 * A byte-counting allocator for the memory budget (the fixture of this
 * TCase installs it instead of testkit's; it counts usable sizes, so it
 * needs no header in the block).
 */
static atomic_long bytes_live;

static void *
bytes_alloc(void *ctx, size_t size)
{
    (void)ctx;
    void *p = malloc(size);
    if (p != NULL)
        atomic_fetch_add(&bytes_live, (long)malloc_usable_size(p));
    return p;
}

static void
bytes_free(void *ctx, void *p)
{
    (void)ctx;
    if (p != NULL)
        atomic_fetch_sub(&bytes_live, (long)malloc_usable_size(p));
    free(p);
}

static const struct cfut_allocator bytes_allocator = {bytes_alloc, bytes_free,
                                                      NULL};

static void
bytes_setup(void)
{
    atomic_store(&bytes_live, 0);
    cfut_set_allocator(&bytes_allocator);
    pair_setup_cap(1 << 16);
}

static void
bytes_teardown(void)
{
    if (tr != NULL)
        cfut_transport_free(tr);
    tr = NULL;
    (void)cfut_executor_run_ready(ex);
    if (srv_end != NULL)
        cfut_stream_close(srv_end);
    srv_end = NULL;
    cfut_frame_decoder_deinit(&srv_dec);
    cfut_executor_free(ex);
    ex = NULL;
    ck_assert_int_eq(atomic_load(&bytes_live), 0);
    cfut_set_allocator(NULL);
}

/* Bytes per pending request allowed (map, oneshot, frame bytes queued). */
#define BUDGET_PER_PENDING 400u

START_TEST(test_transport_100000_pending_requests_stay_under_budget)
{
    enum { N = 100000 };
    struct cfut_request *r = malloc(N * sizeof *r);
    ck_assert_ptr_nonnull(r);
    long before = atomic_load(&bytes_live);

    for (int i = 0; i < N; i++)
        ck_assert_int_eq(cfut_request_init(&r[i], tr, "0123456789abcdef", 16),
                         0);
    run();
    long used = atomic_load(&bytes_live) - before;

    ck_assert_uint_eq(stats().n_pending, N);
    printf("100000 pending: %ld bytes = %ld per request (+ %zu of future)\n",
           used, used / N, sizeof(struct cfut_request));
    ck_assert_int_le(used / N, BUDGET_PER_PENDING);
    cfut_stream_close(srv_end);
    srv_end = NULL;
    run();
    for (int i = 0; i < N; i++)
        cfut_future_drop(&r[i].base);
    ck_assert_uint_eq(stats().n_pending, 0);
    free(r);
}
END_TEST

/* ---- threads ---- */

struct thread_arg {
    struct cfut_transport *t;
    int n;
    int ok;
};

/* Requester threads that finished, and the main task to wake then. */
static pthread_mutex_t done_lock = PTHREAD_MUTEX_INITIALIZER;
static int n_threads_done;
static struct cfut_waker done_waker;

static void *
requester(void *p)
{
    struct thread_arg *a = p;
    struct cfut_executor *own;
    ck_assert_int_eq(cfut_executor_new(&own), 0);
    for (int i = 0; i < a->n; i++) {
        struct cfut_request_sync r;
        char msg[16];
        int len = snprintf(msg, sizeof msg, "t%d", i);
        ck_assert_int_eq(cfut_request_sync_init(&r, a->t, msg, (size_t)len), 0);
        struct cfut_response out;
        ck_assert_int_eq(cfut_block_on(own, &r.base, &out), 0);
        if (out.status == 0 && out.len == (size_t)len &&
            memcmp(cfut_response_data(&out), msg, (size_t)len) == 0)
            a->ok++;
        cfut_response_deinit(&out);
    }
    cfut_executor_free(own);
    pthread_mutex_lock(&done_lock);
    n_threads_done++;
    cfut_waker_wake_by_ref(&done_waker);
    pthread_mutex_unlock(&done_lock);
    return NULL;
}

/* An echo server task over the server end (for the thread test). */
struct echo_task {
    struct cfut_future base;
    struct cfut_stream *s;
    struct cfut_frame_decoder dec;
    unsigned char in[4096];
    unsigned char outb[8192];
    size_t out_len;
    int served, want; /* 'want': requester threads to wait for */
};

static enum cfut_poll
echo_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    (void)out;
    struct echo_task *e = cfut_container_of(f, struct echo_task, base);
    for (;;) {
        while (e->out_len > 0) {
            struct cfut_iovec iov = {e->outb, e->out_len};
            struct cfut_stream_result res;
            if (cfut_stream_poll_write(e->s, cx, &iov, 1, &res) == CFUT_PENDING)
                return CFUT_PENDING;
            memmove(e->outb, e->outb + res.n, e->out_len - res.n);
            e->out_len -= res.n;
        }
        pthread_mutex_lock(&done_lock);
        cfut_waker_register(&done_waker, cx->waker);
        bool all_done = n_threads_done == e->want;
        pthread_mutex_unlock(&done_lock);
        if (all_done)
            return CFUT_READY;
        struct cfut_stream_result res;
        if (cfut_stream_poll_read(e->s, cx, e->in, sizeof e->in, &res) ==
            CFUT_PENDING)
            return CFUT_PENDING;
        if (res.status != 0)
            return CFUT_READY;
        const unsigned char *p = e->in;
        size_t left = res.n;
        while (left > 0) {
            size_t used = 0, w = 0;
            struct cfut_frame fr;
            int rc = cfut_frame_decoder_next(&e->dec, p, left, &used, &fr);
            if (rc < 0)
                return CFUT_READY;
            p += used;
            left -= used;
            if (rc == 1) {
                (void)cfut_frame_encode(e->outb + e->out_len,
                                        sizeof e->outb - e->out_len,
                                        CFUT_FRAME_RESPONSE, &fr.id, fr.payload,
                                        fr.payload_len, 0, &w);
                e->out_len += w;
                e->served++;
            }
        }
    }
}

static void
echo_drop(struct cfut_future *f)
{
    struct echo_task *e = cfut_container_of(f, struct echo_task, base);
    cfut_frame_decoder_deinit(&e->dec);
    pthread_mutex_lock(&done_lock);
    cfut_waker_drop(&done_waker);
    pthread_mutex_unlock(&done_lock);
}

static const struct cfut_future_vtable echo_vtable = {
    echo_poll, echo_drop, 0, "echo_task", NULL,
};

START_TEST(test_transport_requests_from_other_threads_are_answered)
{
    enum { THREADS = 3, PER = 200 };
    static struct echo_task e;
    memset(&e, 0, sizeof e);
    cfut_future_init(&e.base, &echo_vtable);
    e.s = srv_end;
    e.want = THREADS;
    n_threads_done = 0;
    ck_assert_int_eq(cfut_frame_decoder_init(&e.dec, 0), 0);
    pthread_t th[THREADS];
    struct thread_arg a[THREADS];
    for (int i = 0; i < THREADS; i++) {
        a[i] = (struct thread_arg){tr, PER, 0};
        ck_assert_int_eq(pthread_create(&th[i], NULL, requester, &a[i]), 0);
    }

    ck_assert_int_eq(cfut_block_on(ex, &e.base, NULL), 0);

    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        ck_assert_int_eq(a[i].ok, PER);
    }
    ck_assert_int_eq(e.served, THREADS * PER);
    ck_assert_uint_eq(stats().n_completed, THREADS * PER);
}
END_TEST

/* ---- allocation failure ---- */

START_TEST(test_transport_new_reports_enomem_at_every_allocation)
{
    for (long k = 1;; k++) {
        struct cfut_stream *a, *b;
        ck_assert_int_eq(cfut_mem_stream_pair_new(64, &a, &b), 0);
        struct cfut_transport *t = NULL;

        testkit_alloc_fail_at(k);
        int rc = cfut_transport_new(ex, a, NULL, &t);
        testkit_alloc_fail_at(0);

        if (rc == 0) {
            cfut_transport_free(t);
            run();
            cfut_stream_close(b);
            break;
        }
        ck_assert_int_eq(rc, CFUT_ENOMEM);
        cfut_stream_close(a);
        cfut_stream_close(b);
    }
}
END_TEST

START_TEST(test_transport_request_reports_enomem_at_every_allocation)
{
    for (long k = 1;; k++) {
        struct cfut_request r;

        testkit_alloc_fail_at(k);
        int rc = cfut_request_init(&r, tr, "0123456789", 10);
        testkit_alloc_fail_at(0);

        if (rc == 0) {
            cfut_future_drop(&r.base);
            break;
        }
        /* Nothing half-done stays behind (teardown checks for leaks). */
        ck_assert_int_eq(rc, CFUT_ENOMEM);
        ck_assert_uint_eq(stats().n_pending, 0);
        ck_assert_uint_eq(stats().n_sent, 0);
    }
}
END_TEST

START_TEST(test_transport_large_response_enomem_fails_only_that_request)
{
    struct cfut_request r;
    ck_assert_int_eq(cfut_request_init(&r, tr, "a", 1), 0);
    run();
    struct seen s[1];
    ck_assert_int_eq(srv_read(s, 1), 1);
    unsigned char big[100] = {0};

    testkit_alloc_fail_at(1);
    srv_reply(CFUT_FRAME_RESPONSE, &s[0].id, big, sizeof big);
    testkit_alloc_fail_at(0);

    struct cfut_response out;
    ck_assert_int_eq(poll_req(&r, &out), CFUT_READY);
    ck_assert_int_eq(out.status, CFUT_ENOMEM);
    ck_assert_int_eq(cfut_transport_status(tr), 0);
    cfut_future_drop(&r.base);
}
END_TEST

/* ---- timeouts ---- */

START_TEST(test_transport_timed_out_request_is_never_completed_later)
{
    cfut_time_pause(ex);
    struct cfut_request old;
    ck_assert_int_eq(
        cfut_request_init_timeout(&old, tr, "old", 3, CFUT_MSEC(5)), 0);
    struct cfut_response out;

    ck_assert_int_eq(cfut_block_on(ex, &old.base, &out), 0);

    ck_assert_int_eq(out.status, CFUT_ETIMEDOUT);
    ck_assert_uint_eq(stats().n_pending, 0);
    struct cfut_request fresh;
    ck_assert_int_eq(cfut_request_init(&fresh, tr, "new", 3), 0);
    run();
    struct seen s[2];
    ck_assert_int_eq(srv_read(s, 2), 2);
    ck_assert(!cfut_id_eq(&s[0].id, &s[1].id));
    /* The old id's answer arrives late; it must not complete 'fresh'. */
    srv_reply(CFUT_FRAME_RESPONSE, &s[0].id, "OLD", 3);
    ck_assert_int_eq(poll_req(&fresh, &out), CFUT_PENDING);
    ck_assert_uint_eq(stats().n_late, 1);
    srv_reply(CFUT_FRAME_RESPONSE, &s[1].id, "NEW", 3);
    ck_assert_int_eq(poll_req(&fresh, &out), CFUT_READY);
    ck_assert_mem_eq(cfut_response_data(&out), "NEW", 3);
    cfut_future_drop(&fresh.base);
}
END_TEST

/*
 * The slab of request slots: a request that timed out frees its slot, the
 * next request takes the same slot with the next generation (the same
 * index in its id, docs/wire-format.md), and the late answer to the old id
 * is counted and dropped instead of completing the new request.
 */
START_TEST(
    test_transport_late_response_for_a_reused_slot_is_dropped_and_counted)
{
    cfut_time_pause(ex);
    struct cfut_request old;
    ck_assert_int_eq(
        cfut_request_init_timeout(&old, tr, "old", 3, CFUT_MSEC(5)), 0);
    struct cfut_response out;
    ck_assert_int_eq(cfut_block_on(ex, &old.base, &out), 0);
    ck_assert_int_eq(out.status, CFUT_ETIMEDOUT);

    struct cfut_request fresh;
    ck_assert_int_eq(cfut_request_init(&fresh, tr, "new", 3), 0);
    run();
    struct seen s[3];
    ck_assert_int_eq(srv_read(s, 2), 2);
    /* The same slot (index, bytes 8..11), the next generation (12..15). */
    ck_assert_mem_eq(s[0].id.bytes + 8, s[1].id.bytes + 8, 4);
    ck_assert_mem_ne(s[0].id.bytes + 12, s[1].id.bytes + 12, 4);
    /* Both are UUID v4 in layout. */
    for (int i = 0; i < 2; i++) {
        ck_assert_uint_eq(s[i].id.bytes[6] >> 4, 4);
        ck_assert_uint_eq(s[i].id.bytes[8] >> 6, 2);
    }

    srv_reply(CFUT_FRAME_RESPONSE, &s[0].id, "OLD", 3);
    srv_reply(CFUT_FRAME_RESPONSE, &s[0].id, "OLD", 3);
    ck_assert_int_eq(poll_req(&fresh, &out), CFUT_PENDING);
    ck_assert_uint_eq(stats().n_late, 2);
    ck_assert_uint_eq(stats().n_completed, 0);
    ck_assert_uint_eq(stats().n_pending, 1);
    srv_reply(CFUT_FRAME_RESPONSE, &s[1].id, "NEW", 3);
    ck_assert_int_eq(poll_req(&fresh, &out), CFUT_READY);
    ck_assert_mem_eq(cfut_response_data(&out), "NEW", 3);
    cfut_future_drop(&fresh.base);

    /* A third use of the slot: the second's answer again is a duplicate,
     * the first's still late; neither completes the third. */
    struct cfut_request third;
    ck_assert_int_eq(cfut_request_init(&third, tr, "3rd", 3), 0);
    run();
    ck_assert_int_eq(srv_read(s + 2, 1), 1);
    ck_assert_mem_eq(s[2].id.bytes + 8, s[1].id.bytes + 8, 4);
    srv_reply(CFUT_FRAME_RESPONSE, &s[1].id, "NEW", 3);
    srv_reply(CFUT_FRAME_RESPONSE, &s[0].id, "OLD", 3);
    ck_assert_int_eq(poll_req(&third, &out), CFUT_PENDING);
    ck_assert_uint_eq(stats().n_duplicate, 1);
    ck_assert_uint_eq(stats().n_late, 3);
    ck_assert_uint_eq(stats().n_unknown, 0);
    srv_reply(CFUT_FRAME_RESPONSE, &s[2].id, "333", 3);
    ck_assert_int_eq(poll_req(&third, &out), CFUT_READY);
    ck_assert_mem_eq(cfut_response_data(&out), "333", 3);
    ck_assert_uint_eq(stats().n_completed, 2);
    cfut_future_drop(&third.base);
}
END_TEST

START_TEST(test_transport_request_answered_in_time_does_not_time_out)
{
    cfut_time_pause(ex);
    struct cfut_request r;
    ck_assert_int_eq(cfut_request_init_timeout(&r, tr, "x", 1, CFUT_SEC(1)), 0);
    run();
    struct seen s[1];
    ck_assert_int_eq(srv_read(s, 1), 1);
    srv_reply(CFUT_FRAME_RESPONSE, &s[0].id, "y", 1);
    struct cfut_response out;

    ck_assert_int_eq(cfut_block_on(ex, &r.base, &out), 0);

    ck_assert_int_eq(out.status, 0);
    ck_assert_mem_eq(cfut_response_data(&out), "y", 1);
    ck_assert_uint_eq(cfut_reactor_n_timers(ex), 0);
}
END_TEST

/* ---- the server ---- */

/* Replaces the hand-played server by a cfut_server on the other end. */
static struct cfut_server *
start_server(cfut_handler_new_fn *fn, void *ctx, size_t max_in_flight)
{
    struct cfut_server *srv;
    struct cfut_server_config cfg = {0, max_in_flight, 0};
    ck_assert_int_eq(cfut_server_new(ex, fn, ctx, &cfg, &srv), 0);
    ck_assert_int_eq(cfut_server_add_stream(srv, srv_end), 0);
    srv_end = NULL;
    return srv;
}

START_TEST(test_transport_server_echoes_shuffled_replies_to_their_requests)
{
    struct echo_config cfg = {true, 42};
    struct cfut_server *srv = start_server(echo_handler, &cfg, 0);
    enum { N = 200 };
    static struct cfut_request r[N];
    static struct cfut_response out[N];
    static char msg[N][16];
    for (int i = 0; i < N; i++) {
        snprintf(msg[i], sizeof msg[i], "m%d", i);
        ck_assert_int_eq(cfut_request_init(&r[i], tr, msg[i], strlen(msg[i])),
                         0);
    }

    testkit_await_requests(ex, r, out, N);

    for (int i = 0; i < N; i++) {
        ck_assert_int_eq(out[i].status, 0);
        ck_assert_uint_eq(out[i].len, strlen(msg[i]));
        ck_assert_mem_eq(cfut_response_data(&out[i]), msg[i], out[i].len);
    }
    struct cfut_server_stats st;
    cfut_server_get_stats(srv, &st);
    ck_assert_uint_eq(st.n_requests, N);
    ck_assert_uint_eq(st.n_replies, N);
    cfut_server_free(srv);
}
END_TEST

/* ---- ready replies (cfut_server_new_reply) ---- */

static struct cfut_server *
start_reply_server(cfut_reply_fn *fn, void *ctx)
{
    struct cfut_server *srv;
    ck_assert_int_eq(cfut_server_new_reply(ex, fn, ctx, NULL, &srv), 0);
    ck_assert_int_eq(cfut_server_add_stream(srv, srv_end), 0);
    srv_end = NULL;
    return srv;
}

static void
await_n(struct cfut_request *r, struct cfut_response *out, int n,
        char (*msg)[16])
{
    for (int i = 0; i < n; i++)
        ck_assert_int_eq(cfut_request_init(&r[i], tr, msg[i], strlen(msg[i])),
                         0);
    testkit_await_requests(ex, r, out, n);
    for (int i = 0; i < n; i++) {
        ck_assert_int_eq(out[i].status, 0);
        ck_assert_uint_eq(out[i].len, strlen(msg[i]));
        ck_assert_mem_eq(cfut_response_data(&out[i]), msg[i], out[i].len);
    }
}

/*
 * The ready path: a handler that answers at once builds no future, and a
 * round of requests then allocates nothing at all, on either side (the
 * client's slab and buffers, the server's buffers, are warm after the
 * first round).
 */
START_TEST(test_transport_ready_replies_allocate_nothing_per_request)
{
    struct cfut_server *srv = start_reply_server(echo_reply, NULL);
    enum { N = 64 };
    static struct cfut_request r[N];
    static struct cfut_response out[N];
    static char msg[N][16];
    for (int i = 0; i < N; i++)
        snprintf(msg[i], sizeof msg[i], "m%d", i);
    await_n(r, out, N, msg); /* warm-up */
    long before = testkit_alloc_count();

    await_n(r, out, N, msg);

    ck_assert_int_eq(testkit_alloc_count() - before, 0);
    struct cfut_server_stats st;
    cfut_server_get_stats(srv, &st);
    ck_assert_uint_eq(st.n_replies, 2 * N);
    cfut_server_free(srv);
}
END_TEST

/* A reply handler that answers at once, fails, or returns a future, by the
 * payload's first byte. */
static int
mixed_reply(void *ctx, const unsigned char *payload, size_t len,
            struct cfut_reply *reply, struct cfut_future **out)
{
    (void)ctx;
    switch (len > 0 ? payload[0] : 0) {
    case 'e': /* an error reply, at once */
        reply->status = -EADDRINUSE;
        reply->data = NULL;
        reply->len = 0;
        return CFUT_REPLY_NOW;
    case 'f': /* a failure: the server sends the status */
        return CFUT_EFULL;
    case 'w': /* a future that waits a few polls */
        return echo_handler(&(struct echo_config){true, 5}, payload, len, out);
    case 'b': /* a bogus positive answer: a handler bug */
        return 7;
    case 'L': { /* a large reply, in its own block */
        reply->status = 0;
        reply->len = 100;
        reply->data = cfut_alloc(100);
        if (reply->data == NULL)
            return CFUT_ENOMEM;
        memset(reply->data, 'L', 100);
        return CFUT_REPLY_NOW;
    }
    default:
        return echo_reply(NULL, payload, len, reply, out);
    }
}

START_TEST(test_transport_reply_handler_answers_now_or_with_a_future)
{
    struct cfut_server *srv = start_reply_server(mixed_reply, NULL);
    const char *msg[] = {"hello", "err", "full", "wait", "bogus", "Large"};
    enum { N = 6 };
    struct cfut_request r[N];
    struct cfut_response out[N];
    for (int i = 0; i < N; i++)
        ck_assert_int_eq(cfut_request_init(&r[i], tr, msg[i], strlen(msg[i])),
                         0);

    testkit_await_requests(ex, r, out, N);

    ck_assert_int_eq(out[0].status, 0);
    ck_assert_mem_eq(cfut_response_data(&out[0]), "hello", 5);
    ck_assert_int_eq(out[1].status, -EADDRINUSE);
    ck_assert(out[1].remote_error);
    ck_assert_int_eq(out[2].status, CFUT_EFULL);
    ck_assert(out[2].remote_error);
    ck_assert_int_eq(out[3].status, 0);
    ck_assert_mem_eq(cfut_response_data(&out[3]), "wait", 4);
    ck_assert_int_eq(out[4].status, CFUT_EINVAL);
    ck_assert_int_eq(out[5].status, 0);
    ck_assert_uint_eq(out[5].len, 100);
    ck_assert_int_eq(cfut_response_data(&out[5])[99], 'L');
    for (int i = 0; i < N; i++)
        cfut_response_deinit(&out[i]);
    struct cfut_server *none;
    ck_assert_int_eq(cfut_server_new_reply(ex, NULL, NULL, NULL, &none),
                     CFUT_EINVAL);
    cfut_server_free(srv);
}
END_TEST

/* An operation "add": two little-endian u32 arguments, their sum back. */
static int
add_new(void *ctx, const unsigned char *args, size_t len,
        struct cfut_future **out)
{
    (void)ctx;
    if (len != 8)
        return CFUT_EINVAL;
    uint32_t a, b;
    memcpy(&a, args, 4);
    memcpy(&b, args + 4, 4);
    uint32_t sum = a + b;
    return cfut_reply_ready_new(0, &sum, sizeof sum, out);
}

START_TEST(test_transport_dispatch_table_runs_named_operations)
{
    struct cfut_dispatch *d;
    ck_assert_int_eq(cfut_dispatch_new(&d), 0);
    ck_assert_int_eq(cfut_dispatch_add(d, "add", add_new, NULL), 0);
    ck_assert_int_eq(cfut_dispatch_add(d, "echo", echo_handler, NULL), 0);
    struct cfut_server *srv = start_server(cfut_dispatch_handler, d, 0);
    unsigned char add_req[12] = "add";
    uint32_t x = 40, y = 2;
    memcpy(add_req + 4, &x, 4);
    memcpy(add_req + 8, &y, 4);
    struct cfut_request r[4];
    struct cfut_response out[4];
    ck_assert_int_eq(cfut_request_init(&r[0], tr, add_req, 12), 0);
    ck_assert_int_eq(cfut_request_init(&r[1], tr, "echo\0hi", 7), 0);
    ck_assert_int_eq(cfut_request_init(&r[2], tr, "nope\0", 5), 0);
    ck_assert_int_eq(cfut_request_init(&r[3], tr, "no-nul", 6), 0);

    testkit_await_requests(ex, r, out, 4);

    uint32_t sum;
    ck_assert_int_eq(out[0].status, 0);
    memcpy(&sum, cfut_response_data(&out[0]), 4);
    ck_assert_uint_eq(sum, 42);
    ck_assert_int_eq(out[1].status, 0);
    ck_assert_mem_eq(cfut_response_data(&out[1]), "hi", 2);
    ck_assert_int_eq(out[2].status, CFUT_ENOTFOUND);
    ck_assert(out[2].remote_error);
    ck_assert_int_eq(out[3].status, CFUT_EINVAL);
    ck_assert(out[3].remote_error);
    cfut_server_free(srv);
    cfut_dispatch_free(d);
}
END_TEST

/* An operation that fails with the status in its 4 argument bytes. */
static int
fail_new(void *ctx, const unsigned char *args, size_t len,
         struct cfut_future **out)
{
    (void)ctx;
    int32_t status;
    if (len != sizeof status)
        return CFUT_EINVAL;
    memcpy(&status, args, sizeof status);
    return cfut_reply_ready_new(status, NULL, 0, out);
}

START_TEST(test_transport_error_statuses_travel_with_their_errno)
{
    struct cfut_dispatch *d;
    ck_assert_int_eq(cfut_dispatch_new(&d), 0);
    ck_assert_int_eq(cfut_dispatch_add(d, "fail", fail_new, NULL), 0);
    struct cfut_server *srv = start_server(cfut_dispatch_handler, d, 0);
    const int32_t sent[3] = {-EADDRINUSE, CFUT_ETIMEDOUT, CFUT_EFULL};
    struct cfut_request r[3];
    struct cfut_response out[3];
    for (int i = 0; i < 3; i++) {
        unsigned char req[5 + 4] = "fail";
        memcpy(req + 5, &sent[i], 4);
        ck_assert_int_eq(cfut_request_init(&r[i], tr, req, sizeof req), 0);
    }

    testkit_await_requests(ex, r, out, 3);

    for (int i = 0; i < 3; i++) {
        ck_assert(out[i].remote_error);
        ck_assert_int_eq(out[i].status, sent[i]);
        /* With no bytes of its own, the reply's message is the text. */
        const char *text = cfut_strerror(sent[i]);
        ck_assert_uint_eq(out[i].len, strlen(text));
        ck_assert_mem_eq(cfut_response_data(&out[i]), text, out[i].len);
        cfut_response_deinit(&out[i]);
    }
    cfut_server_free(srv);
    cfut_dispatch_free(d);
}
END_TEST

START_TEST(test_transport_protocol_error_closes_only_that_connection)
{
    struct cfut_server *srv = start_server(echo_handler, NULL, 0);
    struct cfut_stream *bad_cli, *bad_srv;
    ck_assert_int_eq(cfut_mem_stream_pair_new(4096, &bad_cli, &bad_srv), 0);
    ck_assert_int_eq(cfut_server_add_stream(srv, bad_srv), 0);
    srv_end = bad_cli; /* the hand-played peer now talks to the server */
    unsigned char garbage[8] = {0, 0, 0, 20, 9, 1, 0, 0};

    srv_write(garbage, sizeof garbage);

    struct cfut_context cx;
    cfut_context_init(&cx, cfut_waker_noop());
    unsigned char buf[16];
    struct cfut_stream_result res;
    ck_assert_int_eq(cfut_stream_poll_read(bad_cli, &cx, buf, sizeof buf, &res),
                     CFUT_READY);
    ck_assert_int_eq(res.status, CFUT_EEOF);
    struct cfut_server_stats st;
    cfut_server_get_stats(srv, &st);
    ck_assert_uint_eq(st.n_protocol_errors, 1);
    ck_assert_uint_eq(st.n_open, 1);
    /* The other connection is still served. */
    struct cfut_request r[1];
    struct cfut_response out[1];
    ck_assert_int_eq(cfut_request_init(&r[0], tr, "still", 5), 0);
    testkit_await_requests(ex, r, out, 1);
    ck_assert_int_eq(out[0].status, 0);
    ck_assert_mem_eq(cfut_response_data(&out[0]), "still", 5);
    cfut_server_free(srv);
}
END_TEST

/* A handler whose futures wait for a gate to open. */
static int gate_started;
static bool gate_open;
static struct cfut_waker gate_wakers[8];

struct gated {
    struct cfut_future base;
    int slot;
};

static enum cfut_poll
gated_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct gated *g = cfut_container_of(f, struct gated, base);
    if (!gate_open) {
        cfut_waker_register(&gate_wakers[g->slot], cx->waker);
        return CFUT_PENDING;
    }
    struct cfut_reply *rep = out;
    rep->status = 0;
    rep->data = NULL;
    rep->len = 0;
    return CFUT_READY;
}

static const struct cfut_future_vtable gated_vtable = {
    gated_poll, NULL, sizeof(struct cfut_reply), "gated", NULL,
};

static int
gated_new(void *ctx, const unsigned char *p, size_t len,
          struct cfut_future **out)
{
    (void)ctx;
    (void)p;
    (void)len;
    struct gated g;
    cfut_future_init(&g.base, &gated_vtable);
    g.slot = gate_started++ % 8;
    return cfut_future_box(&g.base, sizeof g, out);
}

START_TEST(test_transport_server_limits_requests_in_flight)
{
    gate_started = 0;
    gate_open = false;
    struct cfut_server *srv = start_server(gated_new, NULL, 2);
    enum { N = 6 };
    struct cfut_request r[N];
    struct cfut_response out[N];
    for (int i = 0; i < N; i++)
        ck_assert_int_eq(cfut_request_init(&r[i], tr, "g", 1), 0);

    run();
    ck_assert_int_eq(gate_started, 2);

    /* Open the gate: the rest are started as the first ones finish. */
    gate_open = true;
    for (int i = 0; i < 8; i++)
        cfut_waker_wake(&gate_wakers[i]);
    testkit_await_requests(ex, r, out, N);
    ck_assert_int_eq(gate_started, N);
    for (int i = 0; i < N; i++)
        ck_assert_int_eq(out[i].status, 0);
    cfut_server_free(srv);
}
END_TEST

START_TEST(test_transport_works_over_a_socketpair)
{
    /* Replace the in-memory fixture by fd streams on a socketpair. */
    cfut_transport_free(tr);
    run();
    cfut_stream_close(srv_end);
    int fds[2];
    ck_assert_int_eq(cfut_socketpair(fds), 0);
    struct cfut_stream *a, *b;
    ck_assert_int_eq(cfut_fd_stream_new(ex, fds[0], &a), 0);
    ck_assert_int_eq(cfut_fd_stream_new(ex, fds[1], &b), 0);
    ck_assert_int_eq(cfut_transport_new(ex, a, NULL, &tr), 0);
    srv_end = b;
    struct cfut_server *srv = start_server(echo_handler, NULL, 0);
    enum { N = 500 };
    static struct cfut_request r[N];
    static struct cfut_response out[N];
    static unsigned char big[N][300];
    for (int i = 0; i < N; i++) {
        memset(big[i], i, sizeof big[i]);
        ck_assert_int_eq(cfut_request_init(&r[i], tr, big[i], 1 + i % 300), 0);
    }

    testkit_await_requests(ex, r, out, N);

    for (int i = 0; i < N; i++) {
        ck_assert_int_eq(out[i].status, 0);
        ck_assert_uint_eq(out[i].len, 1 + i % 300);
        ck_assert_mem_eq(cfut_response_data(&out[i]), big[i], out[i].len);
        cfut_response_deinit(&out[i]);
    }
    cfut_server_free(srv);
}
END_TEST

/*
 * One round of the sweep below: a client and an echo server, three
 * requests, with the k-th allocation failing (0: none). Returns whether an
 * allocation failed.
 */
static bool
server_path_round(long k)
{
    struct echo_config cfg = {true, 7};
    struct cfut_stream *a, *b;
    ck_assert_int_eq(cfut_mem_stream_pair_new(256, &a, &b), 0);
    struct cfut_transport *t = NULL;
    struct cfut_server *srv = NULL;
    int rc;

    testkit_alloc_fail_at(k);
    rc = cfut_transport_new(ex, a, NULL, &t);
    if (rc == 0)
        a = NULL;
    if (rc == 0)
        rc = cfut_server_new(ex, echo_handler, &cfg, NULL, &srv);
    if (rc == 0 && (rc = cfut_server_add_stream(srv, b)) == 0)
        b = NULL;
    struct cfut_request r[3];
    struct cfut_response out[3];
    int n = 0;
    while (rc == 0 && n < 3) {
        rc = cfut_request_init(&r[n], t,
                               "0123456789abcdefghijklmnopqrstuv"
                               "wxyz",
                               36);
        if (rc == 0)
            n++;
    }
    if (n > 0)
        testkit_await_requests(ex, r, out, n);
    bool failed = testkit_alloc_failed();
    testkit_alloc_fail_at(0);

    for (int i = 0; i < n; i++) {
        /* Every request ends: answered, or failed with a clear code. */
        ck_assert(out[i].status == 0 || out[i].status == CFUT_ENOMEM ||
                  out[i].status == CFUT_ECONNRESET);
        if (out[i].status == 0)
            ck_assert_mem_eq(cfut_response_data(&out[i]), "0123", 4);
        cfut_response_deinit(&out[i]);
    }
    if (rc != 0)
        ck_assert_int_eq(rc, CFUT_ENOMEM);
    cfut_transport_free(t);
    cfut_server_free(srv);
    run();
    cfut_stream_close(a);
    cfut_stream_close(b);
    run();
    return failed;
}

START_TEST(test_transport_server_path_reports_enomem_at_every_allocation)
{
    /*
     * A round without failures first: the executor then keeps the block
     * of the awaiting task (testkit_await_requests()' cfut_block_on()),
     * whose allocation is not what this test is about.
     */
    ck_assert(!server_path_round(0));
    int n_ok = 0, n_fail = 0;
    for (long k = 1; k < 200; k++) {
        if (!server_path_round(k)) {
            n_ok++;
            break;
        }
        n_fail++;
    }
    ck_assert_int_eq(n_ok, 1);
    ck_assert_int_gt(n_fail, 5);
}
END_TEST

START_TEST(test_transport_stream_and_table_report_enomem_at_every_allocation)
{
    for (long k = 1;; k++) {
        struct cfut_stream *a = NULL, *b = NULL;
        testkit_alloc_fail_at(k);
        int rc = cfut_mem_stream_pair_new(16, &a, &b);
        testkit_alloc_fail_at(0);
        if (rc == 0) {
            cfut_stream_close(a);
            cfut_stream_close(b);
            break;
        }
        ck_assert_int_eq(rc, CFUT_ENOMEM);
        ck_assert_ptr_null(a);
    }
    for (long k = 1;; k++) {
        struct cfut_dispatch *d = NULL;
        testkit_alloc_fail_at(k);
        int rc = cfut_dispatch_new(&d);
        if (rc == 0)
            rc = cfut_dispatch_add(d, "one", echo_handler, NULL);
        if (rc == 0)
            rc = cfut_dispatch_add(d, "two", echo_handler, NULL);
        testkit_alloc_fail_at(0);
        cfut_dispatch_free(d);
        if (rc == 0)
            break;
        ck_assert_int_eq(rc, CFUT_ENOMEM);
    }
    for (long k = 1;; k++) {
        int fds[2];
        ck_assert_int_eq(cfut_socketpair(fds), 0);
        struct cfut_stream *a = NULL;
        testkit_alloc_fail_at(k);
        int rc = cfut_fd_stream_new(ex, fds[0], &a);
        testkit_alloc_fail_at(0);
        close(fds[1]);
        if (rc == 0) {
            cfut_stream_close(a);
            break;
        }
        /* On failure the fd is still the caller's. */
        ck_assert_int_eq(rc, CFUT_ENOMEM);
        ck_assert_int_eq(close(fds[0]), 0);
    }
}
END_TEST

static Suite *
transport_suite(void)
{
    Suite *s = suite_create("transport");
    TCase *tc = tcase_create("matching");
    tcase_add_checked_fixture(tc, tr_setup, tr_teardown);
    tcase_add_test(tc, test_transport_out_of_order_responses_all_match);
    tcase_add_test(tc, test_transport_requests_are_written_in_one_batch);
    tcase_add_test(tc, test_transport_a_slot_reused_by_local_and_sync_requests);
    tcase_add_test(tc, test_transport_large_and_error_responses_are_delivered);
    tcase_add_test(tc, test_transport_unknown_id_is_counted_and_dropped);
    tcase_add_test(tc,
                   test_transport_duplicate_response_is_counted_and_dropped);
    tcase_add_test(tc, test_transport_frames_split_at_every_byte_are_delivered);
    suite_add_tcase(s, tc);

    tc = tcase_create("failures");
    tcase_add_checked_fixture(tc, tr_setup, tr_teardown);
    tcase_add_test(tc,
                   test_transport_peer_disconnect_fails_every_pending_request);
    tcase_add_test(tc, test_transport_short_length_fails_pending_with_eproto);
    tcase_add_test(tc,
                   test_transport_oversized_frame_fails_pending_with_eproto);
    tcase_add_test(tc,
                   test_transport_unknown_version_fails_pending_with_eproto);
    tcase_add_test(tc, test_transport_unknown_kind_fails_pending_with_eproto);
    tcase_add_test(tc, test_transport_request_frame_from_server_is_eproto);
    tcase_add_test(tc, test_transport_dropped_request_removes_its_entry);
    tcase_add_test(tc, test_transport_free_fails_pending_with_ecanceled);
    suite_add_tcase(s, tc);

    tc = tcase_create("scale");
    tcase_add_checked_fixture(tc, bytes_setup, bytes_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc,
                   test_transport_100000_pending_requests_stay_under_budget);
    suite_add_tcase(s, tc);

    tc = tcase_create("threads");
    tcase_add_checked_fixture(tc, tr_setup, tr_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_transport_requests_from_other_threads_are_answered);
    suite_add_tcase(s, tc);

    tc = tcase_create("timeouts");
    tcase_add_checked_fixture(tc, tr_setup, tr_teardown);
    tcase_add_test(tc,
                   test_transport_timed_out_request_is_never_completed_later);
    tcase_add_test(
        tc,
        test_transport_late_response_for_a_reused_slot_is_dropped_and_counted);
    tcase_add_test(tc,
                   test_transport_request_answered_in_time_does_not_time_out);
    suite_add_tcase(s, tc);

    tc = tcase_create("server");
    tcase_add_checked_fixture(tc, tr_setup, tr_teardown);
    tcase_add_test(
        tc, test_transport_server_echoes_shuffled_replies_to_their_requests);
    tcase_add_test(tc, test_transport_dispatch_table_runs_named_operations);
    tcase_add_test(tc,
                   test_transport_ready_replies_allocate_nothing_per_request);
    tcase_add_test(tc,
                   test_transport_reply_handler_answers_now_or_with_a_future);
    tcase_add_test(tc, test_transport_error_statuses_travel_with_their_errno);
    tcase_add_test(tc,
                   test_transport_protocol_error_closes_only_that_connection);
    tcase_add_test(tc, test_transport_server_limits_requests_in_flight);
    tcase_add_test(tc, test_transport_works_over_a_socketpair);
    suite_add_tcase(s, tc);

    tc = tcase_create("allocation");
    tcase_add_checked_fixture(tc, tr_setup, tr_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(
        tc, test_transport_server_path_reports_enomem_at_every_allocation);
    tcase_add_test(
        tc, test_transport_stream_and_table_report_enomem_at_every_allocation);
    tcase_add_test(tc, test_transport_new_reports_enomem_at_every_allocation);
    tcase_add_test(tc,
                   test_transport_request_reports_enomem_at_every_allocation);
    tcase_add_test(
        tc, test_transport_large_response_enomem_fails_only_that_request);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return testkit_run(transport_suite());
}
