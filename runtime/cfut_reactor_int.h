/*
 * cfut_reactor_int.h: what the I/O futures (cfut_io.c) need from the
 * reactor: the wait lists of a registration and whether it is a socket.
 * Internal: never included by a public header.
 */
#ifndef CFUT_REACTOR_INT_H
#define CFUT_REACTOR_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <sys/types.h>

#include "cfut_reactor.h"

struct cfut__driver;

/* Which wait list of a registration. */
enum cfut__io_dir { CFUT__IO_READ = 0, CFUT__IO_WRITE = 1 };

/*
 * Puts 'w' on the 'dir' wait list of 'io' with a clone of 'waker' (or
 * refreshes its waker when it is already there).
 */
void cfut__io_wait(struct cfut_io *io, enum cfut__io_dir dir,
                   struct cfut__io_waiter *w, const struct cfut_waker *waker);

/* Takes 'w' off its wait list (if on one) and drops its waker. */
void cfut__io_unwait(struct cfut_io *io, struct cfut__io_waiter *w);

/* Tells whether the registration is a socket (MSG_NOSIGNAL applies). */
bool cfut__io_is_socket(const struct cfut_io *io);

/*
 * Skipping a read known to return EAGAIN (single-threaded registrations;
 * on a shared one these do nothing and a read is always made).
 *
 * cfut__io_note_read(): after a read(2) that returned 'n' (>= 0) of 'cap'
 * bytes. A short read (0 < n < cap) of a SOCK_STREAM socket left its
 * receive queue empty: the READABLE bit is cleared and the registration
 * remembers that it is empty; any other result forgets it.
 * cfut__io_note_read_eagain(): after a read(2) returned EAGAIN (the caller
 * clears READABLE itself, as before).
 * cfut__io_read_would_block(): true when the fd was left empty and no
 * event came since: READABLE clear (the edge-triggered reactor sets it for
 * any byte that arrives later) and HUP clear (a hang-up that came in the
 * same event as the bytes just read is reported once, and a read after it
 * never blocks: it must be made, docs/reactor.md "Hang-ups are sticky").
 * Never true for a fresh registration: bytes may predate it.
 * Only stream sockets take the short-read rule: a datagram or seqpacket
 * socket's read returns one message of several, a terminal one line.
 */
bool cfut__io_read_would_block(const struct cfut_io *io);
/* Tells whether a short read empties the fd as far as the fd stream's own
 * skip goes: a SOCK_STREAM socket, or not a socket (a pipe); never a
 * datagram or seqpacket socket. */
bool cfut__io_short_read_drains(const struct cfut_io *io);
void cfut__io_note_read(struct cfut_io *io, ssize_t n, size_t cap);
void cfut__io_note_read_eagain(struct cfut_io *io);

/*
 * What the registrations of a driver that several threads share (the
 * pool's, cfut_pool_io.c) share with it. A registration made on it
 * (cfut__io_new_shared()) takes 'lock' around everything a single-threaded
 * one does without: its readiness bits (written under the lock, read
 * without it), its wait lists and their waiters, and the driver's counts.
 * The thread that turns the driver holds 'lock' while it dispatches.
 */
struct cfut__io_shared {
    pthread_mutex_t lock;
    /* guarded by 'lock' */
    bool in_turn;         /* a turn is between its wait and its dispatch */
    struct cfut_io *dead; /* freed during such a turn: freed after it */
};

/*
 * Registers 'fd' with the shared driver 'd', as cfut_io_new() does with
 * an executor's ('trace_key' names the owner in trace events).
 * Returns: as cfut_io_new().
 * Context: any thread.
 */
int cfut__io_new_shared(struct cfut__driver *d, struct cfut__io_shared *sh,
                        const void *trace_key, int fd, struct cfut_io **out);

/* Deregisters and frees 'io' as cfut_io_free() does, but leaves its fd
 * open (a call that fails after registering hands the fd back). */
void cfut__io_free_keep_fd(struct cfut_io *io);

/*
 * Frees the registrations freed while a turn was between its wait and its
 * dispatch (the events it took in may still name them).
 * Context: the turning thread, with 'sh->lock' held, after the dispatch.
 */
void cfut__io_reap(struct cfut__io_shared *sh);

#endif /* CFUT_REACTOR_INT_H */
