/*
 * cfut_bufio.h: buffered reading and writing over any stream (an fd
 * stream, the in-memory pair, a WebSocket): a reader with line, delimiter
 * and exact reads bounded by a maximum length and direct access to its
 * buffer (fill, consume), and a writer with write_all, vectored writes and
 * flush. Each side has one buffer of fixed capacity, the caller's or one
 * allocation at init: nothing is allocated per line or per write.
 *
 * Threading: single-threaded: a reader, a writer and their futures are
 * used on the thread of the stream they wrap. One future at a time per
 * reader (or writer); a reader and a writer may share one stream.
 * Lifetime: the reader and writer live in caller storage; they borrow the
 * stream, which must outlive them (deinit does not close it). Their
 * futures live in caller storage, pinned from their first poll until drop.
 * Cancellation: dropping a pending future keeps every byte that reached
 * the buffer (see each future for what that means).
 */
#ifndef CFUT_BUFIO_H
#define CFUT_BUFIO_H

#include <stdbool.h>
#include <stddef.h>

#include "cfut_future.h"
#include "cfut_io.h"
#include "cfut_stream.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------- */
/* The reader                                                              */
/* ---------------------------------------------------------------------- */

/*
 * A buffered reader: the bytes read from the stream and not yet consumed
 * are [start, end) of its buffer. Once the stream has ended (end of stream
 * or an error), that status is kept and reported after the bytes left.
 */
struct cfut_buf_reader {
    /* private: do not touch */
    struct cfut_stream *stream;
    unsigned char *buf;
    size_t cap;
    size_t start; /* the first byte not consumed */
    size_t end;   /* one past the last byte read */
    int status;   /* 0 while the stream may give more, else how it ended */
    bool owns_buf;
};

/*
 * Initialises 'r' to read from 's' through a buffer of 'cap' bytes: 'buf'
 * if not NULL, else one allocation of 'cap' bytes, freed by
 * cfut_buf_reader_deinit(). The capacity bounds every line and frame the
 * reader can hand out.
 * Ownership: 's' and 'buf' are kept until cfut_buf_reader_deinit().
 * Returns: 0; CFUT_EINVAL if 'r' or 's' is NULL or 'cap' is 0; CFUT_ENOMEM
 *   ('r' is then untouched).
 * Context: the stream's thread.
 */
CFUT_API int cfut_buf_reader_init(struct cfut_buf_reader *r,
                                  struct cfut_stream *s, void *buf, size_t cap);

/*
 * Releases 'r': frees its buffer if it allocated one. The stream stays
 * open; bytes buffered and not consumed are lost. No future of 'r' may be
 * alive.
 * Ownership: 'r' is borrowed; NULL is a no-op.
 */
CFUT_API void cfut_buf_reader_deinit(struct cfut_buf_reader *r);

/*
 * Returns the bytes buffered and not consumed, and writes their number to
 * '*len' ('len' may be NULL). The pointer stays valid until the next poll
 * of a future of 'r', or cfut_buf_reader_consume() / deinit.
 */
CFUT_API const char *cfut_buf_reader_buffered(const struct cfut_buf_reader *r,
                                              size_t *len);

/*
 * Consumes 'n' buffered bytes: the next read starts after them.
 * 'n' must not exceed the bytes buffered (aborts with a message if it does).
 * Context: the stream's thread, not while a future of 'r' is pending.
 */
CFUT_API void cfut_buf_reader_consume(struct cfut_buf_reader *r, size_t n);

/* Returns the capacity of the buffer of 'r'. */
CFUT_API size_t cfut_buf_reader_capacity(const struct cfut_buf_reader *r);

/* The output of the reader's futures. */
struct cfut_buf_result {
    int status;       /* 0, or why the read stopped (see each future) */
    const char *data; /* the bytes (a view, or the caller's 'dst') */
    size_t len;       /* how many */
};

/*
 * A read through a buffered reader: fill, read_until, read_line or
 * read_exact, set by the init function. Views it hands out point into the
 * reader's buffer and stay valid until the next poll of a future of the
 * same reader, or cfut_buf_reader_consume() / deinit.
 */
