/*
 * cfut_coro.c: the out-of-line parts of the coroutine macros (cfut_coro.h):
 * the bad-state abort, the await path's discard storage for out = NULL,
 * and the suspension hook that tells the runtime where a task waits.
 * It does not poll anything itself: the macros do, inline.
 */
#include "cfut_coro.h"
#include "cfut_coro_int.h"

#include <stdio.h>
#include <stdlib.h>

void
cfut__coro_bad_state(const struct cfut_coro *co)
{
    if (co->line < 0)
        cfut__assert_fail(co->file != NULL ? co->file : "?", 0,
                          "coroutine resumed",
                          "a finished coroutine was polled again");
    cfut__assert_fail(co->file != NULL ? co->file : "?", co->line,
                      "coroutine resumed",
                      "unknown resume point: is there an await inside a "
                      "nested switch?");
}

/* ---- the await path's discard storage ---- */

/*
 * Where children awaited with out = NULL write their output: per thread,
 * written and never read (an await on another thread has its own).
 */
static _Thread_local union {
    max_align_t align;
    unsigned char bytes[CFUT_AWAIT_DISCARD_MAX];
} discard;

void *
cfut__await_discard(const struct cfut_future *child)
{
    size_t n = cfut_future_output_size(child);
    if (n > sizeof discard.bytes) {
        fprintf(stderr,
                "cfut: future '%s' was awaited with out = NULL, but its "
                "output is %zu bytes, more than the %zu bytes the await "
                "path can discard: give CFUT_AWAIT() storage for it\n",
                cfut_future_name(child), n, sizeof discard.bytes);
        fflush(stderr);
        abort();
    }
    return discard.bytes;
}

/* ---- the suspension hook ---- */

int cfut__coro_watch = CFUT_DEBUG_CHECKS;

/* The innermost suspension point noted on this thread since the last take. */
static _Thread_local struct {
    const char *file;
    int line;
} coro_note;

void
cfut__coro_note(const struct cfut_coro *co)
{
    if (coro_note.file == NULL) {
        coro_note.file = co->file;
        coro_note.line = co->line;
    }
}

const char *
cfut__coro_take_note(int *line)
{
    const char *file = coro_note.file;
    *line = coro_note.line;
    coro_note.file = NULL;
    coro_note.line = 0;
    return file;
}
