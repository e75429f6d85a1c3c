/*
 * cfut_errors.h: the status codes every fallible cfut call returns.
 *
 * Functions return 0 (CFUT_OK) on success and a negative CFUT_E* code on
 * failure; cfut_strerror() gives static text for each. PENDING is not an
 * error: a future's own failure travels in its output value. errno is never
 * part of the API. Thread-safe: these are constants and pure functions.
 */
#ifndef CFUT_ERRORS_H
#define CFUT_ERRORS_H

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32) || !defined(__GNUC__)
#define CFUT_API
#else
#define CFUT_API __attribute__((visibility("default")))
#endif

/* The full table of status codes. */
enum cfut_status {
    CFUT_OK = 0,          /* success */
    CFUT_ENOMEM = -1,     /* an allocation failed */
    CFUT_EINVAL = -2,     /* an argument is invalid */
    CFUT_ECANCELED = -3,  /* the operation or task was cancelled */
    CFUT_ECLOSED = -4,    /* the other end of a channel is gone */
    CFUT_EBUSY = -5,      /* the resource is in use (e.g. nested run) */
    CFUT_ETIMEDOUT = -6,  /* a deadline passed first */
    CFUT_EPROTO = -7,     /* the peer broke the wire protocol */
    CFUT_ECONNRESET = -8, /* the connection was reset or closed */
    CFUT_EDEADLK = -9,    /* tasks wait, but nothing can ever wake them */
    CFUT_EAGAIN = -10,    /* not ready now: try again later */
    CFUT_EEOF = -11,      /* end of stream: the peer closed cleanly */
    CFUT_EIO = -12,       /* an operating-system call failed */
    CFUT_ENOTFOUND = -13, /* no such entry (name, id) */
    CFUT_EFULL = -14,     /* a bounded queue or table is full */
    CFUT_EMSGSIZE = -15,  /* a message is larger than the limit */
    CFUT_EADDR = -16,     /* an address could not be parsed or reached */
    CFUT_ESTATE = -17     /* the call does not fit the object's state */
};

/* Number of distinct codes, for tables and tests. */
#define CFUT_N_STATUS 18

/*
 * Returns static text describing 'status'.
 * Returns: a string that is never NULL; unknown codes give "unknown status".
 * Context: anywhere, any thread.
 */
CFUT_API const char *cfut_strerror(int status);

/*
 * Returns the symbolic name of 'status', such as "CFUT_ENOMEM".
 * Returns: a string that is never NULL; unknown codes give "CFUT_E?".
 * Context: anywhere, any thread.
 */
CFUT_API const char *cfut_status_name(int status);

#ifdef __cplusplus
}
#endif

#endif /* CFUT_ERRORS_H */
