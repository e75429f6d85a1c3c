/*
 * cfut_broadcast.c: the broadcast channel, both kinds. Its calls are
 * written once, around the core of cfut_broadcast_core_int.h, for a lock
 * 'm' (see cfut_kind_int.h): NULL in the local kind (Rust's Rc<RefCell>:
 * no lock, no atomics, wakes at once), the state's mutex in the
 * thread-safe kind (Arc<Mutex>: lock, core, unlock, wake; the value hooks
 * run under the lock, no wake does). The ring follows the state in the
 * same block. Each kind's public functions bind the calls.
 */
#include "cfut_broadcast.h"

#include "cfut_broadcast_core_int.h"
#include "cfut_kind_int.h"

typedef CFUT_BROADCAST_OUTPUT(char) output_probe;
_Static_assert(offsetof(output_probe, value) == CFUT_BROADCAST_VALUE_OFFSET,
               "CFUT_BROADCAST_VALUE_OFFSET does not match the output");
_Static_assert(offsetof(output_probe, n_skipped) ==
                   offsetof(struct cfut_broadcast_output_head, n_skipped),
               "the output's head does not match its struct");

/* The thread-safe kind's state: the core (where the handles point), then
 * its mutex; the ring follows. */
struct broadcast_sync {
    struct cfut__broadcast core;
    pthread_mutex_t lock;
};

#define HDR_LOCAL                                                              \
    CFUT__ALIGN_UP(sizeof(struct cfut__broadcast), CFUT__MAX_ALIGN)
#define HDR_SYNC CFUT__ALIGN_UP(sizeof(struct broadcast_sync), CFUT__MAX_ALIGN)

/* The lock of a thread-safe state. */
static inline pthread_mutex_t *
lock_of(struct cfut__broadcast *c)
{
    return &cfut_container_of(c, struct broadcast_sync, core)->lock;
}

/* ---- the calls, for either kind ---- */

/* A new state with 'hdr' bytes before its ring, or NULL (see
 * cfut__broadcast_alloc() for '*rc'). */
static struct cfut__broadcast *
create(size_t hdr, size_t msg_size, size_t cap,
       const struct cfut_channel_value_ops *ops, bool has_handles, int *rc)
{
    struct cfut__broadcast *c =
        cfut__broadcast_alloc(hdr, msg_size, cap, has_handles, rc);
    if (c != NULL) {
        cfut__broadcast_core_init(c, c, hdr, msg_size, cap, ops);
        *rc = CFUT_OK;
    }
    return c;
}

CFUT__KIND_INLINE struct cfut__broadcast *
add_sender(pthread_mutex_t *m, struct cfut__broadcast *c)
{
    CFUT_ASSERT(c != NULL, "broadcast: clone of an empty sender");
    cfut__kind_lock(m);
    bool ok = cfut__broadcast_sender_added(c);
    cfut__kind_unlock(m);
    CFUT_ASSERT(ok, "broadcast: too many senders");
    return c;
}

/* Ends the call 'k', freeing the state if its transition found it
 * 'unreferenced'. */
CFUT__KIND_INLINE void
end(struct cfut__call *k, struct cfut__broadcast *c, bool unreferenced)
{
    cfut__call_end(k);
    if (unreferenced)
        cfut__kind_free(k->m, c);
}

CFUT__KIND_INLINE void
sender_drop(pthread_mutex_t *m, struct cfut__broadcast *c)
{
    struct cfut__call k;
    cfut__call_begin(&k, m);
    end(&k, c, cfut__broadcast_sender_gone(c, &k.batch));
}

CFUT__KIND_INLINE int
send(pthread_mutex_t *m, struct cfut__broadcast *c, const void *msg)
{
    CFUT_ASSERT(c != NULL, "broadcast: send on an empty sender");
    struct cfut__call k;
    cfut__call_begin(&k, m);
    int rc = cfut__broadcast_send(c, msg, &k.batch);
    cfut__call_end(&k);
    return rc;
}

/* A receiver more; returns its position (the tail). */
CFUT__KIND_INLINE uint64_t
subscribe(pthread_mutex_t *m, struct cfut__broadcast *c)
{
    CFUT_ASSERT(c != NULL, "broadcast: subscribe on an empty sender");
    uint64_t next = 0;
    cfut__kind_lock(m);
    bool ok = cfut__broadcast_subscribe(c, &next);
    cfut__kind_unlock(m);
    CFUT_ASSERT(ok, "broadcast: too many receivers");
    return next;
}

