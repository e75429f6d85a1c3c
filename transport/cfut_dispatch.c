/*
 * cfut_dispatch.c: the dispatch table (cfut_dispatch.h): named operations
 * in a small array searched by name, and the server handler that splits a
 * request's payload into the name and the arguments.
 */
#include "cfut_dispatch.h"

#include <string.h>

#include "cfut_alloc.h"
#include "cfut_errors.h"

struct op {
    char *name;
    cfut_handler_new_fn *fn;
    void *ctx;
};

struct cfut_dispatch {
    struct op *ops;
    size_t n, cap;
};

int
cfut_dispatch_new(struct cfut_dispatch **out)
{
    if (out == NULL)
        return CFUT_EINVAL;
    struct cfut_dispatch *d = cfut_alloc(sizeof *d);
    if (d == NULL)
        return CFUT_ENOMEM;
    memset(d, 0, sizeof *d);
    *out = d;
    return 0;
}

static struct op *
find_op(const struct cfut_dispatch *d, const char *name, size_t len)
{
    /* A table holds a handful of names: a scan beats hashing here. */
    for (size_t i = 0; i < d->n; i++)
        if (strlen(d->ops[i].name) == len &&
            memcmp(d->ops[i].name, name, len) == 0)
            return &d->ops[i];
    return NULL;
}

int
cfut_dispatch_add(struct cfut_dispatch *d, const char *name,
                  cfut_handler_new_fn *fn, void *ctx)
{
    if (d == NULL || name == NULL || name[0] == '\0' || fn == NULL)
        return CFUT_EINVAL;
    struct op *o = find_op(d, name, strlen(name));
    if (o != NULL) {
        o->fn = fn;
        o->ctx = ctx;
        return 0;
    }
    size_t len = strlen(name);
    char *copy = cfut_alloc(len + 1);
    if (copy == NULL)
        return CFUT_ENOMEM;
    memcpy(copy, name, len + 1);
    if (d->n == d->cap) {
        size_t cap = d->cap != 0 ? d->cap * 2 : 8;
        struct op *ops = cfut_alloc(cap * sizeof *ops);
        if (ops == NULL) {
            cfut_free(copy);
            return CFUT_ENOMEM;
        }
        if (d->n != 0)
            memcpy(ops, d->ops, d->n * sizeof *ops);
        cfut_free(d->ops);
        d->ops = ops;
        d->cap = cap;
    }
    d->ops[d->n++] = (struct op){copy, fn, ctx};
    return 0;
}

void
cfut_dispatch_free(struct cfut_dispatch *d)
{
    if (d == NULL)
        return;
    for (size_t i = 0; i < d->n; i++)
        cfut_free(d->ops[i].name);
    cfut_free(d->ops);
    cfut_free(d);
}

int
cfut_dispatch_handler(void *ctx, const unsigned char *payload, size_t len,
                      struct cfut_future **out)
{
    const struct cfut_dispatch *d = ctx;
    const unsigned char *nul = len != 0 ? memchr(payload, 0, len) : NULL;
    if (nul == NULL)
        return CFUT_EINVAL;
    size_t name_len = (size_t)(nul - payload);
    struct op *o = find_op(d, (const char *)payload, name_len);
    if (o == NULL)
        return CFUT_ENOTFOUND;
    return o->fn(o->ctx, nul + 1, len - name_len - 1, out);
}
