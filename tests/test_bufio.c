/*
 * test_bufio.c: the buffered reader and writer (cfut_bufio.h): lines,
 * delimiters, exact reads and fill/consume over streams that deliver one
 * byte per poll, over-long lines, the end and errors of the stream,
 * cancellation at every await point, buffering and vectored writes,
 * allocation failure; then over real sockets and a WebSocket.
 */
#define _GNU_SOURCE
#include "testkit.h"

#include <string.h>
#include <unistd.h>

#define ex testkit_ex

/* A script stream that reads 'text' one byte per poll, PENDING between. */
static struct cfut_stream *
byte_stream(struct testkit_script *sc, const char *text, int end)
{
    return testkit_byte_stream(sc, text, strlen(text), end);
}

/* Reads one line (max 'max') by hand; returns its result. */
static struct cfut_buf_result
line(struct cfut_buf_reader *r, size_t max)
{
    struct cfut_buf_read f;
    struct cfut_buf_result res;
    cfut_buf_read_line_init(&f, r, max);
    testkit_poll_until_ready(&f.base, &res, 10000);
    cfut_future_drop(&f.base);
    return res;
}

#define ck_assert_view(res, text)                                              \
    do {                                                                       \
        struct cfut_buf_result v_ = (res);                                     \
        ck_assert_uint_eq(v_.len, strlen(text));                               \
        ck_assert_mem_eq(v_.data, (text), strlen(text));                       \
    } while (0)

/* ---- reading lines ---- */

START_TEST(test_bufio_read_line_gives_each_line_whatever_the_split)
{
    struct testkit_script sc;
    struct cfut_stream *s =
        byte_stream(&sc, "alpha\nbeta\r\n\ngamma", CFUT_EEOF);
    char buf[16];
    struct cfut_buf_reader r;
    ck_assert_int_eq(cfut_buf_reader_init(&r, s, buf, sizeof buf), CFUT_OK);

    struct cfut_buf_result a = line(&r, 0);
    ck_assert_int_eq(a.status, 0);
    ck_assert_view(a, "alpha\n");
    struct cfut_buf_result b = line(&r, 0);
    ck_assert_view(b, "beta\r\n");
    struct cfut_buf_result c = line(&r, 0);
    ck_assert_view(c, "\n");
    struct cfut_buf_result d = line(&r, 0);
    ck_assert_int_eq(d.status, 0);
    ck_assert_view(d, "gamma"); /* cut off by the end: no '\n' */
    struct cfut_buf_result e = line(&r, 0);

    ck_assert_int_eq(e.status, CFUT_EEOF);
    ck_assert_uint_eq(e.len, 0);
    cfut_buf_reader_deinit(&r);
    cfut_stream_close(s);
}
END_TEST

START_TEST(test_bufio_read_until_stops_at_its_delimiter)
{
    struct testkit_script sc;
    struct cfut_stream *s = byte_stream(&sc, "k=v;x=y;", CFUT_EEOF);
    struct cfut_buf_reader r;
    ck_assert_int_eq(cfut_buf_reader_init(&r, s, NULL, 8), CFUT_OK);
    struct cfut_buf_read f;
    struct cfut_buf_result res;

    cfut_buf_read_until_init(&f, &r, ';', 0);
    testkit_poll_until_ready(&f.base, &res, 1000);
    cfut_future_drop(&f.base);

    ck_assert_int_eq(res.status, 0);
    ck_assert_view(res, "k=v;");
    cfut_buf_read_until_init(&f, &r, ';', 0);
    testkit_poll_until_ready(&f.base, &res, 1000);
    cfut_future_drop(&f.base);
    ck_assert_view(res, "x=y;");
    cfut_buf_reader_deinit(&r);
    cfut_stream_close(s);
}
END_TEST

START_TEST(test_bufio_over_long_line_is_emsgsize_and_its_bytes_stay_buffered)
{
    struct testkit_script sc;
    struct cfut_stream *s = byte_stream(&sc, "0123456789\nok\n", CFUT_EEOF);
    char buf[16];
    struct cfut_buf_reader r;
    ck_assert_int_eq(cfut_buf_reader_init(&r, s, buf, sizeof buf), CFUT_OK);

    struct cfut_buf_result a = line(&r, 8);

    ck_assert_int_eq(a.status, CFUT_EMSGSIZE);
    ck_assert_view(a, "01234567");
    size_t n;
    const char *p = cfut_buf_reader_buffered(&r, &n);
    ck_assert_uint_ge(n, 8);
    ck_assert_mem_eq(p, "01234567", 8); /* nothing was consumed */
    cfut_buf_reader_consume(&r, 8);
    ck_assert_view(line(&r, 8), "89\n");
    ck_assert_view(line(&r, 8), "ok\n");
    cfut_buf_reader_deinit(&r);
    cfut_stream_close(s);
}
END_TEST

