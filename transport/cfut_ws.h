/*
 * cfut_ws.h: a WebSocket (RFC 6455) stream over another stream: the
 * HTTP/1.1 Upgrade handshake (server or client side), then binary messages
 * carrying a byte stream, so the transport runs over a WebSocket unchanged
 * (docs/wire-format.md says how its frames map onto messages). Pings are
 * answered, fragmented messages are reassembled, the closing handshake
 * carries status codes, and every limit (handshake size, header count,
 * frame and message size) is checked before anything is accepted.
 *
 * Threading: single-threaded, like the inner stream: a WebSocket stream is
 * used on the thread of the inner stream. One reader and one writer may
 * use it at a time (each direction keeps the waker of its latest poll).
 * Lifetime: cfut_ws_stream_new() takes the inner stream; the WebSocket
 * stream ends with cfut_stream_close(), which closes the inner one too.
 * Nothing it holds grows without bound: it keeps one write buffer, the
 * handshake head (freed once the handshake is over) and wslay's frame
 * context; reads copy payload straight into the caller's buffer.
 */
#ifndef CFUT_WS_H
#define CFUT_WS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cfut_future.h"
#include "cfut_stream.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Which end of the connection a WebSocket stream is. */
enum cfut_ws_role {
    CFUT_WS_SERVER = 0, /* reads the Upgrade request; expects masked frames */
    CFUT_WS_CLIENT = 1  /* sends the Upgrade request; masks its frames */
};

/* Settings of a WebSocket stream; zero fields take the defaults. */
struct cfut_ws_config {
    size_t max_head;      /* bytes of the HTTP request or response head,
                             through its empty line; 0: 8192 (more: 431) */
    size_t max_fields;    /* header fields in that head; 0: 64 (more: 431) */
    uint64_t max_frame;   /* payload bytes of one frame received; 0: 1 MiB +
                             4, a transport frame of the default maximum
                             (more: close 1009) */
    uint64_t max_message; /* payload bytes of one message received, over
                             all its fragments; 0: 16 MiB (more: 1009) */
    size_t write_buffer;  /* bytes of the write buffer; 0: 32 KiB; at least
                             1024 */
    bool frame_messages;  /* the bytes written are transport frames
                             (wire-format.md): each goes out as one binary
                             message. Otherwise each write is one message. */
    const char *host;     /* client: the Host header; NULL: "localhost" */
    const char *path;     /* client: the request target; NULL: "/" */
};

/* What a WebSocket stream has seen so far. */
struct cfut_ws_stats {
    int http_status;         /* 0 until the handshake ends; then the status
                                sent (server) or received (client): 101,
                                400, 426, 431, ... */
    uint16_t close_sent;     /* 0: no close frame sent yet; else its code
                                (1005: a close frame without a code) */
    uint16_t close_received; /* the same for the peer's close frame */
    uint64_t n_messages_in;  /* data messages received whole */
    uint64_t n_messages_out; /* data messages sent whole */
    uint64_t n_frames_in;    /* frames received, control frames included */
    uint64_t n_frames_out;   /* frames sent, control frames included */
    uint64_t n_pings_in;     /* pings received (each answered by a pong
                                unless a newer ping replaced it) */
    uint64_t n_pongs_in;     /* pongs received */
};

/* ---------------------------------------------------------------------- */
/* Streams                                                                 */
/* ---------------------------------------------------------------------- */

