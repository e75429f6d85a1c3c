/*
 * http_floor.c: the floor of the http_keepalive_c{1,50,500} benchmark
 * (bench/http_bench.py): the HTTP server of examples/httpd.c written the
 * classic way, a thread per connection with blocking read() and write(),
 * the same parser (examples/http_parse.c) and the same answers to GET /.
 * The fewest system calls a keep-alive request can cost: one read, one
 * write. Not a server to deploy (no deadlines, no graceful stop: the
 * benchmark kills it, and a client that stalls holds a thread).
 *
 * Run it: build/release/bench/http_floor [PORT]   (0: the kernel picks)
 */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http_parse.h"

#define MAX_HEAD 8192
#define OUT_BUF 16384
#define OK_KEEP                                                                \
    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: "          \
    "14\r\n\r\nHello, world!\n"

static const struct http_limits limits = {MAX_HEAD, 4096, 64};

/* Writes all 'n' bytes at 'p'; false when the connection failed. */
static int
write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t k = write(fd, p, n);
        if (k <= 0)
            return 0;
        p += k;
        n -= (size_t)k;
    }
    return 1;
}

/* Serves one connection: answers every whole request read, in one write. */
static void *
conn(void *arg)
{
    int fd = (int)(intptr_t)arg;
    static __thread char in[MAX_HEAD], out[OUT_BUF];
    size_t have = 0, n_out = 0;
    for (;;) {
        struct http_request req;
        int st = http_parse(in, have, &limits, &req);
        if (st > 0) {
            memmove(in, in + st, have - (size_t)st);
            have -= (size_t)st;
            int ok = req.target_len == 1 && req.target[0] == '/' &&
                     req.keep_alive && req.minor == 1 && !req.has_length &&
                     !req.has_encoding;
            const char *a = ok ? OK_KEEP
                               : "HTTP/1.1 404 Not Found\r\nContent-Length: "
                                 "0\r\nConnection: close\r\n\r\n";
            if (n_out + strlen(a) > OUT_BUF) {
                if (!write_all(fd, out, n_out))
                    break;
                n_out = 0;
            }
            memcpy(out + n_out, a, strlen(a));
            n_out += strlen(a);
            if (!ok)
                break;
            continue;
        }
        if (st < 0)
            break;
        if (n_out > 0 && !write_all(fd, out, n_out))
            break;
        n_out = 0;
        ssize_t k = read(fd, in + have, MAX_HEAD - have);
        if (k <= 0)
            break;
        have += (size_t)k;
    }
    if (n_out > 0)
        write_all(fd, out, n_out);
    close(fd);
    return NULL;
}

int
main(int argc, char **argv)
{
    int one = 1, lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {
        .sin_family = AF_INET,
        .sin_port = htons((uint16_t)atoi(argc > 1 ? argv[1] : "8080")),
        .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(lfd, (struct sockaddr *)&a, sizeof a) != 0 ||
        listen(lfd, SOMAXCONN) != 0 ||
        getsockname(lfd, (struct sockaddr *)&a, &len) != 0) {
        perror("http_floor");
        return 1;
    }
    printf("listening on 127.0.0.1:%u\n", ntohs(a.sin_port));
    fflush(stdout);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 64 * 1024);
    for (;;) {
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0)
            continue;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        pthread_t t;
        if (pthread_create(&t, &attr, conn, (void *)(intptr_t)fd) != 0)
            close(fd);
    }
}
