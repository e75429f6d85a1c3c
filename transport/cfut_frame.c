/*
 * cfut_frame.c: wire format v1: ids, frame encoding and the incremental
 * decoder. It does no I/O; the transport feeds it the bytes it reads.
 */
#define _GNU_SOURCE
#include "cfut_frame.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include "cfut_future.h"

/* ---- ids ---- */

static void
set_uuid_v4_bits(struct cfut_id *id)
{
    id->bytes[6] = (unsigned char)((id->bytes[6] & 0x0f) | 0x40);
    id->bytes[8] = (unsigned char)((id->bytes[8] & 0x3f) | 0x80);
}

static int
fill_random(void *buf, size_t n)
{
    unsigned char *p = buf;
    while (n > 0) {
        ssize_t r = getrandom(p, n, 0);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -errno; /* ENOSYS: no getrandom() in this kernel */
        }
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

int
cfut_id_random(struct cfut_id *out)
{
    struct cfut_id id;
    if (out == NULL)
        return CFUT_EINVAL;
    int rc = fill_random(id.bytes, sizeof id.bytes);
    if (rc < 0)
        return rc;
    set_uuid_v4_bits(&id);
    *out = id;
    return 0;
}

int
cfut_id_gen_init(struct cfut_id_gen *g)
{
    uint64_t key[2];
    if (g == NULL)
        return CFUT_EINVAL;
    int rc = fill_random(key, sizeof key);
    if (rc < 0)
        return rc;
    g->key[0] = key[0];
    g->key[1] = key[1];
    g->counter = 0;
    return 0;
}

/* The splitmix64 finaliser: a bijection on 64-bit values. */
static uint64_t
mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 31;
    return x;
}

static void
put_u64_be(unsigned char *p, uint64_t v)
{
#if defined(__GNUC__) && defined(__BYTE_ORDER__) &&                            \
    __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    v = __builtin_bswap64(v);
    memcpy(p, &v, sizeof v);
#else
    for (int i = 7; i >= 0; i--) {
        p[i] = (unsigned char)v;
        v >>= 8;
    }
#endif
}

/* A keyed bijection on 60-bit values (xor-shift and odd multiplies). */
static uint64_t
mix60(uint64_t x, uint64_t key)
{
    const uint64_t mask = (1ull << 60) - 1;
    x = (x ^ key) & mask;
    x ^= x >> 29;
    x = (x * 0xbf58476d1ce4e5b9ull) & mask;
    x ^= x >> 31;
    x = (x * 0x94d049bb133111ebull) & mask;
    x ^= x >> 30;
    return x;
}

void
cfut_id_gen_next(struct cfut_id_gen *g, struct cfut_id *out)
{
    /*
     * 'u' is a bijection of the counter on 60 bits, placed in the 60 bits
     * the UUID version nibble leaves alone (bytes 0..5, the low nibble of
     * byte 6, byte 7): so ids of one generator never repeat before 2^60.
     */
    uint64_t u = mix60(g->counter++, g->key[0]);
    uint64_t hi =
        (u >> 12) << 16 | (0x40ull | ((u >> 8) & 0xf)) << 8 | (u & 0xff);
    uint64_t lo = mix64(u ^ g->key[1]);
    put_u64_be(out->bytes, hi);
    put_u64_be(out->bytes + 8, lo);
    set_uuid_v4_bits(out);
}

bool
cfut_id_eq(const struct cfut_id *a, const struct cfut_id *b)
{
    return memcmp(a->bytes, b->bytes, CFUT_ID_SIZE) == 0;
}

void
cfut_id_format(const struct cfut_id *id, char buf[37])
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    for (size_t i = 0; i < CFUT_ID_SIZE; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            buf[o++] = '-';
        buf[o++] = hex[id->bytes[i] >> 4];
        buf[o++] = hex[id->bytes[i] & 0xf];
    }
    buf[o] = '\0';
}

/* ---- encoding ---- */

static size_t
effective_max(size_t max_len)
{
    if (max_len == 0)
        return CFUT_FRAME_DEFAULT_MAX_LEN;
    return max_len > UINT32_MAX ? UINT32_MAX : max_len;
}

