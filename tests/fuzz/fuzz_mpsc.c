/*
 * fuzz_mpsc.c: an API-sequence fuzzer for the mpsc channel (cfut_mpsc.h),
 * built twice: for the local kind, and with FUZZ_MPSC_SYNC for the
 * thread-safe kind (driven from one thread: the same semantics).
 *
 * The input is a program: each byte picks an operation (try_send,
 * try_send_many, start, poll or drop a send future, try_recv, poll_recv,
 * try_recv_many, poll_recv_many, clone or drop a sender, drop the
 * receiver) on up to four senders and four send futures of
 * several simulated tasks. A small model of the documented behaviour
 * (cfut_mpsc.h: FIFO order, bounded capacity, waiting senders first and
 * served in the order they began to wait, capacity reserved for the
 * waiter it is handed to, closing both ways) predicts every result; any
 * difference aborts. At the end every message was received or released
 * by 'drop_msg' exactly once, and nothing is left allocated.
 * Built by tests/fuzz/run_fuzz with clang -fsanitize=fuzzer,address,undefined.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "cfut_mpsc.h"
#include "fuzzkit.h"

#ifdef FUZZ_MPSC_SYNC
#define API(x) cfut_mpsc_sync_##x
#else
#define API(x) cfut_mpsc_##x
#endif

#define N_TX 4
#define N_SEND 4
#define MAX_MSGS 4096

/* Each message is its serial number; drop_msg records it. */
static uint8_t fate[MAX_MSGS]; /* 0: not sent, 1: queued, 2: out, 3: dropped */
static uint32_t next_msg;

static void
drop_msg(void *msg)
{
    uint32_t id;
    memcpy(&id, msg, sizeof id);
    FUZZ_CHECK(id < next_msg && fate[id] == 1);
    fate[id] = 3;
}

/* The model. */
struct model {
    size_t cap; /* 0: unbounded */
    uint32_t queue[MAX_MSGS];
    size_t head, len;
    int waiters[N_SEND]; /* send futures waiting, oldest first */
    size_t n_waiters;
    size_t reserved; /* slots reserved for waiters that hold a permit */
    bool rx_alive;
};

enum send_state { S_NONE, S_FRESH, S_WAITING, S_PERMIT };

struct sender_slot {
    enum send_state st;
    uint32_t msg;
    struct API(send) f;
};

static bool
model_full(const struct model *m)
{
    return m->cap != 0 && m->len + m->reserved >= m->cap;
}

static void
model_push(struct model *m, uint32_t id)
{
    FUZZ_CHECK(m->len < MAX_MSGS);
    m->queue[(m->head + m->len) % MAX_MSGS] = id;
    m->len++;
    fate[id] = 1;
}

/* Hands free capacity to the waiters, oldest first. */
static void
model_grant(struct model *m, struct sender_slot *ss)
{
    while (m->n_waiters > 0 && !model_full(m)) {
        int k = m->waiters[0];
        memmove(m->waiters, m->waiters + 1,
                (m->n_waiters - 1) * sizeof m->waiters[0]);
        m->n_waiters--;
        ss[k].st = S_PERMIT;
        m->reserved++;
    }
}

