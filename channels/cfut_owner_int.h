/*
 * cfut_owner_int.h: debug builds' thread check of the local kind: a
 * local-kind state remembers the thread that made it, and a call on it
 * from another thread (a task of a pool that moved to another worker, a
 * thread the state was handed to) aborts with a message naming it. The
 * thread-safe kind is never checked. Release builds have no field and no
 * check. Internal; never included by a public header.
 */
#ifndef CFUT_OWNER_INT_H
#define CFUT_OWNER_INT_H

#include "cfut_future.h"

#if CFUT_DEBUG_CHECKS
/* Who made a local state: a per-thread address, and what it is. */
struct cfut__owner {
    const void *thread;
    const char *what;
};

/* A byte per thread whose address names the thread (cfut_kind.c). */
extern _Thread_local char cfut__owner_token;

/* Aborts: "cfut: a local <what> was used from a second thread ...". */
void cfut__owner_fail(const struct cfut__owner *o);

/* The field of a state that may be of the local kind: CFUT__OWNER_FIELD; */
#define CFUT__OWNER_FIELD struct cfut__owner dbg_owner
/* Records the calling thread as the owner of the state 'c'. */
#define CFUT__OWNER_INIT(c, name)                                              \
    ((c)->dbg_owner = (struct cfut__owner){&cfut__owner_token, (name)})
/* Aborts unless the calling thread made the state 'c'. */
#define CFUT__OWNER_CHECK(c)                                                   \
    ((c)->dbg_owner.thread == &cfut__owner_token                               \
         ? (void)0                                                             \
         : cfut__owner_fail(&(c)->dbg_owner))
#else
/* (a declaration that declares nothing: a struct may hold one) */
#define CFUT__OWNER_FIELD _Static_assert(1, "no owner in release builds")
#define CFUT__OWNER_INIT(c, name) ((void)0)
#define CFUT__OWNER_CHECK(c) ((void)0)
#endif

#endif /* CFUT_OWNER_INT_H */