START_TEST(test_bufio_the_longest_line_is_the_buffer_capacity)
{
    struct testkit_script sc;
    struct cfut_stream *s = byte_stream(&sc, "abcdefghij\n", CFUT_EEOF);
    char buf[6];
    struct cfut_buf_reader r;
    ck_assert_int_eq(cfut_buf_reader_init(&r, s, buf, sizeof buf), CFUT_OK);

    struct cfut_buf_result a = line(&r, 1000);

    ck_assert_int_eq(a.status, CFUT_EMSGSIZE);
    ck_assert_view(a, "abcdef");
    ck_assert_uint_eq(cfut_buf_reader_capacity(&r), 6);
    cfut_buf_reader_deinit(&r);
    cfut_stream_close(s);
}
END_TEST

START_TEST(test_bufio_a_stream_error_comes_after_the_bytes_before_it)
{
    struct testkit_script sc;
    struct cfut_stream *s = byte_stream(&sc, "one\ntw", -ECONNRESET);
    struct cfut_buf_reader r;
    ck_assert_int_eq(cfut_buf_reader_init(&r, s, NULL, 32), CFUT_OK);

    struct cfut_buf_result a = line(&r, 0);
    ck_assert_view(a, "one\n"); /* a view: valid until the next read */
    struct cfut_buf_result b = line(&r, 0);
    ck_assert_int_eq(b.status, -ECONNRESET);
    ck_assert_view(b, "tw"); /* the bytes before the error, kept */
    struct cfut_buf_result c = line(&r, 0);
    ck_assert_int_eq(c.status, -ECONNRESET);
    cfut_buf_reader_deinit(&r);
    cfut_stream_close(s);
}
END_TEST

START_TEST(test_bufio_lines_are_read_without_allocating)
{
    /* 1,000 lines in a buffer the caller gave: no allocation at all. */
    static char text[1000 * 8 + 1];
    for (int i = 0; i < 1000; i++)
        snprintf(text + i * 8, 9, "line%03d\n", i % 1000);
    struct testkit_script sc;
    memset(&sc, 0, sizeof sc);
    sc.in = text;
    sc.in_len = strlen(text);
    sc.chunk = 100;
    sc.in_end = CFUT_EEOF;
    struct cfut_stream *s;
    testkit_script_stream_new(&sc, &s);
    char buf[64];
    struct cfut_buf_reader r;
    ck_assert_int_eq(cfut_buf_reader_init(&r, s, buf, sizeof buf), CFUT_OK);
    long before = testkit_alloc_count();

    int n = 0;
    for (;; n++) {
        struct cfut_buf_result res = line(&r, 0);
        if (res.status != 0)
            break;
        char want[24];
        snprintf(want, sizeof want, "line%03d\n", n);
        ck_assert_view(res, want);
    }

    ck_assert_int_eq(n, 1000);
    ck_assert_int_eq(testkit_alloc_count(), before);
    cfut_buf_reader_deinit(&r);
    cfut_stream_close(s);
}
END_TEST

/* ---- fill, consume, exact ---- */

START_TEST(test_bufio_fill_reads_until_min_bytes_and_consumes_nothing)
{
    struct testkit_script sc;
    struct cfut_stream *s = byte_stream(&sc, "abcdef", CFUT_EEOF);
    struct cfut_buf_reader r;
    ck_assert_int_eq(cfut_buf_reader_init(&r, s, NULL, 8), CFUT_OK);
    struct cfut_buf_read f;
    struct cfut_buf_result res;

    cfut_buf_fill_init(&f, &r, 0);
    testkit_poll_until_ready(&f.base, &res, 100);
    cfut_future_drop(&f.base);
    ck_assert_int_eq(res.status, 0);
    ck_assert_view(res, "a");
    cfut_buf_fill_init(&f, &r, 4);
    testkit_poll_until_ready(&f.base, &res, 100);
    cfut_future_drop(&f.base);

    ck_assert_view(res, "abcd");
    cfut_buf_reader_consume(&r, 3);
    cfut_buf_fill_init(&f, &r, 5); /* only "def" is left: the end */
    testkit_poll_until_ready(&f.base, &res, 100);
    cfut_future_drop(&f.base);
    ck_assert_int_eq(res.status, CFUT_EEOF);
    ck_assert_view(res, "def");
    cfut_buf_reader_deinit(&r);
    cfut_stream_close(s);
}
END_TEST