static void
model_unwait(struct model *m, int k)
{
    for (size_t i = 0; i < m->n_waiters; i++) {
        if (m->waiters[i] == k) {
            memmove(m->waiters + i, m->waiters + i + 1,
                    (m->n_waiters - i - 1) * sizeof m->waiters[0]);
            m->n_waiters--;
            return;
        }
    }
    FUZZ_CHECK(!"waiter not found");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_input in = {data, size};
    if (size < 1)
        return 0;
    static struct model m;
    memset(&m, 0, sizeof m);
    memset(fate, 0, sizeof fate);
    next_msg = 0;
    m.cap = fuzz_byte(&in) % 5;
    m.rx_alive = true;

    fuzz_begin();
    struct API(sender) tx[N_TX];
    bool tx_live[N_TX] = {false};
    struct API(receiver) rx;
    FUZZ_CHECK(API(new)(sizeof(uint32_t), m.cap, drop_msg, &tx[0], &rx) == 0);
    tx_live[0] = true;
    struct sender_slot ss[N_SEND];
    for (int k = 0; k < N_SEND; k++)
        ss[k].st = S_NONE;
    struct cfut_context cx;
    cfut_context_init(&cx, cfut_waker_noop());

    while (in.n > 0 && next_msg < MAX_MSGS - N_SEND - 8) {
        uint8_t op = fuzz_byte(&in);
        unsigned a = (op >> 4) & 3; /* which sender / send future */
        switch (op & 15) {
        case 0:
        case 1: { /* try_send */
            if (!tx_live[a])
                break;
            uint32_t id = next_msg;
            int rc = API(try_send)(&tx[a], &id);
            if (!m.rx_alive) {
                FUZZ_CHECK(rc == CFUT_ECLOSED);
            } else if (m.cap != 0 && (model_full(&m) || m.n_waiters > 0)) {
                FUZZ_CHECK(rc == CFUT_EFULL);
            } else {
                FUZZ_CHECK(rc == 0);
                next_msg++;
                model_push(&m, id);
            }
            break;
        }
        case 2: /* start a send future */
            if (!tx_live[a] || ss[a].st != S_NONE)
                break;
            ss[a].msg = next_msg++;
            API(send_init)(&ss[a].f, &tx[a], &ss[a].msg);
            ss[a].st = S_FRESH;
            break;
        case 3:
        case 4: { /* poll a send future */
            if (ss[a].st == S_NONE)
                break;
            int status = 1;
            enum cfut_poll p = cfut_future_poll(&ss[a].f.base, &cx, &status);
            if (!m.rx_alive) {
                FUZZ_CHECK(p == CFUT_READY && status == CFUT_ECLOSED);
            } else if (ss[a].st == S_PERMIT) {
                FUZZ_CHECK(p == CFUT_READY && status == 0);
                m.reserved--;
                model_push(&m, ss[a].msg);
            } else if (ss[a].st == S_WAITING) {
                FUZZ_CHECK(p == CFUT_PENDING);
                break;
            } else if (m.cap != 0 && (model_full(&m) || m.n_waiters > 0)) {
                FUZZ_CHECK(p == CFUT_PENDING);
                ss[a].st = S_WAITING;
                m.waiters[m.n_waiters++] = (int)a;
                break;
            } else {
                FUZZ_CHECK(p == CFUT_READY && status == 0);
                model_push(&m, ss[a].msg);
            }
            cfut_future_drop(&ss[a].f.base);
            ss[a].st = S_NONE;
            break;
        }
        case 5: /* drop a send future before it is READY */
            if (ss[a].st == S_NONE)
                break;
            if (ss[a].st == S_WAITING && m.rx_alive)
                model_unwait(&m, (int)a);
            cfut_future_drop(&ss[a].f.base);
            if (ss[a].st == S_PERMIT && m.rx_alive) {
                m.reserved--;
                model_grant(&m, ss);
            }
            ss[a].st = S_NONE;
            break;
        case 6:
        case 7:
        case 8: { /* try_recv, or poll_recv */
            if (!m.rx_alive)
                break;
            bool any_sender = false;
            for (int k = 0; k < N_TX; k++)
                any_sender |= tx_live[k];
            for (int k = 0; k < N_SEND; k++)
                any_sender |= ss[k].st != S_NONE;
            uint32_t got = UINT32_MAX;
            int rc;
            if ((op & 15) == 8) {
                CFUT_MPSC_OUTPUT(uint32_t) out;
                enum cfut_poll p = API(poll_recv)(&rx, &cx, &out);
                rc = p == CFUT_PENDING ? CFUT_EAGAIN : out.status;
                got = out.value;
            } else {
                rc = API(try_recv)(&rx, &got);
            }
            if (m.len > 0) {
                FUZZ_CHECK(rc == 0 && got == m.queue[m.head]);
                fate[got] = 2;
                m.head = (m.head + 1) % MAX_MSGS;
                m.len--;
                model_grant(&m, ss);
            } else {
                FUZZ_CHECK(rc == (any_sender ? CFUT_EAGAIN : CFUT_ECLOSED));
            }
            break;
        }
        case 9:
        case 10: /* clone a sender into a free place */
            for (int k = 0; k < N_TX; k++) {
                if (tx_live[a] && !tx_live[k]) {
                    tx[k] = API(sender_clone)(&tx[a]);
                    tx_live[k] = true;
                    break;
                }
            }
            break;
        case 11: /* drop a sender */
            if (tx_live[a]) {
                API(sender_drop)(&tx[a]);
                tx_live[a] = false;
            }
            break;
        case 12: /* drop the receiver */
            if (m.rx_alive && (op & 0x40)) {
                API(receiver_drop)(&rx);
                m.rx_alive = false;
                m.len = 0; /* drop_msg checked each */
                m.n_waiters = 0;
                m.reserved = 0;
            }
            break;
        case 13: { /* try_send_many of 1, 3, 5 or 7 messages */
            if (!tx_live[a])
                break;
            size_t n = 2 * a + 1, sent = 99;
            uint32_t ids[8];
            for (size_t j = 0; j < n; j++)
                ids[j] = next_msg + (uint32_t)j;
            int rc = API(try_send_many)(&tx[a], ids, n, &sent);
            size_t room = n;
            if (!m.rx_alive)
                room = 0;
            else if (m.cap != 0)
                room = m.n_waiters > 0 || model_full(&m)
                           ? 0
                           : m.cap - m.len - m.reserved;
            size_t k = room < n ? room : n;
            FUZZ_CHECK(sent == k);
            if (!m.rx_alive)
                FUZZ_CHECK(rc == CFUT_ECLOSED);
            else
                FUZZ_CHECK(rc == (k == n ? 0 : CFUT_EFULL));
            for (size_t j = 0; j < k; j++)
                model_push(&m, next_msg++);
            break;
        }
        case 14: { /* try_recv_many or poll_recv_many of up to 1..4 */
            if (!m.rx_alive)
                break;
            bool any_sender = false;
            for (int k = 0; k < N_TX; k++)
                any_sender |= tx_live[k];
            for (int k = 0; k < N_SEND; k++)
                any_sender |= ss[k].st != S_NONE;
            size_t max = a + 1, n = 99;
            uint32_t got[4];
            int rc;
            if (op & 0x40) {
                enum cfut_poll p = API(poll_recv_many)(&rx, &cx, got, max, &n);
                rc = p == CFUT_PENDING ? CFUT_EAGAIN
                                       : (n == 0 ? CFUT_ECLOSED : 0);
            } else {
                rc = API(try_recv_many)(&rx, got, max, &n);
            }
            size_t k = m.len < max ? m.len : max;
            FUZZ_CHECK(n == k);
            if (k == 0) {
                FUZZ_CHECK(rc == (any_sender ? CFUT_EAGAIN : CFUT_ECLOSED));
                break;
            }
            FUZZ_CHECK(rc == 0);
            for (size_t j = 0; j < k; j++) {
                FUZZ_CHECK(got[j] == m.queue[m.head]);
                fate[got[j]] = 2;
                m.head = (m.head + 1) % MAX_MSGS;
                m.len--;
            }
            model_grant(&m, ss);
            break;
        }
        default: /* observe */
            if (m.rx_alive)
                FUZZ_CHECK(API(len)(&rx) == m.len);
            if (tx_live[a])
                FUZZ_CHECK(API(sender_is_closed)(&tx[a]) == !m.rx_alive);
            break;
        }
    }

    /* Tear down: futures, senders, then the receiver. */
    for (int k = 0; k < N_SEND; k++)
        if (ss[k].st != S_NONE)
            cfut_future_drop(&ss[k].f.base);
    for (int k = 0; k < N_TX; k++)
        if (tx_live[k])
            API(sender_drop)(&tx[k]);
    if (m.rx_alive)
        API(receiver_drop)(&rx);
    /* Every message sent was received or released, once. */
    for (uint32_t id = 0; id < next_msg; id++)
        FUZZ_CHECK(fate[id] != 1);
    FUZZ_END();
    return 0;
}
