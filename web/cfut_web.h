/*
 * cfut_web.h: cfut in a web page (a WebAssembly build made with
 * emscripten, web/README.md): a cfut stream on the browser's WebSocket, so
 * the transport (cfut_transport.h) runs unchanged in the page and talks to
 * a cfut server's WebSocket listener (cfut_server_listen_ws()).
 *
 * In that build cfut_executor_new() makes an executor on the browser's
 * driver: the page's event loop runs it. A wake schedules one run of the
 * ready tasks (a task of the event loop, never a busy loop), timers are the
 * browser's timers, and the clock is performance.now(). Nothing blocks:
 * cfut_block_on() and cfut_executor_run() return CFUT_EAGAIN instead of
 * waiting; spawn tasks and let the page run them. There are no fds, threads,
 * TCP listeners or signals in a page.
 *
 * Threading: single-threaded, the page's main thread.
 * Lifetime: the stream is created connecting and ends with
 * cfut_stream_close() (or with the transport that took it).
 */
#ifndef CFUT_WEB_H
#define CFUT_WEB_H

#include <stddef.h>

#include "cfut_stream.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Settings of a browser WebSocket stream; zero fields take the defaults. */
struct cfut_web_ws_config {
    /*
     * Received bytes held for the reader (0: 4 MiB). A message that would
     * hold more closes the connection with status 1009 (message too big)
     * and reads then fail with CFUT_EMSGSIZE.
     */
    size_t max_buffered;
    /*
     * Sent bytes the browser may hold unsent (its bufferedAmount; 0: 4 MiB)
     * before a write waits: the browser tells nobody when it drains, so a
     * waiting write looks again every few milliseconds.
     */
    size_t max_unsent;
};

/*
 * Opens a WebSocket to 'url' ("ws://HOST:PORT/PATH" or "wss://...") with
 * the browser's WebSocket API and makes it a cfut stream at once, while it
 * connects: reads and writes wait until it is open. The stream carries
 * bytes as the transport expects them over a WebSocket
 * (docs/wire-format.md): each write leaves as one binary message, and
 * received binary messages are read as one byte stream, whatever their
 * split. A text message closes the connection (status 1003, reads fail
 * with CFUT_EPROTO).
 * How it ends, as the reads and writes report it: a close with status 1000
 * (normal) reads CFUT_EEOF; any other close, or the server going away,
 * CFUT_ECONNRESET; a connection that never opened (refused, no server,
 * handshake refused) -ECONNREFUSED. Writes after the end fail with the
 * same status (CFUT_ECONNRESET for a normal close).
 * Shutting the write side starts the closing handshake (status 1000): a
 * WebSocket cannot close one direction alone.
 * Ownership: 'url' and 'cfg' (NULL: defaults) are borrowed; '*out'
 *   receives the stream, closed with cfut_stream_close() (or taken by
 *   cfut_transport_new()).
 * Returns: 0; CFUT_EINVAL for a NULL 'url' or 'out'; CFUT_ENOMEM;
 *   -ENOTSUP when the page has no WebSocket; -EINVAL for a URL that
 *   does not parse, has a scheme other than ws: or wss:, or a fragment
 *   (what the browser refuses at once; a URL it refuses later, a blocked
 *   port say, ends the stream with -ECONNREFUSED).
 * Context: the page's thread.
 */
CFUT_API int cfut_web_ws_open(const char *url,
                              const struct cfut_web_ws_config *cfg,
                              struct cfut_stream **out);

#ifdef __cplusplus
}
#endif

#endif /* CFUT_WEB_H */
