/*
 * pending_map.c: exercise 14, the reference solution (spoilers: try the
 * exercise first). The seed's answer: keep the sending half of a oneshot
 * in the map, hand the receiving half back as the request's future.
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

/* Empties slot 'e': drops its sender (a sent sender is already empty). */
static void
free_slot(struct pending_map *m, struct pending_entry *e)
{
    cfut_oneshot_sender_drop(&e->tx);
    e->used = false;
    m->n_pending--;
}

/* Returns a free slot, reusing one whose request was dropped; or NULL. */
static struct pending_entry *
find_free(struct pending_map *m)
{
    struct pending_entry *closed = NULL;
    for (int i = 0; i < PENDING_MAX; i++) {
        struct pending_entry *e = &m->slot[i];
        if (!e->used)
            return e;
        if (closed == NULL && cfut_oneshot_sender_is_closed(&e->tx))
            closed = e; /* nobody waits for this one any more */
    }
    if (closed != NULL)
        free_slot(m, closed);
    return closed;
}

int
pending_map_add(struct pending_map *m, uint32_t *id,
                struct cfut_oneshot_receiver *rx)
{
    struct pending_entry *e = find_free(m);
    if (e == NULL)
        return CFUT_EFULL;
    struct cfut_oneshot_receiver r;
    int rc = cfut_oneshot_new(sizeof(int), NULL, &e->tx, &r);
    if (rc != CFUT_OK)
        return rc;
    e->used = true;
    e->id = m->next_id++;
    if (m->next_id == 0) /* 0 is never an id */
        m->next_id = 1;
    m->n_pending++;
    *id = e->id;
    *rx = r; /* a fresh future: moving it is allowed */
    return CFUT_OK;
}

int
pending_map_complete(struct pending_map *m, uint32_t id, int value)
{
    for (int i = 0; i < PENDING_MAX; i++) {
        struct pending_entry *e = &m->slot[i];
        if (!e->used || e->id != id)
            continue;
        /* The send consumes the sender, whatever it returns: the slot is
         * free again. CFUT_ECLOSED: the request's future was dropped. */
        e->used = false;
        m->n_pending--;
        return cfut_oneshot_send(&e->tx, &value);
    }
    m->n_unknown++; /* unknown, or answered already */
    return CFUT_ENOTFOUND;
}

void
pending_map_fail_all(struct pending_map *m)
{
    for (int i = 0; i < PENDING_MAX; i++)
        if (m->slot[i].used)
            free_slot(m, &m->slot[i]);
}
