/*
 * test_tcp.c: network connections as streams (cfut_net.h) on real
 * sockets: addresses and their printable form, HOST:PORT, listeners and
 * their options (SO_REUSEADDR, SO_REUSEPORT, TCP_NODELAY), the accept
 * future with the peer's address, connect by name trying each address,
 * name resolution and its errors, cancellation at every await point,
 * allocation failure at every allocation, and accept when the process
 * runs out of descriptors (a forked child lowers its limit): it backs off
 * on a timer instead of spinning, and the open connections are served
 * meanwhile. In suite 'threads' too (client threads, the resolver pool).
 */
#define _GNU_SOURCE
#include "testkit.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#else
#define RUNNING_ON_VALGRIND 0
#endif

#define ex testkit_ex

static uint16_t
local_port_of(int fd)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof sa;
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    return ntohs(sa.sin_port);
}

/* Finds this process's fd whose peer is 127.0.0.1:'port' (-1: none). */
static int
fd_with_peer_port(uint16_t port)
{
    for (int fd = 3; fd < 4096; fd++) {
        struct sockaddr_in sa;
        socklen_t len = sizeof sa;
        if (getpeername(fd, (struct sockaddr *)&sa, &len) == 0 &&
            sa.sin_family == AF_INET && ntohs(sa.sin_port) == port)
            return fd;
    }
    return -1;
}

static int
sockopt(int fd, int level, int name)
{
    int v = -1;
    socklen_t len = sizeof v;
    ck_assert_int_eq(getsockopt(fd, level, name, &v, &len), 0);
    return v;
}

/* Accepts one connection on 'l' (block_on). */
static struct cfut_accepted
accept_one(struct cfut_listener *l)
{
    struct cfut_listener_accept a;
    cfut_listener_accept_init(&a, l);
    struct cfut_accepted r;
    ck_assert_int_eq(cfut_block_on(ex, &a.base, &r), CFUT_OK);
    return r;
}

/* Connects to 'addr' (block_on). */
static struct cfut_accepted
connect_to(const char *addr, const struct cfut_tcp_options *opt)
{
    struct cfut_tcp_connect c;
    ck_assert_int_eq(cfut_tcp_connect_init(&c, addr, opt), CFUT_OK);
    struct cfut_accepted r;
    ck_assert_int_eq(cfut_block_on(ex, &c.base, &r), CFUT_OK);
    return r;
}

/* Sends 'text' on 'a' and reads it from 'b' through buffered I/O. */
static void
exchange(struct cfut_stream *a, struct cfut_stream *b, const char *text)
{
    struct cfut_buf_writer w;
    struct cfut_buf_reader r;
    ck_assert_int_eq(cfut_buf_writer_init(&w, a, NULL, 64), CFUT_OK);
    ck_assert_int_eq(cfut_buf_reader_init(&r, b, NULL, 64), CFUT_OK);
    struct cfut_buf_write wf;
    struct cfut_io_result wr;
    cfut_buf_write_init(&wf, &w, text, strlen(text));
    ck_assert_int_eq(cfut_block_on(ex, &wf.base, &wr), CFUT_OK);
    cfut_buf_flush_init(&wf, &w);
    ck_assert_int_eq(cfut_block_on(ex, &wf.base, &wr), CFUT_OK);
    ck_assert_int_eq(wr.status, 0);
    char got[64];
    struct cfut_buf_read rf;
    struct cfut_buf_result rr;
    cfut_buf_read_exact_init(&rf, &r, got, strlen(text));
    ck_assert_int_eq(cfut_block_on(ex, &rf.base, &rr), CFUT_OK);
    ck_assert_int_eq(rr.status, 0);
    ck_assert_mem_eq(got, text, strlen(text));
    cfut_buf_writer_deinit(&w);
    cfut_buf_reader_deinit(&r);
}

/* ---- addresses ---- */

START_TEST(test_tcp_addresses_print_in_their_usual_forms)
{
    struct cfut_sockaddr a;
    struct sockaddr_in in4;
    memset(&in4, 0, sizeof in4);
    in4.sin_family = AF_INET;
    in4.sin_port = htons(8080);
    inet_pton(AF_INET, "192.0.2.7", &in4.sin_addr);
    memset(&a, 0, sizeof a);
    memcpy(a.bytes, &in4, sizeof in4);
    a.len = sizeof in4;
    char buf[CFUT_SOCKADDR_STRLEN];

    ck_assert_int_eq(cfut_sockaddr_format(&a, buf, sizeof buf), CFUT_OK);
    ck_assert_str_eq(buf, "192.0.2.7:8080");
    ck_assert_uint_eq(cfut_sockaddr_port(&a), 8080);
    ck_assert_int_eq(cfut_sockaddr_format(&a, buf, 14), CFUT_EMSGSIZE);

    struct sockaddr_in6 in6;
    memset(&in6, 0, sizeof in6);
    in6.sin6_family = AF_INET6;
    in6.sin6_port = htons(443);
    inet_pton(AF_INET6, "2001:db8::1", &in6.sin6_addr);
    memset(&a, 0, sizeof a);
    memcpy(a.bytes, &in6, sizeof in6);
    a.len = sizeof in6;
    ck_assert_int_eq(cfut_sockaddr_format(&a, buf, sizeof buf), CFUT_OK);
    ck_assert_str_eq(buf, "[2001:db8::1]:443");

    struct sockaddr_un un;
    memset(&un, 0, sizeof un);
    un.sun_family = AF_UNIX;
    strcpy(un.sun_path, "/run/x.sock");
    memset(&a, 0, sizeof a);
    memcpy(a.bytes, &un, sizeof un);
    a.len = (uint32_t)(offsetof(struct sockaddr_un, sun_path) + 12);
    ck_assert_int_eq(cfut_sockaddr_format(&a, buf, sizeof buf), CFUT_OK);
    ck_assert_str_eq(buf, "unix:/run/x.sock");
    ck_assert_uint_eq(cfut_sockaddr_port(&a), 0);

    memset(&a, 0, sizeof a);
    ck_assert_int_eq(cfut_sockaddr_format(&a, buf, sizeof buf), CFUT_EINVAL);
}
END_TEST

