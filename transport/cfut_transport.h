/*
 * cfut_transport.h: request/response over one duplex stream (wire format
 * v1, docs/wire-format.md). The client keeps a map from request id to the
 * *sending* half of a oneshot: a slab of request slots that the id
 * addresses (index + generation), each slot holding its oneshot's state
 * and value; each request's future is the *receiving* half; one driver
 * task reads frames (many per read), decodes each response into its slot,
 * and writes queued frames in batches (one write per batch). A response
 * for a request that ended (timed out, dropped) names an old generation of
 * its slot and is counted and dropped, never delivered to the slot's next
 * request. The server decodes requests, runs a handler future per request
 * as its own task (handlers finish in any order), or takes a reply written
 * at once (cfut_server_new_reply()), and writes the replies.
 *
 * Threading: a transport and a server belong to the executor thread that
 * created them, and request futures are polled there (the local oneshot:
 * no atomics). Other threads issue requests with cfut_request_sync_init():
 * the request travels through a locked inbox to the driver task, which is
 * woken through its (thread-safe) task waker, and the answer comes back on
 * a thread-safe oneshot that the other thread awaits on its own executor.
 * Lifetime: a transport is counted: the caller's handle, the driver task
 * and every request future hold a reference; cfut_transport_free() drops
 * the caller's and closes the connection (pending requests fail with
 * CFUT_ECANCELED). The memory goes with the last reference.
 */
#ifndef CFUT_TRANSPORT_H
#define CFUT_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cfut_executor.h"
#include "cfut_frame.h"
#include "cfut_future.h"
#include "cfut_net.h"
#include "cfut_oneshot.h"
#include "cfut_stream.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Payload bytes a response keeps inline (larger ones take one block). */
#define CFUT_RESPONSE_INLINE 32u

/* The output of a request future. */
struct cfut_response {
    /* public */
    int status;        /* 0: a response; a remote error's status (kind 3: see
                          'remote_error'; CFUT_EPROTO if the server sent none);
                          or locally CFUT_ETIMEDOUT, CFUT_ENOMEM, or why the
                          connection ended: cfut_transport_status() */
    bool remote_error; /* the server answered with an error response */
    size_t len;        /* payload bytes: cfut_response_data() */
    /* private: do not touch */
    unsigned char *heap;
    unsigned char inline_bytes[CFUT_RESPONSE_INLINE];
};

/* Returns the payload of 'r' ('r->len' bytes; valid until deinit). */
CFUT_API const unsigned char *cfut_response_data(const struct cfut_response *r);

/* Frees the payload block of 'r', if any. Context: any thread; once. */
CFUT_API void cfut_response_deinit(struct cfut_response *r);

/* Introspection counters of a client transport. */
struct cfut_transport_stats {
    uint64_t n_sent;      /* requests written */
    uint64_t n_completed; /* responses delivered to a waiting request */
    uint64_t n_unknown;   /* responses for no id this client made (or a
                             use of a slot not made yet): dropped */
    uint64_t n_late;      /* responses for a dropped/timed-out request
                             (or an earlier use of a slot than its last) */
    uint64_t n_duplicate; /* responses for an id answered before */
    uint64_t n_reads;     /* stream reads */
    uint64_t n_writes;    /* stream writes (each a batch of frames) */
    size_t n_pending;     /* requests waiting for their response now */
};

/* Client settings; zero fields take the defaults. */
struct cfut_transport_config {
    size_t max_frame_len; /* 0: 1 MiB */
    uint64_t timeout_ns;  /* per request; 0: none */
    size_t read_buf_size; /* 0: 64 KiB */
};

/* A client connection (opaque). */
struct cfut_transport;

/* ---------------------------------------------------------------------- */
/* Client                                                                  */
/* ---------------------------------------------------------------------- */

/*
 * Creates a client over 'stream' and spawns its driver task on 'ex'.
 * Ownership: 'stream' is taken on success (the driver closes it when the
 *   connection ends) and left to the caller on failure; 'cfg' is borrowed
 *   (NULL: defaults); '*out' receives the caller's reference.
 * Returns: 0; CFUT_EINVAL for a NULL argument or a bad 'max_frame_len';
 *   getrandom()'s error as -errno when the id generator cannot be seeded;
 *   CFUT_ENOMEM.
 * Context: the executor's thread.
 */
