/*
 * cfut_signal.c: signals as futures through the self-pipe trick. The
 * sigaction() handler counts each delivery in a lock-free atomic and
 * writes a byte to a process-wide pipe; each listener registers a dup()
 * of the pipe's read end with its executor's reactor, and its receive
 * future compares the count with the count it last reported. The count is
 * the truth; the pipe only wakes executors (every listener's descriptor
 * sees every write, whoever drains the bytes).
 */
#define _GNU_SOURCE
#include "cfut_signal.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "cfut_reactor.h"

#if ATOMIC_LONG_LOCK_FREE != 2 || ATOMIC_INT_LOCK_FREE != 2
#error "the signal handler needs lock-free atomic counters"
#endif

/* The process-wide part (signal numbers below NSIG). */
static pthread_mutex_t sig_mu = PTHREAD_MUTEX_INITIALIZER;
static int pipe_r = -1;                 /* under sig_mu */
static atomic_int pipe_w = -1;          /* read by the handler */
static atomic_ulong deliveries[NSIG];   /* counted by the handler */
static int n_listeners[NSIG];           /* under sig_mu */
static struct sigaction previous[NSIG]; /* under sig_mu */

struct cfut_signal {
    int signum;
    struct cfut_io *io; /* a dup() of the pipe's read end */
    unsigned long seen; /* deliveries[signum] when last reported */
};

/* The handler: async-signal-safe (an atomic add and a write). */
static void
on_signal(int signum)
{
    int saved = errno;
    atomic_fetch_add(&deliveries[signum], 1);
    unsigned char b = (unsigned char)signum;
    ssize_t n;
    do /* a full pipe is fine: the count has it */
        n = write(atomic_load_explicit(&pipe_w, memory_order_relaxed), &b, 1);
    while (n < 0 && errno == EINTR);
    errno = saved;
}

static bool
can_handle(int signum)
{
    switch (signum) {
    case SIGKILL:
    case SIGSTOP:
    case SIGSEGV:
    case SIGBUS:
    case SIGFPE:
    case SIGILL:
    case SIGTRAP:
    case SIGSYS:
        return false;
    default:
        return signum > 0 && signum < NSIG;
    }
}

/* Drops one listener of 'signum'; the last restores the old action. */
static void
release_locked(int signum)
{
    if (--n_listeners[signum] == 0)
        sigaction(signum, &previous[signum], NULL);
}

int
cfut_signal_new(struct cfut_executor *ex, int signum, struct cfut_signal **out)
{
    if (ex == NULL || out == NULL || !can_handle(signum))
        return CFUT_EINVAL;
    struct cfut_signal *s = cfut_alloc(sizeof *s);
    if (s == NULL)
        return CFUT_ENOMEM;
    int rc = CFUT_OK, fd = -1;
    pthread_mutex_lock(&sig_mu);
    if (pipe_r < 0) {
        int fds[2];
        if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) {
            rc = -errno;
            goto unlock;
        }
        pipe_r = fds[0];
        atomic_store(&pipe_w, fds[1]);
    }
    fd = fcntl(pipe_r, F_DUPFD_CLOEXEC, 0);
    if (fd < 0) {
        rc = -errno;
        goto unlock;
    }
    if (n_listeners[signum] == 0) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_signal;
        sa.sa_flags = SA_RESTART;
        sigemptyset(&sa.sa_mask);
        if (sigaction(signum, &sa, &previous[signum]) != 0) {
            rc = -errno;
            goto unlock;
        }
    }
    n_listeners[signum]++;
    s->seen = atomic_load(&deliveries[signum]); /* from now on */
unlock:
    pthread_mutex_unlock(&sig_mu);
    if (rc == CFUT_OK) {
        rc = cfut_io_new(ex, fd, &s->io);
        if (rc != CFUT_OK) {
            pthread_mutex_lock(&sig_mu);
            release_locked(signum);
            pthread_mutex_unlock(&sig_mu);
        }
    }
    if (rc != CFUT_OK) {
        if (fd >= 0)
            close(fd);
        cfut_free(s);
        return rc;
    }
    s->signum = signum;
    *out = s;
    return CFUT_OK;
}

void
cfut_signal_free(struct cfut_signal *s)
{
    if (s == NULL)
        return;
    cfut_io_free(s->io); /* aborts if a receive still waits */
    pthread_mutex_lock(&sig_mu);
    release_locked(s->signum);
    pthread_mutex_unlock(&sig_mu);
    cfut_free(s);
}

int
cfut_signal_number(const struct cfut_signal *s)
{
    return s->signum;
}

/* Reads the pipe until it is empty (the bytes only woke us). */
static void
drain(struct cfut_signal *s)
{
    unsigned char buf[64];
    for (;;) {
        ssize_t n = read(cfut_io_fd(s->io), buf, sizeof buf);
        if (n > 0 || (n < 0 && errno == EINTR))
            continue;
        break; /* empty (EAGAIN): the next byte is a new edge */
    }
}

/*
 * States: the count moved since the last report: READY with the
 * difference. Else empty the pipe, look again (a delivery may have come
 * meanwhile), then wait for the next byte on this listener's descriptor
 * (a byte for another signal only makes it look again).
 */
static enum cfut_poll
cfut_signal_recv_poll(struct cfut_future *base, struct cfut_context *cx,
                      void *out)
{
    struct cfut_signal_recv *f =
        cfut_container_of(base, struct cfut_signal_recv, base);
    struct cfut_signal *s = f->s;
    for (;;) {
        unsigned long c = atomic_load(&deliveries[s->signum]);
        if (c != s->seen) {
            if (f->waiting) {
                cfut_future_drop(&f->rd.base);
                f->waiting = false;
            }
            *(uint64_t *)out = (uint64_t)(c - s->seen);
            s->seen = c;
            return CFUT_READY;
        }
        if (!f->waiting) {
            drain(s);
            if (atomic_load(&deliveries[s->signum]) != s->seen)
                continue;
            cfut_io_clear_ready(s->io, CFUT_IO_READABLE);
            cfut_readable_init(&f->rd, s->io);
            f->waiting = true;
        }
        int st;
        if (cfut_future_poll(&f->rd.base, cx, &st) == CFUT_PENDING)
            return CFUT_PENDING;
        cfut_future_drop(&f->rd.base);
        f->waiting = false;
    }
}

static void
cfut_signal_recv_drop(struct cfut_future *base)
{
    struct cfut_signal_recv *f =
        cfut_container_of(base, struct cfut_signal_recv, base);
    if (f->waiting)
        cfut_future_drop(&f->rd.base);
}

static const struct cfut_future_vtable cfut_signal_recv_vtable = {
    cfut_signal_recv_poll, cfut_signal_recv_drop, sizeof(uint64_t),
    "signal_recv", NULL};

void
cfut_signal_recv_init(struct cfut_signal_recv *f, struct cfut_signal *s)
{
    cfut_future_init(&f->base, &cfut_signal_recv_vtable);
    f->s = s;
    f->waiting = false;
}
