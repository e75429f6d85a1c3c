/*
 * test_server.c: the server's lifetime. Ending a connection (the server
 * freed, the peer's end of stream, a protocol error) drops the handler
 * futures still pending on it: none stays alive, none keeps a timer armed
 * (so cfut_executor_run() returns), and none keeps connection or server
 * memory. The client is a raw socket the test writes frames to by hand.
 * And the accept loop, when the process runs out of descriptors, waits
 * on a timer instead of spinning, while the open connections are served.
 */
#define _GNU_SOURCE
#include "testkit.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#include "echo_handler.h"
#else
#define RUNNING_ON_VALGRIND 0
#endif

#define ex testkit_ex

/* ---- handlers that count their live futures ---- */

static int n_alive;   /* handler futures built and not yet dropped */
static int n_started; /* handler futures built */

/* A handler that never answers and never arranges a wake ("never woken"). */
struct never {
    struct cfut_future base;
};

static enum cfut_poll
never_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    (void)f;
    (void)cx;
    (void)out;
    return CFUT_PENDING;
}

static void
never_drop(struct cfut_future *f)
{
    (void)f;
    n_alive--;
}

static const struct cfut_future_vtable never_vtable = {
    never_poll, never_drop, sizeof(struct cfut_reply), "never", NULL};

static int
never_new(void *ctx, const unsigned char *payload, size_t len,
          struct cfut_future **out)
{
    (void)ctx;
    (void)payload;
    (void)len;
    struct never n;
    cfut_future_init(&n.base, &never_vtable);
    int rc = cfut_future_box(&n.base, sizeof n, out);
    if (rc == 0) {
        n_alive++;
        n_started++;
    }
    return rc;
}

/* A handler that answers after an hour. */
struct sleeper {
    struct cfut_future base;
    struct cfut_sleep nap;
};

static enum cfut_poll
sleeper_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct sleeper *s = cfut_container_of(f, struct sleeper, base);
    int st;
    if (cfut_future_poll(&s->nap.base, cx, &st) == CFUT_PENDING)
        return CFUT_PENDING;
    struct cfut_reply *rep = out;
    memset(rep, 0, sizeof *rep);
    rep->status = st;
    return CFUT_READY;
}

static void
sleeper_drop(struct cfut_future *f)
{
    struct sleeper *s = cfut_container_of(f, struct sleeper, base);
    cfut_future_drop(&s->nap.base);
    n_alive--;
}

static const struct cfut_future_vtable sleeper_vtable = {
    sleeper_poll, sleeper_drop, sizeof(struct cfut_reply), "sleeper", NULL};

static int
sleeper_new(void *ctx, const unsigned char *payload, size_t len,
            struct cfut_future **out)
{
    (void)ctx;
    (void)payload;
    (void)len;
    struct sleeper s;
    cfut_future_init(&s.base, &sleeper_vtable);
    cfut_sleep_init(&s.nap, CFUT_SEC(3600));
    int rc = cfut_future_box(&s.base, sizeof s, out);
    if (rc == 0) {
        n_alive++;
        n_started++;
    }
    return rc;
}

/* ---- a connection with requests written by hand ---- */

/* Writes 'n' request frames (distinct ids) to the raw client 'fd'. */
static void
send_requests(int fd, int n)
{
    for (int i = 0; i < n; i++) {
        struct cfut_id id;
        memset(&id, 0, sizeof id);
        id.bytes[0] = (unsigned char)(i + 1);
        unsigned char buf[64];
        size_t w = 0;
        ck_assert_int_eq(cfut_frame_encode(buf, sizeof buf, CFUT_FRAME_REQUEST,
                                           &id, "req", 3, 0, &w),
                         0);
        testkit_write_all(fd, buf, w);
    }
}

/*
 * Starts a server with 'handler' serving one end of a socketpair; the
 * other end, raw and blocking, goes to '*client'. Then 'n' requests are
 * sent and the executor runs until every handler is pending.
 */