START_TEST(test_tcp_host_port_strings_split_or_are_refused)
{
    char host[64];
    uint16_t port = 1;

    ck_assert_int_eq(
        cfut_hostport_split("example.com:80", host, sizeof host, &port),
        CFUT_OK);
    ck_assert_str_eq(host, "example.com");
    ck_assert_uint_eq(port, 80);
    ck_assert_int_eq(
        cfut_hostport_split("[::1]:65535", host, sizeof host, &port), CFUT_OK);
    ck_assert_str_eq(host, "::1");
    ck_assert_uint_eq(port, 65535);
    ck_assert_int_eq(cfut_hostport_split(":0", host, sizeof host, &port),
                     CFUT_OK);
    ck_assert_str_eq(host, "");

    const char *bad[] = {"host",    "host:", "::1:80", "[::1]80", "[::1:80",
                         "h:65536", "h:-1",  "h:1x",   "h:123456"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(cfut_hostport_split(bad[i], host, sizeof host, &port) ==
                          CFUT_EADDR,
                      "%s was taken", bad[i]);
    ck_assert_int_eq(cfut_hostport_split("abcdef:1", host, 4, &port),
                     CFUT_EADDR);
}
END_TEST

/* ---- listeners and accept ---- */

START_TEST(test_tcp_accept_gives_a_stream_and_the_peers_address)
{
    struct cfut_listener *l;
    ck_assert_int_eq(cfut_tcp_listen(ex, "127.0.0.1:0", NULL, &l), CFUT_OK);
    uint16_t port = cfut_listener_port(l);
    ck_assert_uint_ne(port, 0);
    int c = testkit_tcp_connect(port);

    struct cfut_accepted r = accept_one(l);

    ck_assert_int_eq(r.status, CFUT_OK);
    ck_assert_ptr_nonnull(r.stream);
    char buf[CFUT_SOCKADDR_STRLEN], want[64];
    ck_assert_int_eq(cfut_sockaddr_format(&r.peer, buf, sizeof buf), 0);
    snprintf(want, sizeof want, "127.0.0.1:%u", local_port_of(c));
    ck_assert_str_eq(buf, want);
    ck_assert_int_eq(write(c, "ping", 4), 4);
    char got[4];
    struct cfut_buf_reader br;
    ck_assert_int_eq(cfut_buf_reader_init(&br, r.stream, NULL, 16), 0);
    struct cfut_buf_read rf;
    struct cfut_buf_result rr;
    cfut_buf_read_exact_init(&rf, &br, got, 4);
    ck_assert_int_eq(cfut_block_on(ex, &rf.base, &rr), CFUT_OK);
    ck_assert_mem_eq(got, "ping", 4);
    struct cfut_listener_stats st;
    cfut_listener_stats(l, &st);
    ck_assert_uint_eq(st.n_accepted, 1);
    cfut_buf_reader_deinit(&br);
    cfut_stream_close(r.stream);
    cfut_listener_free(l);
    close(c);
}
END_TEST

START_TEST(test_tcp_listen_takes_every_address_form)
{
    const char *ok[] = {"127.0.0.1:0", "localhost:0", ":0", "0.0.0.0:0"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        struct cfut_listener *l;
        ck_assert_msg(cfut_tcp_listen(ex, ok[i], NULL, &l) == CFUT_OK, "%s",
                      ok[i]);
        ck_assert_uint_ne(cfut_listener_port(l), 0);
        cfut_listener_free(l);
    }
    struct cfut_listener *l = NULL;
    if (cfut_tcp_listen(ex, "[::1]:0", NULL, &l) == CFUT_OK) {
        struct cfut_sockaddr a;
        char buf[CFUT_SOCKADDR_STRLEN], want[32];
        ck_assert_int_eq(cfut_listener_local_addr(l, &a), CFUT_OK);
        ck_assert_int_eq(cfut_sockaddr_format(&a, buf, sizeof buf), CFUT_OK);
        snprintf(want, sizeof want, "[::1]:%u", cfut_listener_port(l));
        ck_assert_str_eq(buf, want);
        cfut_listener_free(l);
    }

    ck_assert_int_eq(cfut_tcp_listen(ex, "127.0.0.1", NULL, &l), CFUT_EADDR);
    ck_assert_int_eq(cfut_tcp_listen(ex, "::1:0", NULL, &l), CFUT_EADDR);
    ck_assert_int_eq(cfut_tcp_listen(ex, "300.1.1.1:0", NULL, &l), CFUT_EADDR);
    ck_assert_int_eq(cfut_tcp_listen(ex, "example.com:0", NULL, &l),
                     CFUT_EHOSTNAME);
    ck_assert_int_eq(cfut_tcp_listen(NULL, ":0", NULL, &l), CFUT_EINVAL);
}
END_TEST

/* Finds the listening fd of 'l' (not 'not_fd'): -1 if none. */
static int
listener_fd(struct cfut_listener *l, int not_fd)
{
    struct cfut_sockaddr la;
    ck_assert_int_eq(cfut_listener_local_addr(l, &la), CFUT_OK);
    for (int fd = 3; fd < 4096; fd++) {
        struct sockaddr_storage ss;
        socklen_t len = sizeof ss;
        if (fd != not_fd &&
            getsockname(fd, (struct sockaddr *)&ss, &len) == 0 &&
            len == la.len && memcmp(&ss, la.bytes, len) == 0 &&
            sockopt(fd, SOL_SOCKET, SO_ACCEPTCONN) == 1)
            return fd;
    }
    return -1;
}

START_TEST(test_tcp_listen_options_set_the_socket_options)
{
    struct cfut_listener *a, *b, *c, *d;
    struct cfut_tcp_options plain = {.no_reuse_addr = true};
    struct cfut_tcp_options share = {.reuse_port = true};

    ck_assert_int_eq(cfut_tcp_listen(ex, "127.0.0.1:0", NULL, &d), CFUT_OK);
    ck_assert_int_eq(cfut_tcp_listen(ex, "127.0.0.1:0", &share, &a), CFUT_OK);
    char addr[32];
    snprintf(addr, sizeof addr, "127.0.0.1:%u", cfut_listener_port(a));
    ck_assert_int_eq(cfut_tcp_listen(ex, addr, &share, &b), CFUT_OK);
    ck_assert_int_eq(cfut_tcp_listen(ex, addr, NULL, &c), -EADDRINUSE);
    ck_assert_int_eq(cfut_tcp_listen(ex, "127.0.0.1:0", &plain, &c), CFUT_OK);

    int fd_d = listener_fd(d, -1), fd_a = listener_fd(a, -1);
    int fd_b = listener_fd(b, fd_a), fd_c = listener_fd(c, -1);
    ck_assert(fd_a >= 0 && fd_b >= 0 && fd_c >= 0 && fd_d >= 0);
    ck_assert_int_ne(sockopt(fd_d, SOL_SOCKET, SO_REUSEADDR), 0); /* default */
    ck_assert_int_eq(sockopt(fd_d, SOL_SOCKET, SO_REUSEPORT), 0);
    ck_assert_int_ne(sockopt(fd_a, SOL_SOCKET, SO_REUSEPORT), 0);
    ck_assert_int_ne(sockopt(fd_b, SOL_SOCKET, SO_REUSEPORT), 0);
    ck_assert_int_eq(sockopt(fd_c, SOL_SOCKET, SO_REUSEADDR), 0);
    cfut_listener_free(a);
    cfut_listener_free(b);
    cfut_listener_free(c);
    cfut_listener_free(d);
}
END_TEST

START_TEST(test_tcp_nodelay_is_on_unless_nagle_is_asked_for)
{
    struct cfut_tcp_options nagle = {.nagle = true};
    for (int k = 0; k < 2; k++) {
        struct cfut_listener *l;
        ck_assert_int_eq(
            cfut_tcp_listen(ex, "127.0.0.1:0", k ? &nagle : NULL, &l), CFUT_OK);
        char addr[32];
        snprintf(addr, sizeof addr, "127.0.0.1:%u", cfut_listener_port(l));

        struct cfut_accepted c = connect_to(addr, k ? &nagle : NULL);
        /* A failed connect (ENOMEM) leaves nothing to accept: end here. */
        ck_assert_int_eq(c.status, CFUT_OK);
        struct cfut_accepted a = accept_one(l);

        ck_assert_int_eq(a.status, CFUT_OK);
        int server_fd = fd_with_peer_port(cfut_sockaddr_port(&a.peer));
        int client_fd = fd_with_peer_port(cfut_listener_port(l));
        ck_assert_int_ge(server_fd, 0);
        ck_assert_int_ge(client_fd, 0);
        ck_assert_int_eq(sockopt(server_fd, IPPROTO_TCP, TCP_NODELAY) != 0, !k);
        ck_assert_int_eq(sockopt(client_fd, IPPROTO_TCP, TCP_NODELAY) != 0, !k);
        exchange(c.stream, a.stream, "both ways");
        exchange(a.stream, c.stream, "and back");
        cfut_stream_close(c.stream);
        cfut_stream_close(a.stream);
        cfut_listener_free(l);
    }
}
END_TEST

START_TEST(test_tcp_a_unix_listener_accepts_streams_too)
{
    char path[64];
    snprintf(path, sizeof path, "/tmp/cfut-tcp-test-%d.sock", (int)getpid());
    unlink(path);
    struct cfut_listener *l;
    ck_assert_int_eq(cfut_unix_listen(ex, path, NULL, &l), CFUT_OK);
    ck_assert_uint_eq(cfut_listener_port(l), 0);
    struct cfut_connect c;
    ck_assert_int_eq(cfut_unix_connect_init(&c, path), CFUT_OK);
    struct cfut_connect_result cr;
    ck_assert_int_eq(cfut_block_on(ex, &c.base, &cr), CFUT_OK);
    ck_assert_int_eq(cr.status, CFUT_OK);
    struct cfut_stream *cs;
    ck_assert_int_eq(cfut_fd_stream_from_io(cr.io, &cs), CFUT_OK);

    struct cfut_accepted a = accept_one(l);

    ck_assert_int_eq(a.status, CFUT_OK);
    char buf[CFUT_SOCKADDR_STRLEN];
    ck_assert_int_eq(cfut_sockaddr_format(&a.peer, buf, sizeof buf), 0);
    ck_assert_str_eq(buf, "unix:"); /* the client's socket has no name */
    exchange(cs, a.stream, "over a Unix socket");
    cfut_stream_close(cs);
    cfut_stream_close(a.stream);
    cfut_listener_free(l);
    unlink(path);
}
END_TEST

START_TEST(test_tcp_a_listener_from_an_fd_accepts)
{
    int fd;
    ck_assert_int_eq(cfut_tcp_listen_fd("127.0.0.1", 0, 8, &fd), CFUT_OK);
    uint16_t port;
    ck_assert_int_eq(cfut_socket_local_port(fd, &port), CFUT_OK);
    struct cfut_listener *l;
    ck_assert_int_eq(cfut_listener_from_fd(ex, fd, NULL, &l), CFUT_OK);
    int c = testkit_tcp_connect(port);

    struct cfut_accepted a = accept_one(l);

    ck_assert_int_eq(a.status, CFUT_OK);
    ck_assert_uint_eq(cfut_listener_port(l), port);
    cfut_stream_close(a.stream);
    cfut_listener_free(l);
    close(c);
    ck_assert_int_eq(fcntl(fd, F_GETFD), -1); /* the listener closed it */
}
END_TEST

/* ---- connect and resolve ---- */

START_TEST(test_tcp_connect_by_name_reaches_the_listener)
{
    struct cfut_listener *l;
    ck_assert_int_eq(cfut_tcp_listen(ex, "127.0.0.1:0", NULL, &l), CFUT_OK);
    char addr[32];
    snprintf(addr, sizeof addr, "localhost:%u", cfut_listener_port(l));

    struct cfut_accepted c = connect_to(addr, NULL);
    /* A failed connect (ENOMEM) leaves nothing to accept: end here. */
    ck_assert_int_eq(c.status, CFUT_OK);
    struct cfut_accepted a = accept_one(l);

    ck_assert_int_eq(a.status, CFUT_OK);
    char buf[CFUT_SOCKADDR_STRLEN], want[32];
    ck_assert_int_eq(cfut_sockaddr_format(&c.peer, buf, sizeof buf), 0);
    snprintf(want, sizeof want, "127.0.0.1:%u", cfut_listener_port(l));
    ck_assert_str_eq(buf, want);
    exchange(c.stream, a.stream, "hello by name");
    cfut_stream_close(c.stream);
    cfut_stream_close(a.stream);
    cfut_listener_free(l);
    cfut_blocking_default_shutdown();
}
END_TEST

START_TEST(test_tcp_connect_tries_the_next_address_when_one_fails)
{
    /* localhost is 127.0.0.1 then ::1: listen on ::1 only. */
    struct cfut_listener *l;
    if (cfut_tcp_listen(ex, "[::1]:0", NULL, &l) != CFUT_OK)
        return; /* no IPv6 loopback here */
    char addr[32];
    snprintf(addr, sizeof addr, "localhost:%u", cfut_listener_port(l));

    struct cfut_accepted c = connect_to(addr, NULL);

    ck_assert_int_eq(c.status, CFUT_OK);
    char buf[CFUT_SOCKADDR_STRLEN];
    ck_assert_int_eq(cfut_sockaddr_format(&c.peer, buf, sizeof buf), 0);
    ck_assert_int_eq(strncmp(buf, "[::1]:", 6), 0);
    struct cfut_accepted a = accept_one(l);
    exchange(c.stream, a.stream, "second address");
    cfut_stream_close(c.stream);
    cfut_stream_close(a.stream);
    cfut_listener_free(l);
}
END_TEST

/* A port that was free a moment ago (bound, not listening, closed). */
static uint16_t
closed_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(s, (struct sockaddr *)&sa, sizeof sa), 0);
    uint16_t port = local_port_of(s);
    close(s);
    return port;
}

