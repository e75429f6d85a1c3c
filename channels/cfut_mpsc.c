/*
 * cfut_mpsc.c: the local mpsc channel (Rust's Rc<RefCell>): the core of
 * cfut_mpsc_core_int.h as it is, with no lock and no atomics, waking at
 * once (an immediate wake list); a bounded channel's ring follows the state
 * in the same block. It also holds the ring growth both kinds share. The
 * thread-safe kind is in cfut_mpsc_sync.c; this file knows no threads.
 */
#include "cfut_mpsc.h"

#include <stdint.h>
#include <string.h>

#include "cfut_mpsc_core_int.h"
#include "cfut_owner_int.h"

struct cfut__mpsc {
    struct cfut__mpsc_core core; /* and nothing else: one thread */
    CFUT__OWNER_FIELD;           /* debug builds: that thread */
};

#define HDR_SIZE CFUT__ALIGN_UP(sizeof(struct cfut__mpsc), CFUT__MAX_ALIGN)

/* The core of 's', in debug builds checked to be used on the thread that
 * made it (cfut_owner_int.h). */
static inline struct cfut__mpsc_core *
core_of(struct cfut__mpsc *s)
{
    CFUT__OWNER_CHECK(s);
    return &s->core;
}

/* Frees the state, once the core says nothing refers to it. */
static void
free_state(struct cfut__mpsc *s)
{
    cfut__mpsc_core_deinit(&s->core);
    cfut_free(s);
}

/* Shared with the thread-safe kind: see cfut_mpsc_core_int.h. */
int
cfut__mpsc_grow(struct cfut__mpsc_core *c)
{
    size_t size = c->msg_size;
    size_t n = c->ring_cap != 0 ? c->ring_cap * 2 : 16;
    if (n > SIZE_MAX / 2 / size)
        return CFUT_ENOMEM;
    unsigned char *r = cfut_alloc(n * size);
    if (r == NULL)
        return CFUT_ENOMEM;
    if (c->len != 0) {
        size_t first = c->ring_cap - c->head;
        if (first > c->len)
            first = c->len;
        memcpy(r, c->ring + c->head * size, first * size);
        memcpy(r + first * size, c->ring, (c->len - first) * size);
    }
    cfut_free(c->ring);
    c->ring = r;
    c->ring_cap = n;
    c->head = 0;
    return CFUT_OK;
}

/* ---- creation and handles ---- */

int
cfut_mpsc_new(size_t msg_size, size_t capacity, cfut_mpsc_drop_msg_fn *drop_msg,
              struct cfut_mpsc_sender *tx, struct cfut_mpsc_receiver *rx)
{
    int rc;
    struct cfut__mpsc *s = cfut__mpsc_alloc(HDR_SIZE, msg_size, capacity,
                                            tx != NULL && rx != NULL, &rc);
    if (s == NULL)
        return rc;
    cfut__mpsc_core_init(&s->core, s, HDR_SIZE, msg_size, capacity, drop_msg);
    CFUT__OWNER_INIT(s, "mpsc channel");
    tx->shared = rx->shared = s;
    return CFUT_OK;
}

struct cfut_mpsc_sender
cfut_mpsc_sender_clone(const struct cfut_mpsc_sender *tx)
{
    CFUT_ASSERT(tx->shared != NULL, "mpsc: clone of an empty sender");
    bool ok = cfut__count_up(&core_of(tx->shared)->n_senders);
    CFUT_ASSERT(ok, "mpsc: too many senders");
    return *tx;
}

void
cfut_mpsc_sender_drop(struct cfut_mpsc_sender *tx)
{
    struct cfut__mpsc *s = tx->shared;
    tx->shared = NULL;
    if (s != NULL && cfut__mpsc_sender_gone(core_of(s), CFUT__WAKE_NOW))
        free_state(s);
}

bool
cfut_mpsc_sender_is_closed(const struct cfut_mpsc_sender *tx)
{
    CFUT_ASSERT(tx->shared != NULL, "mpsc: is_closed on an empty sender");
    return core_of(tx->shared)->rx_closed;
}

int
cfut_mpsc_try_send(const struct cfut_mpsc_sender *tx, const void *msg)
{
    CFUT_ASSERT(tx->shared != NULL, "mpsc: try_send on an empty sender");
    return cfut__mpsc_try_send(core_of(tx->shared), msg, CFUT__WAKE_NOW);
}

int
cfut_mpsc_try_send_many(const struct cfut_mpsc_sender *tx, const void *msgs,
                        size_t n, size_t *sent)
{
    CFUT_ASSERT(tx->shared != NULL, "mpsc: try_send_many on an empty sender");
    if (sent == NULL)
        return CFUT_EINVAL;
    *sent = 0;
    if (msgs == NULL && n != 0)
        return CFUT_EINVAL;
    return cfut__mpsc_try_send_many(core_of(tx->shared), msgs, n, sent,
                                    CFUT__WAKE_NOW);
}

