/*
 * cfut_oneshot.h: the oneshot channel: one value, sent once, from a sender
 * handle to a receiver future. The shared state (a count, flags, two waker
 * slots and the value inline) is one allocation owned by the two halves.
 *
 * Two kinds, with the same operations (cfut_channel.h says what differs):
 * each operation below is declared for the local kind (cfut_oneshot_*: no
 * atomics, no lock, one thread), then for the thread-safe kind
 * (cfut_oneshot_sync_*: the sender may send, drop and ask is_closed from any
 * thread; the receiver is polled on its task's thread).
 * Lifetime: the sender is a handle (one pointer) that may be copied into a
 * map and moved freely; the receiver is a future (embed it by value, move it
 * until its first poll). The shared state lives until both halves, and any
 * closed future, are gone. A value the receiver never takes is released
 * with the 'drop_value' callback given at creation, exactly once.
 */
#ifndef CFUT_ONESHOT_H
#define CFUT_ONESHOT_H

#include <stdbool.h>
#include <stddef.h>

#include "cfut_channel.h"
#include "cfut_future.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Releases what a value owns (not the value's storage); may be NULL. */
typedef void cfut_oneshot_drop_value_fn(void *value);

/* Offset of the value inside a receiver's output. */
#define CFUT_ONESHOT_VALUE_OFFSET CFUT_CHANNEL_VALUE_OFFSET

/*
 * The output of a receiver whose value type is 'T': 'status' is CFUT_OK
 * ('value' holds the value) or CFUT_ECANCELED (the sender was dropped
 * without sending, or the receiver was closed before a value came).
 */
#define CFUT_ONESHOT_OUTPUT(T) CFUT_CHANNEL_OUTPUT(T)

/* Bytes before the value in a local oneshot's state (checked in the .c). */
#define CFUT_ONESHOT_HEADER_SIZE 64

/*
 * Caller storage for a local oneshot carrying a 'T' (see
 * cfut_oneshot_init()): the state's header, then the value.
 */
#define CFUT_ONESHOT_STORAGE(T)                                                \
    struct {                                                                   \
        _Alignas(max_align_t) unsigned char header[CFUT_ONESHOT_HEADER_SIZE];  \
        T value;                                                               \
    }

/* Bytes before the value in a thread-safe oneshot's state. */
#define CFUT_ONESHOT_SYNC_HEADER_SIZE 128

/*
 * Caller storage for a thread-safe oneshot carrying a 'T' (see
 * cfut_oneshot_sync_init()).
 */
#define CFUT_ONESHOT_SYNC_STORAGE(T)                                           \
    struct {                                                                   \
        _Alignas(                                                              \
            max_align_t) unsigned char header[CFUT_ONESHOT_SYNC_HEADER_SIZE];  \
        T value;                                                               \
    }

/* The shared state (opaque). */
struct cfut__oneshot;
struct cfut__oneshot_sync;

/* ---------------------------------------------------------------------- */
/* The halves                                                              */
/* ---------------------------------------------------------------------- */

/* The sending half: a handle; copy or move it freely, use it once (a send
 * or a drop empties it). */
CFUT_CHANNEL_HANDLE(cfut_oneshot_sender, cfut__oneshot);

/* The thread-safe sending half: a handle that may move to any thread. */
CFUT_CHANNEL_HANDLE(cfut_oneshot_sync_sender, cfut__oneshot_sync);

/*
 * The receiving half: a future whose output is CFUT_ONESHOT_OUTPUT(T);
 * poll it with cfut_future_poll() and drop it with cfut_future_drop().
 * Cancel-safe: dropping it before READY releases its waker; a value that
 * was sent and not taken is released with 'drop_value'.
 * Context: polled and dropped on the channel's thread.
 * Pinned: it may be moved until its first poll, and is pinned from then on
 *   until drop (it publishes no pointer to itself, but follows the
 *   contract).
 */
struct cfut_oneshot_receiver {
    /* private: do not touch */
    struct cfut_future base;
    struct cfut__oneshot *shared;
};

/*
 * The thread-safe receiving half: a future, as cfut_oneshot_receiver
 * (same output, same cancel-safety).
 * Context: polled and dropped on one thread at a time (its task's); the
 *   sender may be on any thread. Pinned: from its first poll until drop.
 */
struct cfut_oneshot_sync_receiver {
    /* private: do not touch */
    struct cfut_future base;
    struct cfut__oneshot_sync *shared;
};

/* A future that is READY (no output) once the receiver is closed or gone. */
struct cfut_oneshot_closed {
    /* private: do not touch */
    struct cfut_future base;
    struct cfut__oneshot *shared;
};

