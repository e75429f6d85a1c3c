/*
 * testkit.h: what every cfut test shares: a counting allocator that can
 * fail its Nth allocation, counting wakers, test futures (pending N times
 * then ready, pin-checking, pending-once), Check fixtures whose teardown
 * fails on any leaked allocation or waker, and a main() helper.
 * It is test code: it favours clear failures over speed.
 */
#ifndef CFUT_TESTKIT_H
#define CFUT_TESTKIT_H

#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cfut.h>

/* ---- counting allocator ---- */

/* Installs the counting allocator and resets its counters. */
void testkit_alloc_install(void);
/* Restores malloc/free. */
void testkit_alloc_uninstall(void);
/* Number of blocks allocated and not yet freed. */
long testkit_alloc_live(void);
/* Number of allocations made since install. */
long testkit_alloc_count(void);
/* Makes the 'n'th allocation from now fail (1 = the next); 0 disables. */
void testkit_alloc_fail_at(long n);
/* Whether an injected failure has happened since the last fail_at(). */
bool testkit_alloc_failed(void);
/*
 * Leaves the calling test out of the allocation-failure sweep
 * (tests/sweep.py oom): for tests whose worker threads have no way to
 * report a failed call but abort(). testkit_alloc_fail_at() does it too.
 */
void testkit_alloc_sweep_off(void);

/* ---- counting waker ---- */

/* A waker that counts what is done to it; its references are counted. */
struct testkit_waker {
    atomic_long clones;
    atomic_long wakes;        /* wake (consuming) */
    atomic_long wakes_by_ref; /* wake_by_ref */
    atomic_long drops;
    atomic_long refs; /* live references handed out (clones - drops - wakes) */
    void (*on_wake)(void *arg); /* called on every wake, after counting */
    void *on_wake_arg;
};

/* Initialises 'tw' and returns a borrowed waker for it (refs stays 0). */
struct cfut_waker testkit_waker_init(struct testkit_waker *tw);
/*
 * As testkit_waker_init(), and every wake (of either kind) then calls
 * 'on_wake(arg)': a wakee that calls back into what woke it.
 */
struct cfut_waker testkit_waker_init_calling(struct testkit_waker *tw,
                                             void (*on_wake)(void *arg),
                                             void *arg);
/* Total wakes of either kind. */
long testkit_waker_n_wakes(struct testkit_waker *tw);
/* Live references to any counting waker (checked in teardown). */
long testkit_wakers_live(void);

/* A waker whose every operation aborts: for futures that must not wake. */
const struct cfut_waker *testkit_waker_aborting(void);

/* ---- test futures ---- */

/*
 * A future that returns PENDING 'n_pending' times (waking its waker at once
 * each time when 'self_wake', or keeping a clone for the test to wake via
 * testkit_countdown_wake()), then READY with 'value' (a uint64_t).
 */
struct testkit_countdown {
    struct cfut_future base;
    int n_pending;
    bool self_wake;
    uint64_t value;
    int n_polls;
    bool *dropped; /* set to true on drop, if not NULL */
    struct cfut_waker waker;
};
void testkit_countdown_init(struct testkit_countdown *c, int n_pending,
                            bool self_wake, uint64_t value);
/* Wakes the waker the countdown kept (consumes it). */
void testkit_countdown_wake(struct testkit_countdown *c);

/*
 * Wraps 'inner' (taken): checks on every poll that the wrapper has not
 * moved since its first poll (fails the test otherwise), and, when
 * 'pending_once', returns PENDING once (waking at once) before delegating.
 */
struct testkit_wrap {
    struct cfut_future base;
    struct cfut_future *inner;
    const void *first_addr;
    bool pending_once;
    bool did_pend;
};
void testkit_wrap_init(struct testkit_wrap *w, struct cfut_future *inner,
                       bool pending_once);

/* ---- fixtures and running ---- */

/* Checked fixture setup: installs the counting allocator. */
void testkit_setup(void);
/* Checked fixture teardown: fails if allocations or wakers are live. */
void testkit_teardown(void);
/* Adds the checked fixture to 'tc'. */
void testkit_fixture(TCase *tc);
/* The executor the executor fixture makes (NULL outside it). */
extern struct cfut_executor *testkit_ex;
/*
 * Adds the checked fixture plus an executor: setup makes 'testkit_ex'
 * after installing the counting allocator; teardown frees it (a test may
 * free it itself and set it to NULL), then checks for leaks.
 */
