/*
 * bench_io.c: the reactor workloads: timer_insert_cancel (a sleep created,
 * armed by one poll and dropped, with 100,000 or 1,000,000 other timers
 * live) beside a hand-written binary heap, socketpair_rtt (a 32-byte
 * round trip between two tasks of one executor over a socketpair) beside
 * blocking write/read calls on one thread, and line_echo_rtt (a 24-byte
 * line echoed by a server task, read with the buffered reader's
 * read_line, or with raw stream reads scanned for the newline by hand)
 * beside the same blocking calls. Prints JSON lines.
 */
#define _GNU_SOURCE
#include "benchkit.h"

#include <cfut.h>
#include <sys/socket.h>
#include <unistd.h>

static struct cfut_executor *ex;

/* A fixed pseudo-random sequence, so both sides do the same work. */
static inline uint64_t
lcg(uint64_t *s)
{
    *s = *s * 6364136223846793005u + 1442695040888963407u;
    return *s >> 33;
}

/* ---- timer_insert_cancel ------------------------------------------------ */

#define SPREAD CFUT_SEC(3600) /* deadlines spread over an hour from now */

static size_t n_live;
static struct cfut_sleep *live; /* the live timers, armed once */

/* One batch inside the executor: arm the live timers, or run the ops. */
struct timer_bench {
    struct cfut_future base;
    uint64_t ops;
    uint64_t sum;
};

static enum cfut_poll
timer_bench_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct timer_bench *b = cfut_container_of(f, struct timer_bench, base);
    (void)out;
    uint64_t base = cfut_time_now(NULL) + CFUT_SEC(60);
    uint64_t seed = 42;
    for (uint64_t i = 0; i < b->ops; i++) {
        struct cfut_sleep s;
        int st;
        cfut_sleep_until_init(&s, base + lcg(&seed) % SPREAD);
        if (cfut_future_poll(&s.base, cx, &st) != CFUT_PENDING)
            abort();
        cfut_future_drop(&s.base);
        b->sum++;
    }
    return CFUT_READY;
}

static const struct cfut_future_vtable timer_bench_vtable = {
    timer_bench_poll, NULL, 0, "timer_bench", NULL};

/* Arms 'n' live timers (from inside the executor). */
struct arm_live {
    struct cfut_future base;
};

static enum cfut_poll
arm_live_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    (void)f;
    (void)out;
    uint64_t base = cfut_time_now(NULL) + CFUT_SEC(60);
    uint64_t seed = 7;
    for (size_t i = 0; i < n_live; i++) {
        int st;
        cfut_sleep_until_init(&live[i], base + lcg(&seed) % SPREAD);
        if (cfut_future_poll(&live[i].base, cx, &st) != CFUT_PENDING)
            abort();
    }
    return CFUT_READY;
}

static const struct cfut_future_vtable arm_live_vtable = {arm_live_poll, NULL,
                                                          0, "arm_live", NULL};

static uint64_t
timer_cfut(uint64_t ops)
{
    struct timer_bench b;
    cfut_future_init(&b.base, &timer_bench_vtable);
    b.ops = ops;
    b.sum = 0;
    struct timer_bench *bp = &b;
    if (cfut_block_on(ex, &bp->base, NULL) != CFUT_OK)
        abort();
    return b.sum;
}

/* The floor: the same binary min-heap of intrusive entries, by hand. */
struct fentry {
    uint64_t deadline;
    size_t index;
};

static struct fentry **fheap;
static size_t fn;
static struct fentry *flive;

static void
f_up(size_t i)
{
    struct fentry *e = fheap[i];
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (fheap[p]->deadline <= e->deadline)
            break;
        fheap[i] = fheap[p];
        fheap[i]->index = i;
        i = p;
    }
    fheap[i] = e;
    e->index = i;
}

