/*
 * cfut_broadcast.h: the broadcast channel (tokio::sync::broadcast): many
 * senders, many receivers, and every receiver sees every message sent
 * after it subscribed, in order. Messages have a fixed size chosen at
 * creation and wait in a bounded ring of 'capacity' of them. A send never
 * waits: when the ring is full it overwrites the oldest message, and a
 * receiver that had not seen that one has lagged: its next receive says
 * CFUT_ELAGGED with the number it missed, then goes on from the oldest
 * message still there.
 *
 * Two kinds, with the same operations (cfut_channel.h says what differs):
 * each operation below is declared for the local kind (cfut_broadcast_*:
 * no atomics, no lock; every handle and future of one channel stays on one
 * thread), then for the thread-safe kind (cfut_broadcast_sync_*: senders
 * may live on any thread; each receiver is used on one thread at a time).
 * The recv future is one type for both kinds: the kind is its receiver's.
 * Values that own memory: give hooks at creation (struct
 * cfut_channel_value_ops): 'copy' makes each receiver's own copy, 'drop'
 * releases the channel's message once every receiver has seen or skipped
 * it (the last receive of it, its overwrite, or the last receiver that had
 * yet to see it going). In the thread-safe kind both hooks run under the
 * channel's lock: they must be short and must not call into the channel.
 * Lifetime: senders and receivers are handles. The state lives while one
 * of them does; a recv future borrows its receiver. When the last sender
 * goes, receivers see what is left, then CFUT_ECLOSED.
 */
#ifndef CFUT_BROADCAST_H
#define CFUT_BROADCAST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cfut_channel.h"
#include "cfut_future.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What comes before the message in a recv future's output. */
struct cfut_broadcast_output_head {
    int status;         /* CFUT_OK, CFUT_ELAGGED or CFUT_ECLOSED */
    uint64_t n_skipped; /* with CFUT_ELAGGED: messages missed; else 0 */
};

/* Offset of the message inside a recv future's output (checked in the
 * .c against CFUT_BROADCAST_OUTPUT). */
#define CFUT_BROADCAST_VALUE_OFFSET                                            \
    ((sizeof(struct cfut_broadcast_output_head) + _Alignof(max_align_t) - 1) / \
     _Alignof(max_align_t) * _Alignof(max_align_t))

/*
 * The output of a recv future for messages of type 'T': 'status' is
 * CFUT_OK ('value' holds the next message), CFUT_ELAGGED (messages were
 * overwritten before this receiver saw them: 'n_skipped' says how many;
 * the next receive gives the oldest message still there) or CFUT_ECLOSED
 * (every sender is gone and this receiver has seen every message).
 */
#define CFUT_BROADCAST_OUTPUT(T)                                               \
    struct {                                                                   \
        int status;                                                            \
        uint64_t n_skipped;                                                    \
        _Alignas(max_align_t) T value;                                         \
    }

/* The shared state (opaque; the same type in both kinds). */
struct cfut__broadcast;

/* ---------------------------------------------------------------------- */
/* Handles and futures                                                     */
/* ---------------------------------------------------------------------- */

/* A sending handle. Clone it for more senders; drop each one. */
CFUT_CHANNEL_HANDLE(cfut_broadcast_sender, cfut__broadcast);

/* A thread-safe sending handle: may move to and be used on any thread. */
CFUT_CHANNEL_HANDLE(cfut_broadcast_sync_sender, cfut__broadcast);

/* A receiving handle: its place in the stream of messages. */
struct cfut_broadcast_receiver {
    /* private: do not touch */
    struct cfut__broadcast *shared; /* NULL once dropped */
    uint64_t next;                  /* the next message's position */
};

/* A thread-safe receiving handle: used on one thread at a time. */
struct cfut_broadcast_sync_receiver {
    /* private: do not touch */
    struct cfut__broadcast *shared; /* NULL once dropped */
    uint64_t next;                  /* the next message's position */
};

