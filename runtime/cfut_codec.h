/*
 * cfut_codec.h: framed codecs on a buffered reader (cfut_bufio.h): a line
 * codec ("\n" or "\r\n" ends a line) and a length-prefixed codec (a u16 or
 * u32 big-endian length, then that many bytes), each with a maximum
 * length. Decoding is a future whose output is a view into the reader's
 * buffer (nothing is allocated per frame); encoding is a helper that
 * checks the frame and describes it as iovecs for cfut_buf_writev_init(),
 * so a payload is never copied to add its framing.
 *
 * Threading: single-threaded, on the stream's thread, like the reader.
 * Lifetime: a codec lives in caller storage and borrows its reader, which
 * must outlive it; a decode future is pinned from its first poll until
 * drop. Decoding is cancel-safe: a dropped decode consumes nothing.
 */
#ifndef CFUT_CODEC_H
#define CFUT_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cfut_bufio.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------- */
/* The line codec                                                          */
/* ---------------------------------------------------------------------- */

/* How the line codec ends the lines it encodes (it decodes both). */
enum cfut_line_ending { CFUT_LINE_LF = 0, CFUT_LINE_CRLF = 1 };

/*
 * A line codec: lines of at most 'max' bytes, not counting "\n" or
 * "\r\n". After an over-long line it skips the rest of that line.
 */
struct cfut_line_codec {
    /* private: do not touch */
    struct cfut_buf_reader *r;
    size_t max;
    enum cfut_line_ending ending;
    bool discarding; /* skipping an over-long line up to its "\n" */
};

/*
 * Initialises 'c' to decode lines from 'r' (and to encode lines ended by
 * 'ending'). 'r' may be NULL for a codec that only encodes.
 * Ownership: 'r' is kept until 'c' is no longer used.
 * Returns: 0; CFUT_EINVAL if 'c' is NULL, 'max' is 0, or 'max' + 2 bytes
 *   do not fit the capacity of 'r' (a line and its "\r\n" must fit the
 *   buffer).
 */
CFUT_API int cfut_line_codec_init(struct cfut_line_codec *c,
                                  struct cfut_buf_reader *r, size_t max,
                                  enum cfut_line_ending ending);

/*
 * A future that decodes the next line. Output: struct cfut_buf_result:
 *   0: the line, without its "\n" or "\r\n", as a view into the reader's
 *     buffer (valid until the reader's next read); a last line that the
 *     stream's end cuts off without "\n" comes as a line too;
 *   CFUT_EMSGSIZE: a line longer than 'max' (its first bytes are in the
 *     view); the codec skips the rest of it, so the next decode returns
 *     the line after it;
 *   CFUT_EEOF: the stream ended at a line boundary (len 0);
 *   the stream's error (as cfut_buf_read_until_init() says).
 */
struct cfut_line_decode {
    /* private: do not touch */
    struct cfut_future base;
    struct cfut_line_codec *c;
    bool reading; /* 'rd' is initialised and not yet dropped */
    struct cfut_buf_read rd;
};

/*
 * Initialises 'f' to decode a line with 'c' (whose reader is not NULL).
 * Ownership: 'c' is kept until 'f' is dropped.
 * Pinned: from its first poll until drop.
 */
CFUT_API void cfut_line_decode_init(struct cfut_line_decode *f,
                                    struct cfut_line_codec *c);

/*
 * Describes the line of 'len' bytes at 'line' and its ending as two
 * pieces in 'iov' (the line, then "\n" or "\r\n"), ready for
 * cfut_buf_writev_init(); nothing is copied.
 * Ownership: 'line' is kept by 'iov[0]'; 'iov' is written.
 * Returns: 0; CFUT_EMSGSIZE if 'len' exceeds the codec's maximum;
 *   CFUT_EINVAL if the line holds a '\n' (it would end early), or a
 *   pointer is NULL.
 */
CFUT_API int cfut_line_encode(const struct cfut_line_codec *c, const void *line,
                              size_t len, struct cfut_iovec iov[2]);

/* ---------------------------------------------------------------------- */
/* The length-prefixed codec                                               */
/* ---------------------------------------------------------------------- */

/*
 * A length-prefixed codec: each frame is its length as a 'width'-byte
 * (2 or 4) big-endian unsigned number, then that many bytes, at most
 * 'max'.
 */
struct cfut_lenpfx_codec {
    /* private: do not touch */
    struct cfut_buf_reader *r;
    size_t max;
    unsigned width;
    int status; /* CFUT_EMSGSIZE once a frame was too long: kept */
};

/*
 * Initialises 'c' to decode frames from 'r' (NULL: encode only).
 * Ownership: 'r' is kept until 'c' is no longer used.
 * Returns: 0; CFUT_EINVAL if 'c' is NULL, 'width' is not 2 or 4, 'max' is
 *   0 or more than a 'width'-byte length can say, or a frame of 'max'
 *   bytes and its prefix do not fit the capacity of 'r'.
 */
CFUT_API int cfut_lenpfx_codec_init(struct cfut_lenpfx_codec *c,
                                    struct cfut_buf_reader *r, unsigned width,
                                    size_t max);

/*
 * A future that decodes the next frame. Output: struct cfut_buf_result:
 *   0: the frame's bytes (without the prefix) as a view into the reader's
 *     buffer, valid until the reader's next read;
 *   CFUT_EMSGSIZE: the prefix announced more than 'max' bytes. The prefix
 *     is consumed, the bytes it announced are not read: the stream is out
 *     of step, and every later decode returns CFUT_EMSGSIZE (close it).
 *     Nothing is allocated for the announced length;
 *   CFUT_EEOF: the stream ended at a frame boundary;
 *   CFUT_EPROTO: it ended in the middle of a frame;
 *   the stream's error.
 */
struct cfut_lenpfx_decode {
    /* private: do not touch */
    struct cfut_future base;
    struct cfut_lenpfx_codec *c;
    size_t need;  /* prefix + frame, once the prefix is known; else 0 */
    bool reading; /* 'rd' is initialised and not yet dropped */
    struct cfut_buf_read rd;
};

/*
 * Initialises 'f' to decode a frame with 'c' (whose reader is not NULL).
 * Ownership: 'c' is kept until 'f' is dropped.
 * Pinned: from its first poll until drop.
 */
CFUT_API void cfut_lenpfx_decode_init(struct cfut_lenpfx_decode *f,
                                      struct cfut_lenpfx_codec *c);

/*
 * Writes the prefix for a frame of 'len' bytes at 'data' into 'prefix'
 * and describes the frame as two pieces in 'iov' (the prefix, then the
 * bytes), ready for cfut_buf_writev_init(); the bytes are not copied.
 * Ownership: 'prefix' and 'data' are kept by 'iov'; both are written.
 * Returns: 0; CFUT_EMSGSIZE if 'len' exceeds the codec's maximum;
 *   CFUT_EINVAL if a pointer is NULL ('data' may be NULL when 'len' is 0).
 */
CFUT_API int cfut_lenpfx_encode(const struct cfut_lenpfx_codec *c,
                                const void *data, size_t len,
                                unsigned char prefix[4],
                                struct cfut_iovec iov[2]);

#ifdef __cplusplus
}
#endif

#endif /* CFUT_CODEC_H */