static void
f_down(size_t i)
{
    struct fentry *e = fheap[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= fn)
            break;
        if (c + 1 < fn && fheap[c + 1]->deadline < fheap[c]->deadline)
            c++;
        if (fheap[c]->deadline >= e->deadline)
            break;
        fheap[i] = fheap[c];
        fheap[i]->index = i;
        i = c;
    }
    fheap[i] = e;
    e->index = i;
}

__attribute__((noinline)) static void
f_insert(struct fentry *e)
{
    fheap[fn] = e;
    e->index = fn++;
    f_up(e->index);
}

__attribute__((noinline)) static void
f_remove(struct fentry *e)
{
    size_t i = e->index;
    struct fentry *last = fheap[--fn];
    if (i == fn)
        return;
    fheap[i] = last;
    last->index = i;
    f_down(i);
    if (last->index == i)
        f_up(i);
}

static uint64_t
timer_floor(uint64_t ops)
{
    uint64_t base = benchkit_now_ns() + CFUT_SEC(60);
    uint64_t seed = 42, sum = 0;
    for (uint64_t i = 0; i < ops; i++) {
        struct fentry e;
        e.deadline = base + lcg(&seed) % SPREAD;
        f_insert(&e);
        f_remove(&e);
        sum++;
    }
    return sum;
}

static void
floor_arm(size_t n)
{
    fheap = malloc((n + 1) * sizeof *fheap);
    flive = malloc(n * sizeof *flive);
    if (fheap == NULL || flive == NULL)
        abort();
    fn = 0;
    uint64_t base = benchkit_now_ns() + CFUT_SEC(60);
    uint64_t seed = 7;
    for (size_t i = 0; i < n; i++) {
        flive[i].deadline = base + lcg(&seed) % SPREAD;
        f_insert(&flive[i]);
    }
}

static uint64_t
expect_ops(uint64_t ops)
{
    return ops;
}

static void
run_timers(const struct benchkit *b, const char *name, size_t n)
{
    if (b->filter != NULL && strstr(name, b->filter) == NULL)
        return;
    n_live = n;
    live = malloc(n * sizeof *live);
    if (live == NULL)
        abort();
    struct arm_live a;
    cfut_future_init(&a.base, &arm_live_vtable);
    struct arm_live *ap = &a;
    if (cfut_block_on(ex, &ap->base, NULL) != CFUT_OK ||
        cfut_reactor_n_timers(ex) != n)
        abort();
    benchkit_run(b, name, "cfut", timer_cfut, 1000, 1, expect_ops);
    for (size_t i = 0; i < n; i++)
        cfut_future_drop(&live[i].base);
    if (cfut_reactor_n_timers(ex) != 0)
        abort();
    free(live);

    floor_arm(n);
    benchkit_run(b, name, "floor", timer_floor, 1000, 1, expect_ops);
    free(fheap);
    free(flive);
}

/* ---- socketpair_rtt ----------------------------------------------------- */

#define MSG 32

/* Reads MSG bytes, then writes them back, 'n' times (the server), or
 * writes first and reads back (the client). A read offers room for more
 * than one message, as a stream reader does: a message comes whole, so the
 * read is short, which tells the reactor that the socket is empty and lets
 * the next read wait for the next event without a read(2) that would
 * return EAGAIN (docs/reactor.md). One message is in flight at a time. */
struct pinger {
    struct cfut_future base;
    struct cfut_coro co;
    struct cfut_io *io;
    bool client;
    uint64_t n;
    uint64_t i;
    size_t got;
    uint64_t sum;
    struct cfut_read r;
    struct cfut_write_all w;
    struct cfut_io_result res;
    unsigned char buf[2 * MSG];
};

