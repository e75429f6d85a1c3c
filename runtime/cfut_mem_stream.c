/*
 * cfut_mem_stream.c: the in-memory duplex pair: two byte rings shared by
 * two stream ends, with a reader and a writer waker per ring. It does no
 * locking: both ends live on one thread.
 */
#include "cfut_stream.h"

#include <string.h>

/* One direction: a ring of bytes and who waits on it. */
struct ring {
    unsigned char *buf;
    size_t cap;
    size_t head; /* next byte to read */
    size_t len;  /* bytes held */
    bool eof;    /* the writer shut down or closed */
    bool broken; /* the reader closed */
    struct cfut_waker reader;
    struct cfut_waker writer;
};

struct mem_end;

/* The state both ends share; freed when both are closed. */
struct mem_pair {
    struct ring ring[2]; /* ring[i]: written by end i, read by end 1-i */
    int n_open;
};

struct mem_end {
    struct cfut_stream base;
    struct mem_pair *pair;
    int side; /* 0 or 1 */
};

static struct ring *
rx_ring(struct mem_end *e)
{
    return &e->pair->ring[1 - e->side];
}

static struct ring *
tx_ring(struct mem_end *e)
{
    return &e->pair->ring[e->side];
}

static enum cfut_poll
mem_read(struct cfut_stream *s, struct cfut_context *cx, void *buf, size_t cap,
         struct cfut_stream_result *res)
{
    struct mem_end *e = (struct mem_end *)s;
    struct ring *r = rx_ring(e);
    if (r->len == 0) {
        if (r->eof) {
            res->status = CFUT_EEOF;
            res->n = 0;
            return CFUT_READY;
        }
        cfut_waker_register(&r->reader, cx->waker);
        return CFUT_PENDING;
    }
    if (!cfut_context_consume_budget(cx))
        return CFUT_PENDING;
    size_t n = 0;
    unsigned char *out = buf;
    while (n < cap && r->len > 0) {
        size_t chunk = r->cap - r->head;
        if (chunk > r->len)
            chunk = r->len;
        if (chunk > cap - n)
            chunk = cap - n;
        memcpy(out + n, r->buf + r->head, chunk);
        n += chunk;
        r->head = (r->head + chunk) % r->cap;
        r->len -= chunk;
    }
    cfut_waker_wake(&r->writer);
    res->status = 0;
    res->n = n;
    return CFUT_READY;
}

static enum cfut_poll
mem_write(struct cfut_stream *s, struct cfut_context *cx,
          const struct cfut_iovec *iov, size_t n_iov,
          struct cfut_stream_result *res)
{
    struct mem_end *e = (struct mem_end *)s;
    struct ring *r = tx_ring(e);
    if (r->broken) {
        res->status = CFUT_ECONNRESET;
        res->n = 0;
        return CFUT_READY;
    }
    if (r->eof) {
        res->status = CFUT_ESTATE;
        res->n = 0;
        return CFUT_READY;
    }
    if (r->len == r->cap) {
        cfut_waker_register(&r->writer, cx->waker);
        return CFUT_PENDING;
    }
    if (!cfut_context_consume_budget(cx))
        return CFUT_PENDING;
    size_t n = 0;
    for (size_t i = 0; i < n_iov && r->len < r->cap; i++) {
        const unsigned char *p = iov[i].base;
        size_t left = iov[i].len;
        while (left > 0 && r->len < r->cap) {
            size_t tail = (r->head + r->len) % r->cap;
            size_t chunk = r->cap - tail;
            if (chunk > r->cap - r->len)
                chunk = r->cap - r->len;
            if (chunk > left)
                chunk = left;
            memcpy(r->buf + tail, p, chunk);
            p += chunk;
            left -= chunk;
            r->len += chunk;
            n += chunk;
        }
    }
    if (n > 0)
        cfut_waker_wake(&r->reader);
    res->status = 0;
    res->n = n;
    return CFUT_READY;
}

static enum cfut_poll
mem_shutdown(struct cfut_stream *s, struct cfut_context *cx,
             struct cfut_stream_result *res)
{
    (void)cx;
    struct mem_end *e = (struct mem_end *)s;
    struct ring *r = tx_ring(e);
    r->eof = true;
    cfut_waker_wake(&r->reader);
    res->status = 0;
    res->n = 0;
    return CFUT_READY;
}

static void
mem_close(struct cfut_stream *s)
{
    struct mem_end *e = (struct mem_end *)s;
    struct mem_pair *p = e->pair;
    struct ring *tx = tx_ring(e);
    struct ring *rx = rx_ring(e);
    /* Our writes end: the peer reads EOF. Our reads end: its writes fail. */
    tx->eof = true;
    cfut_waker_drop(&tx->writer);
    cfut_waker_wake(&tx->reader);
    rx->broken = true;
    cfut_waker_drop(&rx->reader);
    cfut_waker_wake(&rx->writer);
    cfut_free(e);
    if (--p->n_open == 0) {
        for (int i = 0; i < 2; i++) {
            cfut_waker_drop(&p->ring[i].reader);
            cfut_waker_drop(&p->ring[i].writer);
        }
        cfut_free(p);
    }
}

static const struct cfut_stream_vtable mem_vtable = {
    mem_read, mem_write, mem_shutdown, mem_close, "mem_stream",
};

int
cfut_mem_stream_pair_new(size_t capacity, struct cfut_stream **a,
                         struct cfut_stream **b)
{
    if (capacity == 0 || a == NULL || b == NULL)
        return CFUT_EINVAL;
    if (capacity > (SIZE_MAX - sizeof(struct mem_pair)) / 2)
        return CFUT_ENOMEM;
    /* One block: the pair header, then both rings' bytes. */
    struct mem_pair *p = cfut_alloc(sizeof *p + 2 * capacity);
    if (p == NULL)
        return CFUT_ENOMEM;
    struct mem_end *ea = cfut_alloc(sizeof *ea);
    if (ea == NULL)
        goto free_pair;
    struct mem_end *eb = cfut_alloc(sizeof *eb);
    if (eb == NULL)
        goto free_a;
    memset(p, 0, sizeof *p);
    for (int i = 0; i < 2; i++) {
        p->ring[i].buf = (unsigned char *)(p + 1) + (size_t)i * capacity;
        p->ring[i].cap = capacity;
        p->ring[i].reader = CFUT_WAKER_EMPTY;
        p->ring[i].writer = CFUT_WAKER_EMPTY;
    }
    p->n_open = 2;
    ea->base.vtable = &mem_vtable;
    ea->pair = p;
    ea->side = 0;
    eb->base.vtable = &mem_vtable;
    eb->pair = p;
    eb->side = 1;
    *a = &ea->base;
    *b = &eb->base;
    return 0;

free_a:
    cfut_free(ea);
free_pair:
    cfut_free(p);
    return CFUT_ENOMEM;
}
