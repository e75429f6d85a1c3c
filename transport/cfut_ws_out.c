/*
 * cfut_ws_out.c: the WebSocket stream's way out, and its gates: wslay's
 * callbacks (bytes in from the inner stream, frames out to 'obuf', mask
 * keys), building data and control frames in 'obuf', encoding the caller's
 * bytes as messages, flushing 'obuf' to the inner stream, waking the other
 * polls, and the check that the stream is open (running the handshake)
 * that starts every poll. The message layer on the way in is cfut_ws.c.
 */
#include "cfut_ws_int.h"

#include <string.h>

/* ---- wslay's callbacks: bytes in from the inner stream, out to 'obuf' ---- */

void
cfut__ws_drop_head(struct ws *ws)
{
    cfut_free(ws->head);
    ws->head = NULL;
}

static ssize_t
fr_recv(uint8_t *buf, size_t len, int flags, void *user)
{
    (void)flags;
    struct ws *ws = user;
    if (ws->head != NULL) {
        /* The bytes that came after the HTTP head are the first frames. */
        size_t n = ws->head_len - ws->head_off;
        if (n > len)
            n = len;
        memcpy(buf, ws->head + ws->head_off, n);
        ws->head_off += n;
        if (ws->head_off == ws->head_len)
            cfut__ws_drop_head(ws);
        if (n > 0)
            return (ssize_t)n;
    }
    if (ws->rd_pending || ws->io_status != 0)
        return -1;
    struct cfut_stream_result res;
    if (cfut_stream_poll_read(ws->inner, ws->cx, buf, len, &res) ==
        CFUT_PENDING) {
        ws->rd_pending = true;
        return -1;
    }
    if (res.status != 0) {
        ws->io_status = res.status;
        return -1;
    }
    return (ssize_t)res.n;
}

static ssize_t
fr_send(const uint8_t *data, size_t len, int flags, void *user)
{
    (void)flags;
    struct ws *ws = user;
    /* Every caller made room for the whole frame first. */
    CFUT_ASSERT(ws->o_cap - ws->o_len >= len, "ws: frame overflows buffer");
    memcpy(ws->obuf + ws->o_len, data, len);
    ws->o_len += len;
    return (ssize_t)len;
}

static int
fr_genmask(uint8_t *buf, size_t len, void *user)
{
    struct ws *ws = user;
    if (len != 4)
        return -1;
    /* Two keys per id, avoiding the bytes with fixed UUID bits (6, 8). */
    if (ws->n_masks_left == 0) {
        cfut_id_gen_next(&ws->masks, &ws->mask_bytes);
        ws->n_masks_left = 2;
    }
    memcpy(buf, ws->mask_bytes.bytes + (ws->n_masks_left == 2 ? 0 : 10), 4);
    ws->n_masks_left--;
    return 0;
}

/* ---- building frames in 'obuf' ---- */

static void
compact(struct ws *ws)
{
    if (ws->o_off == 0)
        return;
    memmove(ws->obuf, ws->obuf + ws->o_off, ws->o_len - ws->o_off);
    ws->o_len -= ws->o_off;
    ws->o_off = 0;
}

/*
 * Starts a frame of 'len' payload bytes with its first 'n' bytes at 'p';
 * frame_feed() gives the rest.
 */
static void
frame_begin(struct ws *ws, uint8_t op, bool fin, uint64_t len, const void *p,
            size_t n)
{
    struct wslay_frame_iocb io;
    memset(&io, 0, sizeof io);
    io.fin = fin;
    io.opcode = op;
    io.mask = ws->role == CFUT_WS_CLIENT;
    io.payload_length = len;
    io.data = p;
    io.data_length = n;
    ssize_t r = wslay_frame_send(ws->fr, &io);
    CFUT_ASSERT(r == (ssize_t)n, "ws: wslay refused a frame");
    ws->st.n_frames_out++;
}

