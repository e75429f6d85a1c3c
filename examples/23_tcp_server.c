/*
 * Lesson 23: a TCP server from scratch.
 *
 * What you will learn:
 *   - a server is an accept loop: a task that awaits the listener's accept
 *     future again and again and spawns a task per connection;
 *   - a connection task reads lines through a buffered reader (one buffer,
 *     a longest line: a longer one is an error, not a bigger allocation)
 *     and answers through a buffered writer, flushed once per line;
 *   - the lesson is its own client (one task, two connections); the
 *     server stops by cancelling its accept loop.
 * Builds on: lesson 11 (async functions), 14 (the reactor), 16 (cancel).
 * API introduced: cfut_tcp_listen, struct cfut_listener, cfut_listener_port,
 *   cfut_listener_free, struct cfut_listener_accept,
 *   cfut_listener_accept_init, struct cfut_accepted, struct cfut_tcp_connect,
 *   cfut_tcp_connect_init, struct cfut_buf_reader, cfut_buf_reader_init/deinit,
 *   struct cfut_buf_read, cfut_buf_read_line_init, struct cfut_buf_result,
 *   struct cfut_buf_writer, cfut_buf_writer_init/deinit, struct cfut_buf_write,
 *   cfut_buf_write_init, cfut_buf_flush_init, struct cfut_io_result,
 *   cfut_stream_close, CFUT_EMSGSIZE.
 * Run it: build/examples/23_tcp_server   (try CFUT_TRACE=- too)
 * Expected output: examples/expected/23_tcp_server.txt
 */
#include <cfut.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#define MAX_LINE 32 /* the server's longest line, its '\n' included */

/* A connection: its stream, and a reader and a writer over it whose
 * buffers are here too (no allocation: a task holds it all). */
struct conn {
    struct cfut_stream *s;
    struct cfut_buf_reader in;
    struct cfut_buf_writer out;
    char in_buf[MAX_LINE], out_buf[MAX_LINE];
};

static void
conn_open(struct conn *c, struct cfut_stream *s)
{
    c->s = s; /* with buffers of our own, neither init can fail */
    cfut_buf_reader_init(&c->in, s, c->in_buf, sizeof c->in_buf);
    cfut_buf_writer_init(&c->out, s, c->out_buf, sizeof c->out_buf);
}

static void
conn_close(struct conn *c)
{
    if (c->s != NULL) { /* opened */
        cfut_buf_reader_deinit(&c->in);
        cfut_buf_writer_deinit(&c->out);
        cfut_stream_close(c->s); /* the peer sees the end of the stream */
    }
}

/* ---- the server: a task per connection, and the accept loop ---- */

CFUT_ASYNC_FN(serve, void, ((struct cfut_stream *, s), (int, id)),
              struct conn c;
              struct cfut_buf_read rd; struct cfut_buf_result line;
              char reply[MAX_LINE + 1]; struct cfut_buf_write wr;
              struct cfut_io_result res;)
{
    CFUT_BEGIN();
    conn_open(&self->c, self->s);
    for (;;) {
        /* Step: the next line, '\n' included, at most MAX_LINE bytes. */
        cfut_buf_read_line_init(&self->rd, &self->c.in, MAX_LINE);
        CFUT_AWAIT(&self->rd, &self->line);
        if (self->line.status == CFUT_EMSGSIZE) {
            printf("  conn %d: a line over %d bytes: refused\n", self->id,
                   MAX_LINE);
            snprintf(self->reply, sizeof self->reply, "line too long\n");
        } else if (self->line.status == CFUT_OK) {
            /* Step: answer in capitals (the view lasts till the next read). */
            printf("  conn %d: %.*s\n", self->id, (int)self->line.len - 1,
                   self->line.data);
            for (size_t i = 0; i < self->line.len; i++)
                self->reply[i] =
                    (char)toupper((unsigned char)self->line.data[i]);
            self->reply[self->line.len] = '\0';
        } else {
            break; /* CFUT_EEOF: the client is done (or an error) */
        }
        /* Step: write the reply (into the buffer), then flush it out. */
        cfut_buf_write_init(&self->wr, &self->c.out, self->reply,
                            strlen(self->reply));
        CFUT_AWAIT(&self->wr, &self->res);
        cfut_buf_flush_init(&self->wr, &self->c.out);
        CFUT_AWAIT(&self->wr, &self->res);
        if (self->res.status != CFUT_OK || self->line.status != CFUT_OK)
            break;
    }
    printf("  conn %d: closed\n", self->id);
    CFUT_END();
}

