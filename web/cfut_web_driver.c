/*
 * cfut_web_driver.c: the browser's driver (cfut_driver_int.h), the default
 * one in a WebAssembly build: a hosted driver. The page's event loop runs
 * the executor: a wake schedules one run of the ready tasks with
 * emscripten_set_immediate() (a task of the event loop, not a busy loop),
 * the next timer becomes one emscripten_set_timeout(), and the clock is
 * the page's performance.now(). It watches no fds (a browser has none).
 */
#include "cfut_driver_int.h"

#include <emscripten/emscripten.h>
#include <emscripten/eventloop.h>
#include <errno.h>
#include <stdbool.h>

#include "cfut_alloc.h"
#include "cfut_errors.h"
#include "cfut_executor.h"
#include "cfut_future.h"

struct web_driver {
    struct cfut__driver base;
    struct cfut_executor *ex; /* the executor it runs (attach) */
    bool run_scheduled;       /* an immediate is pending ... */
    long immediate_id;        /* ... with this id */
    bool timer_armed;         /* a timeout for the next timer is pending */
    long timer_id;            /* ... with this id */
};

static struct web_driver *
of(struct cfut__driver *d)
{
    return cfut_container_of(d, struct web_driver, base);
}

/* The event loop's task after an unpark: one run of the ready tasks. */
static void
run_soon(void *arg)
{
    struct web_driver *w = arg;
    w->run_scheduled = false;
    (void)cfut_executor_run_ready(w->ex);
}

/* The event loop's task when the next timer is due. */
static void
timer_due(void *arg)
{
    struct web_driver *w = arg;
    w->timer_armed = false;
    (void)cfut_executor_run_ready(w->ex);
}

/*
 * A hosted turn never waits: there is nothing to look at (events come as
 * the page's callbacks), so it only replaces the request for a run at the
 * next timer's deadline (0: keep it; FOREVER: none).
 */
static int
web_turn(struct cfut__driver *d, int64_t timeout_ns)
{
    struct web_driver *w = of(d);
    if (timeout_ns == 0)
        return 0;
    if (w->timer_armed) {
        emscripten_clear_timeout(w->timer_id);
        w->timer_armed = false;
    }
    if (timeout_ns == CFUT__DRIVER_FOREVER)
        return 0;
    /*
     * Browsers count whole milliseconds: round up, so the run never comes
     * before the deadline (one that comes early would only arm again).
     */
    double ms = (double)((timeout_ns + 999999) / 1000000);
    w->timer_id = emscripten_set_timeout(timer_due, ms, w);
    w->timer_armed = true;
    return 0;
}

static void
web_unpark(struct cfut__driver *d)
{
    struct web_driver *w = of(d);
    if (w->run_scheduled || w->ex == NULL)
        return;
    w->run_scheduled = true;
    w->immediate_id = emscripten_set_immediate(run_soon, w);
}

static uint64_t
web_now(struct cfut__driver *d)
{
    (void)d;
    /* performance.now(): milliseconds, never going back. */
    return (uint64_t)(emscripten_get_now() * 1e6);
}

static void
web_attach(struct cfut__driver *d, struct cfut_executor *ex)
{
    of(d)->ex = ex;
}

static void
web_free(struct cfut__driver *d)
{
    struct web_driver *w = of(d);
    if (w->run_scheduled)
        emscripten_clear_immediate(w->immediate_id);
    if (w->timer_armed)
        emscripten_clear_timeout(w->timer_id);
    cfut_free(w);
}

static const struct cfut__driver_vtable web_vtable = {
    .name = "browser",
    .hosted = true,
    .turn = web_turn,
    .unpark = web_unpark,
    .now = web_now,
    .fd_register = NULL, /* no fds in a page */
    .fd_deregister = NULL,
    .free = web_free,
    .attach = web_attach,
};

int
cfut__driver_default_new(struct cfut__driver **out)
{
    struct web_driver *w = cfut_alloc(sizeof *w);
    if (w == NULL)
        return CFUT_ENOMEM;
    cfut__driver_init(&w->base, &web_vtable);
    w->ex = NULL;
    w->run_scheduled = false;
    w->immediate_id = 0;
    w->timer_armed = false;
    w->timer_id = 0;
    *out = &w->base;
    return CFUT_OK;
}
