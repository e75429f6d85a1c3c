/*
 * cfut_oneshot.c: the local oneshot channel (Rust's Rc<RefCell>): the core
 * of cfut_oneshot_core_int.h with a plain count of its halves, no atomics,
 * no lock, waking at once (an immediate wake list); the state lives on the
 * heap or in caller storage. Also the sender of either kind that the
 * transport keeps. The thread-safe kind is in cfut_oneshot_sync.c; this
 * file knows no threads.
 */
#include "cfut_oneshot.h"

#include <stddef.h>
#include <stdint.h>

#include "cfut_oneshot_core_int.h"
#include "cfut_oneshot_int.h"

/*
 * Caller storage holds a reference of its own that is never released, so
 * the count of a state in caller storage never reaches zero.
 */
struct cfut__oneshot {
    struct cfut__oneshot_core core;
    uint32_t refs; /* sender + receiver + closed future (+ caller storage) */
};

/* The value sits after the header, at the offset CFUT_ONESHOT_STORAGE()
 * gives it, aligned for any type. */
#define HDR_SIZE ((size_t)CFUT_ONESHOT_HEADER_SIZE)
_Static_assert(sizeof(struct cfut__oneshot) <= CFUT_ONESHOT_HEADER_SIZE,
               "CFUT_ONESHOT_HEADER_SIZE is too small");
_Static_assert(CFUT_ONESHOT_HEADER_SIZE % _Alignof(max_align_t) == 0,
               "CFUT_ONESHOT_HEADER_SIZE must keep the value aligned");

static inline unsigned char *
slot(struct cfut__oneshot *s)
{
    return (unsigned char *)s + HDR_SIZE;
}

/* Drops one reference to 's'; the last one frees it. */
static inline void
release(struct cfut__oneshot *s)
{
    if (--s->refs == 0)
        cfut__free_small(s, HDR_SIZE + s->core.value_size);
}

/* ---- receiver future ---- */

static enum cfut_poll
receiver_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct cfut__oneshot *s =
        cfut_container_of(f, struct cfut_oneshot_receiver, base)->shared;
    return cfut__oneshot_poll(&s->core, slot(s), cx, out);
}

static void
receiver_drop(struct cfut_future *f)
{
    struct cfut__oneshot *s =
        cfut_container_of(f, struct cfut_oneshot_receiver, base)->shared;
    if (cfut__oneshot_receiver_gone(&s->core, CFUT__WAKE_NOW))
        s->core.drop_value(slot(s));
    release(s);
}

static size_t
receiver_output_size(const struct cfut_future *f)
{
    return cfut__oneshot_output_size(
        &cfut_container_of(f, struct cfut_oneshot_receiver, base)
             ->shared->core);
}

static const struct cfut_future_vtable receiver_vtable = {
    receiver_poll, receiver_drop, CFUT_OUTPUT_DYNAMIC, "oneshot_receiver",
    receiver_output_size};

/* ---- creation ---- */

/* Sets up a local channel in 'block' (heap or caller storage) with
 * 'refs' references, and its two halves. Returns 0. */
static int
setup(void *block, uint32_t refs, size_t value_size,
      cfut_oneshot_drop_value_fn *drop_value, struct cfut_oneshot_sender *tx,
      struct cfut_oneshot_receiver *rx)
{
    struct cfut__oneshot *s = block;
    cfut__oneshot_core_init(&s->core, false, value_size, drop_value);
    s->refs = refs;
    tx->shared = s;
    cfut_future_init(&rx->base, &receiver_vtable);
    rx->shared = s;
    return CFUT_OK;
}

int
cfut_oneshot_new(size_t value_size, cfut_oneshot_drop_value_fn *drop_value,
                 struct cfut_oneshot_sender *tx,
                 struct cfut_oneshot_receiver *rx)
{
    int rc;
    void *block = cfut__oneshot_alloc(HDR_SIZE, value_size,
                                      tx != NULL && rx != NULL, &rc);
    return block == NULL ? rc : setup(block, 2, value_size, drop_value, tx, rx);
}

