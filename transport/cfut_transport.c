/*
 * cfut_transport.c: the client: the pending map (id -> oneshot sender),
 * request futures with their drop guard and timeout, and the driver task
 * that writes queued frames in batches and reads responses (many frames
 * per read). Requests from other threads are in cfut_transport_sync.c,
 * the server in cfut_server.c; this file does no socket calls of its own:
 * it speaks to a struct cfut_stream.
 */
#define _GNU_SOURCE
#include "cfut_transport.h"

#include <string.h>

#include "cfut_errors_int.h"
#include "cfut_time.h"
#include "cfut_transport_int.h"

/* ---- responses ---- */

const unsigned char *
cfut_response_data(const struct cfut_response *r)
{
    return r->heap != NULL ? r->heap : r->inline_bytes;
}

void
cfut_response_deinit(struct cfut_response *r)
{
    cfut_free(r->heap);
    r->heap = NULL;
}

void
cfut__response_drop_value(void *value)
{
    cfut_response_deinit(value);
}

/* ---- the transport's life ---- */

void
cfut__transport_release(struct cfut_transport *t)
{
    if (--t->refs != 0)
        return;
    CFUT_ASSERT(t->n_waiting == 0, "transport freed with pending requests");
    cfut__slots_deinit(&t->slots);
    cfut_frame_decoder_deinit(&t->dec);
    cfut__buf_free(&t->rbuf);
    cfut__buf_free(&t->obuf);
    struct inbox_item *it = t->inbox_head;
    while (it != NULL) {
        struct inbox_item *next = it->next;
        cfut_oneshot_sync_sender_drop(&it->tx);
        cfut_free(it);
        it = next;
    }
    cfut_waker_drop(&t->driver);
    pthread_mutex_destroy(&t->lock);
    cfut_free(t);
}

/* The oneshot of local slot 'sl' has its value: the receiver is woken. */
static void
slot_sent(struct cfut__slot *sl)
{
    sl->answered = true;
    sl->u.local.core.flags |= CFUT__ONESHOT_SENT | CFUT__ONESHOT_TX_DONE;
    cfut__wake_list_take(CFUT__WAKE_NOW, &sl->u.local.core.rx_waker);
}

/* Ends the connection: every pending request fails at once with 'status'. */
static void
transport_fail(struct cfut_transport *t, int status)
{
    if (t->status == 0)
        t->status = status;
    /* A scan of the slab: only when the connection ends. */
    for (uint32_t i = 0; i < t->slots.cap && t->n_waiting != 0; i++) {
        struct cfut__slot *sl = &t->slots.v[i];
        if (sl->state == CFUT__SLOT_FREE || sl->answered)
            continue;
        t->n_waiting--;
        if (sl->state == CFUT__SLOT_LOCAL) {
            cfut__response_status(&sl->u.local.value, status);
            slot_sent(sl);
        } else {
            struct cfut_response r;
            cfut__response_status(&r, status);
            (void)cfut__oneshot_any_send(&sl->u.sync_tx, &r);
            cfut__slots_put(&t->slots, i);
        }
    }
    t->obuf.off = t->obuf.len = 0;
}

static void
wake_driver(struct cfut_transport *t)
{
    cfut_waker_wake_by_ref(&t->driver);
}

/* ---- the driver task ---- */

/*
 * Decodes the response frame 'f' into '*r' (a slot's value or a local
 * one): the payload is copied once, from the read buffer into the
 * response's inline bytes or its block.
 */
static void
decode_response(struct cfut_response *r, const struct cfut_frame *f)
{
    const unsigned char *data = f->payload;
    size_t len = f->payload_len;
    r->status = 0;
    r->remote_error = false;
    r->heap = NULL;
    if (f->kind == CFUT_FRAME_ERROR) {
        /* A status (Linux errno numbering on the wire), then a message. */
        r->remote_error = true;
        r->status = CFUT_EPROTO; /* an error response with no valid status */
        if (len >= 4) {
            int32_t code =
                (int32_t)((uint32_t)data[0] << 24 | (uint32_t)data[1] << 16 |
                          (uint32_t)data[2] << 8 | data[3]);
            if (code < 0)
                r->status = cfut__status_from_wire(code);
            data += 4;
            len -= 4;
        }
    }
    unsigned char *to = r->inline_bytes;
    if (len > CFUT_RESPONSE_INLINE) {
        to = r->heap = cfut_alloc(len);
        if (to == NULL) {
            cfut__response_status(r, CFUT_ENOMEM);
            return;
        }
    }
    memcpy(to, data, len);
    r->len = len;
}

/*
 * A response for a slot that no request waits on: counts it. 'gen' is the
 * use the id names; the slot is at its use 'sl->gen'.
 */
