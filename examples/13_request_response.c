/*
 * Lesson 13: request/response over an in-memory duplex, with ids, out of
 * order.
 *
 * What you will learn:
 *   - the client gives each request an id, keeps the *sending* half of a
 *     oneshot in a map under that id, and hands back the *receiving* half
 *     as the request's future; one driver task reads responses and
 *     completes the sender with the matching id (lesson 12's oneshot);
 *   - so responses may come back in any order: each finds its waiter;
 *   - the server runs one handler future per request, as its own task.
 * Builds on: lesson 12 (oneshot), 15 (dispatch), 18 (paused clock).
 * API introduced: cfut_mem_stream_pair_new, cfut_transport_new/free,
 *   cfut_request_init, struct cfut_response, cfut_server_new,
 *   cfut_server_add_stream, struct cfut_reply.
 * Run it: build/examples/13_request_response   (try CFUT_TRACE=- too)
 * Expected output: examples/expected/13_request_response.txt
 */
#include <cfut.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t t0; /* the paused clock at the start */

static unsigned long long
now_ms(void)
{
    return (unsigned long long)((cfut_time_now(NULL) - t0) / CFUT_MSEC(1));
}

/* The server's handler: "word:ms" -> after ms milliseconds, "WORD". */
struct shout {
    struct cfut_future base;
    struct cfut_coro co;
    char word[16];
    int ms, st;
    struct cfut_sleep nap;
};

static enum cfut_poll
shout_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct shout *s = cfut_container_of(f, struct shout, base);
    CFUT_ASYNC_BEGIN(&s->co);
    cfut_sleep_init(&s->nap, CFUT_MSEC(s->ms));
    CFUT_AWAIT(&s->co, cx, &s->nap.base, &s->st);
    struct cfut_reply *r = out; /* the reply: status, bytes inline */
    r->status = 0;
    r->data = NULL;
    r->len = strlen(s->word);
    for (size_t i = 0; i < r->len; i++)
        r->inline_bytes[i] = (unsigned char)toupper((unsigned char)s->word[i]);
    printf("  server: answers '%s' at t=%llu ms\n", s->word, now_ms());
    CFUT_ASYNC_RETURN_VOID(&s->co);
    CFUT_ASYNC_END(&s->co);
}

static void
shout_drop(struct cfut_future *f)
{
    cfut_coro_drop(&cfut_container_of(f, struct shout, base)->co);
}

static const struct cfut_future_vtable shout_vtable = {
    shout_poll, shout_drop, sizeof(struct cfut_reply), "shout", NULL};

/* Builds one handler future per request (boxed: the server owns it). */
static int
shout_new(void *ctx, const unsigned char *payload, size_t len,
          struct cfut_future **out)
{
    struct shout s;
    (void)ctx;
    cfut_future_init(&s.base, &shout_vtable);
    cfut_coro_init(&s.co);
    snprintf(s.word, sizeof s.word, "%.*s", (int)len, (const char *)payload);
    char *colon = strchr(s.word, ':');
    s.ms = colon != NULL ? atoi(colon + 1) : 0;
    if (colon != NULL)
        *colon = '\0';
    printf("  server: got '%s', will take %d ms\n", s.word, s.ms);
    return cfut_future_box(&s.base, sizeof s, out);
}

/* A caller task: send one request, await its response, print it. */
struct caller {
    struct cfut_future base;
    struct cfut_coro co;
    struct cfut_transport *t;
    const char *payload;
    struct cfut_request req;
    struct cfut_response resp;
};

static enum cfut_poll
caller_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct caller *c = cfut_container_of(f, struct caller, base);
    (void)out;
    CFUT_ASYNC_BEGIN(&c->co);
    if (cfut_request_init(&c->req, c->t, c->payload, strlen(c->payload)))
        CFUT_ASYNC_RETURN_VOID(&c->co);
    CFUT_AWAIT(&c->co, cx, &c->req.base, &c->resp);
    printf("client: '%s' -> '%.*s' at t=%llu ms\n", c->payload,
           (int)c->resp.len, (const char *)cfut_response_data(&c->resp),
           now_ms());
    cfut_response_deinit(&c->resp);
    CFUT_ASYNC_END(&c->co);
}

static void
caller_drop(struct cfut_future *f)
{
    cfut_coro_drop(&cfut_container_of(f, struct caller, base)->co);
}

static const struct cfut_future_vtable caller_vtable = {
    caller_poll, caller_drop, 0, "caller", NULL};

int
main(void)
{
    struct cfut_executor *ex;
    struct cfut_stream *a, *b;
    struct cfut_server *srv;
    struct cfut_transport *t;
    /* Step 1: an in-memory duplex: what one end writes, the other reads. */
    if (cfut_executor_new(&ex) != CFUT_OK ||
        cfut_mem_stream_pair_new(4096, &a, &b) != CFUT_OK)
        return 1;
    cfut_time_pause(ex);
    t0 = cfut_time_now(ex);
    /* Step 2: a server on one end, a client transport on the other. */
    if (cfut_server_new(ex, shout_new, NULL, NULL, &srv) != CFUT_OK ||
        cfut_server_add_stream(srv, b) != CFUT_OK ||
        cfut_transport_new(ex, a, NULL, &t) != CFUT_OK)
        return 1;

    /* Step 3: three callers; the slowest request goes first. */
    static const char *const payloads[] = {"one:30", "two:10", "three:20"};
    struct cfut_join_handle h[3];
    for (int i = 0; i < 3; i++) {
        struct caller c = {.t = t, .payload = payloads[i]};
        cfut_future_init(&c.base, &caller_vtable);
        cfut_coro_init(&c.co);
        cfut_spawn(ex, &c.base, sizeof c, &h[i]);
    }
    for (int i = 0; i < 3; i++) {
        struct cfut_join_status st;
        cfut_block_on(ex, &h[i].base, &st);
    }

    /* Step 4: every response found its request by id. */
    struct cfut_transport_stats stats;
    cfut_transport_get_stats(t, &stats);
    printf("sent %llu, completed %llu, unknown ids %llu, pending %zu\n",
           (unsigned long long)stats.n_sent,
           (unsigned long long)stats.n_completed,
           (unsigned long long)stats.n_unknown, stats.n_pending);
    cfut_transport_free(t);
    cfut_server_free(srv);
    cfut_executor_run_ready(ex); /* let the connection tasks end */
    cfut_executor_free(ex);
    return 0;
}
