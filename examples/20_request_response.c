/*
 * Lesson 20: request/response with the transport: lesson 19's map, on a
 * connection.
 *
 * What you will learn:
 *   - the transport is lesson 19's pending map plus a wire: a request gets
 *     an id, its oneshot sender goes into the map, and the request is a
 *     future for the receiver; a driver task reads response frames and
 *     sends to the sender with the matching id;
 *   - so responses may come back in any order: each finds its caller;
 *   - the server runs one handler future per request, as its own task.
 * Builds on: lesson 11 (async functions), 15 (the paused clock) and 19
 *   (the pending map by hand).
 * API introduced: cfut_mem_stream_pair_new, struct cfut_stream,
 *   cfut_transport_new/free, struct cfut_request, cfut_request_init,
 *   struct cfut_response, cfut_response_data, cfut_response_deinit,
 *   struct cfut_transport_stats, cfut_transport_get_stats, cfut_server_new,
 *   cfut_server_add_stream, cfut_server_free, struct cfut_reply,
 *   CFUT_EINVAL.
 * Run it: build/examples/20_request_response   (try CFUT_TRACE=- too)
 * Expected output: examples/expected/20_request_response.txt
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
CFUT_ASYNC_FN(shout, struct cfut_reply, ((int, ms)), char word[16];
              struct cfut_sleep nap; struct cfut_reply reply;)
{
    CFUT_BEGIN();
    cfut_sleep_init(&self->nap, CFUT_MSEC(self->ms));
    CFUT_AWAIT(&self->nap);
    self->reply.len = strlen(self->word); /* bytes inline, status 0 */
    for (size_t i = 0; i < self->reply.len; i++)
        self->reply.inline_bytes[i] =
            (unsigned char)toupper((unsigned char)self->word[i]);
    printf("  server: answers '%s' at t=%llu ms\n", self->word, now_ms());
    CFUT_RETURN(self->reply);
    CFUT_END();
}

/* Builds one handler future per request, boxed: the server owns it. */
static int
shout_new(void *ctx, const unsigned char *payload, size_t len,
          struct cfut_future **out)
{
    (void)ctx;
    char word[16];
    snprintf(word, sizeof word, "%.*s", (int)len, (const char *)payload);
    char *colon = strchr(word, ':');
    if (colon == NULL)
        return CFUT_EINVAL; /* the client gets an error response */
    *colon = '\0';
    struct shout s;
    shout_init(&s, atoi(colon + 1));
    snprintf(s.word, sizeof s.word, "%s", word);
    printf("  server: got '%s', will take %d ms\n", s.word, s.ms);
    return cfut_future_box(&s.base, sizeof s, out);
}

/* A caller task: send one request, await its response, print it. */
CFUT_ASYNC_FN(caller, void,
              ((struct cfut_transport *, t), (const char *, payload)),
              struct cfut_request req;
              struct cfut_response resp;)
{
    CFUT_BEGIN();
    if (cfut_request_init(&self->req, self->t, self->payload,
                          strlen(self->payload)) != CFUT_OK)
        CFUT_RETURN();
    CFUT_AWAIT(&self->req, &self->resp);
    printf("client: '%s' -> '%.*s' at t=%llu ms\n", self->payload,
           (int)self->resp.len, (const char *)cfut_response_data(&self->resp),
           now_ms());
    cfut_response_deinit(&self->resp);
    CFUT_END();
}

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
    for (int i = 0; i < 3; i++)
        if (caller_spawn(ex, &h[i], t, payloads[i]) != CFUT_OK)
            return 1;
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
