/*
 * cfut_codec.c: the line codec and the length-prefixed codec on a
 * buffered reader. Decoders await the reader's futures (read_until, fill)
 * and hand out views into its buffer; encoders only describe a frame as
 * iovecs. No I/O of their own and no allocation.
 */
#include "cfut_codec.h"

#include <string.h>

/*
 * Polls the reader future 'rd' (initialised by the caller when '*reading'
 * is false) to READY, then drops it. Returns CFUT_PENDING or CFUT_READY.
 */
static enum cfut_poll
await_read(struct cfut_buf_read *rd, bool *reading, struct cfut_context *cx,
           struct cfut_buf_result *res)
{
    if (cfut_future_poll(&rd->base, cx, res) == CFUT_PENDING)
        return CFUT_PENDING;
    cfut_future_drop(&rd->base);
    *reading = false;
    return CFUT_READY;
}

/* ---------------------------------------------------------------------- */
/* The line codec                                                          */
/* ---------------------------------------------------------------------- */

int
cfut_line_codec_init(struct cfut_line_codec *c, struct cfut_buf_reader *r,
                     size_t max, enum cfut_line_ending ending)
{
    if (c == NULL || max == 0 || max > SIZE_MAX - 2 ||
        (r != NULL && max + 2 > cfut_buf_reader_capacity(r)) ||
        (ending != CFUT_LINE_LF && ending != CFUT_LINE_CRLF))
        return CFUT_EINVAL;
    c->r = r;
    c->max = max;
    c->ending = ending;
    c->discarding = false;
    return CFUT_OK;
}

/*
 * States: skipping the rest of an over-long line (read_until over the
 * whole buffer, dropping what comes, until a "\n"); then reading a line of
 * at most max + 2 bytes (its ending included). A line too long either way
 * is CFUT_EMSGSIZE, and in the first case the codec skips the rest.
 */
static enum cfut_poll
cfut_line_decode_poll(struct cfut_future *base, struct cfut_context *cx,
                      void *out)
{
    struct cfut_line_decode *f =
        cfut_container_of(base, struct cfut_line_decode, base);
    struct cfut_line_codec *c = f->c;
    struct cfut_buf_result *res = out;
    struct cfut_buf_result r;
    while (c->discarding) {
        if (!f->reading) {
            cfut_buf_read_line_init(&f->rd, c->r, 0);
            f->reading = true;
        }
        if (await_read(&f->rd, &f->reading, cx, &r) == CFUT_PENDING)
            return CFUT_PENDING;
        if (r.status == CFUT_EMSGSIZE) {
            cfut_buf_reader_consume(c->r, r.len); /* still no "\n" */
            continue;
        }
        if (r.status != 0) {
            *res = r;
            return CFUT_READY;
        }
        c->discarding = false; /* the "\n" (or the end) came */
    }
    if (!f->reading) {
        cfut_buf_read_line_init(&f->rd, c->r, c->max + 2);
        f->reading = true;
    }
    if (await_read(&f->rd, &f->reading, cx, &r) == CFUT_PENDING)
        return CFUT_PENDING;
    if (r.status == CFUT_EMSGSIZE) {
        cfut_buf_reader_consume(c->r, r.len);
        c->discarding = true;
        r.len = c->max;
    } else if (r.status == 0) {
        if (r.len > 0 && r.data[r.len - 1] == '\n') {
            r.len--;
            if (r.len > 0 && r.data[r.len - 1] == '\r')
                r.len--;
        }
        if (r.len > c->max) {
            r.status = CFUT_EMSGSIZE; /* max + 1 bytes, then "\n" */
            r.len = c->max;
        }
    }
    *res = r;
    return CFUT_READY;
}

static void
cfut_line_decode_drop(struct cfut_future *base)
{
    struct cfut_line_decode *f =
        cfut_container_of(base, struct cfut_line_decode, base);
    if (f->reading)
        cfut_future_drop(&f->rd.base);
}

static const struct cfut_future_vtable cfut_line_decode_vtable = {
    cfut_line_decode_poll, cfut_line_decode_drop,
    sizeof(struct cfut_buf_result), "line_decode", NULL};

void
cfut_line_decode_init(struct cfut_line_decode *f, struct cfut_line_codec *c)
{
    CFUT_ASSERT(c->r != NULL, "cfut_line_decode_init: the codec has no reader");
    cfut_future_init(&f->base, &cfut_line_decode_vtable);
    f->c = c;
    f->reading = false;
}

int
cfut_line_encode(const struct cfut_line_codec *c, const void *line, size_t len,
                 struct cfut_iovec iov[2])
{
    if (c == NULL || iov == NULL || (line == NULL && len > 0))
        return CFUT_EINVAL;
    if (len > c->max)
        return CFUT_EMSGSIZE;
    if (len > 0 && memchr(line, '\n', len) != NULL)
        return CFUT_EINVAL;
    iov[0] = (struct cfut_iovec){line, len};
    iov[1] = c->ending == CFUT_LINE_CRLF ? (struct cfut_iovec){"\r\n", 2}
                                         : (struct cfut_iovec){"\n", 1};
    return CFUT_OK;
}

