/*
 * cfut_semaphore.h: the semaphore (tokio::sync::Semaphore): a count of
 * permits that tasks acquire, N at a time, and give back by dropping the
 * permit they got: what limits how many connections, requests or jobs run
 * at once. Acquiring is fair (FIFO): waiters are served in the order they
 * began to wait, and permits given back go to the first waiter until it has
 * all it asked for, so a big request at the head is not starved by small
 * ones behind it (they wait behind it, and try_acquire fails while anyone
 * waits).
 *
 * Two kinds, with the same operations (cfut_channel.h says what differs):
 * each operation below is declared for the local kind (cfut_semaphore_*:
 * no atomics, no lock; every handle, permit and future of one semaphore
 * stays on one thread), then for the thread-safe kind
 * (cfut_semaphore_sync_*: handles and permits may be used and dropped on
 * any thread; an acquire future is polled on its task's thread). Permits
 * and acquire futures are one type for both kinds: the kind is the
 * semaphore's they came from.
 * Lifetime: the semaphore is a handle to a shared state (clone it for each
 * owner); the state lives while a handle, a permit or an acquire future
 * does. Closing fails the waiting acquires and every later one with
 * CFUT_ECLOSED; permits already held stay valid.
 */
#ifndef CFUT_SEMAPHORE_H
#define CFUT_SEMAPHORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cfut_channel.h"
#include "cfut_future.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The most permits a semaphore holds in all (available, held and being
 * assigned), and the most one acquire may ask for. */
#define CFUT_SEMAPHORE_MAX_PERMITS (SIZE_MAX >> 3)

/* The shared state (opaque; the same type in both kinds). */
struct cfut__semaphore;

/* An acquire future's place in the FIFO of waiters (the same in both
 * kinds; private: do not touch). */
struct cfut__semaphore_waiter {
    struct cfut__waiter w; /* on the semaphore's 'waiters', or a batch */
    size_t n;              /* permits asked for */
    size_t needed;         /* of those, not assigned yet (while waiting) */
    int state;             /* enum in cfut_semaphore_core_int.h */
};

/* ---------------------------------------------------------------------- */
/* Handles, permits and futures                                            */
/* ---------------------------------------------------------------------- */

/* A semaphore: a handle; clone it for each owner, drop each one. */
CFUT_CHANNEL_HANDLE(cfut_semaphore, cfut__semaphore);

/* A thread-safe semaphore: a handle that may move to any thread. */
CFUT_CHANNEL_HANDLE(cfut_semaphore_sync, cfut__semaphore);

/*
 * Permits held: a guard that gives them back when dropped
 * (cfut_semaphore_permit_drop()). One type for both kinds (the kind is its
 * semaphore's): a thread-safe semaphore's permit may move to and be
 * dropped on any thread. It keeps the semaphore's state alive, so the
 * semaphore's handles may go first.
 */
struct cfut_semaphore_permit {
    /* read-only */
    size_t n; /* permits held */
    /* private: do not touch */
    struct cfut__semaphore *shared; /* NULL once dropped or forgotten */
    void *lock; /* the semaphore's lock; NULL for a local semaphore */
};

/*
 * The output of an acquire future: 'status' is CFUT_OK ('permit' holds the
 * permits asked for; the caller drops it), CFUT_ECLOSED (the semaphore was
 * closed before they were all assigned) or CFUT_EINVAL (more than
 * CFUT_SEMAPHORE_MAX_PERMITS asked for); 'permit' is empty unless CFUT_OK.
 */
struct cfut_semaphore_acquired {
    int status;
    struct cfut_semaphore_permit permit;
};

/*
 * An acquire future: READY with struct cfut_semaphore_acquired once its
 * permits are all assigned to it, or the semaphore is closed first. At its
 * first poll it takes them at once when nobody waits ahead and enough are
 * available (spending the task's budget); otherwise it queues, taking what
 * is available if it is first. One type for both kinds (the kind is its
 * semaphore's). Cancel-safe: dropping it before READY takes it off the
 * FIFO and gives back every permit assigned to it (to the next waiters),
 * and releases its waker.
 * Context: polled and dropped on one thread at a time (for a local
 *   semaphore, the semaphore's thread).
 * Pinned: from its first poll until drop (the FIFO points to it).
 */
struct cfut_semaphore_acquire {
    /* private: do not touch */
    CFUT_CHANNEL_WAITING_FUTURE(cfut__semaphore);
    struct cfut__semaphore_waiter waiter;
};

/* ---------------------------------------------------------------------- */
/* Creating and sharing                                                    */
/* ---------------------------------------------------------------------- */

/*
 * Creates a local semaphore with 'permits' available. One allocation.
 * Ownership: '*sem' receives the handle on success (untouched on failure).
 * Returns: 0; CFUT_EINVAL if 'sem' is NULL or 'permits' is more than
 *   CFUT_SEMAPHORE_MAX_PERMITS; CFUT_ENOMEM.
 * Context: any thread; the semaphore then stays on one thread.
 */
CFUT_API int cfut_semaphore_new(size_t permits, struct cfut_semaphore *sem);

/*
 * Creates a thread-safe semaphore, as cfut_semaphore_new().
 * Returns: 0; CFUT_EINVAL; CFUT_ENOMEM. Context: any thread.
 */
CFUT_API int cfut_semaphore_sync_new(size_t permits,
                                     struct cfut_semaphore_sync *sem);

/*
 * cfut_semaphore_clone(), cfut_semaphore_drop(),
 * cfut_semaphore_sync_clone(), cfut_semaphore_sync_drop()
 * (see "Handles" in cfut_channel.h).
 * Clone: returns a new handle to the semaphore of 'sem'. No allocation.
 * Ownership: 'sem' is borrowed; the result must be dropped.
 * Context: the semaphore's thread.
 * Drop: drops the handle 'sem' (not a close: permits and acquire futures carry
 * on). An empty handle is a no-op.
 * Ownership: 'sem' is taken (emptied).
 * Context: the semaphore's thread.
 */
