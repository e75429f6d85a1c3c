/*
 * cfut_io.c: readiness, read, write_all, accept and connect futures on
 * reactor registrations, and socket helpers. Each operation tries the
 * system call first and waits for readiness only after EAGAIN (the fds are
 * registered edge-triggered, so a wait needs a fresh event). It does not
 * buffer: bytes go straight between the caller's buffer and the kernel.
 */
#define _GNU_SOURCE
#include "cfut_io.h"
#include "cfut_io_int.h"
#include "cfut_pool_io_int.h"
#include "cfut_reactor_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

_Static_assert(sizeof(struct sockaddr_storage) <= CFUT_SOCKADDR_MAX,
               "CFUT_SOCKADDR_MAX is too small");

static inline bool
would_block(int e)
{
    return e == EAGAIN || e == EWOULDBLOCK;
}

/* ---------------------------------------------------------------------- */
/* Readiness                                                               */
/* ---------------------------------------------------------------------- */

/* States: the bit is set: READY (within budget). Else wait on the list. */
static enum cfut_poll
cfut_readiness_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct cfut_readiness *r =
        cfut_container_of(f, struct cfut_readiness, base);
    if (cfut_io_ready(r->io) & r->mask) {
        if (!cfut_context_consume_budget(cx))
            return CFUT_PENDING;
        cfut__io_unwait(r->io, &r->waiter);
        *(int *)out = CFUT_OK;
        return CFUT_READY;
    }
    cfut__io_wait(r->io,
                  r->mask == CFUT_IO_READABLE ? CFUT__IO_READ : CFUT__IO_WRITE,
                  &r->waiter, cx->waker);
    return CFUT_PENDING;
}

static void
cfut_readiness_drop(struct cfut_future *f)
{
    struct cfut_readiness *r =
        cfut_container_of(f, struct cfut_readiness, base);
    cfut__io_unwait(r->io, &r->waiter);
}

static const struct cfut_future_vtable cfut_readiness_vtable = {
    cfut_readiness_poll, cfut_readiness_drop, sizeof(int), "readiness", NULL};

static void
readiness_init(struct cfut_readiness *f, struct cfut_io *io, unsigned mask)
{
    cfut_future_init(&f->base, &cfut_readiness_vtable);
    f->io = io;
    f->mask = mask;
    f->waiter = (struct cfut__io_waiter)CFUT__IO_WAITER_INIT;
}

void
cfut_readable_init(struct cfut_readiness *f, struct cfut_io *io)
{
    readiness_init(f, io, CFUT_IO_READABLE);
}

void
cfut_writable_init(struct cfut_readiness *f, struct cfut_io *io)
{
    readiness_init(f, io, CFUT_IO_WRITABLE);
}

/* ---------------------------------------------------------------------- */
/* Read                                                                    */
/* ---------------------------------------------------------------------- */

/*
 * States: try read(); bytes, EOF or an error: READY. EAGAIN: clear the
 * readable bit, wait for the next readable event, PENDING. The read is
 * skipped (wait at once) when the registration knows it would return
 * EAGAIN: the previous read emptied the fd (EAGAIN, or a short read of a
 * stream socket) and neither a readable event nor a hang-up came since.
 */
static enum cfut_poll
cfut_read_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct cfut_read *rd = cfut_container_of(f, struct cfut_read, base);
    struct cfut_io_result *res = out;
    if (!cfut_context_consume_budget(cx))
        return CFUT_PENDING;
    if (rd->len > 0 && cfut__io_read_would_block(rd->io)) {
        /* the last read emptied the fd and no event came since */
        cfut__io_wait(rd->io, CFUT__IO_READ, &rd->waiter, cx->waker);
        return CFUT_PENDING;
    }
    ssize_t n;
    do {
        n = read(cfut_io_fd(rd->io), rd->buf, rd->len);
    } while (n < 0 && errno == EINTR);
    if (n < 0 && would_block(errno)) {
        cfut_io_clear_ready(rd->io, CFUT_IO_READABLE);
        cfut__io_note_read_eagain(rd->io);
        cfut__io_wait(rd->io, CFUT__IO_READ, &rd->waiter, cx->waker);
        return CFUT_PENDING;
    }
    cfut__io_note_read(rd->io, n, rd->len); /* n < 0: forgets */
    int status = n > 0 || (n == 0 && rd->len == 0) ? CFUT_OK
                 : n == 0                          ? CFUT_EEOF
                                                   : -errno;
    cfut__io_unwait(rd->io, &rd->waiter); /* after errno was read */
    res->status = status;
    res->n = n > 0 ? (size_t)n : 0;
    return CFUT_READY;
}

