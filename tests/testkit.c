/*
 * testkit.c: the shared test helpers declared in testkit.h.
 * It wraps malloc with atomic counters so that tests running threads can
 * use it too.
 */
#define _GNU_SOURCE
#include "testkit.h"

#include <arpa/inet.h>
#include <dlfcn.h>
#include <execinfo.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- counting allocator ---- */

static atomic_long n_live;
static atomic_long n_allocs;
static atomic_long fail_at;
static atomic_bool failed;

/*
 * The allocation-failure sweep (tests/sweep.py oom, './run test --oom'):
 * CFUT_OOM_NTH=N makes the Nth allocation after install fail, and with
 * CFUT_OOM_MODE=from every allocation from the Nth on. Each injection
 * appends a line to the file CFUT_OOM_LOG names: the test case and the
 * call site (the return addresses above the allocator, as offsets in
 * their modules), so the sweep knows N was reached and where.
 */
static atomic_long oom_nth; /* 0: no sweep */
static bool oom_from;       /* fail from the Nth on, not only the Nth */
static const char *oom_log;
static bool oom_logged; /* one line per test is enough */
static pthread_mutex_t oom_lock = PTHREAD_MUTEX_INITIALIZER;

static void
oom_read_env(void)
{
    const char *n = getenv("CFUT_OOM_NTH");
    const char *mode = getenv("CFUT_OOM_MODE");
    atomic_store(&oom_nth, n != NULL ? strtol(n, NULL, 10) : 0);
    oom_from = mode != NULL && strcmp(mode, "from") == 0;
    oom_log = getenv("CFUT_OOM_LOG");
    oom_logged = false;
}

static void
oom_record(void)
{
    if (oom_log == NULL)
        return;
    /* Under the lock until the line is written: a thread that fails an
     * assertion on its own injected failure waits for the line, so the
     * process cannot end with the failure unlogged. */
    pthread_mutex_lock(&oom_lock);
    if (oom_logged) {
        pthread_mutex_unlock(&oom_lock);
        return;
    }
    oom_logged = true;
    void *frames[8];
    int n = backtrace(frames, 8);
    char line[512];
    int len = snprintf(line, sizeof line, "inject %s", tcase_name());
    /* frames[0] is here, [1] the allocator, [2] cfut_alloc(), then the
     * site that called it and its callers. */
    for (int i = 3; i < n && i < 7 && len < (int)sizeof line - 40; i++) {
        Dl_info info;
        uintptr_t off = (uintptr_t)frames[i];
        if (dladdr(frames[i], &info) != 0 && info.dli_fbase != NULL)
            off -= (uintptr_t)info.dli_fbase;
        len += snprintf(line + len, sizeof line - (size_t)len, " %#lx",
                        (unsigned long)off);
    }
    if (len < (int)sizeof line - 1)
        line[len++] = '\n';
    int fd = open(oom_log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd >= 0) {
        ssize_t w = write(fd, line, (size_t)len);
        (void)w;
        close(fd);
    }
    pthread_mutex_unlock(&oom_lock);
}

static void *
counting_alloc(void *ctx, size_t size)
{
    (void)ctx;
    long k = atomic_fetch_add(&n_allocs, 1) + 1;
    long f = atomic_load(&fail_at);
    if (f != 0 && k == f) {
        atomic_store(&failed, true);
        return NULL;
    }
    long nth = atomic_load(&oom_nth);
    if (nth != 0 && (k == nth || (oom_from && k > nth))) {
        atomic_store(&failed, true);
        oom_record();
        return NULL;
    }
    void *p = malloc(size);
    if (p != NULL)
        atomic_fetch_add(&n_live, 1);
    return p;
}

static void
counting_free(void *ctx, void *ptr)
{
    (void)ctx;
    if (ptr == NULL)
        return;
    atomic_fetch_sub(&n_live, 1);
    free(ptr);
}

static const struct cfut_allocator counting = {counting_alloc, counting_free,
                                               NULL};

