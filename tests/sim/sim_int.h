/*
 * sim_int.h: what the files of the simulation share (tests/sim/): the
 * scenarios' fields, the requests' payloads, the clients and the run.
 */
#ifndef CFUT_SIM_INT_H
#define CFUT_SIM_INT_H

#include "sim.h"

struct sim_scenario {
    const char *name;
    unsigned max_clients, max_requests, max_inflight;
    struct sim_net_params net; /* maxima: each seed draws below them */
    size_t max_filler;         /* request payload bytes past the header */
    size_t max_reply;          /* reply bytes past the header */
    uint64_t max_handler_delay_ns;
    unsigned error_per_mille, error_now_per_mille, never_per_mille;
    unsigned timeout_per_mille;
    uint64_t min_timeout_ns, max_timeout_ns;
    unsigned cancel_per_mille;
    unsigned sync_per_mille;  /* requests made through the inbox */
    unsigned abort_per_mille; /* client polls that free the transport */
    unsigned max_restarts;    /* the server is freed and made anew */
    uint64_t restart_window_ns;
    uint64_t max_gap_ns;     /* between two requests of a client */
    size_t max_server_limit; /* max_in_flight per connection: 1..this */
    bool ws;                 /* a WebSocket stream over each link */
    size_t max_frame;        /* nonzero: each side's largest frame is
                                drawn in [min_frame, max_frame] */
    size_t min_frame;
    bool all_answered; /* no loss allowed: every request answered */
};

/* ---- requests and their payloads ---- */

enum action { ACT_ANSWER, ACT_ERROR, ACT_ERROR_NOW, ACT_NEVER };
enum outcome {
    OUT_NONE,
    OUT_OK,
    OUT_REMOTE,
    OUT_TIMEOUT,
    OUT_CANCELLED,
    OUT_CONN,
    OUT_TOOBIG /* refused at once: larger than the client's frames */
};

#define MAGIC_REQ 0x53494d51u /* "SIMQ" */
#define MAGIC_OK 0x53494d52u  /* "SIMR" */
#define MAGIC_ERR 0x53494d45u /* "SIME" */
#define REQ_HEADER 24u
#define REPLY_HEADER 12u

struct req_info {
    uint8_t action;  /* enum action */
    uint8_t outcome; /* enum outcome */
    uint8_t srv_seen;
    uint8_t sync; /* made through the inbox */
    uint16_t reply_len;
    uint32_t filler;
    uint32_t delay_us;
    int err;
    uint64_t timeout, issued_at;
};

struct slot {
    bool active;
    bool sync; /* made with cfut_request_sync_init() (the inbox path) */
    uint32_t seq;
    union {
        struct cfut_future base;
        struct cfut_request r;
        struct cfut_request_sync rs;
    } u;
};

struct sim;

struct client {
    struct sim *s;
    unsigned id;
    struct sim_rng rng;
    unsigned n_req, inflight, issued, n_done, n_active;
    struct cfut_transport *t;
    struct sim_link *link;
    unsigned conn_gen; /* the server generation it connected to */
    uint32_t n_conns;  /* connections made so far */
    uint32_t srv_conn; /* the newest connection the server saw ... */
    int64_t srv_last;  /* ... and its last request not made through the
                          inbox (-1: none) */
    bool aborted;      /* it freed the current transport itself */
    bool doomed;       /* it sent what ends the connection: a request
                          over the server's largest frame, or one whose
                          response is over its own */
    uint64_t t_ok, t_remote, t_abandoned; /* on the current connection */
    uint64_t t_sync_cancelled; /* their entries wait for the response */
    bool gap_armed, finished;
    struct cfut_sleep gap;
    struct slot *slots;
    struct req_info *req;
};

struct sim {
    const struct sim_scenario *sc;
    uint64_t seed;
    struct cfut_executor *ex;
    struct sim_net *net;
    struct cfut_server *srv;
    struct client *clients;
    unsigned n_clients, clients_left;
    /* drawn for this seed */
    uint64_t handler_delay, timeout_lo, timeout_hi, gap;
    size_t server_limit, server_rbuf;
    size_t cmax, smax;      /* largest frames (length field): 0, the default */
    uint64_t grain;         /* durations are multiples of it (0: any) */
    uint64_t handler_calls; /* of the current server */
    uint64_t srv_connections; /* made to the current server */
    unsigned srv_gen;         /* servers made before the current one */
    bool swap;                /* CFUT_SIM_SWAP_REPLIES: the checks' own test */
    struct sim_result res;
};

static inline void
put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

static inline uint32_t
get32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

/* The i-th filler byte of request (client, seq); 'salt' tells the kind. */
static inline unsigned char
fill_byte(unsigned client, uint32_t seq, size_t i, unsigned salt)
{
    uint64_t x = ((uint64_t)client << 40) ^ ((uint64_t)seq << 8) ^ salt ^
                 (uint64_t)(i / 8) * 0x9e3779b97f4a7c15ull;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 29;
    return (unsigned char)(x >> ((i % 8) * 8));
}

static inline void
put_identity(unsigned char *p, uint32_t magic, unsigned client, uint32_t seq)
{
    put32(p, magic);
    put32(p + 4, client);
    put32(p + 8, seq);
}

/* ---- between the files ---- */

/* sim_server.c */
int sim_handler_new(void *ctx, const unsigned char *p, size_t len,
                    struct cfut_future **out);
void sim_new_server(struct sim *s);
void sim_on_idle(void *arg);
int sim_spawn_restarter(struct sim *s, unsigned n);
/* sim_client.c */
int sim_spawn_client(struct sim *s, struct client *c);

#endif /* CFUT_SIM_INT_H */
