/*
 * cfut_trace.c: the trace sink behind CFUT_TRACE: Chrome trace-event JSON
 * or plain sentences on stderr, fed through the hooks of cfut_trace_int.h
 * (the executor, the timers and the reactor tell it what happens). A wake
 * becomes a flow (an arrow) from where it happened to the woken task's
 * next poll; a paused clock's jumps move the trace's time. It does not
 * decide anything and reads and writes nothing of theirs; it runs only
 * while a trace is on.
 */
#define _GNU_SOURCE
#include "cfut_trace_int.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cfut_coro.h"

int cfut__trace_on;

/* Everything below is guarded by 'lock'. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static FILE *out;         /* NULL: no trace */
static bool is_text;      /* stderr sentences instead of JSON */
static bool any_events;   /* a JSON event was written (comma needed) */
static bool tail_written; /* the closing "]}" is at 'tail_pos' */
static long tail_pos;
static bool exit_hook;      /* atexit() registered */
static struct timespec t0;  /* the trace's time zero */
static unsigned n_threads;  /* threads seen so far in this trace */
static unsigned generation; /* of the trace: thread numbers restart */
static double jump_us;      /* how far paused clocks jumped, in all */

/* Executors seen, numbered in order: the JSON 'pid' and the text's name. */
#define MAX_EXECUTORS 64
static struct {
    const void *ex;
    unsigned serial;
} execs[MAX_EXECUTORS];
static unsigned n_execs, next_serial;

/*
 * A thread that is not an executor's gets a row of its own in the JSON
 * (where the wakes it makes start their arrows): tid REMOTE_TID + its
 * number, named once per executor.
 */
#define REMOTE_TID 1000000u
#define MAX_REMOTE_ROWS 64
static struct remote_row {
    unsigned exec, thread;
} remote_rows[MAX_REMOTE_ROWS];
static unsigned n_remote_rows;

/*
 * The flows waiting for their end: a woken task's first wake since its
 * last poll, keyed by (executor, task), ended at its next poll (later
 * wakes before that poll draw no arrow: they queue nothing). An
 * open-addressing table with linear probing; 'exec' 0 marks a free slot.
 */
struct pending_flow {
    unsigned exec;
    uint64_t task;
    uint64_t flow;
};
static struct pending_flow *flows;
static size_t flows_cap, flows_n;
static uint64_t next_flow;

/*
 * Per thread: its number, and the task whose poll (or finish) is running:
 * the task a wake on this thread comes from (0: none). A READY poll keeps
 * it for the finish that follows, which wakes the join handle; the next
 * poll, a reactor event, parking and the end of the run clear it, so a
 * spawn or wake from outside any task (main, after block_on returned) is
 * attributed to nobody.
 */
static _Thread_local unsigned tls_thread, tls_generation;
static _Thread_local uint64_t tls_task;
static _Thread_local unsigned tls_exec;
static _Thread_local bool tls_finishing;
static _Thread_local int tls_worker = -1; /* a pool worker's index */
/* The reactor event behind the wakes that follow it ("" when none). */
static _Thread_local char tls_cause[48];

static void
leave_task(void)
{
    tls_task = 0;
    tls_exec = 0;
    tls_finishing = false;
    tls_cause[0] = '\0';
}

/* ---------------------------------------------------------------------- */
/* Helpers (lock held)                                                     */
/* ---------------------------------------------------------------------- */

static unsigned
thread_no(void)
{
    if (tls_generation != generation) {
        tls_generation = generation;
        tls_thread = ++n_threads;
    }
    return tls_thread;
}

/*
 * The trace's time, in microseconds: real time since the start, plus every
 * jump a paused clock made, so a program whose clock is paused shows its
 * waits at their virtual length.
 */
static double
now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)(ts.tv_sec - t0.tv_sec) * 1e6 +
           (double)(ts.tv_nsec - t0.tv_nsec) / 1e3 + jump_us;
}