START_TEST(test_bufio_read_exact_copies_short_and_long_reads)
{
    static char text[301];
    for (int i = 0; i < 300; i++)
        text[i] = (char)('a' + i % 26);
    struct testkit_script sc;
    memset(&sc, 0, sizeof sc);
    sc.in = text;
    sc.in_len = 300;
    sc.chunk = 7;
    sc.pend = true;
    sc.in_end = CFUT_EEOF;
    struct cfut_stream *s;
    testkit_script_stream_new(&sc, &s);
    struct cfut_buf_reader r;
    ck_assert_int_eq(cfut_buf_reader_init(&r, s, NULL, 16), CFUT_OK);
    char got[300];
    struct cfut_buf_read f;
    struct cfut_buf_result a, b, c;

    cfut_buf_read_exact_init(&f, &r, got, 3);
    testkit_poll_until_ready(&f.base, &a, 1000);
    cfut_future_drop(&f.base);
    cfut_buf_read_exact_init(&f, &r, got + 3, 200); /* past the capacity */
    testkit_poll_until_ready(&f.base, &b, 1000);
    cfut_future_drop(&f.base);
    cfut_buf_read_exact_init(&f, &r, got + 203, 200); /* 97 are left */
    testkit_poll_until_ready(&f.base, &c, 1000);
    cfut_future_drop(&f.base);

    ck_assert_int_eq(a.status, 0);
    ck_assert_uint_eq(a.len, 3);
    ck_assert_int_eq(b.status, 0);
    ck_assert_uint_eq(b.len, 200);
    ck_assert_ptr_eq(b.data, got + 3);
    ck_assert_int_eq(c.status, CFUT_EEOF);
    ck_assert_uint_eq(c.len, 97);
    ck_assert_mem_eq(got, text, 300);
    cfut_buf_reader_deinit(&r);
    cfut_stream_close(s);
}
END_TEST

/* ---- cancellation ---- */

START_TEST(test_bufio_a_line_read_dropped_at_any_await_loses_no_byte)
{
    const char *text = "first line\nsecond\n";
    for (int k = 1;; k++) {
        struct testkit_script sc;
        struct cfut_stream *s = byte_stream(&sc, text, CFUT_EEOF);
        struct cfut_buf_reader r;
        ck_assert_int_eq(cfut_buf_reader_init(&r, s, NULL, 32), CFUT_OK);
        struct testkit_waker tw;
        struct cfut_waker w = testkit_waker_init(&tw);
        struct cfut_buf_read f;
        struct cfut_buf_result res;
        cfut_buf_read_line_init(&f, &r, 0);

        bool done = false;
        for (int i = 0; i < k && !done; i++)
            done = testkit_poll(&f.base, &w, &res) == CFUT_READY;
        cfut_future_drop(&f.base); /* after k polls: mid-line */

        if (!done) {
            res = line(&r, 0);
            ck_assert_view(res, "first line\n");
        }
        ck_assert_view(line(&r, 0), "second\n");
        cfut_buf_reader_deinit(&r);
        cfut_stream_close(s);
        ck_assert_int_eq(testkit_wakers_live(), 0);
        if (done)
            break;
    }
}
END_TEST

START_TEST(test_bufio_a_dropped_read_on_a_socket_leaves_no_waker)
{
    int fds[2];
    ck_assert_int_eq(cfut_socketpair(fds), CFUT_OK);
    struct cfut_stream *s;
    ck_assert_int_eq(cfut_fd_stream_new(ex, fds[0], &s), CFUT_OK);
    ck_assert_int_eq(write(fds[1], "half", 4), 4);
    struct cfut_buf_reader r;
    ck_assert_int_eq(cfut_buf_reader_init(&r, s, NULL, 64), CFUT_OK);
    struct cfut_buf_read f;
    struct cfut_buf_result res;
    struct testkit_waker tw;
    struct cfut_waker w = testkit_waker_init(&tw);

    cfut_buf_read_line_init(&f, &r, 0);
    ck_assert_int_eq(testkit_poll(&f.base, &w, &res), CFUT_PENDING);
    cfut_future_drop(&f.base);
    ck_assert_int_eq(write(fds[1], " line\n", 6), 6);
    cfut_buf_read_line_init(&f, &r, 0);
    ck_assert_int_eq(cfut_block_on(ex, &f.base, &res), CFUT_OK);

    ck_assert_int_eq(res.status, 0);
    ck_assert_view(res, "half line\n");
    cfut_buf_reader_deinit(&r);
    cfut_stream_close(s); /* drops the waker the stream kept */
    close(fds[1]);
    ck_assert_int_eq(testkit_wakers_live(), 0);
}
END_TEST

/* ---- the writer ---- */