START_TEST(test_tcp_connect_reports_the_first_error_when_all_fail)
{
    char addr[32];
    snprintf(addr, sizeof addr, "localhost:%u", closed_port());

    struct cfut_accepted c = connect_to(addr, NULL);

    ck_assert_int_eq(c.status, -ECONNREFUSED); /* 127.0.0.1's */
    ck_assert_ptr_null(c.stream);
}
END_TEST

START_TEST(test_tcp_a_name_that_does_not_resolve_is_eai_noname)
{
    /* An empty label: refused by the resolver without asking a server. */
    struct cfut_tcp_connect c;
    ck_assert_int_eq(cfut_tcp_connect_init(&c, "no..such.invalid:80", NULL),
                     CFUT_OK);
    struct cfut_accepted r;

    ck_assert_int_eq(cfut_block_on(ex, &c.base, &r), CFUT_OK);

    ck_assert_int_eq(r.status, CFUT_EAI_NONAME);
    ck_assert_ptr_null(r.stream);
    cfut_blocking_default_shutdown();
}
END_TEST

START_TEST(test_tcp_resolve_gives_addresses_with_the_port)
{
    struct cfut_resolve f;
    struct cfut_resolve_result r;

    ck_assert_int_eq(
        cfut_resolve_init(&f, "localhost", 4242, CFUT_FAMILY_IPV4, NULL),
        CFUT_OK);
    ck_assert_int_eq(cfut_block_on(ex, &f.base, &r), CFUT_OK);
    ck_assert_int_eq(r.status, CFUT_OK);
    ck_assert_uint_eq(r.addrs->n, 1);
    char buf[CFUT_SOCKADDR_STRLEN];
    ck_assert_int_eq(cfut_sockaddr_format(&r.addrs->addr[0], buf, sizeof buf),
                     0);
    ck_assert_str_eq(buf, "127.0.0.1:4242");
    cfut_addrlist_free(r.addrs);

    /* A literal needs no lookup; one of the other family has no address. */
    ck_assert_int_eq(cfut_resolve_init(&f, "::1", 7, CFUT_FAMILY_ANY, NULL), 0);
    ck_assert_int_eq(cfut_block_on(ex, &f.base, &r), CFUT_OK);
    ck_assert_int_eq(r.status, CFUT_OK); /* r.addrs is set only then */
    ck_assert_int_eq(cfut_sockaddr_format(&r.addrs->addr[0], buf, sizeof buf),
                     0);
    ck_assert_str_eq(buf, "[::1]:7");
    cfut_addrlist_free(r.addrs);
    ck_assert_int_eq(cfut_resolve_init(&f, "::1", 7, CFUT_FAMILY_IPV4, NULL),
                     0);
    ck_assert_int_eq(cfut_block_on(ex, &f.base, &r), CFUT_OK);
    ck_assert_int_eq(r.status, CFUT_EAI_NODATA);

    /* A name that goes through getaddrinfo on the pool. */
    char me[256];
    ck_assert_int_eq(gethostname(me, sizeof me), 0);
    ck_assert_int_eq(cfut_resolve_init(&f, me, 1, CFUT_FAMILY_ANY, NULL), 0);
    ck_assert_int_eq(cfut_block_on(ex, &f.base, &r), CFUT_OK);
    if (r.status == CFUT_OK) {
        ck_assert_uint_ge(r.addrs->n, 1);
        ck_assert_uint_eq(cfut_sockaddr_port(&r.addrs->addr[0]), 1);
        cfut_addrlist_free(r.addrs);
    }
    char longname[CFUT_HOSTNAME_MAX + 2];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    ck_assert_int_eq(cfut_resolve_init(&f, longname, 1, CFUT_FAMILY_ANY, NULL),
                     CFUT_EADDR);
    ck_assert_int_eq(cfut_resolve_init(&f, "", 1, CFUT_FAMILY_ANY, NULL),
                     CFUT_EADDR);
    ck_assert_int_eq(cfut_resolve_init(&f, "x", 1, 9, NULL), CFUT_EINVAL);
    cfut_blocking_default_shutdown();
}
END_TEST

