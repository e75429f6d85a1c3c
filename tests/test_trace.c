/*
 * test_trace.c: tracing (CFUT_TRACE): a traced run writes valid Chrome
 * trace-event JSON with spawn, poll begin/end, wake (also from another
 * thread), finish and cancel events; each wake is a flow from where it
 * happened to the woken task's next poll; a paused clock's jumps move the
 * timestamps and are labelled; the text mode names tasks and the await a
 * coroutine waits at; the file is complete whenever no executor lives;
 * bad specs are refused; the debug task dump shows the await.
 */
#define _GNU_SOURCE
#include "testkit.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- a gate: a leaf future opened from another thread ---- */

struct gate {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool open;
    bool has_waiter;
    struct cfut_waker waker;
};

static struct gate the_gate;

static void
gate_reset(void)
{
    pthread_mutex_init(&the_gate.lock, NULL);
    pthread_cond_init(&the_gate.cond, NULL);
    the_gate.open = false;
    the_gate.has_waiter = false;
    the_gate.waker = CFUT_WAKER_EMPTY;
}

struct gate_wait {
    struct cfut_future base;
};

static enum cfut_poll
gate_wait_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    (void)f;
    (void)out;
    pthread_mutex_lock(&the_gate.lock);
    bool open = the_gate.open;
    if (!open) {
        cfut_waker_register(&the_gate.waker, cx->waker);
        the_gate.has_waiter = true;
        pthread_cond_broadcast(&the_gate.cond);
    }
    pthread_mutex_unlock(&the_gate.lock);
    return open ? CFUT_READY : CFUT_PENDING;
}

static void
gate_wait_drop(struct cfut_future *f)
{
    (void)f;
    pthread_mutex_lock(&the_gate.lock);
    cfut_waker_drop(&the_gate.waker);
    pthread_mutex_unlock(&the_gate.lock);
}

static const struct cfut_future_vtable gate_wait_vtable = {
    gate_wait_poll, gate_wait_drop, 0, "gate_wait", NULL};

/* Opens the gate once someone waits at it, and wakes them (any thread). */
static void *
gate_opener(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&the_gate.lock);
    while (!the_gate.has_waiter)
        pthread_cond_wait(&the_gate.cond, &the_gate.lock);
    the_gate.open = true;
    struct cfut_waker w = the_gate.waker;
    the_gate.waker = CFUT_WAKER_EMPTY;
    pthread_mutex_unlock(&the_gate.lock);
    cfut_waker_wake(&w);
    return NULL;
}

/* ---- a coroutine 'fetch': waits at the gate, yields, returns 7 ---- */

struct fetch {
    struct cfut_future base;
    struct cfut_coro co;
    struct gate_wait g;
};

static enum cfut_poll
fetch_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct fetch *s = cfut_container_of(f, struct fetch, base);
    CFUT_ASYNC_BEGIN(&s->co);
    cfut_future_init(&s->g.base, &gate_wait_vtable);
    CFUT_AWAIT(&s->co, cx, &s->g.base, NULL);
    CFUT_YIELD(&s->co, cx);
    CFUT_ASYNC_RETURN(&s->co, out, uint64_t, 7);
    CFUT_ASYNC_END(&s->co);
}

static void
fetch_drop(struct cfut_future *f)
{
    cfut_coro_drop(&cfut_container_of(f, struct fetch, base)->co);
}

static const struct cfut_future_vtable fetch_vtable = {
    fetch_poll, fetch_drop, sizeof(uint64_t), "fetch", NULL};

/*
 * The traced program: 'fetch' (woken from another thread) and a countdown
 * that is cancelled; block_on the fetch's handle, then free everything.
 */