void
testkit_alloc_install(void)
{
    atomic_store(&n_live, 0);
    atomic_store(&n_allocs, 0);
    atomic_store(&fail_at, 0);
    atomic_store(&failed, false);
    oom_read_env();
    cfut_set_allocator(&counting);
}

void
testkit_alloc_uninstall(void)
{
    cfut_set_allocator(NULL);
}

long
testkit_alloc_live(void)
{
    return atomic_load(&n_live);
}

long
testkit_alloc_count(void)
{
    return atomic_load(&n_allocs);
}

void
testkit_alloc_fail_at(long n)
{
    /* A test that injects its own failures takes over from the sweep. */
    atomic_store(&oom_nth, 0);
    atomic_store(&failed, false);
    atomic_store(&fail_at, n == 0 ? 0 : atomic_load(&n_allocs) + n);
}

void
testkit_alloc_sweep_off(void)
{
    atomic_store(&oom_nth, 0);
}

bool
testkit_alloc_failed(void)
{
    return atomic_load(&failed);
}

/* ---- counting waker ---- */

static atomic_long wakers_live;
static atomic_int n_boxes; /* testkit boxes alive */

static const struct cfut_waker_vtable tw_vtable;

static struct cfut_waker
tw_clone(void *data)
{
    struct testkit_waker *tw = data;
    atomic_fetch_add(&tw->clones, 1);
    atomic_fetch_add(&tw->refs, 1);
    atomic_fetch_add(&wakers_live, 1);
    return (struct cfut_waker){&tw_vtable, tw};
}

static void
tw_wake(void *data)
{
    struct testkit_waker *tw = data;
    atomic_fetch_add(&tw->wakes, 1);
    atomic_fetch_sub(&tw->refs, 1);
    atomic_fetch_sub(&wakers_live, 1);
    if (tw->on_wake != NULL)
        tw->on_wake(tw->on_wake_arg);
}

static void
tw_wake_by_ref(void *data)
{
    struct testkit_waker *tw = data;
    atomic_fetch_add(&tw->wakes_by_ref, 1);
    if (tw->on_wake != NULL)
        tw->on_wake(tw->on_wake_arg);
}

static void
tw_drop(void *data)
{
    struct testkit_waker *tw = data;
    atomic_fetch_add(&tw->drops, 1);
    atomic_fetch_sub(&tw->refs, 1);
    atomic_fetch_sub(&wakers_live, 1);
}

static const struct cfut_waker_vtable tw_vtable = {tw_clone, tw_wake,
                                                   tw_wake_by_ref, tw_drop};

struct cfut_waker
testkit_waker_init(struct testkit_waker *tw)
{
    atomic_init(&tw->clones, 0);
    atomic_init(&tw->wakes, 0);
    atomic_init(&tw->wakes_by_ref, 0);
    atomic_init(&tw->drops, 0);
    atomic_init(&tw->refs, 0);
    tw->on_wake = NULL;
    tw->on_wake_arg = NULL;
    return (struct cfut_waker){&tw_vtable, tw};
}

struct cfut_waker
testkit_waker_init_calling(struct testkit_waker *tw, void (*on_wake)(void *arg),
                           void *arg)
{
    struct cfut_waker w = testkit_waker_init(tw);
    tw->on_wake = on_wake;
    tw->on_wake_arg = arg;
    return w;
}

long
testkit_waker_n_wakes(struct testkit_waker *tw)
{
    return atomic_load(&tw->wakes) + atomic_load(&tw->wakes_by_ref);
}

long
testkit_wakers_live(void)
{
    return atomic_load(&wakers_live);
}

static struct cfut_waker
abort_clone(void *data)
{
    (void)data;
    abort();
}

static void
abort_op(void *data)
{
    (void)data;
    abort();
}

static const struct cfut_waker_vtable abort_vtable = {abort_clone, abort_op,
                                                      abort_op, abort_op};
static const struct cfut_waker abort_waker = {&abort_vtable, NULL};

const struct cfut_waker *
testkit_waker_aborting(void)
{
    return &abort_waker;
}

