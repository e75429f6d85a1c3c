/*
 * cfut_token_core_int.h: the cancellation token's state and every one of
 * its transitions, written once for both kinds (internal; never included
 * by a public header): a tree of states, each with a count, a flag, its
 * children and the cancelled futures that wait on it. The local kind runs
 * the core as it is and wakes at once; the thread-safe kind runs it under
 * its tree's one lock and wakes after unlocking. The core never locks,
 * never allocates and calls no user code; it hands the states whose last
 * reference went to its caller, who frees them (after unlocking).
 */
#ifndef CFUT_TOKEN_CORE_INT_H
#define CFUT_TOKEN_CORE_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "cfut_count_int.h"
#include "cfut_owner_int.h"
#include "cfut_token.h"
#include "cfut_waitq_int.h"

/*
 * One token's state. Invariant: a cancelled state's descendants are all
 * cancelled (a cancel walks the whole subtree, and a child of a cancelled
 * parent starts cancelled), so a walk may stop at a cancelled state.
 */
struct cfut__token {
    CFUT__OWNER_FIELD;           /* debug builds: the local kind's thread */
    uint32_t refs;               /* handles, futures, child states */
    bool is_cancelled;           /* set once, never cleared */
    struct cfut__token *parent;  /* holds a reference; NULL: a root */
    struct cfut_list children;   /* child states, on 'child_link' */
    struct cfut_list child_link; /* on the parent's 'children' (then
                                    on a list of dead states) */
    struct cfut_list waiters;    /* cancelled futures, FIFO */
};

/*
 * Initialises 'c' with one reference (its first handle): a root when
 * 'parent' is NULL, else a child of 'parent' (on its list of children,
 * holding a reference to it, cancelled if it is). Returns false, with
 * nothing changed, when the parent's count is full.
 */
static inline bool
cfut__token_core_init(struct cfut__token *c, struct cfut__token *parent)
{
    if (parent != NULL && !cfut__count_up(&parent->refs))
        return false;
    c->refs = 1;
    c->is_cancelled = parent != NULL && parent->is_cancelled;
    c->parent = parent;
    cfut_list_init(&c->children);
    cfut_list_init(&c->child_link);
    cfut_list_init(&c->waiters);
    if (parent != NULL)
        cfut_list_push_back(&parent->children, &c->child_link);
    return true;
}

/*
 * Returns the first child of 'c' not cancelled yet, from the child link
 * 'from' on (the list head itself to start), or NULL.
 */
static inline struct cfut__token *
cfut__token_next_live_child(struct cfut__token *c, struct cfut_list *from)
{
    for (struct cfut_list *it = from; it != &c->children; it = it->next) {
        struct cfut__token *k =
            cfut_container_of(it, struct cfut__token, child_link);
        if (!k->is_cancelled)
            return k;
    }
    return NULL;
}

/* Marks 'c' cancelled and moves its waiters to 'batch'. */
static inline void
cfut__token_mark(struct cfut__token *c, struct cfut_list *batch)
{
    c->is_cancelled = true;
    cfut__waitq_take_all(&c->waiters, batch);
}

/*
 * Cancels 'c' and every descendant not cancelled yet, moving every waiter
 * of theirs to 'batch' (the caller wakes them). A walk in preorder that
 * follows the links and the parent pointers: no recursion, no memory, and
 * it stops at states cancelled already (their subtrees are, too).
 */
static inline void
cfut__token_cancel(struct cfut__token *c, struct cfut_list *batch)
{
    if (c->is_cancelled)
        return;
    cfut__token_mark(c, batch);
    struct cfut__token *n = c;
    struct cfut_list *from = c->children.next;
    for (;;) {
        struct cfut__token *k = cfut__token_next_live_child(n, from);
        if (k != NULL) {
            cfut__token_mark(k, batch);
            n = k;
            from = k->children.next;
        } else if (n != c) {
            from = n->child_link.next; /* n's next sibling, in its parent */
            n = n->parent;
        } else {
            return;
        }
    }
}

/*
 * Drops one reference to 'c'. A state whose last reference goes leaves its
 * parent's list of children and drops its reference to the parent, which
 * may go too, and so on up. Each state gone is put on 'dead' (initialised
 * by the caller; a root comes last), for the caller to free once nothing
 * can reach it: after unlocking.
 */
static inline void
cfut__token_release(struct cfut__token *c, struct cfut_list *dead)
{
    while (c != NULL && --c->refs == 0) {
        CFUT_DEBUG_ASSERT(cfut_list_is_empty(&c->children) &&
                              cfut_list_is_empty(&c->waiters),
                          "token: a state freed with references to it");
        struct cfut__token *parent = c->parent;
        cfut_list_remove(&c->child_link);
        cfut_list_push_back(dead, &c->child_link);
        c = parent;
    }
}

/* Takes the next state off a list of dead states, or returns NULL. */
static inline struct cfut__token *
cfut__token_next_dead(struct cfut_list *dead)
{
    struct cfut_list *n = cfut_list_pop_front(dead);
    return n != NULL ? cfut_container_of(n, struct cfut__token, child_link)
                     : NULL;
}

/*
 * The cancelled future's poll, for its waiter 'w'. States: the token is
 * cancelled (READY; off any list); otherwise PENDING, parked on 'waiters'
 * with the waker of 'cx' until a cancel moves it to a batch and wakes it.
 */
static inline enum cfut_poll
cfut__token_poll(struct cfut__token *c, struct cfut__waiter *w,
                 struct cfut_context *cx)
{
    if (c->is_cancelled) {
        cfut__waiter_unlink(w);
        return CFUT_READY;
    }
    cfut__waiter_park(&c->waiters, w, cx);
    return CFUT_PENDING;
}

#endif /* CFUT_TOKEN_CORE_INT_H */
