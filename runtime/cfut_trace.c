/*
 * cfut_trace.c: the trace sink behind CFUT_TRACE: Chrome trace-event JSON
 * or plain sentences on stderr, fed through the hooks of cfut_trace_int.h
 * (the executor, the timers and the reactor tell it what happens). It
 * does not decide anything and reads and writes nothing of theirs; it
 * runs only while a trace is on.
 */
#define _GNU_SOURCE
#include "cfut_trace_int.h"

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

/* Executors seen, numbered in order: the JSON 'pid' and the text's name. */
#define MAX_EXECUTORS 64
static struct {
    const void *ex;
    unsigned serial;
} execs[MAX_EXECUTORS];
static unsigned n_execs, next_serial;

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

static double
now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)(ts.tv_sec - t0.tv_sec) * 1e6 +
           (double)(ts.tv_nsec - t0.tv_nsec) / 1e3;
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

/* Starts a JSON event: separator, then the common fields. */
static void
json_begin(const char *ph, const char *name, unsigned pid, uint64_t tid)
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
            (unsigned long long)tid, now_us());
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
            rc = CFUT_EIO;
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
        fputs("}", out);
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
    tls_task = id; /* the join handle's wake comes from this task */
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