int
cfut_frame_encode_header(unsigned char hdr[CFUT_FRAME_HEADER_SIZE],
                         enum cfut_frame_kind kind, const struct cfut_id *id,
                         size_t payload_len, size_t max_len)
{
    if (kind != CFUT_FRAME_REQUEST && kind != CFUT_FRAME_RESPONSE &&
        kind != CFUT_FRAME_ERROR)
        return CFUT_EINVAL;
    size_t max = effective_max(max_len);
    if (max < CFUT_FRAME_MIN_LEN || payload_len > max - CFUT_FRAME_MIN_LEN)
        return CFUT_EMSGSIZE;
    uint32_t len = (uint32_t)(CFUT_FRAME_MIN_LEN + payload_len);
    hdr[0] = (unsigned char)(len >> 24);
    hdr[1] = (unsigned char)(len >> 16);
    hdr[2] = (unsigned char)(len >> 8);
    hdr[3] = (unsigned char)len;
    hdr[4] = (unsigned char)CFUT_FRAME_VERSION;
    hdr[5] = (unsigned char)kind;
    hdr[6] = 0;
    hdr[7] = 0;
    memcpy(hdr + 8, id->bytes, CFUT_ID_SIZE);
    return 0;
}

int
cfut_frame_encode(void *buf, size_t cap, enum cfut_frame_kind kind,
                  const struct cfut_id *id, const void *payload,
                  size_t payload_len, size_t max_len, size_t *written)
{
    unsigned char hdr[CFUT_FRAME_HEADER_SIZE];
    if (payload == NULL && payload_len != 0)
        return CFUT_EINVAL;
    int rc = cfut_frame_encode_header(hdr, kind, id, payload_len, max_len);
    if (rc < 0)
        return rc;
    if (cap < CFUT_FRAME_HEADER_SIZE ||
        cap - CFUT_FRAME_HEADER_SIZE < payload_len)
        return CFUT_EMSGSIZE;
    memcpy(buf, hdr, sizeof hdr);
    if (payload_len != 0)
        memcpy((unsigned char *)buf + sizeof hdr, payload, payload_len);
    *written = sizeof hdr + payload_len;
    return 0;
}

/* ---- decoding ---- */

int
cfut_frame_decoder_init(struct cfut_frame_decoder *d, size_t max_len)
{
    if (max_len != 0 && (max_len < CFUT_FRAME_MIN_LEN || max_len > UINT32_MAX))
        return CFUT_EINVAL;
    memset(d, 0, sizeof *d);
    d->max_len = effective_max(max_len);
    return 0;
}

void
cfut_frame_decoder_deinit(struct cfut_frame_decoder *d)
{
    cfut_free(d->part);
    d->part = NULL;
    d->part_cap = 0;
    d->part_len = 0;
    d->n_hdr = 0;
}

/*
 * Checks the first 'n' (up to 24) bytes of a header as far as they go, so
 * a bad length is refused as soon as its 4 bytes are in.
 */
static int
check_prefix(const unsigned char *h, size_t n, size_t max_len)
{
    if (n >= 4) {
        uint32_t len = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 |
                       (uint32_t)h[2] << 8 | (uint32_t)h[3];
        if (len < CFUT_FRAME_MIN_LEN || len > max_len)
            return CFUT_EPROTO;
    }
    if (n >= 5 && h[4] != CFUT_FRAME_VERSION)
        return CFUT_EPROTO;
    if (n >= 6 && (h[5] < CFUT_FRAME_REQUEST || h[5] > CFUT_FRAME_ERROR))
        return CFUT_EPROTO;
    if (n >= 7 && h[6] != 0)
        return CFUT_EPROTO;
    if (n >= 8 && h[7] != 0)
        return CFUT_EPROTO;
    return 0;
}

static size_t
header_payload_len(const unsigned char *h)
{
    uint32_t len = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 |
                   (uint32_t)h[2] << 8 | (uint32_t)h[3];
    return (size_t)len - CFUT_FRAME_MIN_LEN;
}

static void
fill_frame(struct cfut_frame *out, const unsigned char *h,
           const unsigned char *payload, size_t payload_len)
{
    out->kind = h[5];
    memcpy(out->id.bytes, h + 8, CFUT_ID_SIZE);
    out->payload = payload;
    out->payload_len = payload_len;
}

/*
 * Two phases: gathering a header (d->n_hdr < 24), then gathering a split
 * payload (d->n_hdr == 24, d->part_len bytes in d->part). A frame whose
 * bytes are all in 'data' is returned in place, without either phase.
 */
