/*
 * cfut_broadcast.c: the local broadcast channel (Rust's Rc<RefCell>): the
 * core of cfut_broadcast_core_int.h as it is, with no lock and no atomics,
 * waking at once; the ring follows the state in the same block. The
 * thread-safe kind is in cfut_broadcast_sync.c; this file knows no
 * threads.
 */
#include "cfut_broadcast.h"

#include "cfut_broadcast_core_int.h"

typedef CFUT_BROADCAST_OUTPUT(char) output_probe;
_Static_assert(offsetof(output_probe, value) == CFUT_BROADCAST_VALUE_OFFSET,
               "CFUT_BROADCAST_VALUE_OFFSET does not match the output");
_Static_assert(offsetof(output_probe, n_skipped) ==
                   offsetof(struct cfut_broadcast_output_head, n_skipped),
               "the output's head does not match its struct");

struct cfut__broadcast {
    struct cfut__broadcast_core core; /* and nothing else: one thread */
};

#define HDR_SIZE CFUT__ALIGN_MAX(sizeof(struct cfut__broadcast))

int
cfut_broadcast_new(size_t msg_size, size_t capacity,
                   const struct cfut_channel_value_ops *ops,
                   struct cfut_broadcast_sender *tx,
                   struct cfut_broadcast_receiver *rx)
{
    int rc;
    struct cfut__broadcast *s = cfut__broadcast_alloc(
        HDR_SIZE, msg_size, capacity, tx != NULL && rx != NULL, &rc);
    if (s == NULL)
        return rc;
    cfut__broadcast_core_init(&s->core, s, HDR_SIZE, msg_size, capacity, ops);
    tx->shared = s;
    rx->shared = s;
    rx->next = 0;
    return CFUT_OK;
}

/* ---- senders ---- */

struct cfut_broadcast_sender
cfut_broadcast_sender_clone(const struct cfut_broadcast_sender *tx)
{
    CFUT_ASSERT(tx->shared != NULL, "broadcast: clone of an empty sender");
    bool ok = cfut__broadcast_sender_added(&tx->shared->core);
    CFUT_ASSERT(ok, "broadcast: too many senders");
    return *tx;
}

void
cfut_broadcast_sender_drop(struct cfut_broadcast_sender *tx)
{
    struct cfut__broadcast *s = tx->shared;
    tx->shared = NULL;
    if (s == NULL)
        return;
    struct cfut_list batch;
    cfut_list_init(&batch);
    bool unreferenced = cfut__broadcast_sender_gone(&s->core, &batch);
    cfut__waitq_wake_all_now(&batch);
    if (unreferenced)
        cfut_free(s);
}

int
cfut_broadcast_send(const struct cfut_broadcast_sender *tx, const void *msg)
{
    CFUT_ASSERT(tx->shared != NULL, "broadcast: send on an empty sender");
    struct cfut_list batch;
    cfut_list_init(&batch);
    int rc = cfut__broadcast_send(&tx->shared->core, msg, &batch);
    cfut__waitq_wake_all_now(&batch);
    return rc;
}

struct cfut_broadcast_receiver
cfut_broadcast_subscribe(const struct cfut_broadcast_sender *tx)
{
    CFUT_ASSERT(tx->shared != NULL, "broadcast: subscribe on an empty sender");
    struct cfut_broadcast_receiver rx = {tx->shared, 0};
    bool ok = cfut__broadcast_subscribe(&tx->shared->core, &rx.next);
    CFUT_ASSERT(ok, "broadcast: too many receivers");
    return rx;
}

/* ---- receivers ---- */

int
cfut_broadcast_try_recv(struct cfut_broadcast_receiver *rx, void *msg,
                        uint64_t *n_skipped)
{
    CFUT_ASSERT(rx->shared != NULL, "broadcast: try_recv on an empty receiver");
    uint64_t skipped = 0;
    int rc =
        cfut__broadcast_try_recv(&rx->shared->core, &rx->next, msg, &skipped);
    if (n_skipped != NULL)
        *n_skipped = skipped;
    return rc;
}

uint64_t
cfut_broadcast_len(const struct cfut_broadcast_receiver *rx)
{
    CFUT_ASSERT(rx->shared != NULL, "broadcast: len of an empty receiver");
    return rx->shared->core.tail - rx->next;
}

void
cfut_broadcast_receiver_drop(struct cfut_broadcast_receiver *rx)
{
    struct cfut__broadcast *s = rx->shared;
    rx->shared = NULL;
    if (s != NULL && cfut__broadcast_receiver_gone(&s->core, rx->next))
        cfut_free(s);
}

/* ---- the recv future ---- */

static enum cfut_poll
recv_poll(struct cfut_future *fut, struct cfut_context *cx, void *out)
{
    struct cfut_broadcast_recv *f =
        cfut_container_of(fut, struct cfut_broadcast_recv, base);
    return cfut__broadcast_poll_recv(&f->rx->shared->core, &f->waiter,
                                     &f->rx->next, cx, out);
}

static void
recv_drop(struct cfut_future *fut)
{
    cfut__waiter_gone(
        &cfut_container_of(fut, struct cfut_broadcast_recv, base)->waiter,
        CFUT__WAKE_NOW);
}

static size_t
recv_output_size(const struct cfut_future *fut)
{
    return CFUT_BROADCAST_VALUE_OFFSET +
           cfut_container_of(fut, struct cfut_broadcast_recv, base)
               ->rx->shared->core.msg_size;
}

static const struct cfut_future_vtable recv_vtable = {
    recv_poll, recv_drop, CFUT_OUTPUT_DYNAMIC, "broadcast_recv",
    recv_output_size};

void
cfut_broadcast_recv_init(struct cfut_broadcast_recv *f,
                         struct cfut_broadcast_receiver *rx)
{
    CFUT_ASSERT(rx->shared != NULL, "broadcast: recv on an empty receiver");
    cfut_future_init(&f->base, &recv_vtable);
    f->rx = rx;
    cfut__waiter_init(&f->waiter);
}