/* Writes 's' as a JSON string (quotes included). */
static void
json_str(const char *s)
{
    fputc('"', out);
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(out, "\\%c", c);
        else if (c < 0x20)
            fprintf(out, "\\u%04x", c);
        else
            fputc(c, out);
    }
    fputc('"', out);
}

/* Starts a JSON event at time 'ts': separator, then the common fields. */
static void
json_begin_at(const char *ph, const char *name, unsigned pid, uint64_t tid,
              double ts)
{
    if (tail_written) { /* overwrite the closing "]}" written earlier */
        fseek(out, tail_pos, SEEK_SET);
        tail_written = false;
    }
    fputs(any_events ? ",\n{" : "\n{", out);
    any_events = true;
    fprintf(out, "\"ph\":\"%s\",\"name\":", ph);
    json_str(name);
    fprintf(out, ",\"pid\":%u,\"tid\":%llu,\"ts\":%.3f", pid,
            (unsigned long long)tid, ts);
}

/* Starts a JSON event now. */
static void
json_begin(const char *ph, const char *name, unsigned pid, uint64_t tid)
{
    json_begin_at(ph, name, pid, tid, now_us());
}

/*
 * Writes the closing "]}" so the file is valid JSON as it stands; the next
 * event overwrites it. On a file that cannot seek (a pipe) only the 'final'
 * one (stop, exit) is written.
 */
static void
json_tail(bool final)
{
    if (tail_written || is_text)
        return;
    tail_pos = ftell(out);
    if (tail_pos < 0 && !final) { /* a pipe: no going back over the tail */
        fflush(out);
        return;
    }
    fputs("\n]}\n", out);
    tail_written = true;
    fflush(out);
}

/* Emits the metadata that names a row: process (tid < 0) or thread. */
static void
json_row_name(unsigned pid, uint64_t tid, bool process, const char *name)
{
    json_begin("M", process ? "process_name" : "thread_name", pid, tid);
    fputs(",\"args\":{\"name\":", out);
    json_str(name);
    fputs("}}", out);
}

/*
 * Returns the number of the executor 'ex' (0 for NULL), numbering it now
 * if it is new and 'add' is set (it was created before the trace began).
 */
static unsigned
exec_no(const void *ex, bool add)
{
    if (ex == NULL)
        return 0;
    for (unsigned i = 0; i < n_execs; i++)
        if (execs[i].ex == ex)
            return execs[i].serial;
    if (!add || n_execs == MAX_EXECUTORS)
        return 0;
    unsigned serial = ++next_serial;
    (void)thread_no(); /* the executor's thread is numbered first */
    execs[n_execs].ex = ex;
    execs[n_execs++].serial = serial;
    if (is_text) {
        fprintf(out, "cfut trace: executor %u created\n", serial);
    } else {
        char name[48];
        snprintf(name, sizeof name, "cfut executor %u", serial);
        json_row_name(serial, 0, true, name);
        json_row_name(serial, 0, false, "executor (parks here)");
    }
    return serial;
}

/* The slot of (exec, task) in 'flows', or of the free slot it would take. */
static size_t
flow_slot(unsigned exec, uint64_t task)
{
    size_t mask = flows_cap - 1;
    size_t i = (size_t)((task * 0x9E3779B97F4A7C15u) ^ exec) & mask;
    while (flows[i].exec != 0 &&
           (flows[i].exec != exec || flows[i].task != task))
        i = (i + 1) & mask;
    return i;
}

/* Tells whether task 'task' of 'exec' waits for the end of a flow. */
static bool
flow_pending(unsigned exec, uint64_t task)
{
    return flows_n != 0 && flows[flow_slot(exec, task)].exec != 0;
}

/*
 * Files a flow for the next poll of 'task' (it has none); false when the
 * table cannot grow (the wake then draws no arrow).
 */
