/*
 * cfut_errors.h: the status codes every fallible cfut call returns, in
 * libuv's convention: 0 (CFUT_OK) on success, a negative value on failure.
 *
 * - A system call that fails gives its error as the negated errno value:
 *   a port in use is -EADDRINUSE, a refused connection -ECONNREFUSED. Test
 *   for one with 'st == -EADDRINUSE'.
 * - cfut's own codes whose meaning is that of a POSIX errno are defined as
 *   that negated errno (CFUT_ECONNRESET is -ECONNRESET, CFUT_ENOMEM is
 *   -ENOMEM), so 'st == CFUT_ECONNRESET' holds whether the kernel or the
 *   library said it.
 * - cfut's codes with no errno counterpart (CFUT_ECLOSED, CFUT_EEOF, ...)
 *   are CFUT_STATUS_OWN_BASE - n, from -4001 down: no errno value is that
 *   large, so they never collide with a system error.
 *
 * cfut_strerror() says what happened for any status, cfut_status_name()
 * names it ("CFUT_EEOF", or the errno's name, "EADDRINUSE", for a system
 * error). PENDING is not an error: a future's own failure travels in its
 * output value. Thread-safe: constants and pure functions.
 */
#ifndef CFUT_ERRORS_H
#define CFUT_ERRORS_H

#include <errno.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32) || !defined(__GNUC__)
#define CFUT_API
#else
#define CFUT_API __attribute__((visibility("default")))
#endif

/* cfut's own codes are this value minus 1, 2, ... (down to -4099). */
#define CFUT_STATUS_OWN_BASE (-4000)

/*
 * The full table of cfut's status codes: X(name, value, text), where
 * 'text' is what cfut_strerror() gives. The codes defined as a negated
 * errno have texts that hold whichever side reported them.
 */
#define CFUT_STATUS_MAP(X)                                                     \
    X(CFUT_OK, 0, "success")                                                   \
    /* an allocation failed */                                                 \
    X(CFUT_ENOMEM, -ENOMEM, "out of memory")                                   \
    /* an argument is invalid */                                               \
    X(CFUT_EINVAL, -EINVAL, "invalid argument")                                \
    /* the operation or task was cancelled */                                  \
    X(CFUT_ECANCELED, -ECANCELED, "operation canceled")                        \
    /* the other end of a channel is gone */                                   \
    X(CFUT_ECLOSED, CFUT_STATUS_OWN_BASE - 1,                                  \
      "channel closed: the other end is gone")                                 \
    /* the resource is in use (a nested run on this thread, say) */            \
    X(CFUT_EBUSY, -EBUSY, "resource busy")                                     \
    /* a deadline passed first */                                              \
    X(CFUT_ETIMEDOUT, -ETIMEDOUT, "timed out")                                 \
    /* the peer broke the wire protocol */                                     \
    X(CFUT_EPROTO, -EPROTO, "protocol error")                                  \
    /* the peer reset or closed the connection */                              \
    X(CFUT_ECONNRESET, -ECONNRESET, "connection reset or closed by the peer")  \
    /* tasks wait, but nothing can ever wake them */                           \
    X(CFUT_EDEADLK, -EDEADLK, "deadlock: the wait could never end")            \
    /* not ready now: try again later */                                       \
    X(CFUT_EAGAIN, -EAGAIN, "not ready now, try again")                        \
    /* end of stream: the peer closed cleanly */                               \
    X(CFUT_EEOF, CFUT_STATUS_OWN_BASE - 2, "end of stream")                    \
    /* a device or transfer failed (never a catch-all for system calls) */     \
    X(CFUT_EIO, -EIO, "input/output error")                                    \
    /* no such entry (an operation name, an id) */                             \
    X(CFUT_ENOTFOUND, CFUT_STATUS_OWN_BASE - 3, "not found")                   \
    /* a bounded queue or table is full */                                     \
    X(CFUT_EFULL, CFUT_STATUS_OWN_BASE - 4, "full")                            \
    /* a message is larger than the limit */                                   \
    X(CFUT_EMSGSIZE, -EMSGSIZE, "message too long")                            \
    /* an address (a numeric IP, a port, a path) does not parse */             \
    X(CFUT_EADDR, CFUT_STATUS_OWN_BASE - 5, "not a valid address")             \
    /* the call does not fit the object's state */                             \
    X(CFUT_ESTATE, CFUT_STATUS_OWN_BASE - 6,                                   \
      "call does not fit the object's state")                                  \
    /* a host name given where only numeric addresses are taken */             \
    X(CFUT_EHOSTNAME, CFUT_STATUS_OWN_BASE - 7,                                \
      "host names are not resolved by this call: give a numeric address or "   \
      "localhost, or resolve the name first (cfut_resolve_init(); "            \
      "cfut_tcp_connect_init() takes names)")                                  \
    /* name resolution: the name does not exist (EAI_NONAME) */                \
    X(CFUT_EAI_NONAME, CFUT_STATUS_OWN_BASE - 8,                               \
      "no such host: the name does not resolve to an address")                 \
    /* name resolution: no answer now (EAI_AGAIN) */                           \
    X(CFUT_EAI_AGAIN, CFUT_STATUS_OWN_BASE - 9,                                \
      "name resolution failed for now (no answer from a name server): "        \
      "try again")                                                             \
    /* name resolution: a failure that retrying will not fix (EAI_FAIL) */     \
    X(CFUT_EAI_FAIL, CFUT_STATUS_OWN_BASE - 10,                                \
      "name resolution failed (a name server refused or failed)")              \
    /* name resolution: the name exists without an address of the family */    \
    X(CFUT_EAI_NODATA, CFUT_STATUS_OWN_BASE - 11,                              \
      "the host name has no address (of the family asked for)")

#define CFUT__STATUS_ENUM(name, value, text) name = (value),

/* The status codes (see CFUT_STATUS_MAP for the meaning of each). */
enum cfut_status { CFUT_STATUS_MAP(CFUT__STATUS_ENUM) };

/* Number of codes in CFUT_STATUS_MAP, CFUT_OK included. */
#define CFUT_N_STATUS 23

/*
 * Tells whether 'status' is a negated errno value: a system error, or
 * one of cfut's codes defined as one (CFUT_ENOMEM, CFUT_ECONNRESET, ...).
 * Then '-status' is the errno value.
 */
static inline int
cfut_status_is_errno(int status)
{
    return status < 0 && status > CFUT_STATUS_OWN_BASE;
}

/*
 * Returns text that says what 'status' means: cfut's text for its codes
 * (CFUT_STATUS_MAP), the system's description for another negated errno
 * (-EADDRINUSE: "Address already in use"), and a text saying the value is
 * unknown otherwise.
 * Returns: a static string, never NULL.
 * Context: anywhere, any thread (it never calls strerror()).
 */
CFUT_API const char *cfut_strerror(int status);

/*
 * Returns the symbolic name of 'status': "CFUT_EEOF" for cfut's codes,
 * the errno's name for another negated errno ("EADDRINUSE"), and
 * "UNKNOWN" for a value that is neither.
 * Returns: a static string, never NULL.
 * Context: anywhere, any thread.
 */
CFUT_API const char *cfut_status_name(int status);

#ifdef __cplusplus
}
#endif

#endif /* CFUT_ERRORS_H */
