/*
 * cfut_reactor.c: fd registrations (struct cfut_io): an fd registered with
 * its executor's driver, the readiness bits the driver reports for it, and
 * the wait lists of the futures waiting for them, which a report wakes.
 * It runs no user code of its own and knows the driver only through its
 * interface (register, deregister, the readiness callback).
 */
#define _GNU_SOURCE
#include "cfut_reactor_int.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cfut_driver_int.h"
#include "cfut_executor_int.h"
#include "cfut_list_int.h"
#include "cfut_trace_int.h"

_Static_assert(CFUT_IO_READABLE == CFUT__DRIVER_READABLE &&
                   CFUT_IO_WRITABLE == CFUT__DRIVER_WRITABLE &&
                   CFUT_IO_HUP == CFUT__DRIVER_HUP,
               "the driver reports readiness in CFUT_IO_* bits");

struct cfut_io {
    struct cfut__fd_interest interest; /* what the driver reports to */
    struct cfut__driver *drv;
    const struct cfut_executor *ex; /* for the trace */
    int fd;
    unsigned ready; /* CFUT_IO_* seen and not cleared */
    bool is_socket;
    struct cfut_list readers; /* read waiters, on their 'link' */
    struct cfut_list writers; /* write waiters, on their 'link' */
};

/* ---------------------------------------------------------------------- */
/* Wait lists                                                              */
/* ---------------------------------------------------------------------- */

void
cfut__io_wait(struct cfut_io *io, enum cfut__io_dir dir,
              struct cfut__io_waiter *w, const struct cfut_waker *waker)
{
    if (w->link.next != NULL) {
        cfut_waker_register(&w->waker, waker);
        return;
    }
    w->waker = cfut_waker_clone(waker);
    cfut_list_init(&w->link); /* first link: it may have moved since init */
    cfut_list_push_back(dir == CFUT__IO_READ ? &io->readers : &io->writers,
                        &w->link);
    io->drv->n_waiters++;
}

static void
unlink_waiter(struct cfut__driver *d, struct cfut__io_waiter *w)
{
    cfut_list_remove(&w->link);
    w->link.next = w->link.prev = NULL; /* "not linked", as at init */
    d->n_waiters--;
}

void
cfut__io_unwait(struct cfut_io *io, struct cfut__io_waiter *w)
{
    if (w->link.next != NULL)
        unlink_waiter(io->drv, w);
    cfut_waker_drop(&w->waker);
}

/* Wakes and unlinks every waiter on the list 'head'. */
static void
wake_list(struct cfut__driver *d, struct cfut_list *head)
{
    while (!cfut_list_is_empty(head)) {
        struct cfut__io_waiter *w =
            cfut_container_of(head->next, struct cfut__io_waiter, link);
        unlink_waiter(d, w);
        struct cfut_waker k = w->waker;
        w->waker = CFUT_WAKER_EMPTY;
        cfut_waker_wake(&k);
    }
}

bool
cfut__io_is_socket(const struct cfut_io *io)
{
    return io->is_socket;
}

/* ---------------------------------------------------------------------- */
/* Readiness reports                                                       */
/* ---------------------------------------------------------------------- */

/* Names the readiness bits of one event, for the trace. */
static const char *
bits_text(unsigned bits)
{
    static const char *const text[8] = {
        "no readiness",      "readable",
        "writable",          "readable, writable",
        "hang-up",           "readable, hang-up",
        "writable, hang-up", "readable, writable, hang-up",
    };
    return text[bits & 7u];
}

/* The driver's report of an event on the fd: record it, wake the lists. */
static void
io_ready(struct cfut__fd_interest *in, unsigned bits)
{
    struct cfut_io *io = cfut_container_of(in, struct cfut_io, interest);
    io->ready |= bits; /* HUP is sticky: see cfut_reactor.h */
    CFUT__TRACE(event(io->ex, bits_text(bits), io->fd));
    if (bits & CFUT_IO_READABLE)
        wake_list(io->drv, &io->readers);
    if (bits & CFUT_IO_WRITABLE)
        wake_list(io->drv, &io->writers);
}

/* ---------------------------------------------------------------------- */
/* Registrations                                                           */
/* ---------------------------------------------------------------------- */

static pthread_once_t sigpipe_once = PTHREAD_ONCE_INIT;

/* Makes SIGPIPE ignored if it still has its default action (kills). */
static void
ignore_sigpipe(void)
{
    struct sigaction old;
    if (sigaction(SIGPIPE, NULL, &old) == 0 && old.sa_handler == SIG_DFL &&
        !(old.sa_flags & SA_SIGINFO)) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = SIG_IGN;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGPIPE, &sa, NULL);
    }
}

int
cfut_io_new(struct cfut_executor *ex, int fd, struct cfut_io **out)
{
    if (ex == NULL || out == NULL || fd < 0)
        return CFUT_EINVAL;
    struct cfut__driver *d = cfut__executor_driver(ex);
    if (d->vt->fd_register == NULL)
        return -ENOTSUP; /* a driver without fds (a browser's) */
    struct cfut_io *io = cfut_alloc(sizeof *io);
    if (io == NULL)
        return CFUT_ENOMEM;
    io->interest.ready = io_ready;
    io->drv = d;
    io->ex = ex;
    io->fd = fd;
    io->ready = 0;
    cfut_list_init(&io->readers);
    cfut_list_init(&io->writers);
    int type;
    socklen_t len = sizeof type;
    io->is_socket = getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0;
    int rc;
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 ||
        (!(fl & O_NONBLOCK) && fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0)) {
        rc = -errno;
        goto free_io;
    }
    rc = d->vt->fd_register(d, fd, &io->interest);
    if (rc != CFUT_OK)
        goto free_io; /* -EPERM for a regular file, -EEXIST, ... */
    if (!io->is_socket)
        pthread_once(&sigpipe_once, ignore_sigpipe);
    d->n_regs++;
    *out = io;
    return CFUT_OK;

free_io:
    cfut_free(io);
    return rc;
}

void
cfut_io_free(struct cfut_io *io)
{
    if (io == NULL)
        return;
    CFUT_ASSERT(cfut_list_is_empty(&io->readers) &&
                    cfut_list_is_empty(&io->writers),
                "cfut_io_free() while a future still waits on it");
    struct cfut__driver *d = io->drv;
    d->vt->fd_deregister(d, io->fd, &io->interest);
    close(io->fd);
    d->n_regs--;
    cfut_free(io);
}

int
cfut_io_fd(const struct cfut_io *io)
{
    return io->fd;
}

unsigned
cfut_io_ready(const struct cfut_io *io)
{
    return io->ready;
}

void
cfut_io_clear_ready(struct cfut_io *io, unsigned mask)
{
    io->ready &= ~(mask & ~CFUT_IO_HUP); /* a hang-up is never cleared */
}

/* ---------------------------------------------------------------------- */
/* Introspection                                                           */
/* ---------------------------------------------------------------------- */

size_t
cfut_reactor_n_waiters(const struct cfut_executor *ex)
{
    return cfut__executor_driver(ex)->n_waiters;
}

size_t
cfut_reactor_n_registrations(const struct cfut_executor *ex)
{
    return cfut__executor_driver(ex)->n_regs;
}
