/*
 * check.c: the checks of exercise 14 (the pending map of oneshot senders).
 * It links your pending_map.c; run it with ./run exercise 14. It plays
 * both sides of a connection: it starts requests, answers them in any
 * order (or not at all), drops some, and closes; the last check runs
 * caller tasks and a responder task on cfut's executor.
 */
#include "exkit.h"
#include "pending_map.h"

static void
add(struct pending_map *m, uint32_t *id, struct cfut_oneshot_receiver *rx)
{
    int rc = pending_map_add(m, id, rx);
    EXKIT_REQUIRE(rc == CFUT_OK, "pending_map_add() returned %s",
                  cfut_status_name(rc));
}

/* Polls a request's future once by hand. */
static enum cfut_poll
poll_rx(struct cfut_oneshot_receiver *rx, void *out)
{
    struct cfut_context cx;
    cfut_context_init(&cx, cfut_waker_noop());
    return cfut_future_poll(&rx->base, &cx, out);
}

/* The request's future is READY with 'want' (CFUT_OK and 'value'). */
static void
expect_reply(struct cfut_oneshot_receiver *rx, int want, int value,
             const char *who)
{
    CFUT_ONESHOT_OUTPUT(int) r = {99, 99};
    enum cfut_poll p = poll_rx(rx, &r);
    EXKIT_REQUIRE(p == CFUT_READY,
                  "%s: its future is still PENDING; it should be READY with "
                  "%s",
                  who, cfut_status_name(want));
    EXKIT_REQUIRE(r.status == want && (want != CFUT_OK || r.value == value),
                  "%s: its future finished with {%s, %d} instead of {%s, %d}",
                  who, cfut_status_name(r.status), r.value,
                  cfut_status_name(want), want == CFUT_OK ? value : 0);
}

/* ---------------------------------------------------------------------- */

static void
check_ids_unique(void)
{
    struct pending_map m;
    pending_map_init(&m);
    uint32_t id[3];
    struct cfut_oneshot_receiver rx[3];

    for (int i = 0; i < 3; i++)
        add(&m, &id[i], &rx[i]);

    EXKIT_REQUIRE(id[0] != id[1] && id[1] != id[2] && id[0] != id[2] &&
                      id[0] != 0 && id[1] != 0 && id[2] != 0,
                  "three requests got the ids %u, %u, %u: each needs its own "
                  "id, never 0",
                  id[0], id[1], id[2]);
    EXKIT_REQUIRE(m.n_pending == 3, "three requests wait, but n_pending is %zu",
                  m.n_pending);
    CFUT_ONESHOT_OUTPUT(int) r;
    EXKIT_REQUIRE(poll_rx(&rx[1], &r) == CFUT_PENDING,
                  "a request's future is READY before any response came");
    pending_map_fail_all(&m);
    for (int i = 0; i < 3; i++)
        cfut_future_drop(&rx[i].base);
}

static void
check_out_of_order(void)
{
    struct pending_map m;
    pending_map_init(&m);
    uint32_t id[3];
    struct cfut_oneshot_receiver rx[3];
    for (int i = 0; i < 3; i++)
        add(&m, &id[i], &rx[i]);

    static const int order[3] = {2, 0, 1}; /* responses out of order */
    for (int k = 0; k < 3; k++) {
        int i = order[k];
        int rc = pending_map_complete(&m, id[i], (int)id[i] * 10);
        EXKIT_REQUIRE(rc == CFUT_OK,
                      "pending_map_complete() for request %d's id returned "
                      "%s",
                      i + 1, cfut_status_name(rc));
    }

    char who[32];
    for (int i = 0; i < 3; i++) {
        snprintf(who, sizeof who, "request %d (id %u)", i + 1, id[i]);
        expect_reply(&rx[i], CFUT_OK, (int)id[i] * 10, who);
    }
    EXKIT_REQUIRE(m.n_pending == 0,
                  "every request was answered, but n_pending is %zu",
                  m.n_pending);
    pending_map_fail_all(&m);
    for (int i = 0; i < 3; i++)
        cfut_future_drop(&rx[i].base);
}

static void
check_unknown_id(void)
{
    struct pending_map m;
    pending_map_init(&m);
    uint32_t id;
    struct cfut_oneshot_receiver rx;
    add(&m, &id, &rx);

    int rc = pending_map_complete(&m, id + 1000, 5);

    EXKIT_REQUIRE(rc == CFUT_ENOTFOUND,
                  "a response for an id nobody waits for got %s instead of "
                  "CFUT_ENOTFOUND",
                  cfut_status_name(rc));
    EXKIT_REQUIRE(m.n_unknown == 1, "n_unknown is %llu instead of 1",
                  (unsigned long long)m.n_unknown);
    CFUT_ONESHOT_OUTPUT(int) r;
    EXKIT_REQUIRE(poll_rx(&rx, &r) == CFUT_PENDING && m.n_pending == 1,
                  "a response with an unknown id touched a request that "
                  "waits for another id");
    pending_map_fail_all(&m);
    cfut_future_drop(&rx.base);
}

