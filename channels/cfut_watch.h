/*
 * cfut_watch.h: the watch channel (tokio::sync::watch): one sender holds
 * the latest value, any number of receivers read it and wait for a newer
 * one. Values have a fixed size chosen at creation; each stored value gets
 * the next version number (the initial value is version 0), and each
 * receiver remembers the version it saw last. Receivers that fall behind
 * miss the values in between: a watch keeps only the latest.
 *
 * Two kinds, with the same operations (cfut_channel.h says what differs):
 * each operation below is declared for the local kind (cfut_watch_*: no
 * atomics, no lock; every handle and future of one channel stays on one
 * thread), then for the thread-safe kind (cfut_watch_sync_*: the sender and
 * each receiver may be used on any thread, one thread at a time each).
 * The changed future is one type for both kinds: the kind is its
 * receiver's.
 * Reading: a receiver copies the value out (cfut_watch_get()); the
 * thread-safe kind copies under the lock, so a copy is never torn. The
 * local kind can also lend the value in place (cfut_watch_borrow()), valid
 * until the next send. Values that own memory: give hooks at creation
 * (struct cfut_channel_value_ops): 'copy' makes each receiver's own copy
 * (it runs under the lock in the thread-safe kind), 'drop' releases a value
 * the channel lets go of (after unlocking).
 * Lifetime: the sender and the receivers are handles. The state lives while
 * the sender or a receiver does; a changed future borrows its receiver.
 * When the sender goes, waiting receivers wake and see CFUT_ECLOSED once
 * they have seen the last value, which they can still read.
 */
#ifndef CFUT_WATCH_H
#define CFUT_WATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cfut_channel.h"
#include "cfut_future.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The shared state (opaque; the same type in both kinds). */
struct cfut__watch;

/* ---------------------------------------------------------------------- */
/* Handles and futures                                                     */
/* ---------------------------------------------------------------------- */

/* The sending handle (one per channel). */
CFUT_CHANNEL_HANDLE(cfut_watch_sender, cfut__watch);

/* The thread-safe sending handle: used on any thread, one at a time. */
CFUT_CHANNEL_HANDLE(cfut_watch_sync_sender, cfut__watch);

/* A receiving handle; clone it for more receivers. */
struct cfut_watch_receiver {
    /* private: do not touch */
    struct cfut__watch *shared; /* NULL once dropped */
    uint64_t seen;              /* the version this receiver saw last */
};

/* A thread-safe receiving handle: used on any thread, one at a time. */
struct cfut_watch_sync_receiver {
    /* private: do not touch */
    struct cfut__watch *shared; /* NULL once dropped */
    uint64_t seen;              /* the version this receiver saw last */
};

/*
 * A changed future: READY with an int status: CFUT_OK once the channel
 * holds a version newer than the one its receiver saw last (that version
 * then counts as seen: read it with cfut_watch_get()), or CFUT_ECLOSED
 * when the sender is gone and the receiver has seen the last value. One
 * type for both kinds (the kind is its receiver's).
 * Cancel-safe: dropping it before READY marks nothing seen, takes it off
 * the wait list and releases its waker.
 * Context: polled and dropped on its receiver's thread.
 * Pinned: from its first poll until drop (the wait list points to it).
 */
struct cfut_watch_changed {
    /* private: do not touch */
    CFUT_CHANNEL_WAITING_FUTURE(cfut__watch);
    uint64_t *seen; /* its receiver's */
    struct cfut__waiter waiter;
};

/* ---------------------------------------------------------------------- */
/* Creating a channel                                                      */
/* ---------------------------------------------------------------------- */

/*
 * Creates a local watch channel for values of 'value_size' bytes (0 is
 * allowed: a bare change signal), holding the 'initial' value as version 0,
 * with a sender and one receiver that has seen it. One allocation.
 * Ownership: 'initial' is taken: its bytes now belong to the channel (NULL:
 *   all bytes zero); 'ops' is kept (NULL: plain bytes; its hooks are read
 *   at creation); '*tx' and '*rx' receive the handles on success (untouched
 *   on failure, when 'initial' still belongs to the caller).
 * Returns: 0; CFUT_EINVAL if 'tx' or 'rx' is NULL or 'value_size' is
 *   absurdly large; CFUT_ENOMEM.
 * Context: any thread; the channel then stays on one thread.
 */
CFUT_API int cfut_watch_new(size_t value_size, const void *initial,
                            const struct cfut_channel_value_ops *ops,
                            struct cfut_watch_sender *tx,
                            struct cfut_watch_receiver *rx);

/*
 * Creates a thread-safe watch channel, as cfut_watch_new().
 * Returns: 0; CFUT_EINVAL; CFUT_ENOMEM. Context: any thread.
 */
CFUT_API int cfut_watch_sync_new(size_t value_size, const void *initial,
                                 const struct cfut_channel_value_ops *ops,
                                 struct cfut_watch_sync_sender *tx,
                                 struct cfut_watch_sync_receiver *rx);

/* ---------------------------------------------------------------------- */
/* The sender                                                              */
/* ---------------------------------------------------------------------- */

/*
 * Stores the value at 'value' as the next version and wakes every waiting
 * changed future. The value it replaces is released with the 'drop' hook.
 * Ownership: 'tx' is borrowed; 'value' is taken on success (its bytes
 *   belong to the channel); on CFUT_ECLOSED nothing was stored and the
 *   caller still owns it.
 * Returns: 0; CFUT_ECLOSED when no receiver is left (cfut_watch_subscribe()
 *   can make one again).
 * Context: the channel's thread, inside or outside a task.
 */