static void
count_stray(struct cfut_transport *t, const struct cfut__slot *sl, uint32_t gen)
{
    uint32_t age = sl->gen - gen; /* how many uses ago */
    if (age == 0 && sl->state != CFUT__SLOT_FREE)
        t->st.n_duplicate++; /* answered, its value not taken yet */
    else if (age == 1 && sl->last == CFUT__SLOT_LAST_ANSWERED)
        t->st.n_duplicate++;
    else if (age != 0 && age < (1u << 31) && sl->last != CFUT__SLOT_LAST_NONE)
        t->st.n_late++; /* dropped, timed out, or an earlier use */
    else
        t->st.n_unknown++; /* a use not issued yet */
}

static int
on_response(struct cfut_transport *t, const struct cfut_frame *f)
{
    if (f->kind == CFUT_FRAME_REQUEST)
        return CFUT_EPROTO;
    uint32_t i, gen;
    if (!cfut__slots_parse(&t->slots, &f->id, &i, &gen)) {
        t->st.n_unknown++;
        return 0;
    }
    struct cfut__slot *sl = &t->slots.v[i];
    if (sl->gen != gen || sl->state == CFUT__SLOT_FREE || sl->answered) {
        count_stray(t, sl, gen);
        return 0;
    }
    t->n_waiting--;
    if (sl->state == CFUT__SLOT_LOCAL) {
        /* Straight into the slot: the oneshot's value is the response. */
        decode_response(&sl->u.local.value, f);
        slot_sent(sl);
        t->st.n_completed++;
        return 0;
    }
    struct cfut_response r;
    decode_response(&r, f);
    sl->answered = cfut__oneshot_any_send(&sl->u.sync_tx, &r) == 0;
    cfut__slots_put(&t->slots, i);
    if (!sl->answered) {
        cfut_response_deinit(&r);
        t->st.n_late++;
        return 0;
    }
    t->st.n_completed++;
    return 0;
}

/* Reads and decodes until the stream is pending. Returns 0 or a status. */
static int
driver_read(struct cfut_transport *t, struct cfut_context *cx)
{
    for (;;) {
        struct cfut__buf *b = &t->rbuf;
        struct cfut_stream_result res;
        if (cfut_stream_poll_read(t->stream, cx, b->data, b->cap, &res) ==
            CFUT_PENDING)
            return 0;
        if (res.status == CFUT_EEOF) /* the end, maybe inside a frame */
            return cfut_frame_decoder_has_partial(&t->dec) ? CFUT_EPROTO
                                                           : CFUT_ECONNRESET;
        if (res.status != 0)
            return res.status; /* the system's error: -ECONNRESET, ... */
        t->st.n_reads++;
        const unsigned char *p = b->data;
        size_t left = res.n;
        while (left > 0) {
            size_t used = 0;
            struct cfut_frame f;
            int rc = cfut_frame_decoder_next(&t->dec, p, left, &used, &f);
            if (rc < 0)
                return rc;
            p += used;
            left -= used;
            if (rc == 1) {
                rc = on_response(t, &f);
                if (rc < 0)
                    return rc;
            }
        }
    }
}

struct driver {
    struct cfut_future base;
    struct cfut_transport *t;
};

static void
driver_end(struct cfut_transport *t)
{
    pthread_mutex_lock(&t->lock);
    t->inbox_closed = true;
    pthread_mutex_unlock(&t->lock);
    cfut__take_inbox(t); /* fails what is left, since t->status != 0 */
    cfut_stream_close(t->stream);
    t->stream = NULL;
    t->driver_done = true;
}

/*
 * One poll of the driver: take requests from other threads, write the
 * queued frames (one write per batch), read and deliver responses, and
 * write again (requests queued meanwhile). It ends (READY) when the
 * connection ends or the caller freed the transport.
 */
static enum cfut_poll
driver_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    (void)out;
    struct cfut_transport *t = cfut_container_of(f, struct driver, base)->t;
    if (!cfut_waker_will_wake(&t->driver, cx->waker)) {
        pthread_mutex_lock(&t->lock);
        cfut_waker_register(&t->driver, cx->waker);
        pthread_mutex_unlock(&t->lock);
    }
    if (t->freed && t->status == 0)
        transport_fail(t, CFUT_ECANCELED);
    cfut__take_inbox(t);
    int rc = 0;
    if (t->status == 0)
        rc = cfut__buf_flush(t->stream, cx, &t->obuf, &t->st.n_writes);
    if (rc >= 0 && t->status == 0)
        rc = driver_read(t, cx);
    if (rc >= 0 && t->status == 0)
        rc = cfut__buf_flush(t->stream, cx, &t->obuf, &t->st.n_writes);
    if (rc < 0)
        transport_fail(t, rc);
    if (t->status == 0)
        return CFUT_PENDING;
    driver_end(t);
    return CFUT_READY;
}