static void
frame_feed(struct ws *ws, const void *p, size_t n, uint64_t len)
{
    if (n == 0)
        return;
    struct wslay_frame_iocb io;
    memset(&io, 0, sizeof io);
    io.mask = ws->role == CFUT_WS_CLIENT;
    io.payload_length = len;
    io.data = p;
    io.data_length = n;
    ssize_t r = wslay_frame_send(ws->fr, &io);
    CFUT_ASSERT(r == (ssize_t)n, "ws: wslay did not take the payload");
}

static void
control_frame(struct ws *ws, uint8_t op, const uint8_t *p, size_t n)
{
    frame_begin(ws, op, true, n, p, n);
}

/* Puts the pong and the close frame that are due into 'obuf' if they fit. */
static void
emit_control(struct ws *ws)
{
    if (ws->phase != WS_OPEN || ws->close_written)
        return;
    compact(ws);
    if (ws->pong_pending && !ws->close_queued &&
        ws->o_cap - ws->o_len >= WS_HEADER_MAX + ws->pong_len) {
        control_frame(ws, WSLAY_PONG, ws->pong, ws->pong_len);
        ws->pong_pending = false;
    }
    if (ws->close_queued &&
        ws->o_cap - ws->o_len >= WS_HEADER_MAX + 2 + ws->close_reason_len) {
        uint8_t p[2 + sizeof ws->close_reason];
        size_t n = 0;
        if (ws->close_code != 0) {
            p[0] = (uint8_t)(ws->close_code >> 8);
            p[1] = (uint8_t)ws->close_code;
            memcpy(p + 2, ws->close_reason, ws->close_reason_len);
            n = 2 + ws->close_reason_len;
        }
        control_frame(ws, WSLAY_CONNECTION_CLOSE, p, n);
        ws->close_written = true;
        ws->pong_pending = false;
        ws->st.close_sent = ws->close_code != 0 ? ws->close_code : 1005;
    }
}

/* Where the caller's bytes are, while they are turned into frames. */
struct cursor {
    const struct cfut_iovec *iov;
    size_t n_iov, i, off;
    size_t left; /* bytes not yet taken */
};

/* Returns how many bytes follow contiguously, at '*p' ('left' > 0). */
static size_t
cursor_peek(struct cursor *c, const void **p)
{
    while (c->iov[c->i].len == c->off) {
        c->i++;
        c->off = 0;
    }
    *p = (const unsigned char *)c->iov[c->i].base + c->off;
    return c->iov[c->i].len - c->off;
}

/* Takes up to 'max' contiguous bytes: returns how many, at '*p'. */
static size_t
cursor_take(struct cursor *c, size_t max, const void **p)
{
    size_t n = cursor_peek(c, p);
    if (n > max)
        n = max;
    c->off += n;
    c->left -= n;
    return n;
}

/*
 * Turns bytes of 'iov' into data frames in 'obuf' while they fit, leaving
 * room for control frames. Returns the bytes taken.
 */
size_t
cfut__ws_encode(struct ws *ws, const struct cfut_iovec *iov, size_t n_iov)
{
    struct cursor c = {iov, n_iov, 0, 0, 0};
    for (size_t i = 0; i < n_iov; i++)
        c.left += iov[i].len;
    size_t taken = 0;
    compact(ws);
    while (c.left > 0 || ws->stash_len == 4) {
        if (ws->frame_messages && ws->message_left == 0) {
            /* A new transport frame: its length prefix says how long. The
             * prefix is read in place, or gathered when it comes split. */
            const void *p = ws->stash;
            if (ws->stash_len != 0 || cursor_peek(&c, &p) < 4) {
                while (ws->stash_len < 4 && c.left > 0) {
                    cursor_take(&c, 1, &p);
                    ws->stash[ws->stash_len++] = *(const unsigned char *)p;
                    taken++;
                }
                if (ws->stash_len < 4)
                    break;
                p = ws->stash;
            }
            const unsigned char *s = p;
            ws->message_left =
                4u + ((uint64_t)s[0] << 24 | (uint64_t)s[1] << 16 |
                      (uint64_t)s[2] << 8 | s[3]);
        }
        size_t free = ws->o_cap - ws->o_len;
        if (free < WS_CTRL_RESERVE + WS_HEADER_MAX + 4)
            break;
        uint64_t len = c.left + ws->stash_len;
        if (ws->frame_messages && len > ws->message_left)
            len = ws->message_left;
        if (len > free - WS_CTRL_RESERVE - WS_HEADER_MAX)
            len = free - WS_CTRL_RESERVE - WS_HEADER_MAX;
        bool fin = !ws->frame_messages || len == ws->message_left;
        /* The header with the first piece (a gathered prefix, or the
         * caller's bytes), then the other pieces. */
        const void *p = ws->stash;
        size_t n = ws->stash_len, rest = (size_t)len;
        if (n == 0) {
            n = cursor_take(&c, rest, &p);
            taken += n;
        }
        ws->stash_len = 0;
        frame_begin(ws,
                    ws->message_open ? WSLAY_CONTINUATION_FRAME
                                     : WSLAY_BINARY_FRAME,
                    fin, len, p, n);
        rest -= n;
        while (rest > 0) {
            n = cursor_take(&c, rest, &p);
            frame_feed(ws, p, n, len);
            rest -= n;
            taken += n;
        }
        if (ws->frame_messages)
            ws->message_left -= len;
        ws->message_open = !fin;
        if (fin)
            ws->st.n_messages_out++;
    }
    return taken;
}

