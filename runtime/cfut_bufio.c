/*
 * cfut_bufio.c: the buffered reader and writer over a struct cfut_stream.
 * Each has one buffer of fixed capacity; the reader compacts it only when
 * a read needs the room, the writer sends it together with the caller's
 * pieces in one vectored write when they do not fit. It knows no
 * protocol: line and length codecs sit on top (cfut_codec.c).
 */
#include "cfut_bufio.h"

#include <string.h>

/* The most pieces one vectored write hands to the stream. */
#define MAX_IOV 64

/* ---------------------------------------------------------------------- */
/* The reader                                                              */
/* ---------------------------------------------------------------------- */

int
cfut_buf_reader_init(struct cfut_buf_reader *r, struct cfut_stream *s,
                     void *buf, size_t cap)
{
    if (r == NULL || s == NULL || cap == 0)
        return CFUT_EINVAL;
    bool owns = buf == NULL;
    if (owns && (buf = cfut_alloc(cap)) == NULL)
        return CFUT_ENOMEM;
    r->stream = s;
    r->buf = buf;
    r->cap = cap;
    r->start = r->end = 0;
    r->status = 0;
    r->owns_buf = owns;
    return CFUT_OK;
}

void
cfut_buf_reader_deinit(struct cfut_buf_reader *r)
{
    if (r == NULL)
        return;
    if (r->owns_buf)
        cfut_free(r->buf);
    r->buf = NULL;
    r->stream = NULL;
}

const char *
cfut_buf_reader_buffered(const struct cfut_buf_reader *r, size_t *len)
{
    if (len != NULL)
        *len = r->end - r->start;
    return (const char *)r->buf + r->start;
}

/* Consumes 'n' (<= buffered) bytes; an empty buffer starts over. */
static inline void
consume(struct cfut_buf_reader *r, size_t n)
{
    r->start += n;
    if (r->start == r->end)
        r->start = r->end = 0;
}

void
cfut_buf_reader_consume(struct cfut_buf_reader *r, size_t n)
{
    CFUT_ASSERT(n <= r->end - r->start,
                "cfut_buf_reader_consume: more bytes than are buffered");
    consume(r, n);
}

size_t
cfut_buf_reader_capacity(const struct cfut_buf_reader *r)
{
    return r->cap;
}

/*
 * Reads once from the stream into the free end of the buffer, first
 * moving the buffered bytes to the front when fewer than 'room' bytes
 * are free after 'start' ('room' <= capacity). Returns CFUT_PENDING, or
 * CFUT_READY once bytes came or the stream ended ('r->status' set).
 */
static enum cfut_poll
reader_fill_once(struct cfut_buf_reader *r, struct cfut_context *cx,
                 size_t room)
{
    if (r->start > 0 && (r->end == r->cap || r->cap - r->start < room)) {
        memmove(r->buf, r->buf + r->start, r->end - r->start);
        r->end -= r->start;
        r->start = 0;
    }
    struct cfut_stream_result res;
    if (cfut_stream_poll_read(r->stream, cx, r->buf + r->end, r->cap - r->end,
                              &res) == CFUT_PENDING)
        return CFUT_PENDING;
    if (res.status != 0)
        r->status = res.status; /* CFUT_EEOF or an error: kept */
    else
        r->end += res.n;
    return CFUT_READY;
}

enum { READ_FILL, READ_UNTIL, READ_EXACT };

static void
result(struct cfut_buf_result *out, int status, const void *data, size_t len)
{
    out->status = status;
    out->data = data;
    out->len = len;
}

/* States: bytes enough, or the stream ended: READY. Else read, PENDING. */
static enum cfut_poll
poll_fill(struct cfut_buf_read *f, struct cfut_context *cx,
          struct cfut_buf_result *out)
{
    struct cfut_buf_reader *r = f->r;
    while (r->end - r->start < f->max && r->status == 0)
        if (reader_fill_once(r, cx, f->max) == CFUT_PENDING)
            return CFUT_PENDING;
    size_t n = r->end - r->start;
    result(out, n >= f->max ? 0 : r->status, r->buf + r->start, n);
    return CFUT_READY;
}