/* ---- countdown ---- */

static enum cfut_poll
countdown_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct testkit_countdown *c =
        cfut_container_of(f, struct testkit_countdown, base);
    c->n_polls++;
    if (c->n_pending > 0) {
        c->n_pending--;
        if (c->self_wake)
            cfut_waker_wake_by_ref(cx->waker);
        else
            cfut_waker_register(&c->waker, cx->waker);
        return CFUT_PENDING;
    }
    cfut_waker_drop(&c->waker);
    *(uint64_t *)out = c->value;
    return CFUT_READY;
}

static void
countdown_drop(struct cfut_future *f)
{
    struct testkit_countdown *c =
        cfut_container_of(f, struct testkit_countdown, base);
    cfut_waker_drop(&c->waker);
    if (c->dropped != NULL)
        *c->dropped = true;
}

static const struct cfut_future_vtable countdown_vtable = {
    countdown_poll, countdown_drop, sizeof(uint64_t), "countdown", NULL};

void
testkit_countdown_init(struct testkit_countdown *c, int n_pending,
                       bool self_wake, uint64_t value)
{
    cfut_future_init(&c->base, &countdown_vtable);
    c->n_pending = n_pending;
    c->self_wake = self_wake;
    c->value = value;
    c->n_polls = 0;
    c->dropped = NULL;
    c->waker = CFUT_WAKER_EMPTY;
}

void
testkit_countdown_wake(struct testkit_countdown *c)
{
    cfut_waker_wake(&c->waker);
}

/* ---- wrapper ---- */

static enum cfut_poll
wrap_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct testkit_wrap *w = cfut_container_of(f, struct testkit_wrap, base);
    if (w->first_addr == NULL)
        w->first_addr = w;
    ck_assert_msg(w->first_addr == w, "future moved after its first poll");
    if (w->pending_once && !w->did_pend) {
        w->did_pend = true;
        cfut_waker_wake_by_ref(cx->waker);
        return CFUT_PENDING;
    }
    return cfut_future_poll(w->inner, cx, out);
}

static void
wrap_drop(struct cfut_future *f)
{
    struct testkit_wrap *w = cfut_container_of(f, struct testkit_wrap, base);
    cfut_future_drop(w->inner);
}

static size_t
wrap_output_size(const struct cfut_future *f)
{
    const struct testkit_wrap *w =
        cfut_container_of(f, const struct testkit_wrap, base);
    return cfut_future_output_size(w->inner);
}

static const struct cfut_future_vtable wrap_vtable = {
    wrap_poll, wrap_drop, CFUT_OUTPUT_DYNAMIC, "testkit_wrap",
    wrap_output_size};

void
testkit_wrap_init(struct testkit_wrap *w, struct cfut_future *inner,
                  bool pending_once)
{
    cfut_future_init(&w->base, &wrap_vtable);
    w->inner = inner;
    w->first_addr = NULL;
    w->pending_once = pending_once;
    w->did_pend = false;
}

/* ---- fixtures ---- */

void
testkit_setup(void)
{
    atomic_store(&wakers_live, 0);
    atomic_store(&n_boxes, 0);
    testkit_alloc_install();
}

void
testkit_teardown(void)
{
    long live = testkit_alloc_live();
    long wakers = testkit_wakers_live();
    testkit_alloc_uninstall();
    ck_assert_msg(live == 0, "%ld allocation(s) leaked", live);
    ck_assert_msg(wakers == 0, "%ld counting waker(s) not dropped", wakers);
}

void
testkit_fixture(TCase *tc)
{
    tcase_add_checked_fixture(tc, testkit_setup, testkit_teardown);
}

struct cfut_executor *testkit_ex;

static void
executor_setup(void)
{
    testkit_setup();
    ck_assert_int_eq(cfut_executor_new(&testkit_ex), CFUT_OK);
}

static void
executor_teardown(void)
{
    cfut_executor_free(testkit_ex);
    testkit_ex = NULL;
    testkit_teardown();
}

