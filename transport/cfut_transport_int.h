/*
 * cfut_transport_int.h: the client transport's state, shared by its two
 * files: cfut_transport.c (the pending slots, request futures, the driver
 * task) and cfut_transport_sync.c (requests from other threads: the inbox
 * the driver takes them from). Internal: never included by a public
 * header.
 */
#ifndef CFUT_TRANSPORT_INT_H
#define CFUT_TRANSPORT_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>

#include "cfut_buf_int.h"
#include "cfut_oneshot_int.h"
#include "cfut_slots_int.h"
#include "cfut_transport.h"

/* A request handed over by another thread (cfut_request_sync_init()). */
struct inbox_item {
    struct inbox_item *next;
    struct cfut_oneshot_sync_sender tx;
    size_t len;
    /* the payload follows */
};

struct cfut_transport {
    int refs; /* caller + driver task + request futures */
    struct cfut_executor *ex;
    struct cfut_stream *stream; /* NULL once closed */
    size_t max_frame_len;
    uint64_t timeout_ns;
    struct cfut__slots slots; /* the pending requests (cfut_slots_int.h) */
    size_t n_waiting;         /* slots whose response has not come */
    struct cfut_frame_decoder dec;
    struct cfut__buf rbuf; /* bytes read, not yet decoded */
    struct cfut__buf obuf; /* frames queued, not yet written */
    int status;            /* 0 while open */
    bool freed;            /* the caller's handle is gone */
    bool driver_done;
    struct cfut_transport_stats st;
    /* the driver's waker, also used by other threads under 'lock' */
    struct cfut_waker driver;
    pthread_mutex_t lock;
    atomic_bool has_inbox;
    struct inbox_item *inbox_head, **inbox_tail;
    bool inbox_closed; /* under 'lock': the driver has ended */
};

/* Drops a reference; the last one frees the transport. */
void cfut__transport_release(struct cfut_transport *t);

/* A response that carries only 'status' (no payload). */
static inline void
cfut__response_status(struct cfut_response *r, int status)
{
    memset(r, 0, sizeof *r);
    r->status = status;
}

/* The oneshots' drop of an untaken value: cfut_response_deinit(). */
void cfut__response_drop_value(void *value);

/* Moves the inbox's requests into slots and queues their frames (after
 * the connection failed: fails them instead). Driver's thread. */
void cfut__take_inbox_slow(struct cfut_transport *t);

static inline void
cfut__take_inbox(struct cfut_transport *t)
{
    if (atomic_load_explicit(&t->has_inbox, memory_order_acquire))
        cfut__take_inbox_slow(t);
}

#endif /* CFUT_TRANSPORT_INT_H */
