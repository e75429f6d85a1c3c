/*
 * cfut_net.c: the listener with its backing-off accept future, and TCP
 * connect by name (resolve with cfut_resolve.c, then each address in
 * order). Socket calls of its own are few: it builds on cfut_io.c's
 * futures and the fd stream.
 */
#define _GNU_SOURCE
#include "cfut_net.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cfut_io_int.h"

/* ---------------------------------------------------------------------- */
/* Listeners                                                               */
/* ---------------------------------------------------------------------- */

struct cfut_listener {
    struct cfut_executor *ex;
    struct cfut_io *io;
    bool nagle;
    struct cfut_listener_stats st;
};

int
cfut_listener_from_fd(struct cfut_executor *ex, int fd,
                      const struct cfut_tcp_options *opt,
                      struct cfut_listener **out)
{
    if (ex == NULL || fd < 0 || out == NULL)
        return CFUT_EINVAL;
    struct cfut_listener *l = cfut_alloc(sizeof *l);
    if (l == NULL)
        return CFUT_ENOMEM;
    int rc = cfut_io_new(ex, fd, &l->io);
    if (rc != CFUT_OK) {
        cfut_free(l);
        return rc;
    }
    l->ex = ex;
    l->nagle = opt != NULL && opt->nagle;
    memset(&l->st, 0, sizeof l->st);
    *out = l;
    return CFUT_OK;
}

/* Listens on 'sa' with 'opt' and makes the listener. */
static int
listen_on(struct cfut_executor *ex, const struct sockaddr *sa, socklen_t len,
          const struct cfut_tcp_options *opt, struct cfut_listener **out)
{
    int backlog = opt != NULL && opt->backlog > 0 ? opt->backlog : SOMAXCONN;
    int fd;
    int rc = cfut__listen_socket(sa, len, backlog,
                                 opt == NULL || !opt->no_reuse_addr,
                                 opt != NULL && opt->reuse_port, &fd);
    if (rc != CFUT_OK)
        return rc;
    rc = cfut_listener_from_fd(ex, fd, opt, out);
    if (rc != CFUT_OK)
        close(fd);
    return rc;
}

int
cfut_tcp_listen_host(struct cfut_executor *ex, const char *host, uint16_t port,
                     const struct cfut_tcp_options *opt,
                     struct cfut_listener **out)
{
    if (ex == NULL || host == NULL || out == NULL)
        return CFUT_EINVAL;
    struct sockaddr_storage ss;
    socklen_t len;
    int rc =
        cfut__parse_host(host[0] == '\0' ? "0.0.0.0" : host, port, &ss, &len);
    if (rc != CFUT_OK)
        return rc;
    return listen_on(ex, (const struct sockaddr *)&ss, len, opt, out);
}

int
cfut_tcp_listen(struct cfut_executor *ex, const char *addr,
                const struct cfut_tcp_options *opt, struct cfut_listener **out)
{
    if (ex == NULL || addr == NULL || out == NULL)
        return CFUT_EINVAL;
    char host[CFUT_HOSTNAME_MAX + 1];
    uint16_t port;
    int rc = cfut_hostport_split(addr, host, sizeof host, &port);
    if (rc != CFUT_OK)
        return rc;
    return cfut_tcp_listen_host(ex, host, port, opt, out);
}

int
cfut_unix_listen(struct cfut_executor *ex, const char *path,
                 const struct cfut_tcp_options *opt, struct cfut_listener **out)
{
    if (ex == NULL || out == NULL)
        return CFUT_EINVAL;
    struct sockaddr_un un;
    socklen_t len;
    int rc = cfut__parse_unix(path, &un, &len);
    if (rc != CFUT_OK)
        return rc;
    return listen_on(ex, (const struct sockaddr *)&un, len, opt, out);
}

void
cfut_listener_free(struct cfut_listener *l)
{
    if (l == NULL)
        return;
    cfut_io_free(l->io); /* aborts if an accept still waits */
    cfut_free(l);
}

uint16_t
cfut_listener_port(const struct cfut_listener *l)
{
    struct cfut_sockaddr a;
    if (cfut_listener_local_addr(l, &a) != CFUT_OK)
        return 0;
    return cfut_sockaddr_port(&a);
}

int
cfut_listener_local_addr(const struct cfut_listener *l,
                         struct cfut_sockaddr *out)
{
    if (out == NULL)
        return CFUT_EINVAL;
    struct cfut_sockaddr a;
    memset(&a, 0, sizeof a);
    socklen_t len = sizeof a.bytes;
    if (getsockname(cfut_io_fd(l->io), (struct sockaddr *)(void *)a.bytes,
                    &len) != 0)
        return -errno;
    a.len = len;
    *out = a;
    return CFUT_OK;
}

struct cfut_executor *
cfut_listener_executor(const struct cfut_listener *l)
{
    return l->ex;
}

void
cfut_listener_stats(const struct cfut_listener *l,
                    struct cfut_listener_stats *out)
{
    *out = l->st;
}