/* ---- cancellation and allocation failure ---- */

/*
 * A task that polls a connect future until its 'k'-th PENDING, then drops
 * it (cancellation at that await); it tells whether the connect ended
 * first (its stream is then closed).
 */
struct drop_after {
    struct cfut_future base;
    struct cfut_tcp_connect c;
    int k, n_pending;
    bool *finished;
};

static enum cfut_poll
drop_after_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    (void)out;
    struct drop_after *d = cfut_container_of(f, struct drop_after, base);
    struct cfut_accepted r;
    if (cfut_future_poll(&d->c.base, cx, &r) == CFUT_READY) {
        *d->finished = true;
        if (r.status == CFUT_OK)
            cfut_stream_close(r.stream);
        return CFUT_READY;
    }
    if (++d->n_pending < d->k)
        return CFUT_PENDING;
    cfut_waker_wake_by_ref(cx->waker); /* finish at the next poll */
    d->k = 0x7fffffff;
    return CFUT_PENDING;
}

static void
drop_after_drop(struct cfut_future *f)
{
    struct drop_after *d = cfut_container_of(f, struct drop_after, base);
    cfut_future_drop(&d->c.base);
}

static const struct cfut_future_vtable drop_after_vtable = {
    drop_after_poll, drop_after_drop, 0, "drop_after", NULL};

