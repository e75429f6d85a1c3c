/*
 * cfut_server.c: the server side of the transport: one task per
 * connection that decodes requests and writes replies in batches, one task
 * per request running its handler future (so handlers finish in any
 * order) and a per-connection limit of requests in flight. The accept
 * loops are in cfut_server_accept.c, the dispatch table of named
 * operations in cfut_dispatch.c.
 * No socket calls: it speaks to struct cfut_stream.
 */
#include "cfut_server_int.h"

#include <string.h>

#include "cfut_errors_int.h"
#include "cfut_buf_int.h"

/*
 * One connection: shared by its task and its requests' tasks. It ends
 * (its status is set) on the peer's end of stream, a read or write error,
 * a protocol error or cfut_server_free(); from then on every request task
 * drops its handler future (cancellation) at its next poll, and the
 * connection wakes them all so that the next poll comes at once.
 */
/* A connection task's states (transitions above conn_poll()). */
enum conn_state {
    CONN_SERVING = 0, /* reading requests, writing replies */
    CONN_DRAINING,    /* the peer ended cleanly: queued replies go out */
    CONN_CLOSED,      /* the stream is closed */
};

struct conn {
    int refs; /* the connection task + each request task */
    struct cfut_server *srv;
    struct cfut_list conn_link; /* on srv->conns */
    struct cfut_list serves;    /* polled request tasks, by serve_link */
    struct cfut_stream *stream; /* NULL once closed */
    struct cfut_frame_decoder dec;
    struct cfut__buf rbuf; /* read, not yet decoded: [off, len) */
    struct cfut__buf obuf; /* replies queued, not yet written */
    size_t in_flight;
    enum conn_state state; /* see conn_poll() */
    bool in_poll;          /* in conn_poll(): its flush follows, no wake */
    int status; /* why it left CONN_SERVING: 0 while serving; CFUT_EEOF:
                   the peer ended it cleanly */
    struct cfut_waker waker; /* the connection task's */
    uint64_t n_writes;
};

void
cfut__server_release(struct cfut_server *s)
{
    if (--s->refs == 0)
        cfut_free(s);
}

static void
conn_release(struct conn *c)
{
    if (--c->refs != 0)
        return;
    cfut_frame_decoder_deinit(&c->dec);
    cfut__buf_free(&c->rbuf);
    cfut__buf_free(&c->obuf);
    cfut_waker_drop(&c->waker);
    struct cfut_server *s = c->srv;
    cfut_free(c);
    cfut__server_release(s);
}

/* Writes 'status' as an error response's 4-byte big-endian wire status. */
static void
wire_status(unsigned char out[4], int status)
{
    uint32_t u = (uint32_t)cfut__status_to_wire(status);
    out[0] = (unsigned char)(u >> 24);
    out[1] = (unsigned char)(u >> 16);
    out[2] = (unsigned char)(u >> 8);
    out[3] = (unsigned char)u;
}

/* Queues a reply frame; a failure ends the connection. */
static void
queue_reply(struct conn *c, const struct cfut_id *id, int status,
            const void *data, size_t len)
{
    int rc;
    if (c->status != 0)
        return;
    if (status == 0) {
        rc = cfut__buf_queue_frame(&c->obuf, CFUT_FRAME_RESPONSE, id, NULL, 0,
                                   data, len, c->srv->max_frame_len);
    } else {
        unsigned char code[4];
        wire_status(code, status);
        if (data == NULL) {
            data = cfut_strerror(status);
            len = strlen(data);
        }
        rc = cfut__buf_queue_frame(&c->obuf, CFUT_FRAME_ERROR, id, code, 4,
                                   data, len, c->srv->max_frame_len);
    }
    if (rc == CFUT_EMSGSIZE) { /* the reply is too large: say so instead */
        unsigned char code[4];
        wire_status(code, CFUT_EMSGSIZE);
        rc = cfut__buf_queue_frame(&c->obuf, CFUT_FRAME_ERROR, id, code, 4,
                                   NULL, 0, c->srv->max_frame_len);
    }
    if (rc < 0)
        c->status = rc;
    c->srv->st.n_replies++;
    if (!c->in_poll) /* from a request task: the connection writes it */
        cfut_waker_wake_by_ref(&c->waker);
}

/* Queues the reply a handler wrote and frees its bytes. */
static void
send_reply(struct conn *c, const struct cfut_id *id, struct cfut_reply *rep)
{
    if (rep->data == NULL && rep->len > CFUT_REPLY_INLINE) {
        rep->status = CFUT_EINVAL; /* a handler bug: say so to the client */
        rep->len = 0;
    }
    if (rep->data == NULL && rep->len != 0)
        queue_reply(c, id, rep->status, rep->inline_bytes, rep->len);
    else
        queue_reply(c, id, rep->status, rep->data, rep->len);
    cfut_free(rep->data);
}

