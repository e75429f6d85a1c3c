/*
 * chat.c: a TCP line chat server. Every line a client sends goes to every
 * other client, prefixed with the sender's address; clients that join or
 * leave are announced. SIGINT or SIGTERM stops it gracefully: every client
 * is told, every connection closed, everything freed, exit status 0.
 *
 * What it shows: async functions (one task per connection, an accept
 * loop), the listener and its accept future, the line codec over a
 * buffered reader (a line longer than MAX_LINE is refused, not buffered),
 * the broadcast channel for the fan-out (a client too slow to keep up
 * learns how many lines it missed), a cancellation token and signal
 * futures for the shutdown, select to wait for whichever comes first.
 *
 * Run it: build/examples/cfut-chat [HOST:PORT]   (default 127.0.0.1:7000;
 *   port 0: the kernel picks one). It prints "listening on HOST:PORT".
 *   Talk to it with 'nc 127.0.0.1 7000' from two terminals.
 * The tokio program that does the same: bench/peers/rust/src/bin/chat.rs.
 */
#include <cfut.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define MAX_LINE 512 /* the longest line a client may send */
#define RING 1024    /* lines kept for clients that fall behind */

/* A line on its way to every client: who sent it, and the text to write. */
struct msg {
    uint64_t from; /* the sender's connection number */
    char text[CFUT_SOCKADDR_STRLEN + MAX_LINE + 8];
};

/* What the tasks share: the channel, the stop token, the listener. */
struct hub {
    struct cfut_broadcast_sender tx;
    struct cfut_token stop;
    struct cfut_listener *l;
};

/* Initialises 's' to wait for the first of 'a', 'b' and 'c' (NULL: only
 * two); if it cannot, drops them (still ours on failure) and says why. */
static int
first_of(struct cfut_select *s, struct cfut_future *a, struct cfut_future *b,
         struct cfut_future *c)
{
    struct cfut_future *kids[] = {a, b, c};
    int st = cfut_select_init(s, kids, c ? 3 : 2, CFUT_SELECT_BIASED);
    for (size_t i = 0; st != CFUT_OK && i < 3 && kids[i]; i++)
        cfut_future_drop(kids[i]);
    return st;
}

/* Sends a line, formatted as printf() does, to every client. */
static void
say(struct hub *hub, uint64_t from, const char *fmt, ...)
{
    struct msg m = {.from = from};
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m.text, sizeof m.text, fmt, ap); /* (cut if too long) */
    va_end(ap);
    (void)cfut_broadcast_send(&hub->tx, &m); /* we hold a receiver: no error */
}

/* One of the three things a connection waits for. */
union event {
    struct cfut_buf_result line;           /* the client sent a line */
    CFUT_BROADCAST_OUTPUT(struct msg) msg; /* someone said something */
};

/* ---- a connection: one task ---- */

CFUT_ASYNC_FN(peer, void,
              ((struct hub *, hub), (struct cfut_stream *, s),
               (struct cfut_sockaddr, addr), (uint64_t, id)),
              char name[CFUT_SOCKADDR_STRLEN];
              struct cfut_buf_reader in; struct cfut_line_codec lines;
              struct cfut_buf_writer out; struct cfut_broadcast_receiver rx;
              struct cfut_token_cancelled stop; struct cfut_broadcast_recv next;
              struct cfut_line_decode line; struct cfut_select any;
              CFUT_SELECT_OUTPUT(union event) ev; struct cfut_buf_write flush;
              struct cfut_timeout deadline;
              CFUT_TIMEOUT_OUTPUT(struct cfut_io_result) sent;
              char in_buf[MAX_LINE + 2]; char out_buf[2 * sizeof(struct msg)];)
{
    CFUT_BEGIN();
    /* Buffers of our own: no init can fail, and no deinit is needed. */
    cfut_buf_reader_init(&self->in, self->s, self->in_buf, sizeof self->in_buf);
    cfut_line_codec_init(&self->lines, &self->in, MAX_LINE, CFUT_LINE_LF);
    cfut_buf_writer_init(&self->out, self->s, self->out_buf,
                         sizeof self->out_buf);
    self->rx = cfut_broadcast_subscribe(&self->hub->tx);
    cfut_sockaddr_format(&self->addr, self->name, sizeof self->name);
    say(self->hub, self->id, "*** %s joined\n", self->name);
    cfut_buf_writer_put(&self->out, "*** welcome, ", 13);
    cfut_buf_writer_put(&self->out, self->name, strlen(self->name));
    cfut_buf_writer_put(&self->out, "\n", 1);
    for (;;) {
        /* Step: write out what is buffered; a client stuck for 10 s goes. */
        cfut_buf_flush_init(&self->flush, &self->out);
        cfut_timeout_init(&self->deadline, &self->flush.base, CFUT_SEC(10));
        CFUT_AWAIT(&self->deadline, &self->sent);
        if (self->sent.status != CFUT_OK || self->sent.value.status != 0 ||
            cfut_token_is_cancelled(&self->hub->stop))
            break; /* a stuck client, a broken one, or the stop notice out */
        /* Step: wait for the stop, a line from the others, or our client. */
        cfut_token_cancelled_init(&self->stop, &self->hub->stop);
        cfut_broadcast_recv_init(&self->next, &self->rx);
        cfut_line_decode_init(&self->line, &self->lines);
        if (first_of(&self->any, &self->stop.base, &self->next.base,
                     &self->line.base) != CFUT_OK)
            break;
        CFUT_AWAIT(&self->any, &self->ev);
        if (self->ev.index == 2 && self->ev.value.line.status == CFUT_OK) {
            say(self->hub, self->id, "%s: %.*s\n", self->name,
                (int)self->ev.value.line.len, self->ev.value.line.data);
            CFUT_YIELD(); /* one line per turn: let the others keep up */
            continue;
        }
        union event *e = &self->ev.value; /* (no await below: a local) */
        if (self->ev.index == 0) /* the server stops: say so, then end */
            cfut_buf_writer_put(&self->out, "*** server shutting down\n", 25);
        else if (self->ev.index == 1 && e->msg.status == CFUT_OK) {
            if (e->msg.value.from != self->id) /* not our client's own */
                cfut_buf_writer_put(&self->out, e->msg.value.text,
                                    strlen(e->msg.value.text));
        } else if (self->ev.index == 1) /* (closed: not while main holds tx) */
            cfut_buf_writer_put(&self->out, "*** missed lines\n", 17);
        else if (e->line.status == CFUT_EMSGSIZE)
            cfut_buf_writer_put(&self->out, "*** line too long\n", 18);
        else
            break; /* the client left (end of stream, reset, error) */
    }
    say(self->hub, self->id, "*** %s left\n", self->name);
    CFUT_END();
}