struct cfut_buf_read {
    /* private: do not touch */
    struct cfut_future base;
    struct cfut_buf_reader *r;
    int kind;
    int delim;
    size_t max;     /* fill: bytes wanted; until: the longest line */
    size_t scanned; /* until: buffered bytes already searched */
    char *dst;      /* exact: the caller's buffer */
    size_t want;    /* exact: bytes wanted */
    size_t done;    /* exact: bytes copied */
};

/*
 * Initialises 'f' to make at least 'min' bytes buffered (0 counts as 1;
 * more than the capacity counts as the capacity), reading from the stream
 * only while fewer are; it consumes nothing. Output: struct
 * cfut_buf_result: 0 with a view of every byte buffered (at least 'min');
 * or how the stream ended (CFUT_EEOF, or its error) with a view of the
 * fewer bytes left. Cancel-safe: a drop loses nothing.
 * Ownership: 'r' is kept until 'f' is dropped.
 * Pinned: from its first poll until drop.
 */
CFUT_API void cfut_buf_fill_init(struct cfut_buf_read *f,
                                 struct cfut_buf_reader *r, size_t min);

/*
 * Initialises 'f' to read up to and including the byte 'delim', within
 * 'max' bytes (0 or more than the capacity: the capacity). Output: struct
 * cfut_buf_result, a view of the bytes:
 *   0: the bytes up to and including 'delim', consumed. At the end of
 *     the stream the last bytes come without 'delim' (check the last byte);
 *   CFUT_EMSGSIZE: 'max' bytes came without 'delim'. Nothing is consumed:
 *     the view shows those first 'max' bytes, which stay buffered;
 *     consume them (and go on until 'delim' with more reads) or give up
 *     on the stream;
 *   CFUT_EEOF: the stream ended with no byte left (len 0);
 *   the stream's error: the bytes before it stay buffered (view, len).
 * Cancel-safe: nothing is consumed before READY, so a dropped read loses
 * no byte and the next one starts at the same place.
 * Ownership: 'r' is kept until 'f' is dropped.
 * Pinned: from its first poll until drop.
 */
CFUT_API void cfut_buf_read_until_init(struct cfut_buf_read *f,
                                       struct cfut_buf_reader *r,
                                       unsigned char delim, size_t max);

/* cfut_buf_read_until_init() with the delimiter '\n'. */
CFUT_API void cfut_buf_read_line_init(struct cfut_buf_read *f,
                                      struct cfut_buf_reader *r, size_t max);

/*
 * Initialises 'f' to read exactly 'n' bytes into 'dst' (any 'n': beyond
 * the capacity, once the buffer is empty, it reads straight into 'dst').
 * Output: struct cfut_buf_result with 'data' == 'dst': 0 and len 'n';
 * CFUT_EEOF when the stream ended first, or the stream's error; 'len'
 * then counts the bytes copied (consumed). Not cancel-safe: bytes copied
 * into 'dst' before a drop are consumed.
 * Ownership: 'r' and 'dst' are kept until 'f' is dropped.
 * Pinned: from its first poll until drop.
 */
CFUT_API void cfut_buf_read_exact_init(struct cfut_buf_read *f,
                                       struct cfut_buf_reader *r, void *dst,
                                       size_t n);

/* ---------------------------------------------------------------------- */
/* The writer                                                              */
/* ---------------------------------------------------------------------- */

/*
 * A buffered writer: bytes written go into its buffer and leave for the
 * stream when the buffer is full, when a write does not fit (then the
 * buffer and the new bytes leave in one vectored write) or on flush. An
 * error of the stream is kept: every later write and flush reports it.
 */
struct cfut_buf_writer {
    /* private: do not touch */
    struct cfut_stream *stream;
    unsigned char *buf;
    size_t cap;
    size_t off; /* the first byte not yet written to the stream */
    size_t len; /* one past the last byte buffered */
    int status; /* 0, or the stream's error */
    bool owns_buf;
};

