/*
 * cfut_channel.h: what the channels (cfut_oneshot.h, cfut_mpsc.h) share:
 * their two kinds, what differs between the kinds, and the layout of a
 * receiver's output.
 *
 * Every channel comes in two kinds with the same operations:
 *   - the local kind (cfut_oneshot_*, cfut_mpsc_*; Rust's Rc<RefCell>):
 *     plain counts and fields, no atomics, no lock. Every handle and future
 *     of one channel, and every call on it, stays on one thread.
 *   - the thread-safe kind (cfut_oneshot_sync_*, cfut_mpsc_sync_*; Rust's
 *     Arc<Mutex>): one mutex guards the state. Senders may live on any
 *     thread; the receiver is polled on its task's thread and woken through
 *     its task waker, which takes wakes from other threads.
 * Both kinds run the same state transitions (one implementation), so they
 * behave the same: the same results, wakes and cancel-safety. What differs
 * is only this:
 *   - Threads: where each call may be made (each declaration's Context).
 *   - When a wake runs: the local kind wakes a waker as soon as the call has
 *     let go of it; the thread-safe kind once it has released its lock. In
 *     both, a woken waker finds the state whole and may call into the same
 *     channel at once: no wake and no user callback ('drop_value',
 *     'drop_msg') runs under a channel lock (the lock may be held while a
 *     waker is cloned or dropped).
 *   - The mpsc receiver's waker stays registered across wakes in both kinds,
 *     so a receiver that parks again with the same waker takes no new
 *     reference. The local kind wakes it by reference; the thread-safe kind
 *     wakes a clone taken under the lock (one clone per wake).
 *   - Storage: only a local oneshot can live in caller storage
 *     (cfut_oneshot_init()).
 */
#ifndef CFUT_CHANNEL_H
#define CFUT_CHANNEL_H

#include <stddef.h>

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

#ifdef __cplusplus
}
#endif

#endif /* CFUT_CHANNEL_H */