/*
 * A recv future: READY with CFUT_BROADCAST_OUTPUT(T). One type for both
 * kinds (the kind is its receiver's). Cancel-safe: a message is taken
 * only by the poll that returns READY, so dropping it loses none; dropping
 * it takes it off the wait list and releases its waker. Ready messages
 * spend the task's budget.
 * Context: polled and dropped on its receiver's thread.
 * Pinned: from its first poll until drop (the wait list points to it).
 */
struct cfut_broadcast_recv {
    /* private: do not touch */
    CFUT_CHANNEL_WAITING_FUTURE(cfut__broadcast);
    uint64_t *next; /* its receiver's position */
    struct cfut__waiter waiter;
};

/* ---------------------------------------------------------------------- */
/* Creating a channel                                                      */
/* ---------------------------------------------------------------------- */

/*
 * Creates a local broadcast channel for messages of 'msg_size' bytes (at
 * least 1), keeping the last 'capacity' (at least 1) of them, with one
 * sender and one receiver. One allocation holds the state and the ring.
 * Ownership: 'ops' is kept (NULL: plain bytes; its hooks are read at
 *   creation); '*tx' and '*rx' receive the handles on success (untouched
 *   on failure).
 * Returns: 0; CFUT_EINVAL if 'tx' or 'rx' is NULL, 'msg_size' or
 *   'capacity' is 0, or the sizes overflow; CFUT_ENOMEM.
 * Context: any thread; the channel then stays on one thread.
 */
CFUT_API int cfut_broadcast_new(size_t msg_size, size_t capacity,
                                const struct cfut_channel_value_ops *ops,
                                struct cfut_broadcast_sender *tx,
                                struct cfut_broadcast_receiver *rx);

/*
 * Creates a thread-safe broadcast channel, as cfut_broadcast_new().
 * Returns: 0; CFUT_EINVAL; CFUT_ENOMEM. Context: any thread.
 */
CFUT_API int cfut_broadcast_sync_new(size_t msg_size, size_t capacity,
                                     const struct cfut_channel_value_ops *ops,
                                     struct cfut_broadcast_sync_sender *tx,
                                     struct cfut_broadcast_sync_receiver *rx);

/* ---------------------------------------------------------------------- */
/* Senders                                                                 */
/* ---------------------------------------------------------------------- */

/*
 * cfut_broadcast_sender_clone(), cfut_broadcast_sender_drop(),
 * cfut_broadcast_sync_sender_clone(), cfut_broadcast_sync_sender_drop()
 * (see "Handles" in cfut_channel.h).
 * Clone: returns a new sender for the channel of 'tx'.
 * Ownership: 'tx' is borrowed; the result must be dropped.
 * Context: the channel's thread. Aborts when the count of senders is full.
 * Drop: drops 'tx'; when it was the last sender, waiting receivers wake to see
 * what is left, then CFUT_ECLOSED. An empty handle is a no-op.
 * Ownership: 'tx' is taken (emptied).
 * Context: the channel's thread.
 */
CFUT_CHANNEL_DECLARE_HANDLE(cfut_broadcast_sender, cfut_broadcast_sync_sender);

/*
 * Sends a copy of the message at 'msg' to every current receiver, and
 * wakes the waiting ones. Never waits: when the ring is full, the oldest
 * message is overwritten (released with the 'drop' hook), and receivers
 * that had not seen it will see CFUT_ELAGGED.
 * Ownership: 'tx' is borrowed; 'msg' is taken on success (its bytes belong
 *   to the channel); on CFUT_ECLOSED nothing was stored and the caller
 *   still owns it.
 * Returns: 0; CFUT_ECLOSED when no receiver is there to see it
 *   (cfut_broadcast_subscribe() can make one again).
 * Context: the channel's thread, inside or outside a task.
 */
CFUT_API int cfut_broadcast_send(const struct cfut_broadcast_sender *tx,
                                 const void *msg);

/*
 * Sends a message, as cfut_broadcast_send().
 * Returns: 0; CFUT_ECLOSED. Context: any thread.
 */