START_TEST(test_tcp_a_connect_dropped_at_any_await_leaves_nothing)
{
    /* A name through the pool, then the connect: dropped at each await. */
    struct cfut_listener *l;
    ck_assert_int_eq(cfut_tcp_listen(ex, "127.0.0.1:0", NULL, &l), CFUT_OK);
    char me[256], addr[300];
    ck_assert_int_eq(gethostname(me, sizeof me), 0);
    snprintf(addr, sizeof addr, "%s:%u", me, cfut_listener_port(l));
    struct cfut_blocking_pool *pool;
    ck_assert_int_eq(cfut_blocking_pool_new(NULL, &pool), CFUT_OK);
    struct cfut_tcp_options opt = {.pool = pool};
    size_t regs = cfut_reactor_n_registrations(ex);
    bool finished = false;
    for (int k = 1; !finished; k++) {
        struct drop_after d;
        cfut_future_init(&d.base, &drop_after_vtable);
        ck_assert_int_eq(cfut_tcp_connect_init(&d.c, addr, &opt), CFUT_OK);
        d.k = k;
        d.n_pending = 0;
        d.finished = &finished;
        struct cfut_join_handle h;
        ck_assert_int_eq(cfut_spawn(ex, &d.base, sizeof d, &h), CFUT_OK);
        struct cfut_join_status js;
        ck_assert_int_eq(cfut_block_on(ex, &h.base, &js), CFUT_OK);

        ck_assert_int_eq(cfut_executor_run(ex), CFUT_OK);
        /*
         * A pool thread that finished the resolve just as the connect was
         * dropped may still be waking it from its own thread: that wake
         * (holding the last waker clone) reaches the executor's inbox a
         * moment later. Let it land (at most a second), then count.
         */
        for (int i = 0; i < 1000 && cfut_executor_n_wakers(ex) != 0; i++) {
            struct timespec ts = {0, 1000000};
            nanosleep(&ts, NULL);
            ck_assert_int_eq(cfut_executor_run(ex), CFUT_OK);
        }
        ck_assert_uint_eq(cfut_reactor_n_registrations(ex), regs);
        ck_assert_uint_eq(cfut_reactor_n_waiters(ex), 0);
        ck_assert_uint_eq(cfut_executor_n_wakers(ex), 0);
        ck_assert_int_lt(k, 100);
    }
    cfut_blocking_pool_free(pool);
    cfut_listener_free(l); /* and the connections it never accepted */
}
END_TEST

