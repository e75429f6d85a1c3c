/*
 * cfut_web_ws.c: a cfut stream on the browser's WebSocket (emscripten's
 * websocket.h): the page's callbacks fill a receive buffer and wake the
 * reader; writes send one binary message each. The WebSocket protocol
 * itself (framing, masking, the handshake) is the browser's.
 */
#include "cfut_web.h"

#include <emscripten/em_js.h>
#include <emscripten/eventloop.h>
#include <emscripten/websocket.h>
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "cfut_alloc.h"
#include "cfut_errors.h"

#define DEFAULT_MAX_BUFFERED (4u << 20)
#define DEFAULT_MAX_UNSENT (4u << 20)
#define FIRST_CAP 4096u
/* How long a write waits before it looks at bufferedAmount again. */
#define UNSENT_RETRY_MS 2.0

/* The close statuses of RFC 6455 this stream sends or tells apart. */
#define WS_NORMAL 1000
#define WS_UNSUPPORTED_DATA 1003
#define WS_TOO_BIG 1009

enum ws_state {
    WS_CONNECTING, /* reads and writes wait for open */
    WS_OPEN,
    WS_ENDED, /* 'end' says how */
};

struct web_ws {
    struct cfut_stream base;
    EMSCRIPTEN_WEBSOCKET_T sock;
    enum ws_state state;
    int end;   /* once ended: 0 (normal close: reads see CFUT_EEOF) or why */
    bool shut; /* the write side was shut: the closing handshake began */
    /* Received bytes not yet read: buf[head .. head + len). */
    unsigned char *buf;
    size_t head, len, cap;
    size_t max_buffered;
    size_t max_unsent;
    unsigned char *scratch; /* a gather write's bytes, joined */
    size_t scratch_cap;
    bool retry_armed; /* a timeout will wake the writer ... */
    long retry_id;    /* ... with this id */
    struct cfut_waker reader;
    struct cfut_waker writer;
};

static const struct cfut_stream_vtable web_ws_vtable;

static struct web_ws *
of(struct cfut_stream *s)
{
    return cfut_container_of(s, struct web_ws, base);
}

/* Ends the stream with 'why' (0: a normal close) and wakes both sides. */
static void
end_with(struct web_ws *w, int why)
{
    if (w->state == WS_ENDED)
        return;
    w->state = WS_ENDED;
    w->end = why;
    cfut_waker_wake(&w->reader);
    cfut_waker_wake(&w->writer);
}

/* Closes the socket with 'code' and ends the stream with 'why'. */
static void
fail(struct web_ws *w, unsigned short code, int why)
{
    (void)emscripten_websocket_close(w->sock, code, "");
    end_with(w, why);
}

/* ---- the page's callbacks ---------------------------------------------- */

static EM_BOOL
on_open(int type, const EmscriptenWebSocketOpenEvent *ev, void *arg)
{
    (void)type;
    (void)ev;
    struct web_ws *w = arg;
    if (w->state != WS_CONNECTING)
        return EM_TRUE;
    w->state = WS_OPEN;
    cfut_waker_wake(&w->writer);
    return EM_TRUE;
}

/* Makes room for 'n' more bytes in the receive buffer, within the limit. */
static int
reserve(struct web_ws *w, size_t n)
{
    if (n > w->max_buffered - w->len)
        return CFUT_EMSGSIZE;
    if (w->head + w->len + n <= w->cap)
        return 0;
    if (w->len + n <= w->cap) { /* room enough once the bytes move down */
        memmove(w->buf, w->buf + w->head, w->len);
        w->head = 0;
        return 0;
    }
    size_t cap = w->cap != 0 ? w->cap : FIRST_CAP;
    while (cap < w->len + n)
        cap *= 2;
    if (cap > w->max_buffered)
        cap = w->max_buffered;
    unsigned char *buf = cfut_alloc(cap);
    if (buf == NULL)
        return CFUT_ENOMEM;
    if (w->len != 0)
        memcpy(buf, w->buf + w->head, w->len);
    cfut_free(w->buf);
    w->buf = buf;
    w->cap = cap;
    w->head = 0;
    return 0;
}

