/*
 * cfut_io_int.h: what the fd-level I/O (cfut_io.c) shares with the
 * stream-level network calls (cfut_net.c, cfut_resolve.c): the parser of
 * numeric hosts, the listening-socket helper, an address's family.
 * Internal: never included by a public header.
 */
#ifndef CFUT_IO_INT_H
#define CFUT_IO_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "cfut_io.h"

/* Returns the family of 'a' (AF_UNSPEC when it holds no address). */
static inline int
cfut__sockaddr_family(const struct cfut_sockaddr *a)
{
    if (a->len < sizeof(sa_family_t))
        return AF_UNSPEC;
    return ((const struct sockaddr *)(const void *)a->bytes)->sa_family;
}

/* Tells whether 'host' names this machine's loopback: "localhost". */
bool cfut__is_localhost(const char *host);

/*
 * Parses 'host' and 'port' into 'ss': an IPv4 or IPv6 literal, or
 * "localhost" (127.0.0.1). Writes the address's length to '*len'.
 * Returns: 0; CFUT_EADDR for a malformed numeric address (digits, dots
 *   and colons only, or empty); CFUT_EHOSTNAME for anything else, which
 *   needs a resolver.
 */
int cfut__parse_host(const char *host, uint16_t port,
                     struct sockaddr_storage *ss, socklen_t *len);

/*
 * Fills 'un' and '*len' with the Unix address 'path'.
 * Returns: 0; CFUT_EINVAL if 'path' is NULL, empty or too long.
 */
int cfut__parse_unix(const char *path, struct sockaddr_un *un, socklen_t *len);

/*
 * Opens a non-blocking, close-on-exec stream socket of the family of
 * 'sa', sets SO_REUSEADDR and SO_REUSEPORT as asked (IP only), binds it to
 * 'sa' and listens with 'backlog'; '*out_fd' gets it on success.
 * Returns: 0; the failed call's error as -errno.
 */
int cfut__listen_socket(const struct sockaddr *sa, socklen_t len, int backlog,
                        bool reuse_addr, bool reuse_port, int *out_fd);

#endif /* CFUT_IO_INT_H */