static struct cfut_server *
server_with_pending(cfut_handler_new_fn *handler, int n, int *client)
{
    int fds[2];
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds),
                     0);
    struct cfut_server *srv;
    ck_assert_int_eq(cfut_server_new(ex, handler, NULL, NULL, &srv), CFUT_OK);
    struct cfut_stream *s;
    ck_assert_int_eq(cfut_fd_stream_new(ex, fds[0], &s), CFUT_OK);
    ck_assert_int_eq(cfut_server_add_stream(srv, s), CFUT_OK);
    n_alive = n_started = 0;
    send_requests(fds[1], n);
    ck_assert_int_eq(cfut_executor_run_ready(ex), CFUT_OK);
    ck_assert_int_eq(n_started, n);
    ck_assert_int_eq(n_alive, n);
    *client = fds[1];
    return srv;
}

/* ---- the server freed ---- */

START_TEST(test_server_free_drops_every_pending_handler)
{
    int client;
    struct cfut_server *srv = server_with_pending(never_new, 3, &client);

    cfut_server_free(srv);
    ck_assert_int_eq(cfut_executor_run_ready(ex), CFUT_OK);

    ck_assert_int_eq(n_alive, 0);
    ck_assert_uint_eq(cfut_executor_n_tasks(ex), 0);
    char c;
    ck_assert_int_eq(read(client, &c, 1), 0); /* the connection is closed */
    close(client);
}
END_TEST

START_TEST(test_server_free_lets_run_return_despite_a_handler_on_a_timer)
{
    int client;
    struct cfut_server *srv = server_with_pending(sleeper_new, 2, &client);
    ck_assert_uint_eq(cfut_reactor_n_timers(ex), 2);

    cfut_server_free(srv);
    ck_assert_int_eq(cfut_executor_run_ready(ex), CFUT_OK);
    ck_assert_uint_eq(cfut_reactor_n_timers(ex), 0);

    ck_assert_int_eq(cfut_executor_run(ex), CFUT_OK); /* returns at once */
    ck_assert_int_eq(n_alive, 0);
    close(client);
}
END_TEST

START_TEST(test_server_free_ends_accepted_connections_and_the_listener)
{
    struct cfut_server *srv;
    ck_assert_int_eq(cfut_server_new(ex, never_new, NULL, NULL, &srv), CFUT_OK);
    struct cfut_listener *l;
    ck_assert_int_eq(cfut_tcp_listen(ex, "127.0.0.1:0", NULL, &l), CFUT_OK);
    uint16_t port = cfut_listener_port(l);
    ck_assert_int_eq(cfut_server_listen(srv, l), CFUT_OK);
    int client = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(connect(client, (struct sockaddr *)&sa, sizeof sa), 0);
    n_alive = n_started = 0;
    send_requests(client, 2);
    /* Accept, read, start both handlers (bounded: a connection that fails
     * under injected faults must fail the test, not hang it; the server
     * closes a connection it could not take in, e.g. on ENOMEM, and goes
     * on accepting, so the client's end of stream ends the wait too). */
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    bool closed = false;
    do {
        ck_assert_int_eq(cfut_executor_run_ready(ex), CFUT_OK);
        char peek;
        ssize_t n = recv(client, &peek, 1, MSG_PEEK | MSG_DONTWAIT);
        closed = n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR);
        clock_gettime(CLOCK_MONOTONIC, &t);
    } while (n_started < 2 && !closed && t.tv_sec - t0.tv_sec < 10);
    ck_assert_msg(!closed, "the server closed the connection");
    ck_assert_int_eq(n_started, 2);

    cfut_server_free(srv);
    ck_assert_int_eq(cfut_executor_run_ready(ex), CFUT_OK);

    ck_assert_int_eq(n_alive, 0);
    ck_assert_uint_eq(cfut_executor_n_tasks(ex), 0);
    ck_assert_uint_eq(cfut_reactor_n_registrations(ex), 0);
    char c;
    ck_assert_int_eq(read(client, &c, 1), 0);
    close(client);
}
END_TEST

/* One round: a server, pending handlers that are never woken, the end. */
static void
never_woken_round(void)
{
    int client;
    struct cfut_server *srv = server_with_pending(never_new, 4, &client);
    cfut_server_free(srv);
    ck_assert_int_eq(cfut_executor_run_ready(ex), CFUT_OK);
    close(client);
}

START_TEST(test_server_never_woken_handlers_keep_no_memory)
{
    /* The first round fills the executor's task pool. */
    never_woken_round();
    long before = testkit_alloc_live();

    never_woken_round();

    /* The second reuses the pooled blocks and gives back all the rest. */
    ck_assert_int_eq(testkit_alloc_live(), before);
    ck_assert_uint_eq(cfut_executor_n_task_blocks(ex), 0);
    ck_assert_int_eq(n_alive, 0);
}
END_TEST

