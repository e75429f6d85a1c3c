/*
 * test_codec.c: the line codec and the length-prefixed codec
 * (cfut_codec.h) on a buffered reader: frames split at every byte,
 * endings, limits (an over-long line is skipped, an over-long frame stops
 * the codec with nothing allocated), the stream's end at and inside a
 * frame, cancellation at every await point, the encoders, and a round
 * trip over a socketpair.
 */
#define _GNU_SOURCE
#include "testkit.h"

#include <string.h>

#define ex testkit_ex

/* A script stream that reads 'len' bytes of 'text' one byte per poll. */
static struct cfut_stream *
byte_stream(struct testkit_script *sc, const char *text, size_t len)
{
    return testkit_byte_stream(sc, text, len, CFUT_EEOF);
}

#define ck_assert_frame(res, text)                                             \
    do {                                                                       \
        struct cfut_buf_result v_ = (res);                                     \
        ck_assert_int_eq(v_.status, 0);                                        \
        ck_assert_uint_eq(v_.len, strlen(text));                               \
        ck_assert_mem_eq(v_.data, (text), strlen(text));                       \
    } while (0)

static struct cfut_buf_result
next_line(struct cfut_line_codec *c)
{
    struct cfut_line_decode f;
    struct cfut_buf_result res;
    cfut_line_decode_init(&f, c);
    testkit_poll_until_ready(&f.base, &res, 100000);
    cfut_future_drop(&f.base);
    return res;
}

static struct cfut_buf_result
next_frame(struct cfut_lenpfx_codec *c)
{
    struct cfut_lenpfx_decode f;
    struct cfut_buf_result res;
    cfut_lenpfx_decode_init(&f, c);
    testkit_poll_until_ready(&f.base, &res, 100000);
    cfut_future_drop(&f.base);
    return res;
}

/* ---- lines ---- */

START_TEST(test_codec_lines_end_with_lf_or_crlf_and_lose_their_ending)
{
    const char *text = "a\nbb\r\n\r\n\nlast";
    struct testkit_script sc;
    struct cfut_stream *s = byte_stream(&sc, text, strlen(text));
    struct cfut_buf_reader r;
    ck_assert_int_eq(cfut_buf_reader_init(&r, s, NULL, 16), CFUT_OK);
    struct cfut_line_codec c;
    ck_assert_int_eq(cfut_line_codec_init(&c, &r, 8, CFUT_LINE_LF), CFUT_OK);

    ck_assert_frame(next_line(&c), "a");
    ck_assert_frame(next_line(&c), "bb");
    ck_assert_frame(next_line(&c), "");
    ck_assert_frame(next_line(&c), "");
    ck_assert_frame(next_line(&c), "last"); /* cut off by the end */
    struct cfut_buf_result end = next_line(&c);

    ck_assert_int_eq(end.status, CFUT_EEOF);
    cfut_buf_reader_deinit(&r);
    cfut_stream_close(s);
}
END_TEST

START_TEST(test_codec_a_line_of_exactly_max_bytes_passes)
{
    const char *text = "12345\r\n12345\n123456\nok\n";
    struct testkit_script sc;
    struct cfut_stream *s = byte_stream(&sc, text, strlen(text));
    struct cfut_buf_reader r;
    ck_assert_int_eq(cfut_buf_reader_init(&r, s, NULL, 7), CFUT_OK);
    struct cfut_line_codec c;
    ck_assert_int_eq(cfut_line_codec_init(&c, &r, 5, CFUT_LINE_LF), CFUT_OK);

    ck_assert_frame(next_line(&c), "12345");
    ck_assert_frame(next_line(&c), "12345");
    struct cfut_buf_result over = next_line(&c);
    ck_assert_int_eq(over.status, CFUT_EMSGSIZE);
    ck_assert_frame(next_line(&c), "ok");
    cfut_buf_reader_deinit(&r);
    cfut_stream_close(s);
}
END_TEST

