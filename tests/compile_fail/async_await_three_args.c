/*
 * CFUT_AWAIT with three arguments: neither the short nor the long form.
 * expect: CFUT_AWAIT takes \(fut\) or \(fut, &dst\)
 */
#include <cfut.h>

CFUT_ASYNC_FN(nap, int, (), struct cfut_yield y; int v;)
{
    CFUT_BEGIN();
    cfut_yield_now_init(&self->y);
    CFUT_AWAIT(&self->y, &self->v, 1);
    CFUT_RETURN(0);
    CFUT_END();
}
