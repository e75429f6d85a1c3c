/*
 * fuzz_frame.c: a libFuzzer target for the frame decoder. The first input
 * bytes choose a maximum length and a way to cut the rest into pieces; the
 * decoder must then either return frames that re-encode to exactly the
 * bytes it consumed, or a protocol error that stays put, and never read
 * out of bounds, leak, or allocate for a length above the maximum.
 * Built by tests/fuzz/run_fuzz with clang -fsanitize=fuzzer,address,undefined.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cfut_frame.h"
#include "fuzzkit.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    fuzz_begin();
    /* Byte 0: the maximum (small ones make oversized lengths easy). */
    static const size_t maxes[4] = {20, 64, 4096, 0};
    size_t max_len = maxes[data[0] & 3];
    size_t eff_max = max_len == 0 ? CFUT_FRAME_DEFAULT_MAX_LEN : max_len;
    /* Byte 1: the piece size (0 means all at once). */
    size_t piece = data[1];
    data += 2;
    size -= 2;

    struct cfut_frame_decoder d;
    if (cfut_frame_decoder_init(&d, max_len) != 0)
        abort();
    size_t off = 0;
    /* Bytes consumed since the last frame ended: they must re-encode. */
    size_t frame_start = 0;
    int err = 0;
    while (off < size && err == 0) {
        size_t end = piece == 0 ? size : off + piece;
        if (end > size)
            end = size;
        while (off < end) {
            size_t used = 0;
            struct cfut_frame f;
            int rc =
                cfut_frame_decoder_next(&d, data + off, end - off, &used, &f);
            if (rc < 0) {
                if (rc != CFUT_EPROTO)
                    abort();
                err = rc;
                break;
            }
            if (used > end - off)
                abort();
            off += used;
            if (rc == 0) {
                if (off != end)
                    abort();
                break;
            }
            /* A frame: re-encoding it gives the bytes it came from. */
            size_t flen = off - frame_start;
            if (flen != CFUT_FRAME_HEADER_SIZE + f.payload_len)
                abort();
            if (CFUT_FRAME_MIN_LEN + f.payload_len > eff_max)
                abort();
            unsigned char hdr[CFUT_FRAME_HEADER_SIZE];
            if (cfut_frame_encode_header(hdr, f.kind, &f.id, f.payload_len,
                                         max_len) != 0)
                abort();
            if (memcmp(hdr, data + frame_start, sizeof hdr) != 0)
                abort();
            if (f.payload_len != 0 &&
                memcmp(f.payload, data + frame_start + sizeof hdr,
                       f.payload_len) != 0)
                abort();
            frame_start = off;
        }
    }
    if (err != 0) {
        /* Sticky: the next call fails the same way. */
        size_t used = 0;
        struct cfut_frame f;
        if (cfut_frame_decoder_next(&d, data, size, &used, &f) != err)
            abort();
    }
    /* Nothing is ever allocated beyond the largest legal payload. */
    FUZZ_CHECK(fuzz_max_alloc <= eff_max - CFUT_FRAME_MIN_LEN);
    cfut_frame_decoder_deinit(&d);
    FUZZ_END();
    return 0;
}