CFUT_ASYNC_DROP(peer)
{
    cfut_broadcast_receiver_drop(&self->rx); /* (an empty one: no-op) */
    cfut_stream_close(self->s);
}

/* ---- the accept loop: a task per connection, until cancelled ---- */

CFUT_ASYNC_FN(accept_loop, void, ((struct hub *, hub)), uint64_t n;
              struct cfut_listener_accept acc; struct cfut_accepted got;)
{
    CFUT_BEGIN();
    for (;;) {
        cfut_listener_accept_init(&self->acc, self->hub->l);
        CFUT_AWAIT(&self->acc, &self->got);
        if (self->got.status == CFUT_OK &&
            peer_spawn(NULL, NULL, self->hub, self->got.stream, self->got.peer,
                       ++self->n) != CFUT_OK)
            cfut_stream_close(self->got.stream);
        else if (self->got.status != CFUT_OK && self->got.status != CFUT_ENOMEM)
            break; /* the listener is broken (ENOMEM: one connection lost) */
    }
    CFUT_END();
}

int
main(int argc, char **argv)
{
    const char *addr = argc > 1 ? argv[1] : "127.0.0.1:7000";
    struct cfut_executor *ex = NULL;
    struct hub hub = {0};
    struct cfut_signal *intr = NULL, *term = NULL;
    struct cfut_broadcast_receiver rx = {0};
    struct cfut_signal_recv a, b;
    struct cfut_select any;
    struct cfut_join_handle acceptor;
    /* Step 1: the executor, the listener, the signals, the channel. */
    int st;
    if ((st = cfut_executor_new(&ex)) ||
        (st = cfut_tcp_listen(ex, addr, NULL, &hub.l)) ||
        (st = cfut_signal_new(ex, SIGINT, &intr)) ||
        (st = cfut_signal_new(ex, SIGTERM, &term)) ||
        (st = cfut_token_new(&hub.stop)) ||
        (st = cfut_broadcast_new(sizeof(struct msg), RING, NULL, &hub.tx,
                                 &rx)) ||
        (st = accept_loop_spawn(ex, &acceptor, &hub)))
        fprintf(stderr, "chat: %s: %s\n", addr, cfut_strerror(st));
    else {
        cfut_broadcast_receiver_drop(&rx); /* each peer subscribes its own */
        printf("listening on %.*s:%u\n", (int)(strrchr(addr, ':') - addr), addr,
               cfut_listener_port(hub.l)),
            fflush(stdout);
        /* Step 2: serve until a signal, then stop every task and wait. */
        cfut_signal_recv_init(&a, intr);
        cfut_signal_recv_init(&b, term);
        if ((st = first_of(&any, &a.base, &b.base, NULL)) == CFUT_OK)
            st = cfut_block_on(ex, &any.base, NULL);
        cfut_join_handle_cancel(&acceptor); /* no more connections */
        cfut_future_drop(&acceptor.base);
        cfut_token_cancel(&hub.stop); /* and every peer says goodbye */
        st = st ? st : cfut_executor_run(ex);
    }
    /* Step 3: free it all (each call takes NULL or an empty handle). */
    cfut_broadcast_sender_drop(&hub.tx);
    cfut_token_drop(&hub.stop);
    cfut_signal_free(term);
    cfut_signal_free(intr);
    cfut_listener_free(hub.l);
    cfut_executor_free(ex);
    return st == CFUT_OK ? 0 : 1;
}
