/*
 * cfut_async.c: the out-of-line checks of the async function macros
 * (cfut_async.h): a destination whose size is not the child's output, a
 * child that lives in the body's stack frame, a body that ends without
 * its value. Each aborts with a message; none polls anything.
 */
#include "cfut_async.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* Prints "cfut: async function 'NAME': ..." and aborts. */
#if defined(__GNUC__)
__attribute__((noreturn, format(printf, 2, 3)))
#endif
static void
fail(const struct cfut_future *self, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "cfut: async function '%s': ", cfut_future_name(self));
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fflush(stderr);
    abort();
}

void
cfut__async_check_output(const struct cfut_future *self,
                         const struct cfut_future *child, size_t dst_size,
                         const char *file, int line)
{
    size_t size = cfut_future_output_size(child);
    if (size == dst_size)
        return;
    /*
     * A dynamic size (a join handle's, a join's) counts the bytes the
     * future writes, which may end before the trailing padding of the C
     * type that holds them (CFUT_JOIN_OUTPUT(T) is a multiple of
     * _Alignof(max_align_t)): the destination may have that padding.
     */
    size_t align = _Alignof(max_align_t);
    if (child->vtable->output_size == CFUT_OUTPUT_DYNAMIC && dst_size > size &&
        dst_size <= (size + align - 1) / align * align)
        return;
    fail(self,
         "CFUT_AWAIT at %s:%d gives '%s' a destination of %zu bytes, but "
         "its output is %zu bytes",
         file, line, cfut_future_name(child), dst_size, size);
}

#if defined(__GNUC__)
__attribute__((noinline))
#endif
void
cfut__async_check_frame(const struct cfut_future *self,
                        const struct cfut_future *child, const void *frame,
                        const char *file, int line)
{
    /*
     * 'here' is below the body's frame (this call is deeper) and 'frame'
     * is above it (a local of the poll function that called the body), so
     * whatever lies between them, whichever way the stack grows, belongs
     * to the body's frame: its locals. Futures in the state live in a
     * task, a parent or a caller's frame, all outside that range.
     */
    volatile char here = 0;
    uintptr_t a = (uintptr_t)&here, b = (uintptr_t)frame;
    uintptr_t c = (uintptr_t)child;
    uintptr_t lo = a < b ? a : b, hi = a < b ? b : a;
    if (c > lo && c < hi)
        fail(self,
             "CFUT_AWAIT at %s:%d awaits '%s', a local of the body: it "
             "would not survive the await; make it a field of the state",
             file, line, cfut_future_name(child));
}

void
cfut__async_no_return(const struct cfut_future *self, const char *file,
                      int line)
{
    fail(self,
         "reached CFUT_END() at %s:%d without CFUT_RETURN(value): its "
         "output (%zu bytes) would be undefined",
         file, line, cfut_future_output_size(self));
}
