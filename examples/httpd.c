/*
 * httpd.c: a small HTTP/1.1 server: GET and HEAD of "/" answer a fixed
 * "Hello, world!", other paths 404, other methods 405. Connections are
 * kept alive (HTTP/1.1 unless "Connection: close"; HTTP/1.0 when asked)
 * and requests may be pipelined: answers to every request already read go
 * out in one write. SIGINT or SIGTERM stops it gracefully: the answers in
 * hand are sent, idle connections closed, everything freed, exit 0.
 *
 * What it shows: a task per connection (async functions), the parser as a
 * separate pure unit with limits (http_parse.c: 431, 414, 400, 505), the
 * buffered reader's own buffer as the limit of a request head, a deadline
 * for a whole head (a slowloris client sending a byte at a time gets 408)
 * and for an idle connection, and select over the read, the deadline and
 * the stop token. It reads no request body (413).
 *
 * Run it: build/examples/cfut-httpd [HOST:]PORT [HEAD_TIMEOUT_MS]
 *   (default 127.0.0.1:8080 and 10000 ms; port 0: the kernel picks one).
 *   It prints "listening on HOST:PORT". Try: curl -v localhost:8080/
 * The tokio program that does the same: bench/peers/rust/src/bin/httpd.rs.
 */
#include <cfut.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_parse.h"

#define MAX_HEAD 8192          /* a request head, and the read buffer */
#define OUT_BUF 16384          /* answers waiting to be written */
#define IDLE_TIMEOUT 60000     /* ms between two requests */
#define BODY "Hello, world!\n" /* what GET / answers */
/* The answer to nearly every request, ready made. */
#define OK_KEEP                                                                \
    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: "          \
    "14\r\n\r\n" BODY

static const struct http_limits limits = {MAX_HEAD, 4096, 64};
static uint64_t head_timeout = CFUT_MSEC(10000); /* argv[2] */

/* What the tasks share: the listener and the stop token. */
struct server {
    struct cfut_listener *l;
    struct cfut_token stop;
};

/* The reason phrase of each status this server sends. */
static const char *
reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 413:
        return "Content Too Large";
    case 414:
        return "URI Too Long";
    case 431:
        return "Request Header Fields Too Large";
    case 501:
        return "Not Implemented";
    default:
        return "HTTP Version Not Supported";
    }
}

/* Decides the status of a parsed request; clears '*keep' when the
 * connection must close after it. */
static int
route(const struct http_request *req, bool *keep, bool *head)
{
    *keep = req->keep_alive;
    *head = req->method_len == 4 && memcmp(req->method, "HEAD", 4) == 0;
    if (req->has_encoding) {
        *keep = false; /* a body we cannot skip: its framing is unread */
        return 501;
    }
    if (req->has_length && req->content_length > 0) {
        *keep = false;
        return 413;
    }
    if (!*head && !(req->method_len == 3 && memcmp(req->method, "GET", 3) == 0))
        return 405;
    return req->target_len == 1 && req->target[0] == '/' ? 200 : 404;
}

/* Puts the answer into 'w' (room for it was made): the fixed body for a
 * 200, the reason phrase for the others; no body for HEAD. */
static void
answer(struct cfut_buf_writer *w, int status, bool keep, bool head, int minor)
{
    if (status == 200 && keep && !head && minor == 1) {
        cfut_buf_writer_put(w, OK_KEEP, sizeof OK_KEEP - 1);
        return;
    }
    char buf[256];
    const char *body = status == 200 ? BODY : reason(status);
    size_t body_len = strlen(body) + (status == 200 ? 0 : 1);
    int n = snprintf(buf, sizeof buf,
                     "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\n"
                     "Content-Length: %zu\r\n%s%s%s\r\n%s%s",
                     status, reason(status), body_len,
                     status == 405 ? "Allow: GET, HEAD\r\n" : "",
                     !keep ? "Connection: close\r\n" : "",
                     keep && minor == 0 ? "Connection: keep-alive\r\n" : "",
                     head ? "" : body, head || status == 200 ? "" : "\n");
    cfut_buf_writer_put(w, buf, (size_t)n);
}

/* Parses the request at the start of what 'in' holds ('*have' bytes). */
static int
parse_next(struct cfut_buf_reader *in, size_t *have, struct http_request *req)
{
    const char *head = cfut_buf_reader_buffered(in, have);
    return http_parse(head, *have, &limits, req);
}

