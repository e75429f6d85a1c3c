/*
 * cfut_mpsc.h: the multi-producer, single-consumer channel: fixed-size
 * messages (the size is chosen at creation), bounded (a ring buffer in the
 * same allocation as the state; the send future waits for capacity: this is
 * backpressure) or unbounded (a ring that doubles when full).
 *
 * Two kinds, with the same operations (cfut_channel.h says what differs):
 * each operation below is declared for the local kind (cfut_mpsc_*: no
 * atomics, no lock; every handle and future of one channel stays on one
 * thread), then for the thread-safe kind (cfut_mpsc_sync_*: senders and
 * their send futures may live on any threads; the receiver stays on one).
 * Lifetime: senders and the receiver are handles (one pointer). The state
 * lives while a sender, a send future or the receiver does. When the last
 * sender goes, the receiver drains what is queued, then sees CFUT_ECLOSED.
 * Dropping the receiver releases the queued messages (with 'drop_msg') and
 * fails the pending sends. A recv future borrows the receiver.
 */
#ifndef CFUT_MPSC_H
#define CFUT_MPSC_H

#include <stdbool.h>
#include <stddef.h>

#include "cfut_channel.h"
#include "cfut_future.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The capacity that makes a channel unbounded. */
#define CFUT_MPSC_UNBOUNDED ((size_t)0)

/* Releases what a message owns (not its storage); may be NULL. */
typedef void cfut_mpsc_drop_msg_fn(void *msg);

/* Offset of the message inside a recv future's output. */
#define CFUT_MPSC_VALUE_OFFSET CFUT_CHANNEL_VALUE_OFFSET

/*
 * The output of a recv future for messages of type 'T': 'status' is
 * CFUT_OK ('value' holds the message) or CFUT_ECLOSED (every sender is gone
 * and the queue is drained).
 */
#define CFUT_MPSC_OUTPUT(T) CFUT_CHANNEL_OUTPUT(T)

/* The shared state (opaque). */
struct cfut__mpsc;
struct cfut__mpsc_sync;

/* A send future's place among the senders that wait for capacity (the
 * same in both kinds; private: do not touch). */
struct cfut__mpsc_waiter {
    struct cfut_waker waker;      /* while on the wait list */
    struct cfut_list waiter_link; /* on the channel's 'waiters' */
    bool is_waiting;              /* 'waiter_link' is linked */
    bool has_permit;              /* a slot is reserved for it */
};

/* ---------------------------------------------------------------------- */
/* Handles and futures                                                     */
/* ---------------------------------------------------------------------- */

/* A sending handle. Clone it for more producers; drop each one. */
CFUT_CHANNEL_HANDLE(cfut_mpsc_sender, cfut__mpsc);

/* A thread-safe sending handle: may move to and be used on any thread. */
CFUT_CHANNEL_HANDLE(cfut_mpsc_sync_sender, cfut__mpsc_sync);

/* The receiving handle. */
CFUT_CHANNEL_HANDLE(cfut_mpsc_receiver, cfut__mpsc);

/* The thread-safe receiving handle: stays on one thread. */
CFUT_CHANNEL_HANDLE(cfut_mpsc_sync_receiver, cfut__mpsc_sync);

/*
 * A send future (context: polled and dropped on the channel's thread;
 * pinned from its first poll until drop, since the wait list points to it):
 * READY with an int status once the message is queued
 * (CFUT_OK) or the receiver is gone (CFUT_ECLOSED; the caller's buffer
 * still owns the message). It counts as a sender until it is READY or
 * dropped: READY lets go of the channel at once (when it was the last
 * sender, the receiver is woken to drain and see CFUT_ECLOSED), and
 * dropping a READY send future touches nothing (it may outlive the
 * channel). The first poll of a send that finds room (nobody waiting, a
 * free slot, or any unbounded channel) queues at once and registers no
 * waker. Cancel-safe: dropping it before READY queues nothing, unlinks it from the
 * wait list, releases its waker and hands capacity reserved for it to the
 * next waiting sender.
 */
struct cfut_mpsc_send {
    /* private: do not touch */
    struct cfut_future base;
    struct cfut__mpsc *shared;
    const void *msg; /* kept until READY or drop */
    struct cfut__mpsc_waiter waiter;
};

/* A thread-safe send future, as cfut_mpsc_send (same cancel-safety). */
struct cfut_mpsc_sync_send {
    /* private: do not touch */
    struct cfut_future base;
    struct cfut__mpsc_sync *shared;
    const void *msg;
    struct cfut__mpsc_waiter waiter; /* guarded by the channel's lock */
};

/*
 * A recv future: READY with CFUT_MPSC_OUTPUT(T). Cancel-safe: a message is
 * taken only by the poll that returns READY, so dropping it loses none, and
 * dropping it releases the waker it registered.
 * Context: polled and dropped on the receiver's thread.
 * Pinned: from its first poll until drop.
 */
