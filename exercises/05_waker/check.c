/*
 * check.c: the checks of exercise 05 (a counting waker and a tiny
 * block_on). It links your waker.c; run it with ./run exercise 5. It
 * drives your waker through cfut's own calls (cfut_waker_clone(), ...)
 * and through library futures that keep and wake it.
 */
#include "exkit.h"
#include "waker.h"

/* Makes a counting waker and checks its starting state. */
static struct cfut_waker
make(struct counting_waker *cw)
{
    struct cfut_waker w = counting_waker_init(cw);
    EXKIT_REQUIRE(w.vtable != NULL,
                  "counting_waker_init() returned a waker whose vtable is "
                  "NULL: that is the empty waker, which wakes nothing");
    EXKIT_REQUIRE(w.data == cw,
                  "counting_waker_init() returned a waker whose data is not "
                  "the struct counting_waker it was given");
    EXKIT_REQUIRE(cw->refs == 1,
                  "a fresh counting waker has %d references; the waker "
                  "counting_waker_init() returns is the first one: 1",
                  cw->refs);
    return w;
}

/* Makes a clone and checks it. */
static struct cfut_waker
clone_of(const struct cfut_waker *w, struct counting_waker *cw)
{
    int refs = cw->refs;
    struct cfut_waker c = cfut_waker_clone(w);
    EXKIT_REQUIRE(c.vtable != NULL,
                  "clone returned an empty waker (vtable NULL): a clone "
                  "must wake the same thing as the original");
    EXKIT_REQUIRE(cfut_waker_will_wake(&c, w),
                  "clone returned a waker that wakes something else (another "
                  "vtable or data): a clone is a new reference to the same "
                  "thing");
    EXKIT_REQUIRE(cw->refs == refs + 1,
                  "after a clone, refs went from %d to %d instead of %d: a "
                  "clone is one more reference",
                  refs, cw->refs, refs + 1);
    return c;
}

/* The caller drops its own reference: every count must be back at 0. */
static void
release(struct cfut_waker *w, struct counting_waker *cw)
{
    cfut_waker_drop(w);
    EXKIT_REQUIRE(cw->refs == 0,
                  "your waker was cloned %d times, woken (consuming) %d "
                  "times and dropped %d times; after the last reference "
                  "went, refs is %d instead of 0",
                  cw->n_clones, cw->n_wakes, cw->n_drops, cw->refs);
}

/* ---------------------------------------------------------------------- */
/* The waker                                                               */
/* ---------------------------------------------------------------------- */

static void
check_clone(void)
{
    struct counting_waker cw;
    struct cfut_waker w = make(&cw);

    struct cfut_waker c = clone_of(&w, &cw);

    EXKIT_REQUIRE(cw.n_clones == 1, "one clone, but n_clones is %d",
                  cw.n_clones);
    EXKIT_REQUIRE(!cw.woken, "cloning the waker woke it");
    cfut_waker_drop(&c);
    release(&w, &cw);
}

static void
check_wake_consumes(void)
{
    struct counting_waker cw;
    struct cfut_waker w = make(&cw);
    struct cfut_waker c = clone_of(&w, &cw);

    cfut_waker_wake(&c);

    EXKIT_REQUIRE(cw.woken, "wake did not set 'woken'");
    EXKIT_REQUIRE(cw.n_wakes == 1, "one wake, but n_wakes is %d", cw.n_wakes);
    EXKIT_REQUIRE(cw.refs == 1,
                  "after clone and wake, refs is %d instead of 1: wake "
                  "consumes the reference it is called on",
                  cw.refs);
    release(&w, &cw);
}

static void
check_wake_by_ref_keeps(void)
{
    struct counting_waker cw;
    struct cfut_waker w = make(&cw);
    struct cfut_waker c = clone_of(&w, &cw);

    cfut_waker_wake_by_ref(&c);

    EXKIT_REQUIRE(cw.woken, "wake_by_ref did not set 'woken'");
    EXKIT_REQUIRE(cw.n_wakes_by_ref == 1,
                  "one wake_by_ref, but n_wakes_by_ref is %d",
                  cw.n_wakes_by_ref);
    EXKIT_REQUIRE(cw.refs == 2,
                  "after clone and wake_by_ref, refs is %d instead of 2: "
                  "wake_by_ref leaves the reference with its caller",
                  cw.refs);
    cfut_waker_drop(&c);
    release(&w, &cw);
}

