//! Small helpers shared by the workloads: expected checksums and a
//! self-waking yield used identically by the futures-rs and tokio
//! join_pending completers.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Sum of 0..n.
pub fn tri(n: u64) -> u64 {
    n * n.saturating_sub(1) / 2
}

/// Expected sum for join rounds: round r has children r*n + i for i in 0..n.
pub fn join_expected(rounds: u64, n: u64) -> u64 {
    tri(rounds) * n * n + rounds * tri(n)
}

/// Yield once by waking ourselves and returning Pending, so the executor
/// runs other ready tasks first. futures 0.3.21 has no yield_now, and
/// tokio's yield_now defers the wake-up until after an IO driver poll (an
/// epoll_wait syscall per yield), which would dominate join_pending_N; this
/// plain self-wake is used for both executors instead.
pub struct YieldNow(bool);

impl Future for YieldNow {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

pub fn yield_now() -> YieldNow {
    YieldNow(false)
}