/*
 * States: the delimiter within 'max' buffered bytes: READY with the line,
 * consumed. 'max' bytes without it: READY, CFUT_EMSGSIZE. The stream
 * ended: READY with what is left. Else read more (searching only the new
 * bytes next time), PENDING.
 */
static enum cfut_poll
poll_until(struct cfut_buf_read *f, struct cfut_context *cx,
           struct cfut_buf_result *out)
{
    struct cfut_buf_reader *r = f->r;
    for (;;) {
        size_t n = r->end - r->start;
        size_t limit = n < f->max ? n : f->max;
        const unsigned char *p = r->buf + r->start;
        if (f->scanned < limit) {
            const unsigned char *hit =
                memchr(p + f->scanned, f->delim, limit - f->scanned);
            if (hit != NULL) {
                size_t len = (size_t)(hit - p) + 1;
                consume(r, len);
                result(out, 0, p, len); /* the bytes stay until a read */
                return CFUT_READY;
            }
            f->scanned = limit;
        }
        if (n >= f->max) {
            result(out, CFUT_EMSGSIZE, p, f->max);
            return CFUT_READY;
        }
        if (r->status != 0) {
            if (r->status == CFUT_EEOF && n > 0) {
                consume(r, n);
                result(out, 0, p, n);
            } else {
                result(out, r->status, n > 0 ? p : NULL, n);
            }
            return CFUT_READY;
        }
        if (reader_fill_once(r, cx, f->max) == CFUT_PENDING)
            return CFUT_PENDING;
    }
}

/*
 * States: copy what is buffered; with more wanted, read into the buffer
 * (or straight into 'dst' when the rest is at least the capacity).
 * Everything copied, or the stream ended: READY.
 */
static enum cfut_poll
poll_exact(struct cfut_buf_read *f, struct cfut_context *cx,
           struct cfut_buf_result *out)
{
    struct cfut_buf_reader *r = f->r;
    for (;;) {
        size_t n = r->end - r->start;
        size_t take = f->want - f->done;
        if (take > n)
            take = n;
        if (take > 0) {
            memcpy(f->dst + f->done, r->buf + r->start, take);
            f->done += take;
            consume(r, take);
        }
        if (f->done == f->want || r->status != 0) {
            result(out, f->done == f->want ? 0 : r->status, f->dst, f->done);
            return CFUT_READY;
        }
        if (f->want - f->done >= r->cap) {
            /* The buffer is empty: read straight into the caller's. */
            struct cfut_stream_result res;
            if (cfut_stream_poll_read(r->stream, cx, f->dst + f->done,
                                      f->want - f->done, &res) == CFUT_PENDING)
                return CFUT_PENDING;
            if (res.status != 0)
                r->status = res.status;
            else
                f->done += res.n;
            continue;
        }
        if (reader_fill_once(r, cx, r->cap) == CFUT_PENDING)
            return CFUT_PENDING;
    }
}

static enum cfut_poll
cfut_buf_read_poll(struct cfut_future *base, struct cfut_context *cx, void *out)
{
    struct cfut_buf_read *f =
        cfut_container_of(base, struct cfut_buf_read, base);
    switch (f->kind) {
    case READ_FILL:
        return poll_fill(f, cx, out);
    case READ_UNTIL:
        return poll_until(f, cx, out);
    default:
        return poll_exact(f, cx, out);
    }
}

static void
cfut_buf_read_drop(struct cfut_future *base)
{
    /* Nothing held: the bytes read stay in the reader's buffer. */
    (void)base;
}

static const struct cfut_future_vtable cfut_buf_read_vtable = {
    cfut_buf_read_poll, cfut_buf_read_drop, sizeof(struct cfut_buf_result),
    "buf_read", NULL};

static void
read_init(struct cfut_buf_read *f, struct cfut_buf_reader *r, int kind,
          size_t max)
{
    cfut_future_init(&f->base, &cfut_buf_read_vtable);
    f->r = r;
    f->kind = kind;
    f->delim = 0;
    f->max = max == 0 || max > r->cap ? r->cap : max;
    f->scanned = 0;
    f->dst = NULL;
    f->want = f->done = 0;
}