START_TEST(test_tcp_an_accept_dropped_while_waiting_leaves_no_waker)
{
    struct cfut_listener *l;
    ck_assert_int_eq(cfut_tcp_listen(ex, "127.0.0.1:0", NULL, &l), CFUT_OK);
    struct cfut_listener_accept a;
    cfut_listener_accept_init(&a, l);
    struct testkit_waker tw;
    struct cfut_waker w = testkit_waker_init(&tw);
    struct cfut_accepted r;

    ck_assert_int_eq(testkit_poll(&a.base, &w, &r), CFUT_PENDING);
    ck_assert_uint_eq(cfut_reactor_n_waiters(ex), 1);
    cfut_future_drop(&a.base);

    ck_assert_uint_eq(cfut_reactor_n_waiters(ex), 0);
    ck_assert_int_eq(testkit_wakers_live(), 0);
    cfut_listener_free(l);
}
END_TEST

START_TEST(test_tcp_every_allocation_can_fail_cleanly)
{
    /* A first block_on grows the executor's task pool: not ours. */
    uint64_t v = 1, got = 0;
    struct cfut_ready rf;
    cfut_ready_init(&rf, &v, sizeof v);
    ck_assert_int_eq(cfut_block_on(ex, &rf.base, &got), CFUT_OK);
    for (long n = 1;; n++) {
        long live = testkit_alloc_live();
        testkit_alloc_fail_at(n);
        struct cfut_listener *l = NULL;
        int rc = cfut_tcp_listen(ex, "127.0.0.1:0", NULL, &l);
        struct cfut_accepted c = {.status = -1}, a = {.status = -1};
        if (rc == CFUT_OK) {
            char addr[32];
            snprintf(addr, sizeof addr, "localhost:%u", cfut_listener_port(l));
            struct cfut_tcp_connect cf;
            rc = cfut_tcp_connect_init(&cf, addr, NULL);
            if (rc == CFUT_OK)
                ck_assert_int_eq(cfut_block_on(ex, &cf.base, &c), CFUT_OK);
            if (rc == CFUT_OK && c.status == CFUT_OK) {
                struct cfut_listener_accept af;
                cfut_listener_accept_init(&af, l);
                ck_assert_int_eq(cfut_block_on(ex, &af.base, &a), CFUT_OK);
            }
        }
        bool failed = testkit_alloc_failed();
        testkit_alloc_fail_at(0);
        if (c.status == CFUT_OK)
            cfut_stream_close(c.stream);
        if (a.status == CFUT_OK)
            cfut_stream_close(a.stream);
        cfut_listener_free(l);
        ck_assert_int_eq(cfut_reactor_n_registrations(ex), 0);
        if (!failed) {
            ck_assert_int_eq(a.status, CFUT_OK);
            break;
        }
        ck_assert_msg(rc == CFUT_ENOMEM || c.status == CFUT_ENOMEM ||
                          a.status == CFUT_ENOMEM,
                      "allocation %ld failed without CFUT_ENOMEM", n);
        ck_assert_int_eq(testkit_alloc_live(), live);
    }
}
END_TEST