/* A script stream that takes writes into 'out'. */
static struct cfut_stream *
sink(struct testkit_script *sc, char *out, size_t cap, size_t wchunk)
{
    memset(sc, 0, sizeof *sc);
    sc->in_end = CFUT_EEOF;
    sc->out = out;
    sc->out_cap = cap;
    sc->wchunk = wchunk;
    sc->wpend = true;
    struct cfut_stream *s;
    testkit_script_stream_new(sc, &s);
    return s;
}

static struct cfut_io_result
write_bytes(struct cfut_buf_writer *w, const void *p, size_t n)
{
    struct cfut_buf_write f;
    struct cfut_io_result res;
    cfut_buf_write_init(&f, w, p, n);
    testkit_poll_until_ready(&f.base, &res, 10000);
    cfut_future_drop(&f.base);
    return res;
}

static struct cfut_io_result
flush(struct cfut_buf_writer *w)
{
    struct cfut_buf_write f;
    struct cfut_io_result res;
    cfut_buf_flush_init(&f, w);
    testkit_poll_until_ready(&f.base, &res, 10000);
    cfut_future_drop(&f.base);
    return res;
}

START_TEST(test_bufio_small_writes_wait_in_the_buffer_until_flush)
{
    char out[64];
    struct testkit_script sc;
    struct cfut_stream *s = sink(&sc, out, sizeof out, 0);
    struct cfut_buf_writer w;
    ck_assert_int_eq(cfut_buf_writer_init(&w, s, NULL, 32), CFUT_OK);

    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(write_bytes(&w, "abc", 3).status, 0);
    ck_assert_int_eq(sc.n_writes, 0);
    ck_assert_uint_eq(cfut_buf_writer_buffered(&w), 15);
    struct cfut_io_result fl = flush(&w);

    ck_assert_int_eq(fl.status, 0);
    ck_assert_uint_eq(fl.n, 15);
    ck_assert_int_eq(sc.n_writes, 1);
    ck_assert_uint_eq(sc.out_len, 15);
    ck_assert_mem_eq(out, "abcabcabcabcabc", 15);
    ck_assert_uint_eq(cfut_buf_writer_buffered(&w), 0);
    cfut_buf_writer_deinit(&w);
    cfut_stream_close(s);
}
END_TEST

START_TEST(
    test_bufio_a_write_that_does_not_fit_leaves_with_the_buffer_in_one_write)
{
    char out[256];
    struct testkit_script sc;
    struct cfut_stream *s = sink(&sc, out, sizeof out, 0);
    char buf[32];
    struct cfut_buf_writer w;
    ck_assert_int_eq(cfut_buf_writer_init(&w, s, buf, sizeof buf), CFUT_OK);
    char big[100];
    memset(big, 'x', sizeof big);

    ck_assert_int_eq(cfut_buf_writer_put(&w, "head:", 5), CFUT_OK);
    struct cfut_io_result res = write_bytes(&w, big, sizeof big);

    ck_assert_int_eq(res.status, 0);
    ck_assert_uint_eq(res.n, 100);
    ck_assert_int_eq(sc.n_writes, 1);
    ck_assert_uint_eq(sc.max_iov, 2); /* the buffer and the bytes together */
    ck_assert_uint_eq(sc.out_len, 105);
    ck_assert_mem_eq(out, "head:", 5);
    ck_assert_mem_eq(out + 5, big, 100);
    cfut_buf_writer_deinit(&w);
    cfut_stream_close(s);
}
END_TEST

START_TEST(test_bufio_vectored_writes_keep_order_across_short_writes)
{
    char out[512];
    struct testkit_script sc;
    struct cfut_stream *s = sink(&sc, out, sizeof out, 3); /* 3 bytes a time */
    struct cfut_buf_writer w;
    ck_assert_int_eq(cfut_buf_writer_init(&w, s, NULL, 8), CFUT_OK);
    char payload[200];
    for (size_t i = 0; i < sizeof payload; i++)
        payload[i] = (char)i;
    struct cfut_iovec iov[4] = {
        {"HDR", 3}, {"", 0}, {payload, sizeof payload}, {"END", 3}};
    struct cfut_buf_write f;
    struct cfut_io_result res;

    cfut_buf_writev_init(&f, &w, iov, 4);
    testkit_poll_until_ready(&f.base, &res, 10000);
    cfut_future_drop(&f.base);
    struct cfut_io_result fl = flush(&w);

    ck_assert_int_eq(res.status, 0);
    ck_assert_uint_eq(res.n, 206);
    ck_assert_int_eq(fl.status, 0);
    ck_assert_uint_eq(sc.out_len, 206);
    ck_assert_mem_eq(out, "HDR", 3);
    ck_assert_mem_eq(out + 3, payload, sizeof payload);
    ck_assert_mem_eq(out + 203, "END", 3);
    cfut_buf_writer_deinit(&w);
    cfut_stream_close(s);
}
END_TEST

