/*
 * cfut_buf_int.h: the transport's byte buffer (struct cfut__buf, with a
 * read offset), frame queueing into it and the batched flush of it to a
 * stream: what the client (cfut_transport.c) and the server
 * (cfut_server.c) both read and write with (cfut_buf.c). Internal: never
 * included by a public header.
 */
#ifndef CFUT_BUF_INT_H
#define CFUT_BUF_INT_H

#include <stddef.h>
#include <stdint.h>

#include "cfut_frame.h"
#include "cfut_stream.h"

/* A byte buffer: bytes [off, len) of 'data' are queued. */
struct cfut__buf {
    unsigned char *data;
    size_t off;
    size_t len;
    size_t cap;
};

/*
 * Makes room for 'extra' more bytes after 'len' (compacting first).
 * Returns: 0; CFUT_ENOMEM (the buffer is then unchanged but compacted).
 */
int cfut__buf_reserve(struct cfut__buf *b, size_t extra);

/* Frees the buffer's memory and empties it. */
void cfut__buf_free(struct cfut__buf *b);

/*
 * Appends a frame: header, then 'pre_len' bytes at 'pre', then 'len' bytes
 * at 'payload'.
 * Returns: 0; CFUT_EMSGSIZE over 'max_len'; CFUT_ENOMEM (nothing queued).
 */
int cfut__buf_queue_frame(struct cfut__buf *b, enum cfut_frame_kind kind,
                          const struct cfut_id *id, const void *pre,
                          size_t pre_len, const void *payload, size_t len,
                          size_t max_len);

/*
 * Writes the queued bytes of 'b' to 's', one write per batch, counting
 * writes in '*n_writes'.
 * Returns: 1 when 'b' is empty; 0 when the stream is pending; or the
 *   stream's write error (CFUT_ECONNRESET, -EPIPE, ...).
 */
int cfut__buf_flush(struct cfut_stream *s, struct cfut_context *cx,
                    struct cfut__buf *b, uint64_t *n_writes);

#endif /* CFUT_BUF_INT_H */
