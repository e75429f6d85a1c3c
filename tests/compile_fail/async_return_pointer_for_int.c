/*
 * CFUT_RETURN with a pointer where the output type is an integer.
 * expect: makes integer from pointer|incompatible pointer to integer
 */
#include <cfut.h>

CFUT_ASYNC_FN(count, int, ())
{
    CFUT_BEGIN();
    CFUT_RETURN("three");
    CFUT_END();
}