START_TEST(test_codec_an_over_long_line_is_emsgsize_then_skipped)
{
    /* 100 bytes without "\n" through an 8-byte buffer, then a line. */
    static char text[128];
    memset(text, 'x', 100);
    strcpy(text + 100, "\nnext\n");
    struct testkit_script sc;
    struct cfut_stream *s = byte_stream(&sc, text, strlen(text));
    struct cfut_buf_reader r;
    ck_assert_int_eq(cfut_buf_reader_init(&r, s, NULL, 8), CFUT_OK);
    struct cfut_line_codec c;
    ck_assert_int_eq(cfut_line_codec_init(&c, &r, 4, CFUT_LINE_LF), CFUT_OK);
    long allocs = testkit_alloc_count();

    struct cfut_buf_result over = next_line(&c);

    ck_assert_int_eq(over.status, CFUT_EMSGSIZE);
    ck_assert_uint_eq(over.len, 4);
    ck_assert_mem_eq(over.data, "xxxx", 4);
    ck_assert_frame(next_line(&c), "next");
    ck_assert_int_eq(next_line(&c).status, CFUT_EEOF);
    ck_assert_int_eq(testkit_alloc_count(), allocs);
    cfut_buf_reader_deinit(&r);
    cfut_stream_close(s);
}
END_TEST

START_TEST(test_codec_a_line_decode_dropped_at_any_await_loses_nothing)
{
    static char text[64];
    memset(text, 'y', 20);
    strcpy(text + 20, "\nkeep this\nand this\n"); /* an over-long line first */
    for (int k = 1; k < 200; k++) {
        struct testkit_script sc;
        struct cfut_stream *s = byte_stream(&sc, text, strlen(text));
        struct cfut_buf_reader r;
        ck_assert_int_eq(cfut_buf_reader_init(&r, s, NULL, 12), CFUT_OK);
        struct cfut_line_codec c;
        ck_assert_int_eq(cfut_line_codec_init(&c, &r, 10, CFUT_LINE_LF), 0);
        ck_assert_int_eq(next_line(&c).status, CFUT_EMSGSIZE);
        struct testkit_waker tw;
        struct cfut_waker w = testkit_waker_init(&tw);
        struct cfut_line_decode f;
        struct cfut_buf_result res;
        cfut_line_decode_init(&f, &c);

        bool done = false;
        for (int i = 0; i < k && !done; i++)
            done = testkit_poll(&f.base, &w, &res) == CFUT_READY;
        cfut_future_drop(&f.base);

        if (!done)
            ck_assert_frame(next_line(&c), "keep this");
        ck_assert_frame(next_line(&c), "and this");
        ck_assert_int_eq(next_line(&c).status, CFUT_EEOF);
        cfut_buf_reader_deinit(&r);
        cfut_stream_close(s);
        ck_assert_int_eq(testkit_wakers_live(), 0);
        if (done)
            return;
    }
    ck_abort_msg("the decode never finished");
}
END_TEST

START_TEST(test_codec_line_encode_describes_the_line_and_its_ending)
{
    struct cfut_line_codec lf, crlf;
    ck_assert_int_eq(cfut_line_codec_init(&lf, NULL, 5, CFUT_LINE_LF), 0);
    ck_assert_int_eq(cfut_line_codec_init(&crlf, NULL, 5, CFUT_LINE_CRLF), 0);
    struct cfut_iovec iov[2];

    ck_assert_int_eq(cfut_line_encode(&lf, "hello", 5, iov), CFUT_OK);
    ck_assert_ptr_eq(iov[0].base, "hello");
    ck_assert_uint_eq(iov[0].len, 5);
    ck_assert_mem_eq(iov[1].base, "\n", iov[1].len);
    ck_assert_int_eq(cfut_line_encode(&crlf, "hi", 2, iov), CFUT_OK);
    ck_assert_uint_eq(iov[1].len, 2);
    ck_assert_mem_eq(iov[1].base, "\r\n", 2);

    ck_assert_int_eq(cfut_line_encode(&lf, "toolong", 7, iov), CFUT_EMSGSIZE);
    ck_assert_int_eq(cfut_line_encode(&lf, "a\nb", 3, iov), CFUT_EINVAL);
    ck_assert_int_eq(cfut_line_encode(&lf, NULL, 1, iov), CFUT_EINVAL);
}
END_TEST

