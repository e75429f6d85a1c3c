/*
 * cfut_reactor.c: the driver every executor parks in: epoll for fd
 * readiness, an eventfd for unparks from other threads, and a binary
 * min-heap of timers. It runs no user code of its own: events only set
 * readiness bits and wake the wakers registered for them.
 */
#define _GNU_SOURCE
#include "cfut_reactor_int.h"
#include "cfut_trace_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define REACTOR_MAGIC 0x52454143u /* "REAC" */
#define N_EVENTS 64
#define HEAP_MIN_CAP 64u

struct slot;

struct cfut__reactor {
    uint32_t magic;
    int epfd;
    int evfd;
    size_t n_waiters;  /* futures on some registration's list */
    size_t n_regs;     /* live registrations */
    struct slot *heap; /* min-heap on (deadline, seq) */
    size_t n_timers;
    size_t cap;
    uint64_t next_seq;
    bool paused;         /* the clock is manual */
    uint64_t paused_now; /* the manual clock's time */
    uint64_t now_cache;  /* the clock at its last reading (never ahead) */
    struct epoll_event events[N_EVENTS];
};

struct cfut_io {
    struct cfut__reactor *r;
    int fd;
    unsigned ready; /* CFUT_IO_* seen and not cleared */
    bool is_socket;
    struct cfut_list readers; /* read waiters, on their 'link' */
    struct cfut_list writers; /* write waiters, on their 'link' */
};

/* The epoll tag of the eventfd (registrations use their own address). */
static char evfd_tag;

/* ---------------------------------------------------------------------- */
/* Clock                                                                   */
/* ---------------------------------------------------------------------- */

static uint64_t
monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t
cfut__reactor_now(struct cfut__reactor *r)
{
    uint64_t now = r->paused ? r->paused_now : monotonic_ns();
    r->now_cache = now;
    return now;
}

uint64_t
cfut__reactor_now_cached(const struct cfut__reactor *r)
{
    return r->paused ? r->paused_now : r->now_cache;
}

/* ---------------------------------------------------------------------- */
/* Timer heap                                                              */
/* ---------------------------------------------------------------------- */

/*
 * A heap slot keeps the timer's key beside the pointer, so that sifting
 * compares within the array and touches a timer only to update its index.
 */
struct slot {
    uint64_t deadline;
    uint64_t seq;
    struct cfut__timer *t;
};

static inline bool
slot_before(const struct slot *a, const struct slot *b)
{
    return a->deadline < b->deadline ||
           (a->deadline == b->deadline && a->seq < b->seq);
}

static inline void
heap_set(struct cfut__reactor *r, size_t i, struct slot s)
{
    r->heap[i] = s;
    s.t->index = i;
}

static void
sift_up(struct cfut__reactor *r, size_t i)
{
    struct slot s = r->heap[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!slot_before(&s, &r->heap[parent]))
            break;
        heap_set(r, i, r->heap[parent]);
        i = parent;
    }
    heap_set(r, i, s);
}

static void
sift_down(struct cfut__reactor *r, size_t i)
{
    struct slot s = r->heap[i];
    size_t n = r->n_timers;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && slot_before(&r->heap[c + 1], &r->heap[c]))
            c++;
        if (!slot_before(&r->heap[c], &s))
            break;
        heap_set(r, i, r->heap[c]);
        i = c;
    }
    heap_set(r, i, s);
}

/* Takes the timer at heap position 'i' out of the heap. */
static void
heap_remove_at(struct cfut__reactor *r, size_t i)
{
    struct cfut__timer *t = r->heap[i].t;
    struct slot last = r->heap[--r->n_timers];
    t->index = SIZE_MAX;
    if (i == r->n_timers)
        return;
    heap_set(r, i, last);
    sift_down(r, i);
    if (last.t->index == i)
        sift_up(r, i);
}

int
cfut__timer_insert(struct cfut__reactor *r, struct cfut__timer *t,
                   const struct cfut_waker *w)
{
    if (r->n_timers == r->cap) {
        size_t cap = r->cap == 0 ? HEAP_MIN_CAP : r->cap * 2;
        struct slot *h = cfut_alloc(cap * sizeof *h);
        if (h == NULL)
            return CFUT_ENOMEM;
        if (r->n_timers != 0)
            memcpy(h, r->heap, r->n_timers * sizeof *h);
        cfut_free(r->heap);
        r->heap = h;
        r->cap = cap;
    }
    t->seq = r->next_seq++;
    t->waker = cfut_waker_clone(w);
    struct slot sl = {t->deadline, t->seq, t};
    size_t i = r->n_timers++;
    r->heap[i] = sl;
    sift_up(r, i);
    return CFUT_OK;
}