START_TEST(test_bufio_put_refuses_what_does_not_fit)
{
    char out[8];
    struct testkit_script sc;
    struct cfut_stream *s = sink(&sc, out, sizeof out, 0);
    char buf[4];
    struct cfut_buf_writer w;
    ck_assert_int_eq(cfut_buf_writer_init(&w, s, buf, sizeof buf), CFUT_OK);

    ck_assert_int_eq(cfut_buf_writer_put(&w, "abc", 3), CFUT_OK);
    int rc = cfut_buf_writer_put(&w, "de", 2);

    ck_assert_int_eq(rc, CFUT_EFULL);
    ck_assert_uint_eq(cfut_buf_writer_buffered(&w), 3); /* nothing copied */
    ck_assert_int_eq(cfut_buf_writer_put(&w, "d", 1), CFUT_OK);
    cfut_buf_writer_deinit(&w);
    cfut_stream_close(s);
}
END_TEST

START_TEST(test_bufio_a_write_error_is_kept_for_every_later_call)
{
    char out[10];
    struct testkit_script sc;
    struct cfut_stream *s = sink(&sc, out, sizeof out, 4);
    sc.wr_error = -EPIPE; /* after 10 bytes */
    struct cfut_buf_writer w;
    ck_assert_int_eq(cfut_buf_writer_init(&w, s, NULL, 4), CFUT_OK);
    char data[30];
    memset(data, 'z', sizeof data);

    struct cfut_io_result res = write_bytes(&w, data, sizeof data);

    ck_assert_int_eq(res.status, -EPIPE);
    ck_assert_uint_eq(res.n, 10);
    ck_assert_int_eq(cfut_buf_writer_put(&w, "a", 1), -EPIPE);
    ck_assert_int_eq(flush(&w).status, -EPIPE);
    ck_assert_int_eq(write_bytes(&w, "a", 1).status, -EPIPE);
    cfut_buf_writer_deinit(&w);
    cfut_stream_close(s);
}
END_TEST

START_TEST(test_bufio_a_write_dropped_at_any_await_keeps_what_it_took)
{
    /* Drop after k polls; what was taken is flushed later, in order. */
    char payload[50];
    for (size_t i = 0; i < sizeof payload; i++)
        payload[i] = (char)('A' + i % 26);
    for (int k = 1; k < 60; k++) {
        char out[128];
        struct testkit_script sc;
        struct cfut_stream *s = sink(&sc, out, sizeof out, 7);
        struct cfut_buf_writer w;
        ck_assert_int_eq(cfut_buf_writer_init(&w, s, NULL, 16), CFUT_OK);
        ck_assert_int_eq(cfut_buf_writer_put(&w, "<<", 2), CFUT_OK);
        struct testkit_waker tw;
        struct cfut_waker wk = testkit_waker_init(&tw);
        struct cfut_buf_write f;
        struct cfut_io_result res = {0, 0};
        cfut_buf_write_init(&f, &w, payload, sizeof payload);

        bool done = false;
        for (int i = 0; i < k && !done; i++)
            done = testkit_poll(&f.base, &wk, &res) == CFUT_READY;
        cfut_future_drop(&f.base);
        size_t before = sc.out_len;
        ck_assert_int_eq(flush(&w).status, 0);

        /* What reached the stream is "<<" and a prefix of the payload. */
        ck_assert_uint_ge(sc.out_len, before);
        ck_assert_uint_ge(sc.out_len, 2);
        ck_assert_mem_eq(out, "<<", 2);
        ck_assert_mem_eq(out + 2, payload, sc.out_len - 2);
        if (done)
            ck_assert_uint_eq(sc.out_len, 52);
        cfut_buf_writer_deinit(&w);
        cfut_stream_close(s);
        ck_assert_int_eq(testkit_wakers_live(), 0);
    }
}
END_TEST