/* ---- one request: a task around its handler future ---- */

/*
 * A request task. From its first poll (when it is pinned) it sits on its
 * connection's 'serves' list with its task's waker, so that the end of
 * the connection can wake it: it then drops its handler and finishes.
 */
struct serve {
    struct cfut_future base;
    struct conn *c;
    struct cfut_id id;
    struct cfut_future *handler; /* boxed; NULL once finished */
    struct cfut_list serve_link; /* on c->serves; unlinked until polled */
    struct cfut_waker waker;     /* this task's, while linked */
};

static enum cfut_poll
serve_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    (void)out;
    struct serve *sv = cfut_container_of(f, struct serve, base);
    struct cfut_reply rep;
    if (sv->c->status != 0) {
        /* The connection ended: cancel the handler, nobody gets a reply. */
        cfut_future_drop(sv->handler);
        sv->handler = NULL;
        return CFUT_READY;
    }
    if (sv->serve_link.next == NULL) {
        cfut_list_init(&sv->serve_link);
        cfut_list_push_back(&sv->c->serves, &sv->serve_link);
    }
    cfut_waker_register(&sv->waker, cx->waker);
    if (cfut_future_poll(sv->handler, cx, &rep) == CFUT_PENDING)
        return CFUT_PENDING;
    cfut_future_drop(sv->handler);
    sv->handler = NULL;
    send_reply(sv->c, &sv->id, &rep);
    return CFUT_READY;
}

static void
serve_drop(struct cfut_future *f)
{
    struct serve *sv = cfut_container_of(f, struct serve, base);
    struct conn *c = sv->c;
    if (sv->handler != NULL)
        cfut_future_drop(sv->handler);
    if (sv->serve_link.next != NULL)
        cfut_list_remove(&sv->serve_link);
    cfut_waker_drop(&sv->waker);
    c->in_flight--;
    cfut_waker_wake_by_ref(&c->waker);
    conn_release(c);
}

/* Wakes every request task of 'c' (which has ended): each drops its handler. */
static void
cancel_requests(struct conn *c)
{
    cfut_list_for_each(it, &c->serves)
    {
        struct serve *sv = cfut_container_of(it, struct serve, serve_link);
        cfut_waker_wake_by_ref(&sv->waker);
    }
}

static const struct cfut_future_vtable serve_vtable = {
    serve_poll, serve_drop, 0, "cfut_server_request", NULL,
};

static int
on_request(struct conn *c, struct cfut_context *cx, const struct cfut_frame *f)
{
    struct cfut_server *s = c->srv;
    if (f->kind != CFUT_FRAME_REQUEST)
        return CFUT_EPROTO;
    s->st.n_requests++;
    struct cfut_future *h = NULL;
    struct cfut_reply rep;
    int rc;
    if (s->reply_fn != NULL) {
        rep.data = NULL;
        rc = s->reply_fn(s->ctx, f->payload, f->payload_len, &rep, &h);
        if (rc == CFUT_REPLY_NOW) { /* the ready path: no future at all */
            send_reply(c, &f->id, &rep);
            return 0;
        }
    } else {
        rc = s->handler(s->ctx, f->payload, f->payload_len, &h);
    }
    if (rc > 0) { /* a handler bug: no such answer */
        if (h != NULL)
            cfut_future_drop(h);
        rc = CFUT_EINVAL;
    }
    if (rc == 0 && cfut_future_output_size(h) != sizeof(struct cfut_reply)) {
        cfut_future_drop(h);
        rc = CFUT_EINVAL;
    }
    if (rc < 0) {
        queue_reply(c, &f->id, rc, NULL, 0);
        return 0;
    }
    /*
     * Poll the handler once here: one that answers at once (an echo, a
     * table lookup) costs no task. One that is pending gets a task of its
     * own, whose first poll gives it that task's waker (the wake it may
     * have kept from this poll only makes this connection look again).
     */
    if (cfut_future_poll(h, cx, &rep) == CFUT_READY) {
        cfut_future_drop(h);
        send_reply(c, &f->id, &rep);
        return 0;
    }
    struct serve sv;
    cfut_future_init(&sv.base, &serve_vtable);
    sv.c = c;
    sv.id = f->id;
    sv.handler = h;
    sv.serve_link.next = sv.serve_link.prev = NULL; /* linked when pinned */
    sv.waker = CFUT_WAKER_EMPTY;
    rc = cfut_spawn(s->ex, &sv.base, sizeof sv, NULL);
    if (rc < 0) {
        cfut_future_drop(h);
        queue_reply(c, &f->id, rc, NULL, 0);
        return 0;
    }
    c->refs++;
    c->in_flight++;
    return 0;
}

