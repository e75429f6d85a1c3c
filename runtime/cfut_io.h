/*
 * cfut_io.h: async I/O on non-blocking file descriptors registered with the
 * reactor (struct cfut_io): readiness futures (readable, writable), read,
 * write_all (every byte, across partial writes), accept, connect (TCP and
 * Unix), and helpers that make listening sockets and socket pairs.
 *
 * Threading: single-threaded: every future here is polled and dropped on
 * the thread of the executor its registration belongs to; on a pool
 * (registrations of cfut_pool_io_new(), connects polled on a worker), by
 * the pool's tasks on any of its workers, one thread at a time per
 * future (cfut_pool.h, "I/O and time").
 * Lifetime: each future lives in caller storage and is pinned from its
 * first poll until drop; the registration it uses must outlive it.
 * Dropping a pending future takes it off the registration's wait list and
 * drops its waker (cancellation); bytes already moved stay moved.
 * Errors are statuses in the output (cfut_errors.h): CFUT_EEOF when the
 * peer closed cleanly, else the failed system call's error as a negated
 * errno: CFUT_ECONNRESET (-ECONNRESET) when the peer reset the connection,
 * -EPIPE when writing to a peer that is gone, -ECONNREFUSED, -EMFILE, and
 * so on. SIGPIPE never kills the process.
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

/*
 * A socket address of any family (IPv4, IPv6, Unix): 'len' bytes of a
 * struct sockaddr_in, sockaddr_in6 or sockaddr_un ('len' 0: none).
 * cfut_net.h prints and parses them.
 */
struct cfut_sockaddr {
    uint32_t len;
    _Alignas(8) unsigned char bytes[CFUT_SOCKADDR_MAX];
};

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
 * that then returns EAGAIN should call cfut_io_clear_ready(). It looks at
 * the READABLE (WRITABLE) bit only; the sticky CFUT_IO_HUP bit of
 * cfut_io_ready() tells whether the peer has hung up (see cfut_reactor.h:
 * clear READABLE only after EAGAIN, or check HUP first).
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
 * 'len' is 0); CFUT_EEOF when the peer closed (shut its write side);
 * read()'s error as -errno otherwise: CFUT_ECONNRESET when the peer reset
 * the connection, -ETIMEDOUT, -EHOSTUNREACH, ...
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
 * Output: struct cfut_io_result: CFUT_OK with n == len; the write's error
 * as -errno otherwise: -EPIPE when the peer closed (with no SIGPIPE),
 * CFUT_ECONNRESET when it reset the connection, ...; 'n' then counts the
 * bytes written before the error.
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
    int status; /* CFUT_OK, or accept()'s error: -EMFILE, -ENFILE, ... */
    int fd;     /* the connection (non-blocking, close-on-exec), or -1 */
    struct cfut_sockaddr peer; /* the peer's address, when 'status' is 0 */
};

/*
 * A future that accepts one connection on a listening socket. The new fd
 * belongs to the caller (register it with cfut_io_new()). It reports
 * every error of accept() but EINTR and ECONNABORTED (retried), -EMFILE
 * included: a loop over it must not retry at once (cfut_net.h's listener
 * backs off instead).
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
 * polled it; the system's error as -errno when socket() or connect()
 * fails: -ECONNREFUSED (nothing listens there), -ENETUNREACH,
 * -EHOSTUNREACH, -ETIMEDOUT, -ENOENT (no such Unix socket), CFUT_EAGAIN
 * (-EAGAIN: a Unix listener's backlog is full), -EMFILE, ...; CFUT_ENOMEM;
 * CFUT_ESTATE when polled outside an executor and outside a pool (on a
 * pool's worker or in cfut_pool_block_on(), the connection is registered
 * with the pool's shared driver).
 */
struct cfut_connect {
    /* private: do not touch */
    struct cfut_future base;
    _Alignas(8) unsigned char addr[CFUT_SOCKADDR_MAX];
    uint32_t addr_len;
    bool started;
    bool try_v6_loopback; /* "localhost": ::1 after 127.0.0.1 fails */
    int first_error;      /* the failed first attempt's, or 0 */
    struct cfut_io *io;   /* while connecting */
    struct cfut__io_waiter waiter;
};

/*
 * Initialises 'f' to connect to the socket address 'addr' ('len' bytes, a
 * struct sockaddr_in, sockaddr_in6 or sockaddr_un).
 * Ownership: 'addr' is borrowed (copied).
 * Returns: 0; CFUT_EINVAL if 'f' or 'addr' is NULL or 'len' is 0 or larger
 *   than CFUT_SOCKADDR_MAX ('f' is then untouched).
 * Pinned: from its first poll until drop.
 */