/* Sets TCP_NODELAY on an IP socket unless 'nagle'. */
static void
set_nodelay(int fd, const struct cfut_sockaddr *peer, bool nagle)
{
    int fam = cfut__sockaddr_family(peer);
    if (nagle || (fam != AF_INET && fam != AF_INET6))
        return;
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

/* Errors of one pending connection: take the next (accept(2), Linux). */
static bool
is_connection_error(int st)
{
    switch (-st) {
    case ECONNABORTED:
    case EPROTO:
    case EPERM:
    case ENETDOWN:
    case ENOPROTOOPT:
    case EHOSTDOWN:
    case ENONET:
    case EHOSTUNREACH:
    case EOPNOTSUPP:
    case ENETUNREACH:
    case ETIMEDOUT:
    case ECONNRESET:
        return true;
    default:
        return false;
    }
}

/* Errors of exhausted resources: wait, then try again. */
static bool
is_resource_error(int st)
{
    return st == -EMFILE || st == -ENFILE || st == -ENOBUFS || st == -ENOMEM;
}

/*
 * States: backing off (a timer after running out of descriptors); then
 * accepting (cfut_accept on the listening registration). A connection:
 * make it a stream, READY. A connection's error: accept the next. A
 * resource error: arm the timer (5 ms, doubling to 500 ms). Another
 * error: READY with it.
 */
static enum cfut_poll
cfut_listener_accept_poll(struct cfut_future *base, struct cfut_context *cx,
                          void *out)
{
    struct cfut_listener_accept *f =
        cfut_container_of(base, struct cfut_listener_accept, base);
    struct cfut_listener *l = f->l;
    struct cfut_accepted *res = out;
    for (;;) {
        if (f->sleeping) {
            int st;
            if (cfut_future_poll(&f->nap.base, cx, &st) == CFUT_PENDING)
                return CFUT_PENDING;
            cfut_future_drop(&f->nap.base);
            f->sleeping = false;
            if (st != CFUT_OK) { /* the timer could not be armed */
                *res = (struct cfut_accepted){.status = st, .stream = NULL};
                return CFUT_READY;
            }
        }
        if (!f->accepting) {
            cfut_accept_init(&f->acc, l->io);
            f->accepting = true;
        }
        struct cfut_accept_result r;
        if (cfut_future_poll(&f->acc.base, cx, &r) == CFUT_PENDING)
            return CFUT_PENDING;
        cfut_future_drop(&f->acc.base);
        f->accepting = false;
        if (r.status == CFUT_OK) {
            f->backoff = 0;
            set_nodelay(r.fd, &r.peer, l->nagle);
            struct cfut_stream *s;
            int rc = cfut_fd_stream_new(l->ex, r.fd, &s);
            if (rc != CFUT_OK) {
                close(r.fd);
                *res = (struct cfut_accepted){.status = rc, .stream = NULL};
                return CFUT_READY;
            }
            l->st.n_accepted++;
            *res = (struct cfut_accepted){0, s, r.peer};
            return CFUT_READY;
        }
        l->st.last_error = r.status;
        if (is_connection_error(r.status))
            continue;
        if (!is_resource_error(r.status)) {
            *res = (struct cfut_accepted){.status = r.status, .stream = NULL};
            return CFUT_READY;
        }
        f->backoff = f->backoff == 0 ? CFUT_ACCEPT_BACKOFF_MIN_NS
                     : 2 * f->backoff > CFUT_ACCEPT_BACKOFF_MAX_NS
                         ? CFUT_ACCEPT_BACKOFF_MAX_NS
                         : 2 * f->backoff;
        l->st.n_backoffs++;
        cfut_sleep_init(&f->nap, f->backoff);
        f->sleeping = true;
    }
}

static void
cfut_listener_accept_drop(struct cfut_future *base)
{
    struct cfut_listener_accept *f =
        cfut_container_of(base, struct cfut_listener_accept, base);
    if (f->accepting)
        cfut_future_drop(&f->acc.base);
    if (f->sleeping)
        cfut_future_drop(&f->nap.base);
}

static const struct cfut_future_vtable cfut_listener_accept_vtable = {
    cfut_listener_accept_poll, cfut_listener_accept_drop,
    sizeof(struct cfut_accepted), "listener_accept", NULL};

void
cfut_listener_accept_init(struct cfut_listener_accept *f,
                          struct cfut_listener *l)
{
    cfut_future_init(&f->base, &cfut_listener_accept_vtable);
    f->l = l;
    f->accepting = false;
    f->sleeping = false;
    f->backoff = 0;
}

/* ---------------------------------------------------------------------- */
/* Connecting                                                              */
/* ---------------------------------------------------------------------- */

enum { CONNECT_RESOLVING, CONNECT_TRYING, CONNECT_DONE };

/*
 * Starts a connect to the next address. Returns false when none is left:
 * then 'res' holds the first error and the list is freed.
 */
static bool
connect_next(struct cfut_tcp_connect *f, struct cfut_accepted *res)
{
    if (f->next == f->addrs->n) {
        *res = (struct cfut_accepted){.status = f->first_error, .stream = NULL};
        cfut_addrlist_free(f->addrs);
        f->addrs = NULL;
        f->state = CONNECT_DONE;
        return false;
    }
    const struct cfut_sockaddr *a = &f->addrs->addr[f->next++];
    int rc = cfut_connect_init(&f->conn, a->bytes, a->len);
    CFUT_ASSERT(rc == CFUT_OK, "cfut_tcp_connect: a bad resolved address");
    f->state = CONNECT_TRYING;
    return true;
}

/*
 * States: RESOLVING (the resolve future); TRYING (one connect future per
 * address, in order, keeping the first error); DONE. The first connection
 * made is READY as a stream.
 */
static enum cfut_poll
cfut_tcp_connect_poll(struct cfut_future *base, struct cfut_context *cx,
                      void *out)
{
    struct cfut_tcp_connect *f =
        cfut_container_of(base, struct cfut_tcp_connect, base);
    struct cfut_accepted *res = out;
    if (f->state == CONNECT_RESOLVING) {
        struct cfut_resolve_result r;
        if (cfut_future_poll(&f->res.base, cx, &r) == CFUT_PENDING)
            return CFUT_PENDING;
        cfut_future_drop(&f->res.base);
        f->state = CONNECT_DONE;
        if (r.status != CFUT_OK) {
            *res = (struct cfut_accepted){.status = r.status, .stream = NULL};
            return CFUT_READY;
        }
        f->addrs = r.addrs;
        f->next = 0;
        if (!connect_next(f, res))
            return CFUT_READY;
    }
    for (;;) {
        struct cfut_connect_result cr;
        if (cfut_future_poll(&f->conn.base, cx, &cr) == CFUT_PENDING)
            return CFUT_PENDING;
        cfut_future_drop(&f->conn.base);
        f->state = CONNECT_DONE;
        if (cr.status == CFUT_OK) {
            const struct cfut_sockaddr *peer = &f->addrs->addr[f->next - 1];
            set_nodelay(cfut_io_fd(cr.io), peer, f->nagle);
            struct cfut_stream *s;
            int rc = cfut_fd_stream_from_io(cr.io, &s);
            if (rc != CFUT_OK) {
                cfut_io_free(cr.io);
                *res = (struct cfut_accepted){.status = rc, .stream = NULL};
            } else {
                *res = (struct cfut_accepted){0, s, *peer};
            }
            cfut_addrlist_free(f->addrs);
            f->addrs = NULL;
            return CFUT_READY;
        }
        if (f->first_error == 0)
            f->first_error = cr.status;
        if (cr.status == CFUT_ESTATE || cr.status == CFUT_ENOMEM)
            f->next = f->addrs->n; /* no other address will do better */
        if (!connect_next(f, res))
            return CFUT_READY;
    }
}

static void
cfut_tcp_connect_drop(struct cfut_future *base)
{
    struct cfut_tcp_connect *f =
        cfut_container_of(base, struct cfut_tcp_connect, base);
    if (f->state == CONNECT_RESOLVING)
        cfut_future_drop(&f->res.base);
    else if (f->state == CONNECT_TRYING)
        cfut_future_drop(&f->conn.base); /* closes its socket */
    cfut_addrlist_free(f->addrs);
    f->addrs = NULL;
}

static const struct cfut_future_vtable cfut_tcp_connect_vtable = {
    cfut_tcp_connect_poll, cfut_tcp_connect_drop, sizeof(struct cfut_accepted),
    "tcp_connect", NULL};

int
cfut_tcp_connect_host_init(struct cfut_tcp_connect *f, const char *host,
                           uint16_t port, const struct cfut_tcp_options *opt)
{
    if (f == NULL || host == NULL)
        return CFUT_EINVAL;
    struct sockaddr_storage ss;
    socklen_t len;
    if (host[0] == '\0' ||
        cfut__parse_host(host, port, &ss, &len) == CFUT_EADDR)
        return CFUT_EADDR;
    int rc = cfut_resolve_init(&f->res, host, port, CFUT_FAMILY_ANY,
                               opt != NULL ? opt->pool : NULL);
    if (rc != CFUT_OK)
        return rc;
    cfut_future_init(&f->base, &cfut_tcp_connect_vtable);
    f->state = CONNECT_RESOLVING;
    f->nagle = opt != NULL && opt->nagle;
    f->first_error = 0;
    f->next = 0;
    f->addrs = NULL;
    return CFUT_OK;
}

int
cfut_tcp_connect_init(struct cfut_tcp_connect *f, const char *addr,
                      const struct cfut_tcp_options *opt)
{
    if (f == NULL || addr == NULL)
        return CFUT_EINVAL;
    char host[CFUT_HOSTNAME_MAX + 1];
    uint16_t port;
    int rc = cfut_hostport_split(addr, host, sizeof host, &port);
    if (rc != CFUT_OK)
        return rc;
    return cfut_tcp_connect_host_init(f, host, port, opt);
}
