/*
 * cfut_idmap.h: a hash table keyed by 16-byte request ids, with O(1)
 * insert, lookup and remove: the transport's pending map (id -> oneshot
 * sender). Values are fixed-size byte blocks chosen at init (a pointer, or
 * a small struct), stored inline.
 *
 * Threading: single-threaded: all calls on one thread (or under the
 * caller's lock). Lifetime: the map lives in caller storage between init
 * and deinit; value pointers it returns are valid until the next insert or
 * remove.
 * Layout: open addressing with linear probing and backward-shift deletion
 * (no tombstones), at most 7/8 full, keys hashed with a per-map random
 * seed (so a peer choosing ids cannot build long probe chains).
 */
#ifndef CFUT_IDMAP_H
#define CFUT_IDMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cfut_errors.h"
#include "cfut_frame.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The largest value size a map accepts. */
#define CFUT_IDMAP_MAX_VALUE 64u

/* A map from struct cfut_id to a fixed-size value. */
struct cfut_idmap {
    /* private: do not touch */
    unsigned char *slots; /* 'cap' slots of 'stride' bytes: key, value */
    uint8_t *used;        /* 'cap' flags: 1 when the slot holds an entry */
    size_t cap;           /* 0 or a power of two */
    size_t n;             /* entries */
    size_t value_size;
    size_t stride;
    uint64_t seed;
};

/*
 * Initialises an empty map with values of 'value_size' bytes. It
 * allocates nothing until the first insert.
 * Returns: 0; CFUT_EINVAL if 'value_size' exceeds CFUT_IDMAP_MAX_VALUE
 *   ('m' is then untouched).
 * Context: anywhere.
 */
CFUT_API int cfut_idmap_init(struct cfut_idmap *m, size_t value_size);

/* Frees the map's memory (not what values point to). Context: once. */
CFUT_API void cfut_idmap_deinit(struct cfut_idmap *m);

/*
 * Makes room for 'n' entries in all, so that inserts up to that count
 * allocate nothing.
 * Returns: 0; CFUT_ENOMEM ('m' is then unchanged).
 */
CFUT_API int cfut_idmap_reserve(struct cfut_idmap *m, size_t n);

/*
 * Inserts 'id' with a copy of the 'value_size' bytes at 'value'.
 * Ownership: 'id' and 'value' are borrowed (copied).
 * Returns: 0; CFUT_EBUSY if 'id' is already in the map; CFUT_ENOMEM when
 *   the table must grow and cannot ('m' is then unchanged).
 */
CFUT_API int cfut_idmap_insert(struct cfut_idmap *m, const struct cfut_id *id,
                               const void *value);

/*
 * Returns a pointer to the value stored for 'id', or NULL when absent; it
 * is valid until the next insert or remove.
 */
CFUT_API void *cfut_idmap_get(const struct cfut_idmap *m,
                              const struct cfut_id *id);

/*
 * Removes 'id' and copies its value to 'value_out' (unless NULL).
 * Returns: true when the entry existed; false (nothing written) otherwise.
 */
CFUT_API bool cfut_idmap_remove(struct cfut_idmap *m, const struct cfut_id *id,
                                void *value_out);

/* Returns the number of entries. */
CFUT_API size_t cfut_idmap_size(const struct cfut_idmap *m);

/* Returns the bytes the map has allocated (for memory budgets). */
CFUT_API size_t cfut_idmap_memory(const struct cfut_idmap *m);

/* Called for each entry by cfut_idmap_drain(). */
typedef void cfut_idmap_visit_fn(void *ctx, const struct cfut_id *id,
                                 void *value);

/*
 * Empties the map, then calls 'fn' for every entry it held. The entries
 * are detached before the first call, so 'fn' may use the map (an insert,
 * or a remove that finds nothing) without disturbing the walk.
 * Ownership: 'ctx' is borrowed.
 * Context: the owner thread.
 */
CFUT_API void cfut_idmap_drain(struct cfut_idmap *m, cfut_idmap_visit_fn *fn,
                               void *ctx);

#ifdef __cplusplus
}
#endif

#endif /* CFUT_IDMAP_H */