static void
cfut_read_drop(struct cfut_future *f)
{
    struct cfut_read *rd = cfut_container_of(f, struct cfut_read, base);
    cfut__io_unwait(rd->io, &rd->waiter);
}

static const struct cfut_future_vtable cfut_read_vtable = {
    cfut_read_poll, cfut_read_drop, sizeof(struct cfut_io_result), "read",
    NULL};

void
cfut_read_init(struct cfut_read *f, struct cfut_io *io, void *buf, size_t len)
{
    cfut_future_init(&f->base, &cfut_read_vtable);
    f->io = io;
    f->buf = buf;
    f->len = len;
    f->waiter = (struct cfut__io_waiter)CFUT__IO_WAITER_INIT;
}

/* ---------------------------------------------------------------------- */
/* Write all                                                               */
/* ---------------------------------------------------------------------- */

/*
 * States: write until every byte is out (READY, OK) or an error (READY).
 * EAGAIN: clear the writable bit, wait for the next writable event.
 */
static enum cfut_poll
cfut_write_all_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct cfut_write_all *w =
        cfut_container_of(f, struct cfut_write_all, base);
    struct cfut_io_result *res = out;
    if (!cfut_context_consume_budget(cx))
        return CFUT_PENDING;
    int fd = cfut_io_fd(w->io);
    bool sock = cfut__io_is_socket(w->io);
    while (w->done < w->len) {
        const char *p = (const char *)w->buf + w->done;
        size_t left = w->len - w->done;
        ssize_t n = sock ? send(fd, p, left, MSG_NOSIGNAL) : write(fd, p, left);
        if (n >= 0) {
            w->done += (size_t)n;
            continue;
        }
        if (errno == EINTR)
            continue;
        if (would_block(errno)) {
            cfut_io_clear_ready(w->io, CFUT_IO_WRITABLE);
            cfut__io_wait(w->io, CFUT__IO_WRITE, &w->waiter, cx->waker);
            return CFUT_PENDING;
        }
        res->status = -errno; /* EPIPE, ECONNRESET, ... */
        res->n = w->done;
        cfut__io_unwait(w->io, &w->waiter);
        return CFUT_READY;
    }
    cfut__io_unwait(w->io, &w->waiter);
    res->status = CFUT_OK;
    res->n = w->done;
    return CFUT_READY;
}

static void
cfut_write_all_drop(struct cfut_future *f)
{
    struct cfut_write_all *w =
        cfut_container_of(f, struct cfut_write_all, base);
    cfut__io_unwait(w->io, &w->waiter);
}

static const struct cfut_future_vtable cfut_write_all_vtable = {
    cfut_write_all_poll, cfut_write_all_drop, sizeof(struct cfut_io_result),
    "write_all", NULL};

void
cfut_write_all_init(struct cfut_write_all *f, struct cfut_io *io,
                    const void *buf, size_t len)
{
    cfut_future_init(&f->base, &cfut_write_all_vtable);
    f->io = io;
    f->buf = buf;
    f->len = len;
    f->done = 0;
    f->waiter = (struct cfut__io_waiter)CFUT__IO_WAITER_INIT;
}

/* ---------------------------------------------------------------------- */
/* Accept                                                                  */
/* ---------------------------------------------------------------------- */