START_TEST(test_codec_line_codec_init_checks_its_limits)
{
    struct testkit_script sc;
    struct cfut_stream *s = byte_stream(&sc, "", 0);
    struct cfut_buf_reader r;
    ck_assert_int_eq(cfut_buf_reader_init(&r, s, NULL, 10), CFUT_OK);
    struct cfut_line_codec c;

    ck_assert_int_eq(cfut_line_codec_init(&c, &r, 8, CFUT_LINE_LF), CFUT_OK);
    ck_assert_int_eq(cfut_line_codec_init(&c, &r, 9, CFUT_LINE_LF),
                     CFUT_EINVAL); /* 9 + "\r\n" > 10 */
    ck_assert_int_eq(cfut_line_codec_init(&c, &r, 0, CFUT_LINE_LF),
                     CFUT_EINVAL);
    ck_assert_int_eq(cfut_line_codec_init(NULL, &r, 4, CFUT_LINE_LF),
                     CFUT_EINVAL);
    ck_assert_int_eq(cfut_line_codec_init(&c, &r, 4, 7), CFUT_EINVAL);
    cfut_buf_reader_deinit(&r);
    cfut_stream_close(s);
}
END_TEST

/* ---- length-prefixed frames ---- */

START_TEST(test_codec_u16_and_u32_frames_split_at_every_byte)
{
    static const char u16[] = "\x00\x03"
                              "abc"
                              "\x00\x00"
                              "\x01\x00";
    char text16[9 + 256];
    memcpy(text16, u16, 9);
    memset(text16 + 9, 'q', 256);
    static const char text32[] = "\x00\x00\x00\x05hello\x00\x00\x00\x01!";
    struct testkit_script sc;
    struct cfut_buf_reader r;
    struct cfut_lenpfx_codec c;
    char big[256];
    memset(big, 'q', sizeof big);

    struct cfut_stream *s = byte_stream(&sc, text16, 9 + 256);
    ck_assert_int_eq(cfut_buf_reader_init(&r, s, NULL, 300), CFUT_OK);
    ck_assert_int_eq(cfut_lenpfx_codec_init(&c, &r, 2, 256), CFUT_OK);
    ck_assert_frame(next_frame(&c), "abc");
    ck_assert_frame(next_frame(&c), "");
    struct cfut_buf_result b = next_frame(&c);
    ck_assert_int_eq(b.status, 0);
    ck_assert_uint_eq(b.len, 256);
    ck_assert_mem_eq(b.data, big, 256);
    ck_assert_int_eq(next_frame(&c).status, CFUT_EEOF);
    cfut_buf_reader_deinit(&r);
    cfut_stream_close(s);

    s = byte_stream(&sc, text32, sizeof text32 - 1);
    ck_assert_int_eq(cfut_buf_reader_init(&r, s, NULL, 16), CFUT_OK);
    ck_assert_int_eq(cfut_lenpfx_codec_init(&c, &r, 4, 12), CFUT_OK);
    ck_assert_frame(next_frame(&c), "hello");
    ck_assert_frame(next_frame(&c), "!");
    ck_assert_int_eq(next_frame(&c).status, CFUT_EEOF);
    cfut_buf_reader_deinit(&r);
    cfut_stream_close(s);
}
END_TEST

START_TEST(test_codec_an_over_long_frame_stops_the_codec_and_allocates_nothing)
{
    /* A u32 prefix announcing 4 GiB - 1: refused at once. */
    static const char text[] = "\x00\x00\x00\x02ok\xff\xff\xff\xffrest";
    struct testkit_script sc;
    struct cfut_stream *s = byte_stream(&sc, text, sizeof text - 1);
    struct cfut_buf_reader r;
    ck_assert_int_eq(cfut_buf_reader_init(&r, s, NULL, 64), CFUT_OK);
    struct cfut_lenpfx_codec c;
    ck_assert_int_eq(cfut_lenpfx_codec_init(&c, &r, 4, 60), CFUT_OK);
    long allocs = testkit_alloc_count();

    ck_assert_frame(next_frame(&c), "ok");
    struct cfut_buf_result over = next_frame(&c);
    struct cfut_buf_result again = next_frame(&c);

    ck_assert_int_eq(over.status, CFUT_EMSGSIZE);
    ck_assert_int_eq(again.status, CFUT_EMSGSIZE);
    ck_assert_int_eq(testkit_alloc_count(), allocs);
    size_t n;
    cfut_buf_reader_buffered(&r, &n);
    ck_assert_uint_le(n, 4); /* the prefix went, the body was not read */
    cfut_buf_reader_deinit(&r);
    cfut_stream_close(s);
}
END_TEST

