/*
 * cfut_io.h: async I/O on non-blocking file descriptors registered with the
 * reactor (struct cfut_io): readiness futures (readable, writable), read,
 * write_all (every byte, across partial writes), accept, connect (TCP and
 * Unix), and helpers that make listening sockets and socket pairs.
 *
 * Threading: single-threaded: every future here is polled and dropped on
 * the thread of the executor its registration belongs to.
 * Lifetime: each future lives in caller storage and is pinned from its
 * first poll until drop; the registration it uses must outlive it.
 * Dropping a pending future takes it off the registration's wait list and
 * drops its waker (cancellation); bytes already moved stay moved.
 * Errors are statuses in the output: CFUT_EEOF (the peer closed cleanly)
 * is distinct from CFUT_ECONNRESET (reset, or writing to a closed peer)
 * and CFUT_EIO (any other failure). SIGPIPE never kills the process.
 */
#ifndef CFUT_IO_H
#define CFUT_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cfut_executor.h"
#include "cfut_future.h"
#include "cfut_reactor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The largest socket address a connect future holds (sockaddr_storage). */
#define CFUT_SOCKADDR_MAX 128

/* The output of read and write_all. */
struct cfut_io_result {
    int status; /* CFUT_OK or an error (see each future) */
    size_t n;   /* bytes moved (for write_all: also on error) */
};

/* ---------------------------------------------------------------------- */
/* Readiness                                                               */
/* ---------------------------------------------------------------------- */

/*
 * A future that finishes when its registration is readable (or writable):
 * when the reactor has seen the event and the bit was not cleared since.
 * Output: an int, always CFUT_OK. Readiness may be spurious: an operation
 * that then returns EAGAIN should call cfut_io_clear_ready().
 */
struct cfut_readiness {
    /* private: do not touch */
    struct cfut_future base;
    struct cfut_io *io;
    unsigned mask; /* CFUT_IO_READABLE or CFUT_IO_WRITABLE */
    struct cfut__io_waiter waiter;
};

/*
 * Initialises 'f' to finish when 'io' is readable.
 * Ownership: 'io' is kept until 'f' is dropped.
 * Pinned: from its first poll until drop.
 */
CFUT_API void cfut_readable_init(struct cfut_readiness *f, struct cfut_io *io);

/*
 * Initialises 'f' to finish when 'io' is writable.
 * Ownership: 'io' is kept until 'f' is dropped.
 * Pinned: from its first poll until drop.
 */
CFUT_API void cfut_writable_init(struct cfut_readiness *f, struct cfut_io *io);

/* ---------------------------------------------------------------------- */
/* Read and write                                                          */
/* ---------------------------------------------------------------------- */

/*
 * A future that reads at most 'len' bytes once some are available.
 * Output: struct cfut_io_result: CFUT_OK with n >= 1 (n == 0 only when
 * 'len' is 0); CFUT_EEOF when the peer closed; CFUT_ECONNRESET when it
 * reset the connection; CFUT_EIO on any other error.
 */
struct cfut_read {
    /* private: do not touch */
    struct cfut_future base;
    struct cfut_io *io;
    void *buf;
    size_t len;
    struct cfut__io_waiter waiter;
};

/*
 * Initialises 'f' to read into 'buf' (at most 'len' bytes) from 'io'.
 * Ownership: 'io' and 'buf' are kept until 'f' is dropped.
 * Pinned: from its first poll until drop.
 */
CFUT_API void cfut_read_init(struct cfut_read *f, struct cfut_io *io, void *buf,
                             size_t len);

/*
 * A future that writes all 'len' bytes, across partial writes.
 * Output: struct cfut_io_result: CFUT_OK with n == len; CFUT_ECONNRESET
 * when the peer is gone (reset or closed: EPIPE, with no SIGPIPE);
 * CFUT_EIO on any other error; 'n' then counts the bytes written before.
 */
struct cfut_write_all {
    /* private: do not touch */
    struct cfut_future base;
    struct cfut_io *io;
    const void *buf;
    size_t len;
    size_t done;
    struct cfut__io_waiter waiter;
};

/*
 * Initialises 'f' to write the 'len' bytes at 'buf' to 'io'.
 * Ownership: 'io' and 'buf' are kept until 'f' is dropped.
 * Pinned: from its first poll until drop.
 */
CFUT_API void cfut_write_all_init(struct cfut_write_all *f, struct cfut_io *io,
                                  const void *buf, size_t len);

/* ---------------------------------------------------------------------- */
/* Accept and connect                                                      */
/* ---------------------------------------------------------------------- */

/* The output of accept. */
struct cfut_accept_result {
    int status; /* CFUT_OK, or CFUT_EIO (e.g. out of descriptors) */
    int fd;     /* the connection (non-blocking, close-on-exec), or -1 */
};