/* Initialises 's' to wait for the first of 'a', 'b' and 'c' (NULL: only
 * two); if it cannot, drops them (still ours on failure) and says why. */
static int
first_of(struct cfut_select *s, struct cfut_future *a, struct cfut_future *b,
         struct cfut_future *c)
{
    struct cfut_future *kids[] = {a, b, c};
    size_t n = c != NULL ? 3 : 2;
    int st = cfut_select_init(s, kids, n, CFUT_SELECT_BIASED);
    for (size_t i = 0; st != CFUT_OK && i < n; i++)
        cfut_future_drop(kids[i]);
    return st;
}

/* ---- a connection: one task ---- */

CFUT_ASYNC_FN(conn, void, ((struct server *, srv), (struct cfut_stream *, s)),
              bool open;
              bool keep; bool head; int status; size_t have; uint64_t deadline;
              struct http_request req; struct cfut_buf_reader in;
              struct cfut_buf_writer out; struct cfut_token_cancelled stop;
              struct cfut_buf_read fill; struct cfut_sleep timer;
              struct cfut_select any;
              CFUT_SELECT_OUTPUT(struct cfut_buf_result) ev;
              struct cfut_buf_write flush; struct cfut_io_result res;
              char in_buf[MAX_HEAD]; char out_buf[OUT_BUF];)
{
    CFUT_BEGIN();
    cfut_buf_reader_init(&self->in, self->s, self->in_buf, MAX_HEAD);
    cfut_buf_writer_init(&self->out, self->s, self->out_buf, OUT_BUF);
    self->open = self->keep = true;
    while (self->keep) {
        /* Step: a whole request in the buffer? Then answer it. */
        self->status = parse_next(&self->in, &self->have, &self->req);
        if (self->status > 0) {
            cfut_buf_reader_consume(&self->in, (size_t)self->status);
            self->status = route(&self->req, &self->keep, &self->head);
            self->deadline = 0; /* the next head has a deadline of its own */
        } else if (self->status < 0) {
            self->status = -self->status; /* a bad or too large head */
            self->keep = self->head = false;
            self->req.minor = 1;
        } else {
            /* Step: no: send the answers so far, then read more, until the
             * head's deadline (from its first byte) or the stop. */
            if (cfut_buf_writer_buffered(&self->out) > 0) {
                cfut_buf_flush_init(&self->flush, &self->out);
                CFUT_AWAIT(&self->flush, &self->res);
                if (self->res.status != CFUT_OK)
                    break;
            }
            if (self->have > 0 && self->deadline == 0)
                self->deadline = cfut_time_now(NULL) + head_timeout;
            cfut_token_cancelled_init(&self->stop, &self->srv->stop);
            cfut_buf_fill_init(&self->fill, &self->in, self->have + 1);
            if (self->have == 0) /* idle: between two requests */
                cfut_sleep_init(&self->timer, CFUT_MSEC(IDLE_TIMEOUT));
            else /* within a head: its deadline runs from its first byte */
                cfut_sleep_until_init(&self->timer, self->deadline);
            if (first_of(&self->any, &self->stop.base, &self->fill.base,
                         &self->timer.base) != CFUT_OK)
                break;
            CFUT_AWAIT(&self->any, &self->ev);
            if (self->ev.index == 1 && self->ev.value.status == CFUT_OK)
                continue; /* more bytes: parse again */
            if (self->ev.index != 2 || self->have == 0)
                break; /* stopping, idle too long, or the client left */
            self->status = 408; /* a head that took too long */
            self->keep = self->head = false;
        }
        /* Step: make room if needed, then put the answer in the buffer. */
        if (OUT_BUF - cfut_buf_writer_buffered(&self->out) < 512) {
            cfut_buf_flush_init(&self->flush, &self->out);
            CFUT_AWAIT(&self->flush, &self->res);
            if (self->res.status != CFUT_OK)
                break;
        }
        answer(&self->out, self->status, self->keep, self->head,
               self->req.minor);
    }
    /* Step: the last answers out (a close that follows an error answer). */
    if (cfut_buf_writer_buffered(&self->out) > 0) {
        cfut_buf_flush_init(&self->flush, &self->out);
        CFUT_AWAIT(&self->flush, &self->res);
    }
    CFUT_END();
}

CFUT_ASYNC_DROP(conn)
{
    if (self->open) {
        cfut_buf_reader_deinit(&self->in);
        cfut_buf_writer_deinit(&self->out);
    }
    cfut_stream_close(self->s);
}