static enum cfut_poll
pinger_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct pinger *self = cfut_container_of(f, struct pinger, base);
    (void)out;
    CFUT_ASYNC_BEGIN(&self->co);
    for (self->i = 0; self->i < self->n; self->i++) {
        if (self->client) {
            self->buf[0] = (unsigned char)self->i;
            cfut_write_all_init(&self->w, self->io, self->buf, MSG);
            CFUT_AWAIT(&self->co, cx, &self->w.base, &self->res);
            if (self->res.status != CFUT_OK)
                abort();
        }
        for (self->got = 0; self->got < MSG; self->got += self->res.n) {
            cfut_read_init(&self->r, self->io, self->buf + self->got,
                           sizeof self->buf - self->got);
            CFUT_AWAIT(&self->co, cx, &self->r.base, &self->res);
            if (self->res.status != CFUT_OK)
                abort();
        }
        if (self->got != MSG)
            abort(); /* one message in flight: never more */
        self->sum += self->buf[0] == (unsigned char)self->i;
        if (!self->client) {
            cfut_write_all_init(&self->w, self->io, self->buf, MSG);
            CFUT_AWAIT(&self->co, cx, &self->w.base, &self->res);
            if (self->res.status != CFUT_OK)
                abort();
        }
    }
    CFUT_ASYNC_END(&self->co);
}

static void
pinger_drop(struct cfut_future *f)
{
    cfut_coro_drop(&cfut_container_of(f, struct pinger, base)->co);
}

static const struct cfut_future_vtable pinger_vtable = {
    pinger_poll, pinger_drop, 0, "pinger", NULL};

static void
pinger_init(struct pinger *p, struct cfut_io *io, bool client, uint64_t n)
{
    cfut_future_init(&p->base, &pinger_vtable);
    cfut_coro_init(&p->co);
    p->io = io;
    p->client = client;
    p->n = n;
    p->sum = 0;
    memset(p->buf, 0, sizeof p->buf);
}

static uint64_t
rtt_cfut(uint64_t ops)
{
    int fds[2];
    struct cfut_io *a, *b;
    if (cfut_socketpair(fds) != CFUT_OK || cfut_io_new(ex, fds[0], &a) != 0 ||
        cfut_io_new(ex, fds[1], &b) != 0)
        abort();
    struct pinger server, client;
    pinger_init(&server, b, false, ops);
    if (cfut_spawn(ex, &server.base, sizeof server, NULL) != CFUT_OK)
        abort();
    pinger_init(&client, a, true, ops);
    struct pinger *cp = &client;
    if (cfut_block_on(ex, &cp->base, NULL) != CFUT_OK ||
        cfut_executor_run(ex) != CFUT_OK)
        abort();
    uint64_t sum = client.sum;
    cfut_io_free(a);
    cfut_io_free(b);
    return sum;
}

/* The floor: the same four system calls per round trip, blocking, on one
 * thread (write a, read b, write b, read a). */