void
cfut_buf_fill_init(struct cfut_buf_read *f, struct cfut_buf_reader *r,
                   size_t min)
{
    read_init(f, r, READ_FILL, min == 0 ? 1 : min);
}

void
cfut_buf_read_until_init(struct cfut_buf_read *f, struct cfut_buf_reader *r,
                         unsigned char delim, size_t max)
{
    read_init(f, r, READ_UNTIL, max);
    f->delim = delim;
}

void
cfut_buf_read_line_init(struct cfut_buf_read *f, struct cfut_buf_reader *r,
                        size_t max)
{
    cfut_buf_read_until_init(f, r, '\n', max);
}

void
cfut_buf_read_exact_init(struct cfut_buf_read *f, struct cfut_buf_reader *r,
                         void *dst, size_t n)
{
    read_init(f, r, READ_EXACT, 0);
    f->dst = dst;
    f->want = n;
}

/* ---------------------------------------------------------------------- */
/* The writer                                                              */
/* ---------------------------------------------------------------------- */

int
cfut_buf_writer_init(struct cfut_buf_writer *w, struct cfut_stream *s,
                     void *buf, size_t cap)
{
    if (w == NULL || s == NULL || cap == 0)
        return CFUT_EINVAL;
    bool owns = buf == NULL;
    if (owns && (buf = cfut_alloc(cap)) == NULL)
        return CFUT_ENOMEM;
    w->stream = s;
    w->buf = buf;
    w->cap = cap;
    w->off = w->len = 0;
    w->status = 0;
    w->owns_buf = owns;
    return CFUT_OK;
}

void
cfut_buf_writer_deinit(struct cfut_buf_writer *w)
{
    if (w == NULL)
        return;
    if (w->owns_buf)
        cfut_free(w->buf);
    w->buf = NULL;
    w->stream = NULL;
}

size_t
cfut_buf_writer_buffered(const struct cfut_buf_writer *w)
{
    return w->len - w->off;
}

/* Tells whether 'n' more bytes fit, moving the pending bytes to the front
 * when that makes the room. */
static bool
writer_room(struct cfut_buf_writer *w, size_t n)
{
    if (w->cap - w->len >= n)
        return true;
    if (w->cap - (w->len - w->off) < n)
        return false;
    memmove(w->buf, w->buf + w->off, w->len - w->off);
    w->len -= w->off;
    w->off = 0;
    return true;
}

int
cfut_buf_writer_put(struct cfut_buf_writer *w, const void *data, size_t len)
{
    if (w->status != 0)
        return w->status;
    if (!writer_room(w, len))
        return CFUT_EFULL;
    if (len > 0)
        memcpy(w->buf + w->len, data, len);
    w->len += len;
    return CFUT_OK;
}

/* Marks 'n' bytes written to the stream: buffered ones first. */
static void
writer_advance(struct cfut_buf_write *f, size_t n)
{
    struct cfut_buf_writer *w = f->w;
    size_t from_buf = w->len - w->off;
    if (from_buf > n)
        from_buf = n;
    w->off += from_buf;
    if (w->off == w->len)
        w->off = w->len = 0;
    n -= from_buf;
    f->taken += n;
    while (n > 0) {
        size_t left = f->iov[f->idx].len - f->off;
        size_t k = n < left ? n : left;
        f->off += k;
        n -= k;
        if (f->off == f->iov[f->idx].len) {
            f->idx++;
            f->off = 0;
        }
    }
}

/* Skips empty pieces; returns the bytes of the pieces left. */
static size_t
pieces_left(struct cfut_buf_write *f)
{
    while (f->idx < f->n_iov && f->iov[f->idx].len == f->off) {
        f->idx++;
        f->off = 0;
    }
    size_t n = 0;
    for (size_t i = f->idx; i < f->n_iov; i++)
        n += f->iov[i].len - (i == f->idx ? f->off : 0);
    return n;
}