void testkit_executor_fixture(TCase *tc);
/* Whether tests run in forked children (misuse tests need that). */
bool testkit_forking(void);
/*
 * Adds a misuse test that must abort; added only in debug-checking,
 * forking runs (a no-op otherwise).
 */
void testkit_add_abort_test(TCase *tc, const TTest *t);
/*
 * Adds a test that must abort on an always-on check (CFUT_ASSERT): added
 * in every forking run, release builds included.
 */
void testkit_add_assert_test(TCase *tc, const TTest *t);
/*
 * Runs 'fn(arg)' in a forked child whose stderr is captured: returns true
 * when the child died of SIGABRT, and copies what it wrote to stderr
 * (NUL-terminated, at most 'n' - 1 bytes) to 'msg'. Works whether or not
 * Check itself forks.
 */
bool testkit_aborts(void (*fn)(void *), void *arg, char *msg, size_t n);
/* Runs 's' with CK_NORMAL output; returns the exit status for main(). */
int testkit_run(Suite *s);

/* ---- a leaf any thread may complete ---- */

/*
 * A future with a uint64_t output that stays pending until some thread
 * calls testkit_signal_fire(): a flag and a kept waker under a mutex. It
 * counts its polls. Its drop drops the kept waker (under the mutex), so a
 * combinator may drop it while another thread fires it.
 */
struct testkit_signal {
    struct cfut_future base;
    pthread_mutex_t mu;
    bool fired;
    uint64_t value; /* the output, once fired */
    atomic_int n_polls;
    struct cfut_waker waker;
};

/* Initialises 's' pending, to output 'value' once fired. */
void testkit_signal_init(struct testkit_signal *s, uint64_t value);
/* Any thread: fires 's' and wakes (consumes) the waker it kept. */
void testkit_signal_fire(struct testkit_signal *s);
/* Releases the mutex of 's' (after its last poll, drop and fire). */
void testkit_signal_fini(struct testkit_signal *s);

/* ---- checks from any thread ---- */

/*
 * TESTKIT_REQUIRE(cond) fails the test when 'cond' is false, from any
 * thread. On the thread that called testkit_require_setup() it is a Check
 * assertion (so an allocation-failure sweep sees the test end on its
 * assertion, not a crash). On any other thread (pool workers, outside
 * spawners) it records the first failure ("file:line: check failed:
 * expression") and returns; the test's thread fails on it in
 * testkit_require_no_failure(). Outside a checked test (no setup, e.g. a
 * stress mode run without Check) it prints the failure and aborts.
 */