static uint64_t
rtt_floor(uint64_t ops)
{
    int fds[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
        abort();
    unsigned char buf[MSG] = {0};
    uint64_t sum = 0;
    for (uint64_t i = 0; i < ops; i++) {
        buf[0] = (unsigned char)i;
        if (send(fds[0], buf, MSG, MSG_NOSIGNAL) != MSG)
            abort();
        if (read(fds[1], buf, MSG) != MSG)
            abort();
        if (send(fds[1], buf, MSG, MSG_NOSIGNAL) != MSG)
            abort();
        if (read(fds[0], buf, MSG) != MSG)
            abort();
        sum += buf[0] == (unsigned char)i;
    }
    close(fds[0]);
    close(fds[1]);
    return sum;
}

/* ---- line_echo_rtt ------------------------------------------------------ */

#define LINE 24 /* "line 000000000 of echo.\n" */

static void
make_line(char *buf, uint64_t i)
{
    snprintf(buf, LINE + 1, "line %09llu of echo.\n",
             (unsigned long long)(i % 1000000000u));
}

/* With the buffered reader and writer: read_line, write, flush. */
CFUT_ASYNC_FN(buf_echo, uint64_t,
              ((struct cfut_stream *, s), (bool, client), (uint64_t, n)),
              struct cfut_buf_reader r;
              struct cfut_buf_writer w; struct cfut_buf_read rd;
              struct cfut_buf_write wr; struct cfut_buf_result line;
              struct cfut_io_result put; uint64_t i; uint64_t sum;
              char rbuf[256]; char wbuf[256]; char text[LINE + 1];)
{
    CFUT_BEGIN();
    if (cfut_buf_reader_init(&self->r, self->s, self->rbuf,
                             sizeof self->rbuf) != 0 ||
        cfut_buf_writer_init(&self->w, self->s, self->wbuf,
                             sizeof self->wbuf) != 0)
        abort();
    for (self->i = 0; self->i < self->n; self->i++) {
        if (self->client) {
            make_line(self->text, self->i);
            cfut_buf_write_init(&self->wr, &self->w, self->text, LINE);
            CFUT_AWAIT(&self->wr, &self->put);
            cfut_buf_flush_init(&self->wr, &self->w);
            CFUT_AWAIT(&self->wr, &self->put);
        }
        cfut_buf_read_line_init(&self->rd, &self->r, 0);
        CFUT_AWAIT(&self->rd, &self->line);
        if (self->line.status != 0 || self->line.len != LINE)
            abort();
        if (self->client) {
            self->sum += memcmp(self->line.data, self->text, LINE) == 0;
        } else {
            cfut_buf_write_init(&self->wr, &self->w, self->line.data, LINE);
            CFUT_AWAIT(&self->wr, &self->put);
            cfut_buf_flush_init(&self->wr, &self->w);
            CFUT_AWAIT(&self->wr, &self->put);
        }
        if (self->put.status != 0)
            abort();
    }
    CFUT_RETURN(self->sum);
    CFUT_END();
}

/* One stream read (or write of one piece) as a future: raw stream I/O. */
struct stream_op {
    struct cfut_future base;
    struct cfut_stream *s;
    bool write;
    struct cfut_iovec iov; /* write: the piece; read: the room */
};

static enum cfut_poll
stream_op_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct stream_op *op = cfut_container_of(f, struct stream_op, base);
    return op->write ? cfut_stream_poll_write(op->s, cx, &op->iov, 1, out)
                     : cfut_stream_poll_read(op->s, cx, (void *)op->iov.base,
                                             op->iov.len, out);
}

static void
stream_op_drop(struct cfut_future *f)
{
    (void)f;
}

static const struct cfut_future_vtable stream_op_vtable = {
    stream_op_poll, stream_op_drop, sizeof(struct cfut_stream_result),
    "stream_op", NULL};

static void
stream_op_init(struct stream_op *op, struct cfut_stream *s, bool write,
               const void *p, size_t len)
{
    cfut_future_init(&op->base, &stream_op_vtable);
    op->s = s;
    op->write = write;
    op->iov = (struct cfut_iovec){p, len};
}

/*
 * With raw stream reads: read into a buffer, scan what came for the
 * newline, read again until it is there (one line is in flight, so a read
 * never brings the next one); write with the stream's write until done.
 */
CFUT_ASYNC_FN(raw_echo, uint64_t,
              ((struct cfut_stream *, s), (bool, client), (uint64_t, n)),
              uint64_t i;
              uint64_t sum; size_t got; size_t sent; struct stream_op op;
              struct cfut_stream_result res; char buf[256];
              char text[LINE + 1];)
{
    CFUT_BEGIN();
    for (self->i = 0; self->i < self->n; self->i++) {
        if (self->client) {
            make_line(self->text, self->i);
            for (self->sent = 0; self->sent < LINE; self->sent += self->res.n) {
                stream_op_init(&self->op, self->s, true,
                               self->text + self->sent, LINE - self->sent);
                CFUT_AWAIT(&self->op, &self->res);
                if (self->res.status != 0)
                    abort();
            }
        }
        for (self->got = 0;
             self->got == 0 || memchr(self->buf, '\n', self->got) == NULL;
             self->got += self->res.n) {
            stream_op_init(&self->op, self->s, false, self->buf + self->got,
                           sizeof self->buf - self->got);
            CFUT_AWAIT(&self->op, &self->res);
            if (self->res.status != 0)
                abort();
        }
        if (self->got != LINE)
            abort();
        if (self->client) {
            self->sum += memcmp(self->buf, self->text, LINE) == 0;
            continue;
        }
        for (self->sent = 0; self->sent < LINE; self->sent += self->res.n) {
            stream_op_init(&self->op, self->s, true, self->buf + self->sent,
                           LINE - self->sent);
            CFUT_AWAIT(&self->op, &self->res);
            if (self->res.status != 0)
                abort();
        }
    }
    CFUT_RETURN(self->sum);
    CFUT_END();
}

