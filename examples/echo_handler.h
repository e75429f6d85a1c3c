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

#endif /* ECHO_HANDLER_H */