/*
 * States: the pieces left fit the buffer (or it is a flush and the buffer
 * is empty): copy them, READY. Else one vectored write of the buffered
 * bytes and the pieces (for a flush: the buffer only); PENDING while the
 * stream waits; an error is kept and ends every later write.
 */
static enum cfut_poll
cfut_buf_write_poll(struct cfut_future *base, struct cfut_context *cx,
                    void *out)
{
    struct cfut_buf_write *f =
        cfut_container_of(base, struct cfut_buf_write, base);
    struct cfut_buf_writer *w = f->w;
    struct cfut_io_result *res = out;
    if (f->iov == NULL) {
        /* A plain write's first poll: when it fits, one copy and done. */
        size_t n = f->one.len;
        if (!f->flush && w->status == 0 && w->cap - w->len >= n) {
            if (n > 0)
                memcpy(w->buf + w->len, f->one.base, n);
            w->len += n;
            res->status = 0;
            res->n = n;
            return CFUT_READY;
        }
        f->iov = &f->one; /* pinned now */
    }
    for (;;) {
        if (w->status != 0) {
            res->status = w->status;
            res->n = f->taken;
            return CFUT_READY;
        }
        size_t left = f->flush ? 0 : pieces_left(f);
        if (f->flush ? w->len == w->off : writer_room(w, left)) {
            for (; f->idx < f->n_iov; f->idx++, f->off = 0) {
                size_t k = f->iov[f->idx].len - f->off;
                if (k > 0)
                    memcpy(w->buf + w->len,
                           (const char *)f->iov[f->idx].base + f->off, k);
                w->len += k;
                f->taken += k;
            }
            res->status = 0;
            res->n = f->taken;
            return CFUT_READY;
        }
        struct cfut_iovec iov[MAX_IOV + 1];
        size_t n = 0;
        if (w->len > w->off)
            iov[n++] = (struct cfut_iovec){w->buf + w->off, w->len - w->off};
        for (size_t i = f->idx; !f->flush && i < f->n_iov && n <= MAX_IOV;
             i++) {
            size_t skip = i == f->idx ? f->off : 0;
            if (f->iov[i].len > skip)
                iov[n++] = (struct cfut_iovec){
                    (const char *)f->iov[i].base + skip, f->iov[i].len - skip};
        }
        struct cfut_stream_result sr;
        if (cfut_stream_poll_write(w->stream, cx, iov, n, &sr) == CFUT_PENDING)
            return CFUT_PENDING;
        if (sr.status != 0) {
            w->status = sr.status;
            continue;
        }
        if (f->flush) {
            f->taken += sr.n;
            w->off += sr.n;
            if (w->off == w->len)
                w->off = w->len = 0;
        } else {
            writer_advance(f, sr.n);
        }
    }
}

static void
cfut_buf_write_drop(struct cfut_future *base)
{
    /* Nothing held: bytes taken stay taken. */
    (void)base;
}

static const struct cfut_future_vtable cfut_buf_write_vtable = {
    cfut_buf_write_poll, cfut_buf_write_drop, sizeof(struct cfut_io_result),
    "buf_write", NULL};

void
cfut_buf_writev_init(struct cfut_buf_write *f, struct cfut_buf_writer *w,
                     const struct cfut_iovec *iov, size_t n_iov)
{
    cfut_future_init(&f->base, &cfut_buf_write_vtable);
    f->w = w;
    f->one = (struct cfut_iovec){NULL, 0};
    f->iov = iov;
    f->n_iov = n_iov;
    f->idx = f->off = f->taken = 0;
    f->flush = false;
}

void
cfut_buf_write_init(struct cfut_buf_write *f, struct cfut_buf_writer *w,
                    const void *data, size_t len)
{
    cfut_buf_writev_init(f, w, NULL, 1);
    f->one = (struct cfut_iovec){data, len};
    f->iov = NULL; /* set at the first poll: 'f' may move until then */
}

void
cfut_buf_flush_init(struct cfut_buf_write *f, struct cfut_buf_writer *w)
{
    cfut_buf_writev_init(f, w, NULL, 0);
    f->flush = true;
}
