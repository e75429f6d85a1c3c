/*
 * Lesson 12: why a future must not move once polled (pinning).
 *
 * What you will learn:
 *   - a polled future may hold pointers into itself (or have handed its
 *     address to a wait list); a byte copy keeps pointing at the original;
 *   - so a future may be moved until its first poll, never after; debug
 *     builds record the address at the first poll and abort with a message
 *     when a later poll sees another one;
 *   - how to watch an abort safely: fork, let the child misbehave, and read
 *     its stderr through a pipe.
 * Builds on: lesson 05 (the contract) and lesson 10 (state kept in the
 *   struct).
 * API introduced: CFUT_DEBUG_CHECKS (from cfut_config.h: are the debug
 *   checks compiled in?).
 * Run it: build/examples/12_pinning
 * Expected output: examples/expected/12_pinning.txt (a debug build)
 */
#include <cfut.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* A future that reads a word out of its own buffer, a letter per poll. */
struct reader {
    struct cfut_future base;
    char buf[8];
    char *cursor; /* points into 'buf' from the first poll on: self-pointer */
};

static enum cfut_poll
reader_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct reader *r = cfut_container_of(f, struct reader, base);
    if (r->cursor == NULL)
        r->cursor = r->buf; /* first poll: remember where we are */
    if (*r->cursor != '\0') {
        r->cursor++; /* one letter per poll */
        cfut_waker_wake_by_ref(cx->waker);
        return CFUT_PENDING;
    }
    *(size_t *)out = (size_t)(r->cursor - r->buf);
    return CFUT_READY;
}

static const struct cfut_future_vtable reader_vtable = {
    reader_poll, NULL, sizeof(size_t), "reader", NULL};

static void
reader_init(struct reader *r, const char *word)
{
    cfut_future_init(&r->base, &reader_vtable);
    snprintf(r->buf, sizeof r->buf, "%s", word);
    r->cursor = NULL;
}

int
main(void)
{
    struct cfut_context cx;
    cfut_context_init(&cx, cfut_waker_noop());
    size_t n;

    /* Step 1: poll once; the future now points into itself. */
    struct reader orig;
    reader_init(&orig, "pin");
    cfut_future_poll(&orig.base, &cx, &n);
    printf("after one poll, cursor is in orig.buf: %s\n",
           orig.cursor >= orig.buf && orig.cursor < orig.buf + 8 ? "yes"
                                                                 : "no");

    /* Step 2: a byte copy (a "move") keeps the old pointer: it reads the
     * original's buffer, not its own. We only look, we do not poll it. */
    struct reader copy;
    memcpy(&copy, &orig, sizeof copy);
    printf("the copy's cursor is in copy.buf: %s; in orig.buf: %s\n",
           copy.cursor >= copy.buf && copy.cursor < copy.buf + 8 ? "yes" : "no",
           copy.cursor >= orig.buf && copy.cursor < orig.buf + 8 ? "yes"
                                                                 : "no");
    cfut_future_drop(&orig.base); /* the copy is never polled or dropped */

#if CFUT_DEBUG_CHECKS
    /* Step 3: a child process moves a polled future and polls the copy. */
    int fds[2];
    if (pipe(fds) != 0)
        return 1;
    fflush(stdout); /* the child must not repeat our buffered output */
    pid_t pid = fork();
    if (pid < 0)
        return 1;
    if (pid == 0) {
        dup2(fds[1], 2); /* the child's stderr goes into the pipe */
        close(fds[0]);
        struct reader a, b;
        reader_init(&a, "oops");
        cfut_future_poll(&a.base, &cx, &n); /* pinned from here on */
        memcpy(&b, &a, sizeof b);           /* the forbidden move */
        cfut_future_poll(&b.base, &cx, &n); /* the check aborts here */
        _exit(0);                           /* not reached */
    }
    /* Step 4: the parent reads what the child said, then how it ended. */
    close(fds[1]);
    char text[4096];
    size_t len = 0;
    ssize_t got;
    while (len < sizeof text - 1 &&
           (got = read(fds[0], text + len, sizeof text - 1 - len)) > 0)
        len += (size_t)got;
    text[len] = '\0';
    close(fds[0]);
    int status;
    waitpid(pid, &status, 0);
    bool aborted = WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
    printf("child stopped by SIGABRT: %s\n", aborted ? "yes" : "no");

    /* Step 5: print the library's message without the address (it changes
     * from run to run), skipping any line that is not cfut's. */
    char *line = strstr(text, "cfut: ");
    char *end = line != NULL ? strchr(line, '\n') : NULL;
    char *at = line != NULL ? strstr(line, " at 0x") : NULL;
    char *colon = at != NULL ? strchr(at, ':') : NULL;
    if (end == NULL || colon == NULL || colon > end)
        return 1;
    printf("the library said: %.*s%.*s\n", (int)(at - line), line,
           (int)(end - colon), colon);
#else
    /* Step 3, without debug checks: nothing records the address. */
    printf("debug checks are compiled out (CFUT_DEBUG_CHECKS == 0): the\n"
           "moved future would be polled with a stale self-pointer; build\n"
           "with -Ddebug_checks=true to see the check abort the child.\n");
#endif
    printf("so: never move a future after its first poll; box it, or keep\n"
           "it inside a parent that is pinned itself\n");
    return 0;
}