/* The thread-safe closed future, as cfut_oneshot_closed. */
struct cfut_oneshot_sync_closed {
    /* private: do not touch */
    struct cfut_future base;
    struct cfut__oneshot_sync *shared;
};

/* ---------------------------------------------------------------------- */
/* Creating a channel                                                      */
/* ---------------------------------------------------------------------- */

/*
 * Creates a local oneshot channel for values of 'value_size' bytes (0 is
 * allowed: a bare signal). One allocation holds the state and the value.
 * Ownership: 'drop_value' is kept (may be NULL); '*tx' and '*rx' receive
 *   the two halves on success (untouched on failure).
 * Returns: 0; CFUT_EINVAL if 'tx' or 'rx' is NULL or 'value_size' is
 *   absurdly large; CFUT_ENOMEM when allocation fails.
 * Context: the channel's thread (any thread may create it; both halves
 *   then stay on the thread that uses them).
 */
CFUT_API int cfut_oneshot_new(size_t value_size,
                              cfut_oneshot_drop_value_fn *drop_value,
                              struct cfut_oneshot_sender *tx,
                              struct cfut_oneshot_receiver *rx);

/*
 * Creates a thread-safe oneshot channel; as cfut_oneshot_new() (one
 * allocation, which also holds the mutex).
 * Returns: 0; CFUT_EINVAL; CFUT_ENOMEM.
 * Context: any thread.
 */
CFUT_API int cfut_oneshot_sync_new(size_t value_size,
                                   cfut_oneshot_drop_value_fn *drop_value,
                                   struct cfut_oneshot_sync_sender *tx,
                                   struct cfut_oneshot_sync_receiver *rx);

/*
 * Creates a local oneshot channel whose state lives in caller storage
 * instead of the heap (no allocation): declare the storage with
 * CFUT_ONESHOT_STORAGE(T), or give any block aligned for max_align_t of at
 * least CFUT_ONESHOT_HEADER_SIZE + 'value_size' bytes. A task that creates
 * and awaits oneshots one after another can reuse one storage block (the
 * thread-safe kind: cfut_oneshot_sync_init()).
 * Ownership: 'storage' is kept: it must stay valid and unmoved until both
 *   halves and any closed future are dropped (a receiver that returned
 *   READY implies the sender is done, so dropping it frees the storage when
 *   no closed future is alive). Otherwise as cfut_oneshot_new().
 * Returns: 0; CFUT_EINVAL if a pointer is NULL, 'storage' is misaligned or
 *   'storage_size' is too small.
 * Context: as cfut_oneshot_new().
 */
CFUT_API int cfut_oneshot_init(void *storage, size_t storage_size,
                               size_t value_size,
                               cfut_oneshot_drop_value_fn *drop_value,
                               struct cfut_oneshot_sender *tx,
                               struct cfut_oneshot_receiver *rx);

/*
 * Creates a thread-safe oneshot channel whose state lives in caller
 * storage (no allocation): declare it with CFUT_ONESHOT_SYNC_STORAGE(T),
 * or give any block aligned for max_align_t of at least
 * CFUT_ONESHOT_SYNC_HEADER_SIZE + 'value_size' bytes. The sender may go
 * to another thread as with cfut_oneshot_sync_new(); a half lets go of the
 * state under its lock, and touches nothing of it after, so the thread
 * that saw the value (or the sender's drop) knows the other is done.
 * Ownership: 'storage' is kept: it must stay valid and unmoved until both
 *   halves and any closed future are dropped; a receiver that returned
 *   READY implies the sender is done, so once that receiver (and any
 *   closed future) is dropped, the storage may be reused, for another
 *   cfut_oneshot_sync_init() too, or freed. Otherwise as
 *   cfut_oneshot_sync_new().
 * Returns: 0; CFUT_EINVAL if a pointer is NULL, 'storage' is misaligned or
 *   'storage_size' is too small.
 * Context: any thread.
 */
CFUT_API int cfut_oneshot_sync_init(void *storage, size_t storage_size,
                                    size_t value_size,
                                    cfut_oneshot_drop_value_fn *drop_value,
                                    struct cfut_oneshot_sync_sender *tx,
                                    struct cfut_oneshot_sync_receiver *rx);

/* ---------------------------------------------------------------------- */
/* The sender                                                              */
/* ---------------------------------------------------------------------- */

/*
 * Sends the 'value_size' bytes at 'value' and consumes the sender, whatever
 * the result. Wakes the receiver's task.
 * Ownership: 'tx' is taken (it is emptied); 'value' is borrowed: on success
 *   its bytes now belong to the channel; on CFUT_ECLOSED they were not
 *   copied, so the caller's buffer still owns the value.
 * Returns: 0; CFUT_ECLOSED when the receiver was closed or dropped.
 * Context: the channel's thread, inside or outside a task.
 */