START_TEST(test_bufio_init_fails_cleanly_without_memory)
{
    char out[4];
    struct testkit_script sc;
    struct cfut_stream *s = sink(&sc, out, sizeof out, 0);
    struct cfut_buf_reader r;
    struct cfut_buf_writer w;
    memset(&r, 0xab, sizeof r);
    memset(&w, 0xab, sizeof w);
    long live = testkit_alloc_live();

    testkit_alloc_fail_at(1);
    int rr = cfut_buf_reader_init(&r, s, NULL, 64);
    testkit_alloc_fail_at(1);
    int rw = cfut_buf_writer_init(&w, s, NULL, 64);

    ck_assert_int_eq(rr, CFUT_ENOMEM);
    ck_assert_int_eq(rw, CFUT_ENOMEM);
    ck_assert_int_eq(testkit_alloc_live(), live);
    ck_assert_ptr_eq(r.stream, (void *)(uintptr_t)0xabababababababab);
    ck_assert_int_eq(cfut_buf_reader_init(&r, NULL, NULL, 4), CFUT_EINVAL);
    ck_assert_int_eq(cfut_buf_reader_init(&r, s, NULL, 0), CFUT_EINVAL);
    ck_assert_int_eq(cfut_buf_writer_init(&w, s, NULL, 0), CFUT_EINVAL);
    testkit_alloc_fail_at(0);
    cfut_stream_close(s);
}
END_TEST

/* ---- over real streams ---- */

/*
 * A line echo over two streams: a server task reads each line and writes
 * it back (flushing when no request byte is left buffered); on the other
 * stream a writer task sends N lines, flushes and shuts its side, while a
 * reader task checks every echo and counts them.
 */
struct echo_server {
    struct cfut_future base;
    struct cfut_coro co;
    struct cfut_stream *s;
    struct cfut_buf_reader r;
    struct cfut_buf_writer w;
    struct cfut_buf_read rd;
    struct cfut_buf_write wr;
    struct cfut_buf_result line;
    struct cfut_io_result wres;
    char copy[64];
};

static enum cfut_poll
echo_server_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    (void)out;
    struct echo_server *e = cfut_container_of(f, struct echo_server, base);
    size_t n;
    CFUT_ASYNC_BEGIN(&e->co);
    for (;;) {
        cfut_buf_read_line_init(&e->rd, &e->r, sizeof e->copy);
        CFUT_AWAIT(&e->co, cx, &e->rd.base, &e->line);
        if (e->line.status != 0)
            break;
        memcpy(e->copy, e->line.data, e->line.len);
        cfut_buf_write_init(&e->wr, &e->w, e->copy, e->line.len);
        CFUT_AWAIT(&e->co, cx, &e->wr.base, &e->wres);
        ck_assert_int_eq(e->wres.status, 0);
        cfut_buf_reader_buffered(&e->r, &n);
        if (n == 0) {
            cfut_buf_flush_init(&e->wr, &e->w);
            CFUT_AWAIT(&e->co, cx, &e->wr.base, &e->wres);
            ck_assert_int_eq(e->wres.status, 0);
        }
    }
    ck_assert_int_eq(e->line.status, CFUT_EEOF);
    cfut_buf_flush_init(&e->wr, &e->w);
    CFUT_AWAIT(&e->co, cx, &e->wr.base, &e->wres);
    CFUT_ASYNC_END(&e->co);
}

static void
echo_server_drop(struct cfut_future *f)
{
    struct echo_server *e = cfut_container_of(f, struct echo_server, base);
    cfut_coro_drop(&e->co);
    cfut_buf_reader_deinit(&e->r);
    cfut_buf_writer_deinit(&e->w);
    cfut_stream_close(e->s);
}

static const struct cfut_future_vtable echo_server_vtable = {
    echo_server_poll, echo_server_drop, 0, "echo_server", NULL};

/* A future that shuts the write side of a stream. */
struct shut {
    struct cfut_future base;
    struct cfut_stream *s;
};

static enum cfut_poll
shut_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct shut *sh = cfut_container_of(f, struct shut, base);
    struct cfut_stream_result res;
    if (cfut_stream_poll_shutdown(sh->s, cx, &res) == CFUT_PENDING)
        return CFUT_PENDING;
    *(int *)out = res.status;
    return CFUT_READY;
}

static void
shut_drop(struct cfut_future *f)
{
    (void)f;
}

static const struct cfut_future_vtable shut_vtable = {
    shut_poll, shut_drop, sizeof(int), "shut", NULL};

struct line_writer {
    struct cfut_future base;
    struct cfut_coro co;
    struct cfut_stream *s;
    bool shut; /* shut the write side after the lines */
    int n_lines;
    int i;
    int st;
    struct cfut_buf_writer w;
    struct cfut_buf_write wr;
    struct shut sh;
    struct cfut_io_result wres;
    char text[64];
};