/* States: try accept4(); a connection or an error: READY. EAGAIN: wait. */
static enum cfut_poll
cfut_accept_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct cfut_accept *a = cfut_container_of(f, struct cfut_accept, base);
    struct cfut_accept_result *res = out;
    if (!cfut_context_consume_budget(cx))
        return CFUT_PENDING;
    int fd;
    socklen_t len;
    do {
        len = sizeof res->peer.bytes;
        fd = accept4(cfut_io_fd(a->io), (struct sockaddr *)res->peer.bytes,
                     &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    } while (fd < 0 && (errno == EINTR || errno == ECONNABORTED));
    if (fd < 0 && would_block(errno)) {
        cfut_io_clear_ready(a->io, CFUT_IO_READABLE);
        cfut__io_wait(a->io, CFUT__IO_READ, &a->waiter, cx->waker);
        return CFUT_PENDING;
    }
    res->status = fd >= 0 ? CFUT_OK : -errno; /* EMFILE, ENFILE, ... */
    res->fd = fd;
    res->peer.len = fd >= 0 ? (uint32_t)len : 0;
    cfut__io_unwait(a->io, &a->waiter);
    return CFUT_READY;
}

static void
cfut_accept_drop(struct cfut_future *f)
{
    struct cfut_accept *a = cfut_container_of(f, struct cfut_accept, base);
    cfut__io_unwait(a->io, &a->waiter);
}

static const struct cfut_future_vtable cfut_accept_vtable = {
    cfut_accept_poll, cfut_accept_drop, sizeof(struct cfut_accept_result),
    "accept", NULL};

void
cfut_accept_init(struct cfut_accept *f, struct cfut_io *io)
{
    cfut_future_init(&f->base, &cfut_accept_vtable);
    f->io = io;
    f->waiter = (struct cfut__io_waiter)CFUT__IO_WAITER_INIT;
}

/* ---------------------------------------------------------------------- */
/* Connect                                                                 */
/* ---------------------------------------------------------------------- */

/* Ends a connect: hands the registration over on success, else frees it. */
static enum cfut_poll
connect_finish(struct cfut_connect *c, struct cfut_connect_result *res,
               int status)
{
    if (c->io != NULL)
        cfut__io_unwait(c->io, &c->waiter);
    res->status = status;
    res->io = NULL;
    if (status == CFUT_OK)
        res->io = c->io;
    else
        cfut_io_free(c->io);
    c->io = NULL;
    return CFUT_READY;
}

/*
 * One attempt at the address in 'c->addr'. Not started: open the socket,
 * register it, call connect(): done at once, failed, or in progress (wait
 * for writable). In progress: once writable, SO_ERROR says how it ended.
 * Returns: 1 while in progress (the waker is on the write list); CFUT_OK
 * ('c->io' is the connection); or an error ('c->io' may need freeing).
 */
static int
connect_attempt(struct cfut_connect *c, struct cfut_context *cx)
{
    if (!c->started) {
        if (cfut_executor_current() == NULL && cfut__tls_pool_io == NULL)
            return CFUT_ESTATE; /* neither an executor nor a pool here */
        const struct sockaddr *sa = (const struct sockaddr *)(void *)c->addr;
        int fd = socket(sa->sa_family,
                        SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
            return -errno;
        int rc = cfut__io_new_current(fd, &c->io); /* or the pool's */
        if (rc != CFUT_OK) {
            close(fd);
            return rc;
        }
        c->started = true;
        int r;
        do {
            r = connect(fd, sa, (socklen_t)c->addr_len);
        } while (r < 0 && errno == EINTR);
        if (r == 0)
            return CFUT_OK;
        if (errno != EINPROGRESS)
            return -errno;
        cfut__io_wait(c->io, CFUT__IO_WRITE, &c->waiter, cx->waker);
        return 1;
    }
    if (!(cfut_io_ready(c->io) & CFUT_IO_WRITABLE)) {
        cfut__io_wait(c->io, CFUT__IO_WRITE, &c->waiter, cx->waker);
        return 1;
    }
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(cfut_io_fd(c->io), SOL_SOCKET, SO_ERROR, &err, &len) != 0)
        return -errno;
    return -err;
}