CFUT_API int cfut_watch_send(struct cfut_watch_sender *tx, const void *value);

/*
 * Stores a value, as cfut_watch_send(); receivers copying the old value
 * meanwhile get the old one or the new one whole.
 * Returns: 0; CFUT_ECLOSED. Context: any thread, one at a time.
 */
CFUT_API int cfut_watch_sync_send(struct cfut_watch_sync_sender *tx,
                                  const void *value);

/*
 * Returns a new receiver that has seen the current version.
 * Ownership: 'tx' is borrowed; the result must be dropped with
 *   cfut_watch_receiver_drop().
 * Context: the channel's thread. Aborts when the count of receivers is full.
 */
CFUT_API struct cfut_watch_receiver
cfut_watch_subscribe(const struct cfut_watch_sender *tx);

/* Returns a new receiver, as cfut_watch_subscribe(). Context: any thread. */
CFUT_API struct cfut_watch_sync_receiver
cfut_watch_sync_subscribe(const struct cfut_watch_sync_sender *tx);

/*
 * Tells whether no receiver is left (a send would fail).
 * Ownership: 'tx' is borrowed and must not be empty.
 * Context: the channel's thread.
 */
CFUT_API bool cfut_watch_sender_is_closed(const struct cfut_watch_sender *tx);

/* Tells whether no receiver is left. Context: any thread. */
CFUT_API bool
cfut_watch_sync_sender_is_closed(const struct cfut_watch_sync_sender *tx);

/*
 * cfut_watch_sender_drop(),
 * cfut_watch_sync_sender_drop() (see "Handles" in cfut_channel.h):
 * Drops the sender: the channel is closed, and waiting changed futures
 * wake (to see CFUT_ECLOSED once they have seen the last value). An empty
 * handle is a no-op.
 * Ownership: 'tx' is taken (emptied).
 * Context: the channel's thread.
 */
CFUT_CHANNEL_DECLARE_DROP(cfut_watch_sender, cfut_watch_sync_sender);

/* ---------------------------------------------------------------------- */
/* Receivers                                                               */
/* ---------------------------------------------------------------------- */

/*
 * cfut_watch_receiver_clone(), cfut_watch_receiver_drop(),
 * cfut_watch_sync_receiver_clone(), cfut_watch_sync_receiver_drop()
 * (see "Handles" in cfut_channel.h).
 * Clone: returns a new receiver that has seen what 'rx' has seen.
 * Ownership: 'rx' is borrowed; the result must be dropped.
 * Context: the channel's thread. Aborts when the count of receivers is full.
 * Drop: drops a receiver. An empty handle is a no-op.
 * Ownership: 'rx' is taken (emptied); its changed futures must be gone.
 * Context: the channel's thread.
 */
CFUT_CHANNEL_DECLARE_HANDLE(cfut_watch_receiver, cfut_watch_sync_receiver);

/*
 * Copies the current value to 'out' (with the 'copy' hook, if any) and
 * marks its version seen. Works after the sender is gone (the last value).
 * Ownership: 'rx' is borrowed; 'out' receives 'value_size' bytes (the
 *   caller owns that copy).
 * Returns: the version copied.
 * Context: the channel's thread.
 */
CFUT_API uint64_t cfut_watch_get(struct cfut_watch_receiver *rx, void *out);

/*
 * Copies the current value under the channel's lock, as cfut_watch_get():
 * never torn by a concurrent send.
 * Returns: the version copied. Context: the receiver's thread.
 */
CFUT_API uint64_t cfut_watch_sync_get(struct cfut_watch_sync_receiver *rx,
                                      void *out);

/*
 * Lends the current value in place, with no copy, and marks its version
 * seen (the local kind only: across threads a value is copied under the
 * lock). The pointer is valid until the next send (after which the value
 * may be released with the 'drop' hook) or until the channel is freed.
 * Ownership: 'rx' is borrowed; the result is borrowed (read only).
 * Returns: the value, aligned for any type; '*version' (if not NULL)
 *   receives its version.
 * Context: the channel's thread.
 */
CFUT_API const void *cfut_watch_borrow(struct cfut_watch_receiver *rx,
                                       uint64_t *version);

/*
 * Tells whether the channel holds a version newer than the one 'rx' saw
 * last (it marks nothing seen).
 * Ownership: 'rx' is borrowed. Context: the channel's thread.
 */
CFUT_API bool cfut_watch_has_changed(const struct cfut_watch_receiver *rx);

/* Tells whether a newer version is there. Context: the receiver's thread. */
CFUT_API bool
cfut_watch_sync_has_changed(const struct cfut_watch_sync_receiver *rx);

/*
 * Initialises 'f' to wait for a version newer than the one 'rx' saw last
 * (see struct cfut_watch_changed). READY at its first poll when there is
 * one already.
 * Ownership: 'rx' is kept: it must stay valid and undropped until 'f' is
 *   dropped ('f' updates the version it saw); 'f' is caller storage.
 * Context: the channel's thread.
 * Pinned: 'f' is pinned from its first poll until drop.
 */
CFUT_API void cfut_watch_changed_init(struct cfut_watch_changed *f,
                                      struct cfut_watch_receiver *rx);

/*
 * Initialises a thread-safe changed future, as cfut_watch_changed_init().
 * Context: the receiver's thread. Pinned: from its first poll until drop.
 */
CFUT_API void cfut_watch_sync_changed_init(struct cfut_watch_changed *f,
                                           struct cfut_watch_sync_receiver *rx);

#ifdef __cplusplus
}
#endif

#endif /* CFUT_WATCH_H */