struct cfut_mpsc_recv {
    /* private: do not touch */
    struct cfut_future base;
    struct cfut__mpsc *shared;
};

/* A thread-safe recv future, as cfut_mpsc_recv (same cancel-safety). */
struct cfut_mpsc_sync_recv {
    /* private: do not touch */
    struct cfut_future base;
    struct cfut__mpsc_sync *shared;
};

/* ---------------------------------------------------------------------- */
/* Creating a channel                                                      */
/* ---------------------------------------------------------------------- */

/*
 * Creates a local channel for messages of 'msg_size' bytes (at least 1),
 * holding at most 'capacity' of them, or any number with
 * CFUT_MPSC_UNBOUNDED. A bounded channel is one allocation.
 * Ownership: 'drop_msg' is kept (may be NULL); '*tx' and '*rx' receive the
 *   handles on success (untouched on failure).
 * Returns: 0; CFUT_EINVAL if 'tx' or 'rx' is NULL, 'msg_size' is 0, or the
 *   sizes overflow; CFUT_ENOMEM.
 * Context: any thread; the channel then stays on one thread.
 */
CFUT_API int cfut_mpsc_new(size_t msg_size, size_t capacity,
                           cfut_mpsc_drop_msg_fn *drop_msg,
                           struct cfut_mpsc_sender *tx,
                           struct cfut_mpsc_receiver *rx);

/*
 * Creates a thread-safe channel, as cfut_mpsc_new().
 * Returns: 0; CFUT_EINVAL; CFUT_ENOMEM. Context: any thread.
 */
CFUT_API int cfut_mpsc_sync_new(size_t msg_size, size_t capacity,
                                cfut_mpsc_drop_msg_fn *drop_msg,
                                struct cfut_mpsc_sync_sender *tx,
                                struct cfut_mpsc_sync_receiver *rx);

/* ---------------------------------------------------------------------- */
/* Senders                                                                 */
/* ---------------------------------------------------------------------- */

/*
 * cfut_mpsc_sender_clone(), cfut_mpsc_sender_drop(),
 * cfut_mpsc_sync_sender_clone(), cfut_mpsc_sync_sender_drop()
 * (see "Handles" in cfut_channel.h).
 * Clone: returns a new sender for the channel of 'tx'.
 * Ownership: 'tx' is borrowed and must not be dropped; the result must be
 *   dropped with cfut_mpsc_sender_drop().
 * Context: the channel's thread.
 * Drop: drops 'tx'; when it was the last sender (send futures count) the
 * receiver is woken to drain and see CFUT_ECLOSED. An empty handle is a
 * no-op.
 * Ownership: 'tx' is taken (emptied).
 * Context: the channel's thread.
 */
CFUT_CHANNEL_DECLARE_HANDLE(cfut_mpsc_sender, cfut_mpsc_sync_sender);

/*
 * Queues a copy of the message at 'msg' without waiting. A bounded channel
 * whose senders already wait for capacity is full for try_send (waiting
 * senders go first).
 * Ownership: 'tx' and 'msg' are borrowed (the bytes are copied on success).
 * Returns: 0; CFUT_EFULL when a bounded channel has no free slot;
 *   CFUT_ECLOSED when the receiver is gone; CFUT_ENOMEM when an unbounded
 *   channel must grow and cannot.
 * Context: the channel's thread, inside or outside a task.
 */
CFUT_API int cfut_mpsc_try_send(const struct cfut_mpsc_sender *tx,
                                const void *msg);

/*
 * Queues a message without waiting, as cfut_mpsc_try_send().
 * Returns: 0; CFUT_EFULL; CFUT_ECLOSED; CFUT_ENOMEM. Context: any thread.
 */
CFUT_API int cfut_mpsc_sync_try_send(const struct cfut_mpsc_sync_sender *tx,
                                     const void *msg);

/*
 * Queues copies of the 'n' messages of the array at 'msgs' (n * msg_size
 * bytes), in order, without waiting: as many as fit, with one wake of the
 * receiver for the batch. An unbounded channel grows to hold them all. A
 * bounded channel whose senders already wait for capacity takes none.
 * Ownership: 'tx' and 'msgs' are borrowed (the bytes are copied); '*sent'
 *   receives the number queued, 0..n (the rest stays the caller's).
 * Returns: 0 when all 'n' were queued; otherwise why the rest was not:
 *   CFUT_EFULL (a bounded channel has no free slot left), CFUT_ECLOSED
 *   (the receiver is gone; none queued), CFUT_ENOMEM (an unbounded
 *   channel cannot grow). CFUT_EINVAL (nothing queued) when 'sent' is
 *   NULL, or 'msgs' is NULL with 'n' > 0.
 * Context: the channel's thread, inside or outside a task.
 */