void
testkit_executor_fixture(TCase *tc)
{
    tcase_add_checked_fixture(tc, executor_setup, executor_teardown);
}

bool
testkit_forking(void)
{
    const char *e = getenv("CK_FORK");
    return e == NULL || strcmp(e, "no") != 0;
}

/* Tests that must abort are left out of the allocation-failure sweep: an
 * injected failure ends them before the misuse they show. */
static bool
sweeping(void)
{
    return getenv("CFUT_OOM_NTH") != NULL;
}

void
testkit_add_abort_test(TCase *tc, const TTest *t)
{
#if CFUT_DEBUG_CHECKS
    if (testkit_forking() && !sweeping())
        tcase_add_test_raise_signal(tc, t, SIGABRT);
#else
    (void)tc;
    (void)t;
#endif
}

void
testkit_add_assert_test(TCase *tc, const TTest *t)
{
    if (testkit_forking() && !sweeping())
        tcase_add_test_raise_signal(tc, t, SIGABRT);
}

bool
testkit_aborts(void (*fn)(void *), void *arg, char *msg, size_t n)
{
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    fflush(NULL);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        close(fds[0]);
        dup2(fds[1], 2);
        fn(arg);
        _exit(0);
    }
    close(fds[1]);
    size_t len = 0;
    for (;;) {
        char buf[256];
        ssize_t got = read(fds[0], buf, sizeof buf);
        if (got <= 0)
            break;
        for (ssize_t i = 0; i < got && len + 1 < n; i++)
            msg[len++] = buf[i];
    }
    msg[len] = '\0';
    close(fds[0]);
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    return WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
}

int
testkit_run(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_ENV); /* CK_VERBOSITY, else CK_NORMAL */
    int failed_n = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed_n == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

enum cfut_poll
testkit_poll(struct cfut_future *f, const struct cfut_waker *w, void *out)
{
    struct cfut_context cx;
    cfut_context_init(&cx, w);
    return cfut_future_poll(f, &cx, out);
}

void
testkit_write_all(int fd, const void *data, size_t n)
{
    const char *p = data;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        ck_assert_int_gt(w, 0);
        p += w;
        n -= (size_t)w;
    }
}

void
testkit_read_exact(int fd, void *data, size_t n)
{
    char *p = data;
    while (n > 0) {
        ssize_t r = read(fd, p, n);
        ck_assert_int_gt(r, 0);
        p += r;
        n -= (size_t)r;
    }
}

/* ---- requests ---- */

/* A future that is READY when every request in an array is. */
struct all_of {
    struct cfut_future base;
    struct cfut_request *r;
    struct cfut_response *out;
    bool *done;
    int n, left;
};

static enum cfut_poll
all_of_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    (void)out;
    struct all_of *a = cfut_container_of(f, struct all_of, base);
    for (int i = 0; i < a->n; i++) {
        if (a->done[i])
            continue;
        if (cfut_future_poll(&a->r[i].base, cx, &a->out[i]) == CFUT_READY) {
            a->done[i] = true;
            a->left--;
        }
    }
    return a->left == 0 ? CFUT_READY : CFUT_PENDING;
}

static const struct cfut_future_vtable all_of_vtable = {
    all_of_poll, NULL, 0, "all_of", NULL,
};

void
testkit_await_requests(struct cfut_executor *ex, struct cfut_request *r,
                       struct cfut_response *out, int n)
{
    bool *done = calloc((size_t)n, sizeof *done);
    struct all_of a = {{0}, r, out, done, n, n};
    cfut_future_init(&a.base, &all_of_vtable);
    ck_assert_int_eq(cfut_block_on(ex, &a.base, NULL), 0);
    for (int i = 0; i < n; i++)
        cfut_future_drop(&r[i].base);
    free(done);
}

/* ---- a scripted stream ---- */

struct script_stream {
    struct cfut_stream base;
    struct testkit_script *sc;
};

static struct testkit_script *
script_of(struct cfut_stream *s)
{
    return ((struct script_stream *)s)->sc;
}