static void
check_duplicate(void)
{
    struct pending_map m;
    pending_map_init(&m);
    uint32_t id;
    struct cfut_oneshot_receiver rx;
    add(&m, &id, &rx);

    int first = pending_map_complete(&m, id, 1);
    int second = pending_map_complete(&m, id, 2);

    EXKIT_REQUIRE(first == CFUT_OK, "the first response got %s",
                  cfut_status_name(first));
    EXKIT_REQUIRE(second == CFUT_ENOTFOUND && m.n_unknown == 1,
                  "a second response for the same id got %s (n_unknown %llu) "
                  "instead of CFUT_ENOTFOUND, counted: the first response "
                  "took the request out of the map",
                  cfut_status_name(second), (unsigned long long)m.n_unknown);
    expect_reply(&rx, CFUT_OK, 1, "the request");
    pending_map_fail_all(&m);
    cfut_future_drop(&rx.base);
}

static void
check_dropped_request(void)
{
    struct pending_map m;
    pending_map_init(&m);
    uint32_t id;
    struct cfut_oneshot_receiver rx;
    add(&m, &id, &rx);

    cfut_future_drop(&rx.base); /* the caller gave up: cancellation */
    int rc = pending_map_complete(&m, id, 5);

    EXKIT_REQUIRE(rc == CFUT_ECLOSED,
                  "the late response of a dropped request got %s instead of "
                  "CFUT_ECLOSED (the send to a dropped receiver fails)",
                  cfut_status_name(rc));
    EXKIT_REQUIRE(m.n_pending == 0 && m.n_unknown == 0,
                  "after the late response, n_pending is %zu and n_unknown "
                  "%llu instead of 0 and 0: its entry is gone, and it was "
                  "not an unknown id",
                  m.n_pending, (unsigned long long)m.n_unknown);
    pending_map_fail_all(&m);
}

static void
check_full(void)
{
    struct pending_map m;
    pending_map_init(&m);
    uint32_t id[PENDING_MAX + 1];
    struct cfut_oneshot_receiver rx[PENDING_MAX + 1];
    for (int i = 0; i < PENDING_MAX; i++)
        add(&m, &id[i], &rx[i]);

    uint32_t extra_id = 12345;
    int rc = pending_map_add(&m, &extra_id, &rx[PENDING_MAX]);
    EXKIT_REQUIRE(rc == CFUT_EFULL && extra_id == 12345,
                  "with %d requests waiting, one more got %s instead of "
                  "CFUT_EFULL (and its id must be left alone)",
                  PENDING_MAX, cfut_status_name(rc));
    EXKIT_REQUIRE(pending_map_complete(&m, id[3], 3) == CFUT_OK,
                  "(a response for a waiting request failed)");
    rc = pending_map_add(&m, &id[PENDING_MAX], &rx[PENDING_MAX]);

    EXKIT_REQUIRE(rc == CFUT_OK,
                  "after one response freed a slot, a new request got %s",
                  cfut_status_name(rc));
    pending_map_fail_all(&m);
    for (int i = 0; i <= PENDING_MAX; i++)
        cfut_future_drop(&rx[i].base);
}

static void
check_dropped_frees_slot(void)
{
    struct pending_map m;
    pending_map_init(&m);
    uint32_t id[PENDING_MAX + 1];
    struct cfut_oneshot_receiver rx[PENDING_MAX + 1];
    for (int i = 0; i < PENDING_MAX; i++)
        add(&m, &id[i], &rx[i]);

    cfut_future_drop(&rx[5].base); /* one caller gives up */
    int rc = pending_map_add(&m, &id[5], &rx[5]);

    EXKIT_REQUIRE(rc == CFUT_OK,
                  "the map was full, then one request's future was dropped; "
                  "a new request got %s instead of the dropped one's slot "
                  "(cfut_oneshot_sender_is_closed() tells which)",
                  cfut_status_name(rc));
    EXKIT_REQUIRE(m.n_pending == PENDING_MAX, "n_pending is %zu instead of %d",
                  m.n_pending, PENDING_MAX);
    pending_map_fail_all(&m);
    for (int i = 0; i < PENDING_MAX; i++)
        cfut_future_drop(&rx[i].base);
}

static void
check_fail_all(void)
{
    struct pending_map m;
    pending_map_init(&m);
    uint32_t id[3];
    struct cfut_oneshot_receiver rx[3];
    for (int i = 0; i < 3; i++)
        add(&m, &id[i], &rx[i]);

    pending_map_fail_all(&m);

    for (int i = 0; i < 3; i++)
        expect_reply(&rx[i], CFUT_ECANCELED, 0,
                     "a request pending when the connection closed");
    EXKIT_REQUIRE(m.n_pending == 0, "after fail_all, n_pending is %zu",
                  m.n_pending);
    for (int i = 0; i < 3; i++)
        cfut_future_drop(&rx[i].base);
}

