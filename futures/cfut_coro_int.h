/*
 * cfut_coro_int.h: what the runtime reads from the coroutine suspension
 * hook (see cfut__coro_watch in cfut_coro.h). Internal: never included by
 * a public header.
 */
#ifndef CFUT_CORO_INT_H
#define CFUT_CORO_INT_H

/*
 * Returns the file of the innermost await noted on this thread since the
 * last call (and its line in '*line'), or NULL when no coroutine suspended;
 * then forgets it. The file is a string literal (__FILE__): it never
 * dangles. Context: the polling thread, right after a poll (and before
 * one, to forget notes left by futures polled by hand).
 */
const char *cfut__coro_take_note(int *line);

#endif /* CFUT_CORO_INT_H */
