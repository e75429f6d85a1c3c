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
 * Run it: build/examples/cfut-chat [HOST:]PORT   (default 127.0.0.1:7000;
 *   port 0: the kernel picks one). It prints "listening on HOST:PORT".
 *   Talk to it with 'nc 127.0.0.1 7000' from two terminals.
 * The tokio program that does the same: bench/peers/rust/src/bin/chat.rs.
 */
#include <cfut.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#define MAX_LINE 512        /* the longest line a client may send */
#define RING 1024           /* lines kept for clients that fall behind */
#define WRITE_TIMEOUT 10000 /* ms: a client that reads nothing is dropped */
#define MAX_MSG (CFUT_SOCKADDR_STRLEN + MAX_LINE + 8)

/* A line on its way to every client: who sent it, and the text to write. */
struct msg {
    uint64_t from; /* the sender's connection number */
    size_t len;
    char text[MAX_MSG];
};

/* What the tasks share: the channel, the stop token, the listener. */
struct hub {
    struct cfut_broadcast_sender tx;
    struct cfut_token stop;
    struct cfut_listener *l;
    uint64_t n_conns;
};

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

/* Sends "NAME: TEXT\n" (or "*** NAME TEXT\n" for news) to every client. */
static void
say(struct hub *hub, uint64_t from, const char *name, bool news,
    const char *text, size_t len)
{
    struct msg m = {.from = from};
    int n =
        snprintf(m.text, sizeof m.text, news ? "*** %s %.*s\n" : "%s: %.*s\n",
                 name, (int)len, text);
    m.len = (size_t)n < sizeof m.text ? (size_t)n : sizeof m.text - 1;
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
              bool open;
              char name[CFUT_SOCKADDR_STRLEN]; struct cfut_buf_reader in;
              struct cfut_line_codec lines; struct cfut_buf_writer out;
              struct cfut_broadcast_receiver rx;
              struct cfut_token_cancelled stop; struct cfut_broadcast_recv next;
              struct cfut_line_decode line; struct cfut_select any;
              CFUT_SELECT_OUTPUT(union event) ev; struct msg m;
              struct cfut_buf_write flush; struct cfut_timeout deadline;
              CFUT_TIMEOUT_OUTPUT(struct cfut_io_result) sent;
              char in_buf[MAX_LINE + 2]; char out_buf[8 * MAX_MSG];)
{
    CFUT_BEGIN();
    /* Buffers of our own: neither init can fail. */
    cfut_buf_reader_init(&self->in, self->s, self->in_buf, sizeof self->in_buf);
    cfut_line_codec_init(&self->lines, &self->in, MAX_LINE, CFUT_LINE_LF);
    cfut_buf_writer_init(&self->out, self->s, self->out_buf,
                         sizeof self->out_buf);
    self->rx = cfut_broadcast_subscribe(&self->hub->tx);
    self->open = true;
    cfut_sockaddr_format(&self->addr, self->name, sizeof self->name);
    say(self->hub, self->id, self->name, true, "joined", 6);
    self->m.len = (size_t)snprintf(self->m.text, sizeof self->m.text,
                                   "*** welcome, %s\n", self->name);
    cfut_buf_writer_put(&self->out, self->m.text, self->m.len);

    for (;;) {
        /* Step: write out what is buffered, giving up on a stuck client. */
        if (cfut_buf_writer_buffered(&self->out) > 0) {
            cfut_buf_flush_init(&self->flush, &self->out);
            cfut_timeout_init(&self->deadline, &self->flush.base,
                              CFUT_MSEC(WRITE_TIMEOUT));
            CFUT_AWAIT(&self->deadline, &self->sent);
            if (self->sent.status != CFUT_OK || self->sent.value.status != 0)
                break;
        }
        /* Step: wait for the stop, a line from the others, or our client. */
        cfut_token_cancelled_init(&self->stop, &self->hub->stop);
        cfut_broadcast_recv_init(&self->next, &self->rx);
        cfut_line_decode_init(&self->line, &self->lines);
        if (first_of(&self->any, &self->stop.base, &self->next.base,
                     &self->line.base) != CFUT_OK)
            break;
        CFUT_AWAIT(&self->any, &self->ev);

        if (self->ev.index == 0) { /* the server stops */
            cfut_buf_writer_put(&self->out, "*** server shutting down\n", 25);
            cfut_buf_flush_init(&self->flush, &self->out);
            CFUT_AWAIT(&self->flush);
            break;
        } else if (self->ev.index == 1) { /* lines for our client */
            int st = self->ev.value.msg.status;
            self->m = self->ev.value.msg.value;
            /* Take every line waiting, as long as the buffer has room. */
            while (st != CFUT_ECLOSED) {
                if (st == CFUT_ELAGGED) {
                    char note[64];
                    int n = snprintf(
                        note, sizeof note, "*** missed %llu lines\n",
                        (unsigned long long)self->ev.value.msg.n_skipped);
                    cfut_buf_writer_put(&self->out, note, (size_t)n);
                } else if (self->m.from != self->id) {
                    cfut_buf_writer_put(&self->out, self->m.text, self->m.len);
                }
                if (cfut_buf_writer_buffered(&self->out) + 2 * MAX_MSG >
                    sizeof self->out_buf)
                    break;
                uint64_t skipped = 0;
                st = cfut_broadcast_try_recv(&self->rx, &self->m, &skipped);
                if (st == CFUT_EAGAIN)
                    break;
                self->ev.value.msg.n_skipped = skipped;
            }
        } else if (self->ev.value.line.status == CFUT_OK) { /* a line to say */
            say(self->hub, self->id, self->name, false,
                self->ev.value.line.data, self->ev.value.line.len);
            CFUT_YIELD(); /* one line per turn: let the others keep up */
        } else if (self->ev.value.line.status == CFUT_EMSGSIZE) {
            cfut_buf_writer_put(&self->out, "*** line too long\n", 18);
        } else {
            break; /* the client left (end of stream, reset, error) */
        }
    }
    say(self->hub, self->id, self->name, true, "left", 4);
    CFUT_END();
}

