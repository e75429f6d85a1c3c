/*
 * pending_map.h: exercise 14, the heart of request/response: a map of
 * pending requests keyed by id, each holding the sending half of a
 * oneshot; the request's future is the receiving half. The interface the
 * check calls; do not change it. You write pending_map.c.
 *
 * Single-threaded: the map, its senders and the receivers stay on one
 * thread (cfut's local oneshot, lesson 17).
 */
#ifndef PENDING_MAP_H
#define PENDING_MAP_H

#include <cfut.h>
#include <stdbool.h>
#include <stdint.h>

/* The most requests that can wait at once. */
#define PENDING_MAX 8

/* One slot of the map. */
struct pending_entry {
    bool used;                     /* a request waits here */
    uint32_t id;                   /* its id */
    struct cfut_oneshot_sender tx; /* the sending half of its oneshot */
};

/* The map of pending requests. */
struct pending_map {
    struct pending_entry slot[PENDING_MAX];
    uint32_t next_id;   /* the id the next request gets (never 0) */
    size_t n_pending;   /* slots in use */
    uint64_t n_unknown; /* responses whose id no request waited for */
};

/* Initialises 'm' empty; the first request gets id 1. */
void pending_map_init(struct pending_map *m);

/*
 * Starts a request: makes a oneshot for an int (cfut_oneshot_new()), keeps
 * its sender in a free slot under a new id, and hands back the receiver:
 * the request's future, whose output is CFUT_ONESHOT_OUTPUT(int). A slot
 * whose receiver was dropped counts as free (cfut_oneshot_sender_is_closed()
 * tells): its sender is dropped and the slot reused.
 * Ownership: '*rx' receives the receiver on success (the caller awaits and
 *   drops it); '*id' and '*rx' are left untouched on failure.
 * Returns: CFUT_OK; CFUT_EFULL when PENDING_MAX requests wait; CFUT_ENOMEM
 *   when the oneshot cannot be made.
 */
int pending_map_add(struct pending_map *m, uint32_t *id,
                    struct cfut_oneshot_receiver *rx);

/*
 * A response 'value' arrived for 'id': takes the request's sender out of
 * the map (the slot is free again) and sends the value, which wakes the
 * request's task.
 * Returns: CFUT_OK; CFUT_ENOTFOUND when no request waits for 'id' (an
 *   unknown id, or a response that came twice): it is counted in
 *   'n_unknown' and ignored; CFUT_ECLOSED when the request's future was
 *   dropped: the entry is gone and the response ignored.
 */
int pending_map_complete(struct pending_map *m, uint32_t id, int value);

/*
 * The connection is gone: every pending request fails. Drops every sender
 * (each receiver then finishes with CFUT_ECANCELED) and empties the map.
 * Also what a map's owner calls before it forgets the map.
 */
void pending_map_fail_all(struct pending_map *m);

#endif /* PENDING_MAP_H */
