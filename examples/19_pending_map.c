/*
 * Lesson 19: the pending map by hand: responses matched to requests by id.
 *
 * What you will learn:
 *   - the answer of the story behind cfut: for each request in flight the
 *     client keeps the *sending* half of a oneshot in a table under the
 *     request's id, and the caller awaits the *receiving* half;
 *   - whoever reads a response looks its id up, takes the sender out and
 *     sends: the caller of that request wakes, whatever the order;
 *   - an unknown id finds no sender and is counted; a caller that gave up
 *     dropped its receiver, so the late send fails (CFUT_ECLOSED).
 * Builds on: lesson 11 (async functions), 16 (cancel, run_ready) and 17
 *   (the oneshot).
 * API introduced: struct cfut_join_status (the output of a handle whose task
 *   has none), CFUT_ENOMEM.
 * Run it: build/examples/19_pending_map   (try CFUT_TRACE=- too)
 * Expected output: examples/expected/19_pending_map.txt
 */
#include <cfut.h>
#include <stdint.h>
#include <stdio.h>

struct answer {
    char text[16];
};

/* The pending map: a small table of senders keyed by request id. */
#define MAX_PENDING 8
struct pending_map {
    struct {
        uint32_t id; /* 0: a free slot */
        struct cfut_oneshot_sender tx;
    } slots[MAX_PENDING];
    uint32_t next_id;
    int n_unknown;
};

/* Sends a request (here: prints it): a new id, a oneshot whose sender
 * goes into the map and whose receiver goes to the caller. */
static int
request(struct pending_map *m, const char *what,
        struct cfut_oneshot_receiver *rx, uint32_t *id)
{
    for (int i = 0; i < MAX_PENDING; i++) {
        if (m->slots[i].id != 0)
            continue;
        int rc =
            cfut_oneshot_new(sizeof(struct answer), NULL, &m->slots[i].tx, rx);
        if (rc != CFUT_OK)
            return rc;
        *id = m->slots[i].id = ++m->next_id;
        printf("request #%u '%s' sent\n", *id, what);
        return CFUT_OK;
    }
    return CFUT_ENOMEM; /* the table is full */
}

/* A response arrives: find its sender by id, take it out, send. */
static void
deliver(struct pending_map *m, uint32_t id, const char *text)
{
    struct answer a;
    snprintf(a.text, sizeof a.text, "%s", text);
    for (int i = 0; i < MAX_PENDING; i++) {
        if (m->slots[i].id != id)
            continue;
        m->slots[i].id = 0; /* out of the map: an id is answered once */
        int rc = cfut_oneshot_send(&m->slots[i].tx, &a);
        printf("response #%u '%s': send -> %s\n", id, text,
               rc == CFUT_ECLOSED ? "CFUT_ECLOSED (nobody waits)"
                                  : cfut_status_name(rc));
        return;
    }
    m->n_unknown++;
    printf("response #%u '%s': no such id, dropped\n", id, text);
}

/* A caller: sends one request and awaits its receiver. */
CFUT_ASYNC_FN(caller, void, ((struct pending_map *, map), (const char *, what)),
              uint32_t id;
              struct cfut_oneshot_receiver rx;
              CFUT_ONESHOT_OUTPUT(struct answer) got;)
{
    CFUT_BEGIN();
    if (request(self->map, self->what, &self->rx, &self->id) != CFUT_OK)
        CFUT_RETURN();
    CFUT_AWAIT(&self->rx, &self->got);
    if (self->got.status == CFUT_OK)
        printf("  caller '%s': #%u answered '%s'\n", self->what, self->id,
               self->got.value.text);
    CFUT_END();
}

/* A caller cancelled in its await drops its receiver (the await's child). */
CFUT_ASYNC_DROP(caller)
{
    if (self->co.line > 0)
        printf("  caller '%s': cancelled, its receiver dropped\n", self->what);
}

int
main(void)
{
    struct cfut_executor *ex;
    if (cfut_executor_new(&ex) != CFUT_OK)
        return 1;
    static struct pending_map map; /* empty: every id is 0 */

    /* Step 1: three callers send their requests and wait. */
    static const char *const whats[] = {"one", "two", "three"};
    struct cfut_join_handle h[3];
    for (int i = 0; i < 3; i++)
        if (caller_spawn(ex, &h[i], &map, whats[i]) != CFUT_OK)
            return 1;
    cfut_executor_run_ready(ex);

    /* Step 2: responses arrive out of order (a fake server): #2, an id
     * nobody sent, then #3 after its caller gave up, then #1. */
    deliver(&map, 2, "TWO");
    cfut_executor_run_ready(ex);
    deliver(&map, 9, "NINE");
    cfut_join_handle_cancel(&h[2]);
    cfut_executor_run_ready(ex);
    deliver(&map, 3, "THREE");
    deliver(&map, 1, "ONE");
    cfut_executor_run_ready(ex);

    /* Step 3: every handle resolves; the map is empty again. */
    for (int i = 0; i < 3; i++) {
        struct cfut_join_status st;
        cfut_block_on(ex, &h[i].base, &st);
    }
    int n_pending = 0;
    for (int i = 0; i < MAX_PENDING; i++)
        n_pending += map.slots[i].id != 0;
    printf("pending: %d, unknown ids: %d\n", n_pending, map.n_unknown);
    cfut_executor_free(ex);
    return 0;
}
