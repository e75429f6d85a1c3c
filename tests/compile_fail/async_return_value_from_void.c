/*
 * CFUT_RETURN(value) in an async function whose output type is void.
 * expect: CFUT_RETURN\(value\) in an async function whose output type is void
 */
#include <cfut.h>

CFUT_ASYNC_FN(run, void, ())
{
    CFUT_BEGIN();
    CFUT_RETURN(1);
    CFUT_END();
}
