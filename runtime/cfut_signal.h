/*
 * cfut_signal.h: POSIX signals as futures: a listener for one signal
 * (SIGINT, SIGTERM, SIGHUP, SIGUSR1, ...) whose receive future finishes
 * when the signal has been delivered since the last receive, so that a
 * server can shut down gracefully. Several listeners may watch one signal,
 * on one executor or on several: each sees every delivery.
 *
 * How: a sigaction() handler counts each delivery and writes a byte to a
 * pipe (the self-pipe trick, as libuv and tokio do), and each listener
 * watches that pipe through a descriptor of its own on its executor's
 * reactor. It works whatever the signal masks of the program's other
 * threads are (signalfd would need the signal blocked in every thread),
 * and a signal that comes while no executor runs is counted, not lost.
 * docs/io.md says more.
 *
 * Threading: a listener belongs to the executor it was made on; its
 * calls and futures are used on that executor's thread. Listeners on
 * different threads may watch the same signal.
 * Lifetime: a listener is a heap object freed by cfut_signal_free(). While
 * a signal has a listener, the handler replaces the signal's previous
 * action (which is not called); the previous action comes back when its
 * last listener is freed. The pipe stays open for the life of the
 * process.
 */
#ifndef CFUT_SIGNAL_H
#define CFUT_SIGNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "cfut_executor.h"
#include "cfut_future.h"
#include "cfut_io.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A listener for one signal (opaque). */
struct cfut_signal;

/*
 * Makes a listener for 'signum' on the reactor of 'ex'; it sees the
 * deliveries made from now on. The first listener of a signal installs
 * the handler (SA_RESTART).
 * Ownership: '*out' receives the listener, freed with cfut_signal_free().
 * Returns: 0; CFUT_EINVAL if 'ex' or 'out' is NULL, or 'signum' is not a
 *   signal that can be handled here (SIGKILL and SIGSTOP, and the signals
 *   of faults a handler cannot return from: SIGSEGV, SIGBUS, SIGFPE,
 *   SIGILL, SIGTRAP, SIGSYS); CFUT_ENOMEM; the failed system call's error
 *   as -errno: -EMFILE (pipe(), dup()), ...
 * Context: the executor's thread.
 */
CFUT_API int cfut_signal_new(struct cfut_executor *ex, int signum,
                             struct cfut_signal **out);

/*
 * Frees 's'. When it was the signal's last listener, the signal's
 * previous action is restored (a delivery after that takes it: for
 * SIGINT and SIGTERM by default, the end of the process). No receive
 * future of 's' may be alive (aborts with a message if one waits).
 * Ownership: 's' is taken. NULL is a no-op.
 * Context: the executor's thread.
 */
CFUT_API void cfut_signal_free(struct cfut_signal *s);

/* Returns the signal 's' listens for. */
CFUT_API int cfut_signal_number(const struct cfut_signal *s);

/*
 * A future that finishes once the signal has been delivered since the
 * listener was made or last received. Output: a uint64_t, the number of
 * deliveries since then (at least 1; several that came between two
 * receives are counted, not queued). A delivery before the first poll
 * counts. Cancel-safe: dropping it loses no delivery (the next receive
 * reports it). One receive at a time per listener; for several tasks,
 * make a listener each.
 */
struct cfut_signal_recv {
    /* private: do not touch */
    struct cfut_future base;
    struct cfut_signal *s;
    bool waiting; /* 'rd' is initialised and not yet dropped */
    struct cfut_readiness rd;
};

/*
 * Initialises 'f' to receive the next deliveries of 's'.
 * Ownership: 's' is kept until 'f' is dropped.
 * Pinned: from its first poll until drop.
 */
CFUT_API void cfut_signal_recv_init(struct cfut_signal_recv *f,
                                    struct cfut_signal *s);

#ifdef __cplusplus
}
#endif

#endif /* CFUT_SIGNAL_H */
