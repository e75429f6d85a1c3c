/*
 * cfut_net.c: addresses (printing, "HOST:PORT"), name resolution as a
 * blocking-pool job, the listener with its backing-off accept future, and
 * TCP connect by name (resolve, then each address in order). Socket
 * calls of its own are few: it builds on cfut_io.c's futures and the fd
 * stream.
 */
#define _GNU_SOURCE
#include "cfut_net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cfut_errors_int.h"
#include "cfut_io_int.h"

_Static_assert(sizeof(struct sockaddr_un) <= CFUT_SOCKADDR_MAX,
               "CFUT_SOCKADDR_MAX is too small for a Unix address");

/* ---------------------------------------------------------------------- */
/* Addresses                                                               */
/* ---------------------------------------------------------------------- */

static int
family_of(const struct cfut_sockaddr *a)
{
    if (a->len < sizeof(sa_family_t))
        return AF_UNSPEC;
    return ((const struct sockaddr *)(const void *)a->bytes)->sa_family;
}

static void
sockaddr_set(struct cfut_sockaddr *a, const void *sa, size_t len)
{
    memset(a, 0, sizeof *a);
    memcpy(a->bytes, sa, len);
    a->len = (uint32_t)len;
}

int
cfut_sockaddr_format(const struct cfut_sockaddr *a, char *buf, size_t cap)
{
    if (a == NULL || buf == NULL)
        return CFUT_EINVAL;
    char tmp[CFUT_SOCKADDR_STRLEN];
    int fam = family_of(a);
    int n;
    if (fam == AF_INET || fam == AF_INET6) {
        char host[NI_MAXHOST];
        if (getnameinfo((const struct sockaddr *)(const void *)a->bytes,
                        (socklen_t)a->len, host, sizeof host, NULL, 0,
                        NI_NUMERICHOST | NI_NUMERICSERV) != 0)
            return CFUT_EINVAL;
        n = snprintf(tmp, sizeof tmp, fam == AF_INET6 ? "[%s]:%u" : "%s:%u",
                     host, (unsigned)cfut_sockaddr_port(a));
    } else if (fam == AF_UNIX) {
        const struct sockaddr_un *un = (const void *)a->bytes;
        size_t off = offsetof(struct sockaddr_un, sun_path);
        size_t plen = a->len > off ? a->len - off : 0;
        if (plen == 0)
            n = snprintf(tmp, sizeof tmp, "unix:");
        else if (un->sun_path[0] == '\0') /* abstract: no final 0 byte */
            n = snprintf(tmp, sizeof tmp, "unix:@%.*s", (int)(plen - 1),
                         un->sun_path + 1);
        else
            n = snprintf(tmp, sizeof tmp, "unix:%.*s", (int)plen, un->sun_path);
    } else {
        return CFUT_EINVAL;
    }
    if (n < 0 || (size_t)n >= cap)
        return CFUT_EMSGSIZE;
    memcpy(buf, tmp, (size_t)n + 1);
    return CFUT_OK;
}

uint16_t
cfut_sockaddr_port(const struct cfut_sockaddr *a)
{
    int fam = family_of(a);
    if (fam == AF_INET)
        return ntohs(
            ((const struct sockaddr_in *)(const void *)a->bytes)->sin_port);
    if (fam == AF_INET6)
        return ntohs(
            ((const struct sockaddr_in6 *)(const void *)a->bytes)->sin6_port);
    return 0;
}

int
cfut_hostport_split(const char *addr, char *host, size_t cap, uint16_t *port)
{
    if (addr == NULL || host == NULL || port == NULL)
        return CFUT_EINVAL;
    const char *h = addr, *colon;
    size_t hlen;
    if (addr[0] == '[') {
        const char *close = strchr(addr, ']');
        if (close == NULL || close[1] != ':')
            return CFUT_EADDR;
        h = addr + 1;
        hlen = (size_t)(close - h);
        colon = close + 1;
    } else {
        colon = strrchr(addr, ':');
        if (colon == NULL)
            return CFUT_EADDR;
        hlen = (size_t)(colon - addr);
        if (memchr(addr, ':', hlen) != NULL || memchr(addr, ']', hlen))
            return CFUT_EADDR; /* IPv6 needs brackets */
    }
    const char *p = colon + 1;
    size_t digits = strspn(p, "0123456789");
    if (digits == 0 || digits > 5 || p[digits] != '\0')
        return CFUT_EADDR;
    unsigned long v = strtoul(p, NULL, 10);
    if (v > 65535 || hlen + 1 > cap)
        return CFUT_EADDR;
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    *port = (uint16_t)v;
    return CFUT_OK;
}

