/*
 * cfut_slots_int.h: the client's pending requests: a slab of request
 * slots addressed by index + generation (internal to cfut_transport.c;
 * never included by a public header).
 *
 * A slot is the pending map's entry for one request. A local request's
 * slot embeds the state of its oneshot (the core of
 * cfut_oneshot_core_int.h) and the value's storage, a struct
 * cfut_response: the transport holds the sending half (the slot), the
 * request future the receiving half (its index and generation), and the
 * response is decoded straight into the slot. A request from another
 * thread keeps a thread-safe oneshot's sender in its slot instead.
 *
 * The wire id of a request names its slot: bytes 8..15 are
 * 0b10 | index (30 bits) | generation (32 bits), big-endian (the top two
 * bits are the UUID variant); bytes 0..7 are a keyed check of them under
 * the transport's random key, with the UUID v4 version nibble in byte 6.
 * A slot's generation goes up each time it is freed, so a response for an
 * earlier use of the slot (a request that timed out or was dropped, whose
 * slot now serves another) no longer matches it and is dropped and
 * counted, never delivered to the wrong request; a response whose check
 * fails names no request of this transport (unknown).
 */
#ifndef CFUT_SLOTS_INT_H
#define CFUT_SLOTS_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "cfut_alloc_int.h"
#include "cfut_frame.h"
#include "cfut_oneshot_core_int.h"
#include "cfut_oneshot_int.h"
#include "cfut_transport.h"

/* The largest number of slots: the index has 30 bits on the wire. */
#define CFUT__SLOTS_MAX (1u << 30)

enum cfut__slot_state {
    CFUT__SLOT_FREE = 0, /* on the free list */
    CFUT__SLOT_LOCAL,    /* a local request: 'core' and 'value' */
    CFUT__SLOT_SYNC      /* a request from another thread: 'sync_tx' */
};

/* How the latest finished use of a slot ended (for the counters). */
enum cfut__slot_last {
    CFUT__SLOT_LAST_NONE = 0,
    CFUT__SLOT_LAST_ANSWERED, /* a response was delivered */
    CFUT__SLOT_LAST_DROPPED   /* dropped or timed out before one came */
};

struct cfut__slot {
    uint32_t gen;  /* the generation of the current (or next) use */
    uint8_t state; /* enum cfut__slot_state */
    uint8_t last;  /* enum cfut__slot_last: how use 'gen - 1' ended */
    bool answered; /* this use got its response (or its failure) */
    /* u.local.core is initialised (the last use was local): a new local
     * use only clears its flags; its wakers are empty once a use ends */
    bool core_ready;
    uint32_t next; /* the next free slot's index, while free */
    union {
        struct {
            struct cfut__oneshot_core core; /* the oneshot's state */
            struct cfut_response value;     /* the oneshot's value */
        } local;
        struct cfut__oneshot_any_sender sync_tx;
    } u;
};

struct cfut__slots {
    struct cfut__slot *v;
    uint32_t cap;       /* slots allocated */
    uint32_t free_head; /* first free slot; 'cap' when none */
    uint64_t key[2];    /* the id check's key */
};

static inline void
cfut__slots_init(struct cfut__slots *s, const uint64_t key[2])
{
    s->v = NULL;
    s->cap = 0;
    s->free_head = 0;
    s->key[0] = key[0];
    s->key[1] = key[1];
}

static inline void
cfut__slots_deinit(struct cfut__slots *s)
{
    cfut_free(s->v);
    s->v = NULL;
    s->cap = 0;
}

/*
 * Takes a free slot, growing the slab (doubling) when none is left; the
 * slots move then, so nothing keeps a pointer to a slot across a call.
 * Returns: the slot's index; CFUT_ENOMEM (as a negative value) when the
 *   slab cannot grow.
 */
