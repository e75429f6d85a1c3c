/*
 * exkit.c: the check runner shared by the exercises (exkit.h): forks a
 * child per check, reads its verdict through a pipe, and turns crashes,
 * hangs and leaks into verdicts a learner can act on. It does not know any
 * exercise: each check program brings its own list of checks.
 */
#define _GNU_SOURCE
#include "exkit.h"

#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define EXKIT_LSAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define EXKIT_LSAN 1
#endif
#endif
#ifdef EXKIT_LSAN
#include <sanitizer/lsan_interface.h>
#endif

/* Seconds a check may run (in a forked child; longer in-process, where
 * valgrind may be slowing everything down). */
#define TIMEOUT_FORKED 10
#define TIMEOUT_IN_PROCESS 120

/* ---------------------------------------------------------------------- */
/* Verdict of the running check                                            */
/* ---------------------------------------------------------------------- */

static char message[2048]; /* why the check failed; empty: it passed */
static char notes[8192];   /* context lines, shown under a failure */
static jmp_buf check_exit; /* exkit_fail() jumps back to the runner */

void
exkit_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    if (message[0] == '\0')
        snprintf(message, sizeof message, "(failed)");
    longjmp(check_exit, 1);
}

void
exkit_note(const char *fmt, ...)
{
    size_t used = strlen(notes);
    if (used + 2 >= sizeof notes)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(notes + used, sizeof notes - used - 1, fmt, ap);
    va_end(ap);
    strcat(notes, "\n");
}

/* ---------------------------------------------------------------------- */
/* Counting allocator                                                      */
/* ---------------------------------------------------------------------- */

static atomic_long n_live;
static atomic_long n_allocs;
static atomic_long fail_at;

static void *
counting_alloc(void *ctx, size_t size)
{
    (void)ctx;
    long k = atomic_fetch_add(&n_allocs, 1) + 1;
    long f = atomic_load(&fail_at);
    if (f != 0 && k == f)
        return NULL;
    void *p = malloc(size);
    if (p != NULL)
        atomic_fetch_add(&n_live, 1);
    return p;
}

static void
counting_free(void *ctx, void *ptr)
{
    (void)ctx;
    if (ptr == NULL)
        return;
    atomic_fetch_sub(&n_live, 1);
    free(ptr);
}

static const struct cfut_allocator counting = {counting_alloc, counting_free,
                                               NULL};

long
exkit_alloc_live(void)
{
    return atomic_load(&n_live);
}

long
exkit_alloc_count(void)
{
    return atomic_load(&n_allocs);
}

void
exkit_alloc_fail_at(long n)
{
    atomic_store(&fail_at, n == 0 ? 0 : atomic_load(&n_allocs) + n);
}

/* ---------------------------------------------------------------------- */
/* Counting wakers                                                         */
/* ---------------------------------------------------------------------- */

static atomic_int wakers_cloned;   /* clones made during the check */
static atomic_int wakers_released; /* clones dropped or consumed */

static const struct cfut_waker_vtable counting_waker_vtable;

static void
count_wake(struct exkit_waker *w)
{
    if (!pthread_equal(pthread_self(), w->owner))
        atomic_fetch_add(&w->n_remote, 1);
    pthread_mutex_lock(&w->lock);
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->lock);
}

static struct cfut_waker
cw_clone(void *data)
{
    struct exkit_waker *w = data;
    atomic_fetch_add(&w->n_clones, 1);
    atomic_fetch_add(&w->refs, 1);
    atomic_fetch_add(&wakers_cloned, 1);
    return (struct cfut_waker){&counting_waker_vtable, w};
}

static void
cw_wake(void *data)
{
    struct exkit_waker *w = data;
    atomic_fetch_add(&w->refs, -1);
    atomic_fetch_add(&wakers_released, 1);
    atomic_fetch_add(&w->n_wakes, 1);
    count_wake(w);
}

static void
cw_wake_by_ref(void *data)
{
    struct exkit_waker *w = data;
    atomic_fetch_add(&w->n_wakes_by_ref, 1);
    count_wake(w);
}

static void
cw_drop(void *data)
{
    struct exkit_waker *w = data;
    atomic_fetch_add(&w->refs, -1);
    atomic_fetch_add(&wakers_released, 1);
    atomic_fetch_add(&w->n_drops, 1);
}

static const struct cfut_waker_vtable counting_waker_vtable = {
    cw_clone, cw_wake, cw_wake_by_ref, cw_drop};