void
cfut__timer_remove(struct cfut__reactor *r, struct cfut__timer *t)
{
    if (t->index != SIZE_MAX) {
        CFUT_DEBUG_ASSERT(t->index < r->n_timers && r->heap[t->index].t == t,
                          "timer heap corrupt (a sleep was moved?)");
        heap_remove_at(r, t->index);
    }
    cfut_waker_drop(&t->waker);
}

/* Wakes every timer due at 'now', earliest first; returns how many. */
static size_t
fire_due(struct cfut__reactor *r, uint64_t now)
{
    size_t n = 0;
    if (now > r->now_cache)
        r->now_cache = now;
    while (r->n_timers != 0 && r->heap[0].deadline <= now) {
        struct cfut__timer *t = r->heap[0].t;
        heap_remove_at(r, 0);
        CFUT__TRACE(reactor("timer fired", -1));
        struct cfut_waker w = t->waker;
        t->waker = CFUT_WAKER_EMPTY;
        cfut_waker_wake(&w);
        n++;
    }
    return n;
}

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
    io->r->n_waiters++;
}

static void
unlink_waiter(struct cfut__reactor *r, struct cfut__io_waiter *w)
{
    cfut_list_remove(&w->link);
    w->link.next = w->link.prev = NULL; /* "not linked", as at init */
    r->n_waiters--;
}

void
cfut__io_unwait(struct cfut_io *io, struct cfut__io_waiter *w)
{
    if (w->link.next != NULL)
        unlink_waiter(io->r, w);
    cfut_waker_drop(&w->waker);
}

/* Wakes and unlinks every waiter on the list 'head'. */
static void
wake_list(struct cfut__reactor *r, struct cfut_list *head)
{
    while (!cfut_list_is_empty(head)) {
        struct cfut__io_waiter *w =
            cfut_container_of(head->next, struct cfut__io_waiter, link);
        unlink_waiter(r, w);
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
/* The driver                                                              */
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

/* Applies 'n' epoll events: readiness bits, wakes, the unpark signal. */
static void
dispatch(struct cfut__reactor *r, int n)
{
    for (int i = 0; i < n; i++) {
        struct epoll_event *ev = &r->events[i];
        if (ev->data.ptr == &evfd_tag) {
            uint64_t v;
            ssize_t rd = read(r->evfd, &v, sizeof v);
            (void)rd; /* EAGAIN: already consumed */
            continue;
        }
        struct cfut_io *io = ev->data.ptr;
        uint32_t e = ev->events;
        unsigned bits = 0;
        if (e & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
            bits |= CFUT_IO_READABLE;
        if (e & (EPOLLOUT | EPOLLHUP | EPOLLERR))
            bits |= CFUT_IO_WRITABLE;
        if (e & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
            bits |= CFUT_IO_HUP; /* sticky: see cfut_reactor.h */
        io->ready |= bits;
        CFUT__TRACE(reactor(bits_text(bits), io->fd));
        if (bits & CFUT_IO_READABLE)
            wake_list(r, &io->readers);
        if (bits & CFUT_IO_WRITABLE)
            wake_list(r, &io->writers);
    }
}

/*
 * Waits at most 'timeout_ms' (-1: until something happens; 0: just look)
 * for fd events, the unpark signal or the next timer. A look with no
 * waiter and no timer makes no system call; with timers only, it reads the
 * clock. With a paused clock, a blocking turn that finds nothing to do
 * moves the clock to the earliest deadline instead of sleeping.
 */
static int
reactor_turn(void *drv, int timeout_ms)
{
    struct cfut__reactor *r = drv;
    if (timeout_ms == 0 && r->n_waiters == 0) {
        if (r->n_timers != 0)
            fire_due(r, cfut__reactor_now(r));
        return CFUT_OK;
    }
    int wait_ms = timeout_ms;
    size_t fired = 0;
    if (r->n_timers != 0) {
        uint64_t now = cfut__reactor_now(r);
        fired = fire_due(r, now);
        if (fired != 0 || r->paused) {
            wait_ms = 0;
        } else if (r->n_timers != 0) {
            uint64_t d = r->heap[0].deadline - now;
            uint64_t ms = (d + 999999u) / 1000000u; /* never wake early */
            if (ms > INT_MAX)
                ms = INT_MAX;
            if (wait_ms < 0 || (int)ms < wait_ms)
                wait_ms = (int)ms;
        }
    }
    int n = epoll_wait(r->epfd, r->events, N_EVENTS, wait_ms);
    if (n < 0) {
        if (errno != EINTR)
            return -errno;
        n = 0;
    }
    dispatch(r, n);
    if (r->n_timers != 0) {
        if (r->paused && timeout_ms != 0 && n == 0 && fired == 0 &&
            r->heap[0].deadline > r->paused_now)
            r->paused_now = r->heap[0].deadline; /* auto-advance */
        fire_due(r, cfut__reactor_now(r));
    }
    return CFUT_OK;
}

static void
reactor_unpark(void *drv)
{
    struct cfut__reactor *r = drv;
    uint64_t one = 1;
    ssize_t w = write(r->evfd, &one, sizeof one);
    (void)w; /* EAGAIN: the counter is saturated, a wake is pending */
}

static void
reactor_free(void *drv)
{
    struct cfut__reactor *r = drv;
    CFUT_ASSERT(r->n_regs == 0,
                "an executor was freed with fd registrations alive "
                "(cfut_io_free() them first)");
    close(r->evfd);
    close(r->epfd);
    r->magic = 0;
    cfut_free(r->heap);
    cfut_free(r);
}

const struct cfut__driver_vtable cfut__reactor_vtable = {
    reactor_turn, reactor_unpark, reactor_free};

int
cfut__reactor_new(struct cfut__reactor **out)
{
    struct cfut__reactor *r = cfut_alloc(sizeof *r);
    if (r == NULL)
        return CFUT_ENOMEM;
    memset(r, 0, sizeof *r);
    r->magic = REACTOR_MAGIC;
    int rc;
    r->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (r->epfd < 0) {
        rc = -errno;
        goto free_r;
    }
    r->evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (r->evfd < 0) {
        rc = -errno;
        goto close_ep;
    }
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.events = EPOLLIN;
    ev.data.ptr = &evfd_tag;
    if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, r->evfd, &ev) != 0) {
        rc = -errno;
        goto close_ev;
    }
    *out = r;
    return CFUT_OK;

close_ev:
    close(r->evfd);
close_ep:
    close(r->epfd);
free_r:
    cfut_free(r);
    return rc;
}

struct cfut__reactor *
cfut__reactor_of(const struct cfut_executor *ex)
{
    struct cfut__reactor *r =
        cfut__executor_driver((struct cfut_executor *)(uintptr_t)ex);
    CFUT_ASSERT(r != NULL && r->magic == REACTOR_MAGIC,
                "this executor's driver is not the reactor");
    return r;
}

struct cfut__reactor *
cfut__reactor_current(void)
{
    struct cfut_executor *ex = cfut_executor_current();
    return ex != NULL ? cfut__reactor_of(ex) : NULL;
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
    struct cfut__reactor *r = cfut__reactor_of(ex);
    struct cfut_io *io = cfut_alloc(sizeof *io);
    if (io == NULL)
        return CFUT_ENOMEM;
    io->r = r;
    io->fd = fd;
    io->ready = 0;
    cfut_list_init(&io->readers);
    cfut_list_init(&io->writers);
    int type;
    socklen_t len = sizeof type;
    io->is_socket = getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0;
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 ||
        (!(fl & O_NONBLOCK) && fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0))
        goto free_io;
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    ev.data.ptr = io;
    if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, fd, &ev) != 0)
        goto free_io;
    if (!io->is_socket)
        pthread_once(&sigpipe_once, ignore_sigpipe);
    r->n_regs++;
    *out = io;
    return CFUT_OK;