static enum cfut_poll
script_read(struct cfut_stream *s, struct cfut_context *cx, void *buf,
            size_t cap, struct cfut_stream_result *res)
{
    struct testkit_script *sc = script_of(s);
    ck_assert_uint_gt(cap, 0);
    if (sc->pend && !sc->r_pended) {
        sc->r_pended = true;
        cfut_waker_wake_by_ref(cx->waker);
        return CFUT_PENDING;
    }
    sc->r_pended = false;
    size_t left = sc->in_len - sc->in_off;
    if (left == 0 && sc->in_end == 0) {
        cfut_waker_register(&sc->r_waker, cx->waker);
        return CFUT_PENDING;
    }
    sc->n_reads++;
    if (left == 0) {
        res->status = sc->in_end;
        res->n = 0;
        return CFUT_READY;
    }
    size_t n = left < cap ? left : cap;
    if (sc->chunk != 0 && n > sc->chunk)
        n = sc->chunk;
    memcpy(buf, sc->in + sc->in_off, n);
    sc->in_off += n;
    res->status = 0;
    res->n = n;
    return CFUT_READY;
}

static enum cfut_poll
script_write(struct cfut_stream *s, struct cfut_context *cx,
             const struct cfut_iovec *iov, size_t n_iov,
             struct cfut_stream_result *res)
{
    struct testkit_script *sc = script_of(s);
    size_t total = 0;
    for (size_t i = 0; i < n_iov; i++)
        total += iov[i].len;
    ck_assert_uint_gt(total, 0);
    if (n_iov > sc->max_iov)
        sc->max_iov = n_iov;
    if (sc->wpend && !sc->w_pended) {
        sc->w_pended = true;
        cfut_waker_wake_by_ref(cx->waker);
        return CFUT_PENDING;
    }
    sc->w_pended = false;
    size_t room = sc->out_cap - sc->out_len;
    if (room == 0 && sc->wr_error == 0) {
        cfut_waker_register(&sc->w_waker, cx->waker);
        return CFUT_PENDING;
    }
    sc->n_writes++;
    if (room == 0) {
        res->status = sc->wr_error;
        res->n = 0;
        return CFUT_READY;
    }
    size_t n = 0;
    size_t limit = sc->wchunk != 0 && sc->wchunk < room ? sc->wchunk : room;
    for (size_t i = 0; i < n_iov && n < limit; i++) {
        size_t k = iov[i].len < limit - n ? iov[i].len : limit - n;
        memcpy(sc->out + sc->out_len + n, iov[i].base, k);
        n += k;
    }
    sc->out_len += n;
    res->status = 0;
    res->n = n;
    return CFUT_READY;
}

static enum cfut_poll
script_shutdown(struct cfut_stream *s, struct cfut_context *cx,
                struct cfut_stream_result *res)
{
    (void)cx;
    script_of(s)->shut = true;
    res->status = 0;
    res->n = 0;
    return CFUT_READY;
}

static void
script_close(struct cfut_stream *s)
{
    struct testkit_script *sc = script_of(s);
    cfut_waker_drop(&sc->r_waker);
    cfut_waker_drop(&sc->w_waker);
    cfut_free(s);
}

static const struct cfut_stream_vtable script_vtable = {
    script_read, script_write, script_shutdown, script_close, "script"};

void
testkit_script_stream_new(struct testkit_script *sc, struct cfut_stream **out)
{
    struct script_stream *s = cfut_alloc(sizeof *s);
    ck_assert_ptr_nonnull(s);
    s->base.vtable = &script_vtable;
    s->sc = sc;
    sc->in_off = sc->out_len = 0;
    sc->n_reads = sc->n_writes = 0;
    sc->max_iov = 0;
    sc->shut = sc->r_pended = sc->w_pended = false;
    sc->r_waker = sc->w_waker = CFUT_WAKER_EMPTY;
    *out = &s->base;
}

