/*
 * cfut_faults.c: system-call fault injection for the tests (an LD_PRELOAD
 * library; tests/fault_sweep.py runs the suites under it, './run test
 * --faults'). It stands in front of the system calls cfut makes and, at
 * points a seeded generator picks, makes them fail the way a kernel may:
 *
 *   CFUT_FAULT_MODE=transparent: faults a correct program absorbs, so every
 *     test must still pass: EINTR from read, write, writev, sendmsg, send,
 *     accept4, epoll_wait; short writes (write, writev, sendmsg, send move
 *     fewer bytes than asked).
 *   CFUT_FAULT_MODE=errors: faults that reach the caller as a status:
 *     ECONNRESET from read/write/writev/sendmsg/send on sockets (after a
 *     real shutdown(SHUT_RDWR) of the socket, so the peer sees it), ENOMEM
 *     from epoll_ctl, eventfd, pipe2 and socket, EMFILE/ENFILE from accept4,
 *     socket, socketpair and eventfd. Tests may then fail their own
 *     assertions, but never crash, hang or leak.
 *
 * Not injected: EAGAIN and short reads. Under edge-triggered epoll a read
 * that comes back short or with EAGAIN means the kernel's queue is empty
 * and the next bytes raise a new edge; cfut relies on that (docs/reactor.md),
 * and a fault that broke it would model a kernel that does not exist.
 *
 * CFUT_FAULT_SEED (default 1) seeds the generator; CFUT_FAULT_RATE=N
 * (default 16) makes about one call in N fail. CFUT_FAULT_LOG names a file
 * that receives a line "fault CALL ERRNO" per fault (0: a short write).
 * Only calls made from cfut's own functions are affected; the generator is per
 * thread (seed mixed with a thread serial), so a run is reproducible as far as
 * the order of calls within each thread is.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

enum mode { OFF, TRANSPARENT, ERRORS };

#define REAL(name) ((__typeof__(&name))dlsym(RTLD_NEXT, #name))

static enum mode mode = OFF;
static uint64_t seed = 1;
static unsigned rate = 16;
static atomic_uint next_thread;
static _Thread_local uint64_t rng;
static _Thread_local bool rng_ready;

static void load_ranges(void);
/* CFUT_FAULT_LOG, opened once at start: a test that runs out of
 * descriptors still logs. */
static int log_fd = -1;

