/*
 * cfut_token_sync.c: the thread-safe cancellation token (Rust's
 * Arc<Mutex>): the core of cfut_token_core_int.h under one mutex per tree,
 * held in the root's state (every state keeps its root alive, through its
 * parents, so the mutex outlives the tree). Each call locks, runs the core,
 * unlocks, then wakes and frees what the core released.
 */
#include "cfut_token.h"

#include "cfut_sync_int.h"
#include "cfut_token_core_int.h"

struct cfut__token_sync {
    struct cfut__token_core core; /* first: a core is its state */
    pthread_mutex_t *lock;        /* the root's 'root_lock' */
    pthread_mutex_t root_lock[];  /* a root's state only */
};

static inline struct cfut__token_core *
lock(struct cfut__token_sync *s)
{
    pthread_mutex_lock(s->lock);
    return &s->core;
}

/*
 * Drops one reference to 's' (its tree's lock held), unlocks, wakes what
 * 'wl' holds, and frees the states it was the last one of (a root last,
 * with its mutex: nothing can reach the tree any more).
 */
static void
release_unlock(struct cfut__token_sync *s, struct cfut__wake_list *wl)
{
    pthread_mutex_t *m = s->lock;
    struct cfut_list dead;
    cfut_list_init(&dead);
    cfut__token_release(&s->core, &dead);
    cfut__sync_unlock_run(m, wl, NULL);
    struct cfut__token_core *c;
    while ((c = cfut__token_next_dead(&dead)) != NULL) {
        if (c->parent == NULL)
            pthread_mutex_destroy(m);
        cfut_free(c);
    }
}

/* A new state under 'parent' (NULL: a root, with the tree's mutex). */
static int
make(struct cfut__token_sync *parent, struct cfut_token_sync *tok)
{
    if (tok == NULL)
        return CFUT_EINVAL;
    size_t size = sizeof(struct cfut__token_sync) +
                  (parent == NULL ? sizeof(pthread_mutex_t) : 0);
    struct cfut__token_sync *s = cfut_alloc(size);
    if (s == NULL)
        return CFUT_ENOMEM;
    bool ok;
    if (parent == NULL) {
        s->lock = s->root_lock;
        pthread_mutex_init(s->lock, NULL);
        ok = cfut__token_core_init(&s->core, NULL);
    } else {
        s->lock = parent->lock;
        ok = cfut__token_core_init(&s->core, lock(parent));
        pthread_mutex_unlock(s->lock);
    }
    CFUT_ASSERT(ok, "token: too many references");
    tok->shared = s;
    return CFUT_OK;
}

int
cfut_token_sync_new(struct cfut_token_sync *tok)
{
    return make(NULL, tok);
}

int
cfut_token_sync_child(const struct cfut_token_sync *parent,
                      struct cfut_token_sync *child)
{
    CFUT_ASSERT(parent->shared != NULL, "token: child of an empty token");
    return make(parent->shared, child);
}

struct cfut_token_sync
cfut_token_sync_clone(const struct cfut_token_sync *tok)
{
    CFUT_ASSERT(tok->shared != NULL, "token: clone of an empty token");
    bool ok = cfut__token_retain(lock(tok->shared));
    pthread_mutex_unlock(tok->shared->lock);
    CFUT_ASSERT(ok, "token: too many references");
    return *tok;
}

void
cfut_token_sync_drop(struct cfut_token_sync *tok)
{
    struct cfut__token_sync *s = tok->shared;
    tok->shared = NULL;
    if (s != NULL) {
        lock(s);
        release_unlock(s, &CFUT__WAKE_LIST_DEFERRED);
    }
}

void
cfut_token_sync_cancel(const struct cfut_token_sync *tok)
{
    CFUT_ASSERT(tok->shared != NULL, "token: cancel of an empty token");
    struct cfut_list batch;
    cfut_list_init(&batch);
    cfut__token_cancel(lock(tok->shared), &batch);
    cfut__sync_unlock_run(tok->shared->lock, &CFUT__WAKE_LIST_DEFERRED, &batch);
}

bool
cfut_token_sync_is_cancelled(const struct cfut_token_sync *tok)
{
    CFUT_ASSERT(tok->shared != NULL, "token: is_cancelled on an empty token");
    bool cancelled = lock(tok->shared)->is_cancelled;
    pthread_mutex_unlock(tok->shared->lock);
    return cancelled;
}

/* ---- the cancelled future ---- */

static enum cfut_poll
cancelled_poll(struct cfut_future *fut, struct cfut_context *cx, void *out)
{
    (void)out;
    struct cfut_token_sync_cancelled *f =
        cfut_container_of(fut, struct cfut_token_sync_cancelled, base);
    enum cfut_poll r = cfut__token_poll(lock(f->shared), &f->waiter, cx);
    pthread_mutex_unlock(f->shared->lock);
    return r;
}

static void
cancelled_drop(struct cfut_future *fut)
{
    struct cfut_token_sync_cancelled *f =
        cfut_container_of(fut, struct cfut_token_sync_cancelled, base);
    struct cfut__wake_list wl = CFUT__WAKE_LIST_DEFERRED;
    lock(f->shared);
    cfut__waiter_gone(&f->waiter, &wl);
    release_unlock(f->shared, &wl);
}

static const struct cfut_future_vtable cancelled_vtable = {
    cancelled_poll, cancelled_drop, 0, "token_sync_cancelled", NULL};

void
cfut_token_sync_cancelled_init(struct cfut_token_sync_cancelled *f,
                               const struct cfut_token_sync *tok)
{
    struct cfut_token_sync ref = cfut_token_sync_clone(tok);
    cfut_future_init(&f->base, &cancelled_vtable);
    f->shared = ref.shared;
    cfut__waiter_init(&f->waiter);
}