/* ---- out of descriptors ---- */

/*
 * The child's side of the test below. Exit codes say what failed: 0 all
 * went well; 10+ a setup step; 20 the open connection was not served
 * while descriptors were out; 21 accept spun (too many polls); 22 no
 * backoff counted, or too many; 23 the waiting connections were not
 * accepted once descriptors came back.
 */
struct emfile_state {
    struct cfut_listener *l;
    int n_accepted;
};

/* An echo task over one accepted stream: read some, write it back. */
struct echo {
    struct cfut_future base;
    struct cfut_coro co;
    struct cfut_stream *s;
    struct cfut_buf_reader r;
    struct cfut_buf_writer w;
    struct cfut_buf_read rd;
    struct cfut_buf_write wr;
    struct cfut_buf_result got;
    struct cfut_io_result put;
    char buf[64];
    char copy[64];
};

static enum cfut_poll
echo_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    (void)out;
    struct echo *e = cfut_container_of(f, struct echo, base);
    CFUT_ASYNC_BEGIN(&e->co);
    for (;;) {
        cfut_buf_fill_init(&e->rd, &e->r, 1);
        CFUT_AWAIT(&e->co, cx, &e->rd.base, &e->got);
        if (e->got.status != 0)
            break;
        memcpy(e->copy, e->got.data, e->got.len);
        cfut_buf_reader_consume(&e->r, e->got.len);
        cfut_buf_write_init(&e->wr, &e->w, e->copy, e->got.len);
        CFUT_AWAIT(&e->co, cx, &e->wr.base, &e->put);
        cfut_buf_flush_init(&e->wr, &e->w);
        CFUT_AWAIT(&e->co, cx, &e->wr.base, &e->put);
        if (e->put.status != 0)
            break;
    }
    CFUT_ASYNC_END(&e->co);
}

static void
echo_drop(struct cfut_future *f)
{
    struct echo *e = cfut_container_of(f, struct echo, base);
    cfut_coro_drop(&e->co);
    cfut_buf_reader_deinit(&e->r);
    cfut_buf_writer_deinit(&e->w);
    cfut_stream_close(e->s);
}

static const struct cfut_future_vtable echo_vtable = {echo_poll, echo_drop, 0,
                                                      "echo", NULL};

/* The accept loop: each connection gets an echo task. */
struct acceptor {
    struct cfut_future base;
    struct emfile_state *st;
    bool accepting;
    struct cfut_listener_accept a;
};

static enum cfut_poll
acceptor_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    (void)out;
    struct acceptor *a = cfut_container_of(f, struct acceptor, base);
    for (;;) {
        if (!a->accepting) {
            cfut_listener_accept_init(&a->a, a->st->l);
            a->accepting = true;
        }
        struct cfut_accepted r;
        if (cfut_future_poll(&a->a.base, cx, &r) == CFUT_PENDING)
            return CFUT_PENDING;
        cfut_future_drop(&a->a.base);
        a->accepting = false;
        if (r.status != 0)
            continue;
        a->st->n_accepted++;
        struct echo e;
        memset(&e, 0, sizeof e);
        cfut_future_init(&e.base, &echo_vtable);
        cfut_coro_init(&e.co);
        e.s = r.stream;
        if (cfut_buf_reader_init(&e.r, r.stream, NULL, 64) != 0 ||
            cfut_buf_writer_init(&e.w, r.stream, NULL, 64) != 0 ||
            cfut_spawn(cfut_executor_current(), &e.base, sizeof e, NULL) != 0)
            _exit(12);
    }
}

static void
acceptor_drop(struct cfut_future *f)
{
    struct acceptor *a = cfut_container_of(f, struct acceptor, base);
    if (a->accepting)
        cfut_future_drop(&a->a.base);
}

static const struct cfut_future_vtable acceptor_vtable = {
    acceptor_poll, acceptor_drop, 0, "acceptor", NULL};

/* A client thread: 'n' round trips of one byte, 20 ms apart. */
struct pinger {
    int fd;
    int n;
    int done;
};

static void *
pinger_main(void *arg)
{
    struct pinger *p = arg;
    for (int i = 0; i < p->n; i++) {
        char c = (char)('a' + i);
        if (write(p->fd, &c, 1) != 1)
            break;
        char back;
        struct pollfd pf = {p->fd, POLLIN, 0};
        if (poll(&pf, 1, 5000) != 1 || read(p->fd, &back, 1) != 1 || back != c)
            break;
        p->done++;
        usleep(20 * 1000);
    }
    return NULL;
}

/* Runs the executor for 'ms' milliseconds of real time. */
static void
run_for(struct cfut_executor *x, uint64_t ms)
{
    struct cfut_sleep s;
    cfut_sleep_init(&s, CFUT_MSEC(ms));
    int st;
    if (cfut_block_on(x, &s.base, &st) != 0)
        _exit(13);
}