static bool
flow_put(unsigned exec, uint64_t task, uint64_t flow)
{
    if (2 * (flows_n + 1) > flows_cap) {
        size_t cap = flows_cap != 0 ? 2 * flows_cap : 64;
        struct pending_flow *old = flows, *grown = calloc(cap, sizeof *grown);
        if (grown == NULL)
            return false;
        size_t old_cap = flows_cap;
        flows = grown;
        flows_cap = cap;
        for (size_t i = 0; i < old_cap; i++)
            if (old[i].exec != 0)
                flows[flow_slot(old[i].exec, old[i].task)] = old[i];
        free(old);
    }
    flows[flow_slot(exec, task)] = (struct pending_flow){exec, task, flow};
    flows_n++;
    return true;
}

/*
 * Takes the flow waiting for the next poll of 'task' out of the table and
 * returns it (0: none). The entries after it move back, so that every
 * entry stays reachable from its home slot.
 */
static uint64_t
flow_take(unsigned exec, uint64_t task)
{
    if (flows_n == 0)
        return 0;
    size_t mask = flows_cap - 1, i = flow_slot(exec, task);
    if (flows[i].exec == 0)
        return 0;
    uint64_t flow = flows[i].flow;
    for (size_t j = (i + 1) & mask; flows[j].exec != 0; j = (j + 1) & mask) {
        size_t home =
            (size_t)((flows[j].task * 0x9E3779B97F4A7C15u) ^ flows[j].exec) &
            mask;
        if (((j - home) & mask) >= ((j - i) & mask)) {
            flows[i] = flows[j]; /* the hole is on its way home: fill it */
            i = j;
        }
    }
    flows[i].exec = 0;
    flows_n--;
    return flow;
}

/* The row of thread 'th' in executor 'e', named the first time. */
static uint64_t
remote_row(unsigned e, unsigned th)
{
    uint64_t tid = REMOTE_TID + th;
    for (unsigned i = 0; i < n_remote_rows; i++)
        if (remote_rows[i].exec == e && remote_rows[i].thread == th)
            return tid;
    if (n_remote_rows < MAX_REMOTE_ROWS)
        remote_rows[n_remote_rows++] = (struct remote_row){e, th};
    char name[64];
    snprintf(name, sizeof name, "thread %u (not the executor's)", th);
    json_row_name(e, tid, false, name);
    return tid;
}

/* The file name without its directories. */
static const char *
base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash != NULL ? slash + 1 : path;
}

/* Prefix for text lines of executors other than the first. */
static void
text_prefix(unsigned serial)
{
    fputs("cfut trace: ", out);
    if (serial > 1)
        fprintf(out, "[executor %u] ", serial);
}

/* ---------------------------------------------------------------------- */
/* Start and stop                                                          */
/* ---------------------------------------------------------------------- */

/*
 * At exit the trace stops: the JSON file is completed and closed (so a
 * program ends with nothing allocated: the FILE was the last thing).
 */
static void
at_exit(void)
{
    cfut_trace_stop();
}

int
cfut_trace_start(const char *spec)
{
    if (spec == NULL || spec[0] == '\0')
        return CFUT_EINVAL;
    pthread_mutex_lock(&lock);
    int rc = CFUT_OK;
    if (out != NULL) {
        rc = CFUT_EBUSY;
        goto unlock;
    }
    if (strcmp(spec, "-") == 0) {
        out = stderr;
        is_text = true;
    } else {
        out = fopen(spec, "w");
        if (out == NULL) {
            rc = errno != 0 ? -errno : CFUT_EIO;
            goto unlock;
        }
        is_text = false;
        fputs("{\"displayTimeUnit\":\"ms\",\"traceEvents\":[", out);
    }
    any_events = false;
    tail_written = false;
    n_execs = 0;
    next_serial = 0;
    n_threads = 0;
    generation++;
    jump_us = 0;
    n_remote_rows = 0;
    next_flow = 0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (!exit_hook)
        exit_hook = atexit(at_exit) == 0;
    cfut__coro_watch = 1;
    cfut__trace_on = 1;
unlock:
    pthread_mutex_unlock(&lock);
    return rc;
}