struct cfut_waker
exkit_waker_init(struct exkit_waker *w)
{
    atomic_init(&w->refs, 0);
    atomic_init(&w->n_clones, 0);
    atomic_init(&w->n_wakes, 0);
    atomic_init(&w->n_wakes_by_ref, 0);
    atomic_init(&w->n_drops, 0);
    atomic_init(&w->n_remote, 0);
    w->owner = pthread_self();
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->cond, NULL);
    return (struct cfut_waker){&counting_waker_vtable, w};
}

struct cfut_waker
exkit_waker_of(struct exkit_waker *w)
{
    return (struct cfut_waker){&counting_waker_vtable, w};
}

int
exkit_waker_n_woken(struct exkit_waker *w)
{
    return atomic_load(&w->n_wakes) + atomic_load(&w->n_wakes_by_ref);
}

bool
exkit_waker_wait(struct exkit_waker *w, int n, int ms)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += ms / 1000;
    until.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&w->lock);
    int rc = 0;
    while (exkit_waker_n_woken(w) < n && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&w->cond, &w->lock, &until);
    pthread_mutex_unlock(&w->lock);
    return exkit_waker_n_woken(w) >= n;
}

void
exkit_waker_deinit(struct exkit_waker *w)
{
    pthread_cond_destroy(&w->cond);
    pthread_mutex_destroy(&w->lock);
}

/* ---------------------------------------------------------------------- */
/* Trace capture                                                           */
/* ---------------------------------------------------------------------- */

/*
 * The file stderr goes to while a trace is captured. In a forked check the
 * parent makes it before the fork, so that when the child dies during a
 * capture (a sanitizer's report went there too) the parent can print what
 * it holds. A capture that ends normally leaves it empty.
 */
static FILE *capture_file;
static int saved_stderr = -1;
static char *trace_text;

void
exkit_trace_begin(void)
{
    if (cfut_trace_is_on()) /* CFUT_TRACE was set: we take it over */
        cfut_trace_stop();
    if (capture_file == NULL)
        capture_file = tmpfile();
    if (capture_file == NULL)
        exkit_fail("(the check could not create a temporary file)");
    fflush(stderr);
    if (ftruncate(fileno(capture_file), 0) != 0)
        exkit_fail("(the check could not empty its temporary file)");
    rewind(capture_file);
    saved_stderr = dup(2);
    dup2(fileno(capture_file), 2);
    if (cfut_trace_start("-") != CFUT_OK)
        exkit_fail("(the check could not start the trace)");
}

/* Gives stderr back (after a capture, or when a check failed in one). */
static void
restore_stderr(void)
{
    cfut_trace_stop();
    fflush(stderr);
    dup2(saved_stderr, 2);
    close(saved_stderr);
    saved_stderr = -1;
}

/* Returns what the capture file holds (malloc'd) and empties it. */
static char *
take_capture(void)
{
    fflush(capture_file);
    off_t size = lseek(fileno(capture_file), 0, SEEK_END);
    char *text = malloc(size > 0 ? (size_t)size + 1 : 1);
    if (text == NULL)
        return NULL;
    ssize_t n =
        size > 0 ? pread(fileno(capture_file), text, (size_t)size, 0) : 0;
    text[n > 0 ? n : 0] = '\0';
    if (ftruncate(fileno(capture_file), 0) != 0)
        text[0] = '\0';
    rewind(capture_file);
    return text;
}

const char *
exkit_trace_end(void)
{
    restore_stderr();
    free(trace_text);
    trace_text = take_capture();
    if (trace_text == NULL)
        exkit_fail("(the check ran out of memory)");
    return trace_text;
}

int
exkit_trace_count(const char *text, const char *needle)
{
    int n = 0;
    while (*text != '\0') {
        const char *end = strchr(text, '\n');
        size_t len = end != NULL ? (size_t)(end - text) : strlen(text);
        const char *hit = strstr(text, needle);
        if (hit != NULL && hit < text + len)
            n++;
        text += len + (end != NULL);
    }
    return n;
}

void
exkit_note_trace(const char *text)
{
    exkit_note("what the executor did (its trace, as CFUT_TRACE=- prints it):");
    int n = 0;
    while (*text != '\0' && n < 30) {
        const char *end = strchr(text, '\n');
        int len = end != NULL ? (int)(end - text) : (int)strlen(text);
        exkit_note("  %.*s", len, text);
        text += len + (end != NULL);
        n++;
    }
    if (*text != '\0')
        exkit_note("  ...");
}

