/*
 * cfut_web_random.c: getrandom() for the WebAssembly build, which the
 * transport's id generator (cfut_frame.c) seeds from: emscripten's libc
 * has getentropy() (the page's crypto.getRandomValues()) but no
 * getrandom(). It gives what Linux's does for small requests.
 */
#define _DEFAULT_SOURCE /* getentropy() */
#include <errno.h>
#include <stddef.h>
#include <sys/types.h>
#include <unistd.h>

ssize_t getrandom(void *buf, size_t len, unsigned flags);

ssize_t
getrandom(void *buf, size_t len, unsigned flags)
{
    (void)flags;
    if (len > 256) /* getentropy()'s limit: the caller gets a short read */
        len = 256;
    if (getentropy(buf, len) != 0)
        return -1; /* errno is set */
    return (ssize_t)len;
}