int
cfut_oneshot_init(void *storage, size_t storage_size, size_t value_size,
                  cfut_oneshot_drop_value_fn *drop_value,
                  struct cfut_oneshot_sender *tx,
                  struct cfut_oneshot_receiver *rx)
{
    if (storage == NULL || tx == NULL || rx == NULL ||
        (uintptr_t)storage % _Alignof(max_align_t) != 0 ||
        storage_size < HDR_SIZE || storage_size - HDR_SIZE < value_size)
        return CFUT_EINVAL;
    /* The storage's own reference is the third. */
    return setup(storage, 3, value_size, drop_value, tx, rx);
}

/* ---- sender ---- */

/* The send and the sender's drop on the state itself. */
static inline int
send(struct cfut__oneshot *s, const void *value)
{
    int rc = cfut__oneshot_send(&s->core, slot(s), value, CFUT__WAKE_NOW);
    release(s);
    return rc;
}

static inline void
sender_drop(struct cfut__oneshot *s)
{
    cfut__oneshot_sender_gone(&s->core, CFUT__WAKE_NOW);
    release(s);
}

int
cfut_oneshot_send(struct cfut_oneshot_sender *tx, const void *value)
{
    CFUT_ASSERT(tx->shared != NULL, "oneshot: send on an empty sender");
    struct cfut__oneshot *s = tx->shared;
    tx->shared = NULL;
    return send(s, value);
}

void
cfut_oneshot_sender_drop(struct cfut_oneshot_sender *tx)
{
    struct cfut__oneshot *s = tx->shared;
    tx->shared = NULL;
    if (s != NULL)
        sender_drop(s);
}

bool
cfut_oneshot_sender_is_closed(const struct cfut_oneshot_sender *tx)
{
    CFUT_ASSERT(tx->shared != NULL, "oneshot: is_closed on an empty sender");
    return cfut__oneshot_is_closed(&tx->shared->core);
}

/* ---- closed future ---- */

static enum cfut_poll
closed_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    (void)out;
    return cfut__oneshot_closed_poll(
        &cfut_container_of(f, struct cfut_oneshot_closed, base)->shared->core,
        cx);
}

static void
closed_drop(struct cfut_future *f)
{
    struct cfut__oneshot *s =
        cfut_container_of(f, struct cfut_oneshot_closed, base)->shared;
    cfut__oneshot_closed_gone(&s->core, CFUT__WAKE_NOW);
    release(s);
}

static const struct cfut_future_vtable closed_vtable = {
    closed_poll, closed_drop, 0, "oneshot_closed", NULL};

void
cfut_oneshot_closed_init(struct cfut_oneshot_closed *f,
                         const struct cfut_oneshot_sender *tx)
{
    struct cfut__oneshot *s = tx->shared;
    CFUT_ASSERT(s != NULL, "oneshot: closed future from an empty sender");
    bool first = cfut__oneshot_closed_begin(&s->core);
    CFUT_ASSERT(first, "oneshot: a closed future is already alive");
    s->refs++;
    cfut_future_init(&f->base, &closed_vtable);
    f->shared = s;
}

/* ---- receiver calls ---- */

void
cfut_oneshot_receiver_close(struct cfut_oneshot_receiver *rx)
{
    (void)cfut__oneshot_close(&rx->shared->core, CFUT__WAKE_NOW);
}

int
cfut_oneshot_try_recv(struct cfut_oneshot_receiver *rx, void *value)
{
    return cfut__oneshot_take(&rx->shared->core, slot(rx->shared), value);
}

/* ---- a sender of either kind (cfut_oneshot_int.h) ---- */

_Static_assert(offsetof(struct cfut__oneshot, core) == 0,
               "cfut__oneshot_sender_any() needs the core first");

int
cfut__oneshot_any_send(struct cfut__oneshot_any_sender *tx, const void *value)
{
    struct cfut__oneshot_core *c = tx->core;
    CFUT_ASSERT(c != NULL, "oneshot: send on an empty sender");
    tx->core = NULL;
    if (c->is_sync)
        return cfut__oneshot_sync_core_send(c, value);
    return send(cfut_container_of(c, struct cfut__oneshot, core), value);
}

void
cfut__oneshot_any_sender_drop(struct cfut__oneshot_any_sender *tx)
{
    struct cfut__oneshot_core *c = tx->core;
    tx->core = NULL;
    if (c != NULL && c->is_sync)
        cfut__oneshot_sync_core_sender_drop(c);
    else if (c != NULL)
        sender_drop(cfut_container_of(c, struct cfut__oneshot, core));
}
