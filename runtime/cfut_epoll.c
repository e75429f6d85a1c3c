/*
 * cfut_epoll.c: the epoll driver, Linux's default (cfut_driver_int.h): an
 * epoll instance watching the registered fds edge-triggered, an eventfd
 * for unparks from other threads, and CLOCK_MONOTONIC. It reports fd
 * events to their interest and nothing else: it knows no executor, no
 * timer and no wait list.
 */
#define _GNU_SOURCE
#include "cfut_driver_int.h"

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "cfut_future.h"

#define N_EVENTS 64

struct epoll_driver {
    struct cfut__driver base;
    int epfd;
    int evfd;
    struct epoll_event events[N_EVENTS];
};

/* The epoll tag of the eventfd (registrations use their interest). */
static char evfd_tag;

static struct epoll_driver *
of(struct cfut__driver *d)
{
    return cfut_container_of(d, struct epoll_driver, base);
}

/* Applies 'n' epoll events: readiness to the interests, the unpark. */
static void
dispatch(struct epoll_driver *ep, int n)
{
    for (int i = 0; i < n; i++) {
        struct epoll_event *ev = &ep->events[i];
        if (ev->data.ptr == &evfd_tag) {
            uint64_t v;
            ssize_t rd;
            do
                rd = read(ep->evfd, &v, sizeof v);
            while (rd < 0 && errno == EINTR);
            /* EAGAIN: already consumed */
            continue;
        }
        uint32_t e = ev->events;
        unsigned bits = 0;
        if (e & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
            bits |= CFUT__DRIVER_READABLE;
        if (e & (EPOLLOUT | EPOLLHUP | EPOLLERR))
            bits |= CFUT__DRIVER_WRITABLE;
        if (e & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
            bits |= CFUT__DRIVER_HUP;
        struct cfut__fd_interest *in = ev->data.ptr;
        in->ready(in, bits);
    }
}

/*
 * A look (timeout 0) with no future waiting on an fd makes no system
 * call: readiness nobody waits for is picked up by a later turn. A
 * timeout is rounded up to whole milliseconds, so a turn never returns
 * before it has passed.
 */
static int
epoll_turn(struct cfut__driver *d, int64_t timeout_ns)
{
    struct epoll_driver *ep = of(d);
    if (timeout_ns == 0 && d->n_waiters == 0)
        return 0;
    int ms = -1;
    if (timeout_ns >= 0) {
        uint64_t m = ((uint64_t)timeout_ns + 999999u) / 1000000u;
        ms = m > INT_MAX ? INT_MAX : (int)m;
    }
    int n = epoll_wait(ep->epfd, ep->events, N_EVENTS, ms);
    if (n < 0)
        return errno == EINTR ? 0 : -errno;
    dispatch(ep, n);
    return n;
}

/*
 * The two halves of a turn, for a driver shared by threads (the pool's,
 * cfut_pool_io.c): the wait runs without its caller's lock, the dispatch
 * under it (cfut_driver_int.h).
 */
int
cfut__epoll_wait(struct cfut__driver *d, int64_t timeout_ns)
{
    struct epoll_driver *ep = of(d);
    int ms = -1;
    if (timeout_ns >= 0) {
        uint64_t m = ((uint64_t)timeout_ns + 999999u) / 1000000u;
        ms = m > INT_MAX ? INT_MAX : (int)m;
    }
    int n = epoll_wait(ep->epfd, ep->events, N_EVENTS, ms);
    if (n < 0)
        return errno == EINTR ? 0 : -errno;
    return n;
}

void
cfut__epoll_dispatch(struct cfut__driver *d, int n)
{
    dispatch(of(d), n);
}

static void
epoll_unpark(struct cfut__driver *d)
{
    uint64_t one = 1;
    ssize_t w;
    do /* a wake lost to EINTR would leave a parked thread asleep */
        w = write(of(d)->evfd, &one, sizeof one);
    while (w < 0 && errno == EINTR);
    /* EAGAIN: the counter is saturated, a wake is pending */
}

static uint64_t
epoll_now(struct cfut__driver *d)
{
    (void)d;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int
epoll_fd_register(struct cfut__driver *d, int fd,
                  struct cfut__fd_interest *interest)
{
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    ev.data.ptr = interest;
    if (epoll_ctl(of(d)->epfd, EPOLL_CTL_ADD, fd, &ev) != 0)
        return -errno; /* EPERM for a regular file, EEXIST, EBADF */
    return 0;
}

static void
epoll_fd_deregister(struct cfut__driver *d, int fd,
                    struct cfut__fd_interest *interest)
{
    (void)interest;
    epoll_ctl(of(d)->epfd, EPOLL_CTL_DEL, fd, NULL);
}

static void
epoll_free(struct cfut__driver *d)
{
    struct epoll_driver *ep = of(d);
    CFUT_ASSERT(d->n_regs == 0,
                "an executor was freed with fd registrations alive "
                "(cfut_io_free() them first)");
    close(ep->evfd);
    close(ep->epfd);
    cfut_free(ep);
}

static const struct cfut__driver_vtable epoll_vtable = {
    .name = "epoll",
    .hosted = false,
    .turn = epoll_turn,
    .unpark = epoll_unpark,
    .now = epoll_now,
    .fd_register = epoll_fd_register,
    .fd_deregister = epoll_fd_deregister,
    .free = epoll_free,
};

int
cfut__driver_default_new(struct cfut__driver **out)
{
    struct epoll_driver *ep = cfut_alloc(sizeof *ep);
    if (ep == NULL)
        return CFUT_ENOMEM;
    memset(ep, 0, sizeof *ep);
    cfut__driver_init(&ep->base, &epoll_vtable);
    int rc;
    ep->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (ep->epfd < 0) {
        rc = -errno;
        goto free_ep;
    }
    ep->evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (ep->evfd < 0) {
        rc = -errno;
        goto close_ep;
    }
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.events = EPOLLIN;
    ev.data.ptr = &evfd_tag;
    if (epoll_ctl(ep->epfd, EPOLL_CTL_ADD, ep->evfd, &ev) != 0) {
        rc = -errno;
        goto close_ev;
    }
    *out = &ep->base;
    return CFUT_OK;

close_ev:
    close(ep->evfd);
close_ep:
    close(ep->epfd);
free_ep:
    cfut_free(ep);
    return rc;
}