/* ---------------------------------------------------------------------- */
/* Name resolution                                                         */
/* ---------------------------------------------------------------------- */

void
cfut_addrlist_free(struct cfut_addrlist *l)
{
    cfut_free(l);
}

static struct cfut_addrlist *
addrlist_new(size_t n)
{
    struct cfut_addrlist *l =
        cfut_alloc(sizeof *l + n * sizeof(struct cfut_sockaddr));
    if (l != NULL)
        l->n = 0;
    return l;
}

/* The job's data: the question, then the answer. */
struct resolve_job {
    char host[CFUT_HOSTNAME_MAX + 1];
    uint16_t port;
    int family;
    int status;
    struct cfut_addrlist *list;
};

static bool
addrlist_has(const struct cfut_addrlist *l, const void *sa, size_t len)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->addr[i].len == len && memcmp(l->addr[i].bytes, sa, len) == 0)
            return true;
    return false;
}

/* On a pool thread: getaddrinfo(), then a list of our own (no dups). */
static void
resolve_fn(void *data)
{
    struct resolve_job *q = data;
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = q->family;
    hints.ai_socktype = SOCK_STREAM;
    errno = 0;
    int rc = getaddrinfo(q->host, NULL, &hints, &res);
    q->status = cfut__status_from_gai(rc, errno);
    if (rc != 0)
        return;
    size_t n = 0;
    for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next)
        n++;
    if (n > CFUT_RESOLVE_MAX_ADDRS)
        n = CFUT_RESOLVE_MAX_ADDRS;
    struct cfut_addrlist *l = addrlist_new(n);
    if (l == NULL) {
        q->status = CFUT_ENOMEM;
        goto free_res;
    }
    for (struct addrinfo *ai = res; ai != NULL && l->n < n; ai = ai->ai_next) {
        if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) ||
            ai->ai_addrlen > CFUT_SOCKADDR_MAX)
            continue;
        struct cfut_sockaddr a;
        sockaddr_set(&a, ai->ai_addr, ai->ai_addrlen);
        if (ai->ai_family == AF_INET)
            ((struct sockaddr_in *)(void *)a.bytes)->sin_port = htons(q->port);
        else
            ((struct sockaddr_in6 *)(void *)a.bytes)->sin6_port =
                htons(q->port);
        if (!addrlist_has(l, a.bytes, a.len))
            l->addr[l->n++] = a;
    }
    if (l->n == 0) {
        cfut_free(l);
        q->status = CFUT_EAI_NODATA;
    } else {
        q->list = l;
    }
free_res:
    freeaddrinfo(res);
}

/* The result was not wanted (the future was dropped): free it. */
static void
resolve_discard(void *data)
{
    struct resolve_job *q = data;
    cfut_addrlist_free(q->list);
    q->list = NULL;
}

/*
 * States: a numeric host (or "localhost"): READY with its list at once.
 * Else the job: PENDING until it is done, READY with its answer.
 */
