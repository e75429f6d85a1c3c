/*
 * check.c: the checks of exercise 04 (and_then as a state machine). It
 * provides the two steps of and_then.h as spies (each records its polls,
 * its drop and when they happened) and links your and_then.c; run it with
 * ./run exercise 4.
 */
#include "and_then.h"
#include "exkit.h"

#define UNTOUCHED (-12345)

/* ---------------------------------------------------------------------- */
/* The spies                                                               */
/* ---------------------------------------------------------------------- */

/* What the check knows about one step future. */
struct record {
    const char *kind; /* "lookup" or "fetch" */
    int n_pending;    /* PENDING answers before READY */
    int value;        /* its output */
    int n_polls;
    int n_drops;
    bool finished;     /* it answered READY */
    int made_at;       /* event number of its creation */
    int dropped_at;    /* event number of its drop */
    struct wake_cb cb; /* the callback of its latest poll */
};

static struct record records[8];
static int n_records;
static int n_events;            /* a clock of events, to order them */
static int fetch_n_pending;     /* how the next fetch behaves */
static struct wake_cb given_cb; /* the callback the check polls with */
static int n_given_wakes;

static int
new_record(const char *kind, int n_pending, int value)
{
    EXKIT_REQUIRE(n_records < 8, "more than 8 steps were made: does your "
                                 "and_then build the fetch on every poll?");
    records[n_records] = (struct record){
        kind, n_pending, value, 0, 0, false, ++n_events, 0, {NULL, NULL}};
    return n_records++;
}

static struct record *
record_of(int spy, const char *kind)
{
    EXKIT_REQUIRE(spy >= 0 && spy < n_records &&
                      records[spy].kind[0] == kind[0],
                  "a %s was used that the check never made: is the union "
                  "holding the other step at that moment?",
                  kind);
    return &records[spy];
}

/* Polls a spy: checks the rules, answers as configured. */
static enum poll
spy_poll(struct record *r, struct wake_cb wake, int *out)
{
    EXKIT_REQUIRE(r->n_drops == 0,
                  "your and_then polled the %s after dropping it", r->kind);
    EXKIT_REQUIRE(!r->finished,
                  "your and_then polled the %s again after it answered READY",
                  r->kind);
    EXKIT_REQUIRE(wake.fn == given_cb.fn && wake.data == given_cb.data,
                  "your and_then polled the %s with a callback other than "
                  "the one it was given: pass its own 'wake' down to the step",
                  r->kind);
    r->n_polls++;
    r->cb = wake;
    if (r->n_polls > r->n_pending) {
        r->finished = true;
        *out = r->value;
        return READY;
    }
    return PENDING;
}

static void
spy_drop(struct record *r)
{
    EXKIT_REQUIRE(r->n_drops == 0,
                  "your and_then dropped the %s twice: every future is "
                  "dropped exactly once",
                  r->kind);
    r->n_drops++;
    r->dropped_at = ++n_events;
}

enum poll
lookup_poll(struct lookup *l, struct wake_cb wake, int *user_id)
{
    return spy_poll(record_of(l->spy, "lookup"), wake, user_id);
}

void
lookup_drop(struct lookup *l)
{
    spy_drop(record_of(l->spy, "lookup"));
}

void
fetch_init(struct fetch *f, int user_id)
{
    f->spy = new_record("fetch", fetch_n_pending, user_id * 10);
    f->user_id = user_id;
}

enum poll
fetch_poll(struct fetch *f, struct wake_cb wake, int *score)
{
    return spy_poll(record_of(f->spy, "fetch"), wake, score);
}

void
fetch_drop(struct fetch *f)
{
    spy_drop(record_of(f->spy, "fetch"));
}

/* ---------------------------------------------------------------------- */
/* Helpers                                                                 */
/* ---------------------------------------------------------------------- */

static void
count_wake(void *data)
{
    (void)data;
    n_given_wakes++;
}

/*
 * Makes an and_then whose lookup is PENDING 'lookup_pending' times and
 * finds user 7, and whose fetch is PENDING 'fetch_pending' times.
 */
