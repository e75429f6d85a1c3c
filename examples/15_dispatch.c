/*
 * Lesson 15: async operations stored in a map and dispatched by name.
 *
 * What you will learn:
 *   - an async operation is just a future type, so a table can map a name
 *     to "how to build one": a size and an init function (a factory);
 *   - dispatching a request builds the future in a buffer and spawns it:
 *     cfut_spawn() moves its bytes into the task (fine before its first
 *     poll); the join handles, kept in request order, collect the replies
 *     whatever order the operations finish in;
 *   - one output type for every operation keeps the handles uniform.
 * Builds on: lesson 08 (spawn, join handles), 09 (await), 18 (paused clock).
 * API introduced: none new; CFUT_JOIN_OUTPUT with a struct.
 * Run it: build/examples/15_dispatch
 * Expected output: examples/expected/15_dispatch.txt
 */
#include <cfut.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What every operation returns. */
struct reply {
    char text[48];
};

/* "add A B": ready at once, no coroutine needed. */
struct op_add {
    struct cfut_future base;
    long a, b;
};

static enum cfut_poll
op_add_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct op_add *o = cfut_container_of(f, struct op_add, base);
    (void)cx;
    snprintf(((struct reply *)out)->text, 48, "%ld", o->a + o->b);
    return CFUT_READY;
}

static const struct cfut_future_vtable op_add_vtable = {
    op_add_poll, NULL, sizeof(struct reply), "add", NULL};

static size_t
make_add(void *buf, const char *arg)
{
    struct op_add *o = buf;
    cfut_future_init(&o->base, &op_add_vtable);
    char *end;
    o->a = strtol(arg, &end, 10);
    o->b = strtol(end, NULL, 10);
    return sizeof *o;
}

/* "sleep MS" and "upper WORD": coroutines sharing one struct. */
struct op_co {
    struct cfut_future base;
    struct cfut_coro co;
    char arg[24];
    int st;
    struct cfut_sleep nap;
};

static enum cfut_poll
op_sleep_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct op_co *o = cfut_container_of(f, struct op_co, base);
    CFUT_ASYNC_BEGIN(&o->co);
    cfut_sleep_init(&o->nap, CFUT_MSEC(atoi(o->arg)));
    CFUT_AWAIT(&o->co, cx, &o->nap.base, &o->st);
    printf("  (sleep %s finishes)\n", o->arg);
    snprintf(((struct reply *)out)->text, 48, "slept %s ms", o->arg);
    CFUT_ASYNC_RETURN_VOID(&o->co);
    CFUT_ASYNC_END(&o->co);
}

static enum cfut_poll
op_upper_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct op_co *o = cfut_container_of(f, struct op_co, base);
    CFUT_ASYNC_BEGIN(&o->co);
    CFUT_YIELD(&o->co, cx); /* pretend to work: one turn */
    for (char *p = o->arg; *p != '\0'; p++)
        *p = (char)toupper((unsigned char)*p);
    printf("  (upper %s finishes)\n", o->arg);
    snprintf(((struct reply *)out)->text, 48, "%s", o->arg);
    CFUT_ASYNC_RETURN_VOID(&o->co);
    CFUT_ASYNC_END(&o->co);
}

static void
op_co_drop(struct cfut_future *f)
{
    cfut_coro_drop(&cfut_container_of(f, struct op_co, base)->co);
}

static const struct cfut_future_vtable op_sleep_vtable = {
    op_sleep_poll, op_co_drop, sizeof(struct reply), "sleep", NULL};
static const struct cfut_future_vtable op_upper_vtable = {
    op_upper_poll, op_co_drop, sizeof(struct reply), "upper", NULL};

/* One factory for both coroutines: the vtable picks the behaviour. */
static size_t
make_co(void *buf, const char *arg, const struct cfut_future_vtable *vt)
{
    struct op_co *o = buf;
    cfut_future_init(&o->base, vt);
    cfut_coro_init(&o->co);
    snprintf(o->arg, sizeof o->arg, "%s", arg);
    return sizeof *o;
}
static size_t
make_sleep(void *buf, const char *arg)
{
    return make_co(buf, arg, &op_sleep_vtable);
}
static size_t
make_upper(void *buf, const char *arg)
{
    return make_co(buf, arg, &op_upper_vtable);
}

/* The map: name -> factory (sorted by name; a hash map works the same). */
static const struct {
    const char *name;
    size_t (*make)(void *buf, const char *arg);
} ops[] = {{"add", make_add}, {"sleep", make_sleep}, {"upper", make_upper}};

int
main(void)
{
    static const char *const requests[] = {"sleep 30", "add 2 3", "upper hello",
                                           "nope x", "sleep 10"};
    enum { N = sizeof requests / sizeof requests[0] };
    struct cfut_executor *ex;
    if (cfut_executor_new(&ex) != CFUT_OK)
        return 1;
    cfut_time_pause(ex);

    /* Step 1: dispatch: look the name up, build the future, spawn it. */
    struct cfut_join_handle h[N];
    bool spawned[N] = {false};
    for (int i = 0; i < N; i++) {
        char name[16];
        int len = (int)strcspn(requests[i], " ");
        snprintf(name, sizeof name, "%.*s", len, requests[i]);
        size_t k = 0;
        while (k < sizeof ops / sizeof ops[0] && strcmp(ops[k].name, name))
            k++;
        if (k == sizeof ops / sizeof ops[0]) {
            printf("#%d '%s': no such operation\n", i, requests[i]);
            continue;
        }
        union { /* room for any operation; it moves into the task */
            struct op_add add;
            struct op_co co;
        } buf;
        size_t size = ops[k].make(&buf, requests[i] + len + 1);
        spawned[i] = cfut_spawn(ex, &buf.add.base, size, &h[i]) == CFUT_OK;
        printf("#%d '%s': dispatched to '%s'\n", i, requests[i], name);
    }

    /* Step 2: collect the replies in request order. */
    for (int i = 0; i < N; i++) {
        if (!spawned[i])
            continue;
        CFUT_JOIN_OUTPUT(struct reply) r;
        cfut_block_on(ex, &h[i].base, &r);
        printf("#%d -> %s\n", i, r.value.text);
    }
    cfut_executor_free(ex);
    return 0;
}