/* ---- the connection ended by the peer ---- */

START_TEST(test_server_peer_end_of_stream_drops_pending_handlers)
{
    int client;
    struct cfut_server *srv = server_with_pending(never_new, 3, &client);

    ck_assert_int_eq(shutdown(client, SHUT_WR), 0);
    ck_assert_int_eq(cfut_executor_run_ready(ex), CFUT_OK);

    ck_assert_int_eq(n_alive, 0);
    struct cfut_server_stats st;
    cfut_server_get_stats(srv, &st);
    ck_assert_uint_eq(st.n_open, 0);
    ck_assert_uint_eq(st.n_protocol_errors, 0);
    char c;
    ck_assert_int_eq(read(client, &c, 1), 0);
    close(client);
    cfut_server_free(srv);
    ck_assert_int_eq(cfut_executor_run_ready(ex), CFUT_OK);
}
END_TEST

START_TEST(test_server_peer_close_drops_pending_handlers)
{
    int client;
    struct cfut_server *srv = server_with_pending(sleeper_new, 3, &client);

    close(client);
    ck_assert_int_eq(cfut_executor_run_ready(ex), CFUT_OK);

    ck_assert_int_eq(n_alive, 0);
    ck_assert_uint_eq(cfut_reactor_n_timers(ex), 0);
    cfut_server_free(srv);
    ck_assert_int_eq(cfut_executor_run(ex), CFUT_OK);
}
END_TEST

START_TEST(test_server_protocol_error_drops_pending_handlers)
{
    int client;
    struct cfut_server *srv = server_with_pending(never_new, 3, &client);
    unsigned char garbage[8] = {0, 0, 0, 20, 9, 1, 0, 0}; /* version 9 */

    testkit_write_all(client, garbage, sizeof garbage);
    ck_assert_int_eq(cfut_executor_run_ready(ex), CFUT_OK);

    ck_assert_int_eq(n_alive, 0);
    struct cfut_server_stats st;
    cfut_server_get_stats(srv, &st);
    ck_assert_uint_eq(st.n_protocol_errors, 1);
    ck_assert_uint_eq(st.n_open, 0);
    close(client);
    cfut_server_free(srv);
    ck_assert_int_eq(cfut_executor_run_ready(ex), CFUT_OK);
}
END_TEST

/* ---- out of descriptors ---- */

/* Sends 'n' requests over 't', one every 20 ms; counts good echoes. */
struct requester {
    struct cfut_future base;
    struct cfut_coro co;
    struct cfut_transport *t;
    int i, n, *n_ok;
    struct cfut_request req;
    struct cfut_response res;
    struct cfut_sleep nap;
    int st;
};

static enum cfut_poll
requester_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    (void)out;
    struct requester *r = cfut_container_of(f, struct requester, base);
    CFUT_ASYNC_BEGIN(&r->co);
    for (r->i = 0; r->i < r->n; r->i++) {
        if (cfut_request_init(&r->req, r->t, "ping", 4) != 0)
            _exit(31);
        CFUT_AWAIT(&r->co, cx, &r->req.base, &r->res);
        if (r->res.status == 0 && r->res.len == 4 &&
            memcmp(cfut_response_data(&r->res), "ping", 4) == 0)
            (*r->n_ok)++;
        cfut_sleep_init(&r->nap, CFUT_MSEC(20));
        CFUT_AWAIT(&r->co, cx, &r->nap.base, &r->st);
    }
    CFUT_ASYNC_END(&r->co);
}

static void
requester_drop(struct cfut_future *f)
{
    cfut_coro_drop(&cfut_container_of(f, struct requester, base)->co);
}

static const struct cfut_future_vtable requester_vtable = {
    requester_poll, requester_drop, 0, "requester", NULL};

/* Runs 'x' until 'h' (a join handle) is done, or for 'ms' if 'h' is NULL. */
static void
run_child(struct cfut_executor *x, struct cfut_join_handle *h, uint64_t ms)
{
    struct cfut_sleep s;
    cfut_sleep_init(&s, CFUT_MSEC(ms));
    struct cfut_join_status js;
    int st;
    if ((h != NULL ? cfut_block_on(x, &h->base, &js)
                   : cfut_block_on(x, &s.base, &st)) != 0)
        _exit(32);
    if (h != NULL)
        cfut_future_drop(&s.base);
}

