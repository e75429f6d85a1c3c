/*
 * cfut_token.c: the cancellation token, both kinds. Its calls are written
 * once, around the core of cfut_token_core_int.h, for a lock 'm' (see
 * cfut_kind_int.h): NULL in the local kind (Rust's Rc<RefCell>: no lock,
 * no atomics, wakes at once), the tree's mutex in the thread-safe kind
 * (Arc<Mutex>): one mutex per tree, in the root's state, which every state
 * keeps alive through its parents. One allocation per state; clones share
 * it. Each kind's public functions bind the calls.
 */
#include "cfut_token.h"

#include "cfut_kind_int.h"
#include "cfut_token_core_int.h"

/* The thread-safe kind's state: the core (where the handles point), the
 * tree's lock, and in a root the mutex itself. */
struct token_sync {
    struct cfut__token core;
    struct cfut__lock *lock;       /* the root's 'root_lock' */
    struct cfut__lock root_lock[]; /* a root's state only */
};

/* The tree lock of a thread-safe state (NULL for NULL: an empty handle). */
static inline struct cfut__lock *
lock_of(const struct cfut__token *c)
{
    return c != NULL ? cfut_container_of(c, struct token_sync, core)->lock
                     : NULL;
}

/* ---- the calls, for either kind ---- */

/*
 * Ends the call 'k', whose core call dropped a reference to 'c', and
 * frees the states that was the last one of, after unlocking (nothing
 * else can reach them; a root last, with the tree's mutex).
 */
CFUT__KIND_INLINE void
release_end(struct cfut__call *k, struct cfut__token *c)
{
    struct cfut_list dead;
    cfut_list_init(&dead);
    cfut__token_release(c, &dead);
    cfut__call_end(k);
    while ((c = cfut__token_next_dead(&dead)) != NULL)
        cfut__kind_free(c->parent == NULL ? k->m : NULL, c);
}

/* Drops a handle's reference to 'c'. */
CFUT__KIND_INLINE void
release(struct cfut__lock *m, struct cfut__token *c)
{
    struct cfut__call k;
    cfut__call_begin(&k, m);
    release_end(&k, c);
}

/* Links a new state 'c' under 'parent' (NULL: a root) with one reference. */
CFUT__KIND_INLINE void
link_state(struct cfut__lock *m, struct cfut__token *c,
           struct cfut__token *parent)
{
    bool ok;
    CFUT__KIND_LOCKED(m, c, ok = cfut__token_core_init(c, parent));
    CFUT_ASSERT(ok, "token: too many references");
}

CFUT__KIND_INLINE void
cancel(struct cfut__lock *m, struct cfut__token *c)
{
    CFUT__KIND_CALL(m, k, c, cfut__token_cancel(c, &k.batch));
}

/* ---- the cancelled future, of either kind ---- */

/* Polls 'f' (with its kind's lock held). */
static inline enum cfut_poll
cancelled_core(struct cfut_token_cancelled *f, struct cfut_context *cx,
               void *out)
{
    (void)out;
    return cfut__token_poll(f->shared, &f->waiter, cx);
}

/* The future goes: off the wait list, its waker released, then its
 * reference. */
CFUT__KIND_INLINE void
cancelled_gone(struct cfut__lock *m, struct cfut_token_cancelled *f)
{
    struct cfut__call k;
    cfut__call_begin(&k, m);
    cfut__waiter_gone(&f->waiter, k.wl);
    release_end(&k, f->shared);
}

CFUT__KIND_FUTURE(cancelled, struct cfut_token_cancelled, struct cfut__token,
                  cfut__kind_waiter_init, cancelled_core, cancelled_gone, 0,
                  "token_cancelled", NULL)

/* ---- the public functions, once for each kind ---- */

/*
 * A new state under 'parent' (NULL: a root) in '*out' (NULL: CFUT_EINVAL),
 * of the thread-safe kind ('is_sync': a root holds the tree's mutex) or
 * the local one.
 */
static int
make(bool is_sync, struct cfut__token *parent, struct cfut__token **out)
{
    if (out == NULL)
        return CFUT_EINVAL;
    if (!is_sync) {
        struct cfut__token *c = cfut_alloc(sizeof *c);
        if (c == NULL)
            return CFUT_ENOMEM;
        CFUT__OWNER_INIT(c, "cancellation token");
        link_state(NULL, c, parent);
        *out = c;
        return CFUT_OK;
    }
    size_t size = sizeof(struct token_sync) +
                  (parent == NULL ? sizeof(struct cfut__lock) : 0);
    struct token_sync *s = cfut_alloc(size);
    if (s == NULL)
        return CFUT_ENOMEM;
    if (parent != NULL) {
        s->lock = lock_of(parent);
    } else {
        s->lock = s->root_lock;
        cfut__lock_init(s->lock);
    }
    link_state(s->lock, &s->core, parent);
    *out = &s->core;
    return CFUT_OK;
}

/*
 * Defines the public functions of one kind: 'K' is its prefix (cfut_token
 * or cfut_token_sync), 'LOCK'(c) the lock of a state (CFUT__KIND_NO_LOCK
 * in the local kind), 'IS_SYNC' whether it has one.
 */
#define BIND_KIND(K, LOCK, IS_SYNC)                                            \
    int K##_new(struct K *tok)                                                 \
    {                                                                          \
        return make(IS_SYNC, NULL, tok != NULL ? &tok->shared : NULL);         \
    }                                                                          \
    int K##_child(const struct K *parent, struct K *child)                     \
    {                                                                          \
        CFUT_ASSERT(parent->shared != NULL, "token: child of an empty token"); \
        return make(IS_SYNC, parent->shared,                                   \
                    child != NULL ? &child->shared : NULL);                    \
    }                                                                          \
    CFUT__KIND_HANDLE(K, cfut__count_up, refs, "token: too many references",   \
                      release, LOCK)                                           \
    void K##_cancel(const struct K *tok)                                       \
    {                                                                          \
        cancel(LOCK(tok->shared), tok->shared);                                \
    }                                                                          \
    CFUT__KIND_FLAG(K##_is_cancelled, K, is_cancelled, LOCK)                   \
    void K##_cancelled_init(struct cfut_token_cancelled *f,                    \
                            const struct K *tok)                               \
    {                                                                          \
        CFUT__KIND_COUNT_UP(LOCK(tok->shared), tok->shared, cfut__count_up,    \
                            refs, "token: too many references");               \
        cancelled_start(f, LOCK(tok->shared), tok->shared);                    \
    }

BIND_KIND(cfut_token, CFUT__KIND_NO_LOCK, false)
BIND_KIND(cfut_token_sync, lock_of, true)
