/*
 * echo_handler.h: a request handler for cfut_server_new() that answers
 * each request with its own payload, optionally out of order. An example
 * of a handler (examples/echo_handler.c), not library API: cfut-echo
 * serves it, and tests/ and bench/ build it into their programs.
 * Single-threaded: the server's executor thread calls it.
 */
#ifndef ECHO_HANDLER_H
#define ECHO_HANDLER_H

#include <cfut.h>
#include <stdbool.h>
#include <stdint.h>

/* Settings of echo_handler(). */
struct echo_config {
    bool shuffle;   /* each reply waits 0..3 extra polls: out of order */
    uint64_t state; /* the shuffle's random state (any value) */
};

/*
 * A handler that answers each request with its own payload. With a
 * struct echo_config as 'ctx' whose 'shuffle' is set, replies wait a
 * random number of polls, so they leave out of order.
 * Ownership: 'ctx' (NULL or a struct echo_config) is kept by the
 *   server; 'payload' is copied.
 * Returns: 0; CFUT_ENOMEM.
 */
int echo_handler(void *ctx, const unsigned char *payload, size_t len,
                 struct cfut_future **out);

/*
 * The same handler for cfut_server_new_reply(): a reply that is due at
 * once (no shuffle, or a shuffle that drew no wait) is written into
 * '*reply' with no future (and no allocation up to CFUT_REPLY_INLINE
 * bytes); otherwise it builds echo_handler()'s future.
 * Returns: CFUT_REPLY_NOW; 0; CFUT_ENOMEM.
 */
int echo_reply(void *ctx, const unsigned char *payload, size_t len,
               struct cfut_reply *reply, struct cfut_future **out);

#endif /* ECHO_HANDLER_H */