/*
 * A future that accepts one connection on a listening socket. The new fd
 * belongs to the caller (register it with cfut_io_new()).
 */
struct cfut_accept {
    /* private: do not touch */
    struct cfut_future base;
    struct cfut_io *io;
    struct cfut__io_waiter waiter;
};

/*
 * Initialises 'f' to accept on the listening registration 'io'.
 * Ownership: 'io' is kept until 'f' is dropped.
 * Pinned: from its first poll until drop.
 */
CFUT_API void cfut_accept_init(struct cfut_accept *f, struct cfut_io *io);

/* The output of connect. */
struct cfut_connect_result {
    int status;         /* see struct cfut_connect */
    struct cfut_io *io; /* the connected registration (owned), or NULL */
};

/*
 * A future that opens a stream socket and connects it. Output: struct
 * cfut_connect_result: CFUT_OK with a registration on the executor that
 * polled it; CFUT_EADDR when the peer refused or cannot be reached;
 * CFUT_EAGAIN when a Unix listener's backlog is full; CFUT_ENOMEM;
 * CFUT_ESTATE when polled outside an executor; CFUT_EIO otherwise.
 */
struct cfut_connect {
    /* private: do not touch */
    struct cfut_future base;
    _Alignas(8) unsigned char addr[CFUT_SOCKADDR_MAX];
    uint32_t addr_len;
    bool started;
    struct cfut_io *io; /* while connecting */
    struct cfut__io_waiter waiter;
};

/*
 * Initialises 'f' to connect to the socket address 'addr' ('len' bytes, a
 * struct sockaddr_in, sockaddr_in6 or sockaddr_un).
 * Ownership: 'addr' is borrowed (copied).
 * Returns: 0; CFUT_EINVAL if 'addr' is NULL or 'len' is 0 or larger than
 *   CFUT_SOCKADDR_MAX ('f' is then untouched).
 * Pinned: from its first poll until drop.
 */
CFUT_API int cfut_connect_init(struct cfut_connect *f, const void *addr,
                               size_t len);

/*
 * Initialises 'f' to connect over TCP to 'ip' (an IPv4 or IPv6 literal)
 * and 'port'.
 * Returns: 0; CFUT_EADDR if 'ip' does not parse; CFUT_EINVAL if it is NULL.
 */
CFUT_API int cfut_tcp_connect_init(struct cfut_connect *f, const char *ip,
                                   uint16_t port);

/*
 * Initialises 'f' to connect to the Unix stream socket at 'path'.
 * Returns: 0; CFUT_EINVAL if 'path' is NULL, empty or too long.
 */
CFUT_API int cfut_unix_connect_init(struct cfut_connect *f, const char *path);

/* ---------------------------------------------------------------------- */
/* Socket helpers                                                          */
/* ---------------------------------------------------------------------- */

/*
 * Opens a non-blocking TCP socket listening on 'ip' (IPv4 or IPv6 literal)
 * and 'port' (0: the kernel picks one; see cfut_socket_local_port()).
 * Ownership: '*out_fd' receives the fd, owned by the caller.
 * Returns: 0; CFUT_EINVAL if 'ip' or 'out_fd' is NULL; CFUT_EADDR if 'ip'
 *   does not parse or cannot be bound; CFUT_EBUSY if the address is in
 *   use; CFUT_EIO when another call fails.
 */
CFUT_API int cfut_tcp_listen(const char *ip, uint16_t port, int backlog,
                             int *out_fd);

/*
 * Opens a non-blocking Unix stream socket listening at 'path' (which must
 * not exist yet).
 * Ownership: '*out_fd' receives the fd, owned by the caller.
 * Returns: 0; CFUT_EINVAL if 'path' is NULL, empty or too long, or 'out_fd'
 *   is NULL; CFUT_EBUSY if 'path' exists; CFUT_EADDR if it cannot be
 *   bound; CFUT_EIO when another call fails.
 */
CFUT_API int cfut_unix_listen(const char *path, int backlog, int *out_fd);

/*
 * Writes the local port of the IP socket 'fd' to '*out'.
 * Returns: 0; CFUT_EINVAL if 'fd' is not an IP socket or 'out' is NULL.
 */
CFUT_API int cfut_socket_local_port(int fd, uint16_t *out);

/*
 * Creates a connected pair of non-blocking, close-on-exec Unix stream
 * sockets in 'out[0]' and 'out[1]' (owned by the caller).
 * Returns: 0; CFUT_EINVAL if 'out' is NULL; CFUT_EIO.
 */
CFUT_API int cfut_socketpair(int out[2]);

#ifdef __cplusplus
}
#endif

#endif /* CFUT_IO_H */
