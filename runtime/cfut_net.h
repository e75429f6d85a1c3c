/*
 * cfut_net.h: network connections as streams: socket addresses and their
 * printable form, name resolution (getaddrinfo on the blocking pool), a
 * listener (TCP or Unix) whose accept future hands out connected streams
 * and their peers' addresses, and TCP connect by host name. It sits on
 * the fd-level calls of cfut_io.h and gives struct cfut_stream, the type
 * buffered I/O (cfut_bufio.h) and the transport run over.
 *
 * Threading: single-threaded: a listener and its futures belong to the
 * executor they were made on, and are used on its thread. Resolution
 * runs on a pool thread; its future completes on the executor.
 * Lifetime: a listener is a heap object, freed by cfut_listener_free();
 * the streams it hands out are the caller's (cfut_stream_close()).
 * Futures live in caller storage, pinned from their first poll until
 * drop; dropping one cancels it (a pending resolution's result is
 * discarded, a pending connect's socket is closed).
 */
#ifndef CFUT_NET_H
#define CFUT_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cfut_blocking.h"
#include "cfut_executor.h"
#include "cfut_future.h"
#include "cfut_io.h"
#include "cfut_stream.h"
#include "cfut_time.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------- */
/* Addresses                                                               */
/* ---------------------------------------------------------------------- */

/* Room for the printable form of any address, its final 0 included. */
#define CFUT_SOCKADDR_STRLEN 128

/*
 * Writes the printable form of 'a' to 'buf': "192.0.2.1:80", "[::1]:80",
 * "[fe80::1%eth0]:80", "unix:/run/x.sock", "unix:@name" (an abstract
 * Unix address), "unix:" (an unnamed one), ended by a 0 byte.
 * CFUT_SOCKADDR_STRLEN bytes are always enough.
 * Ownership: 'a' is borrowed; 'buf' is written only on success.
 * Returns: 0; CFUT_EINVAL if a pointer is NULL or 'a' holds no address
 *   of a known family; CFUT_EMSGSIZE if 'cap' bytes are too few.
 * Context: anywhere.
 */
CFUT_API int cfut_sockaddr_format(const struct cfut_sockaddr *a, char *buf,
                                  size_t cap);

/* Returns the port of the IP address 'a', or 0 for another family. */
CFUT_API uint16_t cfut_sockaddr_port(const struct cfut_sockaddr *a);

/*
 * Parses "HOST:PORT" into 'host' (at most 'cap' bytes with its final 0)
 * and '*port': HOST is a name, an IPv4 literal, "[IPv6]" (written without
 * brackets) or empty (":8080"); PORT is decimal, 0 to 65535.
 * Ownership: 'addr' is borrowed; 'host' and 'port' are written only on
 *   success.
 * Returns: 0; CFUT_EINVAL if a pointer is NULL; CFUT_EADDR if 'addr' has
 *   no ":PORT", a bad port, unbalanced brackets, or a host longer than
 *   'cap' - 1 bytes.
 * Context: anywhere.
 */
CFUT_API int cfut_hostport_split(const char *addr, char *host, size_t cap,
                                 uint16_t *port);

/* ---------------------------------------------------------------------- */
/* Name resolution                                                         */
/* ---------------------------------------------------------------------- */

/* The most addresses a resolution keeps (more are dropped). */
#define CFUT_RESOLVE_MAX_ADDRS 32
/* The longest host name taken (a DNS name has at most 253 bytes). */
#define CFUT_HOSTNAME_MAX 255

/* Which address families to resolve to. */
enum cfut_family { CFUT_FAMILY_ANY = 0, CFUT_FAMILY_IPV4, CFUT_FAMILY_IPV6 };

/* Addresses from a resolution, in getaddrinfo()'s order (RFC 6724). */
struct cfut_addrlist {
    size_t n;                    /* at least 1 */
    struct cfut_sockaddr addr[]; /* each with the port asked for */
};

/* Frees 'l' (from a resolution). NULL is a no-op. */
CFUT_API void cfut_addrlist_free(struct cfut_addrlist *l);

/* The output of a resolution. */
struct cfut_resolve_result {
    int status;                  /* see struct cfut_resolve */
    struct cfut_addrlist *addrs; /* the caller's when 'status' is 0 */
};