/* ---- flushing and wakers ---- */

static void
wake_other(struct cfut_waker *slot, struct cfut_context *cx)
{
    if (slot->vtable != NULL && !cfut_waker_will_wake(slot, cx->waker))
        cfut_waker_wake(slot);
}

void
cfut__ws_notify(struct ws *ws, struct cfut_context *cx)
{
    wake_other(&ws->rd_waker, cx);
    wake_other(&ws->wr_waker, cx);
    wake_other(&ws->hs_waker, cx);
}

int
cfut__ws_flush(struct ws *ws, struct cfut_context *cx)
{
    if (ws->wr_status != 0)
        return ws->wr_status;
    emit_control(ws);
    bool moved = false;
    while (ws->o_off < ws->o_len) {
        struct cfut_iovec iov = {ws->obuf + ws->o_off, ws->o_len - ws->o_off};
        struct cfut_stream_result res;
        if (cfut_stream_poll_write(ws->inner, cx, &iov, 1, &res) ==
            CFUT_PENDING)
            break;
        if (res.status != 0) {
            ws->wr_status = res.status;
            cfut__ws_notify(ws, cx);
            return res.status;
        }
        ws->o_off += res.n;
        moved = true;
        if (ws->o_off == ws->o_len) {
            ws->o_off = ws->o_len = 0;
            emit_control(ws); /* a control frame that did not fit */
        }
    }
    if (moved)
        cfut__ws_notify(ws, cx);
    return ws->o_off == ws->o_len ? 1 : 0;
}

/* Runs the handshake if needed: 1 open, 0 pending, or its failure. */
int
cfut__ws_ensure_open(struct ws *ws, struct cfut_context *cx)
{
    if (ws->phase == WS_OPEN)
        return 1;
    int rc = cfut__ws_handshake(ws, cx);
    if (rc != 0)
        cfut__ws_notify(ws, cx);
    return rc;
}

/*
 * The start of every stream poll. Returns 1 when the stream is open; 0
 * when the poll must return PENDING (the waker of 'cx' is kept in
 * 'slot'); -1 when it must return READY with the handshake's failure,
 * which is then in 'res'.
 */
int
cfut__ws_poll_open(struct ws *ws, struct cfut_context *cx,
                   struct cfut_waker *slot, struct cfut_stream_result *res)
{
    ws->cx = cx;
    int rc = cfut__ws_ensure_open(ws, cx);
    if (rc == 0) {
        cfut_waker_register(slot, cx->waker);
        return 0;
    }
    if (rc < 0) {
        res->status = rc;
        res->n = 0;
        return -1;
    }
    return 1;
}

/* wslay's frame callbacks (cfut_ws_int.h). */
const struct wslay_frame_callbacks cfut__ws_frame_callbacks = {fr_send, fr_recv,
                                                               fr_genmask};
