/*
 * and_then.c: exercise 04, the reference solution (spoilers: try the
 * exercise first). and_then as an explicit state machine over a union
 * that holds one step at a time.
 */
#include "and_then.h"

void
and_then_init(struct and_then *f, struct lookup first)
{
    f->state = AT_LOOKUP;
    f->step.lookup = first;
}

/*
 * The states: AT_LOOKUP waits for the lookup and moves on when it is
 * READY; AT_FETCH waits for the fetch; AT_DONE holds nothing.
 */
enum poll
and_then_poll(struct and_then *f, struct wake_cb wake, int *score)
{
    int user_id;
    switch (f->state) {
    case AT_LOOKUP:
        if (lookup_poll(&f->step.lookup, wake, &user_id) == PENDING)
            return PENDING; /* resume here at the next poll */
        /* The first step is done: drop it, then reuse its place. */
        lookup_drop(&f->step.lookup);
        fetch_init(&f->step.fetch, user_id);
        f->state = AT_FETCH;
        /* The new step may be ready already: poll it now. */
        /* fall through */
    case AT_FETCH:
        if (fetch_poll(&f->step.fetch, wake, score) == PENDING)
            return PENDING;
        fetch_drop(&f->step.fetch);
        f->state = AT_DONE;
        return READY;
    case AT_DONE:
    default:
        return PENDING; /* polled after READY: a bug in the caller */
    }
}

void
and_then_drop(struct and_then *f)
{
    switch (f->state) {
    case AT_LOOKUP:
        lookup_drop(&f->step.lookup);
        break;
    case AT_FETCH:
        fetch_drop(&f->step.fetch);
        break;
    case AT_DONE:
        break; /* the fetch went when it finished */
    }
    f->state = AT_DONE;
}