CFUT_API int cfut_transport_new(struct cfut_executor *ex,
                                struct cfut_stream *stream,
                                const struct cfut_transport_config *cfg,
                                struct cfut_transport **out);

/*
 * Closes the connection (pending requests fail with CFUT_ECANCELED; the
 * driver task ends) and drops the caller's reference.
 * Ownership: 't' is taken. NULL is a no-op.
 * Context: the executor's thread, outside the driver's poll.
 */
CFUT_API void cfut_transport_free(struct cfut_transport *t);

/*
 * Returns 0 while the connection is open, else why it ended:
 * CFUT_ECONNRESET (the peer closed it: end of stream, or reset it),
 * CFUT_EPROTO (a bad frame, or the stream ended in the middle of one),
 * CFUT_ECANCELED (cfut_transport_free()), CFUT_ENOMEM, or the stream's
 * read or write error (for an fd stream the system's, as -errno: -EPIPE,
 * -ETIMEDOUT, -EHOSTUNREACH, ...).
 */
CFUT_API int cfut_transport_status(const struct cfut_transport *t);

/* Copies the counters of 't' into '*out'. */
CFUT_API void cfut_transport_get_stats(const struct cfut_transport *t,
                                       struct cfut_transport_stats *out);

/* A request future (output: struct cfut_response). */
/* A request future's states (request_poll() in cfut_transport.c). */
enum cfut__request_state {
    CFUT__REQUEST_WAITING, /* its slot is in the pending slab; no timer */
    CFUT__REQUEST_TIMED,   /* its slot in the slab, its timer armed */
    CFUT__REQUEST_DONE     /* READY returned; its slot is free */
};

struct cfut_request {
    /* private: do not touch */
    struct cfut_future base;
    struct cfut_transport *t; /* a counted reference */
    uint32_t slot;            /* its slot in the transport's slab */
    enum cfut__request_state state;
    uint64_t timeout_ns;
    struct cfut_future *timer; /* boxed cfut_sleep, while armed */
};

/*
 * Starts a request: takes a slot of the pending map (a oneshot whose
 * sender is the slot; the id names the slot and its generation), queues
 * the frame for the driver's next batch, and makes 'r' the future of its
 * response. Dropping 'r' before it is READY frees the slot (a later
 * response is counted as late and dropped, also once the slot serves
 * another request). No allocation once the slab has grown to the load.
 * Ownership: 't' is kept (counted) until 'r' is dropped; 'payload' is
 *   borrowed (copied into the frame); 'r' is caller storage.
 * Returns: 0; CFUT_EINVAL if 'payload' is NULL with a nonzero length;
 *   CFUT_EMSGSIZE when the frame exceeds the maximum; the connection's
 *   status when it has ended (CFUT_ECONNRESET, CFUT_EPROTO, ...);
 *   CFUT_ENOMEM. 'r' is initialised only on success.
 * Context: the transport's thread.
 * Pinned: 'r' is pinned from its first poll until drop.
 */
CFUT_API int cfut_request_init(struct cfut_request *r, struct cfut_transport *t,
                               const void *payload, size_t len);

/*
 * As cfut_request_init(), with a timeout of 'timeout_ns' (0: none) that
 * replaces the transport's default. On expiry the output is
 * CFUT_ETIMEDOUT and the slot is freed (as for a dropped request).
 */
CFUT_API int cfut_request_init_timeout(struct cfut_request *r,
                                       struct cfut_transport *t,
                                       const void *payload, size_t len,
                                       uint64_t timeout_ns);

/* A request issued from another thread (output: struct cfut_response). */
struct cfut_request_sync {
    /* private: do not touch */
    struct cfut_future base;
    struct cfut_oneshot_sync_receiver rx;
};

/*
 * Starts a request from any thread: the payload is copied into the
 * transport's inbox and the driver task is woken; it assigns the id and
 * writes the frame. 'r' may be polled on any executor. Dropping 'r' closes
 * its receiver; the driver drops the entry when the response (counted as
 * late) or the end of the connection comes.
 * Ownership: 't' is borrowed: the owner thread must not free it while
 *   other threads may call this (after the connection ends, calls fail
 *   with CFUT_ECONNRESET but 't' must still be valid); 'payload' is
 *   borrowed (copied).
 * Returns: 0; CFUT_EINVAL; CFUT_EMSGSIZE; CFUT_ECONNRESET when the driver
 *   has ended (a request handed over just before that ends with the
 *   connection's status in its output instead); CFUT_ENOMEM.
 * Context: any thread.
 * Pinned: 'r' is pinned from its first poll until drop.
 */
