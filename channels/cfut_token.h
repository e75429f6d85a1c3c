/*
 * cfut_token.h: the cancellation token (tokio_util's CancellationToken): a
 * flag that goes from "not cancelled" to "cancelled" once, that any number
 * of tasks may ask about or wait on, and that cancels its child tokens with
 * it (a tree: cancelling a parent cancels its children, not the reverse).
 *
 * Two kinds, with the same operations (cfut_channel.h says what differs):
 * each operation below is declared for the local kind (cfut_token_*: no
 * atomics, no lock; every handle and future of one tree stays on one
 * thread), then for the thread-safe kind (cfut_token_sync_*: handles may be
 * used, cloned, cancelled and dropped on any thread; a cancelled future is
 * polled on its task's thread). One mutex, in the root's state, guards a
 * whole thread-safe tree. The cancelled future is one type for both kinds:
 * the kind is its token's.
 * Lifetime: a token is a handle (one pointer) to a shared state; clones
 * share it (a count, no allocation). A state lives while a handle, a
 * cancelled future or a child state refers to it: a child keeps its
 * parent's state (not its handles) alive, so cancelling the grandparent
 * still reaches it when the parent's handles are all gone. A child whose
 * last reference goes unlinks itself from its parent.
 */
#ifndef CFUT_TOKEN_H
#define CFUT_TOKEN_H

#include <stdbool.h>

#include "cfut_channel.h"
#include "cfut_future.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The shared state (opaque; the same type in both kinds). */
struct cfut__token;

/* ---------------------------------------------------------------------- */
/* Handles and futures                                                     */
/* ---------------------------------------------------------------------- */

/* A cancellation token: a handle; clone it for each owner, drop each one. */
CFUT_CHANNEL_HANDLE(cfut_token, cfut__token);

/* A thread-safe cancellation token: a handle that may move to any thread. */
CFUT_CHANNEL_HANDLE(cfut_token_sync, cfut__token);

/*
 * A future that is READY (no output) once its token is cancelled: at its
 * first poll if the token is cancelled already, else when cfut_token_cancel()
 * runs on the token or one of its ancestors. One type for both kinds (the
 * kind is its token's): it holds its own reference to the token's state.
 * Cancel-safe: dropping it before READY takes it off the token's wait list
 * and releases its waker.
 * Context: polled and dropped on one thread at a time (for a local token,
 *   the token's thread).
 * Pinned: from its first poll until drop (the wait list points to it).
 */
struct cfut_token_cancelled {
    /* private: do not touch */
    CFUT_CHANNEL_WAITING_FUTURE(cfut__token);
    struct cfut__waiter waiter;
};

/* ---------------------------------------------------------------------- */
/* Creating tokens                                                         */
/* ---------------------------------------------------------------------- */

/*
 * Creates a local token, not cancelled, with no parent (a root).
 * Ownership: '*tok' receives the handle on success (untouched on failure).
 * Returns: 0; CFUT_EINVAL if 'tok' is NULL; CFUT_ENOMEM.
 * Context: any thread; the token then stays on one thread.
 */
CFUT_API int cfut_token_new(struct cfut_token *tok);

/*
 * Creates a thread-safe root token, as cfut_token_new(). Its state holds
 * the mutex that its whole tree shares.
 * Returns: 0; CFUT_EINVAL; CFUT_ENOMEM. Context: any thread.
 */
CFUT_API int cfut_token_sync_new(struct cfut_token_sync *tok);

/*
 * Creates a child of 'parent': cancelled when 'parent' (or any ancestor)
 * is, and at once if 'parent' is cancelled already; cancelling the child
 * leaves 'parent' as it is. One allocation.
 * Ownership: 'parent' is borrowed (the child's state keeps the parent's
 *   state alive on its own); '*child' receives the handle on success
 *   (untouched on failure).
 * Returns: 0; CFUT_EINVAL if 'child' is NULL; CFUT_ENOMEM.
 * Context: the token's thread.
 */
CFUT_API int cfut_token_child(const struct cfut_token *parent,
                              struct cfut_token *child);

/*
 * Creates a child of a thread-safe token, as cfut_token_child().
 * Returns: 0; CFUT_EINVAL; CFUT_ENOMEM. Context: any thread.
 */
CFUT_API int cfut_token_sync_child(const struct cfut_token_sync *parent,
                                   struct cfut_token_sync *child);

/* ---------------------------------------------------------------------- */
/* Handles                                                                 */
/* ---------------------------------------------------------------------- */

/*
 * cfut_token_clone(), cfut_token_drop(),
 * cfut_token_sync_clone(), cfut_token_sync_drop()
 * (see "Handles" in cfut_channel.h).
 * Clone: returns a new handle to the token of 'tok' (the same token: cancelling
 * either cancels both). No allocation.
 * Ownership: 'tok' is borrowed and must not be dropped; the result must be
 *   dropped with cfut_token_drop().
 * Context: the token's thread. Aborts when the count of references is full.
 * Drop: drops the handle 'tok'. Dropping is not cancelling: the token's other
 * handles, futures and children carry on. The last reference to a child
 * unlinks it from its parent. An empty handle is a no-op.
 * Ownership: 'tok' is taken (emptied).
 * Context: the token's thread.
 */
CFUT_CHANNEL_DECLARE_HANDLE(cfut_token, cfut_token_sync);

/* ---------------------------------------------------------------------- */
/* Cancelling                                                              */
/* ---------------------------------------------------------------------- */

/*
 * Cancels the token of 'tok' and every descendant not cancelled yet, and
 * wakes every cancelled future waiting on any of them. Cancelling twice is
 * a no-op. The walk over the tree needs no memory: it follows the links.
 * Ownership: 'tok' is borrowed.
 * Context: the token's thread, inside or outside a task.
 */
CFUT_API void cfut_token_cancel(const struct cfut_token *tok);

/*
 * Cancels a thread-safe token and its descendants, as cfut_token_cancel();
 * the wakes run after the tree's lock is released.
 * Context: any thread.
 */
CFUT_API void cfut_token_sync_cancel(const struct cfut_token_sync *tok);

/*
 * Tells whether the token of 'tok' is cancelled (by itself or an ancestor).
 * Ownership: 'tok' is borrowed. Context: the token's thread.
 */
CFUT_API bool cfut_token_is_cancelled(const struct cfut_token *tok);

/* Tells whether a thread-safe token is cancelled. Context: any thread. */
CFUT_API bool cfut_token_sync_is_cancelled(const struct cfut_token_sync *tok);

/*
 * Initialises 'f', a future that is READY once the token of 'tok' is
 * cancelled (see struct cfut_token_cancelled). Any number may wait on one
 * token.
 * Ownership: 'tok' is borrowed (the future takes its own reference, so
 *   'tok' may be dropped first); 'f' is caller storage.
 * Context: the token's thread. Aborts when the count of references is full.
 * Pinned: 'f' is pinned from its first poll until drop.
 */
CFUT_API void cfut_token_cancelled_init(struct cfut_token_cancelled *f,
                                        const struct cfut_token *tok);

/*
 * Initialises a thread-safe cancelled future, as
 * cfut_token_cancelled_init().
 * Context: any thread (the future is then polled on one thread at a time).
 * Pinned: from its first poll until drop.
 */
CFUT_API void cfut_token_sync_cancelled_init(struct cfut_token_cancelled *f,
                                             const struct cfut_token_sync *tok);

#ifdef __cplusplus
}
#endif

#endif /* CFUT_TOKEN_H */
