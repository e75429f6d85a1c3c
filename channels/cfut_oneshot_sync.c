/*
 * cfut_oneshot_sync.c: the thread-safe oneshot channel. Every field of the
 * shared state is guarded by its mutex; wakers are taken out under the lock
 * and woken after it is released (a wake may run executor code). It does
 * not spin and does not allocate after creation.
 */
#include "cfut_oneshot.h"
#include "cfut_alloc_int.h"

#include <pthread.h>
#include <stdint.h>
#include <string.h>

#define F_SENT 0x1u       /* a value is in the slot and was not taken */
#define F_TX_DONE 0x2u    /* the sender sent or was dropped */
#define F_RX_CLOSED 0x4u  /* the receiver closed or was dropped */
#define F_CLOSED_FUT 0x8u /* a closed future is alive */

struct cfut__oneshot_sync {
    pthread_mutex_t lock;
    /* guarded by 'lock' */
    uint32_t refs;  /* sender + receiver + closed future */
    uint32_t flags; /* F_* */
    struct cfut_waker rx_waker;
    struct cfut_waker closed_waker;
    /* immutable */
    size_t value_size;
    cfut_oneshot_drop_value_fn *drop_value;
};

#define HDR_SIZE                                                               \
    ((sizeof(struct cfut__oneshot_sync) + _Alignof(max_align_t) - 1) &         \
     ~(_Alignof(max_align_t) - 1))

static inline unsigned char *
slot(struct cfut__oneshot_sync *s)
{
    return (unsigned char *)s + HDR_SIZE;
}

/* Drops one reference with the lock held, and unlocks; frees on the last. */
static void
unlock_release(struct cfut__oneshot_sync *s)
{
    bool last = --s->refs == 0;
    pthread_mutex_unlock(&s->lock);
    if (last) {
        pthread_mutex_destroy(&s->lock);
        cfut__free_small(s, HDR_SIZE + s->value_size);
    }
}

/* ---- receiver future ---- */

/* As the local kind: READY with the value, READY canceled, or PENDING with
 * 'rx_waker' registered under the lock. */
static enum cfut_poll
receiver_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct cfut__oneshot_sync *s =
        cfut_container_of(f, struct cfut_oneshot_sync_receiver, base)->shared;
    enum cfut_poll r = CFUT_READY;
    pthread_mutex_lock(&s->lock);
    uint32_t fl = s->flags;
    if (fl & F_SENT) {
        s->flags = fl & ~F_SENT;
        *(int *)out = CFUT_OK;
        cfut__copy((unsigned char *)out + CFUT_ONESHOT_VALUE_OFFSET, slot(s),
                   s->value_size);
    } else if (fl & (F_TX_DONE | F_RX_CLOSED)) {
        *(int *)out = CFUT_ECANCELED;
    } else {
        cfut_waker_register(&s->rx_waker, cx->waker);
        r = CFUT_PENDING;
    }
    pthread_mutex_unlock(&s->lock);
    return r;
}

static void
receiver_drop(struct cfut_future *f)
{
    struct cfut__oneshot_sync *s =
        cfut_container_of(f, struct cfut_oneshot_sync_receiver, base)->shared;
    struct cfut_waker closed = CFUT_WAKER_EMPTY;
    pthread_mutex_lock(&s->lock);
    uint32_t fl = s->flags;
    s->flags = (fl & ~F_SENT) | F_RX_CLOSED;
    struct cfut_waker mine = s->rx_waker;
    s->rx_waker = CFUT_WAKER_EMPTY;
    if (!(fl & F_RX_CLOSED)) {
        closed = s->closed_waker;
        s->closed_waker = CFUT_WAKER_EMPTY;
    }
    /* The value is ours alone now: no send can write the slot any more. */
    if ((fl & F_SENT) && s->drop_value != NULL) {
        pthread_mutex_unlock(&s->lock);
        s->drop_value(slot(s));
        pthread_mutex_lock(&s->lock);
    }
    unlock_release(s);
    cfut_waker_drop(&mine);
    cfut_waker_wake(&closed);
}

static size_t
receiver_output_size(const struct cfut_future *f)
{
    const struct cfut_oneshot_sync_receiver *rx =
        cfut_container_of(f, struct cfut_oneshot_sync_receiver, base);
    return CFUT_ONESHOT_VALUE_OFFSET + rx->shared->value_size;
}

static const struct cfut_future_vtable receiver_vtable = {
    receiver_poll, receiver_drop, CFUT_OUTPUT_DYNAMIC, "oneshot_sync_receiver",
    receiver_output_size};

/* ---- creation ---- */

int
cfut_oneshot_sync_new(size_t value_size, cfut_oneshot_drop_value_fn *drop_value,
                      struct cfut_oneshot_sync_sender *tx,
                      struct cfut_oneshot_sync_receiver *rx)
{
    if (tx == NULL || rx == NULL || value_size > SIZE_MAX / 4)
        return CFUT_EINVAL;
    struct cfut__oneshot_sync *s = cfut__alloc_small(HDR_SIZE + value_size);
    if (s == NULL)
        return CFUT_ENOMEM;
    pthread_mutex_init(&s->lock, NULL);
    s->refs = 2;
    s->flags = 0;
    s->rx_waker = CFUT_WAKER_EMPTY;
    s->closed_waker = CFUT_WAKER_EMPTY;
    s->value_size = value_size;
    s->drop_value = drop_value;
    tx->shared = s;
    cfut_future_init(&rx->base, &receiver_vtable);
    rx->shared = s;
    return CFUT_OK;
}

