/*
 * cfut_transport_sync.c: requests from other threads (cfut_request_sync,
 * docs/transport.md): each is an inbox item with its payload and the
 * sending half of a thread-safe oneshot; the driver task takes the inbox
 * on its thread, gives each a slot of the slab and queues its frame. The
 * rest of the client is in cfut_transport.c.
 */
#define _GNU_SOURCE
#include "cfut_transport_int.h"

/* ---- the inbox (requests from other threads) ---- */

void
cfut__take_inbox_slow(struct cfut_transport *t)
{
    pthread_mutex_lock(&t->lock);
    struct inbox_item *it = t->inbox_head;
    t->inbox_head = NULL;
    t->inbox_tail = &t->inbox_head;
    atomic_store_explicit(&t->has_inbox, false, memory_order_relaxed);
    pthread_mutex_unlock(&t->lock);
    while (it != NULL) {
        struct inbox_item *next = it->next;
        struct cfut_response r;
        int rc = t->status;
        struct cfut__oneshot_any_sender tx =
            cfut__oneshot_sync_sender_any(&it->tx);
        struct cfut_id id;
        int64_t i = 0;
        if (rc == 0) {
            i = cfut__slots_take(&t->slots);
            rc = i < 0 ? (int)i : 0;
        }
        if (rc == 0) {
            cfut__slots_id(&t->slots, (uint32_t)i, t->slots.v[i].gen, &id);
            rc = cfut__buf_queue_frame(&t->obuf, CFUT_FRAME_REQUEST, &id, NULL,
                                       0, it + 1, it->len, t->max_frame_len);
            if (rc < 0)
                cfut__slots_put(&t->slots, (uint32_t)i);
        }
        if (rc == 0) {
            t->slots.v[i].state = CFUT__SLOT_SYNC;
            t->slots.v[i].core_ready = false; /* the union's other half */
            t->slots.v[i].u.sync_tx = tx;
            t->n_waiting++;
            t->st.n_sent++;
        } else {
            cfut__response_status(&r, rc);
            (void)cfut__oneshot_any_send(&tx, &r);
        }
        cfut_free(it);
        it = next;
    }
}

/* ---- requests from other threads ---- */

static enum cfut_poll
request_sync_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct cfut_request_sync *r =
        cfut_container_of(f, struct cfut_request_sync, base);
    CFUT_ONESHOT_OUTPUT(struct cfut_response) got;
    if (cfut_future_poll(&r->rx.base, cx, &got) == CFUT_PENDING)
        return CFUT_PENDING;
    if (got.status == 0)
        *(struct cfut_response *)out = got.value;
    else
        cfut__response_status(out, CFUT_ECANCELED);
    return CFUT_READY;
}

static void
request_sync_drop(struct cfut_future *f)
{
    struct cfut_request_sync *r =
        cfut_container_of(f, struct cfut_request_sync, base);
    cfut_future_drop(&r->rx.base);
}

static const struct cfut_future_vtable request_sync_vtable = {
    request_sync_poll,
    request_sync_drop,
    sizeof(struct cfut_response),
    "cfut_request_sync",
    NULL,
};

int
cfut_request_sync_init(struct cfut_request_sync *r, struct cfut_transport *t,
                       const void *payload, size_t len)
{
    if (r == NULL || t == NULL || (payload == NULL && len != 0))
        return CFUT_EINVAL;
    if (len > t->max_frame_len - CFUT_FRAME_MIN_LEN)
        return CFUT_EMSGSIZE;
    struct inbox_item *it = cfut_alloc(sizeof *it + len);
    if (it == NULL)
        return CFUT_ENOMEM;
    int rc = cfut_oneshot_sync_new(sizeof(struct cfut_response),
                                   cfut__response_drop_value, &it->tx, &r->rx);
    if (rc < 0) {
        cfut_free(it);
        return rc;
    }
    it->next = NULL;
    it->len = len;
    if (len != 0)
        memcpy(it + 1, payload, len);
    pthread_mutex_lock(&t->lock);
    if (t->inbox_closed) {
        pthread_mutex_unlock(&t->lock);
        cfut_oneshot_sync_sender_drop(&it->tx);
        cfut_future_drop(&r->rx.base);
        cfut_free(it);
        return CFUT_ECONNRESET;
    }
    *t->inbox_tail = it;
    t->inbox_tail = &it->next;
    atomic_store_explicit(&t->has_inbox, true, memory_order_release);
    cfut_waker_wake_by_ref(&t->driver);
    pthread_mutex_unlock(&t->lock);
    cfut_future_init(&r->base, &request_sync_vtable);
    return 0;
}