CFUT_API int cfut_request_sync_init(struct cfut_request_sync *r,
                                    struct cfut_transport *t,
                                    const void *payload, size_t len);

/* ---------------------------------------------------------------------- */
/* Server                                                                  */
/* ---------------------------------------------------------------------- */

/* Reply bytes a handler may return inline, with no allocation. */
#define CFUT_REPLY_INLINE 32u

/*
 * What a handler future writes when READY: 'status' 0 sends a response,
 * a negative status (a cfut code or a negated errno) sends an error
 * response with that status; the client's request ends with the same
 * status (the wire carries errno values in Linux numbering, see
 * docs/wire-format.md). The 'len' bytes are at 'data' (from cfut_alloc();
 * the server takes and frees it) or, when 'data' is NULL, in
 * 'inline_bytes' ('len' <= CFUT_REPLY_INLINE). An error reply with no
 * bytes gets cfut_strerror() text as its message.
 */
struct cfut_reply {
    int status;
    void *data;
    size_t len;
    unsigned char inline_bytes[CFUT_REPLY_INLINE];
};

/*
 * Builds the future that serves one request (output: struct cfut_reply)
 * and writes it, boxed (cfut_future_box()), into '*out'.
 * Ownership: 'payload' is borrowed for the call only (copy what the future
 *   needs); '*out' is taken by the server.
 * Returns: 0, or a status the server sends as an error response.
 */
typedef int cfut_handler_new_fn(void *ctx, const unsigned char *payload,
                                size_t len, struct cfut_future **out);

/* What a cfut_reply_fn returns when it wrote its reply at once. */
#define CFUT_REPLY_NOW 1

/*
 * A handler that may answer at once, with no future: it either writes
 * the reply into '*reply' and returns CFUT_REPLY_NOW (the server queues
 * it there and then: no allocation, no poll, no task), or builds the
 * future that serves the request into '*out' and returns 0 (as a
 * cfut_handler_new_fn does), or returns a negative status that the server
 * sends as an error response.
 * Ownership: 'payload' is borrowed for the call only; '*reply' is the
 *   server's (its 'data', when not NULL, is taken and freed as for a
 *   future's reply; 'inline_bytes' holds up to CFUT_REPLY_INLINE bytes);
 *   '*out' is taken by the server.
 */
typedef int cfut_reply_fn(void *ctx, const unsigned char *payload, size_t len,
                          struct cfut_reply *reply, struct cfut_future **out);

/* Server settings; zero fields take the defaults. */
struct cfut_server_config {
    size_t max_frame_len; /* 0: 1 MiB */
    size_t max_in_flight; /* per connection; 0: 1024 */
    size_t read_buf_size; /* 0: 64 KiB */
};

/* A server: a handler and the connections it serves (opaque). */
struct cfut_server;

/* Introspection counters of a server. */
struct cfut_server_stats {
    uint64_t n_connections;     /* accepted or added so far */
    uint64_t n_open;            /* open now */
    uint64_t n_requests;        /* requests decoded */
    uint64_t n_replies;         /* replies written (including errors) */
    uint64_t n_protocol_errors; /* connections closed for a bad frame */
};

/*
 * Creates a server that runs 'handler' for each request on 'ex'.
 * Ownership: 'ctx' is kept until the server is freed; 'cfg' is borrowed.
 * Returns: 0; CFUT_EINVAL; CFUT_ENOMEM.
 * Context: the executor's thread.
 */
CFUT_API int cfut_server_new(struct cfut_executor *ex,
                             cfut_handler_new_fn *handler, void *ctx,
                             const struct cfut_server_config *cfg,
                             struct cfut_server **out);

/*
 * As cfut_server_new(), with a handler that may answer at once without a
 * future (cfut_reply_fn): the fast path for replies known when the
 * request is decoded (an echo, a table lookup, a refusal).
 * Returns: as cfut_server_new().
 */
