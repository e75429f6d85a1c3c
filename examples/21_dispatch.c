/*
 * Lesson 21: async operations stored in a map and dispatched by name.
 *
 * What you will learn:
 *   - an async operation is just a future type, so a table can map a name
 *     to "how to start one": for an async function, the generated
 *     name_spawn() is exactly that (a function pointer of one type for
 *     every operation that takes the same arguments);
 *   - the join handles, kept in request order, collect the replies
 *     whatever order the operations finish in;
 *   - one output type for every operation keeps the handles uniform.
 * Builds on: lesson 11 (async functions, name_spawn), 15 (the paused
 *   clock) and 19 (a map of senders: here a map of operations).
 * API introduced: none new.
 * Run it: build/examples/21_dispatch   (try CFUT_TRACE=- too)
 * Expected output: examples/expected/21_dispatch.txt
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

/* "add A B": ready at once. Locals are fine: no await follows them
 * inside their block (ground rule 1). */
CFUT_ASYNC_FN(op_add, struct reply, ((const char *, arg)), struct reply r;)
{
    CFUT_BEGIN();
    {
        char *end;
        long a = strtol(self->arg, &end, 10);
        long b = strtol(end, NULL, 10);
        snprintf(self->r.text, sizeof self->r.text, "%ld", a + b);
    }
    CFUT_RETURN(self->r);
    CFUT_END();
}

/* "sleep MS": waits on the reactor's timer. */
CFUT_ASYNC_FN(op_sleep, struct reply, ((const char *, arg)),
              struct cfut_sleep nap;
              struct reply r;)
{
    CFUT_BEGIN();
    cfut_sleep_init(&self->nap, CFUT_MSEC(atoi(self->arg)));
    CFUT_AWAIT(&self->nap);
    printf("  (sleep %s finishes)\n", self->arg);
    snprintf(self->r.text, sizeof self->r.text, "slept %s ms", self->arg);
    CFUT_RETURN(self->r);
    CFUT_END();
}

/* "upper WORD": pretends to work for one turn, then shouts. */
CFUT_ASYNC_FN(op_upper, struct reply, ((const char *, arg)), struct reply r;)
{
    CFUT_BEGIN();
    CFUT_YIELD();
    snprintf(self->r.text, sizeof self->r.text, "%s", self->arg);
    for (char *p = self->r.text; *p != '\0'; p++)
        *p = (char)toupper((unsigned char)*p);
    printf("  (upper %s finishes)\n", self->r.text);
    CFUT_RETURN(self->r);
    CFUT_END();
}

/* The map: name -> how to start it (sorted by name; a hash map works the
 * same). Every op_NAME_spawn() has the same type. */
static const struct {
    const char *name;
    int (*spawn)(struct cfut_executor *ex, struct cfut_join_handle *h,
                 const char *arg);
} ops[] = {{"add", op_add_spawn},
           {"sleep", op_sleep_spawn},
           {"upper", op_upper_spawn}};

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

    /* Step 1: dispatch: look the name up and start the operation. */
    struct cfut_join_handle h[N];
    bool spawned[N] = {false};
    for (int i = 0; i < N; i++) {
        size_t len = strcspn(requests[i], " ");
        size_t k = 0;
        while (k < sizeof ops / sizeof ops[0] &&
               (strlen(ops[k].name) != len ||
                strncmp(ops[k].name, requests[i], len) != 0))
            k++;
        if (k == sizeof ops / sizeof ops[0]) {
            printf("#%d '%s': no such operation\n", i, requests[i]);
            continue;
        }
        /* The argument points into 'requests', which outlives the task. */
        spawned[i] = ops[k].spawn(ex, &h[i], requests[i] + len + 1) == CFUT_OK;
        printf("#%d '%s': dispatched to '%s'\n", i, requests[i], ops[k].name);
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