START_TEST(test_codec_the_end_inside_a_frame_is_eproto)
{
    static const char in_prefix[] = "\x00\x00\x00\x01x\x00\x00";
    static const char in_body[] = "\x00\x05hel";
    struct testkit_script sc;
    struct cfut_buf_reader r;
    struct cfut_lenpfx_codec c;

    struct cfut_stream *s = byte_stream(&sc, in_prefix, sizeof in_prefix - 1);
    ck_assert_int_eq(cfut_buf_reader_init(&r, s, NULL, 16), CFUT_OK);
    ck_assert_int_eq(cfut_lenpfx_codec_init(&c, &r, 4, 8), CFUT_OK);
    ck_assert_frame(next_frame(&c), "x");
    ck_assert_int_eq(next_frame(&c).status, CFUT_EPROTO);
    cfut_buf_reader_deinit(&r);
    cfut_stream_close(s);

    s = byte_stream(&sc, in_body, sizeof in_body - 1);
    ck_assert_int_eq(cfut_buf_reader_init(&r, s, NULL, 16), CFUT_OK);
    ck_assert_int_eq(cfut_lenpfx_codec_init(&c, &r, 2, 8), CFUT_OK);
    ck_assert_int_eq(next_frame(&c).status, CFUT_EPROTO);
    cfut_buf_reader_deinit(&r);
    cfut_stream_close(s);
}
END_TEST

START_TEST(test_codec_a_frame_decode_dropped_at_any_await_loses_nothing)
{
    static const char text[] = "\x00\x06"
                               "abcdef"
                               "\x00\x02"
                               "gh";
    for (int k = 1; k < 100; k++) {
        struct testkit_script sc;
        struct cfut_stream *s = byte_stream(&sc, text, sizeof text - 1);
        struct cfut_buf_reader r;
        ck_assert_int_eq(cfut_buf_reader_init(&r, s, NULL, 8), CFUT_OK);
        struct cfut_lenpfx_codec c;
        ck_assert_int_eq(cfut_lenpfx_codec_init(&c, &r, 2, 6), CFUT_OK);
        struct testkit_waker tw;
        struct cfut_waker w = testkit_waker_init(&tw);
        struct cfut_lenpfx_decode f;
        struct cfut_buf_result res;
        cfut_lenpfx_decode_init(&f, &c);

        bool done = false;
        for (int i = 0; i < k && !done; i++)
            done = testkit_poll(&f.base, &w, &res) == CFUT_READY;
        cfut_future_drop(&f.base);

        if (!done)
            ck_assert_frame(next_frame(&c), "abcdef");
        ck_assert_frame(next_frame(&c), "gh");
        ck_assert_int_eq(next_frame(&c).status, CFUT_EEOF);
        cfut_buf_reader_deinit(&r);
        cfut_stream_close(s);
        ck_assert_int_eq(testkit_wakers_live(), 0);
        if (done)
            return;
    }
    ck_abort_msg("the decode never finished");
}
END_TEST

START_TEST(test_codec_lenpfx_encode_writes_a_big_endian_prefix)
{
    struct cfut_lenpfx_codec c2, c4;
    ck_assert_int_eq(cfut_lenpfx_codec_init(&c2, NULL, 2, 65535), CFUT_OK);
    ck_assert_int_eq(cfut_lenpfx_codec_init(&c4, NULL, 4, 1 << 20), CFUT_OK);
    unsigned char pfx[4];
    struct cfut_iovec iov[2];
    static char data[70000];

    ck_assert_int_eq(cfut_lenpfx_encode(&c2, data, 258, pfx, iov), CFUT_OK);
    ck_assert_uint_eq(iov[0].len, 2);
    ck_assert_mem_eq(iov[0].base, "\x01\x02", 2);
    ck_assert_ptr_eq(iov[1].base, data);
    ck_assert_uint_eq(iov[1].len, 258);
    ck_assert_int_eq(cfut_lenpfx_encode(&c4, data, 70000, pfx, iov), CFUT_OK);
    ck_assert_mem_eq(pfx, "\x00\x01\x11\x70", 4);
    ck_assert_int_eq(cfut_lenpfx_encode(&c4, NULL, 0, pfx, iov), CFUT_OK);
    ck_assert_mem_eq(pfx, "\x00\x00\x00\x00", 4);

    ck_assert_int_eq(cfut_lenpfx_encode(&c2, data, 65536, pfx, iov),
                     CFUT_EMSGSIZE);
    ck_assert_int_eq(cfut_lenpfx_codec_init(&c2, NULL, 3, 10), CFUT_EINVAL);
    ck_assert_int_eq(cfut_lenpfx_codec_init(&c2, NULL, 2, 65536), CFUT_EINVAL);
    ck_assert_int_eq(cfut_lenpfx_codec_init(&c2, NULL, 2, 0), CFUT_EINVAL);
}
END_TEST

