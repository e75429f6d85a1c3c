/*
 * cfut_frame.h: the transport's wire format v1 (docs/wire-format.md): frame
 * encoding, an incremental decoder that takes bytes as they arrive (many
 * frames per buffer, frames split at any byte), and 128-bit request ids in
 * UUID v4 layout.
 *
 * Threading: a decoder or an id generator belongs to one thread at a time;
 * the encoding functions and cfut_id_random() are pure or thread-safe.
 * Lifetime: a decoder lives in caller storage between init and deinit; a
 * decoded frame's payload may point into the decoder and stays valid only
 * until the next call on that decoder.
 */
#ifndef CFUT_FRAME_H
#define CFUT_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cfut_errors.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------- */
/* Constants                                                               */
/* ---------------------------------------------------------------------- */

/* The only wire format version this code speaks. */
#define CFUT_FRAME_VERSION 1u
/* Bytes in a request id. */
#define CFUT_ID_SIZE 16u
/* Bytes before the payload: length (4), version, kind, reserved (2), id. */
#define CFUT_FRAME_HEADER_SIZE 24u
/* The smallest legal value of the length field (a frame with no payload). */
#define CFUT_FRAME_MIN_LEN 20u
/* The default largest legal value of the length field: 1 MiB. */
#define CFUT_FRAME_DEFAULT_MAX_LEN (1u << 20)

/* What a frame carries. */
enum cfut_frame_kind {
    CFUT_FRAME_REQUEST = 1,  /* client to server: "name\0args" or raw bytes */
    CFUT_FRAME_RESPONSE = 2, /* server to client: the handler's output */
    CFUT_FRAME_ERROR = 3     /* server to client: the request failed */
};

/* A request id: 16 random bytes in UUID v4 layout. */
struct cfut_id {
    unsigned char bytes[CFUT_ID_SIZE];
};

/* One decoded frame. */
struct cfut_frame {
    uint8_t kind;                 /* enum cfut_frame_kind */
    struct cfut_id id;            /* the request id */
    const unsigned char *payload; /* borrowed: see cfut_frame_decoder_next() */
    size_t payload_len;           /* bytes at 'payload' */
};

/* ---------------------------------------------------------------------- */
/* Ids                                                                     */
/* ---------------------------------------------------------------------- */

/*
 * Writes 16 bytes from the operating system's random source (getrandom)
 * into '*out', with the UUID v4 version and variant bits set.
 * Ownership: 'out' is borrowed.
 * Returns: 0; CFUT_EINVAL if 'out' is NULL; getrandom()'s error as -errno
 *   when the random source fails (-ENOSYS on a kernel without it).
 * Context: anywhere, any thread (one system call).
 */
CFUT_API int cfut_id_random(struct cfut_id *out);

/*
 * A fast id generator: a 128-bit key from cfut_id_random() and a counter,
 * mixed through a bijective 64-bit mixer. Its ids are unpredictable without
 * the key, distinct in their first 60 bits for 2^60 calls, and cost a few
 * nanoseconds (getrandom per request would cost a system call).
 */
struct cfut_id_gen {
    /* private: do not touch */
    uint64_t key[2];
    uint64_t counter;
};

/*
 * Seeds 'g' from the operating system's random source.
 * Returns: 0; CFUT_EINVAL if 'g' is NULL; getrandom()'s error as -errno
 *   when the source fails ('g' is then untouched).
 * Context: anywhere.
 */
CFUT_API int cfut_id_gen_init(struct cfut_id_gen *g);

/*
 * Writes the next id of 'g' into '*out' (UUID v4 layout).
 * Context: the thread that owns 'g'.
 */
CFUT_API void cfut_id_gen_next(struct cfut_id_gen *g, struct cfut_id *out);

/* Tells whether 'a' and 'b' are the same id. */
CFUT_API bool cfut_id_eq(const struct cfut_id *a, const struct cfut_id *b);

/*
 * Writes 'id' as 36 characters of canonical UUID text and a NUL into 'buf'
 * (at least 37 bytes). Ownership: both borrowed.
 */
CFUT_API void cfut_id_format(const struct cfut_id *id, char buf[37]);

/* ---------------------------------------------------------------------- */
/* Encoding                                                                */
/* ---------------------------------------------------------------------- */

/*
 * Writes the 24-byte header of a frame of 'kind' for 'id' with a payload of
 * 'payload_len' bytes into 'hdr'; the payload follows it on the wire.
 * Ownership: 'hdr' and 'id' are borrowed.
 * Returns: 0; CFUT_EINVAL for an unknown 'kind'; CFUT_EMSGSIZE when the
 *   length field would exceed 'max_len' (0 means the default, 1 MiB).
 *   'hdr' is written only on success.
 * Context: anywhere, any thread.
 */