static uint64_t
line_echo(uint64_t ops, bool buffered)
{
    int fds[2];
    struct cfut_stream *a, *b;
    if (cfut_socketpair(fds) != CFUT_OK ||
        cfut_fd_stream_new(ex, fds[0], &a) != 0 ||
        cfut_fd_stream_new(ex, fds[1], &b) != 0)
        abort();
    struct cfut_join_handle h;
    CFUT_JOIN_OUTPUT(uint64_t) out;
    if ((buffered ? buf_echo_spawn(ex, NULL, b, false, ops)
                  : raw_echo_spawn(ex, NULL, b, false, ops)) != CFUT_OK ||
        (buffered ? buf_echo_spawn(ex, &h, a, true, ops)
                  : raw_echo_spawn(ex, &h, a, true, ops)) != CFUT_OK ||
        cfut_block_on(ex, &h.base, &out) != CFUT_OK ||
        cfut_executor_run(ex) != CFUT_OK)
        abort();
    cfut_stream_close(a);
    cfut_stream_close(b);
    return out.value;
}

static uint64_t
line_echo_buffered(uint64_t ops)
{
    return line_echo(ops, true);
}

static uint64_t
line_echo_raw(uint64_t ops)
{
    return line_echo(ops, false);
}

/* The floor: blocking calls on one thread, the newline found by hand. */
static uint64_t
line_echo_floor(uint64_t ops)
{
    int fds[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
        abort();
    char text[LINE + 1], buf[256];
    uint64_t sum = 0;
    for (uint64_t i = 0; i < ops; i++) {
        make_line(text, i);
        if (send(fds[0], text, LINE, MSG_NOSIGNAL) != LINE)
            abort();
        if (read(fds[1], buf, sizeof buf) != LINE ||
            memchr(buf, '\n', LINE) == NULL)
            abort();
        if (send(fds[1], buf, LINE, MSG_NOSIGNAL) != LINE)
            abort();
        if (read(fds[0], buf, sizeof buf) != LINE)
            abort();
        sum += memcmp(buf, text, LINE) == 0;
    }
    close(fds[0]);
    close(fds[1]);
    return sum;
}

int
main(int argc, char **argv)
{
    struct benchkit b;
    benchkit_args(&b, argc, argv);
    if (cfut_executor_new(&ex) != CFUT_OK)
        return 1;
    run_timers(&b, "timer_insert_cancel", 100000);
    if (!b.count_mode)
        run_timers(&b, "timer_insert_cancel_1000000", 1000000);
    benchkit_run(&b, "socketpair_rtt", "cfut", rtt_cfut, 1000, 1, expect_ops);
    benchkit_run(&b, "socketpair_rtt", "floor", rtt_floor, 1000, 1, expect_ops);
    benchkit_run(&b, "line_echo_rtt", "cfut-bufio", line_echo_buffered, 1000, 1,
                 expect_ops);
    benchkit_run(&b, "line_echo_rtt", "cfut-raw", line_echo_raw, 1000, 1,
                 expect_ops);
    benchkit_run(&b, "line_echo_rtt", "floor", line_echo_floor, 1000, 1,
                 expect_ops);
    cfut_executor_free(ex);
    return 0;
}