static enum cfut_poll
line_writer_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    (void)out;
    struct line_writer *c = cfut_container_of(f, struct line_writer, base);
    CFUT_ASYNC_BEGIN(&c->co);
    for (c->i = 0; c->i < c->n_lines; c->i++) {
        snprintf(c->text, sizeof c->text, "line %d of the test\n", c->i);
        cfut_buf_write_init(&c->wr, &c->w, c->text, strlen(c->text));
        CFUT_AWAIT(&c->co, cx, &c->wr.base, &c->wres);
        ck_assert_int_eq(c->wres.status, 0);
    }
    cfut_buf_flush_init(&c->wr, &c->w);
    CFUT_AWAIT(&c->co, cx, &c->wr.base, &c->wres);
    ck_assert_int_eq(c->wres.status, 0);
    if (c->shut) {
        cfut_future_init(&c->sh.base, &shut_vtable);
        c->sh.s = c->s;
        CFUT_AWAIT(&c->co, cx, &c->sh.base, &c->st);
        ck_assert_int_eq(c->st, 0);
    }
    CFUT_ASYNC_END(&c->co);
}

static void
line_writer_drop(struct cfut_future *f)
{
    struct line_writer *c = cfut_container_of(f, struct line_writer, base);
    cfut_coro_drop(&c->co);
    cfut_buf_writer_deinit(&c->w);
}

static const struct cfut_future_vtable line_writer_vtable = {
    line_writer_poll, line_writer_drop, 0, "line_writer", NULL};

struct line_reader {
    struct cfut_future base;
    struct cfut_coro co;
    struct cfut_stream *s;
    int n_lines;
    bool shut; /* shut the write side after n_lines echoes */
    int st;
    struct shut sh;
    int i;
    int *n_echoed;
    struct cfut_buf_reader r;
    struct cfut_buf_read rd;
    struct cfut_buf_result line;
    char text[64];
};

static enum cfut_poll
line_reader_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    (void)out;
    struct line_reader *c = cfut_container_of(f, struct line_reader, base);
    CFUT_ASYNC_BEGIN(&c->co);
    for (c->i = 0;; c->i++) {
        cfut_buf_read_line_init(&c->rd, &c->r, 0);
        CFUT_AWAIT(&c->co, cx, &c->rd.base, &c->line);
        if (c->line.status != 0)
            break;
        snprintf(c->text, sizeof c->text, "line %d of the test\n", c->i);
        ck_assert_uint_eq(c->line.len, strlen(c->text));
        ck_assert_mem_eq(c->line.data, c->text, c->line.len);
        if (c->shut && c->i + 1 == c->n_lines) {
            /* A WebSocket's close ends both ways: only once all came. */
            cfut_future_init(&c->sh.base, &shut_vtable);
            c->sh.s = c->s;
            CFUT_AWAIT(&c->co, cx, &c->sh.base, &c->st);
            ck_assert_int_eq(c->st, 0);
        }
    }
    ck_assert_int_eq(c->line.status, CFUT_EEOF);
    *c->n_echoed = c->i;
    CFUT_ASYNC_END(&c->co);
}

static void
line_reader_drop(struct cfut_future *f)
{
    struct line_reader *c = cfut_container_of(f, struct line_reader, base);
    cfut_coro_drop(&c->co);
    cfut_buf_reader_deinit(&c->r);
}

static const struct cfut_future_vtable line_reader_vtable = {
    line_reader_poll, line_reader_drop, 0, "line_reader", NULL};

/* Runs the echo between the two streams (taken); returns lines echoed. */
static int
run_echo(struct cfut_stream *client, struct cfut_stream *server, int n_lines,
         size_t bufsize, bool ws)
{
    int n_echoed = -1;
    struct echo_server es;
    memset(&es, 0, sizeof es);
    cfut_future_init(&es.base, &echo_server_vtable);
    cfut_coro_init(&es.co);
    es.s = server;
    ck_assert_int_eq(cfut_buf_reader_init(&es.r, server, NULL, bufsize), 0);
    ck_assert_int_eq(cfut_buf_writer_init(&es.w, server, NULL, bufsize), 0);
    struct line_writer lw;
    memset(&lw, 0, sizeof lw);
    cfut_future_init(&lw.base, &line_writer_vtable);
    cfut_coro_init(&lw.co);
    lw.s = client;
    lw.n_lines = n_lines;
    lw.shut = !ws;
    ck_assert_int_eq(cfut_buf_writer_init(&lw.w, client, NULL, bufsize), 0);
    struct line_reader lr;
    memset(&lr, 0, sizeof lr);
    cfut_future_init(&lr.base, &line_reader_vtable);
    cfut_coro_init(&lr.co);
    lr.s = client;
    lr.n_echoed = &n_echoed;
    lr.n_lines = n_lines;
    lr.shut = ws;
    ck_assert_int_eq(cfut_buf_reader_init(&lr.r, client, NULL, bufsize), 0);

    ck_assert_int_eq(cfut_spawn(ex, &es.base, sizeof es, NULL), CFUT_OK);
    ck_assert_int_eq(cfut_spawn(ex, &lw.base, sizeof lw, NULL), CFUT_OK);
    ck_assert_int_eq(cfut_spawn(ex, &lr.base, sizeof lr, NULL), CFUT_OK);
    ck_assert_int_eq(cfut_executor_run(ex), CFUT_OK);
    cfut_stream_close(client);
    return n_echoed;
}

