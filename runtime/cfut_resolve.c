/*
 * cfut_resolve.c: socket addresses (their printable form, "HOST:PORT")
 * and name resolution: getaddrinfo() as a blocking-pool job whose answer
 * becomes a list of our own, with numeric hosts and "localhost" answered
 * at once. It opens no socket: cfut_net.c connects to what it finds.
 */
#define _GNU_SOURCE
#include "cfut_net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "cfut_errors_int.h"
#include "cfut_io_int.h"

_Static_assert(sizeof(struct sockaddr_un) <= CFUT_SOCKADDR_MAX,
               "CFUT_SOCKADDR_MAX is too small for a Unix address");

/* ---------------------------------------------------------------------- */
/* Addresses                                                               */
/* ---------------------------------------------------------------------- */

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
    int fam = cfut__sockaddr_family(a);
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
    int fam = cfut__sockaddr_family(a);
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