/*
 * A future that resolves a host name to stream socket addresses with
 * getaddrinfo() on a blocking pool. A numeric host (IPv4 or IPv6
 * literal) is converted at once, without the pool. Output: struct
 * cfut_resolve_result:
 *   0 with the list of addresses (free it with cfut_addrlist_free());
 *   CFUT_EAI_NONAME: no such host; CFUT_EAI_NODATA: the host has no
 *     address of the family asked for; CFUT_EAI_AGAIN: no answer now
 *     (try again); CFUT_EAI_FAIL: the name server failed;
 *   CFUT_ENOMEM; the system's error as -errno (EAI_SYSTEM);
 *   CFUT_ECANCELED: the pool was shut down first; the pool's errors when
 *     it could not start a thread (see struct cfut_blocking).
 * Dropping it while the lookup runs leaves that lookup to finish on its
 * thread, and its result is freed there.
 */
struct cfut_resolve {
    /* private: do not touch */
    struct cfut_future base;
    struct cfut_blocking job;
    bool numeric;  /* 'addr' holds the answer: no job */
    size_t n_addr; /* of 'addr' */
    struct cfut_sockaddr addr[2];
};

/*
 * Initialises 'f' to resolve 'host' (a name or a numeric address) with
 * 'port' in every address, to addresses of 'family', on 'pool' (NULL:
 * the default pool, cfut_blocking.h).
 * Ownership: 'host' is borrowed (copied); 'pool' is kept until 'f' is
 *   dropped.
 * Returns: 0; CFUT_EINVAL if 'f' or 'host' is NULL or 'family' is not one
 *   of enum cfut_family; CFUT_EADDR if 'host' is empty or longer than
 *   CFUT_HOSTNAME_MAX; CFUT_ENOMEM; the errors of
 *   cfut_blocking_pool_default() when 'pool' is NULL. 'f' is initialised
 *   only on success.
 * Pinned: from its first poll until drop.
 * Context: the thread of the executor that will poll it.
 */
CFUT_API int cfut_resolve_init(struct cfut_resolve *f, const char *host,
                               uint16_t port, enum cfut_family family,
                               struct cfut_blocking_pool *pool);

/* ---------------------------------------------------------------------- */
/* Options                                                                 */
/* ---------------------------------------------------------------------- */

/*
 * Options of listeners and connections; zeroed fields (or a NULL pointer)
 * take the defaults: backlog SOMAXCONN, SO_REUSEADDR on, SO_REUSEPORT
 * off, TCP_NODELAY on, the default blocking pool for names.
 *
 * TCP_NODELAY is on by default, on accepted and connected sockets alike,
 * as in Go's net package: cfut's writers already gather what they send
 * (the buffered writer, the transport's batches), so Nagle's algorithm
 * would only add a round trip of delay to a small request or reply.
 */
struct cfut_tcp_options {
    int backlog;        /* listen(): connections waiting to be accepted */
    bool no_reuse_addr; /* listen: leave SO_REUSEADDR off */
    bool reuse_port;    /* listen: set SO_REUSEPORT (several listeners
                           of this user share the port) */
    bool nagle;         /* accept, connect: leave TCP_NODELAY off */
    struct cfut_blocking_pool *pool; /* connect: resolves names there */
};

/* ---------------------------------------------------------------------- */
/* Listeners                                                               */
/* ---------------------------------------------------------------------- */

/* A listening socket registered with an executor (opaque). */
struct cfut_listener;

/*
 * Starts listening on "HOST:PORT" (cfut_hostport_split()): HOST is an
 * IPv4 or IPv6 literal ("[::1]:8080"), "localhost" (127.0.0.1), or
 * empty for every IPv4 interface (":8080", as "0.0.0.0:8080"); PORT 0
 * lets the kernel pick (cfut_listener_port() says which).
 * Ownership: 'addr' and 'opt' are borrowed; '*out' receives the listener,
 *   freed with cfut_listener_free().
 * Returns: 0; CFUT_EINVAL if 'ex', 'addr' or 'out' is NULL; CFUT_EADDR if
 *   'addr' does not parse or its host is a malformed numeric address;
 *   CFUT_EHOSTNAME if the host is a name (resolve it first); CFUT_ENOMEM;
 *   the failed system call's error as -errno: -EADDRINUSE (the port is
 *   taken), -EADDRNOTAVAIL (no interface has that address), -EACCES (a
 *   privileged port), -EMFILE, ...
 * Context: the executor's thread.
 */