static EM_BOOL
on_message(int type, const EmscriptenWebSocketMessageEvent *ev, void *arg)
{
    (void)type;
    struct web_ws *w = arg;
    if (w->state == WS_ENDED)
        return EM_TRUE;
    if (ev->isText) {
        fail(w, WS_UNSUPPORTED_DATA, CFUT_EPROTO);
        return EM_TRUE;
    }
    if (ev->numBytes == 0)
        return EM_TRUE;
    int rc = reserve(w, ev->numBytes);
    if (rc < 0) {
        fail(w, WS_TOO_BIG, rc);
        return EM_TRUE;
    }
    memcpy(w->buf + w->head + w->len, ev->data, ev->numBytes);
    w->len += ev->numBytes;
    cfut_waker_wake(&w->reader);
    return EM_TRUE;
}

static EM_BOOL
on_error(int type, const EmscriptenWebSocketErrorEvent *ev, void *arg)
{
    (void)type;
    (void)ev;
    (void)arg;
    return EM_TRUE; /* the close event follows and says how it ended */
}

static EM_BOOL
on_close(int type, const EmscriptenWebSocketCloseEvent *ev, void *arg)
{
    (void)type;
    struct web_ws *w = arg;
    if (w->state == WS_CONNECTING)
        end_with(w, -ECONNREFUSED);
    else
        end_with(w, ev->code == WS_NORMAL ? 0 : CFUT_ECONNRESET);
    return EM_TRUE;
}

/* ---- the stream's slots ------------------------------------------------ */

static enum cfut_poll
web_ws_read(struct cfut_stream *s, struct cfut_context *cx, void *buf,
            size_t cap, struct cfut_stream_result *res)
{
    struct web_ws *w = of(s);
    if (w->len == 0) {
        if (w->state == WS_ENDED) {
            res->status = w->end != 0 ? w->end : CFUT_EEOF;
            res->n = 0;
            return CFUT_READY;
        }
        cfut_waker_register(&w->reader, cx->waker);
        return CFUT_PENDING;
    }
    if (!cfut_context_consume_budget(cx))
        return CFUT_PENDING;
    size_t n = cap < w->len ? cap : w->len;
    memcpy(buf, w->buf + w->head, n);
    w->head += n;
    w->len -= n;
    if (w->len == 0)
        w->head = 0;
    res->status = 0;
    res->n = n;
    return CFUT_READY;
}

/* The retry timeout of a write that waited for the browser to send. */
static void
retry_due(void *arg)
{
    struct web_ws *w = arg;
    w->retry_armed = false;
    cfut_waker_wake(&w->writer);
}

/* Whether the browser holds more unsent bytes than the limit. */
static bool
too_much_unsent(struct web_ws *w)
{
    unsigned long long unsent = 0;
    if (emscripten_websocket_get_buffered_amount(w->sock, &unsent) !=
        EMSCRIPTEN_RESULT_SUCCESS)
        return false;
    return unsent > w->max_unsent;
}

/* Status of a write or shutdown after the end. */
static int
ended_status(const struct web_ws *w)
{
    return w->end != 0 ? w->end : CFUT_ECONNRESET;
}

static enum cfut_poll
web_ws_write(struct cfut_stream *s, struct cfut_context *cx,
             const struct cfut_iovec *iov, size_t n_iov,
             struct cfut_stream_result *res)
{
    struct web_ws *w = of(s);
    if (w->state == WS_ENDED || w->shut) {
        res->status = w->shut ? -EPIPE : ended_status(w);
        res->n = 0;
        return CFUT_READY;
    }
    if (w->state == WS_CONNECTING) {
        cfut_waker_register(&w->writer, cx->waker);
        return CFUT_PENDING;
    }
    if (too_much_unsent(w)) {
        cfut_waker_register(&w->writer, cx->waker);
        if (!w->retry_armed) {
            w->retry_id = emscripten_set_timeout(retry_due, UNSENT_RETRY_MS, w);
            w->retry_armed = true;
        }
        return CFUT_PENDING;
    }
    size_t total = 0;
    for (size_t i = 0; i < n_iov; i++)
        total += iov[i].len;
    if (total > UINT32_MAX) /* a message's length is 32-bit here */
        total = UINT32_MAX;
    void *data = (void *)iov[0].base;
    if (n_iov > 1 && total > iov[0].len) {
        /* One message per write: join the pieces. */
        if (w->scratch_cap < total) {
            unsigned char *p = cfut_alloc(total);
            if (p == NULL) {
                res->status = CFUT_ENOMEM;
                res->n = 0;
                return CFUT_READY;
            }
            cfut_free(w->scratch);
            w->scratch = p;
            w->scratch_cap = total;
        }
        size_t at = 0;
        for (size_t i = 0; i < n_iov && at < total; i++) {
            size_t n = iov[i].len < total - at ? iov[i].len : total - at;
            if (n != 0)
                memcpy(w->scratch + at, iov[i].base, n);
            at += n;
        }
        data = w->scratch;
    } else if (total > iov[0].len) {
        total = iov[0].len;
    }
    /* The browser copies the bytes into its send queue during the call. */
    if (emscripten_websocket_send_binary(w->sock, data, (uint32_t)total) !=
        EMSCRIPTEN_RESULT_SUCCESS) {
        res->status = CFUT_ECONNRESET;
        res->n = 0;
        return CFUT_READY;
    }
    res->status = 0;
    res->n = total;
    return CFUT_READY;
}

