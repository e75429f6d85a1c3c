/*
 * cfut_ws.c: the WebSocket stream once open, its reading side and its
 * calls: wslay's frame layer parses frame headers and unmasks payloads;
 * this file is the message layer around it on the way in (opcodes,
 * fragmentation, control frames, the closing handshake, limits, close
 * codes), the stream vtable, the public calls and the handshake future.
 * Frames on the way out are built in cfut_ws_out.c; the HTTP handshake is
 * cfut_ws_handshake.c. No I/O of its own: bytes come from and go to the
 * inner stream.
 */
#include "cfut_ws_int.h"

#include <string.h>

/* The default limits (cfut_ws.h). */
#define DEFAULT_MAX_HEAD 8192u
#define DEFAULT_MAX_FIELDS 64u
#define DEFAULT_MAX_FRAME ((uint64_t)CFUT_FRAME_DEFAULT_MAX_LEN + 4u)
#define DEFAULT_MAX_MESSAGE ((uint64_t)16u << 20)
#define DEFAULT_WRITE_BUFFER 32768u
#define MIN_WRITE_BUFFER 1024u
/* Bytes a failed connection still reads and drops, so that closing it
 * does not reset the peer before it has read our close frame. */
#define DRAIN_MAX 65536u

static const struct cfut_stream_vtable ws_vtable;

static struct ws *
ws_of(const struct cfut_stream *s)
{
    CFUT_ASSERT(s != NULL && s->vtable == &ws_vtable,
                "not a WebSocket stream (cfut_ws_stream_new)");
    return cfut_container_of(s, struct ws, base);
}

/* ---- UTF-8 (close reasons) ---- */