/* ---- sender ---- */

int
cfut_oneshot_sync_send(struct cfut_oneshot_sync_sender *tx, const void *value)
{
    struct cfut__oneshot_sync *s = tx->shared;
    CFUT_ASSERT(s != NULL, "oneshot: send on an empty sender");
    tx->shared = NULL;
    int rc = CFUT_OK;
    struct cfut_waker w = CFUT_WAKER_EMPTY;
    pthread_mutex_lock(&s->lock);
    if (s->flags & F_RX_CLOSED) {
        s->flags |= F_TX_DONE;
        rc = CFUT_ECLOSED;
    } else {
        cfut__copy(slot(s), value, s->value_size);
        s->flags |= F_SENT | F_TX_DONE;
        w = s->rx_waker;
        s->rx_waker = CFUT_WAKER_EMPTY;
    }
    unlock_release(s);
    cfut_waker_wake(&w);
    return rc;
}

void
cfut_oneshot_sync_sender_drop(struct cfut_oneshot_sync_sender *tx)
{
    struct cfut__oneshot_sync *s = tx->shared;
    if (s == NULL)
        return;
    tx->shared = NULL;
    pthread_mutex_lock(&s->lock);
    s->flags |= F_TX_DONE;
    struct cfut_waker w = s->rx_waker;
    s->rx_waker = CFUT_WAKER_EMPTY;
    unlock_release(s);
    cfut_waker_wake(&w);
}

bool
cfut_oneshot_sync_sender_is_closed(const struct cfut_oneshot_sync_sender *tx)
{
    struct cfut__oneshot_sync *s = tx->shared;
    CFUT_ASSERT(s != NULL, "oneshot: is_closed on an empty sender");
    pthread_mutex_lock(&s->lock);
    bool closed = (s->flags & F_RX_CLOSED) != 0;
    pthread_mutex_unlock(&s->lock);
    return closed;
}

/* ---- closed future ---- */

static enum cfut_poll
closed_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    (void)out;
    struct cfut__oneshot_sync *s =
        cfut_container_of(f, struct cfut_oneshot_sync_closed, base)->shared;
    enum cfut_poll r = CFUT_READY;
    pthread_mutex_lock(&s->lock);
    if (!(s->flags & F_RX_CLOSED)) {
        cfut_waker_register(&s->closed_waker, cx->waker);
        r = CFUT_PENDING;
    }
    pthread_mutex_unlock(&s->lock);
    return r;
}

static void
closed_drop(struct cfut_future *f)
{
    struct cfut__oneshot_sync *s =
        cfut_container_of(f, struct cfut_oneshot_sync_closed, base)->shared;
    pthread_mutex_lock(&s->lock);
    struct cfut_waker w = s->closed_waker;
    s->closed_waker = CFUT_WAKER_EMPTY;
    s->flags &= ~F_CLOSED_FUT;
    unlock_release(s);
    cfut_waker_drop(&w);
}

static const struct cfut_future_vtable closed_vtable = {
    closed_poll, closed_drop, 0, "oneshot_sync_closed", NULL};

void
cfut_oneshot_sync_closed_init(struct cfut_oneshot_sync_closed *f,
                              const struct cfut_oneshot_sync_sender *tx)
{
    struct cfut__oneshot_sync *s = tx->shared;
    CFUT_ASSERT(s != NULL, "oneshot: closed future from an empty sender");
    pthread_mutex_lock(&s->lock);
    bool dup = (s->flags & F_CLOSED_FUT) != 0;
    s->flags |= F_CLOSED_FUT;
    s->refs++;
    pthread_mutex_unlock(&s->lock);
    CFUT_ASSERT(!dup, "oneshot: a closed future is already alive");
    cfut_future_init(&f->base, &closed_vtable);
    f->shared = s;
}

/* ---- receiver calls ---- */

void
cfut_oneshot_sync_receiver_close(struct cfut_oneshot_sync_receiver *rx)
{
    struct cfut__oneshot_sync *s = rx->shared;
    struct cfut_waker w = CFUT_WAKER_EMPTY;
    pthread_mutex_lock(&s->lock);
    if (!(s->flags & F_RX_CLOSED)) {
        s->flags |= F_RX_CLOSED;
        w = s->closed_waker;
        s->closed_waker = CFUT_WAKER_EMPTY;
    }
    pthread_mutex_unlock(&s->lock);
    cfut_waker_wake(&w);
}

int
cfut_oneshot_sync_try_recv(struct cfut_oneshot_sync_receiver *rx, void *value)
{
    struct cfut__oneshot_sync *s = rx->shared;
    int rc = CFUT_EAGAIN;
    pthread_mutex_lock(&s->lock);
    if (s->flags & F_SENT) {
        s->flags &= ~F_SENT;
        cfut__copy(value, slot(s), s->value_size);
        rc = CFUT_OK;
    } else if (s->flags & (F_TX_DONE | F_RX_CLOSED)) {
        rc = CFUT_ECANCELED;
    }
    pthread_mutex_unlock(&s->lock);
    return rc;
}