struct cfut_stream *
testkit_byte_stream(struct testkit_script *sc, const char *text, size_t len,
                    int end)
{
    memset(sc, 0, sizeof *sc);
    sc->in = text;
    sc->in_len = len;
    sc->chunk = 1;
    sc->pend = true;
    sc->in_end = end;
    struct cfut_stream *s;
    testkit_script_stream_new(sc, &s);
    return s;
}

void
testkit_in_child(int (*child)(void))
{
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0)
        _exit(child());
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFEXITED(status), "the child died (signal %d)",
                  WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    ck_assert_msg(WEXITSTATUS(status) == 0, "the child failed with code %d",
                  WEXITSTATUS(status));
}

int
testkit_tcp_connect(uint16_t port)
{
    int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(c, 0);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(connect(c, (struct sockaddr *)&sa, sizeof sa), 0);
    return c;
}

int
testkit_poll_until_ready(struct cfut_future *f, void *out, int max_polls)
{
    struct testkit_waker tw;
    struct cfut_waker w = testkit_waker_init(&tw);
    for (int i = 1; i <= max_polls; i++) {
        long before = testkit_waker_n_wakes(&tw) + atomic_load(&tw.refs);
        if (testkit_poll(f, &w, out) == CFUT_READY)
            return i;
        long after = testkit_waker_n_wakes(&tw) + atomic_load(&tw.refs);
        ck_assert_msg(after > before, "PENDING without arranging a wake");
    }
    ck_abort_msg("not READY after %d polls", max_polls);
    return -1;
}

/* ---- values that own memory ---- */

struct testkit_box *
testkit_box_new(uint64_t n)
{
    struct testkit_box *b = malloc(sizeof *b);
    ck_assert_ptr_nonnull(b);
    atomic_init(&b->refs, 1);
    b->n = n;
    atomic_fetch_add(&n_boxes, 1);
    return b;
}

void
testkit_box_release(struct testkit_box *b)
{
    if (atomic_fetch_sub(&b->refs, 1) == 1) {
        free(b);
        atomic_fetch_sub(&n_boxes, 1);
    }
}

int
testkit_boxes_live(void)
{
    return atomic_load(&n_boxes);
}

static void
box_copy(void *dst, const void *src, size_t size)
{
    ck_assert_uint_eq(size, sizeof(struct testkit_box *));
    struct testkit_box *b = *(struct testkit_box *const *)src;
    atomic_fetch_add(&b->refs, 1);
    memcpy(dst, &b, sizeof b);
}

static void
box_drop(void *v)
{
    testkit_box_release(*(struct testkit_box **)v);
}

const struct cfut_channel_value_ops testkit_box_ops = {box_copy, box_drop};

/* ---- a task that awaits one future ---- */

static enum cfut_poll
await_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    (void)out;
    struct testkit_await *t = cfut_container_of(f, struct testkit_await, base);
    struct cfut_future *inner = (struct cfut_future *)(void *)t->inner;
    if (cfut_future_poll(inner, cx, t->out) == CFUT_PENDING)
        return CFUT_PENDING;
    t->is_done = true;
    if (t->result != NULL)
        memcpy(t->result, t->out, cfut_future_output_size(inner));
    if (t->n_done != NULL)
        atomic_fetch_add(t->n_done, 1);
    return CFUT_READY;
}

static void
await_drop(struct cfut_future *f)
{
    struct testkit_await *t = cfut_container_of(f, struct testkit_await, base);
    cfut_future_drop((struct cfut_future *)(void *)t->inner);
}

static const struct cfut_future_vtable await_vtable = {
    await_poll, await_drop, 0, "testkit_await", NULL};

void
testkit_await_init(struct testkit_await *t, const struct cfut_future *inner,
                   size_t size, void *result, atomic_int *n_done)
{
    ck_assert_uint_le(size, TESTKIT_AWAIT_MAX);
    cfut_future_init(&t->base, &await_vtable);
    memcpy(t->inner, inner, size);
    ck_assert_uint_le(
        cfut_future_output_size((struct cfut_future *)(void *)t->inner),
        TESTKIT_AWAIT_MAX);
    t->result = result;
    t->n_done = n_done;
    t->is_done = false;
}