void
cfut_trace_stop(void)
{
    pthread_mutex_lock(&lock);
    if (out != NULL) {
        cfut__trace_on = 0;
        cfut__coro_watch = CFUT_DEBUG_CHECKS;
        if (is_text) {
            fflush(out);
        } else {
            json_tail(true);
            fclose(out);
        }
        out = NULL;
        free(flows);
        flows = NULL;
        flows_cap = flows_n = 0;
    }
    pthread_mutex_unlock(&lock);
}

bool
cfut_trace_is_on(void)
{
    return cfut__trace_on != 0;
}

static void
read_env(void)
{
    const char *spec = getenv(CFUT_TRACE_ENV);
    if (spec == NULL || spec[0] == '\0')
        return;
    int rc = cfut_trace_start(spec);
    if (rc != CFUT_OK && rc != CFUT_EBUSY)
        fprintf(stderr, "cfut: %s=%s: cannot start the trace: %s\n",
                CFUT_TRACE_ENV, spec, cfut_strerror(rc));
}

/* ---------------------------------------------------------------------- */
/* Hooks                                                                   */
/* ---------------------------------------------------------------------- */

void
cfut__trace_executor_new(const void *ex)
{
    static pthread_once_t env_once = PTHREAD_ONCE_INIT;
    pthread_once(&env_once, read_env);
    if (!cfut__trace_on)
        return;
    pthread_mutex_lock(&lock);
    if (out != NULL)
        (void)exec_no(ex, true);
    pthread_mutex_unlock(&lock);
}

void
cfut__trace_executor_free(const void *ex)
{
    pthread_mutex_lock(&lock);
    leave_task();
    if (out == NULL)
        goto unlock;
    for (unsigned i = 0; i < n_execs; i++) {
        if (execs[i].ex != ex)
            continue;
        if (is_text)
            fprintf(out, "cfut trace: executor %u freed\n", execs[i].serial);
        execs[i] = execs[--n_execs];
        break;
    }
    if (n_execs == 0)
        json_tail(false); /* no executor is alive: complete the file */
unlock:
    pthread_mutex_unlock(&lock);
}

void
cfut__trace_spawn(const void *ex, uint64_t id, const char *name, bool main)
{
    pthread_mutex_lock(&lock);
    if (out == NULL)
        goto unlock;
    unsigned e = exec_no(ex, true);
    if (main) /* block_on runs outside any task */
        leave_task();
    uint64_t by = tls_exec == e ? tls_task : 0;
    if (is_text) {
        text_prefix(e);
        fprintf(out, "task %llu '%s' %s", (unsigned long long)id, name,
                main ? "entered block_on" : "spawned");
        if (by != 0)
            fprintf(out, " by task %llu", (unsigned long long)by);
        fputc('\n', out);
    } else {
        char row[96];
        snprintf(row, sizeof row, "task %llu '%s'%s", (unsigned long long)id,
                 name, main ? " (block_on)" : "");
        json_row_name(e, id, false, row);
        json_begin("i", main ? "block_on" : "spawn", e, id);
        fprintf(out, ",\"s\":\"t\",\"args\":{\"task\":%llu,\"future\":",
                (unsigned long long)id);
        json_str(name);
        fprintf(out, ",\"by_task\":%llu,\"thread\":%u}}",
                (unsigned long long)by, thread_no());
    }
unlock:
    pthread_mutex_unlock(&lock);
}

