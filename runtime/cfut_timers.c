/*
 * cfut_timers.c: an executor's timers and clock (cfut_timers_int.h): the
 * binary min-heap of armed timers, the paused clock, and the turn that
 * waits in the driver until the next deadline at most and then wakes the
 * timers that are due. It runs no user code: firing a timer only wakes
 * its waker.
 */
#include "cfut_timers_int.h"

#include <string.h>

#include "cfut_trace_int.h"

#define HEAP_MIN_CAP 64u

/*
 * A heap slot keeps the timer's key beside the pointer, so that sifting
 * compares within the array and touches a timer only to update its index.
 */
struct cfut__timer_slot {
    uint64_t deadline;
    uint64_t seq;
    struct cfut__timer *t;
};

void
cfut__timers_init(struct cfut__timers *tm, struct cfut__driver *drv,
                  const void *trace_key)
{
    memset(tm, 0, sizeof *tm);
    tm->drv = drv;
    tm->trace_key = trace_key;
}

void
cfut__timers_deinit(struct cfut__timers *tm)
{
    cfut_free(tm->heap);
    tm->heap = NULL;
    tm->n = tm->cap = 0;
}

/* ---------------------------------------------------------------------- */
/* Clock                                                                   */
/* ---------------------------------------------------------------------- */

uint64_t
cfut__timers_now(struct cfut__timers *tm)
{
    uint64_t now = tm->paused ? tm->paused_now : tm->drv->vt->now(tm->drv);
    tm->now_cache = now;
    return now;
}

void
cfut__timers_pause(struct cfut__timers *tm)
{
    if (tm->paused)
        return;
    tm->paused_now = tm->drv->vt->now(tm->drv);
    tm->paused = true;
}

/* ---------------------------------------------------------------------- */
/* The heap                                                                */
/* ---------------------------------------------------------------------- */

static inline bool
slot_before(const struct cfut__timer_slot *a, const struct cfut__timer_slot *b)
{
    return a->deadline < b->deadline ||
           (a->deadline == b->deadline && a->seq < b->seq);
}

static inline void
heap_set(struct cfut__timers *tm, size_t i, struct cfut__timer_slot s)
{
    tm->heap[i] = s;
    s.t->index = i;
}

static void
sift_up(struct cfut__timers *tm, size_t i)
{
    struct cfut__timer_slot s = tm->heap[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!slot_before(&s, &tm->heap[parent]))
            break;
        heap_set(tm, i, tm->heap[parent]);
        i = parent;
    }
    heap_set(tm, i, s);
}

static void
sift_down(struct cfut__timers *tm, size_t i)
{
    struct cfut__timer_slot s = tm->heap[i];
    size_t n = tm->n;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && slot_before(&tm->heap[c + 1], &tm->heap[c]))
            c++;
        if (!slot_before(&tm->heap[c], &s))
            break;
        heap_set(tm, i, tm->heap[c]);
        i = c;
    }
    heap_set(tm, i, s);
}

/* Takes the timer at heap position 'i' out of the heap. */
static void
heap_remove_at(struct cfut__timers *tm, size_t i)
{
    struct cfut__timer *t = tm->heap[i].t;
    struct cfut__timer_slot last = tm->heap[--tm->n];
    t->index = SIZE_MAX;
    if (i == tm->n)
        return;
    heap_set(tm, i, last);
    sift_down(tm, i);
    if (last.t->index == i)
        sift_up(tm, i);
}

int
cfut__timers_insert(struct cfut__timers *tm, struct cfut__timer *t,
                    const struct cfut_waker *w)
{
    if (tm->n == tm->cap) {
        size_t cap = tm->cap == 0 ? HEAP_MIN_CAP : tm->cap * 2;
        struct cfut__timer_slot *h = cfut_alloc(cap * sizeof *h);
        if (h == NULL)
            return CFUT_ENOMEM;
        if (tm->n != 0)
            memcpy(h, tm->heap, tm->n * sizeof *h);
        cfut_free(tm->heap);
        tm->heap = h;
        tm->cap = cap;
    }
    t->seq = tm->next_seq++;
    t->waker = cfut_waker_clone(w);
    struct cfut__timer_slot sl = {t->deadline, t->seq, t};
    size_t i = tm->n++;
    tm->heap[i] = sl;
    sift_up(tm, i);
    return CFUT_OK;
}

void
cfut__timers_remove(struct cfut__timers *tm, struct cfut__timer *t)
{
    if (t->index != SIZE_MAX) {
        CFUT_DEBUG_ASSERT(t->index < tm->n && tm->heap[t->index].t == t,
                          "timer heap corrupt (a sleep was moved?)");
        heap_remove_at(tm, t->index);
    }
    cfut_waker_drop(&t->waker);
}

/* Wakes every timer due at 'now', earliest first; returns how many. */
static size_t
fire_due(struct cfut__timers *tm, uint64_t now)
{
    size_t n = 0;
    if (now > tm->now_cache)
        tm->now_cache = now;
    while (tm->n != 0 && tm->heap[0].deadline <= now) {
        struct cfut__timer *t = tm->heap[0].t;
        heap_remove_at(tm, 0);
        CFUT__TRACE(event(tm->trace_key, "timer fired", -1));
        struct cfut_waker w = t->waker;
        t->waker = CFUT_WAKER_EMPTY;
        cfut_waker_wake(&w);
        n++;
    }
    return n;
}

size_t
cfut__timers_fire_due(struct cfut__timers *tm, uint64_t now)
{
    return fire_due(tm, now);
}

uint64_t
cfut__timers_next_deadline(const struct cfut__timers *tm)
{
    return tm->n != 0 ? tm->heap[0].deadline : UINT64_MAX;
}

int
cfut__timers_advance(struct cfut__timers *tm, uint64_t ns)
{
    if (!tm->paused)
        return CFUT_ESTATE;
    tm->paused_now += ns;
    CFUT__TRACE(clock(tm->trace_key, ns));
    fire_due(tm, tm->paused_now);
    return CFUT_OK;
}

/* ---------------------------------------------------------------------- */
/* The turn                                                                */
/* ---------------------------------------------------------------------- */

/* The half of cfut__timers_turn() for when timers are armed. */
int
cfut__timers_turn_armed(struct cfut__timers *tm, int64_t timeout_ns)
{
    struct cfut__driver *d = tm->drv;
    uint64_t now = cfut__timers_now(tm);
    size_t fired = fire_due(tm, now);
    int64_t wait = timeout_ns;
    if (fired != 0 || tm->paused) {
        wait = 0; /* wakes to run, or a clock that does not move by itself */
    } else if (tm->n != 0) {
        uint64_t until = tm->heap[0].deadline - now;
        if (until > (uint64_t)INT64_MAX)
            until = (uint64_t)INT64_MAX;
        if (wait < 0 || (int64_t)until < wait)
            wait = (int64_t)until;
    }
    int n = d->vt->turn(d, wait);
    if (n < 0 || tm->n == 0 || (n == 0 && timeout_ns == 0))
        return n;
    if (tm->paused && timeout_ns != 0 && n == 0 && fired == 0 &&
        tm->heap[0].deadline > tm->paused_now) {
        CFUT__TRACE(
            clock(tm->trace_key, tm->heap[0].deadline - tm->paused_now));
        tm->paused_now = tm->heap[0].deadline; /* auto-advance */
    }
    fire_due(tm, cfut__timers_now(tm));
    return n;
}
