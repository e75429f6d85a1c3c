/*
 * cfut_ws_int.h: what the WebSocket stream's files share: the stream's
 * state and the calls between them (cfut_ws.c: the way in, messages, the
 * closing handshake, the public calls; cfut_ws_out.c: the way out, frames
 * built and flushed; cfut_ws_handshake.c: the HTTP/1.1 Upgrade). Internal:
 * never included by a public header, and the only header that names
 * wslay's types.
 */
#ifndef CFUT_WS_INT_H
#define CFUT_WS_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <wslay/wslay.h>

#include "cfut_frame.h"
#include "cfut_ws.h"

/* The largest payload of a control frame (RFC 6455 5.5). */
#define WS_CTRL_MAX 125u
/* The largest frame header: 2 + 8 (length) + 4 (mask key). */
#define WS_HEADER_MAX 14u
/* Write-buffer room kept for control frames: a pong and a close. */
#define WS_CTRL_RESERVE (2u * (WS_HEADER_MAX + WS_CTRL_MAX))

/* Where the opening handshake is. */
enum ws_phase {
    WS_HS_SEND_REQUEST, /* client: the request is in 'obuf' */
    WS_HS_READ_HEAD,    /* reading the request (server) or answer (client) */
    WS_HS_SEND_ANSWER,  /* server: the answer is in 'obuf' */
    WS_HS_LINGER,       /* refused: shut our side, drop what is pending */
    WS_OPEN,            /* frames flow */
    WS_HS_FAILED        /* refused or broken: 'hs_status' says why */
};

struct ws {
    struct cfut_stream base;
    struct cfut_stream *inner;
    enum cfut_ws_role role;
    enum ws_phase phase;
    int hs_status; /* the handshake's failure, once WS_HS_FAILED */

    /* Limits. */
    size_t max_head;
    size_t max_fields;
    uint64_t max_frame;
    uint64_t max_message;
    bool frame_messages;

    /* The HTTP head: read into 'head'; bytes after it are the first frames. */
    char *head;      /* 'max_head' bytes; freed once they are consumed */
    size_t head_len; /* bytes read */
    size_t head_end; /* bytes of the head through CRLF CRLF; 0: not yet */
    size_t head_off; /* next byte after the head handed to wslay */
    char accept[29]; /* client: the Sec-WebSocket-Accept it expects */

    /* wslay's frame layer: parses and builds frame headers, (un)masks. */
    wslay_frame_context_ptr fr;
    struct cfut_context *cx;  /* the poll in progress, for the callbacks */
    bool rd_pending;          /* the inner read returned PENDING */
    int io_status;            /* the inner read's end (EEOF, ...) */
    struct cfut_id_gen masks; /* client: mask keys */
    struct cfut_id mask_bytes;
    unsigned n_masks_left;

    /* Reading. */
    bool in_frame;        /* inside a frame's payload */
    uint8_t frame_op;     /* its opcode */
    bool frame_fin;       /* its FIN bit */
    uint64_t frame_left;  /* its payload bytes not yet parsed */
    bool in_message;      /* a data message has begun and not ended */
    uint64_t message_len; /* its payload bytes so far */
    const uint8_t *chunk; /* parsed payload not yet handed to the reader */
    size_t chunk_len;
    uint8_t ctrl[WS_CTRL_MAX]; /* the control frame being read */
    size_t ctrl_len;
    int rd_status;   /* final read status (sticky) once nonzero */
    bool rd_closing; /* 'rd_status' is set: flush, shut, then report */
    bool shut_inner; /* the inner stream's write side is shut */

    /* Writing. */
    unsigned char *obuf; /* bytes [o_off, o_len) wait for the inner write */
    size_t o_off, o_len, o_cap;
    int wr_status;          /* the inner write failed (sticky) */
    uint64_t message_left;  /* frame_messages: bytes left of the message */
    bool message_open;      /* a message was started and not finished */
    unsigned char stash[4]; /* frame_messages: a length prefix, partial */
    size_t stash_len;
    bool pong_pending; /* a pong with 'pong' is due */
    uint8_t pong[WS_CTRL_MAX];
    size_t pong_len;
    bool close_queued;   /* a close frame is due or sent: no more data */
    bool close_written;  /* it is in 'obuf' (or sent) */
    bool own_close;      /* the caller's shutdown queued it */
    uint16_t close_code; /* its code; 0: none */
    uint8_t close_reason[123];
    size_t close_reason_len;

    struct cfut_waker rd_waker; /* a read that waits */
    struct cfut_waker wr_waker; /* a write or shutdown that waits */
    struct cfut_waker hs_waker; /* a handshake future that waits */
    struct cfut_ws_stats st;
};

/*
 * Runs the opening handshake one step further. Returns 1 when the stream
 * is open, 0 when pending (the waker of 'cx' is kept by the inner stream),
 * or the handshake's failure status (sticky).
 */
int cfut__ws_handshake(struct ws *ws, struct cfut_context *cx);

/*
 * Prepares the handshake at creation: a client's request and the answer
 * it expects. Returns 0; CFUT_EINVAL for a bad host or path or a request
 * that does not fit; getrandom()'s error as -errno.
 */
int cfut__ws_handshake_prepare(struct ws *ws, const struct cfut_ws_config *cfg);

/*
 * Writes 'obuf' to the inner stream. Returns 1 when it is empty, 0 when
 * pending, or the write's failure (sticky in 'wr_status').
 */
int cfut__ws_flush(struct ws *ws, struct cfut_context *cx);

/* Wakes the wakers kept by other polls, except the one of 'cx'. */
void cfut__ws_notify(struct ws *ws, struct cfut_context *cx);

/* wslay's frame callbacks: bytes in from the inner stream, frames out to
 * 'obuf', mask keys (cfut_ws_out.c). */
extern const struct wslay_frame_callbacks cfut__ws_frame_callbacks;

/* Frees the handshake's head buffer. */
void cfut__ws_drop_head(struct ws *ws);

/*
 * Encodes the caller's bytes ('iov', 'n_iov') as frames in 'obuf', as
 * many as fit. Returns how many bytes it took.
 */
size_t cfut__ws_encode(struct ws *ws, const struct cfut_iovec *iov,
                       size_t n_iov);

/* Runs the handshake if needed: 1 open, 0 pending, or its failure. */
int cfut__ws_ensure_open(struct ws *ws, struct cfut_context *cx);

/*
 * The start of every stream poll. Returns 1 when the stream is open; 0
 * when the poll must return PENDING (the waker of 'cx' is kept in
 * 'slot'); -1 when it must return READY with the handshake's failure,
 * which is then in 'res'.
 */
int cfut__ws_poll_open(struct ws *ws, struct cfut_context *cx,
                       struct cfut_waker *slot, struct cfut_stream_result *res);

/* Tells whether 'len' bytes at 'p' are valid UTF-8. */
bool cfut__ws_utf8_valid(const uint8_t *p, size_t len);

#endif /* CFUT_WS_INT_H */