free_io:;
    int rc = -errno; /* fcntl or epoll_ctl: EPERM for a regular file */
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
    struct cfut__reactor *r = io->r;
    epoll_ctl(r->epfd, EPOLL_CTL_DEL, io->fd, NULL);
    close(io->fd);
    r->n_regs--;
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
/* Introspection and the clock API                                         */
/* ---------------------------------------------------------------------- */

size_t
cfut_reactor_n_timers(const struct cfut_executor *ex)
{
    return cfut__reactor_of(ex)->n_timers;
}

size_t
cfut_reactor_n_waiters(const struct cfut_executor *ex)
{
    return cfut__reactor_of(ex)->n_waiters;
}

size_t
cfut_reactor_n_registrations(const struct cfut_executor *ex)
{
    return cfut__reactor_of(ex)->n_regs;
}

uint64_t
cfut_time_now(const struct cfut_executor *ex)
{
    if (ex == NULL)
        ex = cfut_executor_current();
    if (ex == NULL)
        return monotonic_ns();
    return cfut__reactor_now(cfut__reactor_of(ex));
}

void
cfut_time_pause(struct cfut_executor *ex)
{
    struct cfut__reactor *r = cfut__reactor_of(ex);
    if (r->paused)
        return;
    r->paused_now = monotonic_ns();
    r->paused = true;
}

int
cfut_time_advance(struct cfut_executor *ex, uint64_t ns)
{
    struct cfut__reactor *r = cfut__reactor_of(ex);
    if (!r->paused)
        return CFUT_ESTATE;
    r->paused_now += ns;
    fire_due(r, r->paused_now);
    return CFUT_OK;
}
