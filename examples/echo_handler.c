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

int
echo_handler(void *ctx, const unsigned char *payload, size_t len,
             struct cfut_future **out)
{
    struct echo_config *cfg = ctx;
    struct echo e;
    cfut_future_init(&e.base, &echo_vtable);
    e.yields = 0;
    if (cfg != NULL && cfg->shuffle) {
        /* xorshift64: how many polls this reply waits (0..3). */
        uint64_t x = cfg->state != 0 ? cfg->state : 0x9e3779b97f4a7c15ull;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        cfg->state = x;
        e.yields = (unsigned)(x >> 61) & 3u;
    }
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