__attribute__((constructor)) static void
faults_init(void)
{
    const char *m = getenv("CFUT_FAULT_MODE");
    if (m != NULL && strcmp(m, "transparent") == 0)
        mode = TRANSPARENT;
    else if (m != NULL && strcmp(m, "errors") == 0)
        mode = ERRORS;
    const char *s = getenv("CFUT_FAULT_SEED");
    if (s != NULL)
        seed = strtoull(s, NULL, 10);
    const char *r = getenv("CFUT_FAULT_RATE");
    if (r != NULL && atoi(r) > 0)
        rate = (unsigned)atoi(r);
    const char *log = getenv("CFUT_FAULT_LOG");
    if (mode != OFF && log != NULL)
        log_fd = ((int (*)(const char *, int, ...))dlsym(RTLD_NEXT, "open"))(
            log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (mode != OFF)
        load_ranges();
}

/* splitmix64: small, and good enough to pick fault points. */
static uint64_t
next(void)
{
    if (!rng_ready) {
        rng = seed ^
              (0x9e3779b97f4a7c15ull * (atomic_fetch_add(&next_thread, 1) + 1));
        rng_ready = true;
    }
    uint64_t z = (rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/*
 * Which code is cfut's: the functions of the executable's symbol table
 * (.symtab: the tests are not stripped) that come from cfut's source files
 * (cfut_*.c, by the FILE symbol that precedes each object's locals) or are
 * named cfut*. The tests' own reads and writes are left alone: they are
 * not under test.
 */
struct range {
    uintptr_t lo, hi;
};
static struct range *cfut_code;
static size_t n_cfut_code;

static int
by_lo(const void *a, const void *b)
{
    const struct range *x = a, *y = b;
    return x->lo < y->lo ? -1 : x->lo > y->lo;
}

static void
load_ranges(void)
{
    int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0)
        return;
    const unsigned char *img =
        mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (img == MAP_FAILED)
        return;
    const Elf64_Ehdr *eh = (const Elf64_Ehdr *)img;
    const Elf64_Shdr *sh = (const Elf64_Shdr *)(img + eh->e_shoff);
    /* A position-independent executable's symbols are offsets from where
     * it was loaded: the base of the object that holds 'main'. */
    uintptr_t base = 0;
    Dl_info exe;
    void *main_sym = dlsym(RTLD_DEFAULT, "main");
    if (eh->e_type == ET_DYN && main_sym != NULL && dladdr(main_sym, &exe) != 0)
        base = (uintptr_t)exe.dli_fbase;
    for (unsigned i = 0; i < eh->e_shnum; i++) {
        if (sh[i].sh_type != SHT_SYMTAB)
            continue;
        const Elf64_Sym *sym = (const Elf64_Sym *)(img + sh[i].sh_offset);
        size_t n = sh[i].sh_size / sizeof *sym;
        const char *names = (const char *)(img + sh[sh[i].sh_link].sh_offset);
        cfut_code = malloc(n * sizeof *cfut_code);
        if (cfut_code == NULL)
            break;
        bool file_is_cfut = false;
        for (size_t k = 0; k < n; k++) {
            const char *name = names + sym[k].st_name;
            int type = ELF64_ST_TYPE(sym[k].st_info);
            if (type == STT_FILE) {
                const char *slash = strrchr(name, '/');
                file_is_cfut =
                    strncmp(slash != NULL ? slash + 1 : name, "cfut_", 5) == 0;
                continue;
            }
            if (type != STT_FUNC || sym[k].st_value == 0)
                continue;
            bool local = ELF64_ST_BIND(sym[k].st_info) == STB_LOCAL;
            if ((local && file_is_cfut) ||
                (!local && strncmp(name, "cfut", 4) == 0)) {
                uintptr_t lo = base + sym[k].st_value;
                cfut_code[n_cfut_code++] = (struct range){
                    lo, lo + (sym[k].st_size ? sym[k].st_size : 1)};
            }
        }
        qsort(cfut_code, n_cfut_code, sizeof *cfut_code, by_lo);
        break;
    }
    munmap((void *)img, (size_t)st.st_size);
}

static bool
from_cfut(const void *caller)
{
    uintptr_t a = (uintptr_t)caller;
    size_t lo = 0, hi = n_cfut_code;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (cfut_code[mid].hi <= a)
            lo = mid + 1;
        else if (cfut_code[mid].lo > a)
            hi = mid;
        else
            return true;
    }
    return false;
}

/* Appends "fault NAME ERRNO" to CFUT_FAULT_LOG (one line per fault). */
static void
note(const char *call, int err)
{
    if (log_fd < 0)
        return;
    int saved = errno; /* the fault's errno is what the caller must see */
    char line[96];
    int n = snprintf(line, sizeof line, "fault %s %d\n", call, err);
    if (n > 0)
        (void)REAL(write)(log_fd, line, (size_t)n);
    errno = saved;
}

/* Whether this call of cfut's fails (in mode 'm'). */
#define HIT(m)                                                                 \
    (mode == (m) && from_cfut(__builtin_return_address(0)) &&                  \
     next() % rate == 0)

static bool
is_socket(int fd)
{
    struct stat st;
    return fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
}

/* Whether a write to 'fd' may be short: sockets and pipes, not eventfds
 * (whose 8-byte writes are all or nothing). */
static bool
may_be_short(int fd)
{
    struct stat st;
    return fstat(fd, &st) == 0 &&
           (S_ISSOCK(st.st_mode) || S_ISFIFO(st.st_mode));
}

/*
 * Makes the connection of 'fd' really end before ECONNRESET is reported:
 * a reset that the peer never sees would model a kernel that does not
 * exist (the peer would wait for bytes forever).
 */
static void
reset(int fd)
{
    (void)shutdown(fd, SHUT_RDWR);
}

/* A short count: at least one byte, fewer than 'n' when n > 1. */
static size_t
shorter(size_t n)
{
    return n > 1 ? 1 + (size_t)(next() % (n - 1)) : n;
}

ssize_t
read(int fd, void *buf, size_t n)
{
    if (HIT(TRANSPARENT)) {
        errno = EINTR;
        note("read", errno);
        return -1;
    }
    if (is_socket(fd) && HIT(ERRORS)) {
        reset(fd);
        errno = ECONNRESET;
        note("read", errno);
        return -1;
    }
    return REAL(read)(fd, buf, n);
}

ssize_t
write(int fd, const void *buf, size_t n)
{
    if (HIT(TRANSPARENT)) {
        if ((next() & 1) || !may_be_short(fd)) {
            errno = EINTR;
            note("write", errno);
            return -1;
        }
        n = shorter(n);
        note("write", 0);
    }
    if (is_socket(fd) && HIT(ERRORS)) {
        reset(fd);
        errno = ECONNRESET;
        note("write", errno);
        return -1;
    }
    return REAL(write)(fd, buf, n);
}

ssize_t
send(int fd, const void *buf, size_t n, int flags)
{
    if (HIT(TRANSPARENT)) {
        if (next() & 1) {
            errno = EINTR;
            note("send", errno);
            return -1;
        }
        n = shorter(n);
        note("send", 0);
    }
    if (HIT(ERRORS)) {
        reset(fd);
        errno = ECONNRESET;
        note("send", errno);
        return -1;
    }
    return REAL(send)(fd, buf, n, flags);
}

/* Cuts a gather list to a shorter total (a copy of at most 64 pieces). */
static int
cut_iov(const struct iovec *iov, int cnt, struct iovec *out)
{
    size_t total = 0;
    if (cnt > 64)
        cnt = 64;
    for (int i = 0; i < cnt; i++)
        total += iov[i].iov_len;
    size_t keep = shorter(total);
    int k = 0;
    for (int i = 0; i < cnt && keep > 0; i++) {
        out[k] = iov[i];
        if (out[k].iov_len > keep)
            out[k].iov_len = keep;
        keep -= out[k].iov_len;
        k++;
    }
    return k;
}

ssize_t
writev(int fd, const struct iovec *iov, int cnt)
{
    struct iovec cut[64];
    if (HIT(TRANSPARENT)) {
        if ((next() & 1) || !may_be_short(fd)) {
            errno = EINTR;
            note("writev", errno);
            return -1;
        }
        cnt = cut_iov(iov, cnt, cut);
        note("writev", 0);
        iov = cut;
    }
    if (is_socket(fd) && HIT(ERRORS)) {
        reset(fd);
        errno = ECONNRESET;
        note("writev", errno);
        return -1;
    }
    return REAL(writev)(fd, iov, cnt);
}

ssize_t
sendmsg(int fd, const struct msghdr *msg, int flags)
{
    struct iovec cut[64];
    struct msghdr m = *msg;
    if (HIT(TRANSPARENT)) {
        if (next() & 1) {
            errno = EINTR;
            note("sendmsg", errno);
            return -1;
        }
        m.msg_iovlen = (size_t)cut_iov(msg->msg_iov, (int)msg->msg_iovlen, cut);
        note("sendmsg", 0);
        m.msg_iov = cut;
    }
    if (HIT(ERRORS)) {
        reset(fd);
        errno = ECONNRESET;
        note("sendmsg", errno);
        return -1;
    }
    return REAL(sendmsg)(fd, &m, flags);
}

int
accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
    if (HIT(TRANSPARENT)) {
        errno = EINTR;
        note("accept4", errno);
        return -1;
    }
    if (HIT(ERRORS)) {
        errno = (next() & 1) ? EMFILE : ENFILE;
        note("accept4", errno);
        return -1;
    }
    return REAL(accept4)(fd, addr, len, flags);
}

