/*
 * CFUT_RETURN() without a value in an async function with an output.
 * expect: CFUT_RETURN\(\) without a value
 */
#include <cfut.h>

CFUT_ASYNC_FN(count, int, ())
{
    CFUT_BEGIN();
    CFUT_RETURN();
    CFUT_END();
}