/* ---- send future ---- */

static enum cfut_poll send_poll(struct cfut_future *fut,
                                struct cfut_context *cx, void *out);

/* A READY send future has let go of the channel: nothing to drop. Polling
 * it again breaks the contract (debug builds abort before); it stays
 * PENDING, like a terminated fuse. */
static enum cfut_poll
send_done_poll(struct cfut_future *fut, struct cfut_context *cx, void *out)
{
    (void)fut, (void)cx, (void)out;
    return CFUT_PENDING;
}

static const struct cfut_future_vtable send_done_vtable = {
    send_done_poll, NULL, sizeof(int), "mpsc_send", NULL};

/* The end of a READY poll: the future lets go of the channel. Out of line:
 * the fast path calls it only for the last sender. */
static __attribute__((noinline)) void
send_finish(struct cfut_mpsc_send *f, struct cfut__mpsc *s)
{
    f->base.vtable = &send_done_vtable;
    f->shared = NULL;
    if (cfut__mpsc_sender_gone(&s->core, CFUT__WAKE_NOW))
        free_state(s);
}

/* Every poll but the fast path's, out of line so that the fast path needs
 * no stack frame. */
static __attribute__((noinline)) enum cfut_poll
send_poll_slow(struct cfut_mpsc_send *f, struct cfut_context *cx, int *out)
{
    struct cfut__mpsc *s = f->shared;
    if (cfut__mpsc_send_poll(core_of(s), &f->waiter, f->msg, cx, CFUT__WAKE_NOW,
                             out) == CFUT_PENDING)
        return CFUT_PENDING;
    send_finish(f, s);
    return CFUT_READY;
}

/*
 * The poll. The fast path (cfut__mpsc_send_is_fast(): room, nobody
 * waiting, never waited) queues and is READY with no waker traffic. READY
 * releases the future's count of senders at once (when it is the last, the
 * receiver is woken to see the end, and the state is freed if the receiver
 * is gone too) and switches to a vtable with no drop, so that
 * cfut_future_drop() of a finished send is a load and a test.
 */
static enum cfut_poll
send_poll(struct cfut_future *fut, struct cfut_context *cx, void *out)
{
    struct cfut_mpsc_send *f =
        cfut_container_of(fut, struct cfut_mpsc_send, base);
    struct cfut__mpsc *s = f->shared;
    struct cfut__mpsc_core *c = core_of(s);
    if (!cfut__mpsc_send_is_fast(c, &f->waiter) || c->cap == 0)
        return send_poll_slow(f, cx, out);
    if (!cfut_context_consume_budget(cx))
        return CFUT_PENDING;
    cfut__mpsc_push(c, f->msg, CFUT__WAKE_NOW);
    *(int *)out = CFUT_OK;
    if (__builtin_expect(c->n_senders == 1, 0)) /* the last sender */
        send_finish(f, s);
    else {
        c->n_senders--;
        f->base.vtable = &send_done_vtable;
        f->shared = NULL;
    }
    return CFUT_READY;
}

static void
send_drop(struct cfut_future *fut)
{
    struct cfut_mpsc_send *f =
        cfut_container_of(fut, struct cfut_mpsc_send, base);
    if (cfut__mpsc_send_gone(core_of(f->shared), &f->waiter, CFUT__WAKE_NOW))
        free_state(f->shared);
}

static const struct cfut_future_vtable send_vtable = {
    send_poll, send_drop, sizeof(int), "mpsc_send", NULL};

void
cfut_mpsc_send_init(struct cfut_mpsc_send *f, const struct cfut_mpsc_sender *tx,
                    const void *msg)
{
    CFUT_ASSERT(tx->shared != NULL, "mpsc: send from an empty sender");
    bool ok = cfut__count_up(&core_of(tx->shared)->n_senders);
    CFUT_ASSERT(ok, "mpsc: too many senders");
    cfut_future_init(&f->base, &send_vtable);
    f->shared = tx->shared;
    f->msg = msg;
    cfut__mpsc_waiter_init(&f->waiter);
}

/* ---- receiving ---- */

int
cfut_mpsc_try_recv(struct cfut_mpsc_receiver *rx, void *msg)
{
    CFUT_ASSERT(rx->shared != NULL, "mpsc: try_recv on an empty receiver");
    return cfut__mpsc_try_recv(core_of(rx->shared), msg, CFUT__WAKE_NOW);
}

/* Hands the slots a batched receive freed to the waiting senders. */
static void
hand_permits(struct cfut__mpsc_core *c)
{
    struct cfut_waker w;
    while (cfut__mpsc_permit_next(c, &w))
        cfut_waker_wake(&w);
}