void
cfut__trace_poll_begin(const void *ex, uint64_t id, const char *name)
{
    pthread_mutex_lock(&lock);
    if (out == NULL)
        goto unlock;
    unsigned e = exec_no(ex, true);
    tls_task = id;
    tls_exec = e;
    tls_finishing = false;
    tls_cause[0] = '\0';
    if (!is_text) {
        char pname[80];
        snprintf(pname, sizeof pname, "poll %s", name);
        json_begin("B", pname, e, id);
        if (tls_worker >= 0)
            fprintf(out, ",\"args\":{\"worker\":%d}", tls_worker);
        fputs("}", out);
        /* The arrow of the wake that queued this poll ends here. */
        uint64_t flow = flow_take(e, id);
        if (flow != 0) {
            json_begin("f", "wake", e, id);
            fprintf(out, ",\"cat\":\"wake\",\"id\":%llu,\"bp\":\"e\"}",
                    (unsigned long long)flow);
        }
    }
unlock:
    pthread_mutex_unlock(&lock);
}

void
cfut__trace_poll_end(const void *ex, uint64_t id, const char *name,
                     enum cfut_poll r, const char *file, int line)
{
    pthread_mutex_lock(&lock);
    if (out == NULL)
        goto unlock;
    unsigned e = exec_no(ex, true);
    const char *res = r == CFUT_READY ? "Ready" : "Pending";
    if (is_text) {
        text_prefix(e);
        fprintf(out, "task %llu '%s' polled -> %s", (unsigned long long)id,
                name, res);
        if (file != NULL)
            fprintf(out, ", suspended at %s:%d", base_name(file), line);
        if (tls_worker >= 0)
            fprintf(out, " on worker %d", tls_worker);
        fputc('\n', out);
    } else {
        json_begin("E", "", e, id);
        fprintf(out, ",\"args\":{\"result\":\"%s\"", res);
        if (file != NULL) {
            char at[128];
            snprintf(at, sizeof at, "%s:%d", base_name(file), line);
            fputs(",\"suspended_at\":", out);
            json_str(at);
        }
        fputs("}}", out);
    }
unlock:
    if (r == CFUT_PENDING)
        leave_task();
    pthread_mutex_unlock(&lock);
}

void
cfut__trace_wake(const void *ex, uint64_t id, const char *name)
{
    pthread_mutex_lock(&lock);
    if (out == NULL)
        goto unlock;
    bool local = name != NULL; /* on its executor's thread */
    unsigned e = exec_no(ex, local);
    uint64_t by = tls_exec == e ? tls_task : 0;
    unsigned th = thread_no();
    if (is_text) {
        text_prefix(e);
        if (local)
            fprintf(out, "task %llu '%s' woken", (unsigned long long)id, name);
        else
            fprintf(out, "task %llu woken", (unsigned long long)id);
        if (by == id)
            fputs(" by itself\n", out);
        else if (by != 0)
            fprintf(out, " by task %llu%s\n", (unsigned long long)by,
                    tls_finishing ? " as it finished" : "");
        else if (!local)
            fprintf(out, " from thread %u (not the executor's)\n", th);
        else if (tls_cause[0] != '\0')
            fprintf(out, " by the reactor: %s\n", tls_cause);
        else
            fputs(" from outside any task\n", out);
    } else {
        json_begin("i", "wake", e, id);
        fprintf(out,
                ",\"s\":\"t\",\"args\":{\"task\":%llu,\"by_task\":%llu,"
                "\"thread\":%u,\"remote\":%s,\"cause\":",
                (unsigned long long)id, (unsigned long long)by, th,
                local ? "false" : "true");
        json_str(by == 0 && local ? tls_cause : "");
        fputs("}}", out);
        /*
         * The arrow starts where the wake happened: the waking task's row,
         * the other thread's row, or the executor's (the reactor, or code
         * outside any task). A mark of its own there holds it (the waker's
         * poll may be over: a finish wakes the join handle after it).
         */
        if (e != 0 && !flow_pending(e, id) && flow_put(e, id, next_flow + 1)) {
            uint64_t row = by != 0 ? by : local ? 0 : remote_row(e, th);
            double at = now_us();
            char mark[48];
            snprintf(mark, sizeof mark, "wake task %llu",
                     (unsigned long long)id);
            json_begin_at("X", mark, e, row, at);
            fputs(",\"dur\":0.001}", out);
            json_begin_at("s", "wake", e, row, at);
            fprintf(out, ",\"cat\":\"wake\",\"id\":%llu}",
                    (unsigned long long)++next_flow);
        }
    }
unlock:
    pthread_mutex_unlock(&lock);
}