/*
 * Makes a WebSocket stream of 'role' over 'inner'. Nothing is sent or read
 * yet: the opening handshake runs in cfut_ws_handshake_init()'s future, or
 * else inside the first read, write or shutdown poll of the stream.
 *
 * A server answers a request it cannot accept and then fails the
 * handshake: 400 Bad Request (a malformed head: request line, field syntax,
 * method other than GET, version other than HTTP/1.1, missing Host, bad
 * or missing Sec-WebSocket-Key), 426 Upgrade Required (no "Upgrade:
 * websocket" or no "Connection: Upgrade", or a Sec-WebSocket-Version other
 * than 13; the answer carries "Sec-WebSocket-Version: 13"), 431 Request
 * Header Fields Too Large (a head over 'max_head' bytes or with more than
 * 'max_fields' fields). A client fails the handshake unless the answer is
 * 101 with the right Sec-WebSocket-Accept and no extension or subprotocol.
 *
 * Once open, polls behave as cfut_stream.h says, with these statuses:
 * - read: CFUT_EEOF after the peer's close frame (answered with a close
 *   frame carrying the same code); CFUT_ECONNRESET when the connection
 *   ended without a closing handshake (or the inner stream's own error,
 *   as -errno for an fd stream); CFUT_EPROTO after the stream failed
 *   the connection because the peer broke the protocol. It then sent a
 *   close frame with the code that says why: 1002 (an unmasked frame from a
 *   client or a masked one from a server, reserved bits or opcodes, a
 *   continuation with no message or a new message inside one, a control
 *   frame over 125 bytes or fragmented, a close frame with a bad code or a
 *   1-byte payload), 1003 (a text message: only binary is accepted), 1007
 *   (a close reason that is not UTF-8), 1009 (a frame over 'max_frame' or
 *   a message over 'max_message' bytes).
 * - write: takes bytes into the write buffer as frames (one binary
 *   message per write, or per transport frame with 'frame_messages';
 *   larger ones fragmented) and sends what the inner stream takes at
 *   once. The rest goes out at the next poll of the stream, read or
 *   write: keep polling it (a reader always does) or shut it down.
 *   PENDING only while the buffer is full. CFUT_ECONNRESET once a close
 *   frame was sent because of the peer (its close, or a failure);
 *   CFUT_ESTATE after the caller's own shutdown; the inner stream's error.
 *   A write of 0 bytes is READY at once and sends nothing.
 * - shutdown: sends a close frame (1000, or the code given to
 *   cfut_ws_set_close_code()) after the bytes already written, and is
 *   READY once all of it has gone to the inner stream; the peer reads its
 *   end of stream, and this stream's reads go on until the peer's close
 *   frame answers. Pings are answered during reads.
 * A failed handshake makes every poll return its status (see
 * cfut_ws_handshake_init()).
 *
 * Ownership: 'inner' is taken on success (closing the WebSocket stream
 *   closes it) and left to the caller on failure; 'cfg' is borrowed (NULL:
 *   defaults; 'host' and 'path' are copied into the request at once);
 *   '*out' receives the stream, closed with cfut_stream_close().
 * Returns: 0; CFUT_EINVAL for a NULL pointer, an unknown role, a
 *   'write_buffer' under 1024, or a 'host' or 'path' that is not a plain
 *   token ('path' must start with '/'; neither may hold spaces or control
 *   characters) or that makes the request longer than the write buffer;
 *   getrandom()'s error as -errno when the random source for the client's
 *   key and masks fails;
 *   CFUT_ENOMEM (nothing is then allocated).
 * Context: the inner stream's thread.
 */
CFUT_API int cfut_ws_stream_new(struct cfut_stream *inner,
                                enum cfut_ws_role role,
                                const struct cfut_ws_config *cfg,
                                struct cfut_stream **out);

/*
 * Tells whether 's' is a WebSocket stream (made by cfut_ws_stream_new()).
 * Ownership: 's' is borrowed. Context: the stream's thread.
 */
CFUT_API bool cfut_ws_is_ws(const struct cfut_stream *s);

/*
 * Copies what the WebSocket stream 's' has seen into '*out'.
 * Ownership: both borrowed. 's' must be a WebSocket stream (checked: a
 *   misuse aborts).
 * Context: the stream's thread.
 */
CFUT_API void cfut_ws_get_stats(const struct cfut_stream *s,
                                struct cfut_ws_stats *out);

/*
 * Sets the status code (and optional reason) of the close frame the next
 * shutdown poll of 's' sends. The default is 1000 (normal closure).
 * Ownership: 's' and 'reason' are borrowed (the reason is copied).
 * Returns: 0; CFUT_EINVAL when 's' is not a WebSocket stream, 'code' may
 *   not be sent (only 1000-1003, 1007-1014 and 3000-4999 may), or 'reason'
 *   is over 123 bytes or not UTF-8; CFUT_ESTATE when a close frame has
 *   already been queued.
 * Context: the stream's thread, outside its polls.
 */
CFUT_API int cfut_ws_set_close_code(struct cfut_stream *s, uint16_t code,
                                    const char *reason);

/* ---------------------------------------------------------------------- */
/* The opening handshake as a future                                       */
/* ---------------------------------------------------------------------- */

/* A future that runs the opening handshake of a WebSocket stream. */
struct cfut_ws_handshake {
    /* private: do not touch */
    struct cfut_future base;
    struct cfut_stream *ws;
};

/*
 * Makes 'f' a future (output: int) that runs the opening handshake of the
 * WebSocket stream 'ws': READY with 0 once it succeeded (101 sent or
 * received), or with the status of its failure: CFUT_EPROTO (a malformed
 * or refused request or answer; a server has sent its 400 or 426 answer),
 * CFUT_EMSGSIZE (the head broke a limit; a server has sent its 431
 * answer), CFUT_ECONNRESET (the connection ended first), or the inner
 * stream's error (as -errno for an fd stream).
 * cfut_ws_get_stats() then gives the HTTP status. READY at once when the
 * handshake is already over. Dropping 'f' while it is pending cancels
 * nothing the stream needs: its next poll resumes the handshake.
 * Ownership: 'ws' is kept (borrowed) until 'f' is dropped, and must be a
 *   WebSocket stream (checked: a misuse aborts).
 * Context: the stream's thread.
 * Pinned: 'f' is pinned from its first poll until drop.
 */
CFUT_API void cfut_ws_handshake_init(struct cfut_ws_handshake *f,
                                     struct cfut_stream *ws);

#ifdef __cplusplus
}
#endif

#endif /* CFUT_WS_H */