static void
setup(struct and_then *f, int lookup_pending, int fetch_pending)
{
    n_records = 0;
    n_events = 0;
    n_given_wakes = 0;
    fetch_n_pending = fetch_pending;
    given_cb = (struct wake_cb){count_wake, NULL};
    struct lookup first = {new_record("lookup", lookup_pending, 7)};
    and_then_init(f, first);
}

static struct record *
the_lookup(void)
{
    return &records[0];
}

/* The fetch, which must have been made once by now. */
static struct record *
the_fetch(void)
{
    EXKIT_REQUIRE(the_lookup()->finished,
                  "the lookup answers READY at its poll number %d, but your "
                  "and_then polled it only %d times",
                  the_lookup()->n_pending + 1, the_lookup()->n_polls);
    EXKIT_REQUIRE(n_records >= 2,
                  "the lookup answered READY with user id 7, but your "
                  "and_then never called fetch_init(): build the second "
                  "step from the first one's output");
    EXKIT_REQUIRE(n_records == 2,
                  "fetch_init() was called %d times instead of once",
                  n_records - 1);
    return &records[1];
}

static enum poll
poll_it(struct and_then *f, int *score)
{
    return and_then_poll(f, given_cb, score);
}

/* ---------------------------------------------------------------------- */
/* The checks                                                              */
/* ---------------------------------------------------------------------- */

/* The first poll polls the lookup, with the caller's callback. */
static void
check_polls_lookup(void)
{
    struct and_then f;
    setup(&f, 1, 1);
    int score = UNTOUCHED;

    enum poll p = poll_it(&f, &score);

    EXKIT_REQUIRE(the_lookup()->n_polls == 1,
                  "the and_then's first poll polled the lookup %d times "
                  "instead of once",
                  the_lookup()->n_polls);
    EXKIT_REQUIRE(p == PENDING && score == UNTOUCHED,
                  "the lookup is PENDING, so the and_then must answer "
                  "PENDING and leave the score alone");
    EXKIT_REQUIRE(n_records == 1,
                  "the and_then built the fetch before the lookup was done");
}

/* READY lookup: the fetch is built from its output and polled at once. */
static void
check_starts_fetch(void)
{
    struct and_then f;
    setup(&f, 1, 1);
    int score = UNTOUCHED;
    poll_it(&f, &score);
    EXKIT_REQUIRE(the_lookup()->n_polls == 1,
                  "the and_then's first poll did not poll the lookup");

    enum poll p = poll_it(&f, &score); /* the lookup is READY now */

    struct record *fetch = the_fetch();
    EXKIT_REQUIRE(fetch->value == 70,
                  "the fetch was made for user %d, not for the lookup's "
                  "output, 7",
                  fetch->value / 10);
    EXKIT_REQUIRE(fetch->n_polls == 1,
                  "the fetch was made but not polled in the same poll "
                  "(polled %d times): poll the new step at once, it may be "
                  "ready already",
                  fetch->n_polls);
    EXKIT_REQUIRE(p == PENDING, "the and_then answered READY while its fetch "
                                "was PENDING");
}

/* The lookup is dropped once, before the fetch takes its place. */
static void
check_drops_lookup_first(void)
{
    struct and_then f;
    setup(&f, 0, 1);
    int score = UNTOUCHED;

    poll_it(&f, &score);

    struct record *fetch = the_fetch();
    EXKIT_REQUIRE(the_lookup()->n_drops == 1,
                  "the lookup finished and the fetch was made, but the lookup "
                  "was never dropped: every future is dropped exactly once");
    EXKIT_REQUIRE(the_lookup()->dropped_at < fetch->made_at,
                  "the lookup was dropped after the fetch was made: the "
                  "fetch is built in the lookup's place in the union, so "
                  "drop the lookup first");
}

