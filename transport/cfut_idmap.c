/*
 * cfut_idmap.c: the id-keyed hash table (linear probing, backward-shift
 * deletion). It never scans the table except to grow or drain it.
 */
#include "cfut_idmap.h"

#include <string.h>

#include "cfut_future.h"

#define MIN_CAP 16u

static uint64_t
load_u64(const unsigned char *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

static size_t
hash_id(uint64_t seed, const struct cfut_id *id)
{
    uint64_t x = load_u64(id->bytes) ^ seed;
    uint64_t y = load_u64(id->bytes + 8);
    x = (x ^ (x >> 32)) * 0xd6e8feb86659fd93ull;
    x ^= y;
    x = (x ^ (x >> 32)) * 0xd6e8feb86659fd93ull;
    x ^= x >> 32;
    return (size_t)x;
}

/* Seeds from the address of the map and a counter: cheap and per-map. */
static uint64_t
new_seed(const void *m)
{
    static _Atomic uint64_t counter;
    uint64_t c = counter++;
    uint64_t x = (uint64_t)(uintptr_t)m ^ (c * 0x9e3779b97f4a7c15ull);
    struct cfut_id rnd;
    if (c == 0 && cfut_id_random(&rnd) == 0)
        x ^= load_u64(rnd.bytes);
    x ^= x >> 31;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 29;
    return x;
}

int
cfut_idmap_init(struct cfut_idmap *m, size_t value_size)
{
    if (value_size > CFUT_IDMAP_MAX_VALUE)
        return CFUT_EINVAL;
    m->slots = NULL;
    m->used = NULL;
    m->cap = 0;
    m->n = 0;
    m->value_size = value_size;
    m->stride = (CFUT_ID_SIZE + value_size + 7u) & ~(size_t)7u;
    m->seed = new_seed(m);
    return 0;
}

void
cfut_idmap_deinit(struct cfut_idmap *m)
{
    cfut_free(m->slots);
    cfut_free(m->used);
    m->slots = NULL;
    m->used = NULL;
    m->cap = 0;
    m->n = 0;
}

static unsigned char *
slot_at(const struct cfut_idmap *m, size_t i)
{
    return m->slots + i * m->stride;
}

/* Places an entry known to be absent, in a table with room. */
static void
place(struct cfut_idmap *m, const unsigned char *key, const void *value)
{
    size_t mask = m->cap - 1;
    size_t i =
        hash_id(m->seed, (const struct cfut_id *)(const void *)key) & mask;
    while (m->used[i])
        i = (i + 1) & mask;
    unsigned char *s = slot_at(m, i);
    memcpy(s, key, CFUT_ID_SIZE);
    if (m->value_size != 0)
        memcpy(s + CFUT_ID_SIZE, value, m->value_size);
    m->used[i] = 1;
    m->n++;
}

static int
resize(struct cfut_idmap *m, size_t cap)
{
    unsigned char *slots = cfut_alloc(cap * m->stride);
    if (slots == NULL)
        return CFUT_ENOMEM;
    uint8_t *used = cfut_alloc(cap);
    if (used == NULL) {
        cfut_free(slots);
        return CFUT_ENOMEM;
    }
    memset(used, 0, cap);
    struct cfut_idmap old = *m;
    m->slots = slots;
    m->used = used;
    m->cap = cap;
    m->n = 0;
    for (size_t i = 0; i < old.cap; i++) {
        if (old.used[i]) {
            unsigned char *s = slot_at(&old, i);
            place(m, s, s + CFUT_ID_SIZE);
        }
    }
    cfut_free(old.slots);
    cfut_free(old.used);
    return 0;
}

/* The capacity needed for 'n' entries at most 7/8 full. */
static size_t
cap_for(size_t n)
{
    size_t cap = MIN_CAP;
    while (cap - cap / 8 < n)
        cap *= 2;
    return cap;
}

int
cfut_idmap_reserve(struct cfut_idmap *m, size_t n)
{
    if (m->cap != 0 && n <= m->cap - m->cap / 8)
        return 0;
    size_t cap = cap_for(n);
    if (cap <= m->cap)
        return 0;
    return resize(m, cap);
}

/* Tells whether the key stored at 'slot' is 'id' (two 8-byte compares). */
static bool
key_is(const unsigned char *slot, const struct cfut_id *id)
{
    return load_u64(slot) == load_u64(id->bytes) &&
           load_u64(slot + 8) == load_u64(id->bytes + 8);
}

/* Returns the slot index holding 'id', or SIZE_MAX. */
static size_t
find(const struct cfut_idmap *m, const struct cfut_id *id)
{
    if (m->n == 0)
        return SIZE_MAX;
    size_t mask = m->cap - 1;
    size_t i = hash_id(m->seed, id) & mask;
    while (m->used[i]) {
        if (key_is(slot_at(m, i), id))
            return i;
        i = (i + 1) & mask;
    }
    return SIZE_MAX;
}

int
cfut_idmap_insert(struct cfut_idmap *m, const struct cfut_id *id,
                  const void *value)
{
    if (m->cap == 0 || m->n + 1 > m->cap - m->cap / 8) {
        if (find(m, id) != SIZE_MAX)
            return CFUT_EBUSY;
        int rc = resize(m, m->cap == 0 ? MIN_CAP : m->cap * 2);
        if (rc < 0)
            return rc;
    }
    /* One probe: look for the key and for the first free slot together. */
    size_t mask = m->cap - 1;
    size_t i = hash_id(m->seed, id) & mask;
    while (m->used[i]) {
        if (key_is(slot_at(m, i), id))
            return CFUT_EBUSY;
        i = (i + 1) & mask;
    }
    unsigned char *s = slot_at(m, i);
    memcpy(s, id->bytes, CFUT_ID_SIZE);
    if (m->value_size != 0)
        memcpy(s + CFUT_ID_SIZE, value, m->value_size);
    m->used[i] = 1;
    m->n++;
    return 0;
}

void *
cfut_idmap_get(const struct cfut_idmap *m, const struct cfut_id *id)
{
    size_t i = find(m, id);
    if (i == SIZE_MAX)
        return NULL;
    return slot_at(m, i) + CFUT_ID_SIZE;
}

bool
cfut_idmap_remove(struct cfut_idmap *m, const struct cfut_id *id,
                  void *value_out)
{
    size_t i = find(m, id);
    if (i == SIZE_MAX)
        return false;
    if (value_out != NULL && m->value_size != 0)
        memcpy(value_out, slot_at(m, i) + CFUT_ID_SIZE, m->value_size);
    /*
     * Backward-shift deletion: move later entries of the run into the hole
     * when their home slot is not between the hole and them (cyclically).
     */
    size_t mask = m->cap - 1;
    size_t hole = i;
    size_t j = i;
    for (;;) {
        j = (j + 1) & mask;
        if (!m->used[j])
            break;
        size_t home =
            hash_id(m->seed,
                    (const struct cfut_id *)(const void *)slot_at(m, j)) &
            mask;
        /* Entry j may move to 'hole' unless home lies in (hole, j]. */
        bool stays = (hole <= j) ? (hole < home && home <= j)
                                 : (hole < home || home <= j);
        if (!stays) {
            memcpy(slot_at(m, hole), slot_at(m, j), m->stride);
            hole = j;
        }
    }
    m->used[hole] = 0;
    m->n--;
    return true;
}

size_t
cfut_idmap_size(const struct cfut_idmap *m)
{
    return m->n;
}

size_t
cfut_idmap_memory(const struct cfut_idmap *m)
{
    return m->cap * (m->stride + 1);
}

void
cfut_idmap_drain(struct cfut_idmap *m, cfut_idmap_visit_fn *fn, void *ctx)
{
    struct cfut_idmap old = *m;
    m->slots = NULL;
    m->used = NULL;
    m->cap = 0;
    m->n = 0;
    for (size_t i = 0; i < old.cap; i++) {
        if (old.used[i]) {
            unsigned char *s = slot_at(&old, i);
            fn(ctx, (const struct cfut_id *)(const void *)s, s + CFUT_ID_SIZE);
        }
    }
    cfut_free(old.slots);
    cfut_free(old.used);
}
