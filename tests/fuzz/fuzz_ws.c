/*
 * fuzz_ws.c: a libFuzzer target for the WebSocket stream (cfut_ws.h): the
 * opening handshake parser (request on the server side, answer on the
 * client side), wslay's frame layer under it and cfut's message layer over
 * it (fragments, control frames, close codes, limits).
 *
 * The first bytes choose the role, the limits and how the peer's bytes
 * are cut; the rest is what the peer sends, over an in-memory stream pair.
 * The stream must then, within a bounded number of polls, end its reads
 * with one of the statuses cfut_ws.h documents, never hand out more bytes
 * than the peer sent, answer the handshake only with a documented status,
 * never allocate above its configured sizes, and leave nothing allocated
 * once closed.
 * Built by tests/fuzz/run_fuzz with clang -fsanitize=fuzzer,address,undefined.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "cfut_stream.h"
#include "cfut_ws.h"
#include "fuzzkit.h"

/* Reads and drops what the stream under test sent to the peer. */
static void
drain(struct cfut_stream *peer, struct cfut_context *cx)
{
    unsigned char buf[512];
    for (;;) {
        struct cfut_stream_result r;
        if (cfut_stream_poll_read(peer, cx, buf, sizeof buf, &r) ==
                CFUT_PENDING ||
            r.status != 0)
            return;
    }
}

static bool
documented_read_end(int status)
{
    return status == CFUT_EEOF || status == CFUT_ECONNRESET ||
           status == CFUT_EPROTO || status == CFUT_EMSGSIZE;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_input in = {data, size};
    if (size < 4)
        return 0;
    uint8_t b0 = fuzz_byte(&in), b1 = fuzz_byte(&in), b2 = fuzz_byte(&in);
    enum cfut_ws_role role = (b0 & 1) ? CFUT_WS_CLIENT : CFUT_WS_SERVER;
    struct cfut_ws_config cfg = {0};
    static const uint64_t frames[4] = {0, 16, 125, 1000};
    static const uint64_t messages[4] = {0, 40, 300, 5000};
    static const size_t heads[4] = {0, 64, 300, 2000};
    cfg.max_frame = frames[(b0 >> 1) & 3];
    cfg.max_message = messages[(b0 >> 3) & 3];
    cfg.max_head = heads[(b0 >> 5) & 3];
    cfg.max_fields = (b0 & 0x80) ? 3 : 0;
    cfg.frame_messages = (b2 & 1) != 0;
    size_t piece = b1 == 0 ? 4096 : b1; /* bytes the peer writes at once */
    size_t cap = (b2 >> 1) == 0 ? 1 : (size_t)(b2 >> 1) * 8; /* pair buffer */
    size_t rd_cap = (b2 & 0x80) ? 7 : 1024; /* the reader's buffer */

    fuzz_begin();
    struct cfut_stream *peer = NULL, *inner = NULL, *ws = NULL;
    FUZZ_CHECK(cfut_mem_stream_pair_new(cap, &peer, &inner) == 0);
    FUZZ_CHECK(cfut_ws_stream_new(inner, role, &cfg, &ws) == 0);

    struct cfut_context cx;
    cfut_context_init(&cx, cfut_waker_noop());
    unsigned char buf[1024];
    size_t got = 0; /* payload bytes the stream handed out */
    int end = 0;    /* the status the reads ended with */
    struct feeder fd = {peer, in, piece, false};
    /* Every poll moves a byte or ends: a bound far above that is a hang. */
    size_t limit = 64 * (fd.in.n + 64);
    for (size_t step = 0; end == 0; step++) {
        FUZZ_CHECK(step < limit);
        feed(&fd, &cx);
        drain(peer, &cx);
        struct cfut_stream_result r;
        if (cfut_stream_poll_read(ws, &cx, buf, rd_cap, &r) == CFUT_READY) {
            if (r.status == 0) {
                FUZZ_CHECK(r.n >= 1 && r.n <= rd_cap);
                got += r.n;
                FUZZ_CHECK(got <= size);
            } else {
                FUZZ_CHECK(documented_read_end(r.status));
                end = r.status;
            }
        }
    }

    struct cfut_ws_stats st;
    cfut_ws_get_stats(ws, &st);
    if (role == CFUT_WS_SERVER)
        FUZZ_CHECK(st.http_status == 0 || st.http_status == 101 ||
                   st.http_status == 400 || st.http_status == 426 ||
                   st.http_status == 431);
    if (st.http_status != 101)
        FUZZ_CHECK(got == 0); /* no payload before an accepted handshake */
    /* A frame's or message's length never becomes an allocation: the
     * largest block is the write buffer or the head buffer. */
    size_t head = cfg.max_head == 0 ? 8192 : cfg.max_head;
    FUZZ_CHECK(fuzz_max_alloc <= 32768 + 1024 || fuzz_max_alloc <= head + 1024);
    cfut_stream_close(ws);
    cfut_stream_close(peer);
    FUZZ_END();
    return 0;
}
