/*
 * cfut_dispatch.h: async operations stored in a map: a table of named
 * operations, each a handler that builds a request's future
 * (cfut_handler_new_fn, cfut_transport.h), and the server handler that
 * dispatches a request to one by name (lesson 21, examples/21_dispatch.c,
 * builds the same by hand).
 * Threading: a table is used on one thread; a server that dispatches with
 * it reads it from its executor's thread. Lifetime: the caller creates and
 * frees the table, after every server that uses it.
 */
#ifndef CFUT_DISPATCH_H
#define CFUT_DISPATCH_H

#include <stddef.h>

#include "cfut_future.h"
#include "cfut_transport.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A table of named operations (opaque). */
struct cfut_dispatch;

/*
 * Creates an empty table. Use cfut_dispatch_handler() with 'table' as the
 * context of a server: a request's payload is "name", a 0 byte, then the
 * arguments; an unknown name gets the error response CFUT_ENOTFOUND, a
 * payload with no 0 byte CFUT_EINVAL.
 * Returns: 0; CFUT_EINVAL; CFUT_ENOMEM.
 */
CFUT_API int cfut_dispatch_new(struct cfut_dispatch **out);

/*
 * Adds (or replaces) the operation 'name', built by 'fn' with 'ctx' from
 * the argument bytes.
 * Ownership: 'name' is copied; 'ctx' is kept.
 * Returns: 0; CFUT_EINVAL; CFUT_ENOMEM.
 */
CFUT_API int cfut_dispatch_add(struct cfut_dispatch *d, const char *name,
                               cfut_handler_new_fn *fn, void *ctx);

/* Frees the table. NULL is a no-op. */
CFUT_API void cfut_dispatch_free(struct cfut_dispatch *d);

/* The handler that dispatches by name: 'ctx' is a struct cfut_dispatch. */
CFUT_API int cfut_dispatch_handler(void *ctx, const unsigned char *payload,
                                   size_t len, struct cfut_future **out);

#ifdef __cplusplus
}
#endif

#endif /* CFUT_DISPATCH_H */