CFUT_API int cfut_oneshot_send(struct cfut_oneshot_sender *tx,
                               const void *value);

/*
 * Sends, as cfut_oneshot_send(). A send racing a close or a receiver drop
 * either delivers the value (it is then received or released once with
 * 'drop_value') or fails with CFUT_ECLOSED leaving it to the caller.
 * Returns: 0; CFUT_ECLOSED.
 * Context: any thread, one at a time per sender.
 */
CFUT_API int cfut_oneshot_sync_send(struct cfut_oneshot_sync_sender *tx,
                                    const void *value);

/*
 * cfut_oneshot_sender_drop(),
 * cfut_oneshot_sync_sender_drop() (see "Handles" in cfut_channel.h):
 * Drops the sender without sending: the receiver resolves to
 * CFUT_ECANCELED. An empty (sent or dropped) sender is a no-op.
 * Ownership: 'tx' is taken (it is emptied).
 * Context: the channel's thread.
 */
CFUT_CHANNEL_DECLARE_DROP(cfut_oneshot_sender, cfut_oneshot_sync_sender);

/*
 * Tells whether the receiver was closed or dropped (a send would fail), so
 * that a server can stop work nobody waits for.
 * Ownership: 'tx' is borrowed; it must not be empty.
 * Context: the channel's thread.
 */
CFUT_API bool
cfut_oneshot_sender_is_closed(const struct cfut_oneshot_sender *tx);

/* Tells whether the receiver is closed or gone. Context: any thread. */
CFUT_API bool
cfut_oneshot_sync_sender_is_closed(const struct cfut_oneshot_sync_sender *tx);

/*
 * Initialises 'f', a future that is READY once the receiver is closed or
 * dropped. It keeps the shared state alive on its own, so the sender may be
 * sent or dropped meanwhile. At most one closed future per channel may be
 * alive at a time (debug and release builds abort otherwise).
 * Ownership: 'tx' is borrowed and must not be empty; 'f' is caller storage.
 * Context: the channel's thread. Cancel-safe: dropping 'f' releases its
 *   waker and loses nothing.
 * Pinned: 'f' is pinned from its first poll until drop.
 */
CFUT_API void cfut_oneshot_closed_init(struct cfut_oneshot_closed *f,
                                       const struct cfut_oneshot_sender *tx);

/*
 * Initialises a closed future, as cfut_oneshot_closed_init().
 * Context: the thread that will poll it (any thread). Cancel-safe.
 * Pinned: from its first poll until drop.
 */
CFUT_API void
cfut_oneshot_sync_closed_init(struct cfut_oneshot_sync_closed *f,
                              const struct cfut_oneshot_sync_sender *tx);

/* ---------------------------------------------------------------------- */
/* The receiver                                                            */
/* ---------------------------------------------------------------------- */

/*
 * Closes the receiver early: later sends fail with CFUT_ECLOSED and the
 * sender's closed future wakes. A value sent before the close can still be
 * received; otherwise the receiver resolves to CFUT_ECANCELED.
 * Ownership: 'rx' is borrowed (it must still be dropped).
 * Context: the channel's thread.
 */
CFUT_API void cfut_oneshot_receiver_close(struct cfut_oneshot_receiver *rx);

/* Closes the receiver early, as above. Context: the receiver's thread. */
CFUT_API void
cfut_oneshot_sync_receiver_close(struct cfut_oneshot_sync_receiver *rx);

/*
 * Takes the value without waiting, writing 'value_size' bytes to 'value'.
 * After success the receiver is finished: drop it, do not poll it.
 * Ownership: 'rx' is borrowed; 'value' receives the value on success.
 * Returns: 0; CFUT_EAGAIN when no value has come yet and the sender may
 *   still send; CFUT_ECANCELED when none will ever come (or it was taken).
 * Context: the channel's thread. Cancel-safe.
 */
CFUT_API int cfut_oneshot_try_recv(struct cfut_oneshot_receiver *rx,
                                   void *value);

/*
 * Takes the value without waiting, as cfut_oneshot_try_recv().
 * Returns: 0; CFUT_EAGAIN; CFUT_ECANCELED.
 * Context: the receiver's thread. Cancel-safe.
 */
CFUT_API int cfut_oneshot_sync_try_recv(struct cfut_oneshot_sync_receiver *rx,
                                        void *value);

#ifdef __cplusplus
}
#endif

#endif /* CFUT_ONESHOT_H */