CFUT_API int cfut_tcp_listen(struct cfut_executor *ex, const char *addr,
                             const struct cfut_tcp_options *opt,
                             struct cfut_listener **out);

/*
 * Starts listening on 'host' (as in cfut_tcp_listen(), "" for every IPv4
 * interface, "::" for every interface) and 'port'.
 * Ownership, Returns, Context: as cfut_tcp_listen().
 */
CFUT_API int cfut_tcp_listen_host(struct cfut_executor *ex, const char *host,
                                  uint16_t port,
                                  const struct cfut_tcp_options *opt,
                                  struct cfut_listener **out);

/*
 * Starts listening on the Unix stream socket 'path' (which must not
 * exist yet; unlink it when done).
 * Ownership: 'path' and 'opt' are borrowed; '*out' receives the listener.
 * Returns: 0; CFUT_EINVAL if a pointer is NULL or 'path' is empty or too
 *   long; CFUT_ENOMEM; the failed system call's error as -errno:
 *   -EADDRINUSE if 'path' exists, -ENOENT or -EACCES for its directory, ...
 * Context: the executor's thread.
 */
CFUT_API int cfut_unix_listen(struct cfut_executor *ex, const char *path,
                              const struct cfut_tcp_options *opt,
                              struct cfut_listener **out);

/*
 * Makes a listener of 'fd', a stream socket already listening (from
 * cfut_tcp_listen_fd(), or inherited from a service manager).
 * Ownership: 'fd' is taken on success (the listener closes it) and left
 *   to the caller on failure; 'opt' is borrowed (its listen fields are
 *   not used).
 * Returns: 0; CFUT_EINVAL if 'ex' or 'out' is NULL or 'fd' is negative;
 *   CFUT_ENOMEM; the reactor's refusal as -errno (see cfut_io_new()).
 * Context: the executor's thread.
 */
CFUT_API int cfut_listener_from_fd(struct cfut_executor *ex, int fd,
                                   const struct cfut_tcp_options *opt,
                                   struct cfut_listener **out);

/*
 * Closes and frees 'l'. No accept future of 'l' may be alive (aborts
 * with a message if one waits). Streams it handed out stay open.
 * Ownership: 'l' is taken. NULL is a no-op.
 * Context: the executor's thread.
 */
CFUT_API void cfut_listener_free(struct cfut_listener *l);

/* Returns the port 'l' listens on (0 for a Unix listener). */
CFUT_API uint16_t cfut_listener_port(const struct cfut_listener *l);

/*
 * Writes the address 'l' listens on to '*out'.
 * Returns: 0; CFUT_EINVAL if 'out' is NULL; getsockname()'s error.
 */
CFUT_API int cfut_listener_local_addr(const struct cfut_listener *l,
                                      struct cfut_sockaddr *out);

/* Returns the executor 'l' belongs to. */
CFUT_API struct cfut_executor *
cfut_listener_executor(const struct cfut_listener *l);

/* What a listener has done (cfut_listener_stats()). */
struct cfut_listener_stats {
    uint64_t n_accepted; /* connections handed out */
    uint64_t n_backoffs; /* waits after running out of descriptors */
    int last_error;      /* the error of the last failed accept(), or 0 */
};

/* Writes what 'l' has done to '*out'. */
CFUT_API void cfut_listener_stats(const struct cfut_listener *l,
                                  struct cfut_listener_stats *out);

/* The first and longest wait of an accept that ran out of descriptors. */
#define CFUT_ACCEPT_BACKOFF_MIN_NS CFUT_MSEC(5)
#define CFUT_ACCEPT_BACKOFF_MAX_NS CFUT_MSEC(500)

/* The output of accept (and of connect). */
struct cfut_accepted {
    int status;                 /* see struct cfut_listener_accept */
    struct cfut_stream *stream; /* the connection (the caller's), or NULL */
    struct cfut_sockaddr peer;  /* the peer's address */
};