void
testkit_await_spawn(struct cfut_executor *ex, const struct cfut_future *inner,
                    size_t size, void *result, atomic_int *n_done)
{
    struct testkit_await t;
    testkit_await_init(&t, inner, size, result, n_done);
    ck_assert_int_eq(cfut_spawn(ex, &t.base, sizeof t, NULL), CFUT_OK);
}

/* ---- checks from any thread ---- */

static atomic_bool require_armed;
static pthread_t require_thread;
static atomic_bool require_claimed;
static atomic_bool require_recorded;
static char require_text[256];

void
testkit_require_failed(const char *file, int line, const char *expr)
{
    if (!atomic_load(&require_armed)) {
        fprintf(stderr, "%s:%d: check failed: %s\n", file, line, expr);
        abort();
    }
    if (pthread_equal(pthread_self(), require_thread))
        ck_abort_msg("%s:%d: check failed: %s", file, line, expr);
    if (!atomic_exchange(&require_claimed, true)) {
        snprintf(require_text, sizeof require_text, "%s:%d: check failed: %s",
                 file, line, expr);
        atomic_store(&require_recorded, true);
    }
}

void
testkit_require_setup(void)
{
    require_thread = pthread_self();
    atomic_store(&require_claimed, false);
    atomic_store(&require_recorded, false);
    atomic_store(&require_armed, true);
}

void
testkit_require_no_failure(void)
{
    if (atomic_load(&require_armed) && atomic_load(&require_recorded))
        ck_abort_msg("on another thread: %s", require_text);
}

void
testkit_require_teardown(void)
{
    testkit_require_no_failure();
    atomic_store(&require_armed, false);
}

void
testkit_require_fixture(TCase *tc)
{
    tcase_add_checked_fixture(tc, testkit_require_setup,
                              testkit_require_teardown);
}

void
testkit_pool_sweep_wait(struct cfut_pool_handle *h)
{
    if (getenv("CFUT_OOM_NTH") == NULL || !atomic_load(&require_armed))
        return;
    while (!cfut_pool_handle_is_finished(h)) {
        testkit_require_no_failure();
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
}

/* ---- a leaf any thread may complete ---- */

static enum cfut_poll
signal_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct testkit_signal *s =
        cfut_container_of(f, struct testkit_signal, base);
    atomic_fetch_add(&s->n_polls, 1);
    pthread_mutex_lock(&s->mu);
    bool fired = s->fired;
    if (!fired)
        cfut_waker_register(&s->waker, cx->waker);
    pthread_mutex_unlock(&s->mu);
    if (!fired)
        return CFUT_PENDING;
    *(uint64_t *)out = s->value;
    return CFUT_READY;
}

static void
signal_drop(struct cfut_future *f)
{
    struct testkit_signal *s =
        cfut_container_of(f, struct testkit_signal, base);
    pthread_mutex_lock(&s->mu);
    cfut_waker_drop(&s->waker);
    pthread_mutex_unlock(&s->mu);
}

static const struct cfut_future_vtable signal_vtable = {
    signal_poll, signal_drop, sizeof(uint64_t), "testkit_signal", NULL};

void
testkit_signal_init(struct testkit_signal *s, uint64_t value)
{
    cfut_future_init(&s->base, &signal_vtable);
    pthread_mutex_init(&s->mu, NULL);
    s->fired = false;
    s->value = value;
    atomic_init(&s->n_polls, 0);
    s->waker = CFUT_WAKER_EMPTY;
}

void
testkit_signal_fire(struct testkit_signal *s)
{
    pthread_mutex_lock(&s->mu);
    s->fired = true;
    struct cfut_waker w = s->waker;
    s->waker = CFUT_WAKER_EMPTY;
    pthread_mutex_unlock(&s->mu);
    cfut_waker_wake(&w);
}

void
testkit_signal_fini(struct testkit_signal *s)
{
    pthread_mutex_destroy(&s->mu);
}