/* ---------------------------------------------------------------------- */
/* The length-prefixed codec                                               */
/* ---------------------------------------------------------------------- */

int
cfut_lenpfx_codec_init(struct cfut_lenpfx_codec *c, struct cfut_buf_reader *r,
                       unsigned width, size_t max)
{
    if (c == NULL || (width != 2 && width != 4) || max == 0 ||
        (width == 2 && max > UINT16_MAX) ||
        (uint64_t)max > (uint64_t)UINT32_MAX ||
        (r != NULL && (max > cfut_buf_reader_capacity(r) ||
                       cfut_buf_reader_capacity(r) - max < width)))
        return CFUT_EINVAL;
    c->r = r;
    c->max = max;
    c->width = width;
    c->status = 0;
    return CFUT_OK;
}

/* Reads the big-endian length of 'width' bytes at 'p'. */
static size_t
prefix_len(const unsigned char *p, unsigned width)
{
    uint32_t n = 0;
    for (unsigned i = 0; i < width; i++)
        n = n << 8 | p[i];
    return n;
}

/*
 * States: the prefix (fill 'width' bytes, nothing consumed); then the
 * frame (fill prefix + length bytes). Both there: consume them, READY
 * with a view. A length over the maximum: the codec fails for good.
 */
static enum cfut_poll
cfut_lenpfx_decode_poll(struct cfut_future *base, struct cfut_context *cx,
                        void *out)
{
    struct cfut_lenpfx_decode *f =
        cfut_container_of(base, struct cfut_lenpfx_decode, base);
    struct cfut_lenpfx_codec *c = f->c;
    struct cfut_buf_result *res = out;
    struct cfut_buf_result r;
    if (c->status != 0) {
        *res = (struct cfut_buf_result){c->status, NULL, 0};
        return CFUT_READY;
    }
    for (;;) {
        size_t want = f->need != 0 ? f->need : c->width;
        if (!f->reading) {
            cfut_buf_fill_init(&f->rd, c->r, want);
            f->reading = true;
        }
        if (await_read(&f->rd, &f->reading, cx, &r) == CFUT_PENDING)
            return CFUT_PENDING;
        if (r.status != 0) {
            if (r.status == CFUT_EEOF && r.len > 0)
                r.status = CFUT_EPROTO; /* the end cut a frame */
            *res = (struct cfut_buf_result){r.status, NULL, 0};
            return CFUT_READY;
        }
        if (f->need != 0)
            break;
        size_t len = prefix_len((const unsigned char *)r.data, c->width);
        if (len > c->max) {
            cfut_buf_reader_consume(c->r, c->width);
            c->status = CFUT_EMSGSIZE;
            *res = (struct cfut_buf_result){c->status, NULL, 0};
            return CFUT_READY;
        }
        f->need = c->width + len;
    }
    cfut_buf_reader_consume(c->r, f->need);
    *res = (struct cfut_buf_result){0, r.data + c->width, f->need - c->width};
    return CFUT_READY;
}

static void
cfut_lenpfx_decode_drop(struct cfut_future *base)
{
    struct cfut_lenpfx_decode *f =
        cfut_container_of(base, struct cfut_lenpfx_decode, base);
    if (f->reading)
        cfut_future_drop(&f->rd.base);
}

static const struct cfut_future_vtable cfut_lenpfx_decode_vtable = {
    cfut_lenpfx_decode_poll, cfut_lenpfx_decode_drop,
    sizeof(struct cfut_buf_result), "lenpfx_decode", NULL};

void
cfut_lenpfx_decode_init(struct cfut_lenpfx_decode *f,
                        struct cfut_lenpfx_codec *c)
{
    CFUT_ASSERT(c->r != NULL,
                "cfut_lenpfx_decode_init: the codec has no reader");
    cfut_future_init(&f->base, &cfut_lenpfx_decode_vtable);
    f->c = c;
    f->need = 0;
    f->reading = false;
}

int
cfut_lenpfx_encode(const struct cfut_lenpfx_codec *c, const void *data,
                   size_t len, unsigned char prefix[4],
                   struct cfut_iovec iov[2])
{
    if (c == NULL || prefix == NULL || iov == NULL || (data == NULL && len > 0))
        return CFUT_EINVAL;
    if (len > c->max)
        return CFUT_EMSGSIZE;
    for (unsigned i = 0; i < c->width; i++)
        prefix[i] = (unsigned char)(len >> (8 * (c->width - 1 - i)));
    iov[0] = (struct cfut_iovec){prefix, c->width};
    iov[1] = (struct cfut_iovec){data, len};
    return CFUT_OK;
}
