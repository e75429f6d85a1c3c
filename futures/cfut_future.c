/*
 * cfut_future.c: the out-of-line parts of the future contract: the
 * assertion abort, the no-op waker, the debug checks and boxing.
 * It knows nothing about executors or tasks (nor about allocation, which
 * is cfut_alloc.c's).
 */
#include "cfut_future.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
cfut__assert_fail(const char *file, int line, const char *expr, const char *msg)
{
    fprintf(stderr, "cfut: %s:%d: assertion '%s' failed: %s\n", file, line,
            expr, msg);
    fflush(stderr);
    abort();
}

/* ---- the no-op waker ---- */

static struct cfut_waker
noop_clone(void *data)
{
    return (struct cfut_waker){cfut_waker_noop()->vtable, data};
}

static void
noop_op(void *data)
{
    (void)data;
}

static const struct cfut_waker_vtable noop_vtable = {noop_clone, noop_op,
                                                     noop_op, noop_op};
static const struct cfut_waker noop_waker = {&noop_vtable, NULL};

const struct cfut_waker *
cfut_waker_noop(void)
{
    return &noop_waker;
}

/* ---- debug checks ---- */

#if CFUT_DEBUG_CHECKS
static void
misuse(const struct cfut_future *f, const char *what)
{
    fprintf(stderr, "cfut: misuse of future '%s' at %p: %s\n",
            f->vtable != NULL && f->vtable->name != NULL ? f->vtable->name
                                                         : "?",
            (const void *)f, what);
    fflush(stderr);
    abort();
}

/* The innermost poll in progress on this thread (cfut_future_poll()). */
static _Thread_local struct cfut__poll_frame *poll_top;

void
cfut__future_poll_enter(struct cfut__poll_frame *fr, struct cfut_future *f,
                        void *out)
{
    if (f->dbg_magic == CFUT_MAGIC_DEAD)
        misuse(f, "polled after it was dropped");
    if (f->dbg_magic != CFUT_MAGIC_LIVE)
        misuse(f, "polled but never initialised (or overwritten)");
    switch (f->dbg_state) {
    case CFUT_DBG_FRESH:
        f->dbg_state = CFUT_DBG_POLLED;
        f->dbg_addr = f;
        break;
    case CFUT_DBG_POLLED:
        if (f->dbg_addr != f)
            misuse(f, "moved after its first poll (futures are pinned)");
        break;
    case CFUT_DBG_DONE:
        if (f->dbg_addr != f)
            misuse(f, "moved after its first poll (futures are pinned)");
        misuse(f, "polled again after it returned READY (wrap it in "
                  "cfut_fuse() to allow that)");
        break;
    default:
        misuse(f, "polled in an unknown state");
    }
    if (out == NULL && cfut_future_output_size(f) != 0)
        misuse(f, "polled with out = NULL, but its output size is not 0 "
                  "(only CFUT_AWAIT() and cfut_block_on() may discard an "
                  "output)");
    fr->f = f;
    fr->out = out;
    fr->up = poll_top;
    poll_top = fr;
}

void
cfut__future_poll_leave(struct cfut__poll_frame *fr, enum cfut_poll r)
{
    poll_top = fr->up;
    if (r == CFUT_READY && !(fr->f->flags & CFUT_FUTURE_FUSED))
        fr->f->dbg_state = CFUT_DBG_DONE;
}

void
cfut__future_check_output(const void *out, size_t size, const char *who,
                          const char *file, int line)
{
    const struct cfut__poll_frame *fr = poll_top;
    /* Polled some other way than cfut_future_poll(): nothing to compare. */
    if (fr == NULL || fr->out != out)
        return;
    size_t want = cfut_future_output_size(fr->f);
    if (size == want)
        return;
    fprintf(stderr,
            "cfut: misuse of future '%s' at %p: %s at %s:%d writes %zu "
            "bytes, but the output size of its vtable is %zu\n",
            cfut_future_name(fr->f), (void *)fr->f, who, file, line, size,
            want);
    fflush(stderr);
    abort();
}
#endif

void
cfut__future_check_drop(struct cfut_future *f)
{
#if CFUT_DEBUG_CHECKS
    if (f->dbg_magic == CFUT_MAGIC_DEAD)
        misuse(f, "dropped twice");
    if (f->dbg_magic != CFUT_MAGIC_LIVE)
        misuse(f, "dropped but never initialised (or overwritten)");
    if (f->dbg_state != CFUT_DBG_FRESH && f->dbg_addr != f)
        misuse(f, "moved after its first poll, then dropped");
#else
    (void)f;
#endif
}

/* ---- boxing ---- */

int
cfut_future_box(struct cfut_future *fresh, size_t size,
                struct cfut_future **out)
{
    if (fresh == NULL || out == NULL || size < sizeof(struct cfut_future))
        return CFUT_EINVAL;
#if CFUT_DEBUG_CHECKS
    if (fresh->dbg_state != CFUT_DBG_FRESH ||
        fresh->dbg_magic != CFUT_MAGIC_LIVE)
        return CFUT_EINVAL;
#endif
    struct cfut_future *f = cfut_alloc(size);
    if (f == NULL)
        return CFUT_ENOMEM;
    memcpy(f, fresh, size);
    f->flags |= CFUT_FUTURE_BOXED;
#if CFUT_DEBUG_CHECKS
    /* The original's bytes now live in the box: using it is a misuse. */
    fresh->dbg_magic = CFUT_MAGIC_DEAD;
    fresh->dbg_state = CFUT_DBG_DROPPED;
#endif
    *out = f;
    return CFUT_OK;
}