/*
 * A future that accepts the next connection of a listener and makes it a
 * stream on the listener's executor (TCP_NODELAY set unless the options
 * say 'nagle'). Output: struct cfut_accepted:
 *   0 with the stream and the peer's address;
 *   CFUT_ENOMEM: the connection was accepted but could not be made a
 *     stream: it is closed, and the next accept goes on;
 *   accept()'s error as -errno for errors that say the listener itself is
 *     wrong (-EBADF, -EINVAL: not listening, -ENOTSOCK, ...).
 * It does not return for the errors of one connection (ECONNABORTED,
 * EPROTO, EPERM, network errors: the next is taken), nor when the process
 * or system runs out of descriptors or buffers (EMFILE, ENFILE, ENOBUFS,
 * ENOMEM): then it waits on a timer, 5 ms at first and twice as long
 * each time up to 500 ms, and tries again, so the executor keeps serving
 * the connections it has instead of spinning on accept() (libuv learned
 * this). cfut_listener_stats() counts these waits.
 * Several accept futures of one listener may wait at once.
 */
struct cfut_listener_accept {
    /* private: do not touch */
    struct cfut_future base;
    struct cfut_listener *l;
    bool accepting; /* 'acc' is initialised and not yet dropped */
    bool sleeping;  /* 'nap' is initialised and not yet dropped */
    uint64_t backoff;
    struct cfut_accept acc;
    struct cfut_sleep nap;
};

/*
 * Initialises 'f' to accept on 'l'.
 * Ownership: 'l' is kept until 'f' is dropped.
 * Pinned: from its first poll until drop.
 */
CFUT_API void cfut_listener_accept_init(struct cfut_listener_accept *f,
                                        struct cfut_listener *l);

/* ---------------------------------------------------------------------- */
/* Connecting                                                              */
/* ---------------------------------------------------------------------- */

/*
 * A future that connects over TCP to a host by name or number: a name is
 * resolved first (struct cfut_resolve), then each address is tried in
 * order until one connects. Output: struct cfut_accepted:
 *   0 with a stream on the executor that polls it (TCP_NODELAY set unless
 *     the options say 'nagle') and the address it reached;
 *   the resolution's error (CFUT_EAI_NONAME, ...);
 *   when every address fails, the first one's error as -errno:
 *     -ECONNREFUSED (nothing listens), -ENETUNREACH, -EHOSTUNREACH,
 *     -ETIMEDOUT, -EMFILE, ...;
 *   CFUT_ENOMEM; CFUT_ESTATE when polled outside an executor.
 * It has no timeout of its own: wrap it in cfut_timeout_init().
 */
struct cfut_tcp_connect {
    /* private: do not touch */
    struct cfut_future base;
    int state;
    bool nagle;
    int first_error;
    size_t next;
    struct cfut_addrlist *addrs;
    struct cfut_resolve res;
    struct cfut_connect conn;
};

/*
 * Initialises 'f' to connect to "HOST:PORT" (cfut_hostport_split(): a
 * name, an IPv4 literal or "[IPv6]").
 * Ownership: 'addr' and 'opt' are borrowed (copied).
 * Returns: 0; CFUT_EINVAL if 'f' or 'addr' is NULL; CFUT_EADDR if 'addr'
 *   does not parse, its host is empty or a malformed numeric address;
 *   and the errors of cfut_resolve_init(). 'f' is initialised only on
 *   success.
 * Pinned: from its first poll until drop.
 * Context: the thread of the executor that will poll it.
 */
CFUT_API int cfut_tcp_connect_init(struct cfut_tcp_connect *f, const char *addr,
                                   const struct cfut_tcp_options *opt);

/*
 * Initialises 'f' to connect to 'host' (a name or a numeric address,
 * IPv6 without brackets) and 'port'; as cfut_tcp_connect_init().
 */
CFUT_API int cfut_tcp_connect_host_init(struct cfut_tcp_connect *f,
                                        const char *host, uint16_t port,
                                        const struct cfut_tcp_options *opt);

#ifdef __cplusplus
}
#endif

#endif /* CFUT_NET_H */