/*
 * Initialises 'w' to write to 's' through a buffer of 'cap' bytes: 'buf'
 * if not NULL, else one allocation of 'cap' bytes, freed by
 * cfut_buf_writer_deinit().
 * Ownership: 's' and 'buf' are kept until cfut_buf_writer_deinit().
 * Returns: 0; CFUT_EINVAL if 'w' or 's' is NULL or 'cap' is 0; CFUT_ENOMEM
 *   ('w' is then untouched).
 * Context: the stream's thread.
 */
CFUT_API int cfut_buf_writer_init(struct cfut_buf_writer *w,
                                  struct cfut_stream *s, void *buf, size_t cap);

/*
 * Releases 'w': frees its buffer if it allocated one. Bytes not flushed
 * are lost (flush first). The stream stays open. No future of 'w' may be
 * alive.
 * Ownership: 'w' is borrowed; NULL is a no-op.
 */
CFUT_API void cfut_buf_writer_deinit(struct cfut_buf_writer *w);

/* Returns the number of bytes buffered and not yet written to the stream. */
CFUT_API size_t cfut_buf_writer_buffered(const struct cfut_buf_writer *w);

/*
 * Copies the 'len' bytes at 'data' into the buffer of 'w' at once, without
 * I/O, if they fit in the room left.
 * Ownership: 'data' is borrowed.
 * Returns: 0; CFUT_EFULL if they do not fit (nothing is copied: write
 *   them with cfut_buf_write_init(), or flush first); the stream's error
 *   kept from an earlier write.
 * Context: the stream's thread, not while a future of 'w' is pending.
 */
CFUT_API int cfut_buf_writer_put(struct cfut_buf_writer *w, const void *data,
                                 size_t len);

/*
 * A write or a flush through a buffered writer. Output: struct
 * cfut_io_result: 0 with 'n' the bytes taken; or the stream's error
 * (-EPIPE, CFUT_ECONNRESET, ...), with 'n' the bytes taken before it.
 * "Taken" means copied into the buffer or written to the stream: a write
 * is READY once every byte is taken, which is not once every byte has
 * left (flush for that).
 */
struct cfut_buf_write {
    /* private: do not touch */
    struct cfut_future base;
    struct cfut_buf_writer *w;
    struct cfut_iovec one; /* the single piece of a plain write */
    const struct cfut_iovec *iov;
    size_t n_iov;
    size_t idx;   /* the piece being taken */
    size_t off;   /* bytes of it taken */
    size_t taken; /* bytes taken in all */
    bool flush;   /* a flush: write the buffer out */
};

/*
 * Initialises 'f' to write all 'len' bytes at 'data' (write_all). Bytes
 * that fit are copied into the buffer; when they do not, the buffer and
 * the bytes leave together in vectored writes, so a large write is not
 * copied. Cancellation: bytes taken before a drop stay taken (the
 * buffered ones leave with the next write or flush); the rest do not.
 * Ownership: 'w' and 'data' are kept until 'f' is dropped.
 * Pinned: from its first poll until drop.
 */
CFUT_API void cfut_buf_write_init(struct cfut_buf_write *f,
                                  struct cfut_buf_writer *w, const void *data,
                                  size_t len);

/*
 * Initialises 'f' to write all the 'n_iov' pieces at 'iov', in order
 * (vectored write_all: a header and a payload without copying them
 * together); as cfut_buf_write_init() otherwise.
 * Ownership: 'w', 'iov' and the pieces are kept until 'f' is dropped.
 * Pinned: from its first poll until drop.
 */
CFUT_API void cfut_buf_writev_init(struct cfut_buf_write *f,
                                   struct cfut_buf_writer *w,
                                   const struct cfut_iovec *iov, size_t n_iov);

/*
 * Initialises 'f' to write every buffered byte to the stream. Output:
 * struct cfut_io_result with 'n' the bytes written by this flush.
 * Cancellation: bytes written before a drop are gone from the buffer; the
 * others stay buffered.
 * Ownership: 'w' is kept until 'f' is dropped.
 * Pinned: from its first poll until drop.
 */
CFUT_API void cfut_buf_flush_init(struct cfut_buf_write *f,
                                  struct cfut_buf_writer *w);

#ifdef __cplusplus
}
#endif

#endif /* CFUT_BUFIO_H */
