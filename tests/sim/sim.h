/*
 * sim.h: a deterministic simulation of the request/response transport:
 * many clients (cfut_transport) and one server (cfut_server), in one
 * process, on one single-threaded executor with the paused clock, over a
 * simulated network whose every decision comes from one seed.
 *
 * The network (sim_net.c): each connection is a pair of stream ends (a
 * stream kind of its own, through the public cfut_stream vtable) with one
 * bounded buffer per direction. A write appends to the buffer (PENDING
 * while it is full: backpressure); the network delivers the bytes to the
 * reader in segments of a random size (splits at any byte) after random
 * delays on the paused clock, each direction on its own schedule, so
 * deliveries on different connections interleave in any order while the
 * bytes of one direction stay in order (TCP). A reader may stop reading
 * for a while (its buffer fills, the writer waits). A connection may fail
 * at a random time: a reset (both sides read and write CFUT_ECONNRESET,
 * the bytes in flight are lost) or a cut of one direction (the bytes not
 * yet delivered are lost, the reader then reads its end of stream, maybe
 * inside a frame, and the writer's writes fail with CFUT_ECONNRESET).
 *
 * The clients and their checks are in sim_client.c, the server's handler
 * and restarts in sim_server.c, a run and the scenarios in sim_run.c
 * (sim_int.h between them); tests/test_sim.c runs them as a Check suite
 * and, with 'test_sim seeds FROM TO', as the long mode of './run stress'.
 * Only public headers are used (and testkit's allocator, by the caller).
 */
#ifndef CFUT_SIM_H
#define CFUT_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cfut.h>

/* ---- a seeded generator (splitmix64) ---- */

struct sim_rng {
    uint64_t s;
};

uint64_t sim_rng_next(struct sim_rng *r);
/* A value in [0, n) (0 when n is 0). */
uint64_t sim_rng_below(struct sim_rng *r, uint64_t n);
/* A value in [lo, hi]. */
uint64_t sim_rng_range(struct sim_rng *r, uint64_t lo, uint64_t hi);
/* True with probability 'per_mille' / 1000. */
bool sim_rng_chance(struct sim_rng *r, unsigned per_mille);
/* A generator derived from 'seed' and a stream number. */
struct sim_rng sim_rng_derive(uint64_t seed, uint64_t stream);

/* ---- the network ---- */

/* What the network of one run may do (drawn per seed from a scenario). */
struct sim_net_params {
    uint64_t max_delay_ns; /* a segment's delay: 0 or up to this */
    size_t max_segment;    /* bytes per delivery: 1..max_segment */
    size_t min_buf;        /* a direction's buffer: min_buf..max_buf */
    size_t max_buf;
    unsigned stall_per_mille; /* reads that start a stall of the reader */
    uint64_t max_stall_ns;
    unsigned fault_per_mille; /* connections that fail at a random time */
    uint64_t fault_window_ns; /* ... within this long of their start */
    uint64_t grain_ns;        /* nonzero: every duration a multiple of it,
                                 so that many events fall on one instant */
};

/* 'ns' rounded up to a multiple of 'grain' (0: 'ns' itself). */
static inline uint64_t
sim_grain(uint64_t ns, uint64_t grain)
{
    return grain == 0 ? ns : (ns + grain - 1) / grain * grain;
}

enum sim_fault {
    SIM_FAULT_NONE,
    SIM_FAULT_RESET,   /* both directions reset */
    SIM_FAULT_CUT_C2S, /* client -> server cut: the server reads its end */
    SIM_FAULT_CUT_S2C, /* server -> client cut: the client reads its end */
};

struct sim_net;
struct sim_link;

/*
 * Creates the network of a run and spawns its task on 'ex' (which must
 * have its clock paused). 'verbose' prints every delivery event.
 * The task ends once sim_net_close() was called and every link is closed.
 * Returns 0 or a cfut status.
 */
int sim_net_new(struct cfut_executor *ex, const struct sim_net_params *p,
                uint64_t seed, bool verbose, struct sim_net **out);
/* Lets the network's task end once no link is left open. */
void sim_net_close(struct sim_net *n);
/* Frees the network (after its task ended): links included. */
void sim_net_free(struct sim_net *n);
/* A hash of every event so far: equal for equal seeds. */
uint64_t sim_net_trace_hash(const struct sim_net *n);
/* Counters of what happened. */
struct sim_net_stats {
    uint64_t n_links, n_faults, n_segments, n_bytes, n_stalls, n_full;
};
void sim_net_get_stats(const struct sim_net *n, struct sim_net_stats *out);
/* Prints the open links' state to stderr. */
void sim_net_dump(const struct sim_net *n);
/* Called when something made progress (for the watchdog). */
void sim_net_progress(struct sim_net *n);
/* Registers a hook the network's task calls when all links are closed. */
void sim_net_on_idle(struct sim_net *n, void (*fn)(void *arg), void *arg);

/*
 * Makes a connection: '*client' and '*server' are its two stream ends
 * (each closed with cfut_stream_close()); '*link' describes it until
 * sim_net_free().
 */
int sim_net_connect(struct sim_net *n, struct cfut_stream **client,
                    struct cfut_stream **server, struct sim_link **link);
/* The fault that hit 'l' so far (SIM_FAULT_NONE: none). */
enum sim_fault sim_link_fault(const struct sim_link *l);
unsigned sim_link_id(const struct sim_link *l);

/* ---- the runs ---- */

/* A scenario: the ranges each seed draws its run from (sim_run.c). */
struct sim_scenario;

/* The scenarios, in order; NULL-terminated. */
extern const struct sim_scenario *const sim_scenarios[];
const char *sim_scenario_name(const struct sim_scenario *sc);
const struct sim_scenario *sim_scenario_find(const char *name);

/* What one run did (for the tests that look at it). */
struct sim_result {
    uint64_t trace_hash;
    uint64_t n_polls; /* the executor's task polls (cfut_executor_n_polls) */
    uint64_t n_requests, n_ok, n_remote_errors, n_timeouts, n_cancelled,
        n_conn_errors, n_late, n_connections, n_faults, n_segments, n_stalls,
        n_full, n_aborts, n_restarts;
};

/* The program, for the replay command a failure prints (argv[0]). */
extern const char *sim_argv0;

/*
 * Runs 'sc' with 'seed' and checks its invariants; a violation prints the
 * scenario, the seed, what failed and the command that replays it, then
 * aborts. The counting allocator of testkit must be installed (the caller
 * checks that nothing is left alive afterwards).
 */
void sim_run(const struct sim_scenario *sc, uint64_t seed, bool verbose,
             struct sim_result *out);

/* Aborts with the scenario and seed being run and a replay command. */
_Noreturn void sim_fail(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

#endif /* CFUT_SIM_H */