int
cfut_frame_decoder_next(struct cfut_frame_decoder *d, const void *data,
                        size_t n, size_t *consumed, struct cfut_frame *out)
{
    const unsigned char *in = data;
    if (d->error != 0)
        return d->error;

    if (d->n_hdr == 0 && n >= CFUT_FRAME_HEADER_SIZE) {
        /*
         * The fast path: a header that starts here, whole. Its first 8
         * bytes are checked as two words: the length's range, then version
         * 1, a known kind and zero reserved bits at once.
         */
        uint32_t len = (uint32_t)in[0] << 24 | (uint32_t)in[1] << 16 |
                       (uint32_t)in[2] << 8 | (uint32_t)in[3];
        uint32_t vk = (uint32_t)in[4] << 24 | (uint32_t)in[5] << 16 |
                      (uint32_t)in[6] << 8 | (uint32_t)in[7];
        if (len - CFUT_FRAME_MIN_LEN > d->max_len - CFUT_FRAME_MIN_LEN ||
            (vk & 0xff00ffffu) != CFUT_FRAME_VERSION << 24 ||
            in[5] < CFUT_FRAME_REQUEST || in[5] > CFUT_FRAME_ERROR) {
            d->error = CFUT_EPROTO;
            return CFUT_EPROTO;
        }
        size_t plen = (size_t)len - CFUT_FRAME_MIN_LEN;
        if (n - CFUT_FRAME_HEADER_SIZE >= plen) {
            fill_frame(out, in, in + CFUT_FRAME_HEADER_SIZE, plen);
            d->n_frames++;
            *consumed = CFUT_FRAME_HEADER_SIZE + plen;
            return 1;
        }
        /* A payload split across reads: the general path below. */
    }

    if (d->n_hdr == CFUT_FRAME_HEADER_SIZE) {
        /* Phase 2: the rest of a split payload. */
        size_t plen = header_payload_len(d->hdr);
        size_t take = plen - d->part_len;
        if (take > n)
            take = n;
        if (take != 0)
            memcpy(d->part + d->part_len, in, take);
        d->part_len += take;
        if (d->part_len < plen) {
            *consumed = n;
            return 0;
        }
        fill_frame(out, d->hdr, d->part, plen);
        d->n_hdr = 0;
        d->part_len = 0;
        d->n_frames++;
        *consumed = take;
        return 1;
    }

    /* Phase 1: the header, from what was kept plus the new bytes. */
    unsigned char tmp[CFUT_FRAME_HEADER_SIZE];
    const unsigned char *h = in;
    size_t have = d->n_hdr;
    size_t take = CFUT_FRAME_HEADER_SIZE - have;
    if (take > n)
        take = n;
    if (have != 0) {
        memcpy(tmp, d->hdr, have);
        memcpy(tmp + have, in, take);
        h = tmp;
    }
    int rc = check_prefix(h, have + take, d->max_len);
    if (rc < 0) {
        d->error = rc;
        return rc;
    }
    if (have + take < CFUT_FRAME_HEADER_SIZE) {
        memcpy(d->hdr + have, in, take);
        d->n_hdr = have + take;
        *consumed = n;
        return 0;
    }
    size_t plen = header_payload_len(h);
    size_t rest = n - take;
    if (rest >= plen) {
        /* The payload is all here: return it in place. */
        fill_frame(out, h, in + take, plen);
        d->n_hdr = 0;
        d->n_frames++;
        *consumed = take + plen;
        return 1;
    }
    /* A split payload: one block of its exact size, then gather. */
    if (d->part_cap < plen) {
        unsigned char *p = cfut_alloc(plen);
        if (p == NULL)
            return CFUT_ENOMEM;
        cfut_free(d->part);
        d->part = p;
        d->part_cap = plen;
    }
    memcpy(d->hdr, h, CFUT_FRAME_HEADER_SIZE);
    d->n_hdr = CFUT_FRAME_HEADER_SIZE;
    if (rest != 0)
        memcpy(d->part, in + take, rest);
    d->part_len = rest;
    *consumed = n;
    return 0;
}

bool
cfut_frame_decoder_has_partial(const struct cfut_frame_decoder *d)
{
    return d->n_hdr != 0;
}

uint64_t
cfut_frame_decoder_n_frames(const struct cfut_frame_decoder *d)
{
    return d->n_frames;
}