static void
run_program(void)
{
    struct cfut_executor *ex;
    ck_assert_int_eq(cfut_executor_new(&ex), CFUT_OK);
    gate_reset();
    struct fetch fe;
    cfut_future_init(&fe.base, &fetch_vtable);
    cfut_coro_init(&fe.co);
    struct testkit_countdown cd;
    testkit_countdown_init(&cd, 5, false, 1);
    struct cfut_join_handle hf, hc;
    ck_assert_int_eq(cfut_spawn(ex, &fe.base, sizeof fe, &hf), CFUT_OK);
    ck_assert_int_eq(cfut_spawn(ex, &cd.base, sizeof cd, &hc), CFUT_OK);
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, gate_opener, NULL), 0);

    cfut_join_handle_cancel(&hc);
    CFUT_JOIN_OUTPUT(uint64_t) r;
    ck_assert_int_eq(cfut_block_on(ex, &hf.base, &r), CFUT_OK);
    pthread_join(th, NULL);

    ck_assert_uint_eq(r.value, 7);
    cfut_future_drop(&hc.base);
    cfut_executor_free(ex);
}

/* ---- reading files and checking JSON ---- */

static char *
read_file(FILE *f)
{
    fflush(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    ck_assert_ptr_nonnull(buf);
    size_t got = fread(buf, 1, (size_t)n, f);
    buf[got] = '\0';
    return buf;
}

static const char *json_value(const char *p);

static const char *
json_ws(const char *p)
{
    while (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')
        p++;
    return p;
}

/* Returns the end of the JSON string at 'p', or NULL. */
static const char *
json_string(const char *p)
{
    if (*p++ != '"')
        return NULL;
    for (; *p != '"'; p++) {
        if (*p == '\0' || (unsigned char)*p < 0x20)
            return NULL;
        if (*p == '\\' && *++p == '\0')
            return NULL;
    }
    return p + 1;
}

/* Parses a JSON object or array (by its brackets) at 'p'; NULL if bad. */
static const char *
json_composite(const char *p, char open, char close)
{
    p = json_ws(p + 1);
    if (*p == close)
        return p + 1;
    for (;;) {
        if (open == '{') {
            p = json_string(json_ws(p));
            if (p == NULL || *(p = json_ws(p)) != ':')
                return NULL;
            p++;
        }
        p = json_value(p);
        if (p == NULL)
            return NULL;
        p = json_ws(p);
        if (*p == close)
            return p + 1;
        if (*p++ != ',')
            return NULL;
    }
}

static const char *
json_value(const char *p)
{
    p = json_ws(p);
    if (*p == '{')
        return json_composite(p, '{', '}');
    if (*p == '[')
        return json_composite(p, '[', ']');
    if (*p == '"')
        return json_string(p);
    if (strncmp(p, "true", 4) == 0 || strncmp(p, "null", 4) == 0)
        return p + 4;
    if (strncmp(p, "false", 5) == 0)
        return p + 5;
    char *end;
    strtod(p, &end);
    return end != p ? end : NULL;
}

/* Whether 'text' is exactly one valid JSON value. */
static bool
json_is_valid(const char *text)
{
    const char *end = json_value(text);
    return end != NULL && *json_ws(end) == '\0';
}

static int
count(const char *text, const char *needle)
{
    int n = 0;
    for (const char *p = text; (p = strstr(p, needle)) != NULL; p++)
        n++;
    return n;
}

/* Starts a JSON trace written to a temporary file, which it returns. */
static FILE *
json_trace_start(void)
{
    FILE *tmp = tmpfile();
    ck_assert_ptr_nonnull(tmp);
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fileno(tmp));
    ck_assert_int_eq(cfut_trace_start(path), CFUT_OK);
    return tmp;
}

/* Stops the trace and returns what it wrote. */
static char *
json_trace_stop(FILE *tmp)
{
    cfut_trace_stop();
    return read_file(tmp);
}

/* ---- tests ---- */

START_TEST(test_trace_json_has_every_event)
{
    FILE *tmp = json_trace_start();
    run_program();

    char *text = json_trace_stop(tmp);
    ck_assert_msg(json_is_valid(text), "not valid JSON:\n%s", text);
    ck_assert_ptr_nonnull(strstr(text, "{\"displayTimeUnit\""));
    ck_assert_ptr_nonnull(strstr(text, "\"traceEvents\":["));
    ck_assert_ptr_nonnull(strstr(text, "\"name\":\"task 1 'fetch'\""));
    ck_assert_ptr_nonnull(strstr(text, "\"name\":\"spawn\""));
    ck_assert_ptr_nonnull(strstr(text, "\"name\":\"block_on\""));
    ck_assert_int_eq(count(text, "\"ph\":\"B\""), count(text, "\"ph\":\"E\""));
    ck_assert_ptr_nonnull(strstr(text, "\"name\":\"poll fetch\""));
    ck_assert_ptr_nonnull(strstr(text, "\"result\":\"Pending\""));
    ck_assert_ptr_nonnull(strstr(text, "\"result\":\"Ready\""));
    ck_assert_ptr_nonnull(strstr(text, "\"suspended_at\":\"test_trace.c:"));
    ck_assert_ptr_nonnull(strstr(text, "\"remote\":true"));
    ck_assert_ptr_nonnull(strstr(text, "\"name\":\"cancel\""));
    ck_assert_ptr_nonnull(strstr(text, "\"name\":\"finish\""));
    free(text);
    fclose(tmp);
}
END_TEST

/* Starts a text trace whose stderr goes to a temporary file. */
static FILE *
text_trace_start(int *saved)
{
    FILE *tmp = tmpfile();
    ck_assert_ptr_nonnull(tmp);
    fflush(stderr);
    *saved = dup(2);
    dup2(fileno(tmp), 2);
    ck_assert_int_eq(cfut_trace_start("-"), CFUT_OK);
    return tmp;
}

/* Stops the trace, restores stderr and returns what the trace wrote. */
static char *
text_trace_stop(FILE *tmp, int saved)
{
    cfut_trace_stop();
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    return read_file(tmp);
}

START_TEST(test_trace_text_names_tasks_and_awaits)
{
    int saved;
    FILE *tmp = text_trace_start(&saved);

    run_program();

    char *text = text_trace_stop(tmp, saved);
    ck_assert_ptr_nonnull(strstr(text, "task 1 'fetch' spawned\n"));
    ck_assert_ptr_nonnull(strstr(text, "task 3 'join_handle' entered "
                                       "block_on\n"));
    ck_assert_ptr_nonnull(strstr(text, "task 1 'fetch' polled -> Pending, "
                                       "suspended at test_trace.c:"));
    ck_assert_ptr_nonnull(strstr(text, "task 1 woken from thread 2 "
                                       "(not the executor's)\n"));
    ck_assert_ptr_nonnull(strstr(text, "task 1 'fetch' woken by itself\n"));
    ck_assert_ptr_nonnull(strstr(text, "task 1 'fetch' polled -> Ready\n"));
    ck_assert_ptr_nonnull(strstr(text, "task 3 'join_handle' woken by task 1 "
                                       "as it finished\n"));
    ck_assert_ptr_nonnull(strstr(text, "task 2 'countdown' cancelled"));
    free(text);
    fclose(tmp);
}
END_TEST

START_TEST(test_trace_spawn_from_main_after_block_on_has_no_parent)
{
    int saved;
    FILE *tmp = text_trace_start(&saved);
    struct cfut_executor *ex;
    ck_assert_int_eq(cfut_executor_new(&ex), CFUT_OK);
    struct testkit_countdown first, later;
    testkit_countdown_init(&first, 1, true, 1);
    testkit_countdown_init(&later, 0, true, 2);
    uint64_t out;

    ck_assert_int_eq(cfut_block_on(ex, &first.base, &out), CFUT_OK);
    ck_assert_int_eq(cfut_spawn(ex, &later.base, sizeof later, NULL), CFUT_OK);
    ck_assert_int_eq(cfut_executor_run(ex), CFUT_OK);
    cfut_executor_free(ex);

    char *text = text_trace_stop(tmp, saved);
    ck_assert_msg(strstr(text, "task 1 'countdown' polled -> Ready\n") != NULL,
                  "%s", text);
    ck_assert_msg(strstr(text, "task 2 'countdown' spawned\n") != NULL, "%s",
                  text);
    free(text);
    fclose(tmp);
}
END_TEST

START_TEST(test_trace_file_is_complete_whenever_no_executor_lives)
{
    FILE *tmp = json_trace_start();

    run_program();
    char *first = read_file(tmp);
    run_program();
    char *second = read_file(tmp);
    cfut_trace_stop();

    ck_assert_msg(json_is_valid(first), "not valid JSON:\n%s", first);
    ck_assert_msg(json_is_valid(second), "not valid JSON:\n%s", second);
    ck_assert_int_eq(count(second, "\"name\":\"finish\""),
                     2 * count(first, "\"name\":\"finish\""));
    ck_assert_ptr_nonnull(strstr(second, "\"cfut executor 2\""));
    free(first);
    free(second);
    fclose(tmp);
}
END_TEST

START_TEST(test_trace_start_refuses_bad_specs)
{
    ck_assert(!cfut_trace_is_on());

    ck_assert_int_eq(cfut_trace_start(NULL), CFUT_EINVAL);
    ck_assert_int_eq(cfut_trace_start(""), CFUT_EINVAL);
    ck_assert_int_eq(cfut_trace_start("/nonexistent-dir/x.json"), -ENOENT);
    ck_assert(!cfut_trace_is_on());
    ck_assert_int_eq(cfut_trace_start("-"), CFUT_OK);
    ck_assert_int_eq(cfut_trace_start("-"), CFUT_EBUSY);
    ck_assert(cfut_trace_is_on());
    cfut_trace_stop();

    ck_assert(!cfut_trace_is_on());
}
END_TEST

START_TEST(test_trace_dump_shows_the_await)
{
    struct cfut_executor *ex;
    ck_assert_int_eq(cfut_executor_new(&ex), CFUT_OK);
    gate_reset();
    struct fetch fe;
    cfut_future_init(&fe.base, &fetch_vtable);
    cfut_coro_init(&fe.co);
    ck_assert_int_eq(cfut_spawn(ex, &fe.base, sizeof fe, NULL), CFUT_OK);
    ck_assert_int_eq(cfut_executor_run_ready(ex), CFUT_OK);
    FILE *tmp = tmpfile();

    cfut_executor_dump(ex, tmp);

    char *text = read_file(tmp);
#if CFUT_DEBUG_CHECKS
    ck_assert_msg(strstr(text, "task 1 'fetch' idle, suspended at ") != NULL &&
                      strstr(text, "test_trace.c:") != NULL,
                  "dump: %s", text);
#else
    ck_assert_ptr_nonnull(strstr(text, "task 1 'fetch' idle\n"));
#endif
    free(text);
    fclose(tmp);
    cfut_executor_free(ex); /* cancels the task */
}
END_TEST

/* ---- flows and the paused clock ---- */

/* The value of the number field 'key' ("\"id\":") in the line at 'p'. */
static unsigned long long
field(const char *line, const char *key)
{
    const char *p = strstr(line, key);
    ck_assert_msg(p != NULL, "no %s in %s", key, line);
    return strtoull(p + strlen(key), NULL, 10);
}

START_TEST(test_trace_wakes_are_flows_to_the_next_poll)
{
    FILE *tmp = json_trace_start();

    run_program();

    /* Each event is a line: every flow end ("f") binds to the poll that
     * begins just before it, on the woken task's row, and has a flow start
     * ("s") earlier; one start sits on the row of the thread that woke. */
    char *text = json_trace_stop(tmp);
    unsigned long long starts[64], start_tids[64];
    int n_starts = 0, n_ends = 0;
    unsigned long long remote_tid = 0;
    char *prev = NULL;
    for (char *line = strtok(text, "\n"); line != NULL;
         prev = line, line = strtok(NULL, "\n")) {
        if (strstr(line, "\"name\":\"thread 2 (not the executor's)\""))
            remote_tid = field(line, "\"tid\":");
        if (strstr(line, "\"ph\":\"s\"") != NULL) {
            ck_assert_int_lt(n_starts, 64);
            start_tids[n_starts] = field(line, "\"tid\":");
            starts[n_starts++] = field(line, "\"id\":");
        } else if (strstr(line, "\"ph\":\"f\"") != NULL) {
            n_ends++;
            ck_assert_ptr_nonnull(strstr(line, "\"bp\":\"e\""));
            ck_assert_ptr_nonnull(prev);
            ck_assert_msg(strstr(prev, "\"ph\":\"B\"") != NULL &&
                              field(prev, "\"tid\":") ==
                                  field(line, "\"tid\":"),
                          "a flow ends outside a poll's start: %s", line);
            bool started = false;
            for (int i = 0; i < n_starts; i++)
                started |= starts[i] == field(line, "\"id\":");
            ck_assert_msg(started, "a flow ends without a start: %s", line);
        }
    }

    ck_assert_int_ge(n_ends, 3); /* from the thread, itself, the finish */
    ck_assert_uint_ne(remote_tid, 0);
    bool from_remote = false;
    for (int i = 0; i < n_starts; i++)
        from_remote |= start_tids[i] == remote_tid;
    ck_assert(from_remote);
    free(text);
    fclose(tmp);
}
END_TEST

/* Runs a 30 ms sleep on a paused clock: no real time passes. */
static void
sleep_on_paused_clock(void)
{
    struct cfut_executor *ex;
    ck_assert_int_eq(cfut_executor_new(&ex), CFUT_OK);
    cfut_time_pause(ex);
    struct cfut_sleep s;
    cfut_sleep_init(&s, CFUT_MSEC(30));
    int st = -1;
    ck_assert_int_eq(cfut_block_on(ex, &s.base, &st), CFUT_OK);
    ck_assert_int_eq(st, CFUT_OK);
    cfut_executor_free(ex);
}

START_TEST(test_trace_paused_clock_shows_the_virtual_wait)
{
    FILE *tmp = json_trace_start();

    sleep_on_paused_clock();

    /* The events after the jump lie 30 ms later, and the jump is a slice
     * of its own on the executor's row, labelled. */
    char *text = json_trace_stop(tmp);
    ck_assert_msg(json_is_valid(text), "not valid JSON:\n%s", text);
    double last = 0;
    for (const char *p = text; (p = strstr(p, "\"ts\":")) != NULL; p++)
        last = strtod(p + 5, NULL);
    ck_assert_msg(last >= 30000.0, "last event at %f us:\n%s", last, text);
    ck_assert_msg(strstr(text, "\"name\":\"paused clock +30.0 ms\"") != NULL &&
                      strstr(text, "\"dur\":30000.000") != NULL &&
                      strstr(text, "\"virtual_ns\":30000000") != NULL,
                  "%s", text);
    free(text);
    fclose(tmp);
}
END_TEST

START_TEST(test_trace_text_tells_the_paused_clock_jumps)
{
    int saved;
    FILE *tmp = text_trace_start(&saved);

    sleep_on_paused_clock();

    char *text = text_trace_stop(tmp, saved);
    ck_assert_msg(strstr(text, "paused clock: +30.0 ms (virtual time)\n") !=
                      NULL,
                  "%s", text);
    free(text);
    fclose(tmp);
}
END_TEST

static Suite *
trace_suite(void)
{
    Suite *s = suite_create("trace");
    TCase *tc = tcase_create("json");
    testkit_fixture(tc);
    tcase_add_test(tc, test_trace_json_has_every_event);
    tcase_add_test(tc, test_trace_file_is_complete_whenever_no_executor_lives);
    tcase_add_test(tc, test_trace_wakes_are_flows_to_the_next_poll);
    tcase_add_test(tc, test_trace_paused_clock_shows_the_virtual_wait);
    suite_add_tcase(s, tc);
    tc = tcase_create("text");
    testkit_fixture(tc);
    tcase_add_test(tc, test_trace_text_names_tasks_and_awaits);
    tcase_add_test(tc, test_trace_start_refuses_bad_specs);
    tcase_add_test(tc, test_trace_spawn_from_main_after_block_on_has_no_parent);
    tcase_add_test(tc, test_trace_text_tells_the_paused_clock_jumps);
    suite_add_tcase(s, tc);
    tc = tcase_create("dump");
    testkit_fixture(tc);
    tcase_add_test(tc, test_trace_dump_shows_the_await);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return testkit_run(trace_suite());
}