static void
check_drop_releases(void)
{
    struct counting_waker cw;
    struct cfut_waker w = make(&cw);
    struct cfut_waker c = clone_of(&w, &cw);

    cfut_waker_drop(&c);

    EXKIT_REQUIRE(cw.refs == 1,
                  "after clone and drop, refs is %d instead of 1: drop "
                  "releases one reference",
                  cw.refs);
    EXKIT_REQUIRE(cw.n_drops == 1, "one drop, but n_drops is %d", cw.n_drops);
    EXKIT_REQUIRE(!cw.woken, "drop woke the waker: drop releases without "
                             "waking");
    release(&w, &cw);
}

/* Library futures keep a clone and wake it: the counts add up. */
static void
check_library_futures(void)
{
    struct counting_waker cw;
    struct cfut_waker w = make(&cw);
    struct cfut_context cx;
    cfut_context_init(&cx, &w);
    struct cfut_oneshot_sender tx;
    struct cfut_oneshot_receiver rx;
    EXKIT_REQUIRE(cfut_oneshot_new(sizeof(int), NULL, &tx, &rx) == CFUT_OK,
                  "(the check could not make a oneshot channel)");
    CFUT_ONESHOT_OUTPUT(int) got;

    enum cfut_poll p1 = cfut_future_poll(&rx.base, &cx, &got);
    int refs_waiting = cw.refs;
    int value = 42;
    cfut_oneshot_send(&tx, &value);
    int refs_sent = cw.refs;
    bool woken = cw.woken;
    enum cfut_poll p2 = cfut_future_poll(&rx.base, &cx, &got);
    cfut_future_drop(&rx.base);

    EXKIT_REQUIRE(p1 == CFUT_PENDING && refs_waiting == 2,
                  "a waiting oneshot receiver keeps a clone of your waker: "
                  "refs should be 2 while it waits, and it is %d",
                  refs_waiting);
    EXKIT_REQUIRE(woken && cw.n_wakes == 1 && refs_sent == 1,
                  "the send should wake your waker once, consuming the "
                  "receiver's clone (woken: %s, wakes: %d, refs: %d instead "
                  "of yes, 1, 1)",
                  woken ? "yes" : "no", cw.n_wakes, refs_sent);
    EXKIT_REQUIRE(p2 == CFUT_READY && got.value == 42,
                  "(the receiver did not get the value)");
    release(&w, &cw);
}

/* ---------------------------------------------------------------------- */
/* The tiny block_on                                                       */
/* ---------------------------------------------------------------------- */

/* An event source for block_on's wait: it fires once, waking a waker. */
struct event {
    int n_waits;           /* wait() calls */
    bool fired;            /* the event happened */
    struct cfut_waker who; /* the waker a waiting future left */
};

static bool
event_wait(void *ctx)
{
    struct event *e = ctx;
    e->n_waits++;
    EXKIT_REQUIRE(e->n_waits < 100,
                  "tiny_block_on() called wait() 100 times: does it wait "
                  "again after the waker was woken instead of polling?");
    if (e->fired || e->who.vtable == NULL)
        return false; /* nothing can happen any more */
    e->fired = true;
    cfut_waker_wake(&e->who);
    return true;
}

/* A future that waits for the event: PENDING (keeping the waker) until it
 * fired; it fails the check if it is polled without a wake. */
struct waits_for_event {
    struct cfut_future base;
    struct event *e;
    int n_polls;
};

static enum cfut_poll
wfe_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct waits_for_event *s =
        cfut_container_of(f, struct waits_for_event, base);
    EXKIT_REQUIRE(s->n_polls == 0 || s->e->fired,
                  "tiny_block_on() polled the future again although nobody "
                  "had woken it: after PENDING, poll only once woken");
    s->n_polls++;
    if (s->e->fired) {
        *(int *)out = 7;
        return CFUT_READY;
    }
    cfut_waker_register(&s->e->who, cx->waker);
    return CFUT_PENDING;
}

static void
wfe_drop(struct cfut_future *f)
{
    struct waits_for_event *s =
        cfut_container_of(f, struct waits_for_event, base);
    cfut_waker_drop(&s->e->who);
}

static const struct cfut_future_vtable wfe_vtable = {
    wfe_poll, wfe_drop, sizeof(int), "waits_for_event", NULL};

/* A future that is PENDING forever and arranges no wake. */
static enum cfut_poll
stuck_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    (void)f;
    (void)cx;
    (void)out;
    return CFUT_PENDING;
}

static const struct cfut_future_vtable stuck_vtable = {stuck_poll, NULL, 0,
                                                       "stuck", NULL};

