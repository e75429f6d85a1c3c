/*
 * cfut_channel.h: what the channels and the one-to-many primitives share:
 * their two kinds, what differs between the kinds, the layout of a
 * receiver's output, the hooks for values that own memory, and a future's
 * place on a wait list.
 *
 * The point-to-point channels (cfut_oneshot.h, cfut_mpsc.h) and the
 * one-to-many primitives (cfut_token.h: cancellation tokens; cfut_watch.h:
 * the latest value; cfut_broadcast.h: every message to every receiver;
 * cfut_semaphore.h: permits) each come in two kinds with the same
 * operations:
 *   - the local kind (cfut_oneshot_*, cfut_mpsc_*, cfut_token_*, ...; Rust's
 *     Rc<RefCell>): plain counts and fields, no atomics, no lock. Every
 *     handle and future of one channel, and every call on it, stays on one
 *     thread.
 *   - the thread-safe kind (cfut_oneshot_sync_*, cfut_mpsc_sync_*,
 *     cfut_token_sync_*, ...; Rust's Arc<Mutex>): one mutex guards the
 *     state. Handles may live on any thread (each declaration's Context says
 *     which); a future is polled on its task's thread and woken through its
 *     task waker, which takes wakes from other threads.
 * Both kinds run the same state transitions (one implementation), so they
 * behave the same: the same results, wakes and cancel-safety. What differs
 * is only this:
 *   - Threads: where each call may be made (each declaration's Context).
 *   - When a wake runs: the local kind wakes a waker as soon as the call has
 *     let go of it; the thread-safe kind once it has released its lock. In
 *     both, a woken waker finds the state whole and may call into the same
 *     channel at once: no wake and no user callback ('drop_value',
 *     'drop_msg') runs under a channel lock (the lock may be held while a
 *     waker is cloned or dropped). The one exception is the value hooks of
 *     watch and broadcast (struct cfut_channel_value_ops): a receiver's copy
 *     is made under the lock, since the value may change as soon as it is
 *     released, and broadcast releases a message under the lock too.
 *   - A waker that stays registered: the mpsc receiver's, and the waiting
 *     futures of the one-to-many primitives, keep their waker across wakes,
 *     so a future that waits again with the same waker takes no new
 *     reference. The local kind wakes it by reference; the thread-safe kind
 *     wakes a clone taken under the lock (one clone per wake).
 *   - Storage: a oneshot of either kind can live in caller storage
 *     (cfut_oneshot_init(), cfut_oneshot_sync_init()); the other channels
 *     are allocated by their constructors.
 *   - Debug builds: a local-kind state used from a thread other than the
 *     one that made it (a pool task that moved to another worker) aborts
 *     with a message naming it: watch, broadcast, semaphore, cancellation
 *     token and mpsc. The local oneshot is not checked (the transport's
 *     request slots embed its core).
 */
#ifndef CFUT_CHANNEL_H
#define CFUT_CHANNEL_H

#include <stdbool.h>
#include <stddef.h>

#include "cfut_future.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Offset of the value inside a receiver's output. */
#define CFUT_CHANNEL_VALUE_OFFSET (_Alignof(max_align_t))

/*
 * The output of a channel's receiver for values of type 'T': a status
 * (CFUT_OK when 'value' holds a value; otherwise the channel's reason for
 * having none), then the value, aligned for any type.
 */
#define CFUT_CHANNEL_OUTPUT(T)                                                 \
    struct {                                                                   \
        int status;                                                            \
        _Alignas(max_align_t) T value;                                         \
    }

/*
 * Makes 'dst' the receiver's own copy of the value at 'src' ('size' bytes):
 * a deep copy, or the same bytes with one more reference taken on what they
 * point to. The receiver then owns the copy and releases it itself.
 * Context: with the channel's lock held in the thread-safe kinds: it must be
 * short and must not call into the same channel.
 */
typedef void cfut_channel_copy_fn(void *dst, const void *src, size_t size);

/* Releases what a value owns (not the value's storage). */
typedef void cfut_channel_drop_fn(void *value);

/*
 * How watch and broadcast treat values that own memory. Either hook may be
 * NULL: 'copy' then copies the bytes, 'drop' does nothing. A channel
 * created with a NULL ops pointer treats values as plain bytes.
 */
struct cfut_channel_value_ops {
    cfut_channel_copy_fn *copy; /* a receiver's copy of the channel's value */
    cfut_channel_drop_fn *drop; /* the channel lets go of a value */
};

/*
 * Handles. A handle is a small struct the caller keeps by value and may
 * copy until its first use: one pointer to the shared state (private: do
 * not touch), NULL once the handle is dropped (an empty handle), declared
 * with CFUT_CHANNEL_HANDLE; a receiver that keeps its own place adds that
 * field. Every handle type H has these calls, declared in its header
 * (a header says only what its own add to this):
 *   - H_drop(H *h): lets the handle go; an empty handle is a no-op.
 *     Ownership: 'h' is taken (emptied).
 *   - H_clone(const H *h), for the handle types that can be cloned: returns
 *     a new handle to the same state, for the caller to drop. No
 *     allocation. Ownership: 'h' is borrowed. Aborts when the state's count
 *     of handles is full.
 * Any other call on an empty handle aborts with a message. Context: a
 * local kind's handle stays on its channel's thread; a thread-safe kind's
 * may move to, and be used or dropped on, any thread (one thread at a time
 * for each handle), unless its header says it stays on one thread.
 */
#define CFUT_CHANNEL_HANDLE(name, state)                                       \
    struct name {                                                              \
        struct state *shared;                                                  \
    }

/*
 * Declare the calls of "Handles" above for the handle type 'struct L' of
 * the local kind and 'struct S' of the thread-safe kind: L_clone() and
 * S_clone(), or L_drop() and S_drop(). A header documents, above each,
 * only what the handle adds to the convention.
 */
#define CFUT_CHANNEL_DECLARE_CLONE(L, S)                                       \
    CFUT_API struct L L##_clone(const struct L *h);                            \
    CFUT_API struct S S##_clone(const struct S *h)
#define CFUT_CHANNEL_DECLARE_DROP(L, S)                                        \
    CFUT_API void L##_drop(struct L *h);                                       \
    CFUT_API void S##_drop(struct S *h)

/* Declares the clone and the drop of both kinds' handle types, as
 * CFUT_CHANNEL_DECLARE_CLONE and CFUT_CHANNEL_DECLARE_DROP. */
#define CFUT_CHANNEL_DECLARE_HANDLE(L, S)                                      \
    CFUT_CHANNEL_DECLARE_CLONE(L, S);                                          \
    CFUT_CHANNEL_DECLARE_DROP(L, S)

/*
 * The fields a waiting future of the one-to-many primitives begins with
 * (private: do not touch): the future, its state and the lock of its kind
 * (NULL in the local kind). Such a future is one type for both kinds.
 */
#define CFUT_CHANNEL_WAITING_FUTURE(state)                                     \
    struct cfut_future base;                                                   \
    struct state *shared;                                                      \
    void *lock

/*
 * A waiting future's place on a wait list: the same in every primitive
 * that keeps one (private: do not touch).
 */
struct cfut__waiter {
    struct cfut_waker waker;      /* registered by the latest PENDING poll */
    struct cfut_list waiter_link; /* on a wait list, or a list being woken */
    bool is_linked;               /* 'waiter_link' is on a list */
};

#ifdef __cplusplus
}
#endif

#endif /* CFUT_CHANNEL_H */