int
cfut_mpsc_try_recv_many(struct cfut_mpsc_receiver *rx, void *msgs, size_t max,
                        size_t *n)
{
    CFUT_ASSERT(rx->shared != NULL, "mpsc: try_recv_many on an empty receiver");
    if (n == NULL)
        return CFUT_EINVAL;
    *n = 0;
    if (max == 0 || msgs == NULL)
        return CFUT_EINVAL;
    struct cfut__mpsc_core *c = core_of(rx->shared);
    int rc = cfut__mpsc_try_recv_many(c, msgs, max, n);
    if (rc == CFUT_OK && c->cap != 0)
        hand_permits(c);
    return rc;
}

enum cfut_poll
cfut_mpsc_poll_recv_many(struct cfut_mpsc_receiver *rx, struct cfut_context *cx,
                         void *msgs, size_t max, size_t *n)
{
    CFUT_DEBUG_ASSERT(rx->shared != NULL && max != 0 && msgs != NULL &&
                          n != NULL,
                      "mpsc: poll_recv_many on an empty receiver, or with "
                      "no room");
    struct cfut__mpsc_core *c = core_of(rx->shared);
    enum cfut_poll r = cfut__mpsc_poll_recv_many(c, cx, msgs, max, n);
    if (*n != 0 && c->cap != 0)
        hand_permits(c);
    return r;
}

/* The receiver's poll: the fast path (a message, no sender waiting: no
 * permit to hand, so no wake list to build), else the core's poll. */
static inline enum cfut_poll
poll_recv(struct cfut__mpsc_core *c, struct cfut_context *cx, void *out)
{
    if (!cfut__mpsc_recv_is_fast(c))
        return cfut__mpsc_poll_recv(c, cx, out, CFUT__WAKE_NOW);
    if (!cfut_context_consume_budget(cx))
        return CFUT_PENDING;
    *(int *)out = CFUT_OK;
    cfut__copy((unsigned char *)out + CFUT_MPSC_VALUE_OFFSET,
               cfut__mpsc_shift(c), c->msg_size);
    return CFUT_READY;
}

enum cfut_poll
cfut_mpsc_poll_recv(struct cfut_mpsc_receiver *rx, struct cfut_context *cx,
                    void *out)
{
    CFUT_DEBUG_ASSERT(rx->shared != NULL,
                      "mpsc: poll_recv on an empty receiver");
    return poll_recv(core_of(rx->shared), cx, out);
}

static enum cfut_poll
recv_poll(struct cfut_future *fut, struct cfut_context *cx, void *out)
{
    return poll_recv(
        core_of(cfut_container_of(fut, struct cfut_mpsc_recv, base)->shared),
        cx, out);
}

static void
recv_drop(struct cfut_future *fut)
{
    cfut__mpsc_recv_gone(
        core_of(cfut_container_of(fut, struct cfut_mpsc_recv, base)->shared),
        CFUT__WAKE_NOW);
}

static size_t
recv_output_size(const struct cfut_future *fut)
{
    return CFUT_MPSC_VALUE_OFFSET +
           cfut_container_of(fut, struct cfut_mpsc_recv, base)
               ->shared->core.msg_size;
}

static const struct cfut_future_vtable recv_vtable = {
    recv_poll, recv_drop, CFUT_OUTPUT_DYNAMIC, "mpsc_recv", recv_output_size};

void
cfut_mpsc_recv_init(struct cfut_mpsc_recv *f, struct cfut_mpsc_receiver *rx)
{
    CFUT_ASSERT(rx->shared != NULL, "mpsc: recv on an empty receiver");
    bool first = cfut__mpsc_recv_begin(core_of(rx->shared));
    CFUT_ASSERT(first, "mpsc: a recv future is already alive");
    cfut_future_init(&f->base, &recv_vtable);
    f->shared = rx->shared;
}

size_t
cfut_mpsc_len(const struct cfut_mpsc_receiver *rx)
{
    return core_of(rx->shared)->len;
}

void
cfut_mpsc_receiver_drop(struct cfut_mpsc_receiver *rx)
{
    struct cfut__mpsc *s = rx->shared;
    rx->shared = NULL;
    if (s == NULL)
        return;
    bool ok = cfut__mpsc_receiver_close(core_of(s), CFUT__WAKE_NOW);
    CFUT_ASSERT(ok, "mpsc: receiver dropped under a recv future");
    cfut__mpsc_drain(&s->core);
    while (cfut__mpsc_release_waiter(&s->core, CFUT__WAKE_NOW))
        ;
    if (cfut__mpsc_receiver_gone(&s->core))
        free_state(s);
}