bool
cfut__ws_utf8_valid(const uint8_t *p, size_t len)
{
    size_t i = 0;
    while (i < len) {
        uint8_t c = p[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t n;
        uint32_t cp, min;
        if ((c & 0xe0) == 0xc0) {
            n = 1, cp = c & 0x1fu, min = 0x80;
        } else if ((c & 0xf0) == 0xe0) {
            n = 2, cp = c & 0x0fu, min = 0x800;
        } else if ((c & 0xf8) == 0xf0) {
            n = 3, cp = c & 0x07u, min = 0x10000;
        } else {
            return false;
        }
        if (len - i - 1 < n)
            return false;
        for (size_t k = 1; k <= n; k++) {
            if ((p[i + k] & 0xc0) != 0x80)
                return false;
            cp = cp << 6 | (p[i + k] & 0x3fu);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += n + 1;
    }
    return true;
}

/* Close codes a peer may send (RFC 6455 7.4, the IANA registry). */
static bool
code_may_be_sent(uint16_t code)
{
    return (code >= 1000 && code <= 1014 && code != 1004 && code != 1005 &&
            code != 1006) ||
           (code >= 3000 && code <= 4999);
}

/* ---- reading: the message layer ---- */

/*
 * Ends the read side: a close frame with 'code' goes out (unless one was
 * queued already), then reads report 'status'.
 */
static void
end_reading(struct ws *ws, uint16_t code, int status)
{
    if (!ws->close_queued) {
        ws->close_queued = true;
        ws->close_code = code;
        ws->close_reason_len = 0;
    }
    ws->rd_status = status;
    ws->rd_closing = true;
}

/* Fails the connection: a close frame with 'code', then CFUT_EPROTO. */
static void
fail(struct ws *ws, uint16_t code)
{
    end_reading(ws, code, CFUT_EPROTO);
}

static void
on_control(struct ws *ws)
{
    switch (ws->frame_op) {
    case WSLAY_PING:
        ws->st.n_pings_in++;
        ws->pong_pending = true; /* a newer ping replaces an older one */
        memcpy(ws->pong, ws->ctrl, ws->ctrl_len);
        ws->pong_len = ws->ctrl_len;
        return;
    case WSLAY_PONG:
        ws->st.n_pongs_in++;
        return;
    default: { /* WSLAY_CONNECTION_CLOSE */
        uint16_t code = 0;
        if (ws->ctrl_len == 1) {
            fail(ws, 1002);
            return;
        }
        if (ws->ctrl_len >= 2) {
            code = (uint16_t)(ws->ctrl[0] << 8 | ws->ctrl[1]);
            if (!code_may_be_sent(code)) {
                fail(ws, 1002);
                return;
            }
            if (!cfut__ws_utf8_valid(ws->ctrl + 2, ws->ctrl_len - 2)) {
                fail(ws, 1007);
                return;
            }
        }
        ws->st.close_received = code != 0 ? code : 1005;
        end_reading(ws, code, CFUT_EEOF); /* answered with the same code */
    }
    }
}

/* Checks the header of a new frame; on a violation, fails the connection. */
static void
frame_start(struct ws *ws, const struct wslay_frame_iocb *io)
{
    uint8_t op = io->opcode;
    ws->st.n_frames_in++;
    if (io->rsv != 0 || (io->mask != 0) != (ws->role == CFUT_WS_SERVER)) {
        fail(ws, 1002);
        return;
    }
    if (op & 0x8u) {
        /* wslay checked length <= 125 and FIN for control frames. */
        if (op > WSLAY_PONG) {
            fail(ws, 1002);
            return;
        }
        ws->ctrl_len = 0;
    } else if (op == WSLAY_TEXT_FRAME) {
        fail(ws, 1003);
        return;
    } else if (op > WSLAY_BINARY_FRAME ||
               (op == WSLAY_BINARY_FRAME) == ws->in_message) {
        fail(ws, 1002); /* reserved, or a message inside a message, or a
                           continuation of nothing */
        return;
    } else if (io->payload_length > ws->max_frame ||
               io->payload_length > ws->max_message - ws->message_len) {
        fail(ws, 1009);
        return;
    } else {
        ws->in_message = true;
        ws->message_len += io->payload_length;
    }
    ws->in_frame = true;
    ws->frame_op = op;
    ws->frame_fin = io->fin;
    ws->frame_left = io->payload_length;
}

/* Takes one piece of a frame from wslay. */
static void
on_frame_data(struct ws *ws, const struct wslay_frame_iocb *io)
{
    if (!ws->in_frame) {
        frame_start(ws, io);
        if (ws->rd_closing)
            return;
    }
    ws->frame_left -= io->data_length;
    if (ws->frame_op & 0x8u) {
        memcpy(ws->ctrl + ws->ctrl_len, io->data, io->data_length);
        ws->ctrl_len += io->data_length;
    } else {
        ws->chunk = io->data;
        ws->chunk_len = io->data_length;
    }
    if (ws->frame_left != 0)
        return;
    ws->in_frame = false;
    if (ws->frame_op & 0x8u) {
        on_control(ws);
    } else if (ws->frame_fin) {
        ws->in_message = false;
        ws->message_len = 0;
        ws->st.n_messages_in++;
    }
}

/*
 * Parses frames until payload is ready, the inner stream is pending, or
 * the connection ends. Returns 1 (payload in 'chunk', or the end in
 * 'rd_closing'/'rd_status'), or 0 (pending).
 */
static int
parse(struct ws *ws)
{
    while (ws->chunk_len == 0 && !ws->rd_closing && ws->rd_status == 0) {
        struct wslay_frame_iocb io;
        memset(&io, 0, sizeof io);
        ssize_t r = wslay_frame_recv(ws->fr, &io);
        if (r == WSLAY_ERR_WANT_READ) {
            if (ws->rd_pending)
                return 0;
            if (ws->io_status != 0) {
                /* The connection ended with no closing handshake. */
                ws->rd_status = ws->io_status;
                if (ws->io_status == CFUT_EEOF && !ws->own_close)
                    ws->rd_status = CFUT_ECONNRESET;
                return 1;
            }
            continue; /* some bytes came, not a whole header yet */
        }
        if (r < 0) {
            fail(ws, 1002); /* a malformed header (wslay: WSLAY_ERR_PROTO) */
            return 1;
        }
        on_frame_data(ws, &io);
    }
    return 1;
}

/*
 * The end of the read side: the close frame goes out, the inner write
 * side is shut, a failed connection drops what the peer still sent.
 */
static enum cfut_poll
finish_read(struct ws *ws, struct cfut_context *cx,
            struct cfut_stream_result *res)
{
    if (ws->rd_closing) {
        if (cfut__ws_flush(ws, cx) == 0) {
            cfut_waker_register(&ws->rd_waker, cx->waker);
            return CFUT_PENDING;
        }
        if (!ws->shut_inner) {
            struct cfut_stream_result r;
            if (cfut_stream_poll_shutdown(ws->inner, cx, &r) == CFUT_PENDING) {
                cfut_waker_register(&ws->rd_waker, cx->waker);
                return CFUT_PENDING;
            }
            ws->shut_inner = true;
            if (ws->rd_status == CFUT_EPROTO) {
                /* Unread bytes would make closing the socket reset it. */
                size_t drained = 0;
                struct cfut_stream_result d;
                while (drained < DRAIN_MAX && ws->io_status == 0 &&
                       cfut_stream_poll_read(ws->inner, cx, ws->obuf, ws->o_cap,
                                             &d) == CFUT_READY &&
                       d.status == 0)
                    drained += d.n;
            }
        }
    }
    res->status = ws->rd_status;
    res->n = 0;
    return CFUT_READY;
}

/* Copies parsed payload into the caller's buffer. */
static size_t
deliver(struct ws *ws, unsigned char *buf, size_t cap)
{
    size_t n = ws->chunk_len < cap ? ws->chunk_len : cap;
    memcpy(buf, ws->chunk, n);
    ws->chunk += n;
    ws->chunk_len -= n;
    return n;
}

static enum cfut_poll
ws_read(struct cfut_stream *s, struct cfut_context *cx, void *buf, size_t cap,
        struct cfut_stream_result *res)
{
    struct ws *ws = ws_of(s);
    int open = cfut__ws_poll_open(ws, cx, &ws->rd_waker, res);
    if (open <= 0)
        return open == 0 ? CFUT_PENDING : CFUT_READY;
    /* Pongs, a close frame or data that wait for the socket go first. */
    if (ws->o_off < ws->o_len || ws->pong_pending ||
        (ws->close_queued && !ws->close_written))
        (void)cfut__ws_flush(ws, cx);
    size_t n = 0;
    ws->rd_pending = false;
    /* Fill the buffer with as many frames' payload as have arrived. */
    while (n < cap && parse(ws) == 1 && ws->chunk_len > 0)
        n += deliver(ws, (unsigned char *)buf + n, cap - n);
    if (ws->pong_pending)
        (void)cfut__ws_flush(ws, cx); /* answer a ping at once */
    if (n > 0) {
        res->status = 0;
        res->n = n;
        return CFUT_READY;
    }
    if (ws->rd_closing || ws->rd_status != 0)
        return finish_read(ws, cx, res);
    cfut_waker_register(&ws->rd_waker, cx->waker);
    return CFUT_PENDING;
}

/* ---- writing ---- */

static enum cfut_poll
ws_write(struct cfut_stream *s, struct cfut_context *cx,
         const struct cfut_iovec *iov, size_t n_iov,
         struct cfut_stream_result *res)
{
    struct ws *ws = ws_of(s);
    int open = cfut__ws_poll_open(ws, cx, &ws->wr_waker, res);
    if (open <= 0)
        return open == 0 ? CFUT_PENDING : CFUT_READY;
    int rc = 0;
    size_t n = 0, total = 0;
    for (size_t i = 0; i < n_iov; i++)
        total += iov[i].len;
    if (total == 0) {
        /* Nothing to write: done at once (no empty message is sent). */
    } else if (ws->close_queued) {
        rc = ws->own_close ? CFUT_ESTATE : CFUT_ECONNRESET;
    } else if ((rc = cfut__ws_flush(ws, cx)) >= 0) {
        rc = 0;
        n = cfut__ws_encode(ws, iov, n_iov);
        if (n == 0) {
            /* The buffer is full: the inner write waits. */
            cfut_waker_register(&ws->wr_waker, cx->waker);
            return CFUT_PENDING;
        }
        /* A failure here shows at the next poll; these bytes were taken. */
        (void)cfut__ws_flush(ws, cx);
    }
    res->status = rc;
    res->n = n;
    return CFUT_READY;
}

static enum cfut_poll
ws_shutdown(struct cfut_stream *s, struct cfut_context *cx,
            struct cfut_stream_result *res)
{
    struct ws *ws = ws_of(s);
    int open = cfut__ws_poll_open(ws, cx, &ws->wr_waker, res);
    if (open <= 0)
        return open == 0 ? CFUT_PENDING : CFUT_READY;
    if (!ws->close_queued) {
        ws->close_queued = true;
        ws->own_close = true;
        if (ws->close_code == 0)
            ws->close_code = 1000;
    }
    int rc = cfut__ws_flush(ws, cx);
    if (rc == 0) {
        cfut_waker_register(&ws->wr_waker, cx->waker);
        return CFUT_PENDING;
    }
    res->status = rc < 0 ? rc : 0;
    res->n = 0;
    return CFUT_READY;
}

static void
ws_close(struct cfut_stream *s)
{
    struct ws *ws = ws_of(s);
    cfut_stream_close(ws->inner);
    wslay_frame_context_free(ws->fr);
    cfut_free(ws->obuf);
    cfut__ws_drop_head(ws);
    cfut_waker_drop(&ws->rd_waker);
    cfut_waker_drop(&ws->wr_waker);
    cfut_waker_drop(&ws->hs_waker);
    cfut_free(ws);
}

static const struct cfut_stream_vtable ws_vtable = {
    ws_read, ws_write, ws_shutdown, ws_close, "ws_stream",
};

/* ---- the public calls ---- */

int
cfut_ws_stream_new(struct cfut_stream *inner, enum cfut_ws_role role,
                   const struct cfut_ws_config *cfg, struct cfut_stream **out)
{
    struct cfut_ws_config c;
    memset(&c, 0, sizeof c);
    if (cfg != NULL)
        c = *cfg;
    if (inner == NULL || out == NULL ||
        (role != CFUT_WS_SERVER && role != CFUT_WS_CLIENT) ||
        (c.write_buffer != 0 && c.write_buffer < MIN_WRITE_BUFFER))
        return CFUT_EINVAL;
    struct ws *ws = cfut_alloc(sizeof *ws);
    if (ws == NULL)
        return CFUT_ENOMEM;
    memset(ws, 0, sizeof *ws);
    ws->base.vtable = &ws_vtable;
    ws->role = role;
    ws->max_head = c.max_head != 0 ? c.max_head : DEFAULT_MAX_HEAD;
    ws->max_fields = c.max_fields != 0 ? c.max_fields : DEFAULT_MAX_FIELDS;
    ws->max_frame = c.max_frame != 0 ? c.max_frame : DEFAULT_MAX_FRAME;
    ws->max_message = c.max_message != 0 ? c.max_message : DEFAULT_MAX_MESSAGE;
    ws->frame_messages = c.frame_messages;
    ws->o_cap = c.write_buffer != 0 ? c.write_buffer : DEFAULT_WRITE_BUFFER;
    ws->rd_waker = ws->wr_waker = ws->hs_waker = CFUT_WAKER_EMPTY;
    int rc = CFUT_ENOMEM;
    ws->obuf = cfut_alloc(ws->o_cap);
    if (ws->obuf == NULL)
        goto free_ws;
    ws->head = cfut_alloc(ws->max_head);
    if (ws->head == NULL)
        goto free_obuf;
    rc = cfut__ws_handshake_prepare(ws, &c);
    if (rc < 0)
        goto free_head;
    /* wslay's context is the one block from malloc, not cfut_alloc(). */
    if (wslay_frame_context_init(&ws->fr, &cfut__ws_frame_callbacks, ws) != 0) {
        rc = CFUT_ENOMEM;
        goto free_head;
    }
    ws->inner = inner;
    *out = &ws->base;
    return 0;

free_head:
    cfut_free(ws->head);
free_obuf:
    cfut_free(ws->obuf);
free_ws:
    cfut_free(ws);
    return rc;
}

bool
cfut_ws_is_ws(const struct cfut_stream *s)
{
    return s != NULL && s->vtable == &ws_vtable;
}

void
cfut_ws_get_stats(const struct cfut_stream *s, struct cfut_ws_stats *out)
{
    *out = ws_of(s)->st;
}

int
cfut_ws_set_close_code(struct cfut_stream *s, uint16_t code, const char *reason)
{
    if (!cfut_ws_is_ws(s) || !code_may_be_sent(code))
        return CFUT_EINVAL;
    struct ws *ws = ws_of(s);
    size_t len = reason != NULL ? strlen(reason) : 0;
    if (len > sizeof ws->close_reason ||
        !cfut__ws_utf8_valid((const uint8_t *)reason, len))
        return CFUT_EINVAL;
    if (ws->close_queued)
        return CFUT_ESTATE;
    ws->close_code = code;
    if (len != 0)
        memcpy(ws->close_reason, reason, len);
    ws->close_reason_len = len;
    return 0;
}

/* ---- the handshake future ---- */

static enum cfut_poll
handshake_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct cfut_ws_handshake *h =
        cfut_container_of(f, struct cfut_ws_handshake, base);
    struct ws *ws = ws_of(h->ws);
    ws->cx = cx;
    int rc = cfut__ws_ensure_open(ws, cx);
    if (rc == 0) {
        cfut_waker_register(&ws->hs_waker, cx->waker);
        return CFUT_PENDING;
    }
    *(int *)out = rc < 0 ? rc : 0;
    return CFUT_READY;
}

static void
handshake_drop(struct cfut_future *f)
{
    struct cfut_ws_handshake *h =
        cfut_container_of(f, struct cfut_ws_handshake, base);
    cfut_waker_drop(&ws_of(h->ws)->hs_waker);
}

static const struct cfut_future_vtable handshake_vtable = {
    handshake_poll, handshake_drop, sizeof(int), "cfut_ws_handshake", NULL,
};

void
cfut_ws_handshake_init(struct cfut_ws_handshake *f, struct cfut_stream *ws)
{
    (void)ws_of(ws);
    cfut_future_init(&f->base, &handshake_vtable);
    f->ws = ws;
}
