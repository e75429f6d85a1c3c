/*
 * cfut_errors.c: the text of each status code.
 * It maps codes to strings; it does not translate errno (callers do that).
 */
#include "cfut_errors.h"

struct entry {
    const char *name;
    const char *text;
};

static const struct entry table[CFUT_N_STATUS] = {
    {"CFUT_OK", "success"},
    {"CFUT_ENOMEM", "out of memory"},
    {"CFUT_EINVAL", "invalid argument"},
    {"CFUT_ECANCELED", "operation canceled"},
    {"CFUT_ECLOSED", "channel closed: the other end is gone"},
    {"CFUT_EBUSY", "resource busy (nested run on this thread?)"},
    {"CFUT_ETIMEDOUT", "timed out"},
    {"CFUT_EPROTO", "protocol error"},
    {"CFUT_ECONNRESET", "connection reset or closed"},
    {"CFUT_EDEADLK", "tasks are waiting but nothing can wake them"},
    {"CFUT_EAGAIN", "not ready, try again"},
    {"CFUT_EEOF", "end of stream"},
    {"CFUT_EIO", "input/output error"},
    {"CFUT_ENOTFOUND", "not found"},
    {"CFUT_EFULL", "full"},
    {"CFUT_EMSGSIZE", "message too large"},
    {"CFUT_EADDR", "bad or unreachable address"},
    {"CFUT_ESTATE", "call does not fit the object's state"},
};

const char *
cfut_strerror(int status)
{
    if (status > 0 || status <= -CFUT_N_STATUS)
        return "unknown status";
    return table[-status].text;
}

const char *
cfut_status_name(int status)
{
    if (status > 0 || status <= -CFUT_N_STATUS)
        return "CFUT_E?";
    return table[-status].name;
}
