/*
 * cfut_server_accept.c: the server's accept loops: one task per listener
 * (cfut_server_listen(), cfut_server_listen_ws()) that accepts connections
 * and hands each to cfut_server_add_stream() (a WebSocket stream around it
 * first, for _ws). The connections themselves are in cfut_server.c.
 */
#include "cfut_server_int.h"

#include <string.h>

#include "cfut_ws.h"

/* An accept task: one per listener. */
struct acceptor {
    struct cfut_future base;
    struct cfut_server *s;
    struct cfut_listener *l;
    struct cfut_list acceptor_link; /* on s->acceptors; 'next' NULL until
                                       the first poll (the task may move) */
    struct cfut_waker waker;        /* the accept task's */
    bool accepting; /* 'acc' was initialised and not yet dropped */
    bool is_ws;     /* each connection is a WebSocket, with 'ws' */
    struct cfut_ws_config ws;
    struct cfut_listener_accept acc;
};

void
cfut__server_wake_acceptors(struct cfut_server *s)
{
    cfut_list_for_each(it, &s->acceptors)
    {
        struct acceptor *a =
            cfut_container_of(it, struct acceptor, acceptor_link);
        cfut_waker_wake_by_ref(&a->waker);
    }
}

/* ---- the accept loop ---- */

static enum cfut_poll
acceptor_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    (void)out;
    struct acceptor *a = cfut_container_of(f, struct acceptor, base);
    cfut_waker_register(&a->waker, cx->waker);
    if (a->acceptor_link.next == NULL) {
        cfut_list_init(&a->acceptor_link);
        cfut_list_push_back(&a->s->acceptors, &a->acceptor_link);
    }
    while (!a->s->freed) {
        if (!a->accepting) {
            cfut_listener_accept_init(&a->acc, a->l);
            a->accepting = true;
        }
        struct cfut_accepted r;
        if (cfut_future_poll(&a->acc.base, cx, &r) == CFUT_PENDING)
            return CFUT_PENDING;
        cfut_future_drop(&a->acc.base);
        a->accepting = false;
        if (r.status == CFUT_ENOMEM)
            continue; /* that connection is closed: take the next */
        if (r.status != 0)
            break; /* the listener itself is broken: stop accepting */
        struct cfut_stream *st = r.stream;
        struct cfut_stream *ws;
        if (a->is_ws) {
            /* The handshake runs in the connection's first read. */
            if (cfut_ws_stream_new(st, CFUT_WS_SERVER, &a->ws, &ws) < 0) {
                cfut_stream_close(st);
                continue;
            }
            st = ws;
        }
        if (cfut_server_add_stream(a->s, st) < 0)
            cfut_stream_close(st);
    }
    return CFUT_READY;
}

static void
acceptor_drop(struct cfut_future *f)
{
    struct acceptor *a = cfut_container_of(f, struct acceptor, base);
    if (a->accepting)
        cfut_future_drop(&a->acc.base);
    cfut_listener_free(a->l);
    if (a->acceptor_link.next != NULL)
        cfut_list_remove(&a->acceptor_link);
    cfut_waker_drop(&a->waker);
    cfut__server_release(a->s);
}

static const struct cfut_future_vtable acceptor_vtable = {
    acceptor_poll, acceptor_drop, 0, "cfut_server_accept", NULL,
};

static int
listen_on(struct cfut_server *s, struct cfut_listener *l,
          const struct cfut_ws_config *ws)
{
    if (s == NULL || l == NULL || cfut_listener_executor(l) != s->ex)
        return CFUT_EINVAL;
    if (s->freed)
        return CFUT_ESTATE;
    struct acceptor a;
    memset(&a, 0, sizeof a);
    cfut_future_init(&a.base, &acceptor_vtable);
    a.s = s;
    a.l = l;
    a.acceptor_link.next = NULL;
    a.waker = CFUT_WAKER_EMPTY;
    if (ws != NULL) {
        a.is_ws = true;
        a.ws = *ws;
        a.ws.host = a.ws.path = NULL; /* client settings: not kept */
        a.ws.frame_messages = true;   /* one reply frame per message */
        if (a.ws.max_frame == 0)      /* the largest frame the server accepts */
            a.ws.max_frame = (uint64_t)s->max_frame_len + 4;
    }
    int rc = cfut_spawn(s->ex, &a.base, sizeof a, NULL);
    if (rc < 0)
        return rc; /* 'l' stays the caller's */
    s->refs++;
    return 0;
}

int
cfut_server_listen(struct cfut_server *s, struct cfut_listener *l)
{
    return listen_on(s, l, NULL);
}

int
cfut_server_listen_ws(struct cfut_server *s, struct cfut_listener *l,
                      const struct cfut_ws_config *cfg)
{
    struct cfut_ws_config defaults;
    memset(&defaults, 0, sizeof defaults);
    if (cfg != NULL && cfg->write_buffer != 0 && cfg->write_buffer < 1024)
        return CFUT_EINVAL;
    return listen_on(s, l, cfg != NULL ? cfg : &defaults);
}
