/*
 * cfut_oneshot_int.h: a oneshot sender of either kind, for a module that
 * keeps senders of both kinds side by side (the transport's pending map).
 * Internal; never included by a public header. The channel's state knows
 * its own kind, so the holder keeps one pointer and no flag of its own.
 */
#ifndef CFUT_ONESHOT_INT_H
#define CFUT_ONESHOT_INT_H

#include "cfut_oneshot.h"

struct cfut__oneshot_core;

/* A sending half of either kind: a handle of one pointer, used once. */
struct cfut__oneshot_any_sender {
    struct cfut__oneshot_core *core; /* NULL once sent or dropped */
};

/*
 * Turns a local sender into a sender of either kind (the local state
 * begins with its core: cfut_oneshot.c checks it).
 * Ownership: 'tx' is taken (emptied).
 */
static inline struct cfut__oneshot_any_sender
cfut__oneshot_sender_any(struct cfut_oneshot_sender *tx)
{
    struct cfut__oneshot_any_sender any = {
        (struct cfut__oneshot_core *)(void *)tx->shared};
    tx->shared = NULL;
    return any;
}

/* Turns a thread-safe sender into a sender of either kind, as above. */
struct cfut__oneshot_any_sender
cfut__oneshot_sync_sender_any(struct cfut_oneshot_sync_sender *tx);

/*
 * Sends with the sender's own kind: as cfut_oneshot_send() or
 * cfut_oneshot_sync_send(). Ownership: 'tx' is taken (emptied).
 * Returns: 0; CFUT_ECLOSED. Context: as the kind's send.
 */
int cfut__oneshot_any_send(struct cfut__oneshot_any_sender *tx,
                           const void *value);

/* Drops the sender without sending; an empty one is a no-op. */
void cfut__oneshot_any_sender_drop(struct cfut__oneshot_any_sender *tx);

/* The thread-safe kind's send and drop on its core (cfut_oneshot_sync.c);
 * what the two functions above call for that kind. */
int cfut__oneshot_sync_core_send(struct cfut__oneshot_core *c,
                                 const void *value);
void cfut__oneshot_sync_core_sender_drop(struct cfut__oneshot_core *c);

#endif /* CFUT_ONESHOT_INT_H */
