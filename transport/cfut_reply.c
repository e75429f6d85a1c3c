/*
 * cfut_reply.c: ready replies: cfut_reply_ready_new(), the future a
 * handler returns when its answer is known at once (the bytes copied into
 * the reply, inline when small), for the server to poll like any other.
 */
#include "cfut_transport.h"

#include <string.h>

struct reply_ready {
    struct cfut_future base;
    struct cfut_reply rep;
};

static enum cfut_poll
reply_ready_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    (void)cx;
    struct reply_ready *r = cfut_container_of(f, struct reply_ready, base);
    *(struct cfut_reply *)out = r->rep;
    r->rep.data = NULL;
    return CFUT_READY;
}

static void
reply_ready_drop(struct cfut_future *f)
{
    struct reply_ready *r = cfut_container_of(f, struct reply_ready, base);
    cfut_free(r->rep.data);
}

static const struct cfut_future_vtable reply_ready_vtable = {
    reply_ready_poll,
    reply_ready_drop,
    sizeof(struct cfut_reply),
    "cfut_reply_ready",
    NULL,
};

int
cfut_reply_ready_new(int status, const void *data, size_t len,
                     struct cfut_future **out)
{
    if (out == NULL || (data == NULL && len != 0))
        return CFUT_EINVAL;
    struct reply_ready r;
    cfut_future_init(&r.base, &reply_ready_vtable);
    r.rep.status = status;
    r.rep.len = len;
    r.rep.data = NULL;
    if (len <= CFUT_REPLY_INLINE) {
        if (len != 0)
            memcpy(r.rep.inline_bytes, data, len);
    } else {
        r.rep.data = cfut_alloc(len);
        if (r.rep.data == NULL)
            return CFUT_ENOMEM;
        memcpy(r.rep.data, data, len);
    }
    int rc = cfut_future_box(&r.base, sizeof r, out);
    if (rc < 0)
        cfut_free(r.rep.data);
    return rc;
}
