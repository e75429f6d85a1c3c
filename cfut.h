/*
 * cfut.h: the umbrella header: includes every public cfut header, so a
 * program needs only '#include <cfut.h>' and 'pkg-config --cflags --libs
 * cfut'. See each header for its threading and lifetime model.
 */
#ifndef CFUT_H
#define CFUT_H

#include "cfut_config.h"
#include "cfut_errors.h"
#include "cfut_alloc.h"
#include "cfut_future.h"
#include "cfut_leaf.h"
#include "cfut_coro.h"
#include "cfut_join.h"
#include "cfut_select.h"
#include "cfut_and_then.h"
#include "cfut_executor.h"
#include "cfut_pool.h"
#include "cfut_trace.h"
#include "cfut_frame.h"
#include "cfut_idmap.h"
#include "cfut_reactor.h"
#include "cfut_time.h"
#include "cfut_io.h"
#include "cfut_async.h"
#include "cfut_stream.h"
#include "cfut_bufio.h"
#include "cfut_codec.h"
#include "cfut_blocking.h"
#include "cfut_net.h"
#include "cfut_signal.h"
#include "cfut_oneshot.h"
#include "cfut_mpsc.h"
#include "cfut_token.h"
#include "cfut_watch.h"
#include "cfut_broadcast.h"
#include "cfut_semaphore.h"
#include "cfut_transport.h"
#include "cfut_dispatch.h"
#include "cfut_ws.h"

#endif /* CFUT_H */
