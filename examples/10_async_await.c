/*
 * Lesson 10: async/await with the coroutine macros.
 *
 * What you will learn:
 *   - CFUT_ASYNC_BEGIN / CFUT_AWAIT / CFUT_ASYNC_RETURN write the state
 *     machine of lesson 04 for you: the state is the line of the last
 *     await ('co.line'), and poll jumps back there with a switch;
 *   - locals do not survive an await: what must live across one is a field
 *     of the future's struct ('self->i', not 'int i');
 *   - an awaited child is embedded in the struct, initialised just before
 *     the await, and dropped by CFUT_AWAIT once it is READY.
 * Builds on: lesson 04 (and_then by hand) and lesson 09 (the executor).
 * API introduced: struct cfut_coro, cfut_coro_init, cfut_coro_drop,
 *   CFUT_ASYNC_BEGIN, CFUT_AWAIT, CFUT_ASYNC_RETURN, CFUT_ASYNC_END,
 *   cfut_yield_now_init, struct cfut_yield, cfut_ready_init.
 * Run it: build/examples/10_async_await   (try CFUT_TRACE=- too)
 * Expected output: examples/expected/10_async_await.txt
 */
#include <cfut.h>
#include <stdio.h>
#include <string.h>

/* The coroutine's struct: base, resume state, then everything it keeps. */
struct make_tea {
    struct cfut_future base;
    struct cfut_coro co; /* 'line' is the state: 0 = start, -1 = done */
    int i;               /* a loop counter that lives across awaits */
    int cups;
    int sugar;
    struct cfut_yield y; /* the child futures we await */
    struct cfut_ready r;
};

/*
 * What the macros expand to, roughly:
 *     switch (co->line) {
 *     case 0:  ...                           start here
 *              co->line = 52;                the CFUT_AWAIT on line 52
 *     case 52: if (poll(child) == PENDING) return CFUT_PENDING;
 *              ...                           READY: go on below
 *     }
 * Each poll re-enters the function and the switch jumps to the last await.
 */
static enum cfut_poll
make_tea_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct make_tea *s = cfut_container_of(f, struct make_tea, base);
    CFUT_ASYNC_BEGIN(&s->co);
    /* Step A: runs once, at the first poll. */
    printf("    boil water\n");
    cfut_yield_now_init(&s->y);
    CFUT_AWAIT(&s->co, cx, &s->y.base, NULL);
    /* Step B: a loop whose counter is a field, so it survives the await. */
    for (s->i = 1; s->i <= 2; s->i++) {
        printf("    pour cup %d\n", s->i);
        cfut_yield_now_init(&s->y);
        CFUT_AWAIT(&s->co, cx, &s->y.base, NULL);
        s->cups++;
    }
    /* Step C: awaiting a ready future does not suspend at all. */
    static const int two = 2;
    cfut_ready_init(&s->r, &two, sizeof two);
    CFUT_AWAIT(&s->co, cx, &s->r.base, &s->sugar);
    printf("    %d sugars\n", s->sugar);
    /* Step D: finish with an output (the poll writes it to 'out'). */
    CFUT_ASYNC_RETURN(&s->co, out, int, s->cups * 10 + s->sugar);
    CFUT_ASYNC_END(&s->co);
}

/* Dropping a suspended coroutine drops the child it awaits (cancel). */
static void
make_tea_drop(struct cfut_future *f)
{
    cfut_coro_drop(&cfut_container_of(f, struct make_tea, base)->co);
}

static const struct cfut_future_vtable make_tea_vtable = {
    make_tea_poll, make_tea_drop, sizeof(int), "make_tea", NULL};

static void
make_tea_init(struct make_tea *s)
{
    cfut_future_init(&s->base, &make_tea_vtable);
    cfut_coro_init(&s->co);
    s->cups = 0;
}

int
main(void)
{
    /* Step 1: poll the coroutine by hand to watch its state move. */
    struct make_tea t;
    make_tea_init(&t);
    struct cfut_context cx;
    cfut_context_init(&cx, cfut_waker_noop()); /* yield wakes: we re-poll */
    int result = 0;
    for (int n = 1;; n++) {
        printf("poll %d (resume at line %d)\n", n, t.co.line);
        if (cfut_future_poll(&t.base, &cx, &result) == CFUT_READY)
            break;
        const char *file = strrchr(t.co.file, '/');
        printf("  -> PENDING, suspended at %s:%d\n",
               file != NULL ? file + 1 : t.co.file, t.co.line);
    }
    printf("  -> READY: %d (co.line is now %d: finished)\n", result, t.co.line);
    cfut_future_drop(&t.base);

    /* Step 2: the same coroutine as an executor's task: same result. */
    struct cfut_executor *ex;
    if (cfut_executor_new(&ex) != CFUT_OK)
        return 1;
    make_tea_init(&t);
    printf("block_on:\n");
    int rc = cfut_block_on(ex, &t.base, &result);
    printf("block_on -> %s, %d, in %llu polls\n", cfut_status_name(rc), result,
           (unsigned long long)cfut_executor_n_polls(ex));
    cfut_executor_free(ex);
    return 0;
}