/* ---- the connection task ---- */

/* Decodes buffered bytes while the in-flight limit allows. */
static int
decode_buffered(struct conn *c, struct cfut_context *cx)
{
    struct cfut__buf *b = &c->rbuf;
    while (b->off < b->len && c->in_flight < c->srv->max_in_flight &&
           c->status == 0) {
        size_t used = 0;
        struct cfut_frame f;
        int rc = cfut_frame_decoder_next(&c->dec, b->data + b->off,
                                         b->len - b->off, &used, &f);
        if (rc < 0)
            return rc;
        b->off += used;
        if (rc == 1) {
            rc = on_request(c, cx, &f);
            if (rc < 0)
                return rc;
        }
    }
    if (b->off == b->len)
        b->off = b->len = 0;
    return 0;
}

struct conn_task {
    struct cfut_future base;
    struct conn *c;
};

static void
conn_end(struct conn *c)
{
    cfut_stream_close(c->stream);
    c->stream = NULL;
    c->state = CONN_CLOSED;
    cfut_list_remove(&c->conn_link);
    c->srv->st.n_open--;
}

/*
 * Serving, one poll: write queued replies, decode buffered requests
 * (stopping at the in-flight limit), read more when the buffer is empty,
 * write again. Returns 0 or 1 while it goes on (the last flush: pending or
 * done), or why the connection ends: CFUT_EEOF (the peer's clean end),
 * CFUT_EPROTO (an end inside a frame, a bad frame), a stream error.
 */
static int
serve(struct conn *c, struct cfut_context *cx)
{
    for (;;) {
        int rc = cfut__buf_flush(c->stream, cx, &c->obuf, &c->n_writes);
        if (rc < 0)
            return rc;
        rc = decode_buffered(c, cx);
        if (rc < 0)
            return rc;
        if (c->rbuf.len != 0)
            break; /* at the in-flight limit */
        struct cfut_stream_result res;
        if (cfut_stream_poll_read(c->stream, cx, c->rbuf.data, c->rbuf.cap,
                                  &res) == CFUT_PENDING)
            break;
        if (res.status == CFUT_EEOF) /* the end, maybe inside a frame */
            return cfut_frame_decoder_has_partial(&c->dec) ? CFUT_EPROTO
                                                           : CFUT_EEOF;
        if (res.status != 0)
            return res.status;
        c->rbuf.len = res.n;
    }
    return cfut__buf_flush(c->stream, cx, &c->obuf, &c->n_writes);
}

/*
 * The connection task. States (c->state) and their transitions:
 * - CONN_SERVING: serve() each poll, PENDING while it goes on. It leaves
 *   when serve() says the connection ends, when a reply could not be
 *   queued (queue_reply() set c->status), or when the server is freed
 *   (CFUT_ECANCELED); the request tasks are then woken to drop their
 *   handlers (cancel_requests()). -> CONN_DRAINING after the peer's clean
 *   end of stream (the peer may still read the replies already queued);
 *   -> CONN_CLOSED otherwise.
 * - CONN_DRAINING: writes the queued replies; -> CONN_CLOSED once they are
 *   out, a write fails, or the server is freed.
 * - CONN_CLOSED: conn_end() closed the stream and READY was returned (or
 *   the task was dropped); the task is not polled again.
 * c->status keeps why it left CONN_SERVING.
 */
static enum cfut_poll
conn_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    (void)out;
    struct conn *c = cfut_container_of(f, struct conn_task, base)->c;
    cfut_waker_register(&c->waker, cx->waker);
    switch (c->state) {
    case CONN_SERVING:
        if (c->status == 0 && c->srv->freed)
            c->status = CFUT_ECANCELED;
        if (c->status == 0) {
            c->in_poll = true;
            int rc = serve(c, cx);
            c->in_poll = false;
            /* (a reply that could not be queued set c->status) */
            if (rc >= 0 && c->status == 0)
                return CFUT_PENDING;
            if (rc == CFUT_EPROTO)
                c->srv->st.n_protocol_errors++;
            if (rc < 0)
                c->status = rc;
        }
        cancel_requests(c);
        if (c->status != CFUT_EEOF)
            break;
        c->state = CONN_DRAINING;
        /* fall through */
    case CONN_DRAINING:
        if (c->srv->freed) {
            c->status = CFUT_ECANCELED;
            break;
        }
        if (cfut__buf_flush(c->stream, cx, &c->obuf, &c->n_writes) == 0)
            return CFUT_PENDING; /* replies already queued still go out */
        break;
    case CONN_CLOSED:
        return CFUT_READY;
    }
    conn_end(c);
    return CFUT_READY;
}