CFUT_API int cfut_mpsc_try_send_many(const struct cfut_mpsc_sender *tx,
                                     const void *msgs, size_t n, size_t *sent);

/*
 * Queues many messages without waiting, as cfut_mpsc_try_send_many(),
 * under one lock.
 * Returns: 0; CFUT_EFULL; CFUT_ECLOSED; CFUT_ENOMEM; CFUT_EINVAL.
 * Context: any thread.
 */
CFUT_API int
cfut_mpsc_sync_try_send_many(const struct cfut_mpsc_sync_sender *tx,
                             const void *msgs, size_t n, size_t *sent);

/*
 * Initialises 'f' to send the message at 'msg', waiting for capacity.
 * On an unbounded channel it is READY at its first poll (CFUT_ENOMEM in
 * its status when the ring cannot grow). Each slot a receive frees goes to
 * the sender that has waited longest, reserved for it before it is woken,
 * so senders queue in the order they began to wait.
 * Ownership: 'tx' is borrowed (the future holds its own count); 'msg' is
 *   kept until the future is READY or dropped; 'f' is caller storage.
 * Context: the channel's thread.
 * Pinned: 'f' is pinned from its first poll until drop.
 */
CFUT_API void cfut_mpsc_send_init(struct cfut_mpsc_send *f,
                                  const struct cfut_mpsc_sender *tx,
                                  const void *msg);

/*
 * Initialises a send future, as cfut_mpsc_send_init().
 * Context: the thread that polls it (any thread; one at a time).
 * Pinned: from its first poll until drop.
 */
CFUT_API void cfut_mpsc_sync_send_init(struct cfut_mpsc_sync_send *f,
                                       const struct cfut_mpsc_sync_sender *tx,
                                       const void *msg);

/* Tells whether the receiver is gone (sends fail). Context: as above. */
CFUT_API bool cfut_mpsc_sender_is_closed(const struct cfut_mpsc_sender *tx);

/* Tells whether the receiver is gone. Context: any thread. */
CFUT_API bool
cfut_mpsc_sync_sender_is_closed(const struct cfut_mpsc_sync_sender *tx);

/* ---------------------------------------------------------------------- */
/* The receiver                                                            */
/* ---------------------------------------------------------------------- */

/*
 * Takes the oldest message without waiting, writing it to 'msg'.
 * Ownership: 'rx' is borrowed; 'msg' receives the message on success.
 * Returns: 0; CFUT_EAGAIN when the queue is empty and a sender remains;
 *   CFUT_ECLOSED when it is empty and every sender is gone.
 * Context: the channel's thread. Cancel-safe.
 */
CFUT_API int cfut_mpsc_try_recv(struct cfut_mpsc_receiver *rx, void *msg);

/*
 * Takes a message without waiting, as cfut_mpsc_try_recv().
 * Returns: 0; CFUT_EAGAIN; CFUT_ECLOSED. Context: the receiver's thread.
 */
CFUT_API int cfut_mpsc_sync_try_recv(struct cfut_mpsc_sync_receiver *rx,
                                     void *msg);

/*
 * Takes up to 'max' of the oldest messages without waiting, in order, into
 * the array at 'msgs' (room for max * msg_size bytes); the slots they free
 * go to waiting senders as try_recv's do.
 * Ownership: 'rx' is borrowed; 'msgs' receives the messages; '*n'
 *   receives how many (1..max on success, 0 otherwise).
 * Returns: 0 (at least one message); CFUT_EAGAIN when the queue is empty
 *   and a sender remains; CFUT_ECLOSED when it is empty and every sender
 *   is gone; CFUT_EINVAL when 'max' is 0 or 'msgs' or 'n' is NULL.
 * Context: the channel's thread. Cancel-safe.
 */
CFUT_API int cfut_mpsc_try_recv_many(struct cfut_mpsc_receiver *rx, void *msgs,
                                     size_t max, size_t *n);

/*
 * Takes up to 'max' messages without waiting, as
 * cfut_mpsc_try_recv_many(), under one lock (while senders wait for
 * capacity, at most CFUT_MPSC_SYNC_BATCH_WAKES messages a call, so that
 * the permits it hands out are woken in one go after the unlock).
 * Returns: 0; CFUT_EAGAIN; CFUT_ECLOSED; CFUT_EINVAL.
 * Context: the receiver's thread.
 */
CFUT_API int cfut_mpsc_sync_try_recv_many(struct cfut_mpsc_sync_receiver *rx,
                                          void *msgs, size_t max, size_t *n);

/* The most messages a thread-safe batched receive takes while senders wait
 * for capacity (each freed slot wakes one of them). */
#define CFUT_MPSC_SYNC_BATCH_WAKES 16