static enum cfut_poll
cfut_resolve_poll(struct cfut_future *base, struct cfut_context *cx, void *out)
{
    struct cfut_resolve *f = cfut_container_of(base, struct cfut_resolve, base);
    struct cfut_resolve_result *res = out;
    res->addrs = NULL;
    if (f->numeric) {
        if (f->n_addr == 0) {
            res->status = CFUT_EAI_NODATA; /* a literal of the other family */
            return CFUT_READY;
        }
        struct cfut_addrlist *l = addrlist_new(f->n_addr);
        if (l == NULL) {
            res->status = CFUT_ENOMEM;
            return CFUT_READY;
        }
        for (size_t i = 0; i < f->n_addr; i++)
            l->addr[l->n++] = f->addr[i];
        res->status = CFUT_OK;
        res->addrs = l;
        return CFUT_READY;
    }
    int st;
    if (cfut_future_poll(&f->job.base, cx, &st) == CFUT_PENDING)
        return CFUT_PENDING;
    struct resolve_job *q = cfut_blocking_data(&f->job);
    res->status = st != CFUT_OK ? st : q->status;
    if (st == CFUT_OK && q->status == CFUT_OK) {
        res->addrs = q->list; /* now the caller's */
        q->list = NULL;
    }
    return CFUT_READY;
}

static void
cfut_resolve_drop(struct cfut_future *base)
{
    struct cfut_resolve *f = cfut_container_of(base, struct cfut_resolve, base);
    if (!f->numeric)
        cfut_future_drop(&f->job.base); /* discards an unseen answer */
}

static const struct cfut_future_vtable cfut_resolve_vtable = {
    cfut_resolve_poll, cfut_resolve_drop, sizeof(struct cfut_resolve_result),
    "resolve", NULL};

/* Adds the loopback address of 'fam' with 'port' to 'f' (numeric). */
static void
add_loopback(struct cfut_resolve *f, int fam, uint16_t port)
{
    if (fam == AF_INET) {
        struct sockaddr_in in4;
        memset(&in4, 0, sizeof in4);
        in4.sin_family = AF_INET;
        in4.sin_port = htons(port);
        in4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        sockaddr_set(&f->addr[f->n_addr++], &in4, sizeof in4);
    } else {
        struct sockaddr_in6 in6;
        memset(&in6, 0, sizeof in6);
        in6.sin6_family = AF_INET6;
        in6.sin6_port = htons(port);
        in6.sin6_addr = in6addr_loopback;
        sockaddr_set(&f->addr[f->n_addr++], &in6, sizeof in6);
    }
}

int
cfut_resolve_init(struct cfut_resolve *f, const char *host, uint16_t port,
                  enum cfut_family family, struct cfut_blocking_pool *pool)
{
    if (f == NULL || host == NULL ||
        (family != CFUT_FAMILY_ANY && family != CFUT_FAMILY_IPV4 &&
         family != CFUT_FAMILY_IPV6))
        return CFUT_EINVAL;
    size_t hlen = strlen(host);
    if (hlen == 0 || hlen > CFUT_HOSTNAME_MAX)
        return CFUT_EADDR;
    int fam = family == CFUT_FAMILY_IPV4   ? AF_INET
              : family == CFUT_FAMILY_IPV6 ? AF_INET6
                                           : AF_UNSPEC;
    /* "localhost" is the loopback (RFC 6761), a literal is itself. */
    bool numeric = true;
    f->n_addr = 0;
    struct sockaddr_storage ss;
    socklen_t len;
    if (cfut__is_localhost(host)) {
        if (fam != AF_INET6)
            add_loopback(f, AF_INET, port);
        if (fam != AF_INET)
            add_loopback(f, AF_INET6, port);
    } else if (cfut__parse_host(host, port, &ss, &len) == CFUT_OK) {
        if (fam == AF_UNSPEC || fam == ss.ss_family)
            sockaddr_set(&f->addr[f->n_addr++], &ss, len);
    } else {
        numeric = false;
    }
    if (numeric) {
        f->numeric = true;
    } else {
        struct resolve_job q;
        memset(&q, 0, sizeof q);
        memcpy(q.host, host, hlen + 1);
        q.port = port;
        q.family = fam;
        int rc = cfut_blocking_init(&f->job, pool, resolve_fn, resolve_discard,
                                    &q, sizeof q);
        if (rc != CFUT_OK)
            return rc;
        f->numeric = false;
    }
    cfut_future_init(&f->base, &cfut_resolve_vtable);
    return CFUT_OK;
}

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
    int fam = family_of(peer);
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