static void
conn_task_drop(struct cfut_future *f)
{
    struct conn *c = cfut_container_of(f, struct conn_task, base)->c;
    if (c->state != CONN_CLOSED) {
        if (c->status == 0)
            c->status = CFUT_ECANCELED;
        conn_end(c);
    }
    conn_release(c);
}

static const struct cfut_future_vtable conn_vtable = {
    conn_poll, conn_task_drop, 0, "cfut_server_connection", NULL,
};

/* ---- the server ---- */

static int
server_new(struct cfut_executor *ex, cfut_handler_new_fn *handler,
           cfut_reply_fn *reply_fn, void *ctx,
           const struct cfut_server_config *cfg, struct cfut_server **out)
{
    struct cfut_server_config c = {0, 0, 0};
    if (ex == NULL || (handler == NULL && reply_fn == NULL) || out == NULL)
        return CFUT_EINVAL;
    if (cfg != NULL)
        c = *cfg;
    if (c.max_frame_len != 0 && (c.max_frame_len < CFUT_FRAME_MIN_LEN + 4 ||
                                 c.max_frame_len > UINT32_MAX))
        return CFUT_EINVAL;
    struct cfut_server *s = cfut_alloc(sizeof *s);
    if (s == NULL)
        return CFUT_ENOMEM;
    memset(s, 0, sizeof *s);
    s->refs = 1;
    s->ex = ex;
    s->handler = handler;
    s->reply_fn = reply_fn;
    s->ctx = ctx;
    s->max_frame_len =
        c.max_frame_len != 0 ? c.max_frame_len : CFUT_FRAME_DEFAULT_MAX_LEN;
    s->max_in_flight = c.max_in_flight != 0 ? c.max_in_flight : 1024;
    s->read_buf_size = c.read_buf_size != 0 ? c.read_buf_size : 65536;
    cfut_list_init(&s->conns);
    cfut_list_init(&s->acceptors);
    *out = s;
    return 0;
}

int
cfut_server_new(struct cfut_executor *ex, cfut_handler_new_fn *handler,
                void *ctx, const struct cfut_server_config *cfg,
                struct cfut_server **out)
{
    if (handler == NULL)
        return CFUT_EINVAL;
    return server_new(ex, handler, NULL, ctx, cfg, out);
}

int
cfut_server_new_reply(struct cfut_executor *ex, cfut_reply_fn *handler,
                      void *ctx, const struct cfut_server_config *cfg,
                      struct cfut_server **out)
{
    if (handler == NULL)
        return CFUT_EINVAL;
    return server_new(ex, NULL, handler, ctx, cfg, out);
}

int
cfut_server_add_stream(struct cfut_server *s, struct cfut_stream *stream)
{
    if (s == NULL || stream == NULL)
        return CFUT_EINVAL;
    if (s->freed)
        return CFUT_ESTATE;
    struct conn *c = cfut_alloc(sizeof *c);
    if (c == NULL)
        return CFUT_ENOMEM;
    memset(c, 0, sizeof *c);
    int rc = cfut__buf_reserve(&c->rbuf, s->read_buf_size);
    if (rc < 0)
        goto free_conn;
    c->rbuf.cap = s->read_buf_size;
    (void)cfut_frame_decoder_init(&c->dec, s->max_frame_len);
    c->refs = 1;
    c->srv = s;
    c->stream = stream;
    c->waker = CFUT_WAKER_EMPTY;
    cfut_list_init(&c->conn_link);
    cfut_list_init(&c->serves);
    struct conn_task task;
    cfut_future_init(&task.base, &conn_vtable);
    task.c = c;
    rc = cfut_spawn(s->ex, &task.base, sizeof task, NULL);
    if (rc < 0)
        goto free_buf;
    cfut_list_push_back(&s->conns, &c->conn_link);
    s->refs++;
    s->st.n_connections++;
    s->st.n_open++;
    return 0;

free_buf:
    cfut__buf_free(&c->rbuf);
free_conn:
    cfut_free(c);
    return rc;
}

void
cfut_server_get_stats(const struct cfut_server *s,
                      struct cfut_server_stats *out)
{
    *out = s->st;
}

void
cfut_server_free(struct cfut_server *s)
{
    if (s == NULL)
        return;
    s->freed = true;
    cfut__server_wake_acceptors(s);
    cfut_list_for_each(it, &s->conns)
    {
        struct conn *c = cfut_container_of(it, struct conn, conn_link);
        cfut_waker_wake_by_ref(&c->waker);
    }
    cfut__server_release(s);
}
