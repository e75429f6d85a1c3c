/*
 * read_exact.h: exercise 10, a leaf future on a socket: it reads exactly
 * 'len' bytes, and waits for the reactor to report the socket readable
 * whenever the kernel has nothing for it. The interface the check calls;
 * do not change it. You write read_exact.c.
 */
#ifndef READ_EXACT_H
#define READ_EXACT_H

#include <cfut.h>
#include <stdbool.h>
#include <stddef.h>

/*
 * A future that reads exactly 'len' bytes from a socket registered with
 * the reactor (cfut_io_new() made it non-blocking) into 'buf'. Its output
 * is an int: CFUT_OK once the 'len' bytes are in 'buf'; CFUT_EEOF when
 * the peer closed the connection first; the read's error as -errno.
 * Context: polled on the executor's thread, inside a task.
 * Pinned: from its first poll until drop (it embeds the readiness future
 *   it waits with, which joins the socket's wait list).
 */
struct read_exact {
    struct cfut_future base;
    struct cfut_io *io;          /* the registered socket (borrowed) */
    unsigned char *buf;          /* where the bytes go (borrowed) */
    size_t len;                  /* how many bytes to read */
    size_t got;                  /* how many are in 'buf' so far */
    bool waiting;                /* 'ready' is initialised and awaited */
    struct cfut_readiness ready; /* the readiness future, while waiting */
};

/* Initialises 'r' as a fresh future reading 'len' bytes of 'io' to 'buf'. */
void read_exact_init(struct read_exact *r, struct cfut_io *io, void *buf,
                     size_t len);

#endif /* READ_EXACT_H */
