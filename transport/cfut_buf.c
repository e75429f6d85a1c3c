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
    unsigned char hdr[CFUT_FRAME_HEADER_SIZE];
    if (len > SIZE_MAX - pre_len)
        return CFUT_EMSGSIZE;
    int rc = cfut_frame_encode_header(hdr, kind, id, pre_len + len, max_len);
    if (rc < 0)
        return rc;
    rc = cfut__buf_reserve(b, sizeof hdr + pre_len + len);
    if (rc < 0)
        return rc;
    memcpy(b->data + b->len, hdr, sizeof hdr);
    b->len += sizeof hdr;
    if (pre_len != 0)
        memcpy(b->data + b->len, pre, pre_len);
    b->len += pre_len;
    if (len != 0)
        memcpy(b->data + b->len, payload, len);
    b->len += len;
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