#define TESTKIT_REQUIRE(cond)                                                  \
    do {                                                                       \
        if (!(cond))                                                           \
            testkit_require_failed(__FILE__, __LINE__, #cond);                 \
    } while (0)
void testkit_require_failed(const char *file, int line, const char *expr);
/* Arms TESTKIT_REQUIRE for a checked test on the calling thread. */
void testkit_require_setup(void);
/* Fails the test (on its thread) if another thread's check failed. */
void testkit_require_no_failure(void);
/* Checked teardown: testkit_require_no_failure(), then disarms. */
void testkit_require_teardown(void);
/* Adds the two above to 'tc' as a checked fixture. */
void testkit_require_fixture(TCase *tc);
/*
 * Under the allocation-failure sweep (CFUT_OOM_NTH set), waits until the
 * pool task 'h' finished, failing on a recorded failure meanwhile: a task
 * whose check failed may never finish, and cfut_pool_block_on() would
 * wait for it without bound. Does nothing otherwise.
 */
void testkit_pool_sweep_wait(struct cfut_pool_handle *h);

/*
 * Runs the 'n' request futures at 'r' to completion on 'ex' (one
 * cfut_block_on() over all of them; the test fails unless it returns 0),
 * writes their outputs into 'out' and drops them.
 */
void testkit_await_requests(struct cfut_executor *ex, struct cfut_request *r,
                            struct cfut_response *out, int n);
/* Writes all 'n' bytes at 'data' to the blocking fd 'fd' (fails the test). */
void testkit_write_all(int fd, const void *data, size_t n);
/* Reads exactly 'n' bytes from the blocking fd 'fd' (fails the test). */
void testkit_read_exact(int fd, void *data, size_t n);

/* ---- a scripted stream ---- */

/*
 * A stream that plays a script, for tests that need exact control of
 * what each poll of a stream does. Reads hand out the bytes of 'in', at
 * most 'chunk' of them per poll (0: no limit), then 'in_end' (CFUT_EEOF,
 * an error, or 0: pending for ever, the waker kept). Writes append to
 * 'out' (capacity 'out_cap'), at most 'wchunk' bytes per poll (0: no
 * limit); once 'out' is full they return 'wr_error', or, when it is 0,
 * stay pending with the waker kept. With 'pend' (reads) or 'wpend'
 * (writes) set, every other poll returns PENDING after waking its waker
 * at once. The stream points at the script, which must outlive it.
 */
struct testkit_script {
    const char *in;
    size_t in_len;
    size_t chunk;
    bool pend;
    int in_end;
    char *out;
    size_t out_cap;
    size_t wchunk;
    bool wpend;
    int wr_error;
    /* kept by the stream */
    size_t in_off;
    size_t out_len;
    long n_reads;   /* read polls that returned READY */
    long n_writes;  /* write polls that returned READY */
    size_t max_iov; /* the most pieces one write poll was given */
    bool shut;      /* the write side was shut */
    bool r_pended, w_pended;
    struct cfut_waker r_waker, w_waker;
};
/* Makes a stream of 'sc' in '*out' (closed with cfut_stream_close()). */
void testkit_script_stream_new(struct testkit_script *sc,
                               struct cfut_stream **out);
/*
 * Resets 'sc' to read the 'len' bytes at 'text' one byte per poll, with a
 * PENDING (woken at once) before each, then 'end'; returns its stream.
 */
struct cfut_stream *testkit_byte_stream(struct testkit_script *sc,
                                        const char *text, size_t len, int end);

/* ---- processes and sockets ---- */

/*
 * Runs 'child' in a forked process and fails the test unless it exits 0
 * (its exit code, or the signal that killed it, is in the message). For
 * what must not touch the test's own process (a lowered descriptor
 * limit, a signal's default action).
 */
void testkit_in_child(int (*child)(void));
/* A blocking TCP socket connected to 127.0.0.1:'port' (fails the test). */
int testkit_tcp_connect(uint16_t port);

/*
 * Polls 'f' by hand with a counting waker until it is READY (failing the
 * test if a PENDING poll did not arrange a wake, or after 'max_polls');
 * returns the number of polls.
 */
int testkit_poll_until_ready(struct cfut_future *f, void *out, int max_polls);

/* Polls 'f' by hand once with 'waker' and no budget. */
enum cfut_poll testkit_poll(struct cfut_future *f, const struct cfut_waker *w,
                            void *out);

/* ---- values that own memory ---- */

/*
 * A counted box: a channel value that owns memory is a pointer to one.
 * testkit_box_ops are the channel hooks for such values: 'copy' takes a
 * reference for the receiver, 'drop' releases the channel's.
 */
struct testkit_box {
    atomic_int refs;
    uint64_t n;
};
/* A new box holding 'n', with one reference. */
struct testkit_box *testkit_box_new(uint64_t n);
/* Drops a reference; the last one frees the box. */
void testkit_box_release(struct testkit_box *b);
/* The number of boxes alive (testkit_setup() zeroes it). */
int testkit_boxes_live(void);
/* The channel hooks for values that are a 'struct testkit_box *'. */
extern const struct cfut_channel_value_ops testkit_box_ops;

/* ---- a task that awaits one future ---- */

/* The largest future, and output, a testkit_await holds. */
#define TESTKIT_AWAIT_MAX 256

/*
 * A future (a task, once spawned) that awaits one future moved into it,
 * then copies that future's output to 'result' (if not NULL) and counts
 * itself in '*n_done' (if not NULL). Dropping it drops the inner future,
 * so freeing the executor under such tasks cancels what they await.
 */
struct testkit_await {
    struct cfut_future base;
    void *result;
    atomic_int *n_done;
    bool is_done;
    _Alignas(max_align_t) unsigned char inner[TESTKIT_AWAIT_MAX];
    _Alignas(max_align_t) unsigned char out[TESTKIT_AWAIT_MAX];
};

/*
 * Initialises 't' to await 'inner', a fresh future of 'size' bytes (never
 * polled; it is moved into 't', and 't' then owns it).
 */
void testkit_await_init(struct testkit_await *t,
                        const struct cfut_future *inner, size_t size,
                        void *result, atomic_int *n_done);

/* As testkit_await_init(), then spawns 't' (moved) detached on 'ex'. */
void testkit_await_spawn(struct cfut_executor *ex,
                         const struct cfut_future *inner, size_t size,
                         void *result, atomic_int *n_done);

#endif /* CFUT_TESTKIT_H */