CFUT_API int cfut_connect_init(struct cfut_connect *f, const void *addr,
                               size_t len);

/*
 * Initialises 'f' to connect over TCP to 'host' and 'port'. 'host' is an
 * IPv4 literal ("127.0.0.1"), an IPv6 literal ("::1", no brackets) or
 * "localhost", which tries 127.0.0.1 and, if that attempt fails, ::1 (the
 * output then has the first attempt's error). Host names are not resolved
 * by this call (cfut_tcp_connect_init() in cfut_net.h resolves them and
 * gives a stream).
 * Ownership: 'host' is borrowed.
 * Returns: 0; CFUT_EINVAL if 'f' or 'host' is NULL; CFUT_EADDR if 'host'
 *   is a malformed numeric address ("300.1.1.1", "1::2::3", "");
 *   CFUT_EHOSTNAME if it is a host name ("example.com"). 'f' is
 *   initialised only on success.
 * Pinned: from its first poll until drop.
 */
CFUT_API int cfut_connect_tcp_init(struct cfut_connect *f, const char *host,
                                   uint16_t port);

/*
 * Initialises 'f' to connect to the Unix stream socket at 'path'. A path
 * where nothing listens ends the connect with -ENOENT or -ECONNREFUSED.
 * Ownership: 'path' is borrowed (copied).
 * Returns: 0; CFUT_EINVAL if 'f' or 'path' is NULL, or 'path' is empty or
 *   too long.
 * Pinned: from its first poll until drop.
 */
CFUT_API int cfut_unix_connect_init(struct cfut_connect *f, const char *path);

/* ---------------------------------------------------------------------- */
/* Socket helpers                                                          */
/* ---------------------------------------------------------------------- */

/*
 * Opens a non-blocking TCP socket listening on 'host' and 'port' (0: the
 * kernel picks one; see cfut_socket_local_port()). 'host' is an IPv4 or
 * IPv6 literal ("0.0.0.0" and "::" for every interface) or "localhost",
 * which listens on 127.0.0.1 only (one socket, one family: connect to
 * "localhost" tries 127.0.0.1 first). Host names are not resolved by this
 * call. SO_REUSEADDR is set, so a port in TIME_WAIT can be taken again.
 * This is the fd-level helper; cfut_tcp_listen() (cfut_net.h) gives a
 * listener whose accept future hands out streams.
 * Ownership: 'host' is borrowed; '*out_fd' receives the fd, owned by the
 *   caller, and is written only on success.
 * Returns: 0; CFUT_EINVAL if 'host' or 'out_fd' is NULL; CFUT_EADDR if
 *   'host' is a malformed numeric address; CFUT_EHOSTNAME if it is a host
 *   name; the failed system call's error as -errno: -EADDRINUSE (the port
 *   is taken), -EADDRNOTAVAIL (no interface has that address), -EACCES (a
 *   privileged port), -EMFILE, ...
 */
CFUT_API int cfut_tcp_listen_fd(const char *host, uint16_t port, int backlog,
                                int *out_fd);

/*
 * Opens a non-blocking Unix stream socket listening at 'path' (which must
 * not exist yet).
 * Ownership: 'path' is borrowed; '*out_fd' receives the fd, owned by the
 *   caller, and is written only on success.
 * Returns: 0; CFUT_EINVAL if 'path' is NULL, empty or too long, or 'out_fd'
 *   is NULL; the failed system call's error as -errno: -EADDRINUSE if
 *   'path' exists, -ENOENT or -EACCES for its directory, -EMFILE, ...
 */
CFUT_API int cfut_unix_listen_fd(const char *path, int backlog, int *out_fd);

/*
 * Writes the local port of the IP socket 'fd' to '*out'.
 * Returns: 0; CFUT_EINVAL if 'out' is NULL or 'fd' is a socket of another
 *   family; getsockname()'s error as -errno (-EBADF, -ENOTSOCK).
 */
CFUT_API int cfut_socket_local_port(int fd, uint16_t *out);

/*
 * Creates a connected pair of non-blocking, close-on-exec Unix stream
 * sockets in 'out[0]' and 'out[1]' (owned by the caller).
 * Returns: 0; CFUT_EINVAL if 'out' is NULL; socketpair()'s error as -errno
 *   (-EMFILE, -ENFILE).
 */
CFUT_API int cfut_socketpair(int out[2]);

#ifdef __cplusplus
}
#endif

#endif /* CFUT_IO_H */
