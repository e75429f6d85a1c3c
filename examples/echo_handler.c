/*
 * echo_handler.c: the echo handler of echo_handler.h, an example of a
 * transport handler (not library API): cfut-echo serves it, and the
 * transport's tests and benchmark use it as their server.
 */
#include "echo_handler.h"

#include <string.h>

struct echo {
    struct cfut_future base;
    unsigned yields; /* polls to spend before answering */
    struct cfut_reply rep;
};

static enum cfut_poll
echo_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct echo *e = cfut_container_of(f, struct echo, base);
    if (e->yields > 0) {
        e->yields--;
        cfut_waker_wake_by_ref(cx->waker);
        return CFUT_PENDING;
    }
    *(struct cfut_reply *)out = e->rep;
    e->rep.data = NULL;
    return CFUT_READY;
}

static void
echo_drop(struct cfut_future *f)
{
    struct echo *e = cfut_container_of(f, struct echo, base);
    cfut_free(e->rep.data);
}

static const struct cfut_future_vtable echo_vtable = {
    echo_poll, echo_drop, sizeof(struct cfut_reply), "echo", NULL,
};

/* How many polls the next reply waits (0..3; 0 without a shuffle). */
static unsigned
draw_yields(struct echo_config *cfg)
{
    if (cfg == NULL || !cfg->shuffle)
        return 0;
    /* xorshift64 */
    uint64_t x = cfg->state != 0 ? cfg->state : 0x9e3779b97f4a7c15ull;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    cfg->state = x;
    return (unsigned)(x >> 61) & 3u;
}

static int
echo_new(unsigned yields, const unsigned char *payload, size_t len,
         struct cfut_future **out)
{
    struct echo e;
    cfut_future_init(&e.base, &echo_vtable);
    e.yields = yields;
    e.rep.status = 0;
    e.rep.len = len;
    e.rep.data = NULL;
    if (len <= CFUT_REPLY_INLINE) {
        if (len != 0)
            memcpy(e.rep.inline_bytes, payload, len);
    } else {
        e.rep.data = cfut_alloc(len);
        if (e.rep.data == NULL)
            return CFUT_ENOMEM;
        memcpy(e.rep.data, payload, len);
    }
    int rc = cfut_future_box(&e.base, sizeof e, out);
    if (rc < 0)
        cfut_free(e.rep.data);
    return rc;
}

int
echo_handler(void *ctx, const unsigned char *payload, size_t len,
             struct cfut_future **out)
{
    return echo_new(draw_yields(ctx), payload, len, out);
}

int
echo_reply(void *ctx, const unsigned char *payload, size_t len,
           struct cfut_reply *reply, struct cfut_future **out)
{
    unsigned yields = draw_yields(ctx);
    if (yields != 0)
        return echo_new(yields, payload, len, out);
    unsigned char *to = reply->inline_bytes;
    reply->data = NULL;
    if (len > CFUT_REPLY_INLINE) {
        to = reply->data = cfut_alloc(len);
        if (to == NULL)
            return CFUT_ENOMEM;
    }
    reply->status = 0;
    reply->len = len;
    if (len != 0)
        memcpy(to, payload, len);
    return CFUT_REPLY_NOW;
}
