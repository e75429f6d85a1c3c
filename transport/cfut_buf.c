/*
 * cfut_buf.c: the transport's byte buffers (cfut_buf_int.h): growth with
 * compaction, frame queueing and the batched flush, for the client
 * (cfut_transport.c) and the server (cfut_server.c).
 */
#include "cfut_buf_int.h"

#include <stdint.h>
#include <string.h>

#include "cfut_alloc_int.h"
#include "cfut_errors.h"

int
cfut__buf_reserve(struct cfut__buf *b, size_t extra)
{
    if (b->off != 0 && b->off == b->len) {
        b->off = 0;
        b->len = 0;
    }
    if (b->cap - b->len >= extra)
        return 0;
    if (b->off != 0) {
        memmove(b->data, b->data + b->off, b->len - b->off);
        b->len -= b->off;
        b->off = 0;
        if (b->cap - b->len >= extra)
            return 0;
    }
    size_t cap = b->cap != 0 ? b->cap : 4096;
    while (cap - b->len < extra)
        cap *= 2;
    unsigned char *p = cfut_alloc(cap);
    if (p == NULL)
        return CFUT_ENOMEM;
    if (b->len != 0)
        memcpy(p, b->data, b->len);
    cfut_free(b->data);
    b->data = p;
    b->cap = cap;
    return 0;
}

void
cfut__buf_free(struct cfut__buf *b)
{
    cfut_free(b->data);
    memset(b, 0, sizeof *b);
}

int
cfut__buf_queue_frame(struct cfut__buf *b, enum cfut_frame_kind kind,
                      const struct cfut_id *id, const void *pre, size_t pre_len,
                      const void *payload, size_t len, size_t max_len)
{
    if (max_len == 0)
        max_len = CFUT_FRAME_DEFAULT_MAX_LEN;
    /* The callers pass a kind of their own and a valid maximum: only the
     * length is checked here (cfut_frame_encode_header() checks all). */
    if (len > SIZE_MAX - pre_len || max_len < CFUT_FRAME_MIN_LEN ||
        pre_len + len > max_len - CFUT_FRAME_MIN_LEN)
        return CFUT_EMSGSIZE;
    size_t need = CFUT_FRAME_HEADER_SIZE + pre_len + len;
    if (b->cap - b->len < need) {
        int rc = cfut__buf_reserve(b, need);
        if (rc < 0)
            return rc;
    }
    /* The header written in place: no staging copy. */
    unsigned char *p = b->data + b->len;
    uint32_t flen = (uint32_t)(CFUT_FRAME_MIN_LEN + pre_len + len);
    p[0] = (unsigned char)(flen >> 24);
    p[1] = (unsigned char)(flen >> 16);
    p[2] = (unsigned char)(flen >> 8);
    p[3] = (unsigned char)flen;
    p[4] = (unsigned char)CFUT_FRAME_VERSION;
    p[5] = (unsigned char)kind;
    p[6] = 0;
    p[7] = 0;
    memcpy(p + 8, id->bytes, CFUT_ID_SIZE);
    p += CFUT_FRAME_HEADER_SIZE;
    if (pre_len != 0)
        memcpy(p, pre, pre_len);
    if (len != 0)
        memcpy(p + pre_len, payload, len);
    b->len += need;
    return 0;
}

/*
 * Writes queued bytes until the buffer is empty or the stream is full.
 * Returns: 1 when everything was written, 0 when the stream is pending,
 *   or an error status.
 */
int
cfut__buf_flush(struct cfut_stream *s, struct cfut_context *cx,
                struct cfut__buf *b, uint64_t *n_writes)
{
    while (b->off < b->len) {
        struct cfut_iovec iov = {b->data + b->off, b->len - b->off};
        struct cfut_stream_result res;
        if (cfut_stream_poll_write(s, cx, &iov, 1, &res) == CFUT_PENDING)
            return 0;
        if (res.status != 0)
            return res.status; /* the system's error: -EPIPE, ... */
        (*n_writes)++;
        b->off += res.n;
    }
    b->off = 0;
    b->len = 0;
    return 1;
}
