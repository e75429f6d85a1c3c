/*
 * CFUT_RETURN with a value of another struct type than the output type.
 * expect: incompatible type
 */
#include <cfut.h>

struct point {
    int x, y;
};
struct size {
    int w, h;
};

CFUT_ASYNC_FN(origin, struct point, ())
{
    CFUT_BEGIN();
    CFUT_RETURN((struct size){1, 2});
    CFUT_END();
}