CFUT_API int
cfut_broadcast_sync_send(const struct cfut_broadcast_sync_sender *tx,
                         const void *msg);

/*
 * Returns a new receiver that will see every message sent from now on.
 * Ownership: 'tx' is borrowed; the result must be dropped.
 * Context: the channel's thread. Aborts when the count of receivers is full.
 */
CFUT_API struct cfut_broadcast_receiver
cfut_broadcast_subscribe(const struct cfut_broadcast_sender *tx);

/* Returns a new receiver, as cfut_broadcast_subscribe(). Context: any
 * thread. */
CFUT_API struct cfut_broadcast_sync_receiver
cfut_broadcast_sync_subscribe(const struct cfut_broadcast_sync_sender *tx);

/* ---------------------------------------------------------------------- */
/* Receivers                                                               */
/* ---------------------------------------------------------------------- */

/*
 * Takes the next message without waiting, writing it to 'msg' (with the
 * 'copy' hook, if any).
 * Ownership: 'rx' is borrowed; 'msg' receives the message on success (the
 *   caller owns that copy); '*n_skipped' (if not NULL) receives the count
 *   missed on CFUT_ELAGGED.
 * Returns: 0; CFUT_ELAGGED when messages were overwritten before 'rx' saw
 *   them ('rx' moves on to the oldest one still there); CFUT_EAGAIN when
 *   'rx' has seen every message and a sender remains; CFUT_ECLOSED when it
 *   has and every sender is gone.
 * Context: the channel's thread. Cancel-safe.
 */
CFUT_API int cfut_broadcast_try_recv(struct cfut_broadcast_receiver *rx,
                                     void *msg, uint64_t *n_skipped);

/*
 * Takes the next message without waiting, as cfut_broadcast_try_recv().
 * Returns: 0; CFUT_ELAGGED; CFUT_EAGAIN; CFUT_ECLOSED.
 * Context: the receiver's thread.
 */
CFUT_API int
cfut_broadcast_sync_try_recv(struct cfut_broadcast_sync_receiver *rx, void *msg,
                             uint64_t *n_skipped);

/*
 * Initialises 'f' to receive the next message for 'rx' (see struct
 * cfut_broadcast_recv).
 * Ownership: 'rx' is kept: it must stay valid and undropped until 'f' is
 *   dropped; 'f' is caller storage.
 * Context: the channel's thread.
 * Pinned: 'f' is pinned from its first poll until drop.
 */
CFUT_API void cfut_broadcast_recv_init(struct cfut_broadcast_recv *f,
                                       struct cfut_broadcast_receiver *rx);

/*
 * Initialises a thread-safe recv future, as cfut_broadcast_recv_init().
 * Context: the receiver's thread. Pinned: from its first poll until drop.
 */
CFUT_API void
cfut_broadcast_sync_recv_init(struct cfut_broadcast_recv *f,
                              struct cfut_broadcast_sync_receiver *rx);

/*
 * Returns the number of messages sent since 'rx' last received (more than
 * the capacity: 'rx' has lagged).
 * Context: the channel's thread.
 */
CFUT_API uint64_t cfut_broadcast_len(const struct cfut_broadcast_receiver *rx);

/* Returns the number of messages 'rx' has not seen. Context: its thread. */
CFUT_API uint64_t
cfut_broadcast_sync_len(const struct cfut_broadcast_sync_receiver *rx);

/*
 * cfut_broadcast_receiver_drop(),
 * cfut_broadcast_sync_receiver_drop() (see "Handles" in cfut_channel.h):
 * Drops a receiver: the messages it had yet to see no longer wait for it
 * (each is released once no receiver needs it). An empty handle is a
 * no-op.
 * Ownership: 'rx' is taken (emptied); its recv futures must be gone.
 * Context: the channel's thread.
 */
CFUT_CHANNEL_DECLARE_DROP(cfut_broadcast_receiver,
                          cfut_broadcast_sync_receiver);

#ifdef __cplusplus
}
#endif

#endif /* CFUT_BROADCAST_H */