/* The fetch's output is the and_then's; the fetch is dropped at READY. */
static void
check_ready_with_score(void)
{
    struct and_then f;
    setup(&f, 1, 1);
    int score = UNTOUCHED;
    poll_it(&f, &score);
    poll_it(&f, &score);
    struct record *fetch = the_fetch();

    enum poll p = poll_it(&f, &score);

    EXKIT_REQUIRE(p == READY,
                  "the fetch answered READY but the and_then answered "
                  "PENDING");
    EXKIT_REQUIRE(score == 70, "the score is %d instead of 70", score);
    EXKIT_REQUIRE(fetch->n_drops == 1,
                  "the and_then answered READY but did not drop its finished "
                  "fetch: a finished and_then holds nothing");
    and_then_drop(&f);
    EXKIT_REQUIRE(fetch->n_drops == 1 && the_lookup()->n_drops == 1,
                  "after and_then_drop() the lookup was dropped %d times and "
                  "the fetch %d times: once each",
                  the_lookup()->n_drops, fetch->n_drops);
}

/* Both steps ready at once: READY at the first poll. */
static void
check_all_at_once(void)
{
    struct and_then f;
    setup(&f, 0, 0);
    int score = UNTOUCHED;

    enum poll p = poll_it(&f, &score);

    EXKIT_REQUIRE(p == READY && score == 70,
                  "both steps are ready at once, so the first poll should "
                  "answer READY with 70; it answered %s with %d",
                  p == READY ? "READY" : "PENDING", score);
    EXKIT_REQUIRE(the_fetch()->n_drops == 1 && the_lookup()->n_drops == 1,
                  "after READY the lookup was dropped %d times and the fetch "
                  "%d times: once each",
                  the_lookup()->n_drops, the_fetch()->n_drops);
}

/* Dropped while looking up: the lookup is dropped, no fetch is made. */
static void
check_drop_during_lookup(void)
{
    struct and_then f;
    setup(&f, 5, 0);
    int score = UNTOUCHED;
    poll_it(&f, &score);
    EXKIT_REQUIRE(the_lookup()->n_polls == 1,
                  "the and_then's first poll did not poll the lookup");

    and_then_drop(&f);

    EXKIT_REQUIRE(the_lookup()->n_drops == 1,
                  "the and_then was dropped while its lookup was PENDING, "
                  "but the lookup was dropped %d times instead of once: "
                  "dropping a pending future cancels it, and it must drop "
                  "what it holds",
                  the_lookup()->n_drops);
    EXKIT_REQUIRE(n_records == 1, "dropping the and_then made a fetch");
}

/* Dropped while fetching: the fetch is dropped, the lookup was already. */
static void
check_drop_during_fetch(void)
{
    struct and_then f;
    setup(&f, 0, 5);
    int score = UNTOUCHED;
    poll_it(&f, &score);
    struct record *fetch = the_fetch();

    and_then_drop(&f);

    EXKIT_REQUIRE(fetch->n_drops == 1,
                  "the and_then was dropped while its fetch was PENDING, but "
                  "the fetch was dropped %d times instead of once",
                  fetch->n_drops);
    EXKIT_REQUIRE(the_lookup()->n_drops == 1,
                  "the lookup was dropped %d times instead of once",
                  the_lookup()->n_drops);
}

static const struct exkit_check checks[] = {
    {"polls-lookup", "the first poll polls the lookup with the caller's wake",
     check_polls_lookup},
    {"starts-fetch",
     "a READY lookup starts the fetch from its output, polled at once",
     check_starts_fetch},
    {"drops-lookup-first",
     "the lookup is dropped before the fetch takes its place",
     check_drops_lookup_first},
    {"ready-with-score",
     "READY with the fetch's output; the finished fetch is dropped",
     check_ready_with_score},
    {"all-at-once", "two ready steps: READY at the first poll",
     check_all_at_once},
    {"drop-during-lookup", "dropping a pending and_then drops its lookup",
     check_drop_during_lookup},
    {"drop-during-fetch", "dropping it later drops its fetch",
     check_drop_during_fetch},
};

int
main(int argc, char **argv)
{
    return exkit_main(argc, argv, "04_and_then", "and_then as a state machine",
                      checks, EXKIT_N(checks));
}