/*
 * Moves a failed attempt at 127.0.0.1 (for "localhost") on to ::1, the
 * same port; the first attempt's error is kept to report if both fail.
 */
static void
connect_next_loopback(struct cfut_connect *c, int error)
{
    const struct sockaddr_in *in4 = (const void *)c->addr;
    uint16_t port_be = in4->sin_port;
    if (c->io != NULL) {
        cfut__io_unwait(c->io, &c->waiter);
        cfut_io_free(c->io);
        c->io = NULL;
    }
    struct sockaddr_in6 in6;
    memset(&in6, 0, sizeof in6);
    in6.sin6_family = AF_INET6;
    in6.sin6_port = port_be;
    in6.sin6_addr = in6addr_loopback;
    memset(c->addr, 0, sizeof c->addr);
    memcpy(c->addr, &in6, sizeof in6);
    c->addr_len = sizeof in6;
    c->started = false;
    c->try_v6_loopback = false;
    c->first_error = error;
}

/*
 * States: an attempt (connect_attempt()); when one for "localhost" fails
 * on IPv4, a second one on IPv6's loopback. READY with the connection or
 * with the first attempt's error.
 */
static enum cfut_poll
cfut_connect_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct cfut_connect *c = cfut_container_of(f, struct cfut_connect, base);
    struct cfut_connect_result *res = out;
    for (;;) {
        int st = connect_attempt(c, cx);
        if (st == 1)
            return CFUT_PENDING;
        if (st < 0 && c->try_v6_loopback && st != CFUT_ESTATE &&
            st != CFUT_ENOMEM) {
            connect_next_loopback(c, st);
            continue;
        }
        if (st < 0 && c->first_error != 0)
            st = c->first_error;
        return connect_finish(c, res, st);
    }
}

static void
cfut_connect_drop(struct cfut_future *f)
{
    struct cfut_connect *c = cfut_container_of(f, struct cfut_connect, base);
    if (c->io != NULL) {
        cfut__io_unwait(c->io, &c->waiter);
        cfut_io_free(c->io);
        c->io = NULL;
    }
}

static const struct cfut_future_vtable cfut_connect_vtable = {
    cfut_connect_poll, cfut_connect_drop, sizeof(struct cfut_connect_result),
    "connect", NULL};

int
cfut_connect_init(struct cfut_connect *f, const void *addr, size_t len)
{
    if (f == NULL || addr == NULL || len == 0 || len > CFUT_SOCKADDR_MAX)
        return CFUT_EINVAL;
    cfut_future_init(&f->base, &cfut_connect_vtable);
    memset(f->addr, 0, sizeof f->addr);
    memcpy(f->addr, addr, len);
    f->addr_len = (uint32_t)len;
    f->started = false;
    f->try_v6_loopback = false;
    f->first_error = 0;
    f->io = NULL;
    f->waiter = (struct cfut__io_waiter)CFUT__IO_WAITER_INIT;
    return CFUT_OK;
}

bool
cfut__is_localhost(const char *host)
{
    return strcasecmp(host, "localhost") == 0 ||
           strcasecmp(host, "localhost.") == 0;
}

int
cfut__parse_host(const char *host, uint16_t port, struct sockaddr_storage *ss,
                 socklen_t *len)
{
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *in4 = (struct sockaddr_in *)(void *)ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)(void *)ss;
    if (cfut__is_localhost(host)) {
        in4->sin_family = AF_INET;
        in4->sin_port = htons(port);
        in4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        *len = sizeof *in4;
        return 0;
    }
    if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
        in4->sin_port = htons(port);
        *len = sizeof *in4;
        return 0;
    }
    if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(port);
        *len = sizeof *in6;
        return 0;
    }
    if (host[0] == '\0' || host[strspn(host, "0123456789.")] == '\0' ||
        strchr(host, ':') != NULL)
        return CFUT_EADDR; /* "300.1.1.1", "1.2.3", "::g", "" */
    return CFUT_EHOSTNAME;
}

