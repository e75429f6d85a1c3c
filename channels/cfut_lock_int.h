/*
 * cfut_lock_int.h: a small mutex on one futex word, for the thread-safe
 * channels' short critical sections (every thread-safe kind) (internal; never
 * included by a public header). Uncontended, lock is one compare-and-swap and
 * unlock one exchange, both inline: a pthread mutex call costs about 30
 * instructions each way (callgrind) with the same two locked instructions.
 * Contended, it spins briefly, then sleeps on the futex (Drepper's "Futexes Are
 * Tricky", mutex 2: 0 free, 1 held, 2 held with sleepers). No user code
 * and no wake runs under a channel lock, so holds are a few hundred
 * instructions at most. Linux only, as the runtime is (epoll).
 *
 * Freeing: a thread that unlocked may still be in its futex wake on the
 * word's address when another thread locks, unlocks and frees the block;
 * a private FUTEX_WAKE does not touch the memory, so that is safe (POSIX
 * asks the same of pthread_mutex_destroy after an unlock).
 */
#ifndef CFUT_LOCK_INT_H
#define CFUT_LOCK_INT_H

#include <stdatomic.h>
#include <stdint.h>

struct cfut__lock {
    _Atomic uint32_t word; /* 0 free, 1 held, 2 held and someone sleeps */
};

/* Initialises 'l', free. */
static inline void
cfut__lock_init(struct cfut__lock *l)
{
    atomic_init(&l->word, 0);
}

/* Ends 'l' (free; nothing to release). */
static inline void
cfut__lock_destroy(struct cfut__lock *l)
{
    (void)l;
}

/* The contended paths (cfut_kind.c). */
void cfut__lock_slow(struct cfut__lock *l);
void cfut__unlock_wake(struct cfut__lock *l);

/* Takes 'l' (acquire). */
static inline void
cfut__lock(struct cfut__lock *l)
{
    uint32_t free = 0;
    if (__builtin_expect(
            !atomic_compare_exchange_strong_explicit(
                &l->word, &free, 1, memory_order_acquire, memory_order_relaxed),
            0))
        cfut__lock_slow(l);
}

/* Releases 'l' (release), waking one sleeper if there is one. */
static inline void
cfut__unlock(struct cfut__lock *l)
{
    if (__builtin_expect(
            atomic_exchange_explicit(&l->word, 0, memory_order_release) == 2,
            0))
        cfut__unlock_wake(l);
}

#endif /* CFUT_LOCK_INT_H */
