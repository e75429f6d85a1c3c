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
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cfut_driver_int.h"
#include "cfut_executor_int.h"
#include "cfut_list_int.h"
#include "cfut_trace_int.h"

#ifndef POLLRDHUP /* (a libc without it: POLLHUP still reports the end) */
#define POLLRDHUP 0
#endif

_Static_assert(CFUT_IO_READABLE == CFUT__DRIVER_READABLE &&
                   CFUT_IO_WRITABLE == CFUT__DRIVER_WRITABLE &&
                   CFUT_IO_HUP == CFUT__DRIVER_HUP,
               "the driver reports readiness in CFUT_IO_* bits");

struct cfut_io {
    struct cfut__fd_interest interest; /* what the driver reports to */
    struct cfut__driver *drv;
    const void *ex; /* names the owner in the trace */
    /* NULL: single-threaded; else the shared driver's lock and turn */
    struct cfut__io_shared *shared;
    int fd;
    /* CFUT_IO_* seen and not cleared; with 'shared', written under its
     * lock and read without it (relaxed atomic accesses) */
    unsigned ready;
    bool is_socket;
    bool is_stream; /* a SOCK_STREAM socket: a short read empties it */
    bool is_fifo;   /* a pipe or FIFO: a short read empties it too */
    /* single-threaded only: the last read left the fd empty (a short read
     * of a stream socket, or EAGAIN); with READABLE and HUP clear, a read
     * would return EAGAIN (see cfut__io_read_would_block()) */
    bool rd_empty;
    struct cfut_list readers;  /* read waiters, on their 'link' */
    struct cfut_list writers;  /* write waiters, on their 'link' */
    struct cfut_io *dead_next; /* on 'shared->dead' */
};

/* ---------------------------------------------------------------------- */
/* Wait lists                                                              */
/* ---------------------------------------------------------------------- */

/* Out of line and cold: the single-threaded paths stay small enough to
 * inline (the shared ones are the pool's; see below). */
#if defined(__GNUC__)
#define COLD __attribute__((noinline, cold))
#define NOINLINE __attribute__((noinline))
#else
#define COLD
#define NOINLINE
#endif

COLD static void shared_wait(struct cfut_io *io, enum cfut__io_dir dir,
                             struct cfut__io_waiter *w,
                             const struct cfut_waker *waker);
COLD static void shared_unwait(struct cfut_io *io, struct cfut__io_waiter *w);
COLD static void shared_clear_ready(struct cfut_io *io, unsigned mask);

void
cfut__io_wait(struct cfut_io *io, enum cfut__io_dir dir,
              struct cfut__io_waiter *w, const struct cfut_waker *waker)
{
    if (CFUT__UNLIKELY(io->shared != NULL)) {
        shared_wait(io, dir, w, waker);
        return;
    }
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

/* cfut__io_unwait() of a linked waiter: out of line, so that the call on
 * a waiter that is not linked (after a wake, or none) stays a test. */
NOINLINE static void
unwait_linked(struct cfut_io *io, struct cfut__io_waiter *w)
{
    if (io->shared != NULL) {
        shared_unwait(io, w);
        return;
    }
    unlink_waiter(io->drv, w);
    cfut_waker_drop(&w->waker);
}

void
cfut__io_unwait(struct cfut_io *io, struct cfut__io_waiter *w)
{
    /*
     * A waiter holds a waker exactly while it is linked: the wake that
     * unlinks it takes the waker, clearing it last with a release store
     * (wake_list()), which this load pairs with, so an unlinked waiter is
     * seen as such without the lock of a shared registration.
     */
    if (__atomic_load_n(&w->waker.vtable, __ATOMIC_ACQUIRE) != NULL)
        unwait_linked(io, w);
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
        w->waker.data = NULL;
        __atomic_store_n(&w->waker.vtable, NULL, __ATOMIC_RELEASE); /* last */
        cfut_waker_wake(&k);
    }
}

bool
cfut__io_is_socket(const struct cfut_io *io)
{
    return io->is_socket;
}

bool
cfut__io_read_would_block(const struct cfut_io *io)
{
    return io->rd_empty && !(io->ready & (CFUT_IO_READABLE | CFUT_IO_HUP));
}

bool
cfut__io_short_read_drains(const struct cfut_io *io)
{
    /* Not a message socket (one message of several) nor a terminal (one
     * line of several in canonical mode) nor any other device. */
    return io->is_stream || io->is_fifo;
}

void
cfut__io_note_read(struct cfut_io *io, ssize_t n, size_t cap)
{
    if (CFUT__UNLIKELY(io->shared != NULL))
        return; /* see cfut_reactor_int.h */
    bool empty = n > 0 && (size_t)n < cap && io->is_stream;
    io->rd_empty = empty;
    if (empty)
        io->ready &= ~CFUT_IO_READABLE; /* HUP, if there, stays */
}