/* ---------------------------------------------------------------------- */
/* Helpers                                                                 */
/* ---------------------------------------------------------------------- */

void
exkit_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* ---------------------------------------------------------------------- */
/* Running one check                                                       */
/* ---------------------------------------------------------------------- */

/*
 * Runs 'c' in this process and leaves its verdict in 'message' (empty:
 * passed) and 'notes'. After the body, what the check left behind fails
 * it: blocks from cfut_alloc(), waker clones, malloc() leaks (ASan).
 */
static void
run_check(const struct exkit_check *c)
{
    message[0] = '\0';
    notes[0] = '\0';
    long live0 = atomic_load(&n_live);
    atomic_store(&n_allocs, 0);
    atomic_store(&fail_at, 0);
    atomic_store(&wakers_cloned, 0);
    atomic_store(&wakers_released, 0);
    if (setjmp(check_exit) != 0) {
        if (saved_stderr >= 0) { /* failed while capturing a trace */
            restore_stderr();
            free(take_capture());
        }
        return;
    }
    c->run();

    /* What the check left behind. */
    cfut_thread_cleanup(); /* the library's cache of small blocks */
    int cloned = atomic_load(&wakers_cloned);
    int released = atomic_load(&wakers_released);
    if (cloned != released)
        exkit_fail("the check's wakers were cloned %d time%s but only %d of "
                   "those clones were dropped or consumed by a wake: a waker "
                   "reference leaked (every clone must end in exactly one "
                   "drop or wake)",
                   cloned, cloned == 1 ? "" : "s", released);
    long left = atomic_load(&n_live) - live0;
    if (left != 0)
        exkit_fail("when the check ended, %ld block%s allocated with "
                   "cfut_alloc() (by your code or by the library for it) "
                   "%s still in use: something was never dropped or freed",
                   left, left == 1 ? "" : "s", left == 1 ? "was" : "were");
#ifdef EXKIT_LSAN
    if (__lsan_do_recoverable_leak_check() != 0)
        exkit_fail("memory from malloc() was never freed: LeakSanitizer's "
                   "report above says where it was allocated");
#endif
}

/*
 * Prints 'text' wrapped to 78 columns, each line indented by 'indent'; an
 * indented line that is continued keeps its own indentation, plus two.
 */
static void
print_wrapped(const char *text, int indent)
{
    while (*text != '\0') {
        const char *nl = strchr(text, '\n');
        int len = nl != NULL ? (int)(nl - text) : (int)strlen(text);
        int lead = 0;
        while (lead < len && text[lead] == ' ')
            lead++;
        int at = indent; /* the column this piece starts at */
        for (bool first = true; len > 0 || first; first = false) {
            int width = 78 - at;
            int piece = len;
            if (piece > width) { /* break at the last space that fits */
                int cut = width;
                while (cut > 0 && text[cut] != ' ')
                    cut--;
                piece = cut > lead ? cut : width;
            }
            printf("%*s%.*s\n", at, "", piece, text);
            text += piece;
            len -= piece;
            while (len > 0 && *text == ' ') {
                text++;
                len--;
            }
            at = indent + (lead > 0 ? lead + 2 : 0);
            lead = 0;
        }
        if (*text == '\n')
            text++;
    }
}

/* Says in words why a child ended without a verdict. */
static void
describe_death(int status, char *out, size_t n)
{
    if (WIFSIGNALED(status)) {
        int sig = WTERMSIG(status);
        const char *why =
            sig == SIGALRM   ? "it did not finish in time: an endless loop, or "
                               "a wait that nothing ever ends?"
            : sig == SIGSEGV ? "a segmentation fault: a bad or freed pointer?"
            : sig == SIGABRT ? "abort(): an assertion, a sanitizer or the "
                               "library's debug checks stopped it; their "
                               "message is above"
            : sig == SIGFPE  ? "an arithmetic error (division by zero?)"
                             : "a fatal signal";
        snprintf(out, n, "the check crashed (%s): %s", strsignal(sig), why);
    } else {
        snprintf(out, n,
                 "the check stopped before its end (exit status %d): the "
                 "message above says why (a sanitizer's report, for instance)",
                 WEXITSTATUS(status));
    }
}

