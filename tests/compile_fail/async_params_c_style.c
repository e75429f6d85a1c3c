/*
 * Parameters written as in a C prototype instead of (type, name) pairs.
 * expect: write the parameters as \(\(type, name\), \.\.\.\)
 */
#include <cfut.h>

CFUT_ASYNC_FN(count, int, (int n, int step))
{
    CFUT_BEGIN();
    CFUT_RETURN(0);
    CFUT_END();
}