START_TEST(test_bufio_line_echo_over_a_socketpair)
{
    int fds[2];
    ck_assert_int_eq(cfut_socketpair(fds), CFUT_OK);
    struct cfut_stream *a, *b;
    ck_assert_int_eq(cfut_fd_stream_new(ex, fds[0], &a), CFUT_OK);
    ck_assert_int_eq(cfut_fd_stream_new(ex, fds[1], &b), CFUT_OK);

    int n = run_echo(a, b, 5000, 4096, false);

    ck_assert_int_eq(n, 5000);
}
END_TEST

START_TEST(test_bufio_line_echo_over_a_one_byte_memory_pair)
{
    struct cfut_stream *a, *b;
    ck_assert_int_eq(cfut_mem_stream_pair_new(1, &a, &b), CFUT_OK);

    int n = run_echo(a, b, 300, 64, false);

    ck_assert_int_eq(n, 300);
}
END_TEST

START_TEST(test_bufio_line_echo_over_a_websocket)
{
    struct cfut_stream *a, *b, *wa, *wb;
    ck_assert_int_eq(cfut_mem_stream_pair_new(1 << 12, &a, &b), CFUT_OK);
    struct cfut_ws_config cc;
    memset(&cc, 0, sizeof cc);
    cc.host = "example:1";
    ck_assert_int_eq(cfut_ws_stream_new(a, CFUT_WS_CLIENT, &cc, &wa), CFUT_OK);
    ck_assert_int_eq(cfut_ws_stream_new(b, CFUT_WS_SERVER, NULL, &wb), CFUT_OK);

    int n = run_echo(wa, wb, 1000, 256, true);

    ck_assert_int_eq(n, 1000);
}
END_TEST

static Suite *
bufio_suite(void)
{
    Suite *s = suite_create("bufio");
    TCase *tc = tcase_create("reader");
    testkit_fixture(tc);
    tcase_add_test(tc, test_bufio_read_line_gives_each_line_whatever_the_split);
    tcase_add_test(tc, test_bufio_read_until_stops_at_its_delimiter);
    tcase_add_test(
        tc, test_bufio_over_long_line_is_emsgsize_and_its_bytes_stay_buffered);
    tcase_add_test(tc, test_bufio_the_longest_line_is_the_buffer_capacity);
    tcase_add_test(tc,
                   test_bufio_a_stream_error_comes_after_the_bytes_before_it);
    tcase_add_test(tc, test_bufio_lines_are_read_without_allocating);
    tcase_add_test(tc,
                   test_bufio_fill_reads_until_min_bytes_and_consumes_nothing);
    tcase_add_test(tc, test_bufio_read_exact_copies_short_and_long_reads);
    suite_add_tcase(s, tc);

    tc = tcase_create("cancellation");
    testkit_executor_fixture(tc);
    tcase_add_test(tc,
                   test_bufio_a_line_read_dropped_at_any_await_loses_no_byte);
    tcase_add_test(tc, test_bufio_a_dropped_read_on_a_socket_leaves_no_waker);
    tcase_add_test(tc,
                   test_bufio_a_write_dropped_at_any_await_keeps_what_it_took);
    suite_add_tcase(s, tc);

    tc = tcase_create("writer");
    testkit_fixture(tc);
    tcase_add_test(tc, test_bufio_small_writes_wait_in_the_buffer_until_flush);
    tcase_add_test(
        tc,
        test_bufio_a_write_that_does_not_fit_leaves_with_the_buffer_in_one_write);
    tcase_add_test(tc,
                   test_bufio_vectored_writes_keep_order_across_short_writes);
    tcase_add_test(tc, test_bufio_put_refuses_what_does_not_fit);
    tcase_add_test(tc, test_bufio_a_write_error_is_kept_for_every_later_call);
    tcase_add_test(tc, test_bufio_init_fails_cleanly_without_memory);
    suite_add_tcase(s, tc);

    tc = tcase_create("over real streams");
    testkit_executor_fixture(tc);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_bufio_line_echo_over_a_socketpair);
    tcase_add_test(tc, test_bufio_line_echo_over_a_one_byte_memory_pair);
    tcase_add_test(tc, test_bufio_line_echo_over_a_websocket);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return testkit_run(bufio_suite());
}