/* Runs 'c' in a forked child; returns true when it passed. */
static bool
run_forked(const struct exkit_check *c)
{
    int fds[2];
    if (pipe(fds) != 0) {
        perror("exkit: pipe");
        exit(2);
    }
    capture_file = tmpfile(); /* shared with the child (see above) */
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        perror("exkit: fork");
        exit(2);
    }
    if (pid == 0) {
        close(fds[0]);
        alarm(TIMEOUT_FORKED);
        run_check(c);
        /* The verdict: 'P', or 'F', the message, a NUL, the notes. */
        FILE *w = fdopen(fds[1], "w");
        if (w != NULL) {
            if (message[0] == '\0')
                fputc('P', w);
            else
                fprintf(w, "F%s%c%s", message, '\0', notes);
            fclose(w);
        }
        fflush(NULL);
        _exit(0);
    }
    close(fds[1]);
    static char buf[sizeof message + sizeof notes + 2];
    size_t got = 0;
    ssize_t r;
    while (got < sizeof buf - 1 &&
           (r = read(fds[0], buf + got, sizeof buf - 1 - got)) != 0) {
        if (r < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        got += (size_t)r;
    }
    buf[got] = '\0';
    close(fds[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (got > 0 && buf[0] == 'P' && WIFEXITED(status) &&
        WEXITSTATUS(status) == 0) {
        message[0] = '\0';
        fclose(capture_file);
        capture_file = NULL;
        return true;
    }
    if (got > 0 && buf[0] == 'F') {
        snprintf(message, sizeof message, "%s", buf + 1);
        size_t mlen = strlen(buf + 1);
        snprintf(notes, sizeof notes, "%s",
                 1 + mlen + 1 <= got ? buf + 1 + mlen + 1 : "");
    } else {
        describe_death(status, message, sizeof message);
        notes[0] = '\0';
        char *left = capture_file != NULL ? take_capture() : NULL;
        if (left != NULL && left[0] != '\0')
            fprintf(stderr,
                    "---- what was written to stderr while the check "
                    "captured the trace ----\n%s"
                    "---- (end) ----\n",
                    left);
        free(left);
    }
    if (capture_file != NULL)
        fclose(capture_file);
    capture_file = NULL;
    return false;
}

static void
usage(const char *argv0)
{
    fprintf(stderr, "usage: %s [--list] [--only NAME] [--no-fork]\n", argv0);
}

int
exkit_main(int argc, char **argv, const char *folder, const char *title,
           const struct exkit_check *checks, size_t n_checks)
{
    const char *only = NULL;
    const char *env = getenv("CK_FORK");
    bool fork_each = env == NULL || strcmp(env, "no") != 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--list") == 0) {
            for (size_t k = 0; k < n_checks; k++)
                printf("%s\n", checks[k].name);
            return 0;
        } else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc) {
            only = argv[++i];
        } else if (strcmp(argv[i], "--no-fork") == 0) {
            fork_each = false;
        } else {
            usage(argv[0]);
            return 2;
        }
    }
    if (only != NULL) {
        size_t k = 0;
        while (k < n_checks && strcmp(checks[k].name, only) != 0)
            k++;
        if (k == n_checks) {
            fprintf(stderr, "%s: no check is named '%s' (--list names them)\n",
                    argv[0], only);
            return 2;
        }
    }

    cfut_set_allocator(&counting);
    setvbuf(stdout, NULL, _IOLBF, 0);
    char heading[256];
    snprintf(heading, sizeof heading, "Exercise %s: %s", folder, title);
    print_wrapped(heading, 0);
    size_t n_run = 0, n_passed = 0;
    for (size_t k = 0; k < n_checks; k++) {
        const struct exkit_check *c = &checks[k];
        if (only != NULL && strcmp(c->name, only) != 0)
            continue;
        n_run++;
        bool ok;
        if (fork_each) {
            ok = run_forked(c);
        } else {
            alarm(TIMEOUT_IN_PROCESS);
            run_check(c);
            alarm(0);
            ok = message[0] == '\0';
        }
        printf("  %-5s %s\n", ok ? "ok" : "FAIL", c->what);
        if (!ok) {
            print_wrapped(message, 8);
            if (notes[0] != '\0')
                print_wrapped(notes, 10);
        }
        n_passed += ok;
    }
    if (n_passed == n_run) {
        if (n_run == 1)
            printf("The check passes.\n");
        else
            printf("All %zu checks pass.\n", n_run);
    } else {
        printf("%zu of %zu checks pass; read the first FAIL above: it says "
               "what to change.\n",
               n_passed, n_run);
    }
    cfut_set_allocator(NULL);
    free(trace_text); /* nothing of ours is left at exit (valgrind) */
    trace_text = NULL;
    if (capture_file != NULL)
        fclose(capture_file);
    capture_file = NULL;
    return n_passed == n_run ? 0 : 1;
}