static void
driver_drop(struct cfut_future *f)
{
    struct cfut_transport *t = cfut_container_of(f, struct driver, base)->t;
    if (!t->driver_done) {
        transport_fail(t, CFUT_ECANCELED);
        driver_end(t);
    }
    cfut__transport_release(t);
}

static const struct cfut_future_vtable driver_vtable = {
    driver_poll, driver_drop, 0, "cfut_transport_driver", NULL,
};

int
cfut_transport_new(struct cfut_executor *ex, struct cfut_stream *stream,
                   const struct cfut_transport_config *cfg,
                   struct cfut_transport **out)
{
    struct cfut_transport_config c = {0, 0, 0};
    if (ex == NULL || stream == NULL || out == NULL)
        return CFUT_EINVAL;
    if (cfg != NULL)
        c = *cfg;
    struct cfut_id_gen gen;
    int rc = cfut_id_gen_init(&gen);
    if (rc < 0)
        return rc;
    struct cfut_transport *t = cfut_alloc(sizeof *t);
    if (t == NULL)
        return CFUT_ENOMEM;
    memset(t, 0, sizeof *t);
    rc = cfut_frame_decoder_init(&t->dec, c.max_frame_len);
    if (rc < 0)
        goto free_t;
    rc = CFUT_ENOMEM;
    if (cfut__buf_reserve(&t->rbuf,
                          c.read_buf_size != 0 ? c.read_buf_size : 65536) < 0)
        goto free_t;
    t->rbuf.cap = c.read_buf_size != 0 ? c.read_buf_size : t->rbuf.cap;
    cfut__slots_init(&t->slots, gen.key);
    t->refs = 2; /* the caller and the driver */
    t->ex = ex;
    t->stream = stream;
    t->max_frame_len = t->dec.max_len;
    t->timeout_ns = c.timeout_ns;
    t->driver = CFUT_WAKER_EMPTY;
    pthread_mutex_init(&t->lock, NULL);
    t->inbox_tail = &t->inbox_head;
    struct driver d;
    cfut_future_init(&d.base, &driver_vtable);
    d.t = t;
    rc = cfut_spawn(ex, &d.base, sizeof d, NULL);
    if (rc < 0)
        goto destroy;
    *out = t;
    return 0;

destroy:
    pthread_mutex_destroy(&t->lock);
    cfut__buf_free(&t->rbuf);
free_t:
    cfut_free(t);
    return rc;
}

void
cfut_transport_free(struct cfut_transport *t)
{
    if (t == NULL)
        return;
    t->freed = true;
    if (t->status == 0)
        transport_fail(t, CFUT_ECANCELED);
    wake_driver(t);
    cfut__transport_release(t);
}

int
cfut_transport_status(const struct cfut_transport *t)
{
    return t->status;
}

void
cfut_transport_get_stats(const struct cfut_transport *t,
                         struct cfut_transport_stats *out)
{
    *out = t->st;
    out->n_pending = t->n_waiting;
}

/* ---- request futures ---- */

/*
 * The request future (struct cfut_request), its states and transitions:
 *   WAITING  its slot (the oneshot's sending half, with the value's
 *            storage) is in the slab, no timer. The response comes (or the
 *            connection's failure) -> DONE, READY with it; the slot is
 *            freed. A timeout is set -> its timer is boxed -> TIMED (no
 *            memory for the timer -> DONE, READY with CFUT_ENOMEM, the
 *            slot freed).
 *   TIMED    its slot in the slab, the timer armed. The response comes ->
 *            DONE, as above; the timer fires first -> DONE, READY with
 *            CFUT_ETIMEDOUT, the slot freed (its generation goes up: a
 *            late response is then counted and dropped).
 *   DONE     READY was returned: the slot is free.
 * The drop guard: dropping it in WAITING or TIMED frees its slot (and a
 * response delivered but not taken); the timer goes with it in any state.
 */

/* Frees the slot of 'r' (WAITING or TIMED): the drop guard. */
static void
request_release_slot(struct cfut_request *r)
{
    struct cfut_transport *t = r->t;
    struct cfut__slot *sl = &t->slots.v[r->slot];
    if (!sl->answered)
        t->n_waiting--;
    else if (sl->u.local.core.flags & CFUT__ONESHOT_SENT)
        cfut_response_deinit(&sl->u.local.value); /* never taken */
    cfut_waker_drop(&sl->u.local.core.rx_waker);
    cfut__slots_put(&t->slots, r->slot);
    r->state = CFUT__REQUEST_DONE;
}

