/*
 * pending_map.c: exercise 14, a map of pending requests holding the
 * sending halves of oneshots.
 * This is your file: fill in the functions below, then run
 *     ./run exercise 14
 * The README beside this file says what to build and gives hints.
 */
#include "pending_map.h"

void
pending_map_init(struct pending_map *m)
{
    for (int i = 0; i < PENDING_MAX; i++)
        m->slot[i].used = false;
    m->next_id = 1;
    m->n_pending = 0;
    m->n_unknown = 0;
}

int
pending_map_add(struct pending_map *m, uint32_t *id,
                struct cfut_oneshot_receiver *rx)
{
    /* Exercise: find a free slot (a used slot whose sender is closed is
     * free: drop its sender first); make a oneshot for an int; keep the
     * sender and a new id in the slot; give back the id and receiver. */
    (void)m;
    (void)id;
    (void)rx;
    return CFUT_ENOMEM; /* not written yet */
}

int
pending_map_complete(struct pending_map *m, uint32_t id, int value)
{
    /* Exercise: find the slot with 'id'; free it and send the value. */
    (void)m;
    (void)id;
    (void)value;
    return CFUT_ENOTFOUND;
}

void
pending_map_fail_all(struct pending_map *m)
{
    /* Exercise: drop the sender of every used slot, and free the slots. */
    (void)m;
}
