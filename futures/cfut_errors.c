/*
 * cfut_errors.c: the text and name of each status, cfut's own and the
 * system's (negated errno values), and the translation of statuses to and
 * from the wire, where errno values travel in Linux numbering. It never
 * calls strerror() (not thread-safe): glibc's strerrordesc_np() and
 * strerrorname_np(), or a table of its own elsewhere.
 */
#define _GNU_SOURCE
#include "cfut_errors_int.h"

#include <netdb.h>
#include <stddef.h>
#include <string.h>

#if defined(__GLIBC__) &&                                                      \
    (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 32))
#define HAVE_STRERRORDESC_NP 1
#endif

struct entry {
    int value;
    const char *name;
    const char *text;
};

#define ENTRY(name, value, text) {(value), #name, (text)},

static const struct entry table[] = {CFUT_STATUS_MAP(ENTRY)};

_Static_assert(sizeof table / sizeof table[0] == CFUT_N_STATUS,
               "CFUT_N_STATUS does not count CFUT_STATUS_MAP");

/*
 * The errno values cfut knows by name without the C library's help, with
 * their Linux numbers (the wire's numbering) and a text of our own: E(name,
 * Linux number, text). Every one is POSIX.
 */
#define ERRNO_MAP(E)                                                           \
    E(EPERM, 1, "operation not permitted")                                     \
    E(ENOENT, 2, "no such file or directory")                                  \
    E(ESRCH, 3, "no such process")                                             \
    E(EINTR, 4, "interrupted system call")                                     \
    E(EIO, 5, "input/output error")                                            \
    E(ENXIO, 6, "no such device or address")                                   \
    E(E2BIG, 7, "argument list too long")                                      \
    E(ENOEXEC, 8, "not an executable format")                                  \
    E(EBADF, 9, "bad file descriptor")                                         \
    E(ECHILD, 10, "no child processes")                                        \
    E(EAGAIN, 11, "resource temporarily unavailable")                          \
    E(ENOMEM, 12, "out of memory")                                             \
    E(EACCES, 13, "permission denied")                                         \
    E(EFAULT, 14, "bad address")                                               \
    E(EBUSY, 16, "device or resource busy")                                    \
    E(EEXIST, 17, "file exists")                                               \
    E(EXDEV, 18, "link across file systems")                                   \
    E(ENODEV, 19, "no such device")                                            \
    E(ENOTDIR, 20, "not a directory")                                          \
    E(EISDIR, 21, "is a directory")                                            \
    E(EINVAL, 22, "invalid argument")                                          \
    E(ENFILE, 23, "too many open files in the system")                         \
    E(EMFILE, 24, "too many open files")                                       \
    E(ENOTTY, 25, "not a terminal")                                            \
    E(ETXTBSY, 26, "text file busy")                                           \
    E(EFBIG, 27, "file too large")                                             \
    E(ENOSPC, 28, "no space left on device")                                   \
    E(ESPIPE, 29, "illegal seek")                                              \
    E(EROFS, 30, "read-only file system")                                      \
    E(EMLINK, 31, "too many links")                                            \
    E(EPIPE, 32, "broken pipe")                                                \
    E(EDOM, 33, "argument out of domain")                                      \
    E(ERANGE, 34, "result out of range")                                       \
    E(EDEADLK, 35, "resource deadlock avoided")                                \
    E(ENAMETOOLONG, 36, "file name too long")                                  \
    E(ENOLCK, 37, "no locks available")                                        \
    E(ENOSYS, 38, "function not implemented")                                  \
    E(ENOTEMPTY, 39, "directory not empty")                                    \
    E(ELOOP, 40, "too many levels of symbolic links")                          \
    E(ENOMSG, 42, "no message of the desired type")                            \
    E(EIDRM, 43, "identifier removed")                                         \
    E(EPROTO, 71, "protocol error")                                            \
    E(EBADMSG, 74, "bad message")                                              \
    E(EOVERFLOW, 75, "value too large for its type")                           \
    E(EILSEQ, 84, "invalid or incomplete multibyte character")                 \
    E(ENOTSOCK, 88, "not a socket")                                            \
    E(EDESTADDRREQ, 89, "destination address required")                        \
    E(EMSGSIZE, 90, "message too long")                                        \
    E(EPROTOTYPE, 91, "wrong protocol type for socket")                        \
    E(ENOPROTOOPT, 92, "protocol not available")                               \
    E(EPROTONOSUPPORT, 93, "protocol not supported")                           \
    E(EOPNOTSUPP, 95, "operation not supported")                               \
    E(EAFNOSUPPORT, 97, "address family not supported")                        \
    E(EADDRINUSE, 98, "address already in use")                                \
    E(EADDRNOTAVAIL, 99, "cannot assign the requested address")                \
    E(ENETDOWN, 100, "network is down")                                        \
    E(ENETUNREACH, 101, "network is unreachable")                              \
    E(ENETRESET, 102, "connection dropped by a network reset")                 \
    E(ECONNABORTED, 103, "connection aborted")                                 \
    E(ECONNRESET, 104, "connection reset by the peer")                         \
    E(ENOBUFS, 105, "no buffer space available")                               \
    E(EISCONN, 106, "socket is already connected")                             \
    E(ENOTCONN, 107, "socket is not connected")                                \
    E(ETIMEDOUT, 110, "connection timed out")                                  \
    E(ECONNREFUSED, 111, "connection refused")                                 \
    E(EHOSTUNREACH, 113, "no route to host")                                   \
    E(EALREADY, 114, "operation already in progress")                          \
    E(EINPROGRESS, 115, "operation now in progress")                           \
    E(ESTALE, 116, "stale file handle")                                        \
    E(EDQUOT, 122, "disk quota exceeded")                                      \
    E(ECANCELED, 125, "operation canceled")                                    \
    E(EOWNERDEAD, 130, "owner died")                                           \
    E(ENOTRECOVERABLE, 131, "state not recoverable")