void
cfut__trace_finish(const void *ex, uint64_t id, const char *name, int status)
{
    pthread_mutex_lock(&lock);
    if (out == NULL)
        goto unlock;
    unsigned e = exec_no(ex, true);
    bool ok = status == CFUT_OK;
    (void)flow_take(e, id); /* no next poll: a pending arrow ends nowhere */
    tls_task = id;          /* the join handle's wake comes from this task */
    tls_exec = e;
    tls_finishing = true;
    if (is_text) {
        text_prefix(e);
        fprintf(out, "task %llu '%s' %s\n", (unsigned long long)id, name,
                ok ? "finished, future dropped"
                   : "cancelled: future dropped while pending");
    } else {
        json_begin("i", ok ? "finish" : "cancel", e, id);
        fprintf(out, ",\"s\":\"t\",\"args\":{\"task\":%llu,\"status\":",
                (unsigned long long)id);
        json_str(cfut_status_name(status));
        fputs("}}", out);
    }
unlock:
    pthread_mutex_unlock(&lock);
}

void
cfut__trace_worker(int index)
{
    tls_worker = index;
}

void
cfut__trace_run_end(const void *ex)
{
    (void)ex;
    pthread_mutex_lock(&lock);
    leave_task();
    pthread_mutex_unlock(&lock);
}

void
cfut__trace_park(const void *ex, bool begin)
{
    pthread_mutex_lock(&lock);
    if (out == NULL)
        goto unlock;
    unsigned e = exec_no(ex, true);
    leave_task();
    if (is_text) {
        text_prefix(e);
        fputs(begin ? "executor parks: nothing to run\n"
                    : "executor unparked\n",
              out);
    } else {
        json_begin(begin ? "B" : "E", begin ? "parked" : "", e, 0);
        fputs("}", out);
    }
unlock:
    pthread_mutex_unlock(&lock);
}

void
cfut__trace_event(const void *ex, const char *what, int fd)
{
    pthread_mutex_lock(&lock);
    if (out == NULL)
        goto unlock;
    unsigned e = exec_no(ex, true);
    leave_task();
    if (fd >= 0)
        snprintf(tls_cause, sizeof tls_cause, "fd %d %s", fd, what);
    else
        snprintf(tls_cause, sizeof tls_cause, "%s", what);
    if (is_text) {
        text_prefix(e);
        fprintf(out, "reactor: %s\n", tls_cause);
    } else {
        json_begin("i", tls_cause, e, 0);
        fputs(",\"s\":\"t\"}", out);
    }
unlock:
    pthread_mutex_unlock(&lock);
}

void
cfut__trace_clock(const void *ex, uint64_t ns)
{
    pthread_mutex_lock(&lock);
    if (out == NULL || ns == 0)
        goto unlock;
    unsigned e = exec_no(ex, true);
    double at = now_us(), ms = (double)ns / 1e6;
    jump_us += (double)ns / 1e3;
    if (is_text) {
        text_prefix(e);
        fprintf(out, "paused clock: +%.1f ms (virtual time)\n", ms);
    } else {
        char name[48];
        snprintf(name, sizeof name, "paused clock +%.1f ms", ms);
        json_begin_at("X", name, e, 0, at);
        fprintf(out, ",\"dur\":%.3f,\"args\":{\"virtual_ns\":%llu}}",
                (double)ns / 1e3, (unsigned long long)ns);
    }
unlock:
    pthread_mutex_unlock(&lock);
}