void
cfut__io_note_read_eagain(struct cfut_io *io)
{
    if (CFUT__UNLIKELY(io->shared != NULL))
        return;
    io->rd_empty = true;
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

/* Wakes the lists 'bits' concern (after recording them). */
static inline void
io_wake(struct cfut_io *io, unsigned bits)
{
    CFUT__TRACE(event(io->ex, bits_text(bits), io->fd));
    if (bits & CFUT_IO_READABLE)
        wake_list(io->drv, &io->readers);
    if (bits & CFUT_IO_WRITABLE)
        wake_list(io->drv, &io->writers);
}

/* The driver's report of an event on the fd: record it, wake the lists. */
static void
io_ready(struct cfut__fd_interest *in, unsigned bits)
{
    struct cfut_io *io = cfut_container_of(in, struct cfut_io, interest);
    io->ready |= bits; /* HUP is sticky: see cfut_reactor.h */
    io_wake(io, bits);
}

/* io_ready() of a shared registration (under its lock): the bits are read
 * without the lock, so they are written with an atomic store. */
static void
io_ready_shared(struct cfut__fd_interest *in, unsigned bits)
{
    struct cfut_io *io = cfut_container_of(in, struct cfut_io, interest);
    __atomic_store_n(&io->ready, io->ready | bits, __ATOMIC_RELAXED);
    io_wake(io, bits);
}

/* ---------------------------------------------------------------------- */
/* Registrations of a shared driver                                        */
/* ---------------------------------------------------------------------- */

/*
 * Readiness the driver has not reported yet, asked of the fd itself: on
 * a shared driver an event can come in between a call's EAGAIN and the
 * clearing of the bit that follows it (both on a worker, while another
 * turns the driver), and the edge-triggered registration would not report
 * it again. A zero-timeout poll(2) after linking the waiter closes that
 * window. Returns the CFUT_IO_* bits it found for 'dir' (0: none).
 */
static unsigned
poll_now(const struct cfut_io *io, enum cfut__io_dir dir)
{
    struct pollfd pfd;
    pfd.fd = io->fd;
    pfd.events = dir == CFUT__IO_READ ? POLLIN | POLLRDHUP : POLLOUT;
    pfd.revents = 0;
    int n;
    do
        n = poll(&pfd, 1, 0);
    while (n < 0 && errno == EINTR);
    if (n != 1)
        return 0;
    short e = pfd.revents;
    unsigned bits = 0;
    if (e & (POLLIN | POLLRDHUP | POLLHUP | POLLERR))
        bits |= CFUT_IO_READABLE;
    if (e & (POLLOUT | POLLHUP | POLLERR))
        bits |= CFUT_IO_WRITABLE;
    if (e & (POLLRDHUP | POLLHUP | POLLERR))
        bits |= CFUT_IO_HUP;
    return bits & (dir == CFUT__IO_READ ? CFUT_IO_READABLE : CFUT_IO_WRITABLE)
               ? bits
               : 0;
}

/*
 * cfut__io_wait() on a shared registration: under its lock, a bit already
 * set (by an event since the caller looked) or found by poll_now() wakes
 * the caller at once instead of linking it, so that it tries again.
 */
static void
shared_wait(struct cfut_io *io, enum cfut__io_dir dir,
            struct cfut__io_waiter *w, const struct cfut_waker *waker)
{
    struct cfut__io_shared *sh = io->shared;
    unsigned bit = dir == CFUT__IO_READ ? CFUT_IO_READABLE : CFUT_IO_WRITABLE;
    pthread_mutex_lock(&sh->lock);
    if (w->link.next != NULL) {
        cfut_waker_register(&w->waker, waker);
        pthread_mutex_unlock(&sh->lock);
        return;
    }
    unsigned found = io->ready & bit ? bit : poll_now(io, dir);
    if (found != 0) {
        __atomic_store_n(&io->ready, io->ready | found, __ATOMIC_RELAXED);
        pthread_mutex_unlock(&sh->lock);
        cfut_waker_wake_by_ref(waker);
        return;
    }
    w->waker = cfut_waker_clone(waker);
    cfut_list_init(&w->link);
    cfut_list_push_back(dir == CFUT__IO_READ ? &io->readers : &io->writers,
                        &w->link);
    io->drv->n_waiters++;
    pthread_mutex_unlock(&sh->lock);
}

static void
shared_unwait(struct cfut_io *io, struct cfut__io_waiter *w)
{
    struct cfut__io_shared *sh = io->shared;
    pthread_mutex_lock(&sh->lock);
    if (w->link.next != NULL)
        unlink_waiter(io->drv, w);
    struct cfut_waker k = w->waker;
    w->waker = CFUT_WAKER_EMPTY;
    pthread_mutex_unlock(&sh->lock);
    cfut_waker_drop(&k);
}

static void
shared_clear_ready(struct cfut_io *io, unsigned mask)
{
    mask &= ~CFUT_IO_HUP; /* a hang-up is never cleared */
    pthread_mutex_lock(&io->shared->lock);
    __atomic_store_n(&io->ready, io->ready & ~mask, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&io->shared->lock);
}

void
cfut__io_reap(struct cfut__io_shared *sh)
{
    while (sh->dead != NULL) {
        struct cfut_io *io = sh->dead;
        sh->dead = io->dead_next;
        cfut_free(io);
    }
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

/* cfut_io_new() on 'd'; 'sh' is NULL for an executor's driver. */
static int
io_new(struct cfut__driver *d, struct cfut__io_shared *sh, const void *key,
       int fd, struct cfut_io **out)
{
    if (d->vt->fd_register == NULL)
        return -ENOTSUP; /* a driver without fds (a browser's) */
    struct cfut_io *io = cfut_alloc(sizeof *io);
    if (io == NULL)
        return CFUT_ENOMEM;
    io->interest.ready = sh != NULL ? io_ready_shared : io_ready;
    io->drv = d;
    io->ex = key;
    io->shared = sh;
    io->dead_next = NULL;
    io->fd = fd;
    io->ready = 0;
    cfut_list_init(&io->readers);
    cfut_list_init(&io->writers);
    int type;
    socklen_t len = sizeof type;
    io->is_socket = getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0;
    io->is_stream = io->is_socket && type == SOCK_STREAM;
    struct stat sb;
    io->is_fifo = !io->is_socket && fstat(fd, &sb) == 0 && S_ISFIFO(sb.st_mode);
    io->rd_empty = false; /* unknown: bytes may predate the registration */
    int rc;
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 ||
        (!(fl & O_NONBLOCK) && fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0)) {
        rc = -errno;
        goto free_io;
    }
    if (sh != NULL)
        pthread_mutex_lock(&sh->lock); /* the turning thread may dispatch */
    rc = d->vt->fd_register(d, fd, &io->interest);
    if (rc == CFUT_OK)
        d->n_regs++;
    if (sh != NULL)
        pthread_mutex_unlock(&sh->lock);
    if (rc != CFUT_OK)
        goto free_io; /* -EPERM for a regular file, -EEXIST, ... */
    if (!io->is_socket)
        pthread_once(&sigpipe_once, ignore_sigpipe);
    *out = io;
    return CFUT_OK;

free_io:
    cfut_free(io);
    return rc;
}

int
cfut_io_new(struct cfut_executor *ex, int fd, struct cfut_io **out)
{
    if (ex == NULL || out == NULL || fd < 0)
        return CFUT_EINVAL;
    CFUT_DEBUG_ASSERT(ex->owner == cfut__thread_id(),
                      "cfut_io_new() on an executor used from a second "
                      "thread (a registration belongs to its executor's "
                      "thread; on a pool use cfut_pool_io_new())");
    return io_new(cfut__executor_driver(ex), NULL, ex, fd, out);
}

int
cfut__io_new_shared(struct cfut__driver *d, struct cfut__io_shared *sh,
                    const void *trace_key, int fd, struct cfut_io **out)
{
    if (out == NULL || fd < 0)
        return CFUT_EINVAL;
    return io_new(d, sh, trace_key, fd, out);
}

/* Deregisters and frees 'io', closing its fd when 'close_fd'. */
static void
io_free(struct cfut_io *io, bool close_fd)
{
    CFUT_ASSERT(cfut_list_is_empty(&io->readers) &&
                    cfut_list_is_empty(&io->writers),
                "cfut_io_free() while a future still waits on it");
    struct cfut__driver *d = io->drv;
    struct cfut__io_shared *sh = io->shared;
    if (sh != NULL) {
        /* A turn between its wait and its dispatch may hold an event that
         * names 'io': then the turn frees it after its dispatch. */
        pthread_mutex_lock(&sh->lock);
        d->vt->fd_deregister(d, io->fd, &io->interest);
        if (close_fd)
            close(io->fd);
        d->n_regs--;
        bool later = sh->in_turn;
        if (later) {
            io->dead_next = sh->dead;
            sh->dead = io;
        }
        pthread_mutex_unlock(&sh->lock);
        if (!later)
            cfut_free(io);
        return;
    }
    d->vt->fd_deregister(d, io->fd, &io->interest);
    if (close_fd)
        close(io->fd);
    d->n_regs--;
    cfut_free(io);
}

void
cfut_io_free(struct cfut_io *io)
{
    if (io != NULL)
        io_free(io, true);
}

void
cfut__io_free_keep_fd(struct cfut_io *io)
{
    io_free(io, false);
}

int
cfut_io_fd(const struct cfut_io *io)
{
    return io->fd;
}

unsigned
cfut_io_ready(const struct cfut_io *io)
{
    return __atomic_load_n(&io->ready, __ATOMIC_RELAXED);
}

void
cfut_io_clear_ready(struct cfut_io *io, unsigned mask)
{
    if (CFUT__UNLIKELY(io->shared != NULL)) {
        shared_clear_ready(io, mask);
        return;
    }
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
