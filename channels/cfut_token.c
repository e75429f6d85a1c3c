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
    pthread_mutex_t *lock;       /* the root's 'root_lock' */
    pthread_mutex_t root_lock[]; /* a root's state only */
};

/* The tree lock of a thread-safe state. */
static inline pthread_mutex_t *
lock_of(const struct cfut__token *c)
{
    return cfut_container_of(c, struct token_sync, core)->lock;
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
release(pthread_mutex_t *m, struct cfut__token *c)
{
    struct cfut__call k;
    cfut__call_begin(&k, m);
    release_end(&k, c);
}

/* Links a new state 'c' under 'parent' (NULL: a root) with one reference. */
CFUT__KIND_INLINE void
link_state(pthread_mutex_t *m, struct cfut__token *c,
           struct cfut__token *parent)
{
    cfut__kind_lock(m);
    bool ok = cfut__token_core_init(c, parent);
    cfut__kind_unlock(m);
    CFUT_ASSERT(ok, "token: too many references");
}

CFUT__KIND_INLINE struct cfut__token *
retain(pthread_mutex_t *m, struct cfut__token *c)
{
    CFUT_ASSERT(c != NULL, "token: clone of an empty token");
    cfut__kind_lock(m);
    bool ok = cfut__token_retain(c);
    cfut__kind_unlock(m);
    CFUT_ASSERT(ok, "token: too many references");
    return c;
}

CFUT__KIND_INLINE void
cancel(pthread_mutex_t *m, struct cfut__token *c)
{
    CFUT_ASSERT(c != NULL, "token: cancel of an empty token");
    struct cfut__call k;
    cfut__call_begin(&k, m);
    cfut__token_cancel(c, &k.batch);
    cfut__call_end(&k);
}

CFUT__KIND_INLINE bool
is_cancelled(pthread_mutex_t *m, const struct cfut__token *c)
{
    CFUT_ASSERT(c != NULL, "token: is_cancelled on an empty token");
    cfut__kind_lock(m);
    bool cancelled = c->is_cancelled;
    cfut__kind_unlock(m);
    return cancelled;
}

/* ---- the cancelled future, of either kind ---- */

/* cancelled_poll() for the lock 'm' of the future's kind. */
CFUT__KIND_INLINE enum cfut_poll
cancelled_poll_in(pthread_mutex_t *m, struct cfut_token_cancelled *f,
                  struct cfut_context *cx, void *out)
{
    (void)out;
    cfut__kind_lock(m);
    enum cfut_poll r = cfut__token_poll(f->shared, &f->waiter, cx);
    cfut__kind_unlock(m);
    return r;
}

static enum cfut_poll
cancelled_poll(struct cfut_future *fut, struct cfut_context *cx, void *out)
{
    struct cfut_token_cancelled *f =
        cfut_container_of(fut, struct cfut_token_cancelled, base);
    return CFUT__KIND_DISPATCH(cancelled_poll_in, f->lock, f, cx, out);
}

/* The future goes: off the wait list, its waker released, then its
 * reference. */
/* cancelled_drop() for the lock 'm' of the future's kind. */
CFUT__KIND_INLINE void
cancelled_drop_in(pthread_mutex_t *m, struct cfut_token_cancelled *f)
{
    struct cfut__call k;
    cfut__call_begin(&k, m);
    cfut__waiter_gone(&f->waiter, k.wl);
    release_end(&k, f->shared);
}

static void
cancelled_drop(struct cfut_future *fut)
{
    struct cfut_token_cancelled *f =
        cfut_container_of(fut, struct cfut_token_cancelled, base);
    CFUT__KIND_DISPATCH(cancelled_drop_in, f->lock, f);
}

static const struct cfut_future_vtable cancelled_vtable = {
    cancelled_poll, cancelled_drop, 0, "token_cancelled", NULL};

/* Initialises 'f' on 'c' (a reference of its own), of the kind of 'm'. */
static void
cancelled_init(struct cfut_token_cancelled *f, pthread_mutex_t *m,
               struct cfut__token *c)
{
    cfut_future_init(&f->base, &cancelled_vtable);
    f->shared = c;
    f->lock = m;
    cfut__waiter_init(&f->waiter);
}

/* ---- the local kind ---- */

/* A new local state under 'parent' (NULL: a root) in '*tok'. */
static int
local_make(struct cfut__token *parent, struct cfut_token *tok)
{
    if (tok == NULL)
        return CFUT_EINVAL;
    struct cfut__token *c = cfut_alloc(sizeof *c);
    if (c == NULL)
        return CFUT_ENOMEM;
    link_state(NULL, c, parent);
    tok->shared = c;
    return CFUT_OK;
}

int
cfut_token_new(struct cfut_token *tok)
{
    return local_make(NULL, tok);
}

int
cfut_token_child(const struct cfut_token *parent, struct cfut_token *child)
{
    CFUT_ASSERT(parent->shared != NULL, "token: child of an empty token");
    return local_make(parent->shared, child);
}

struct cfut_token
cfut_token_clone(const struct cfut_token *tok)
{
    return (struct cfut_token){retain(NULL, tok->shared)};
}

void
cfut_token_drop(struct cfut_token *tok)
{
    if (tok->shared != NULL)
        release(NULL, tok->shared);
    tok->shared = NULL;
}

void
cfut_token_cancel(const struct cfut_token *tok)
{
    cancel(NULL, tok->shared);
}

bool
cfut_token_is_cancelled(const struct cfut_token *tok)
{
    return is_cancelled(NULL, tok->shared);
}

void
cfut_token_cancelled_init(struct cfut_token_cancelled *f,
                          const struct cfut_token *tok)
{
    cancelled_init(f, NULL, retain(NULL, tok->shared));
}

/* ---- the thread-safe kind ---- */

/* A new thread-safe state under 'parent' (NULL: a root, holding the
 * tree's mutex) in '*tok'. */
static int
sync_make(struct cfut__token *parent, struct cfut_token_sync *tok)
{
    if (tok == NULL)
        return CFUT_EINVAL;
    size_t size = sizeof(struct token_sync) +
                  (parent == NULL ? sizeof(pthread_mutex_t) : 0);
    struct token_sync *s = cfut_alloc(size);
    if (s == NULL)
        return CFUT_ENOMEM;
    if (parent != NULL) {
        s->lock = lock_of(parent);
    } else {
        s->lock = s->root_lock;
        pthread_mutex_init(s->lock, NULL);
    }
    link_state(s->lock, &s->core, parent);
    tok->shared = &s->core;
    return CFUT_OK;
}

int
cfut_token_sync_new(struct cfut_token_sync *tok)
{
    return sync_make(NULL, tok);
}

int
cfut_token_sync_child(const struct cfut_token_sync *parent,
                      struct cfut_token_sync *child)
{
    struct cfut__token *p = parent->shared;
    CFUT_ASSERT(p != NULL, "token: child of an empty token");
    return sync_make(p, child);
}

struct cfut_token_sync
cfut_token_sync_clone(const struct cfut_token_sync *tok)
{
    struct cfut_token_sync twin = *tok;
    CFUT_ASSERT(twin.shared != NULL, "token: clone of an empty token");
    retain(lock_of(twin.shared), twin.shared);
    return twin;
}

void
cfut_token_sync_drop(struct cfut_token_sync *tok)
{
    struct cfut__token *c = tok->shared;
    tok->shared = NULL;
    if (c != NULL)
        release(lock_of(c), c);
}

void
cfut_token_sync_cancel(const struct cfut_token_sync *tok)
{
    CFUT_ASSERT(tok->shared != NULL, "token: cancel of an empty token");
    cancel(lock_of(tok->shared), tok->shared);
}

bool
cfut_token_sync_is_cancelled(const struct cfut_token_sync *tok)
{
    const struct cfut__token *c = tok->shared;
    CFUT_ASSERT(c != NULL, "token: is_cancelled on an empty token");
    return is_cancelled(lock_of(c), c);
}

void
cfut_token_sync_cancelled_init(struct cfut_token_cancelled *f,
                               const struct cfut_token_sync *tok)
{
    struct cfut_token_sync ref = cfut_token_sync_clone(tok);
    cancelled_init(f, lock_of(ref.shared), ref.shared);
}