static void
check_block_on_ready(void)
{
    struct counting_waker cw;
    struct cfut_waker w = make(&cw);
    struct event e = {0, false, CFUT_WAKER_EMPTY};
    struct cfut_ready r;
    int value = 5, out = 0;
    cfut_ready_init(&r, &value, sizeof value);

    int n = tiny_block_on(&r.base, &out, &w, &cw, event_wait, &e);
    cfut_future_drop(&r.base);

    EXKIT_REQUIRE(n == 1 && out == 5,
                  "tiny_block_on() on a ready future returned %d with output "
                  "%d instead of 1 poll and 5",
                  n, out);
    EXKIT_REQUIRE(e.n_waits == 0,
                  "tiny_block_on() called wait() for a future that was ready "
                  "at once");
    release(&w, &cw);
}

static void
check_block_on_yield(void)
{
    struct counting_waker cw;
    struct cfut_waker w = make(&cw);
    struct event e = {0, false, CFUT_WAKER_EMPTY};
    struct cfut_yield y;
    cfut_yield_now_init(&y);

    int n = tiny_block_on(&y.base, NULL, &w, &cw, event_wait, &e);
    cfut_future_drop(&y.base);

    EXKIT_REQUIRE(n == 2,
                  "tiny_block_on() on cfut_yield_now (PENDING once, waking "
                  "its waker during that poll) returned %d instead of 2 polls",
                  n);
    EXKIT_REQUIRE(e.n_waits == 0,
                  "tiny_block_on() called wait() although the future had "
                  "woken the waker during its poll: clear 'woken' before "
                  "the poll, and poll again at once if it is set after");
    release(&w, &cw);
}

static void
check_block_on_waits(void)
{
    struct counting_waker cw;
    struct cfut_waker w = make(&cw);
    struct event e = {0, false, CFUT_WAKER_EMPTY};
    struct waits_for_event f;
    cfut_future_init(&f.base, &wfe_vtable);
    f.e = &e;
    f.n_polls = 0;
    int out = 0;

    int n = tiny_block_on(&f.base, &out, &w, &cw, event_wait, &e);
    cfut_future_drop(&f.base);

    EXKIT_REQUIRE(n == 2 && f.n_polls == 2 && out == 7,
                  "a future that waits for one event should take 2 polls and "
                  "give 7; tiny_block_on() returned %d after %d polls with "
                  "output %d",
                  n, f.n_polls, out);
    EXKIT_REQUIRE(e.n_waits == 1,
                  "tiny_block_on() called wait() %d times instead of once",
                  e.n_waits);
    release(&w, &cw);
}

static void
check_block_on_stuck(void)
{
    struct counting_waker cw;
    struct cfut_waker w = make(&cw);
    struct event e = {0, false, CFUT_WAKER_EMPTY};
    struct cfut_future f;
    cfut_future_init(&f, &stuck_vtable);

    int n = tiny_block_on(&f, NULL, &w, &cw, event_wait, &e);
    cfut_future_drop(&f);

    EXKIT_REQUIRE(n == CFUT_EDEADLK,
                  "tiny_block_on() returned %d for a future that is PENDING "
                  "and can never be woken (wait() returned false): it should "
                  "return CFUT_EDEADLK (%d)",
                  n, CFUT_EDEADLK);
    EXKIT_REQUIRE(e.n_waits == 1,
                  "tiny_block_on() called wait() %d times instead of once",
                  e.n_waits);
    release(&w, &cw);
}

static const struct exkit_check checks[] = {
    {"clone", "clone adds a reference to the same waker", check_clone},
    {"wake-consumes", "wake sets 'woken' and consumes its reference",
     check_wake_consumes},
    {"wake-by-ref-keeps", "wake_by_ref sets 'woken' and keeps the reference",
     check_wake_by_ref_keeps},
    {"drop-releases", "drop releases a reference without waking",
     check_drop_releases},
    {"library-futures",
     "a oneshot receiver keeps a clone and its sender wakes it once",
     check_library_futures},
    {"block-on-ready", "tiny_block_on(): a ready future takes 1 poll",
     check_block_on_ready},
    {"block-on-yield",
     "tiny_block_on(): a wake during the poll leads to a poll, no wait",
     check_block_on_yield},
    {"block-on-waits", "tiny_block_on(): waits, then polls once after the wake",
     check_block_on_waits},
    {"block-on-stuck",
     "tiny_block_on(): CFUT_EDEADLK when no wake can ever come",
     check_block_on_stuck},
};

int
main(int argc, char **argv)
{
    return exkit_main(argc, argv, "05_waker",
                      "a waker that counts its clones and wakes, and a tiny "
                      "block_on",
                      checks, EXKIT_N(checks));
}