static inline int64_t
cfut__slots_take(struct cfut__slots *s)
{
    if (s->free_head == s->cap) {
        uint32_t cap = s->cap != 0 ? s->cap * 2 : 64;
        if (s->cap >= CFUT__SLOTS_MAX)
            return CFUT_ENOMEM;
        struct cfut__slot *v = cfut_alloc((size_t)cap * sizeof *v);
        if (v == NULL)
            return CFUT_ENOMEM;
        if (s->cap != 0)
            memcpy(v, s->v, (size_t)s->cap * sizeof *v);
        for (uint32_t i = s->cap; i < cap; i++) {
            v[i].gen = 0;
            v[i].state = CFUT__SLOT_FREE;
            v[i].last = CFUT__SLOT_LAST_NONE;
            v[i].answered = false;
            v[i].core_ready = false;
            v[i].next = i + 1;
        }
        cfut_free(s->v);
        s->v = v;
        s->free_head = s->cap;
        s->cap = cap;
    }
    uint32_t i = s->free_head;
    s->free_head = s->v[i].next;
    s->v[i].answered = false;
    return i;
}

/* Gives slot 'i' back: its generation goes up, its use is remembered. */
static inline void
cfut__slots_put(struct cfut__slots *s, uint32_t i)
{
    struct cfut__slot *sl = &s->v[i];
    sl->last =
        sl->answered ? CFUT__SLOT_LAST_ANSWERED : CFUT__SLOT_LAST_DROPPED;
    sl->gen++;
    sl->state = CFUT__SLOT_FREE;
    sl->next = s->free_head;
    s->free_head = i;
}

/* The check of an id's low word under the key (a keyed mixing). */
static inline uint64_t
cfut__slots_check(const struct cfut__slots *s, uint64_t w)
{
    uint64_t x = (w ^ s->key[0]) * 0x9e3779b97f4a7c15ull;
    x ^= x >> 29;
    x = (x ^ s->key[1]) * 0xbf58476d1ce4e5b9ull;
    x ^= x >> 32;
    return (x & ~0xf000ull) | 0x4000ull; /* version 4 in byte 6 */
}

static inline void
cfut__slots_put_be(unsigned char *p, uint64_t v)
{
#if defined(__GNUC__) && defined(__BYTE_ORDER__) &&                            \
    __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    v = __builtin_bswap64(v);
    memcpy(p, &v, 8);
#else
    for (int k = 7; k >= 0; k--) {
        p[k] = (unsigned char)v;
        v >>= 8;
    }
#endif
}

static inline uint64_t
cfut__slots_get_be(const unsigned char *p)
{
#if defined(__GNUC__) && defined(__BYTE_ORDER__) &&                            \
    __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint64_t v;
    memcpy(&v, p, 8);
    return __builtin_bswap64(v);
#else
    uint64_t v = 0;
    for (int k = 0; k < 8; k++)
        v = v << 8 | p[k];
    return v;
#endif
}

/* The wire id of use 'gen' of slot 'i'. */
static inline void
cfut__slots_id(const struct cfut__slots *s, uint32_t i, uint32_t gen,
               struct cfut_id *out)
{
    uint64_t w = 2ull << 62 | (uint64_t)i << 32 | gen;
    cfut__slots_put_be(out->bytes, cfut__slots_check(s, w));
    cfut__slots_put_be(out->bytes + 8, w);
}

/*
 * Reads an id: true with the slot's index and the generation it names,
 * false when it is not an id of this slab (its check fails, or its index
 * is past the slab).
 */
static inline bool
cfut__slots_parse(const struct cfut__slots *s, const struct cfut_id *id,
                  uint32_t *index, uint32_t *gen)
{
    uint64_t w = cfut__slots_get_be(id->bytes + 8);
    if (cfut__slots_get_be(id->bytes) != cfut__slots_check(s, w) ||
        (w >> 62) != 2)
        return false;
    *index = (uint32_t)(w >> 32) & (CFUT__SLOTS_MAX - 1);
    *gen = (uint32_t)w;
    return *index < s->cap;
}

#endif /* CFUT_SLOTS_INT_H */
