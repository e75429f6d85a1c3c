/*
 * cfut_join_handle.c: join handles: the future for a spawned task's
 * output (a status, then the output), and cancel, detach, is_finished and
 * id on it. A handle holds one reference to its task; it reads the task's
 * state and never schedules anything but a cancellation.
 */
#include "cfut_executor_int.h"

#include "cfut_alloc_int.h"

/*
 * States (the task's, see cfut_executor_int.h): not DONE: register the
 * waker (finish() wakes it), PENDING. DONE: write the status, and the
 * output when it is CFUT_OK, READY.
 */
static enum cfut_poll
cfut_join_handle_poll(struct cfut_future *f, struct cfut_context *cx, void *out)
{
    struct cfut_join_handle *h =
        cfut_container_of(f, struct cfut_join_handle, base);
    struct cfut__task *t = h->task;
    CFUT_ASSERT(t->owner == cfut__thread_id(),
                "a join handle was polled on another thread than its "
                "executor's");
    if (t->state != CFUT__TASK_DONE) {
        cfut_waker_register(&t->join_waker, cx->waker);
        return CFUT_PENDING;
    }
    CFUT_DEBUG_ASSERT(!(t->flags & CFUT__TASK_TAKEN),
                      "join handle output taken twice");
    t->flags |= CFUT__TASK_TAKEN;
    *(int *)out = t->status;
    if (t->status == CFUT_OK && t->output_size != 0)
        cfut__copy((char *)out + CFUT_JOIN_VALUE_OFFSET, t->out,
                   t->output_size);
    return CFUT_READY;
}

static void
cfut_join_handle_drop(struct cfut_future *f)
{
    struct cfut_join_handle *h =
        cfut_container_of(f, struct cfut_join_handle, base);
    struct cfut__task *t = h->task;
    CFUT_ASSERT(t->owner == cfut__thread_id(),
                "a join handle was dropped on another thread than its "
                "executor's");
    h->task = NULL;
    cfut_waker_drop(&t->join_waker);
    if (cfut__task_is_local(t))
        cfut__task_release(t->ex, t);
    else
        cfut__task_remote_op(t, -1, false); /* orphan: the executor is gone */
}

static size_t
cfut_join_handle_output_size(const struct cfut_future *f)
{
    const struct cfut_join_handle *h =
        cfut_container_of(f, const struct cfut_join_handle, base);
    if (h->task->output_size == 0)
        return sizeof(int);
    return CFUT_JOIN_VALUE_OFFSET + h->task->output_size;
}

const struct cfut_future_vtable cfut__join_handle_vtable = {
    cfut_join_handle_poll, cfut_join_handle_drop, CFUT_OUTPUT_DYNAMIC,
    "join_handle", cfut_join_handle_output_size};

int
cfut_join_handle_take(struct cfut_join_handle *h, void *out, size_t out_size)
{
    struct cfut__task *t = h->task;
    CFUT_ASSERT(t != NULL, "cfut_join_handle_take() on a join handle that "
                           "was dropped or detached");
    if (t->state != CFUT__TASK_DONE)
        return CFUT_EAGAIN;
    if (out_size != t->output_size || (out == NULL && out_size != 0))
        return CFUT_EINVAL;
    CFUT_ASSERT(t->owner == cfut__thread_id(),
                "cfut_join_handle_take() called from another thread");
    int status = t->status;
    if (status == CFUT_OK && out_size != 0)
        cfut__copy(out, t->out, out_size);
    /* The drop, without the vtable: a DONE task's join waker is the one
     * its finish consumed, unless it was registered since (then drop it). */
    h->task = NULL;
    cfut_waker_drop(&t->join_waker);
#if CFUT_DEBUG_CHECKS
    t->flags |= CFUT__TASK_TAKEN; /* only the debug assertion reads it */
    h->base.dbg_magic = CFUT_MAGIC_DEAD;
    h->base.dbg_state = CFUT_DBG_DROPPED;
#endif
    if (cfut__task_is_local(t))
        cfut__task_release(t->ex, t);
    else
        cfut__task_remote_op(t, -1, false); /* orphan: the executor is gone */
    return status;
}

void
cfut_join_handle_cancel(struct cfut_join_handle *h)
{
    struct cfut__task *t = h->task;
    CFUT_ASSERT(t != NULL, "cfut_join_handle_cancel() on a join handle that "
                           "was dropped or detached");
    if (t->state == CFUT__TASK_DONE || t->ex == NULL)
        return;
    CFUT_ASSERT(t->owner == cfut__thread_id(),
                "cfut_join_handle_cancel() called from another thread");
    t->flags |= CFUT__TASK_CANCEL;
    cfut__task_schedule(t->ex, t);
}

void
cfut_join_handle_detach(struct cfut_join_handle *h)
{
    cfut_future_drop(&h->base);
}

bool
cfut_join_handle_is_finished(const struct cfut_join_handle *h)
{
    CFUT_ASSERT(h->task != NULL, "cfut_join_handle_is_finished() on a join "
                                 "handle that was dropped or detached");
    return h->task->state == CFUT__TASK_DONE;
}

uint64_t
cfut_join_handle_id(const struct cfut_join_handle *h)
{
    CFUT_ASSERT(h->task != NULL, "cfut_join_handle_id() on a join handle "
                                 "that was dropped or detached");
    return h->task->id;
}