CFUT_API int cfut_frame_encode_header(unsigned char hdr[CFUT_FRAME_HEADER_SIZE],
                                      enum cfut_frame_kind kind,
                                      const struct cfut_id *id,
                                      size_t payload_len, size_t max_len);

/*
 * Writes a whole frame (header and payload) into 'buf' of 'cap' bytes and
 * its size into '*written'.
 * Ownership: all pointers borrowed.
 * Returns: 0; CFUT_EINVAL for an unknown 'kind' or a NULL 'payload' with a
 *   nonzero length; CFUT_EMSGSIZE when the frame exceeds 'max_len' (0: the
 *   default) or does not fit in 'cap'. Nothing is written on failure.
 * Context: anywhere, any thread.
 */
CFUT_API int cfut_frame_encode(void *buf, size_t cap, enum cfut_frame_kind kind,
                               const struct cfut_id *id, const void *payload,
                               size_t payload_len, size_t max_len,
                               size_t *written);

/* ---------------------------------------------------------------------- */
/* Decoding                                                                */
/* ---------------------------------------------------------------------- */

/*
 * An incremental decoder. A frame that arrives whole in one buffer is
 * returned in place (no copy); only a frame split across buffers is
 * gathered: its header in a 24-byte array, its payload in one block of
 * exactly its size, allocated once the header has been checked. So an
 * oversized length is rejected before anything is allocated.
 */
struct cfut_frame_decoder {
    /* private: do not touch */
    size_t max_len;                            /* largest legal length field */
    unsigned char hdr[CFUT_FRAME_HEADER_SIZE]; /* a split header */
    size_t n_hdr;                              /* bytes in 'hdr' */
    unsigned char *part; /* the payload of a split frame */
    size_t part_cap;     /* bytes allocated at 'part' */
    size_t part_len;     /* bytes gathered at 'part' */
    int error;           /* sticky protocol error, or 0 */
    uint64_t n_frames;   /* frames decoded so far */
};

/*
 * Initialises 'd' to accept length fields up to 'max_len' (0: the default,
 * CFUT_FRAME_DEFAULT_MAX_LEN).
 * Returns: 0; CFUT_EINVAL if 'max_len' is nonzero and below
 *   CFUT_FRAME_MIN_LEN or above UINT32_MAX ('d' is then untouched).
 * Context: anywhere; allocates nothing.
 */
CFUT_API int cfut_frame_decoder_init(struct cfut_frame_decoder *d,
                                     size_t max_len);

/* Releases what 'd' holds. Context: the owner thread; once. */
CFUT_API void cfut_frame_decoder_deinit(struct cfut_frame_decoder *d);

/*
 * Consumes bytes from 'data' ('n' of them) until it has one whole frame or
 * has used them all. Call it in a loop, advancing 'data' by '*consumed',
 * until it returns 0 with all of 'data' consumed.
 * A frame whose length field is below CFUT_FRAME_MIN_LEN or above the
 * maximum, or whose version, kind or reserved field is wrong, is a
 * protocol error, detected as soon as the offending byte arrives; the
 * error is sticky (every later call returns it).
 * Ownership: 'data' is borrowed; '*out' receives a frame whose payload
 *   points into 'data' or into 'd', valid until the next call on 'd' (and
 *   while 'data' is).
 * Returns: 1 with '*out' and '*consumed' written; 0 when every byte was
 *   taken and no frame is complete yet ('*consumed' = 'n'); CFUT_EPROTO for
 *   a protocol error; CFUT_ENOMEM when the block for a split payload cannot
 *   be allocated (nothing was consumed: the call may be retried). On
 *   failure no out-parameter is written.
 * Context: the owner thread.
 */
CFUT_API int cfut_frame_decoder_next(struct cfut_frame_decoder *d,
                                     const void *data, size_t n,
                                     size_t *consumed, struct cfut_frame *out);

/* Tells whether 'd' holds part of a frame (bytes of an unfinished frame). */
CFUT_API bool
cfut_frame_decoder_has_partial(const struct cfut_frame_decoder *d);

/* Returns the number of frames 'd' has decoded. */
CFUT_API uint64_t
cfut_frame_decoder_n_frames(const struct cfut_frame_decoder *d);

#ifdef __cplusplus
}
#endif

#endif /* CFUT_FRAME_H */