static enum cfut_poll
request_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct cfut_request *r = cfut_container_of(f, struct cfut_request, base);
    struct cfut_transport *t = r->t;
    struct cfut__slot *sl = &t->slots.v[r->slot];
    struct cfut__oneshot_core *c = &sl->u.local.core;
    /* The receiver's take (cfut__oneshot_take() with the value's type
     * known): the value is copied once, into 'out'. */
    if (c->flags & CFUT__ONESHOT_SENT) {
        c->flags &= ~CFUT__ONESHOT_SENT;
        *(struct cfut_response *)out = sl->u.local.value;
        cfut_waker_drop(&c->rx_waker);
        cfut__slots_put(&t->slots, r->slot);
        r->state = CFUT__REQUEST_DONE;
        return CFUT_READY;
    }
    cfut_waker_register(&c->rx_waker, cx->waker);
    if (r->timeout_ns == 0)
        return CFUT_PENDING;
    struct cfut_response *res = out;
    if (r->state == CFUT__REQUEST_WAITING) {
        struct cfut_sleep slp;
        cfut_sleep_init(&slp, r->timeout_ns);
        if (cfut_future_box(&slp.base, sizeof slp, &r->timer) < 0) {
            r->timer = NULL;
            /* No timer: fail the request rather than hang without one. */
            cfut__response_status(res, CFUT_ENOMEM);
            request_release_slot(r);
            return CFUT_READY;
        }
        r->state = CFUT__REQUEST_TIMED;
    }
    int st = 0;
    if (cfut_future_poll(r->timer, cx, &st) == CFUT_PENDING)
        return CFUT_PENDING;
    cfut__response_status(res, st == 0 ? CFUT_ETIMEDOUT : st);
    request_release_slot(r);
    return CFUT_READY;
}

static void
request_drop(struct cfut_future *f)
{
    struct cfut_request *r = cfut_container_of(f, struct cfut_request, base);
    /* The drop guard: a request that goes away takes its slot along. */
    if (r->state != CFUT__REQUEST_DONE)
        request_release_slot(r);
    if (r->timer != NULL)
        cfut_future_drop(r->timer);
    cfut__transport_release(r->t);
}

static const struct cfut_future_vtable request_vtable = {
    request_poll,   request_drop, sizeof(struct cfut_response),
    "cfut_request", NULL,
};

int
cfut_request_init_timeout(struct cfut_request *r, struct cfut_transport *t,
                          const void *payload, size_t len, uint64_t timeout_ns)
{
    if (r == NULL || t == NULL || (payload == NULL && len != 0))
        return CFUT_EINVAL;
    if (t->status != 0)
        return t->status;
    if (len > t->max_frame_len - CFUT_FRAME_MIN_LEN)
        return CFUT_EMSGSIZE;
    int64_t i = cfut__slots_take(&t->slots);
    if (i < 0)
        return (int)i;
    struct cfut__slot *sl = &t->slots.v[i];
    struct cfut_id id;
    cfut__slots_id(&t->slots, (uint32_t)i, sl->gen, &id);
    int rc = cfut__buf_queue_frame(&t->obuf, CFUT_FRAME_REQUEST, &id, NULL, 0,
                                   payload, len, t->max_frame_len);
    if (rc < 0) {
        cfut__slots_put(&t->slots, (uint32_t)i);
        return rc;
    }
    /* The oneshot: its state and value live in the slot. A slot whose
     * last use was local keeps its core: only the flags start over (the
     * full initialisation stores eight words). */
    sl->state = CFUT__SLOT_LOCAL;
    if (sl->core_ready) {
        sl->u.local.core.flags = 0;
    } else {
        cfut__oneshot_core_init(&sl->u.local.core, false,
                                sizeof(struct cfut_response),
                                cfut__response_drop_value);
        sl->core_ready = true;
    }
    t->n_waiting++;
    t->st.n_sent++;
    cfut_future_init(&r->base, &request_vtable);
    r->t = t;
    t->refs++;
    r->slot = (uint32_t)i;
    r->state = CFUT__REQUEST_WAITING;
    r->timeout_ns = timeout_ns;
    r->timer = NULL;
    if (t->obuf.len - t->obuf.off == CFUT_FRAME_HEADER_SIZE + len)
        wake_driver(t); /* the first frame of a batch */
    return 0;
}

int
cfut_request_init(struct cfut_request *r, struct cfut_transport *t,
                  const void *payload, size_t len)
{
    if (t == NULL)
        return CFUT_EINVAL;
    return cfut_request_init_timeout(r, t, payload, len, t->timeout_ns);
}