/* ---------------------------------------------------------------------- */
/* Callers and a responder, as tasks on cfut's executor                    */
/* ---------------------------------------------------------------------- */

static struct pending_map the_map;
static int answers[3];

/* A caller: starts a request, awaits its response, keeps the value. */
struct caller {
    struct cfut_future base;
    struct cfut_coro co;
    int n;
    uint32_t id;
    struct cfut_oneshot_receiver rx;
    CFUT_ONESHOT_OUTPUT(int) reply;
};

static enum cfut_poll
caller_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct caller *c = cfut_container_of(f, struct caller, base);
    (void)out;
    CFUT_ASYNC_BEGIN(&c->co);
    if (pending_map_add(&the_map, &c->id, &c->rx) != CFUT_OK)
        CFUT_ASYNC_RETURN_VOID(&c->co);
    CFUT_AWAIT(&c->co, cx, &c->rx.base, &c->reply);
    answers[c->n] = c->reply.status == CFUT_OK ? c->reply.value : -1;
    CFUT_ASYNC_END(&c->co);
}

static void
caller_drop(struct cfut_future *f)
{
    cfut_coro_drop(&cfut_container_of(f, struct caller, base)->co);
}

static const struct cfut_future_vtable caller_vtable = {
    caller_poll, caller_drop, 0, "caller", NULL};

/* The responder: after a turn, answers ids 3, 2, 1 with id * 100. */
struct responder {
    struct cfut_future base;
    struct cfut_coro co;
};

static enum cfut_poll
responder_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct responder *r = cfut_container_of(f, struct responder, base);
    (void)out;
    CFUT_ASYNC_BEGIN(&r->co);
    CFUT_YIELD(&r->co, cx); /* the callers start their requests first */
    for (uint32_t id = 3; id >= 1; id--)
        pending_map_complete(&the_map, id, (int)id * 100);
    CFUT_ASYNC_END(&r->co);
}

static const struct cfut_future_vtable responder_vtable = {
    responder_poll, NULL, 0, "responder", NULL};

static void
check_with_tasks(void)
{
    struct cfut_executor *ex;
    EXKIT_REQUIRE(cfut_executor_new(&ex) == CFUT_OK,
                  "(the check could not make an executor)");
    pending_map_init(&the_map);
    for (int i = 0; i < 3; i++) {
        answers[i] = 0;
        struct caller c;
        cfut_future_init(&c.base, &caller_vtable);
        cfut_coro_init(&c.co);
        c.n = i;
        cfut_spawn(ex, &c.base, sizeof c, NULL);
    }
    struct responder r;
    cfut_future_init(&r.base, &responder_vtable);
    cfut_coro_init(&r.co);
    cfut_spawn(ex, &r.base, sizeof r, NULL);

    int rc = cfut_executor_run(ex);
    pending_map_fail_all(&the_map);
    cfut_executor_free(ex);

    EXKIT_REQUIRE(rc == CFUT_OK,
                  "three callers and a responder did not all finish: "
                  "cfut_executor_run() returned %s",
                  cfut_status_name(rc));
    EXKIT_REQUIRE(answers[0] == 100 && answers[1] == 200 && answers[2] == 300,
                  "three caller tasks got ids 1, 2, 3 and the responses came "
                  "back in the order 3, 2, 1; the callers received %d, %d, "
                  "%d instead of 100, 200, 300",
                  answers[0], answers[1], answers[2]);
}

static const struct exkit_check checks[] = {
    {"ids-unique", "each request gets its own id and a PENDING future",
     check_ids_unique},
    {"out-of-order", "responses in any order reach their own requests",
     check_out_of_order},
    {"unknown-id", "a response for an unknown id is counted and ignored",
     check_unknown_id},
    {"duplicate", "a second response for one id is an unknown id",
     check_duplicate},
    {"dropped-request",
     "a dropped request's late response: CFUT_ECLOSED, entry gone",
     check_dropped_request},
    {"full", "at most PENDING_MAX requests wait; a response frees a slot",
     check_full},
    {"dropped-frees-slot", "a dropped request's slot can be reused",
     check_dropped_frees_slot},
    {"fail-all", "closing fails every pending request with CFUT_ECANCELED",
     check_fail_all},
    {"with-tasks", "caller tasks and a responder task on cfut's executor",
     check_with_tasks},
};

int
main(int argc, char **argv)
{
    return exkit_main(argc, argv, "11_pending_map",
                      "request/response: the pending map of oneshot senders",
                      checks, EXKIT_N(checks));
}