CFUT_API int cfut_server_new_reply(struct cfut_executor *ex,
                                   cfut_reply_fn *handler, void *ctx,
                                   const struct cfut_server_config *cfg,
                                   struct cfut_server **out);

/*
 * Serves one connection over 'stream' (a task of its own). Each request
 * runs its handler future; one that is not ready at once becomes a task of
 * its own. The connection ends when the peer ends its stream (a clean end,
 * or one inside a frame: a protocol error), on a read or write error, on
 * a protocol error, or when the server is freed. Ending it cancels every
 * handler still pending on it: each handler future is dropped (releasing
 * its timers, wakers and memory) at the executor's next run, and gets no
 * reply. After a clean end of stream the replies already queued are still
 * written; then the stream is closed.
 * Ownership: 'stream' is taken on success.
 * Returns: 0; CFUT_EINVAL for a NULL argument; CFUT_ESTATE if 's' was
 *   freed; CFUT_ENOMEM ('stream' is then the caller's).
 * Context: the executor's thread.
 */
CFUT_API int cfut_server_add_stream(struct cfut_server *s,
                                    struct cfut_stream *stream);

/*
 * Serves every connection that the listener 'l' accepts (a task of its
 * own, using the accept future of cfut_net.h) over its stream, until the
 * server is freed. A server may listen on several listeners. When the
 * process runs out of descriptors the accept waits and tries again (see
 * struct cfut_listener_accept) while the connections already open are
 * served; an error that says the listener itself is wrong ends only that
 * accept task.
 * Ownership: 'l' is taken on success (freed when the server ends) and
 *   left to the caller on failure.
 * Returns: 0; CFUT_EINVAL for a NULL argument or a listener of another
 *   executor; CFUT_ESTATE if 's' was freed; CFUT_ENOMEM.
 * Context: the executor's thread.
 */
CFUT_API int cfut_server_listen(struct cfut_server *s, struct cfut_listener *l);

struct cfut_ws_config;

/*
 * As cfut_server_listen(), but each connection is a WebSocket (cfut_ws.h):
 * a server-side WebSocket stream around the accepted socket, whose opening
 * handshake runs in the connection's first read. Requests arrive in binary
 * messages (split anyhow); each reply frame leaves as one binary message
 * ('frame_messages' is set). A refused handshake (400, 426, 431) or a
 * protocol violation closes only that connection; all but 431 (a read
 * status of CFUT_EMSGSIZE) count in 'n_protocol_errors'.
 * Ownership: as cfut_server_listen(); 'cfg' is borrowed (NULL: defaults;
 *   its 'host' and 'path' are not used; a zero 'max_frame' becomes the
 *   server's largest frame).
 * Returns: as cfut_server_listen(); CFUT_EINVAL also for a 'write_buffer'
 *   under 1024.
 * Context: the executor's thread.
 */
CFUT_API int cfut_server_listen_ws(struct cfut_server *s,
                                   struct cfut_listener *l,
                                   const struct cfut_ws_config *cfg);

/* Copies the counters of 's' into '*out'. */
CFUT_API void cfut_server_get_stats(const struct cfut_server *s,
                                    struct cfut_server_stats *out);

/*
 * Ends every connection of 's' and the accept loop, and frees 's' once
 * they are gone. The ending happens at the executor's next run: after
 * cfut_server_free() and one cfut_executor_run_ready(), every connection
 * is closed, every pending handler future has been dropped (cancelled,
 * with no reply), and no memory of the server or its connections is left;
 * so a handler that waits on a timer, or that nothing will ever wake,
 * does not keep cfut_executor_run() from returning.
 * Ownership: 's' is taken. NULL is a no-op.
 * Context: the executor's thread, outside the server's polls.
 */
CFUT_API void cfut_server_free(struct cfut_server *s);

/*
 * Builds a boxed future that is READY at once with a copy of 'data' as its
 * reply and 'status' (for handlers that answer without waiting).
 * Returns: 0; CFUT_ENOMEM.
 */
CFUT_API int cfut_reply_ready_new(int status, const void *data, size_t len,
                                  struct cfut_future **out);

#ifdef __cplusplus
}
#endif

#endif /* CFUT_TRANSPORT_H */