static enum cfut_poll
web_ws_shutdown(struct cfut_stream *s, struct cfut_context *cx,
                struct cfut_stream_result *res)
{
    (void)cx;
    struct web_ws *w = of(s);
    res->n = 0;
    res->status = 0;
    if (!w->shut && w->state != WS_ENDED)
        (void)emscripten_websocket_close(w->sock, WS_NORMAL, "");
    w->shut = true;
    return CFUT_READY;
}

static void
web_ws_close(struct cfut_stream *s)
{
    struct web_ws *w = of(s);
    /* Closing a socket that is closed already is harmless. */
    (void)emscripten_websocket_close(w->sock, WS_NORMAL, "");
    /* Deleting it unhooks the callbacks: none reaches 'w' after this. */
    (void)emscripten_websocket_delete(w->sock);
    if (w->retry_armed)
        emscripten_clear_timeout(w->retry_id);
    cfut_waker_drop(&w->reader);
    cfut_waker_drop(&w->writer);
    cfut_free(w->buf);
    cfut_free(w->scratch);
    cfut_free(w);
}

static const struct cfut_stream_vtable web_ws_vtable = {
    web_ws_read,  web_ws_write,          web_ws_shutdown,
    web_ws_close, "websocket (browser)",
};

/*
 * Whether the browser's WebSocket constructor takes 'url' (it throws, and
 * emscripten does not catch, for a URL that does not parse, a scheme other
 * than ws: or wss:, or a fragment).
 */
EM_JS(int, url_is_ws, (const char *url), {
    try {
        var u = new URL(UTF8ToString(url));
        return (u.protocol == "ws:" || u.protocol == "wss:") && u.hash == ""
                   ? 1
                   : 0;
    } catch (e) {
        return 0;
    }
})

int
cfut_web_ws_open(const char *url, const struct cfut_web_ws_config *cfg,
                 struct cfut_stream **out)
{
    if (url == NULL || out == NULL)
        return CFUT_EINVAL;
    if (!emscripten_websocket_is_supported())
        return -ENOTSUP;
    if (!url_is_ws(url))
        return -EINVAL;
    struct web_ws *w = cfut_alloc(sizeof *w);
    if (w == NULL)
        return CFUT_ENOMEM;
    memset(w, 0, sizeof *w);
    w->base.vtable = &web_ws_vtable;
    w->state = WS_CONNECTING;
    w->max_buffered = cfg != NULL && cfg->max_buffered != 0
                          ? cfg->max_buffered
                          : DEFAULT_MAX_BUFFERED;
    w->max_unsent = cfg != NULL && cfg->max_unsent != 0 ? cfg->max_unsent
                                                        : DEFAULT_MAX_UNSENT;
    w->reader = CFUT_WAKER_EMPTY;
    w->writer = CFUT_WAKER_EMPTY;
    EmscriptenWebSocketCreateAttributes attr;
    emscripten_websocket_init_create_attributes(&attr);
    attr.url = url;
    attr.protocols = NULL;
    attr.createOnMainThread = EM_TRUE;
    EMSCRIPTEN_WEBSOCKET_T sock = emscripten_websocket_new(&attr);
    if (sock <= 0) {
        cfut_free(w);
        return -EINVAL; /* the browser refuses the URL */
    }
    w->sock = sock;
    emscripten_websocket_set_onopen_callback(sock, w, on_open);
    emscripten_websocket_set_onmessage_callback(sock, w, on_message);
    emscripten_websocket_set_onerror_callback(sock, w, on_error);
    emscripten_websocket_set_onclose_callback(sock, w, on_close);
    *out = &w->base;
    return CFUT_OK;
}
