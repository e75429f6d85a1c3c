/*
 * fuzz_codec.c: a libFuzzer target for the buffered reader's framed codecs
 * (cfut_codec.h): the line codec and the length-prefixed codec with 2- and
 * 4-byte prefixes, over an in-memory stream that cuts the input at a
 * chosen size (down to one byte at a time).
 *
 * Each decoded item is checked against a model of the format computed
 * from the whole input: lines and frames come out whole, in order, equal
 * to the bytes they came from; an over-long line gives CFUT_EMSGSIZE once
 * and decoding resumes after it; an over-long length prefix gives
 * CFUT_EMSGSIZE for good; the end gives CFUT_EEOF at a boundary and
 * CFUT_EPROTO inside a frame. Nothing is allocated per item, and nothing
 * is left allocated.
 * Built by tests/fuzz/run_fuzz with clang -fsanitize=fuzzer,address,undefined.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "cfut_codec.h"
#include "cfut_stream.h"
#include "fuzzkit.h"

static struct cfut_buf_result
run(struct cfut_future *f, struct feeder *fd, struct cfut_context *cx,
    size_t total)
{
    struct cfut_buf_result res;
    for (size_t step = 0;; step++) {
        FUZZ_CHECK(step < 4 * total + 64); /* a byte per poll, or a hang */
        if (cfut_future_poll(f, cx, &res) == CFUT_READY)
            break;
        feed(fd, cx);
    }
    cfut_future_drop(f);
    return res;
}

/* The line codec against its model: 'm' walks the input as lines. */
static void
check_lines(struct cfut_line_codec *c, const uint8_t *m, size_t n, size_t max,
            struct feeder *fd, struct cfut_context *cx)
{
    size_t pos = 0;
    for (;;) {
        struct cfut_line_decode f;
        cfut_line_decode_init(&f, c);
        struct cfut_buf_result r = run(&f.base, fd, cx, n);
        if (pos == n) {
            FUZZ_CHECK(r.status == CFUT_EEOF && r.len == 0);
            return;
        }
        const uint8_t *nl = memchr(m + pos, '\n', n - pos);
        size_t end = nl != NULL ? (size_t)(nl - m) : n; /* exclusive */
        size_t len = end - pos;
        if (nl != NULL && len > 0 && m[end - 1] == '\r')
            len--; /* "\r\n" ends it */
        size_t next = nl != NULL ? end + 1 : n;
        if (len > max) {
            FUZZ_CHECK(r.status == CFUT_EMSGSIZE);
            FUZZ_CHECK(r.len <= len && memcmp(r.data, m + pos, r.len) == 0);
        } else if (nl == NULL) {
            /* A last line cut off by the end: its bytes (a trailing '\r'
             * may be kept or not: cfut_codec.h does not say). */
            FUZZ_CHECK(r.status == 0);
            FUZZ_CHECK(r.len == len ||
                       (len > 0 && m[n - 1] == '\r' && r.len == len - 1));
            FUZZ_CHECK(memcmp(r.data, m + pos, r.len) == 0);
        } else {
            FUZZ_CHECK(r.status == 0 && r.len == len);
            FUZZ_CHECK(len == 0 || memcmp(r.data, m + pos, len) == 0);
        }
        pos = next;
    }
}

/* The length-prefixed codec against its model. */
static void
check_frames(struct cfut_lenpfx_codec *c, const uint8_t *m, size_t n,
             unsigned width, size_t max, struct feeder *fd,
             struct cfut_context *cx)
{
    size_t pos = 0;
    for (;;) {
        struct cfut_lenpfx_decode f;
        cfut_lenpfx_decode_init(&f, c);
        struct cfut_buf_result r = run(&f.base, fd, cx, n);
        if (pos == n) {
            FUZZ_CHECK(r.status == CFUT_EEOF);
            return;
        }
        if (n - pos < width) {
            FUZZ_CHECK(r.status == CFUT_EPROTO);
            return;
        }
        size_t len = 0;
        for (unsigned i = 0; i < width; i++)
            len = len << 8 | m[pos + i];
        if (len > max) {
            FUZZ_CHECK(r.status == CFUT_EMSGSIZE);
            /* For good: the stream is out of step. */
            struct cfut_lenpfx_decode g;
            cfut_lenpfx_decode_init(&g, c);
            FUZZ_CHECK(run(&g.base, fd, cx, n).status == CFUT_EMSGSIZE);
            return;
        }
        if (n - pos - width < len) {
            FUZZ_CHECK(r.status == CFUT_EPROTO);
            return;
        }
        FUZZ_CHECK(r.status == 0 && r.len == len);
        FUZZ_CHECK(len == 0 || memcmp(r.data, m + pos + width, len) == 0);
        pos += width + len;
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_input in = {data, size};
    if (size < 3)
        return 0;
    uint8_t b0 = fuzz_byte(&in), b1 = fuzz_byte(&in), b2 = fuzz_byte(&in);
    unsigned kind = b0 % 3; /* 0: lines, 1: u16 prefix, 2: u32 prefix */
    static const size_t maxes[4] = {1, 5, 40, 1000};
    size_t max = maxes[(b0 >> 2) & 3];
    enum cfut_line_ending ending = (b0 & 0x10) ? CFUT_LINE_CRLF : CFUT_LINE_LF;
    size_t slack = b2 & 15; /* reader capacity beyond the minimum */

    fuzz_begin();
    struct cfut_stream *peer = NULL, *s = NULL;
    FUZZ_CHECK(cfut_mem_stream_pair_new(b1 == 0 ? 1 : b1, &peer, &s) == 0);
    struct feeder fd = {peer, in, (b2 >> 4) == 0 ? 4096 : (size_t)(b2 >> 4),
                        false};
    struct cfut_context cx;
    cfut_context_init(&cx, cfut_waker_noop());
    struct cfut_buf_reader r;
    if (kind == 0) {
        FUZZ_CHECK(cfut_buf_reader_init(&r, s, NULL, max + 2 + slack) == 0);
        struct cfut_line_codec c;
        FUZZ_CHECK(cfut_line_codec_init(&c, &r, max, ending) == 0);
        check_lines(&c, in.p, in.n, max, &fd, &cx);
    } else {
        unsigned width = kind == 1 ? 2 : 4;
        FUZZ_CHECK(cfut_buf_reader_init(&r, s, NULL, max + width + slack) == 0);
        struct cfut_lenpfx_codec c;
        FUZZ_CHECK(cfut_lenpfx_codec_init(&c, &r, width, max) == 0);
        check_frames(&c, in.p, in.n, width, max, &fd, &cx);
    }
    /* The reader's buffer is the only block whose size depends on input. */
    FUZZ_CHECK(fuzz_max_alloc <= max + 4 + slack + 4096);
    cfut_buf_reader_deinit(&r);
    cfut_stream_close(s);
    cfut_stream_close(peer);
    FUZZ_END();
    return 0;
}