/* ---- the accept loop and the shutdown ---- */

CFUT_ASYNC_FN(accept_loop, void, ((struct server *, srv)),
              struct cfut_token_cancelled stop;
              struct cfut_listener_accept acc; struct cfut_select any;
              CFUT_SELECT_OUTPUT(struct cfut_accepted) ev;)
{
    CFUT_BEGIN();
    for (;;) {
        cfut_token_cancelled_init(&self->stop, &self->srv->stop);
        cfut_listener_accept_init(&self->acc, self->srv->l);
        if (first_of(&self->any, &self->stop.base, &self->acc.base, NULL) !=
            CFUT_OK)
            break;
        CFUT_AWAIT(&self->any, &self->ev);
        if (self->ev.index == 0)
            break; /* the server stops */
        if (self->ev.value.status == CFUT_ENOMEM)
            continue; /* that connection is lost; take the next one */
        if (self->ev.value.status != CFUT_OK)
            break; /* the listener itself is broken */
        if (conn_spawn(NULL, NULL, self->srv, self->ev.value.stream) != CFUT_OK)
            cfut_stream_close(self->ev.value.stream);
    }
    cfut_token_cancel(&self->srv->stop); /* whatever ended it, stop all */
    CFUT_END();
}

CFUT_ASYNC_FN(until_signal, void,
              ((struct cfut_signal *, intr), (struct cfut_signal *, term)),
              struct cfut_signal_recv a;
              struct cfut_signal_recv b; struct cfut_select any;
              CFUT_SELECT_OUTPUT(uint64_t) ev;)
{
    CFUT_BEGIN();
    cfut_signal_recv_init(&self->a, self->intr);
    cfut_signal_recv_init(&self->b, self->term);
    if (first_of(&self->any, &self->a.base, &self->b.base, NULL) == CFUT_OK)
        CFUT_AWAIT(&self->any, &self->ev);
    CFUT_END();
}

int
main(int argc, char **argv)
{
    char host[CFUT_HOSTNAME_MAX + 1] = "127.0.0.1", where[CFUT_SOCKADDR_STRLEN];
    uint16_t port = 8080;
    const char *arg = argc > 1 ? argv[1] : "8080";
    if ((strchr(arg, ':') ? cfut_hostport_split(arg, host, sizeof host, &port)
                          : sscanf(arg, "%hu", &port) != 1) ||
        (argc > 2 &&
         (head_timeout = CFUT_MSEC(strtoull(argv[2], NULL, 10))) == 0)) {
        fprintf(stderr, "usage: %s [HOST:]PORT [HEAD_TIMEOUT_MS]\n", argv[0]);
        return 2;
    }
    /* Step 1: the executor, the listener, the signals, the stop token. */
    struct cfut_executor *ex;
    struct server srv = {0};
    struct cfut_signal *intr = NULL, *term = NULL;
    struct cfut_sockaddr local;
    int st = cfut_executor_new(&ex);
    if (st == CFUT_OK)
        st = cfut_tcp_listen_host(ex, host, port, NULL, &srv.l);
    if (st == CFUT_OK && (st = cfut_signal_new(ex, SIGINT, &intr)) == CFUT_OK &&
        (st = cfut_signal_new(ex, SIGTERM, &term)) == CFUT_OK &&
        (st = cfut_token_new(&srv.stop)) == CFUT_OK &&
        (st = cfut_listener_local_addr(srv.l, &local)) == CFUT_OK &&
        (st = cfut_sockaddr_format(&local, where, sizeof where)) == CFUT_OK &&
        (st = accept_loop_spawn(ex, NULL, &srv)) == CFUT_OK) {
        printf("listening on %s\n", where);
        fflush(stdout);
        /* Step 2: serve until a signal, then stop every task and wait. */
        struct until_signal wait;
        until_signal_init(&wait, intr, term);
        cfut_block_on(ex, &wait.base, NULL);
        cfut_token_cancel(&srv.stop);
        st = cfut_executor_run(ex);
    }
    if (st != CFUT_OK)
        fprintf(stderr, "httpd: %s\n", cfut_strerror(st));
    /* Step 3: free it all (each call takes NULL or an empty handle). */
    cfut_token_drop(&srv.stop);
    cfut_signal_free(term);
    cfut_signal_free(intr);
    cfut_listener_free(srv.l);
    cfut_executor_free(ex);
    return st == CFUT_OK ? 0 : 1;
}