int
epoll_wait(int epfd, struct epoll_event *ev, int max, int ms)
{
    if (HIT(TRANSPARENT)) {
        errno = EINTR;
        note("epoll_wait", errno);
        return -1;
    }
    return REAL(epoll_wait)(epfd, ev, max, ms);
}

int
epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev)
{
    if (op == EPOLL_CTL_ADD && HIT(ERRORS)) {
        errno = ENOMEM;
        note("epoll_ctl", errno);
        return -1;
    }
    return REAL(epoll_ctl)(epfd, op, fd, ev);
}

int
socket(int domain, int type, int protocol)
{
    if (HIT(ERRORS)) {
        static const int errs[3] = {EMFILE, ENFILE, ENOMEM};
        errno = errs[next() % 3];
        note("socket", errno);
        return -1;
    }
    return REAL(socket)(domain, type, protocol);
}

int
socketpair(int domain, int type, int protocol, int sv[2])
{
    if (HIT(ERRORS)) {
        errno = EMFILE;
        note("socketpair", errno);
        return -1;
    }
    return REAL(socketpair)(domain, type, protocol, sv);
}

int
eventfd(unsigned int initval, int flags)
{
    if (HIT(ERRORS)) {
        errno = (next() & 1) ? EMFILE : ENOMEM;
        note("eventfd", errno);
        return -1;
    }
    return REAL(eventfd)(initval, flags);
}

int
pipe2(int fds[2], int flags)
{
    if (HIT(ERRORS)) {
        errno = EMFILE;
        note("pipe2", errno);
        return -1;
    }
    return REAL(pipe2)(fds, flags);
}