START_TEST(test_codec_lenpfx_codec_init_wants_a_frame_to_fit_the_buffer)
{
    struct testkit_script sc;
    struct cfut_stream *s = byte_stream(&sc, "", 0);
    struct cfut_buf_reader r;
    ck_assert_int_eq(cfut_buf_reader_init(&r, s, NULL, 100), CFUT_OK);
    struct cfut_lenpfx_codec c;

    ck_assert_int_eq(cfut_lenpfx_codec_init(&c, &r, 4, 96), CFUT_OK);
    ck_assert_int_eq(cfut_lenpfx_codec_init(&c, &r, 4, 97), CFUT_EINVAL);
    ck_assert_int_eq(cfut_lenpfx_codec_init(&c, &r, 2, 98), CFUT_OK);
    ck_assert_int_eq(cfut_lenpfx_codec_init(&c, &r, 2, 99), CFUT_EINVAL);
    cfut_buf_reader_deinit(&r);
    cfut_stream_close(s);
}
END_TEST

/* ---- a round trip over a socketpair ---- */

/* Sends 'n' frames of sizes 0, 1, 2, ... through a buffered writer. */
struct sender {
    struct cfut_future base;
    struct cfut_coro co;
    int n, i;
    struct cfut_buf_writer *w;
    struct cfut_lenpfx_codec c;
    unsigned char pfx[4];
    struct cfut_iovec iov[2];
    struct cfut_buf_write wr;
    struct cfut_io_result res;
    char data[1000];
};

static enum cfut_poll
sender_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    (void)out;
    struct sender *s = cfut_container_of(f, struct sender, base);
    CFUT_ASYNC_BEGIN(&s->co);
    for (s->i = 0; s->i < s->n; s->i++) {
        memset(s->data, s->i & 0xff, (size_t)s->i % 1000);
        ck_assert_int_eq(cfut_lenpfx_encode(&s->c, s->data, (size_t)s->i % 1000,
                                            s->pfx, s->iov),
                         CFUT_OK);
        cfut_buf_writev_init(&s->wr, s->w, s->iov, 2);
        CFUT_AWAIT(&s->co, cx, &s->wr.base, &s->res);
        ck_assert_int_eq(s->res.status, 0);
    }
    cfut_buf_flush_init(&s->wr, s->w);
    CFUT_AWAIT(&s->co, cx, &s->wr.base, &s->res);
    ck_assert_int_eq(s->res.status, 0);
    CFUT_ASYNC_END(&s->co);
}

static void
sender_drop(struct cfut_future *f)
{
    cfut_coro_drop(&cfut_container_of(f, struct sender, base)->co);
}

static const struct cfut_future_vtable sender_vtable = {
    sender_poll, sender_drop, 0, "sender", NULL};

/* Receives frames until the end; checks each; counts them. */
struct receiver {
    struct cfut_future base;
    struct cfut_coro co;
    int i;
    int *count;
    struct cfut_lenpfx_codec *c;
    struct cfut_lenpfx_decode d;
    struct cfut_buf_result res;
};

static enum cfut_poll
receiver_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    (void)out;
    struct receiver *r = cfut_container_of(f, struct receiver, base);
    CFUT_ASYNC_BEGIN(&r->co);
    for (r->i = 0;; r->i++) {
        cfut_lenpfx_decode_init(&r->d, r->c);
        CFUT_AWAIT(&r->co, cx, &r->d.base, &r->res);
        if (r->res.status != 0)
            break;
        ck_assert_uint_eq(r->res.len, (size_t)r->i % 1000);
        for (size_t k = 0; k < r->res.len; k++)
            ck_assert_int_eq((unsigned char)r->res.data[k], r->i & 0xff);
    }
    ck_assert_int_eq(r->res.status, CFUT_EEOF);
    *r->count = r->i;
    CFUT_ASYNC_END(&r->co);
}

