/*
 * The control case: a correct async function compiles with the same
 * compiler and flags, so the failures below come from what they test.
 * expect: OK
 */
#include <cfut.h>

struct point {
    int x, y;
};

CFUT_ASYNC_FN(origin, struct point, ((int, dx)), struct cfut_yield y;)
{
    CFUT_BEGIN();
    cfut_yield_now_init(&self->y);
    CFUT_AWAIT(&self->y);
    CFUT_RETURN((struct point){self->dx, 0});
    CFUT_END();
}
