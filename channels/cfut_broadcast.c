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
    struct cfut__lock lock;
};

#define HDR_LOCAL                                                              \
    CFUT__ALIGN_UP(sizeof(struct cfut__broadcast), CFUT__MAX_ALIGN)
#define HDR_SYNC CFUT__ALIGN_UP(sizeof(struct broadcast_sync), CFUT__MAX_ALIGN)

/* The lock of a thread-safe state (NULL for NULL: an empty handle). */
static inline struct cfut__lock *
lock_of(struct cfut__broadcast *c)
{
    return c != NULL ? &cfut_container_of(c, struct broadcast_sync, core)->lock
                     : NULL;
}

/* ---- the calls, for either kind ---- */

/*
 * Creates a state of the thread-safe kind ('is_sync') or the local one and
 * points the new sender's '*tx' and receiver's '*rx' at it, the receiver at
 * position 0 ('*rx_next'). Returns 0, or the error of
 * cfut__broadcast_alloc() with nothing written.
 */
static int
create(bool is_sync, size_t msg_size, size_t cap,
       const struct cfut_channel_value_ops *ops, struct cfut__broadcast **tx,
       struct cfut__broadcast **rx, uint64_t *rx_next)
{
    int rc;
    size_t hdr = is_sync ? HDR_SYNC : HDR_LOCAL;
    struct cfut__broadcast *c =
        cfut__broadcast_alloc(hdr, msg_size, cap, true, &rc);
    if (c != NULL) {
        cfut__broadcast_core_init(c, c, hdr, msg_size, cap, ops);
        cfut__kind_lock_init(is_sync ? lock_of(c) : NULL);
        *tx = *rx = c, *rx_next = 0;
    }
    return c != NULL ? CFUT_OK : rc;
}

CFUT__KIND_INLINE int
send(struct cfut__lock *m, struct cfut__broadcast *c, const void *msg)
{
    int rc;
    CFUT__KIND_CALL(m, k, c, rc = cfut__broadcast_send(c, msg, &k.batch));
    return rc;
}

/* A receiver more; returns its position (the tail). */
CFUT__KIND_INLINE uint64_t
subscribe(struct cfut__lock *m, struct cfut__broadcast *c)
{
    uint64_t next = 0;
    bool ok;
    CFUT__KIND_LOCKED(m, c, ok = cfut__broadcast_subscribe(c, &next));
    CFUT_ASSERT(ok, "broadcast: too many receivers");
    return next;
}

CFUT__KIND_INLINE int
try_recv(struct cfut__lock *m, struct cfut__broadcast *c, uint64_t *next,
         void *msg, uint64_t *n_skipped)
{
    uint64_t skipped = 0;
    int rc;
    CFUT__KIND_LOCKED(m, c,
                      rc = cfut__broadcast_try_recv(c, next, msg, &skipped));
    if (n_skipped != NULL)
        *n_skipped = skipped;
    return rc;
}

CFUT__KIND_INLINE uint64_t
len(struct cfut__lock *m, struct cfut__broadcast *c, uint64_t next)
{
    uint64_t n;
    CFUT__KIND_LOCKED(m, c, n = c->tail - next);
    return n;
}

CFUT__KIND_INLINE void
receiver_drop(struct cfut__lock *m, struct cfut__broadcast *c, uint64_t next)
{
    CFUT__KIND_RELEASE(m, k, c, cfut__broadcast_receiver_gone(c, next),
                       cfut__kind_free);
}

/* ---- the recv future, of either kind ---- */

/* The output size: the message's, after the head (an immutable field). */
static size_t
recv_output_size(const struct cfut_future *fut)
{
    return CFUT_BROADCAST_VALUE_OFFSET +
           cfut_container_of(fut, struct cfut_broadcast_recv, base)
               ->shared->msg_size;
}

/* Polls 'f' (with its kind's lock held). */
static inline enum cfut_poll
recv_core(struct cfut_broadcast_recv *f, struct cfut_context *cx, void *out)
{
    return cfut__broadcast_poll_recv(f->shared, &f->waiter, f->next, cx, out);
}

CFUT__KIND_FUTURE(recv, struct cfut_broadcast_recv, struct cfut__broadcast,
                  cfut__kind_waiter_init, recv_core, cfut__kind_waiter_gone,
                  CFUT_OUTPUT_DYNAMIC, "broadcast_recv", recv_output_size)

/* ---- the public functions, once for each kind ---- */

/*
 * Defines the public functions of one kind: 'K' is its prefix
 * (cfut_broadcast or cfut_broadcast_sync), 'LOCK'(c) the lock of a state
 * (CFUT__KIND_NO_LOCK in the local kind), 'IS_SYNC' whether it has one.
 */
#define BIND_KIND(K, LOCK, IS_SYNC)                                            \
    CFUT__KIND_NEW_PAIR(K, IS_SYNC, size_t msg_size, msg_size,                 \
                        size_t capacity, capacity, next)                       \
    CFUT__KIND_CLONE(K##_sender, cfut__count_up, n_senders,                    \
                     "broadcast: too many senders", LOCK)                      \
    CFUT__KIND_DROP_VIA(K##_sender, cfut__broadcast_sender_gone,               \
                        cfut__kind_free, LOCK)                                 \
    int K##_send(const struct K##_sender *tx, const void *msg)                 \
    {                                                                          \
        return send(LOCK(tx->shared), tx->shared, msg);                        \
    }                                                                          \
    struct K##_receiver K##_subscribe(const struct K##_sender *tx)             \
    {                                                                          \
        return (struct K##_receiver){tx->shared,                               \
                                     subscribe(LOCK(tx->shared), tx->shared)}; \
    }                                                                          \
    int K##_try_recv(struct K##_receiver *rx, void *msg, uint64_t *n_skipped)  \
    {                                                                          \
        return try_recv(LOCK(rx->shared), rx->shared, &rx->next, msg,          \
                        n_skipped);                                            \
    }                                                                          \
    uint64_t K##_len(const struct K##_receiver *rx)                            \
    {                                                                          \
        return len(LOCK(rx->shared), rx->shared, rx->next);                    \
    }                                                                          \
    void K##_receiver_drop(struct K##_receiver *rx)                            \
    {                                                                          \
        if (rx->shared != NULL)                                                \
            receiver_drop(LOCK(rx->shared), rx->shared, rx->next);             \
        rx->shared = NULL;                                                     \
    }                                                                          \
    void K##_recv_init(struct cfut_broadcast_recv *f, struct K##_receiver *rx) \
    {                                                                          \
        recv_start(f, LOCK(rx->shared), rx->shared);                           \
        f->next = &rx->next;                                                   \
    }

BIND_KIND(cfut_broadcast, CFUT__KIND_NO_LOCK, false)
BIND_KIND(cfut_broadcast_sync, lock_of, true)
