/*
 * join.h: exercise 03, joining two futures by hand, polling again only the
 * child that was woken. The interface the check calls; do not change it.
 * You write join.c.
 */
#ifndef JOIN_H
#define JOIN_H

#include <stdbool.h>
#include <stddef.h>

/* The two answers a poll can give. */
enum poll { PENDING, READY };

/* A wake callback: a function and the data it needs (lesson 02). */
struct wake_cb {
    void (*fn)(void *data);
    void *data;
};

/*
 * A future: any struct that starts with this one. READY writes the output
 * to '*out'; PENDING means 'wake' will be called once polling again can
 * make progress.
 */
struct future {
    enum poll (*poll)(struct future *self, struct wake_cb wake, int *out);
};

struct join2;

/* The data of the wake callback one child gets: which join, which child. */
struct join_sub {
    struct join2 *join;
    int which; /* 0: the first child (A), 1: the second (B) */
};

/*
 * A future that runs two futures with an int output at once and is READY
 * when both are, with both outputs: its output is int[2] (A's, then B's).
 */
struct join2 {
    struct future base;      /* first: a 'struct future *' to it is the join */
    struct future *child[2]; /* A and B, borrowed: polled, never freed */
    bool done[2];            /* child i has answered READY */
    int out[2];              /* child i's output, once it is done */
    bool woken[2];           /* child i was woken since its last poll */
    struct join_sub sub[2];  /* the data of child i's own wake callback */
    struct wake_cb parent;   /* the callback of the join's latest poll */
};

/*
 * Makes a join of 'a' and 'b' whose base polls with join2_poll(). Both
 * children count as woken: the first poll polls both.
 */
void join2_init(struct join2 *j, struct future *a, struct future *b);

/*
 * Polls the join 'self': polls each child that is not done and was woken
 * since its last poll, giving it a wake callback of its own that records
 * "child i was woken" in the join and then calls the join's latest
 * callback. READY, with out[0] and out[1] written, once both are done.
 * The join is pinned from its first poll: the children's callbacks point
 * into it, so it must not move.
 */
enum poll join2_poll(struct future *self, struct wake_cb wake, int *out);

#endif /* JOIN_H */