/*
 * The child's side: exit 0 when all went well; 20: the open connection
 * was not served while descriptors were out; 21: the accept loop spun;
 * 23: the waiting connection was not served once they came back; others:
 * a setup step.
 */
static int
server_emfile_child(void)
{
    testkit_alloc_uninstall(); /* the child frees nothing at exit */
    struct cfut_executor *x;
    struct cfut_server *srv;
    struct cfut_listener *l;
    if (cfut_executor_new(&x) != 0 ||
        cfut_server_new(x, echo_handler, NULL, NULL, &srv) != 0 ||
        cfut_tcp_listen(x, "127.0.0.1:0", NULL, &l) != 0 ||
        cfut_server_listen(srv, l) != 0)
        return 10;
    uint16_t port = cfut_listener_port(l);
    /* An open connection (a socketpair: no accept), with a client. */
    int sp[2];
    struct cfut_stream *a, *b;
    struct cfut_transport *t;
    if (cfut_socketpair(sp) != 0 || cfut_fd_stream_new(x, sp[0], &a) != 0 ||
        cfut_fd_stream_new(x, sp[1], &b) != 0 ||
        cfut_server_add_stream(srv, a) != 0 ||
        cfut_transport_new(x, b, NULL, &t) != 0)
        return 11;
    run_child(x, NULL, 20);
    /* A connection waiting in the backlog, then no descriptor left. */
    int waiting = testkit_tcp_connect(port);
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = 256;
    setrlimit(RLIMIT_NOFILE, &rl);
    int fillers[256], n_fill = 0;
    while (n_fill < 256 && (fillers[n_fill] = open("/dev/null", O_RDONLY)) >= 0)
        n_fill++;
    if (n_fill == 256)
        return 13;
    int n_ok = 0;
    struct requester r;
    memset(&r, 0, sizeof r);
    cfut_future_init(&r.base, &requester_vtable);
    cfut_coro_init(&r.co);
    r.t = t;
    r.n = 10;
    r.n_ok = &n_ok;
    struct cfut_join_handle h;
    if (cfut_spawn(x, &r.base, sizeof r, &h) != 0)
        return 14;

    uint64_t polls = cfut_executor_n_polls(x);
    run_child(x, &h, 0); /* about 200 ms */
    polls = cfut_executor_n_polls(x) - polls;

    if (n_ok != 10)
        return 20;
    if (polls > 2000)
        return 21;
    for (int i = 0; i < n_fill; i++)
        close(fillers[i]);
    struct cfut_server_stats st;
    int rc = 23;
    for (int i = 0; i < 40 && rc != 0; i++) {
        run_child(x, NULL, 50);
        cfut_server_get_stats(srv, &st);
        if (st.n_connections == 2)
            rc = 0;
    }
    /* Everything ends and is freed (valgrind checks the child too). */
    close(waiting);
    cfut_transport_free(t);
    cfut_server_free(srv);
    if (cfut_executor_run(x) != 0)
        return 24;
    cfut_executor_free(x);
    return rc;
}

START_TEST(test_server_accept_loop_waits_when_descriptors_run_out)
{
    /* Not under valgrind: see test_tcp.c (it emulates the limit). */
    if (RUNNING_ON_VALGRIND)
        return;
    testkit_in_child(server_emfile_child);
}
END_TEST

static Suite *
server_suite(void)
{
    Suite *s = suite_create("server");
    TCase *tc = tcase_create("lifetime");
    testkit_executor_fixture(tc);
    tcase_add_test(tc, test_server_free_drops_every_pending_handler);
    tcase_add_test(
        tc, test_server_free_lets_run_return_despite_a_handler_on_a_timer);
    tcase_add_test(tc,
                   test_server_free_ends_accepted_connections_and_the_listener);
    tcase_add_test(tc, test_server_never_woken_handlers_keep_no_memory);
    tcase_add_test(tc, test_server_peer_end_of_stream_drops_pending_handlers);
    tcase_add_test(tc, test_server_peer_close_drops_pending_handlers);
    tcase_add_test(tc, test_server_protocol_error_drops_pending_handlers);
    suite_add_tcase(s, tc);

    tc = tcase_create("accept");
    testkit_executor_fixture(tc);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_server_accept_loop_waits_when_descriptors_run_out);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return testkit_run(server_suite());
}
