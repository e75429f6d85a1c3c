/*
 * cfut_reactor_int.h: what the I/O futures (cfut_io.c) need from the
 * reactor: the wait lists of a registration and whether it is a socket.
 * Internal: never included by a public header.
 */
#ifndef CFUT_REACTOR_INT_H
#define CFUT_REACTOR_INT_H

#include <stdbool.h>

#include "cfut_reactor.h"

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

#endif /* CFUT_REACTOR_INT_H */