/* Fills a Unix address for 'path'; returns its length, or 0 if too long. */
static socklen_t
parse_unix(const char *path, struct sockaddr_un *un)
{
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof un->sun_path)
        return 0;
    memset(un, 0, sizeof *un);
    un->sun_family = AF_UNIX;
    memcpy(un->sun_path, path, n + 1);
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
}

int
cfut_connect_tcp_init(struct cfut_connect *f, const char *host, uint16_t port)
{
    if (f == NULL || host == NULL)
        return CFUT_EINVAL;
    struct sockaddr_storage ss;
    socklen_t len;
    int rc = cfut__parse_host(host, port, &ss, &len);
    if (rc == 0)
        rc = cfut_connect_init(f, &ss, len);
    if (rc == 0)
        f->try_v6_loopback = cfut__is_localhost(host);
    return rc;
}

int
cfut_unix_connect_init(struct cfut_connect *f, const char *path)
{
    if (path == NULL)
        return CFUT_EINVAL;
    struct sockaddr_un un;
    socklen_t len = parse_unix(path, &un);
    if (len == 0)
        return CFUT_EINVAL;
    return cfut_connect_init(f, &un, len);
}

/* ---------------------------------------------------------------------- */
/* Socket helpers                                                          */
/* ---------------------------------------------------------------------- */

int
cfut__listen_socket(const struct sockaddr *sa, socklen_t len, int backlog,
                    bool reuse_addr, bool reuse_port, int *out_fd)
{
    int fd =
        socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int one = 1, rc = CFUT_OK;
    if (sa->sa_family != AF_UNIX && reuse_addr)
        (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (sa->sa_family != AF_UNIX && reuse_port &&
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0)
        rc = -errno;
    if (rc == CFUT_OK && (bind(fd, sa, len) != 0 || listen(fd, backlog) != 0))
        rc = -errno;
    if (rc != CFUT_OK) {
        close(fd);
        return rc;
    }
    *out_fd = fd;
    return CFUT_OK;
}

int
cfut_tcp_listen_fd(const char *host, uint16_t port, int backlog, int *out_fd)
{
    if (host == NULL || out_fd == NULL)
        return CFUT_EINVAL;
    struct sockaddr_storage ss;
    socklen_t len;
    int rc = cfut__parse_host(host, port, &ss, &len);
    if (rc != 0)
        return rc;
    return cfut__listen_socket((const struct sockaddr *)&ss, len, backlog, true,
                               false, out_fd);
}

int
cfut__parse_unix(const char *path, struct sockaddr_un *un, socklen_t *len)
{
    if (path == NULL || (*len = parse_unix(path, un)) == 0)
        return CFUT_EINVAL;
    return CFUT_OK;
}

int
cfut_unix_listen_fd(const char *path, int backlog, int *out_fd)
{
    if (path == NULL || out_fd == NULL)
        return CFUT_EINVAL;
    struct sockaddr_un un;
    socklen_t len = parse_unix(path, &un);
    if (len == 0)
        return CFUT_EINVAL;
    return cfut__listen_socket((const struct sockaddr *)&un, len, backlog,
                               false, false, out_fd);
}

int
cfut_socket_local_port(int fd, uint16_t *out)
{
    if (out == NULL)
        return CFUT_EINVAL;
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
        return -errno; /* EBADF, ENOTSOCK */
    if (ss.ss_family == AF_INET) {
        *out = ntohs(((struct sockaddr_in *)(void *)&ss)->sin_port);
        return CFUT_OK;
    }
    if (ss.ss_family == AF_INET6) {
        *out = ntohs(((struct sockaddr_in6 *)(void *)&ss)->sin6_port);
        return CFUT_OK;
    }
    return CFUT_EINVAL;
}

int
cfut_socketpair(int out[2])
{
    if (out == NULL)
        return CFUT_EINVAL;
    int fds[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
                   fds) != 0)
        return -errno;
    out[0] = fds[0];
    out[1] = fds[1];
    return CFUT_OK;
}
