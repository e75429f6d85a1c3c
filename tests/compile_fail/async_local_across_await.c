/*
 * A local read after an await: GCC reports the await jumping over its
 * initialisation (switch variant), clang a use that may be uninitialised.
 * The body turns these warnings on, as warnings (-Werror cannot make a
 * warning that a pragma enabled an error).
 * warns: jumps over variable initialization|may be uninitialized
 * variants: switch
 */
#include <cfut.h>

CFUT_ASYNC_FN(twice, int, ((int, n)), struct cfut_yield y;)
{
    CFUT_BEGIN();
    int doubled = self->n * 2;
    cfut_yield_now_init(&self->y);
    CFUT_AWAIT(&self->y);
    CFUT_RETURN(doubled);
    CFUT_END();
}
