/*
 * cfut_oneshot.c: the local oneshot channel (one thread: plain counts and
 * flags, no atomics, no locks). The thread-safe kind is in
 * cfut_oneshot_sync.c; this file does not know threads.
 */
#include "cfut_oneshot.h"
#include "cfut_alloc_int.h"

#include <stdint.h>
#include <string.h>

/* Flags of the shared state. */
#define F_SENT 0x1u       /* a value is in the slot and was not taken */
#define F_TX_DONE 0x2u    /* the sender sent or was dropped */
#define F_RX_CLOSED 0x4u  /* the receiver closed or was dropped */
#define F_CLOSED_FUT 0x8u /* a closed future is alive */
#define F_CALLER 0x10u    /* caller storage: never freed here */

struct cfut__oneshot {
    uint32_t refs;  /* sender + receiver + closed future */
    uint32_t flags; /* F_* */
    size_t value_size;
    cfut_oneshot_drop_value_fn *drop_value;
    struct cfut_waker rx_waker;     /* the receiver's latest poll */
    struct cfut_waker closed_waker; /* the closed future's latest poll */
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

static inline void
release(struct cfut__oneshot *s)
{
    if (--s->refs == 0 && !(s->flags & F_CALLER))
        cfut__free_small(s, HDR_SIZE + s->value_size);
}

/* ---- receiver future ---- */

/*
 * States (from the flags): a value is there (READY with it); the sender is
 * done or the receiver closed without a value (READY, canceled); otherwise
 * it waits for send() or sender_drop(), which wake 'rx_waker'.
 */
static enum cfut_poll
receiver_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct cfut_oneshot_receiver *rx =
        cfut_container_of(f, struct cfut_oneshot_receiver, base);
    struct cfut__oneshot *s = rx->shared;
    uint32_t fl = s->flags;
    if (fl & F_SENT) {
        s->flags = fl & ~F_SENT;
        *(int *)out = CFUT_OK;
        cfut__copy((unsigned char *)out + CFUT_ONESHOT_VALUE_OFFSET, slot(s),
                   s->value_size);
        return CFUT_READY;
    }
    if (fl & (F_TX_DONE | F_RX_CLOSED)) {
        *(int *)out = CFUT_ECANCELED;
        return CFUT_READY;
    }
    cfut_waker_register(&s->rx_waker, cx->waker);
    return CFUT_PENDING;
}

static void
receiver_drop(struct cfut_future *f)
{
    struct cfut_oneshot_receiver *rx =
        cfut_container_of(f, struct cfut_oneshot_receiver, base);
    struct cfut__oneshot *s = rx->shared;
    uint32_t fl = s->flags;
    s->flags = (fl & ~F_SENT) | F_RX_CLOSED;
    cfut_waker_drop(&s->rx_waker);
    if ((fl & F_SENT) && s->drop_value != NULL)
        s->drop_value(slot(s));
    if (!(fl & F_RX_CLOSED))
        cfut_waker_wake(&s->closed_waker);
    release(s);
}

static size_t
receiver_output_size(const struct cfut_future *f)
{
    const struct cfut_oneshot_receiver *rx =
        cfut_container_of(f, struct cfut_oneshot_receiver, base);
    return CFUT_ONESHOT_VALUE_OFFSET + rx->shared->value_size;
}

static const struct cfut_future_vtable receiver_vtable = {
    receiver_poll, receiver_drop, CFUT_OUTPUT_DYNAMIC, "oneshot_receiver",
    receiver_output_size};

/* ---- creation ---- */

static void
setup(struct cfut__oneshot *s, uint32_t flags, size_t value_size,
      cfut_oneshot_drop_value_fn *drop_value, struct cfut_oneshot_sender *tx,
      struct cfut_oneshot_receiver *rx)
{
    s->refs = 2;
    s->flags = flags;
    s->value_size = value_size;
    s->drop_value = drop_value;
    s->rx_waker = CFUT_WAKER_EMPTY;
    s->closed_waker = CFUT_WAKER_EMPTY;
    tx->shared = s;
    cfut_future_init(&rx->base, &receiver_vtable);
    rx->shared = s;
}

