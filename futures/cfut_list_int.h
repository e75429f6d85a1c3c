/*
 * cfut_list_int.h: an intrusive, circular, doubly linked list with a
 * sentinel head (internal; never included by a public header).
 * Unlinked nodes point to themselves, so "is it linked?" is O(1) and a
 * second removal is harmless. It does no allocation and no locking.
 */
#ifndef CFUT_LIST_INT_H
#define CFUT_LIST_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "cfut_future.h"

/* struct cfut_list (a node, or a head) is defined in cfut_future.h. */

/* Makes 'n' an empty list, or an unlinked node. Post: it points to itself. */
static inline void
cfut_list_init(struct cfut_list *n)
{
    n->next = n;
    n->prev = n;
}

/* Tells whether the list headed by 'h' is empty (or node 'h' unlinked). */
static inline bool
cfut_list_is_empty(const struct cfut_list *h)
{
    return h->next == h;
}

/* Tells whether node 'n' is on some list. */
static inline bool
cfut_list_is_linked(const struct cfut_list *n)
{
    return n->next != n;
}

/* Links unlinked node 'n' at the tail of 'h'. Pre: 'n' is unlinked. */
static inline void
cfut_list_push_back(struct cfut_list *h, struct cfut_list *n)
{
    CFUT_DEBUG_ASSERT(n->next == n, "list node inserted twice");
    n->prev = h->prev;
    n->next = h;
    h->prev->next = n;
    h->prev = n;
}

/* Links unlinked node 'n' at the head of 'h'. Pre: 'n' is unlinked. */
static inline void
cfut_list_push_front(struct cfut_list *h, struct cfut_list *n)
{
    CFUT_DEBUG_ASSERT(n->next == n, "list node inserted twice");
    n->next = h->next;
    n->prev = h;
    h->next->prev = n;
    h->next = n;
}

/*
 * Unlinks 'n' from whatever list holds it and re-initialises it; an
 * unlinked node is left as it is.
 */
static inline void
cfut_list_remove(struct cfut_list *n)
{
    CFUT_DEBUG_ASSERT(n->next->prev == n && n->prev->next == n,
                      "list corrupted: neighbours do not point back");
    n->next->prev = n->prev;
    n->prev->next = n->next;
    n->next = n;
    n->prev = n;
}

/* Unlinks and returns the first node of 'h', or NULL when it is empty. */
static inline struct cfut_list *
cfut_list_pop_front(struct cfut_list *h)
{
    struct cfut_list *n = h->next;
    if (n == h)
        return NULL;
    cfut_list_remove(n);
    return n;
}

/* Moves every node of 'from' to the tail of 'to'; 'from' becomes empty. */
static inline void
cfut_list_splice_back(struct cfut_list *to, struct cfut_list *from)
{
    if (cfut_list_is_empty(from))
        return;
    from->next->prev = to->prev;
    to->prev->next = from->next;
    from->prev->next = to;
    to->prev = from->prev;
    cfut_list_init(from);
}

/* Iterates over the nodes of 'h'; the body must not unlink 'it'. */
#define cfut_list_for_each(it, h)                                              \
    for (struct cfut_list *it = (h)->next; it != (h); it = it->next)

/* Iterates over the nodes of 'h'; the body may unlink 'it' (not others). */
#define cfut_list_for_each_safe(it, nx, h)                                     \
    for (struct cfut_list *it = (h)->next, *nx = it->next; it != (h);          \
         it = nx, nx = it->next)

#endif /* CFUT_LIST_INT_H */