static void
receiver_drop(struct cfut_future *f)
{
    cfut_coro_drop(&cfut_container_of(f, struct receiver, base)->co);
}

static const struct cfut_future_vtable receiver_vtable = {
    receiver_poll, receiver_drop, 0, "receiver", NULL};

START_TEST(test_codec_frames_round_trip_over_a_socketpair)
{
    int fds[2];
    ck_assert_int_eq(cfut_socketpair(fds), CFUT_OK);
    struct cfut_stream *a, *b;
    ck_assert_int_eq(cfut_fd_stream_new(ex, fds[0], &a), CFUT_OK);
    ck_assert_int_eq(cfut_fd_stream_new(ex, fds[1], &b), CFUT_OK);
    struct cfut_buf_writer w;
    ck_assert_int_eq(cfut_buf_writer_init(&w, a, NULL, 4096), CFUT_OK);
    struct cfut_buf_reader r;
    ck_assert_int_eq(cfut_buf_reader_init(&r, b, NULL, 1024), CFUT_OK);
    struct cfut_lenpfx_codec dc;
    ck_assert_int_eq(cfut_lenpfx_codec_init(&dc, &r, 4, 1000), CFUT_OK);
    struct sender s;
    memset(&s, 0, sizeof s);
    cfut_future_init(&s.base, &sender_vtable);
    cfut_coro_init(&s.co);
    s.n = 3000;
    s.w = &w;
    ck_assert_int_eq(cfut_lenpfx_codec_init(&s.c, NULL, 4, 1000), CFUT_OK);
    int count = -1;
    struct receiver rc;
    memset(&rc, 0, sizeof rc);
    cfut_future_init(&rc.base, &receiver_vtable);
    cfut_coro_init(&rc.co);
    rc.c = &dc;
    rc.count = &count;
    struct cfut_join_handle h;

    ck_assert_int_eq(cfut_spawn(ex, &s.base, sizeof s, &h), CFUT_OK);
    ck_assert_int_eq(cfut_spawn(ex, &rc.base, sizeof rc, NULL), CFUT_OK);
    struct cfut_join_status js;
    ck_assert_int_eq(cfut_block_on(ex, &h.base, &js), CFUT_OK);
    cfut_buf_writer_deinit(&w);
    cfut_stream_close(a); /* the receiver sees the end */
    ck_assert_int_eq(cfut_executor_run(ex), CFUT_OK);

    ck_assert_int_eq(count, 3000);
    cfut_buf_reader_deinit(&r);
    cfut_stream_close(b);
}
END_TEST

static Suite *
codec_suite(void)
{
    Suite *s = suite_create("codec");
    TCase *tc = tcase_create("lines");
    testkit_fixture(tc);
    tcase_add_test(tc,
                   test_codec_lines_end_with_lf_or_crlf_and_lose_their_ending);
    tcase_add_test(tc, test_codec_a_line_of_exactly_max_bytes_passes);
    tcase_add_test(tc, test_codec_an_over_long_line_is_emsgsize_then_skipped);
    tcase_add_test(tc,
                   test_codec_a_line_decode_dropped_at_any_await_loses_nothing);
    tcase_add_test(tc,
                   test_codec_line_encode_describes_the_line_and_its_ending);
    tcase_add_test(tc, test_codec_line_codec_init_checks_its_limits);
    suite_add_tcase(s, tc);

    tc = tcase_create("length-prefixed");
    testkit_fixture(tc);
    tcase_add_test(tc, test_codec_u16_and_u32_frames_split_at_every_byte);
    tcase_add_test(
        tc,
        test_codec_an_over_long_frame_stops_the_codec_and_allocates_nothing);
    tcase_add_test(tc, test_codec_the_end_inside_a_frame_is_eproto);
    tcase_add_test(
        tc, test_codec_a_frame_decode_dropped_at_any_await_loses_nothing);
    tcase_add_test(tc, test_codec_lenpfx_encode_writes_a_big_endian_prefix);
    tcase_add_test(
        tc, test_codec_lenpfx_codec_init_wants_a_frame_to_fit_the_buffer);
    suite_add_tcase(s, tc);

    tc = tcase_create("round trip");
    testkit_executor_fixture(tc);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_codec_frames_round_trip_over_a_socketpair);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return testkit_run(codec_suite());
}
