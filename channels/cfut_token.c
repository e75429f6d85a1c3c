/*
 * cfut_token.c: the local cancellation token (Rust's Rc<RefCell>): the core
 * of cfut_token_core_int.h as it is, with no lock and no atomics, waking at
 * once. One allocation per token state (a root or a child); clones share
 * it. The thread-safe kind is in cfut_token_sync.c; this file knows no
 * threads.
 */
#include "cfut_token.h"

#include "cfut_token_core_int.h"

struct cfut__token {
    struct cfut__token_core core; /* first: a core is its state */
};

/* Drops one reference to 's' and frees the states it was the last one of. */
static void
release(struct cfut__token *s)
{
    struct cfut_list dead;
    cfut_list_init(&dead);
    cfut__token_release(&s->core, &dead);
    struct cfut__token_core *c;
    while ((c = cfut__token_next_dead(&dead)) != NULL)
        cfut_free(c);
}

/* A new state under 'parent' (NULL: a root) in '*tok'. */
static int
make(struct cfut__token *parent, struct cfut_token *tok)
{
    if (tok == NULL)
        return CFUT_EINVAL;
    struct cfut__token *s = cfut_alloc(sizeof *s);
    if (s == NULL)
        return CFUT_ENOMEM;
    bool ok =
        cfut__token_core_init(&s->core, parent != NULL ? &parent->core : NULL);
    CFUT_ASSERT(ok, "token: too many references");
    tok->shared = s;
    return CFUT_OK;
}

int
cfut_token_new(struct cfut_token *tok)
{
    return make(NULL, tok);
}

int
cfut_token_child(const struct cfut_token *parent, struct cfut_token *child)
{
    CFUT_ASSERT(parent->shared != NULL, "token: child of an empty token");
    return make(parent->shared, child);
}

struct cfut_token
cfut_token_clone(const struct cfut_token *tok)
{
    CFUT_ASSERT(tok->shared != NULL, "token: clone of an empty token");
    bool ok = cfut__token_retain(&tok->shared->core);
    CFUT_ASSERT(ok, "token: too many references");
    return *tok;
}

void
cfut_token_drop(struct cfut_token *tok)
{
    struct cfut__token *s = tok->shared;
    tok->shared = NULL;
    if (s != NULL)
        release(s);
}

void
cfut_token_cancel(const struct cfut_token *tok)
{
    CFUT_ASSERT(tok->shared != NULL, "token: cancel of an empty token");
    struct cfut_list batch;
    cfut_list_init(&batch);
    cfut__token_cancel(&tok->shared->core, &batch);
    cfut__waitq_wake_all_now(&batch);
}

bool
cfut_token_is_cancelled(const struct cfut_token *tok)
{
    CFUT_ASSERT(tok->shared != NULL, "token: is_cancelled on an empty token");
    return tok->shared->core.is_cancelled;
}

/* ---- the cancelled future ---- */

static enum cfut_poll
cancelled_poll(struct cfut_future *fut, struct cfut_context *cx, void *out)
{
    (void)out;
    struct cfut_token_cancelled *f =
        cfut_container_of(fut, struct cfut_token_cancelled, base);
    return cfut__token_poll(&f->shared->core, &f->waiter, cx);
}

static void
cancelled_drop(struct cfut_future *fut)
{
    struct cfut_token_cancelled *f =
        cfut_container_of(fut, struct cfut_token_cancelled, base);
    cfut__waiter_gone(&f->waiter, CFUT__WAKE_NOW);
    release(f->shared);
}

static const struct cfut_future_vtable cancelled_vtable = {
    cancelled_poll, cancelled_drop, 0, "token_cancelled", NULL};

void
cfut_token_cancelled_init(struct cfut_token_cancelled *f,
                          const struct cfut_token *tok)
{
    struct cfut_token ref = cfut_token_clone(tok);
    cfut_future_init(&f->base, &cancelled_vtable);
    f->shared = ref.shared;
    cfut__waiter_init(&f->waiter);
}