/*
 * Initialises 'f' to receive the next message. At most one recv future per
 * receiver may be alive at a time.
 * Ownership: 'rx' is kept: it must stay valid and undropped until 'f' is
 *   dropped; 'f' is caller storage.
 * Context: the channel's thread.
 * Pinned: 'f' is pinned from its first poll until drop.
 */
CFUT_API void cfut_mpsc_recv_init(struct cfut_mpsc_recv *f,
                                  struct cfut_mpsc_receiver *rx);

/*
 * Initialises a recv future, as cfut_mpsc_recv_init().
 * Context: the receiver's thread. Pinned: from its first poll until drop.
 */
CFUT_API void cfut_mpsc_sync_recv_init(struct cfut_mpsc_sync_recv *f,
                                       struct cfut_mpsc_sync_receiver *rx);

/*
 * Polls the receiver itself for the next message, as a stream: the same
 * outcomes as a recv future's poll, with no future to create or drop (what
 * a parent future's poll calls in a receive loop). PENDING registers the
 * waker of 'cx' (replacing a recv future's); it stays registered across
 * wakes until the receiver or its recv future is dropped. Cancel-safe: a
 * message is taken only when it returns READY.
 * Ownership: 'rx' and 'cx' are borrowed; 'out' receives
 *   CFUT_MPSC_OUTPUT(T) on READY.
 * Returns: CFUT_READY (status CFUT_OK with a message, or CFUT_ECLOSED when
 *   drained and every sender is gone) or CFUT_PENDING.
 * Context: inside a poll, on the channel's thread.
 */
CFUT_API enum cfut_poll cfut_mpsc_poll_recv(struct cfut_mpsc_receiver *rx,
                                            struct cfut_context *cx, void *out);

/*
 * Polls the receiver for the next message, as cfut_mpsc_poll_recv().
 * Returns: CFUT_READY or CFUT_PENDING.
 * Context: inside a poll, on the receiver's thread. Cancel-safe.
 */
CFUT_API enum cfut_poll
cfut_mpsc_sync_poll_recv(struct cfut_mpsc_sync_receiver *rx,
                         struct cfut_context *cx, void *out);

/*
 * Polls the receiver for a batch, as tokio's recv_many: READY with 1..max
 * of the oldest messages in the array at 'msgs' (room for max * msg_size
 * bytes) and their number in '*n', or READY with '*n' 0 when the queue is
 * drained and every sender is gone; PENDING registers the waker of 'cx'
 * as cfut_mpsc_poll_recv() does. A batch spends one unit of the task's
 * budget. Cancel-safe: messages are taken only when it returns READY.
 * Ownership: 'rx' and 'cx' are borrowed; 'max' > 0 and 'msgs', 'n' are
 *   not NULL (debug builds assert it).
 * Returns: CFUT_READY or CFUT_PENDING.
 * Context: inside a poll, on the channel's thread.
 */
CFUT_API enum cfut_poll cfut_mpsc_poll_recv_many(struct cfut_mpsc_receiver *rx,
                                                 struct cfut_context *cx,
                                                 void *msgs, size_t max,
                                                 size_t *n);

/*
 * Polls the receiver for a batch, as cfut_mpsc_poll_recv_many() (at most
 * CFUT_MPSC_SYNC_BATCH_WAKES messages while senders wait for capacity).
 * Returns: CFUT_READY or CFUT_PENDING.
 * Context: inside a poll, on the receiver's thread. Cancel-safe.
 */
CFUT_API enum cfut_poll
cfut_mpsc_sync_poll_recv_many(struct cfut_mpsc_sync_receiver *rx,
                              struct cfut_context *cx, void *msgs, size_t max,
                              size_t *n);

/* Returns the number of queued messages. Context: the channel's thread. */
CFUT_API size_t cfut_mpsc_len(const struct cfut_mpsc_receiver *rx);

/* Returns the number of queued messages. Context: any thread. */
CFUT_API size_t cfut_mpsc_sync_len(const struct cfut_mpsc_sync_receiver *rx);

/*
 * cfut_mpsc_receiver_drop(),
 * cfut_mpsc_sync_receiver_drop() (see "Handles" in cfut_channel.h):
 * Drops the receiver: releases every queued message with 'drop_msg' (which
 * may drop senders of the same channel), and wakes the pending send
 * futures, which resolve to CFUT_ECLOSED; capacity a send future gives
 * back from then on goes to nobody. An empty handle is a no-op.
 * Ownership: 'rx' is taken (emptied). Its recv future must be gone.
 * Context: the channel's thread.
 */
CFUT_CHANNEL_DECLARE_DROP(cfut_mpsc_receiver, cfut_mpsc_sync_receiver);

#ifdef __cplusplus
}
#endif

#endif /* CFUT_MPSC_H */
