/*
 * cfut_watch.c: the local watch channel (Rust's Rc<RefCell>): the core of
 * cfut_watch_core_int.h as it is, with no lock and no atomics, waking at
 * once; the two value slots follow the state in the same block. Only this
 * kind lends the value in place (cfut_watch_borrow()). The thread-safe
 * kind is in cfut_watch_sync.c; this file knows no threads.
 */
#include "cfut_watch.h"

#include "cfut_watch_core_int.h"

struct cfut__watch {
    struct cfut__watch_core core; /* and nothing else: one thread */
};

#define HDR_SIZE CFUT__ALIGN_MAX(sizeof(struct cfut__watch))

/* Frees the state, once the core says nothing refers to it. */
static void
free_state(struct cfut__watch *s)
{
    cfut__watch_core_deinit(&s->core);
    cfut_free(s);
}

int
cfut_watch_new(size_t value_size, const void *initial,
               const struct cfut_channel_value_ops *ops,
               struct cfut_watch_sender *tx, struct cfut_watch_receiver *rx)
{
    int rc;
    struct cfut__watch *s =
        cfut__watch_alloc(HDR_SIZE, value_size, tx != NULL && rx != NULL, &rc);
    if (s == NULL)
        return rc;
    cfut__watch_core_init(&s->core, s, HDR_SIZE, value_size, initial, ops);
    tx->shared = s;
    rx->shared = s;
    rx->seen = 0;
    return CFUT_OK;
}

/* ---- the sender ---- */

int
cfut_watch_send(struct cfut_watch_sender *tx, const void *value)
{
    CFUT_ASSERT(tx->shared != NULL, "watch: send on an empty sender");
    struct cfut__watch_core *c = &tx->shared->core;
    struct cfut_list batch;
    cfut_list_init(&batch);
    cfut__watch_stage(c, value);
    int rc = cfut__watch_publish(c, &batch);
    if (rc == CFUT_OK)
        cfut__watch_drop_replaced(c);
    cfut__waitq_wake_all_now(&batch);
    return rc;
}

struct cfut_watch_receiver
cfut_watch_subscribe(const struct cfut_watch_sender *tx)
{
    CFUT_ASSERT(tx->shared != NULL, "watch: subscribe on an empty sender");
    bool ok = cfut__watch_receiver_added(&tx->shared->core);
    CFUT_ASSERT(ok, "watch: too many receivers");
    struct cfut_watch_receiver rx = {tx->shared, tx->shared->core.version};
    return rx;
}

bool
cfut_watch_sender_is_closed(const struct cfut_watch_sender *tx)
{
    CFUT_ASSERT(tx->shared != NULL, "watch: is_closed on an empty sender");
    return tx->shared->core.n_receivers == 0;
}

void
cfut_watch_sender_drop(struct cfut_watch_sender *tx)
{
    struct cfut__watch *s = tx->shared;
    tx->shared = NULL;
    if (s == NULL)
        return;
    struct cfut_list batch;
    cfut_list_init(&batch);
    bool unreferenced = cfut__watch_sender_gone(&s->core, &batch);
    cfut__waitq_wake_all_now(&batch);
    if (unreferenced)
        free_state(s);
}

/* ---- receivers ---- */

struct cfut_watch_receiver
cfut_watch_receiver_clone(const struct cfut_watch_receiver *rx)
{
    CFUT_ASSERT(rx->shared != NULL, "watch: clone of an empty receiver");
    bool ok = cfut__watch_receiver_added(&rx->shared->core);
    CFUT_ASSERT(ok, "watch: too many receivers");
    return *rx;
}

void
cfut_watch_receiver_drop(struct cfut_watch_receiver *rx)
{
    struct cfut__watch *s = rx->shared;
    rx->shared = NULL;
    if (s != NULL && cfut__watch_receiver_gone(&s->core))
        free_state(s);
}

uint64_t
cfut_watch_get(struct cfut_watch_receiver *rx, void *out)
{
    CFUT_ASSERT(rx->shared != NULL, "watch: get on an empty receiver");
    return cfut__watch_get(&rx->shared->core, out, &rx->seen);
}

const void *
cfut_watch_borrow(struct cfut_watch_receiver *rx, uint64_t *version)
{
    CFUT_ASSERT(rx->shared != NULL, "watch: borrow on an empty receiver");
    const struct cfut__watch_core *c = &rx->shared->core;
    rx->seen = c->version;
    if (version != NULL)
        *version = c->version;
    return cfut__watch_slot(c, c->cur);
}

bool
cfut_watch_has_changed(const struct cfut_watch_receiver *rx)
{
    CFUT_ASSERT(rx->shared != NULL, "watch: has_changed on an empty receiver");
    return rx->shared->core.version != rx->seen;
}

/* ---- the changed future ---- */

static enum cfut_poll
changed_poll(struct cfut_future *fut, struct cfut_context *cx, void *out)
{
    struct cfut_watch_changed *f =
        cfut_container_of(fut, struct cfut_watch_changed, base);
    return cfut__watch_changed_poll(&f->rx->shared->core, &f->waiter,
                                    &f->rx->seen, cx, out);
}

static void
changed_drop(struct cfut_future *fut)
{
    struct cfut_watch_changed *f =
        cfut_container_of(fut, struct cfut_watch_changed, base);
    cfut__waiter_gone(&f->waiter, CFUT__WAKE_NOW);
}

static const struct cfut_future_vtable changed_vtable = {
    changed_poll, changed_drop, sizeof(int), "watch_changed", NULL};

void
cfut_watch_changed_init(struct cfut_watch_changed *f,
                        struct cfut_watch_receiver *rx)
{
    CFUT_ASSERT(rx->shared != NULL, "watch: changed on an empty receiver");
    cfut_future_init(&f->base, &changed_vtable);
    f->rx = rx;
    cfut__waiter_init(&f->waiter);
}