int
cfut_oneshot_new(size_t value_size, cfut_oneshot_drop_value_fn *drop_value,
                 struct cfut_oneshot_sender *tx,
                 struct cfut_oneshot_receiver *rx)
{
    if (tx == NULL || rx == NULL || value_size > SIZE_MAX / 4)
        return CFUT_EINVAL;
    struct cfut__oneshot *s = cfut__alloc_small(HDR_SIZE + value_size);
    if (s == NULL)
        return CFUT_ENOMEM;
    setup(s, 0, value_size, drop_value, tx, rx);
    return CFUT_OK;
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
    setup(storage, F_CALLER, value_size, drop_value, tx, rx);
    return CFUT_OK;
}

/* ---- sender ---- */

int
cfut_oneshot_send(struct cfut_oneshot_sender *tx, const void *value)
{
    struct cfut__oneshot *s = tx->shared;
    CFUT_ASSERT(s != NULL, "oneshot: send on an empty sender");
    tx->shared = NULL;
    int rc = CFUT_OK;
    if (s->flags & F_RX_CLOSED) {
        s->flags |= F_TX_DONE;
        rc = CFUT_ECLOSED;
    } else {
        cfut__copy(slot(s), value, s->value_size);
        s->flags |= F_SENT | F_TX_DONE;
        cfut_waker_wake(&s->rx_waker);
    }
    release(s);
    return rc;
}

void
cfut_oneshot_sender_drop(struct cfut_oneshot_sender *tx)
{
    struct cfut__oneshot *s = tx->shared;
    if (s == NULL)
        return;
    tx->shared = NULL;
    s->flags |= F_TX_DONE;
    cfut_waker_wake(&s->rx_waker);
    release(s);
}

bool
cfut_oneshot_sender_is_closed(const struct cfut_oneshot_sender *tx)
{
    CFUT_ASSERT(tx->shared != NULL, "oneshot: is_closed on an empty sender");
    return (tx->shared->flags & F_RX_CLOSED) != 0;
}

/* ---- closed future ---- */

/* One state: READY once F_RX_CLOSED is set (close() or the receiver's drop
 * wake 'closed_waker'), PENDING before. */
static enum cfut_poll
closed_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    (void)out;
    struct cfut__oneshot *s =
        cfut_container_of(f, struct cfut_oneshot_closed, base)->shared;
    if (s->flags & F_RX_CLOSED)
        return CFUT_READY;
    cfut_waker_register(&s->closed_waker, cx->waker);
    return CFUT_PENDING;
}

static void
closed_drop(struct cfut_future *f)
{
    struct cfut__oneshot *s =
        cfut_container_of(f, struct cfut_oneshot_closed, base)->shared;
    cfut_waker_drop(&s->closed_waker);
    s->flags &= ~F_CLOSED_FUT;
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
    CFUT_ASSERT(!(s->flags & F_CLOSED_FUT),
                "oneshot: a closed future is already alive");
    s->flags |= F_CLOSED_FUT;
    s->refs++;
    cfut_future_init(&f->base, &closed_vtable);
    f->shared = s;
}

/* ---- receiver calls ---- */

void
cfut_oneshot_receiver_close(struct cfut_oneshot_receiver *rx)
{
    struct cfut__oneshot *s = rx->shared;
    if (s->flags & F_RX_CLOSED)
        return;
    s->flags |= F_RX_CLOSED;
    cfut_waker_wake(&s->closed_waker);
}

int
cfut_oneshot_try_recv(struct cfut_oneshot_receiver *rx, void *value)
{
    struct cfut__oneshot *s = rx->shared;
    if (s->flags & F_SENT) {
        s->flags &= ~F_SENT;
        cfut__copy(value, slot(s), s->value_size);
        return CFUT_OK;
    }
    if (s->flags & (F_TX_DONE | F_RX_CLOSED))
        return CFUT_ECANCELED;
    return CFUT_EAGAIN;
}