CFUT_ASYNC_DROP(peer)
{
    if (self->open) {
        cfut_broadcast_receiver_drop(&self->rx);
        cfut_buf_reader_deinit(&self->in);
        cfut_buf_writer_deinit(&self->out);
    }
    cfut_stream_close(self->s);
}

/* ---- the accept loop: a task per connection, until the stop ---- */

CFUT_ASYNC_FN(accept_loop, void, ((struct hub *, hub)),
              struct cfut_token_cancelled stop;
              struct cfut_listener_accept acc; struct cfut_select any;
              CFUT_SELECT_OUTPUT(struct cfut_accepted) ev;)
{
    CFUT_BEGIN();
    for (;;) {
        cfut_token_cancelled_init(&self->stop, &self->hub->stop);
        cfut_listener_accept_init(&self->acc, self->hub->l);
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
        if (peer_spawn(NULL, NULL, self->hub, self->ev.value.stream,
                       self->ev.value.peer, ++self->hub->n_conns) != CFUT_OK)
            cfut_stream_close(self->ev.value.stream);
    }
    cfut_token_cancel(&self->hub->stop); /* whatever ended it, stop all */
    CFUT_END();
}

/* ---- shutdown: the first SIGINT or SIGTERM ---- */

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
    uint16_t port = 7000;
    const char *arg = argc > 1 ? argv[1] : "7000";
    if (strchr(arg, ':') ? cfut_hostport_split(arg, host, sizeof host, &port)
                         : sscanf(arg, "%hu", &port) != 1) {
        fprintf(stderr, "usage: %s [HOST:]PORT\n", argv[0]);
        return 2;
    }
    /* Step 1: the executor, the listener, the signals, the channel. */
    struct cfut_executor *ex;
    struct hub hub = {0};
    struct cfut_signal *intr = NULL, *term = NULL;
    struct cfut_broadcast_receiver rx;
    struct cfut_sockaddr local;
    int st = cfut_executor_new(&ex);
    if (st == CFUT_OK)
        st = cfut_tcp_listen_host(ex, host, port, NULL, &hub.l);
    if (st == CFUT_OK && (st = cfut_signal_new(ex, SIGINT, &intr)) == CFUT_OK &&
        (st = cfut_signal_new(ex, SIGTERM, &term)) == CFUT_OK &&
        (st = cfut_token_new(&hub.stop)) == CFUT_OK &&
        (st = cfut_broadcast_new(sizeof(struct msg), RING, NULL, &hub.tx,
                                 &rx)) == CFUT_OK)
        cfut_broadcast_receiver_drop(&rx); /* each peer subscribes its own */
    if (st == CFUT_OK &&
        (st = cfut_listener_local_addr(hub.l, &local)) == CFUT_OK &&
        (st = cfut_sockaddr_format(&local, where, sizeof where)) == CFUT_OK &&
        (st = accept_loop_spawn(ex, NULL, &hub)) == CFUT_OK) {
        printf("listening on %s\n", where);
        fflush(stdout);
        /* Step 2: serve until a signal, then stop every task and wait. */
        struct until_signal wait;
        until_signal_init(&wait, intr, term);
        cfut_block_on(ex, &wait.base, NULL);
        cfut_token_cancel(&hub.stop);
        st = cfut_executor_run(ex);
    }
    if (st != CFUT_OK)
        fprintf(stderr, "chat: %s\n", cfut_strerror(st));
    /* Step 3: free it all (each call takes NULL or an empty handle). */
    cfut_broadcast_sender_drop(&hub.tx);
    cfut_token_drop(&hub.stop);
    cfut_signal_free(term);
    cfut_signal_free(intr);
    cfut_listener_free(hub.l);
    cfut_executor_free(ex);
    return st == CFUT_OK ? 0 : 1;
}