CFUT__KIND_INLINE int
try_recv(pthread_mutex_t *m, struct cfut__broadcast *c, uint64_t *next,
         void *msg, uint64_t *n_skipped)
{
    CFUT_ASSERT(c != NULL, "broadcast: try_recv on an empty receiver");
    uint64_t skipped = 0;
    cfut__kind_lock(m);
    int rc = cfut__broadcast_try_recv(c, next, msg, &skipped);
    cfut__kind_unlock(m);
    if (n_skipped != NULL)
        *n_skipped = skipped;
    return rc;
}

CFUT__KIND_INLINE uint64_t
len(pthread_mutex_t *m, struct cfut__broadcast *c, uint64_t next)
{
    CFUT_ASSERT(c != NULL, "broadcast: len of an empty receiver");
    cfut__kind_lock(m);
    uint64_t n = c->tail - next;
    cfut__kind_unlock(m);
    return n;
}

CFUT__KIND_INLINE void
receiver_drop(pthread_mutex_t *m, struct cfut__broadcast *c, uint64_t next)
{
    struct cfut__call k;
    cfut__call_begin(&k, m);
    end(&k, c, cfut__broadcast_receiver_gone(c, next));
}

/* ---- the recv future, of either kind ---- */

/* recv_poll() for the lock 'm' of the future's kind. */
CFUT__KIND_INLINE enum cfut_poll
recv_poll_in(pthread_mutex_t *m, struct cfut_broadcast_recv *f,
             struct cfut_context *cx, void *out)
{
    cfut__kind_lock(m);
    enum cfut_poll r =
        cfut__broadcast_poll_recv(f->shared, &f->waiter, f->next, cx, out);
    cfut__kind_unlock(m);
    return r;
}

static enum cfut_poll
recv_poll(struct cfut_future *fut, struct cfut_context *cx, void *out)
{
    struct cfut_broadcast_recv *f =
        cfut_container_of(fut, struct cfut_broadcast_recv, base);
    return CFUT__KIND_DISPATCH(recv_poll_in, f->lock, f, cx, out);
}

static void
recv_drop(struct cfut_future *fut)
{
    struct cfut_broadcast_recv *f =
        cfut_container_of(fut, struct cfut_broadcast_recv, base);
    cfut__call_waiter_gone(f->lock, &f->waiter);
}

/* The output size: the message's, after the head (an immutable field). */
static size_t
recv_output_size(const struct cfut_future *fut)
{
    return CFUT_BROADCAST_VALUE_OFFSET +
           cfut_container_of(fut, struct cfut_broadcast_recv, base)
               ->shared->msg_size;
}

static const struct cfut_future_vtable recv_vtable = {
    recv_poll, recv_drop, CFUT_OUTPUT_DYNAMIC, "broadcast_recv",
    recv_output_size};

/* Initialises 'f' for the receiver of 'c' at '*next', of the kind of
 * 'm'. */
static void
recv_init(struct cfut_broadcast_recv *f, pthread_mutex_t *m,
          struct cfut__broadcast *c, uint64_t *next)
{
    CFUT_ASSERT(c != NULL, "broadcast: recv on an empty receiver");
    cfut_future_init(&f->base, &recv_vtable);
    f->shared = c;
    f->lock = m;
    f->next = next;
    cfut__waiter_init(&f->waiter);
}

/* ---- the local kind ---- */

int
cfut_broadcast_new(size_t msg_size, size_t capacity,
                   const struct cfut_channel_value_ops *ops,
                   struct cfut_broadcast_sender *tx,
                   struct cfut_broadcast_receiver *rx)
{
    int rc;
    struct cfut__broadcast *c = create(HDR_LOCAL, msg_size, capacity, ops,
                                       tx != NULL && rx != NULL, &rc);
    if (c != NULL)
        *tx = (struct cfut_broadcast_sender){c},
        *rx = (struct cfut_broadcast_receiver){c, 0};
    return rc;
}

struct cfut_broadcast_sender
cfut_broadcast_sender_clone(const struct cfut_broadcast_sender *tx)
{
    return (struct cfut_broadcast_sender){add_sender(NULL, tx->shared)};
}

void
cfut_broadcast_sender_drop(struct cfut_broadcast_sender *tx)
{
    if (tx->shared != NULL)
        sender_drop(NULL, tx->shared);
    tx->shared = NULL;
}

int
cfut_broadcast_send(const struct cfut_broadcast_sender *tx, const void *msg)
{
    return send(NULL, tx->shared, msg);
}