CFUT_CHANNEL_DECLARE_HANDLE(cfut_semaphore, cfut_semaphore_sync);

/* ---------------------------------------------------------------------- */
/* Acquiring                                                               */
/* ---------------------------------------------------------------------- */

/*
 * Takes 'n' permits without waiting.
 * Ownership: 'sem' is borrowed; '*permit' receives them on success
 *   (untouched on failure) and must be dropped.
 * Returns: 0 (always for 0 permits on an open semaphore); CFUT_EAGAIN
 *   when fewer than 'n' are available or others wait (they go first);
 *   CFUT_ECLOSED when the semaphore is closed;
 *   CFUT_EINVAL if 'n' is more than CFUT_SEMAPHORE_MAX_PERMITS.
 * Context: the semaphore's thread, inside or outside a task.
 */
CFUT_API int cfut_semaphore_try_acquire(const struct cfut_semaphore *sem,
                                        size_t n,
                                        struct cfut_semaphore_permit *permit);

/*
 * Takes permits without waiting, as cfut_semaphore_try_acquire().
 * Returns: 0; CFUT_EAGAIN; CFUT_ECLOSED; CFUT_EINVAL. Context: any thread.
 */
CFUT_API int
cfut_semaphore_sync_try_acquire(const struct cfut_semaphore_sync *sem, size_t n,
                                struct cfut_semaphore_permit *permit);

/*
 * Initialises 'f' to acquire 'n' permits (see struct
 * cfut_semaphore_acquire); 0 permits are READY at once.
 * Ownership: 'sem' is borrowed (the future holds its own reference); 'f'
 *   is caller storage.
 * Context: the semaphore's thread.
 * Pinned: 'f' is pinned from its first poll until drop.
 */
CFUT_API void cfut_semaphore_acquire_init(struct cfut_semaphore_acquire *f,
                                          const struct cfut_semaphore *sem,
                                          size_t n);

/*
 * Initialises a thread-safe acquire future, as
 * cfut_semaphore_acquire_init().
 * Context: any thread (the future is then polled on one thread at a time).
 * Pinned: from its first poll until drop.
 */
CFUT_API void
cfut_semaphore_sync_acquire_init(struct cfut_semaphore_acquire *f,
                                 const struct cfut_semaphore_sync *sem,
                                 size_t n);

/* ---------------------------------------------------------------------- */
/* Permits                                                                 */
/* ---------------------------------------------------------------------- */

/*
 * Gives the permits of 'permit' back to its semaphore (to the first
 * waiters, FIFO, which are woken when they have all they asked for), of
 * either kind. An empty permit is a no-op.
 * Ownership: 'permit' is taken (emptied).
 * Context: a local semaphore's thread; any thread for a thread-safe one.
 */
CFUT_API void cfut_semaphore_permit_drop(struct cfut_semaphore_permit *permit);

/*
 * Ends 'permit' without giving its permits back: the semaphore has that
 * many fewer for good (cfut_semaphore_add_permits() can add them again).
 * Ownership: 'permit' is taken (emptied).
 * Context: as cfut_semaphore_permit_drop().
 */
CFUT_API void
cfut_semaphore_permit_forget(struct cfut_semaphore_permit *permit);

/* ---------------------------------------------------------------------- */
/* The count                                                               */
/* ---------------------------------------------------------------------- */

/*
 * Adds 'n' permits (to the first waiters, FIFO, as a permit's drop does).
 * Ownership: 'sem' is borrowed.
 * Returns: 0; CFUT_EINVAL when the semaphore would then hold more than
 *   CFUT_SEMAPHORE_MAX_PERMITS in all (nothing is added).
 * Context: the semaphore's thread.
 */
CFUT_API int cfut_semaphore_add_permits(const struct cfut_semaphore *sem,
                                        size_t n);

/*
 * Adds permits, as cfut_semaphore_add_permits().
 * Returns: 0; CFUT_EINVAL. Context: any thread.
 */
CFUT_API int
cfut_semaphore_sync_add_permits(const struct cfut_semaphore_sync *sem,
                                size_t n);

/*
 * Closes the semaphore: waiting acquire futures wake and resolve to
 * CFUT_ECLOSED (permits assigned to them in part go back), later acquires
 * fail with CFUT_ECLOSED. Permits held stay valid and may be dropped.
 * Closing twice is a no-op.
 * Ownership: 'sem' is borrowed. Context: the semaphore's thread.
 */
CFUT_API void cfut_semaphore_close(const struct cfut_semaphore *sem);

/* Closes the semaphore, as cfut_semaphore_close(). Context: any thread. */
CFUT_API void cfut_semaphore_sync_close(const struct cfut_semaphore_sync *sem);

/* Tells whether the semaphore is closed. Context: the semaphore's thread. */
CFUT_API bool cfut_semaphore_is_closed(const struct cfut_semaphore *sem);

/* Tells whether the semaphore is closed. Context: any thread. */
CFUT_API bool
cfut_semaphore_sync_is_closed(const struct cfut_semaphore_sync *sem);

/*
 * Returns the number of permits available now (not held, not assigned to
 * a waiter). Context: the semaphore's thread.
 */
CFUT_API size_t cfut_semaphore_available(const struct cfut_semaphore *sem);

/* Returns the number of permits available now. Context: any thread. */
CFUT_API size_t
cfut_semaphore_sync_available(const struct cfut_semaphore_sync *sem);

#ifdef __cplusplus
}
#endif

#endif /* CFUT_SEMAPHORE_H */
