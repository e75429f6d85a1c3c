/*
 * cfut_server_int.h: the server's state, shared by cfut_server.c (the
 * connections and their requests) and cfut_server_accept.c (the accept
 * loops that hand it new connections). Internal: never included by a
 * public header.
 */
#ifndef CFUT_SERVER_INT_H
#define CFUT_SERVER_INT_H

#include <stdbool.h>

#include "cfut_list_int.h"
#include "cfut_transport.h"

struct cfut_server {
    int refs; /* the owner + each connection */
    bool freed;
    struct cfut_executor *ex;
    cfut_handler_new_fn *handler; /* or: */
    cfut_reply_fn *reply_fn;      /* a handler that may answer at once */
    void *ctx;
    size_t max_frame_len;
    size_t max_in_flight;
    size_t read_buf_size;
    struct cfut_list conns; /* struct conn, by conn_link */
    struct cfut_server_stats st;
    struct cfut_list acceptors; /* struct acceptor, by acceptor_link */
};

/* Drops a reference (the owner's, a connection's, an accept task's); the
 * last one frees the server. */
void cfut__server_release(struct cfut_server *s);

/* Wakes every accept task (cfut_server_free(): they see 'freed', end). */
void cfut__server_wake_acceptors(struct cfut_server *s);

#endif /* CFUT_SERVER_INT_H */