struct cfut_broadcast_receiver
cfut_broadcast_subscribe(const struct cfut_broadcast_sender *tx)
{
    return (struct cfut_broadcast_receiver){tx->shared,
                                            subscribe(NULL, tx->shared)};
}

int
cfut_broadcast_try_recv(struct cfut_broadcast_receiver *rx, void *msg,
                        uint64_t *n_skipped)
{
    return try_recv(NULL, rx->shared, &rx->next, msg, n_skipped);
}

uint64_t
cfut_broadcast_len(const struct cfut_broadcast_receiver *rx)
{
    return len(NULL, rx->shared, rx->next);
}

void
cfut_broadcast_receiver_drop(struct cfut_broadcast_receiver *rx)
{
    if (rx->shared != NULL)
        receiver_drop(NULL, rx->shared, rx->next);
    rx->shared = NULL;
}

void
cfut_broadcast_recv_init(struct cfut_broadcast_recv *f,
                         struct cfut_broadcast_receiver *rx)
{
    recv_init(f, NULL, rx->shared, &rx->next);
}

/* ---- the thread-safe kind ---- */

int
cfut_broadcast_sync_new(size_t msg_size, size_t capacity,
                        const struct cfut_channel_value_ops *ops,
                        struct cfut_broadcast_sync_sender *tx,
                        struct cfut_broadcast_sync_receiver *rx)
{
    int rc = CFUT_OK;
    struct cfut__broadcast *c = create(HDR_SYNC, msg_size, capacity, ops,
                                       tx != NULL && rx != NULL, &rc);
    if (c == NULL)
        return rc;
    pthread_mutex_init(lock_of(c), NULL);
    tx->shared = c;
    *rx = (struct cfut_broadcast_sync_receiver){c, 0};
    return CFUT_OK;
}

struct cfut_broadcast_sync_sender
cfut_broadcast_sync_sender_clone(const struct cfut_broadcast_sync_sender *tx)
{
    struct cfut_broadcast_sync_sender twin = *tx;
    CFUT_ASSERT(twin.shared != NULL, "broadcast: clone of an empty sender");
    add_sender(lock_of(twin.shared), twin.shared);
    return twin;
}

void
cfut_broadcast_sync_sender_drop(struct cfut_broadcast_sync_sender *tx)
{
    struct cfut__broadcast *c = tx->shared;
    tx->shared = NULL;
    if (c != NULL)
        sender_drop(lock_of(c), c);
}

int
cfut_broadcast_sync_send(const struct cfut_broadcast_sync_sender *tx,
                         const void *msg)
{
    struct cfut__broadcast *c = tx->shared;
    CFUT_ASSERT(c != NULL, "broadcast: send on an empty sender");
    return send(lock_of(c), c, msg);
}

struct cfut_broadcast_sync_receiver
cfut_broadcast_sync_subscribe(const struct cfut_broadcast_sync_sender *tx)
{
    struct cfut_broadcast_sync_receiver rx = {tx->shared, 0};
    CFUT_ASSERT(rx.shared != NULL, "broadcast: subscribe on an empty sender");
    rx.next = subscribe(lock_of(rx.shared), rx.shared);
    return rx;
}

int
cfut_broadcast_sync_try_recv(struct cfut_broadcast_sync_receiver *rx, void *msg,
                             uint64_t *n_skipped)
{
    struct cfut__broadcast *c = rx->shared;
    CFUT_ASSERT(c != NULL, "broadcast: try_recv on an empty receiver");
    return try_recv(lock_of(c), c, &rx->next, msg, n_skipped);
}

uint64_t
cfut_broadcast_sync_len(const struct cfut_broadcast_sync_receiver *rx)
{
    CFUT_ASSERT(rx->shared != NULL, "broadcast: len of an empty receiver");
    return len(lock_of(rx->shared), rx->shared, rx->next);
}

void
cfut_broadcast_sync_receiver_drop(struct cfut_broadcast_sync_receiver *rx)
{
    struct cfut__broadcast *c = rx->shared;
    rx->shared = NULL;
    if (c != NULL)
        receiver_drop(lock_of(c), c, rx->next);
}

void
cfut_broadcast_sync_recv_init(struct cfut_broadcast_recv *f,
                              struct cfut_broadcast_sync_receiver *rx)
{
    struct cfut__broadcast *c = rx->shared;
    recv_init(f, c != NULL ? lock_of(c) : NULL, c, &rx->next);
}