struct errno_entry {
    int value;   /* this system's errno */
    int linux_n; /* the same error's number on Linux (the wire's) */
    const char *name;
    const char *text;
};

#define ERRNO_ENTRY(name, linux_n, text) {name, linux_n, #name, text},

static const struct errno_entry errnos[] = {ERRNO_MAP(ERRNO_ENTRY)};

#ifdef __linux__
/* On Linux the table's numbers are the system's own: checked here. */
#define ERRNO_CHECK(name, linux_n, text)                                       \
    _Static_assert(name == linux_n, #name " has another number on Linux");
ERRNO_MAP(ERRNO_CHECK)
#endif

static const struct entry *
find_status(int status)
{
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (table[i].value == status)
            return &table[i];
    return NULL;
}

static const struct errno_entry *
find_errno(int e)
{
    for (size_t i = 0; i < sizeof errnos / sizeof errnos[0]; i++)
        if (errnos[i].value == e)
            return &errnos[i];
    return NULL;
}

static const struct errno_entry *
find_linux(int n)
{
    for (size_t i = 0; i < sizeof errnos / sizeof errnos[0]; i++)
        if (errnos[i].linux_n == n)
            return &errnos[i];
    return NULL;
}

const char *
cfut_strerror(int status)
{
    const struct entry *s = find_status(status);
    if (s != NULL)
        return s->text;
    if (cfut_status_is_errno(status)) {
#ifdef HAVE_STRERRORDESC_NP
        const char *d = strerrordesc_np(-status);
        if (d != NULL)
            return d;
#endif
        const struct errno_entry *e = find_errno(-status);
        if (e != NULL)
            return e->text;
        return "unknown system error (a negated errno value this system "
               "does not name)";
    }
    return "unknown status: neither a cfut code nor a negated errno value";
}

const char *
cfut_status_name(int status)
{
    const struct entry *s = find_status(status);
    if (s != NULL)
        return s->name;
    if (cfut_status_is_errno(status)) {
#ifdef HAVE_STRERRORDESC_NP
        const char *n = strerrorname_np(-status);
        if (n != NULL)
            return n;
#endif
        const struct errno_entry *e = find_errno(-status);
        if (e != NULL)
            return e->name;
    }
    return "UNKNOWN";
}

int32_t
cfut__status_to_wire(int status)
{
    if (!cfut_status_is_errno(status))
        return (int32_t)status; /* 0, cfut's own codes: the same everywhere */
    const struct errno_entry *e = find_errno(-status);
    if (e != NULL)
        return -e->linux_n;
#ifdef __linux__
    return (int32_t)status;
#else
    return -5;       /* EIO on Linux: an error this table cannot name */
#endif
}

int
cfut__status_from_wire(int32_t wire)
{
    if (!cfut_status_is_errno((int)wire))
        return (int)wire;
    const struct errno_entry *e = find_linux((int)-wire);
    if (e != NULL)
        return -e->value;
#ifdef __linux__
    return (int)wire;
#else
    return CFUT_EIO; /* a Linux errno this system has no name for */
#endif
}

int
cfut__status_from_gai(int rc, int err)
{
    switch (rc) {
    case 0:
        return CFUT_OK;
    case EAI_NONAME:
        return CFUT_EAI_NONAME;
    case EAI_AGAIN:
        return CFUT_EAI_AGAIN;
    case EAI_FAIL:
        return CFUT_EAI_FAIL;
#ifdef EAI_NODATA
    case EAI_NODATA:
        return CFUT_EAI_NODATA;
#endif
#ifdef EAI_ADDRFAMILY
    case EAI_ADDRFAMILY:
        return CFUT_EAI_NODATA;
#endif
    case EAI_MEMORY:
        return CFUT_ENOMEM;
    case EAI_SYSTEM:
        return err > 0 ? -err : CFUT_EAI_FAIL;
    case EAI_BADFLAGS:
    case EAI_FAMILY:
    case EAI_SOCKTYPE:
    case EAI_SERVICE:
        return CFUT_EINVAL;
    default:
        return CFUT_EAI_FAIL;
    }
}