CFUT_ASYNC_DROP(serve)
{
    if (self->c.s == NULL) /* dropped before its first poll */
        cfut_stream_close(self->s);
    conn_close(&self->c);
}

CFUT_ASYNC_FN(accept_loop, void, ((struct cfut_listener *, l)), int n;
              struct cfut_listener_accept acc; struct cfut_accepted got;)
{
    CFUT_BEGIN();
    for (;;) {
        cfut_listener_accept_init(&self->acc, self->l);
        CFUT_AWAIT(&self->acc, &self->got);
        if (self->got.status == CFUT_ENOMEM)
            continue; /* that connection is lost; accept the next one */
        if (self->got.status != CFUT_OK)
            break; /* the listener itself is broken */
        printf("  server: connection %d accepted\n", ++self->n);
        if (serve_spawn(NULL, NULL, self->got.stream, self->n) != CFUT_OK)
            cfut_stream_close(self->got.stream);
    }
    CFUT_END();
}

/* ---- the client: two connections, four lines, four replies ---- */

/* Sent on connections 0, 1, 0, 1: the last one is too long. */
static const char *const lines[] = {"hello\n", "hi there\n", "still here\n",
                                    "this line is longer than 32 bytes\n"};

CFUT_ASYNC_FN(client, int, ((const char *, addr)), struct conn c[2]; int k;
              struct conn * cur; struct cfut_tcp_connect connect;
              struct cfut_accepted got; struct cfut_buf_write wr;
              struct cfut_io_result res; struct cfut_buf_read rd;
              struct cfut_buf_result reply;)
{
    CFUT_BEGIN();
    for (self->k = 0; self->k < 2; self->k++) {
        if (cfut_tcp_connect_init(&self->connect, self->addr, NULL) != CFUT_OK)
            CFUT_RETURN(CFUT_EINVAL);
        CFUT_AWAIT(&self->connect, &self->got);
        if (self->got.status != CFUT_OK)
            CFUT_RETURN(self->got.status);
        conn_open(&self->c[self->k], self->got.stream);
    }
    for (self->k = 0; self->k < 4; self->k++) {
        self->cur = &self->c[self->k % 2]; /* in the state: it is pinned */
        cfut_buf_write_init(&self->wr, &self->cur->out, lines[self->k],
                            strlen(lines[self->k]));
        CFUT_AWAIT(&self->wr, &self->res);
        cfut_buf_flush_init(&self->wr, &self->cur->out);
        CFUT_AWAIT(&self->wr, &self->res);
        cfut_buf_read_line_init(&self->rd, &self->cur->in, 0);
        CFUT_AWAIT(&self->rd, &self->reply);
        if (self->reply.status != CFUT_OK)
            CFUT_RETURN(self->reply.status);
        printf("client: %.*s -> %.*s\n", (int)strlen(lines[self->k]) - 1,
               lines[self->k], (int)self->reply.len - 1, self->reply.data);
    }
    CFUT_RETURN(CFUT_OK);
    CFUT_END();
}

CFUT_ASYNC_DROP(client)
{
    conn_close(&self->c[0]);
    conn_close(&self->c[1]);
}

int
main(void)
{
    struct cfut_executor *ex;
    struct cfut_listener *l;
    /* Step 1: listen on a port the kernel picks, on the loopback. */
    if (cfut_executor_new(&ex) != CFUT_OK ||
        cfut_tcp_listen(ex, "127.0.0.1:0", NULL, &l) != CFUT_OK)
        return 1;
    char addr[32];
    snprintf(addr, sizeof addr, "127.0.0.1:%u", cfut_listener_port(l));

    /* Step 2: the accept loop is a task; the client is another. */
    struct cfut_join_handle server;
    if (accept_loop_spawn(ex, &server, l) != CFUT_OK)
        return 1;
    struct client c;
    client_init(&c, addr);
    int st = CFUT_OK;
    cfut_block_on(ex, &c.base, &st);
    printf("client: done (%s)\n", cfut_status_name(st));

    /* Step 3: stop: cancel the accept loop, let the connections end. */
    cfut_join_handle_cancel(&server);
    cfut_future_drop(&server.base);
    cfut_executor_run(ex);
    cfut_listener_free(l);
    cfut_executor_free(ex);
    return 0;
}