static int
emfile_child(void)
{
    testkit_alloc_uninstall(); /* the child frees nothing at exit */
    struct cfut_executor *x;
    if (cfut_executor_new(&x) != 0)
        return 10;
    struct emfile_state st = {NULL, 0};
    if (cfut_tcp_listen(x, "127.0.0.1:0", NULL, &st.l) != 0)
        return 11;
    uint16_t port = cfut_listener_port(st.l);
    struct acceptor a;
    memset(&a, 0, sizeof a);
    cfut_future_init(&a.base, &acceptor_vtable);
    a.st = &st;
    struct cfut_join_handle ah;
    if (cfut_spawn(x, &a.base, sizeof a, &ah) != 0)
        return 12;
    /* A connection accepted while descriptors are there. */
    struct pinger ping = {testkit_tcp_connect(port), 10, 0};
    run_for(x, 30);
    if (st.n_accepted != 1)
        return 14;
    /* Two more that will wait in the backlog, then no descriptor left. */
    int waiting[2] = {testkit_tcp_connect(port), testkit_tcp_connect(port)};
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = 256;
    setrlimit(RLIMIT_NOFILE, &rl);
    int fillers[256], n_fill = 0;
    while (n_fill < 256 && (fillers[n_fill] = open("/dev/null", O_RDONLY)) >= 0)
        n_fill++;
    if (n_fill == 256 || errno != EMFILE)
        return 15;
    pthread_t t;
    if (pthread_create(&t, NULL, pinger_main, &ping) != 0)
        return 16;

    uint64_t polls = cfut_executor_n_polls(x);
    run_for(x, 400); /* the pinger's 10 round trips, 20 ms apart */
    polls = cfut_executor_n_polls(x) - polls;
    pthread_join(t, NULL);
    struct cfut_listener_stats ls;
    cfut_listener_stats(st.l, &ls);

    if (ping.done != ping.n)
        return 20;
    if (polls > 400)
        return 21;
    if (ls.n_backoffs < 2 || ls.n_backoffs > 40 || ls.last_error != -EMFILE)
        return 22;
    for (int i = 0; i < n_fill; i++)
        close(fillers[i]);
    for (int i = 0; i < 40 && st.n_accepted < 3; i++)
        run_for(x, 50);
    if (st.n_accepted != 3)
        return 23;
    /* Everything ends and is freed (valgrind checks the child too). */
    close(waiting[0]);
    close(waiting[1]);
    close(ping.fd);
    cfut_join_handle_cancel(&ah);
    cfut_future_drop(&ah.base);
    if (cfut_executor_run(x) != 0)
        return 24;
    cfut_listener_free(st.l);
    cfut_executor_free(x);
    return 0;
}

START_TEST(test_tcp_accept_backs_off_when_descriptors_run_out)
{
    /*
     * Not under valgrind: it emulates the descriptor limit (the kernel
     * accepts, valgrind closes the connection and says EMFILE, so the
     * waiting connections are lost), and a forked child of the in-process
     * run holds the suite's memory, which its leak check reports. The
     * other builds run this test.
     */
    if (RUNNING_ON_VALGRIND)
        return;
    testkit_in_child(emfile_child);
}
END_TEST

static Suite *
tcp_suite(void)
{
    Suite *s = suite_create("tcp");
    TCase *tc = tcase_create("addresses");
    testkit_fixture(tc);
    tcase_add_test(tc, test_tcp_addresses_print_in_their_usual_forms);
    tcase_add_test(tc, test_tcp_host_port_strings_split_or_are_refused);
    suite_add_tcase(s, tc);

    tc = tcase_create("listeners");
    testkit_executor_fixture(tc);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_tcp_accept_gives_a_stream_and_the_peers_address);
    tcase_add_test(tc, test_tcp_listen_takes_every_address_form);
    tcase_add_test(tc, test_tcp_listen_options_set_the_socket_options);
    tcase_add_test(tc, test_tcp_nodelay_is_on_unless_nagle_is_asked_for);
    tcase_add_test(tc, test_tcp_a_unix_listener_accepts_streams_too);
    tcase_add_test(tc, test_tcp_a_listener_from_an_fd_accepts);
    tcase_add_test(tc, test_tcp_accept_backs_off_when_descriptors_run_out);
    suite_add_tcase(s, tc);

    tc = tcase_create("connect and resolve");
    testkit_executor_fixture(tc);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_tcp_connect_by_name_reaches_the_listener);
    tcase_add_test(tc, test_tcp_connect_tries_the_next_address_when_one_fails);
    tcase_add_test(tc, test_tcp_connect_reports_the_first_error_when_all_fail);
    tcase_add_test(tc, test_tcp_a_name_that_does_not_resolve_is_eai_noname);
    tcase_add_test(tc, test_tcp_resolve_gives_addresses_with_the_port);
    suite_add_tcase(s, tc);

    tc = tcase_create("cancellation and memory");
    testkit_executor_fixture(tc);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_tcp_a_connect_dropped_at_any_await_leaves_nothing);
    tcase_add_test(tc,
                   test_tcp_an_accept_dropped_while_waiting_leaves_no_waker);
    tcase_add_test(tc, test_tcp_every_allocation_can_fail_cleanly);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return testkit_run(tcp_suite());
}
