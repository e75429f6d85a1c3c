//! Workloads on tokio 1.24 (impl `tokio-current-thread`, and
//! `tokio-multi-thread` for spawn_complete): a runtime from
//! tokio::runtime::Builder with enable_all(), tokio::spawn, tokio::sync
//! {oneshot, mpsc}, tokio::join! / tokio::select!. Measures the cost of
//! tokio's scheduler and channels per operation.

use crate::harness::{bench, Config};
use crate::util::{join_expected, tri, yield_now};
use std::future::{pending, ready};
use std::hint::black_box;
use tokio::runtime::{Builder, Runtime};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

const SPAWN_N: u64 = 100_000;
const OPS: u64 = 100_000;
const CHILDREN: u64 = 65_536;
const MPSC_MSGS: u64 = 1_000_000;
const MPSC_CAP: usize = 1024;

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    CurrentThread,
    MultiThread,
}

impl Flavor {
    pub fn impl_name(self) -> &'static str {
        match self {
            Flavor::CurrentThread => "tokio-current-thread",
            Flavor::MultiThread => "tokio-multi-thread",
        }
    }

    /// A runtime with IO and time drivers enabled. The multi-thread runtime
    /// uses tokio's default worker count (one per CPU).
    pub fn runtime(self) -> Runtime {
        match self {
            Flavor::CurrentThread => Builder::new_current_thread().enable_all().build(),
            Flavor::MultiThread => Builder::new_multi_thread().enable_all().build(),
        }
        .expect("building tokio runtime")
    }
}

const CT: Flavor = Flavor::CurrentThread;

/// From inside a task, tokio::spawn SPAWN_N trivial tasks, then await every
/// JoinHandle and sum the outputs. One op = one task.
pub fn spawn_complete(cfg: &Config, flavor: Flavor) {
    bench(cfg, "spawn_complete", flavor.impl_name(), SPAWN_N, || {
        let rt = flavor.runtime();
        move || {
            // Spawn from a runtime task (not from the block_on future), so the
            // multi-thread runtime uses its worker-local queue as usual.
            let sum = rt.block_on(async {
                tokio::spawn(async {
                    let handles: Vec<JoinHandle<u64>> = (0..SPAWN_N)
                        .map(|i| tokio::spawn(async move { i }))
                        .collect();
                    let mut sum = 0;
                    for h in handles {
                        sum += h.await.unwrap();
                    }
                    sum
                })
                .await
                .unwrap()
            });
            assert_eq!(sum, tri(SPAWN_N));
        }
    });
}

/// In one task: create a tokio oneshot, send, await the ready receiver.
pub fn oneshot_create_send_recv(cfg: &Config) {
    bench(cfg, "oneshot_create_send_recv", CT.impl_name(), OPS, || {
        let rt = CT.runtime();
        move || {
            let sum = rt.block_on(async {
                let mut sum = 0;
                for i in 0..OPS {
                    let (tx, rx) = oneshot::channel::<u64>();
                    tx.send(black_box(i)).unwrap();
                    sum += rx.await.unwrap();
                }
                sum
            });
            assert_eq!(sum, tri(OPS));
        }
    });
}

/// Client task sends requests one at a time over a tokio mpsc channel, each
/// with a oneshot reply sender; the server task replies value + 1.
/// One op = one round trip.
pub fn oneshot_pingpong(cfg: &Config) {
    bench(cfg, "oneshot_pingpong", CT.impl_name(), OPS, || {
        let rt = CT.runtime();
        move || {
            let (served, sum) = rt.block_on(async {
                let (tx, mut rx) = mpsc::channel::<(u64, oneshot::Sender<u64>)>(16);
                let server = tokio::spawn(async move {
                    let mut served = 0u64;
                    while let Some((x, reply)) = rx.recv().await {
                        reply.send(x + 1).unwrap();
                        served += 1;
                    }
                    served
                });
                let client = tokio::spawn(async move {
                    let mut sum = 0u64;
                    for i in 0..OPS {
                        let (reply_tx, reply_rx) = oneshot::channel();
                        tx.send((i, reply_tx)).await.unwrap();
                        sum += reply_rx.await.unwrap();
                    }
                    sum // dropping tx here ends the server loop
                });
                (server.await.unwrap(), client.await.unwrap())
            });
            assert_eq!(served, OPS);
            assert_eq!(sum, tri(OPS) + OPS);
        }
    });
}

/// tokio::join! over N ready futures. tokio has no join_all for a dynamic
/// number of futures, so only N = 2 and N = 8 (written out) are measured.
/// One op = one child.
pub fn join_ready(cfg: &Config, n: u64) {
    if n != 2 && n != 8 {
        return;
    }
    let name = format!("join_ready_{n}");
    let rounds = CHILDREN / n;
    bench(cfg, &name, CT.impl_name(), CHILDREN, || {
        let rt = CT.runtime();
        move || {
            let sum = rt.block_on(async {
                let mut sum = 0u64;
                for r in 0..rounds {
                    let b = black_box(r * n);
                    if n == 2 {
                        let (x0, x1) = tokio::join!(ready(b), ready(b + 1));
                        sum += x0 + x1;
                    } else {
                        let (x0, x1, x2, x3, x4, x5, x6, x7) = tokio::join!(
                            ready(b),
                            ready(b + 1),
                            ready(b + 2),
                            ready(b + 3),
                            ready(b + 4),
                            ready(b + 5),
                            ready(b + 6),
                            ready(b + 7)
                        );
                        sum += x0 + x1 + x2 + x3 + x4 + x5 + x6 + x7;
                    }
                }
                sum
            });
            assert_eq!(sum, join_expected(rounds, n));
        }
    });
}

/// N children each awaiting a tokio oneshot receiver. tokio has no join_all,
/// so the idiomatic tokio shape is used: each child is a spawned task and the
/// parent awaits the N JoinHandles; a completer task sends on the senders one
/// by one, yielding (util::yield_now, a plain self-wake) between sends. One op = one child completed
/// (includes spawning the child task).
pub fn join_pending(cfg: &Config, n: u64) {
    let name = format!("join_pending_{n}");
    let rounds = CHILDREN / n;
    bench(cfg, &name, CT.impl_name(), CHILDREN, || {
        let rt = CT.runtime();
        move || {
            let sum = rt.block_on(async {
                let mut sum = 0u64;
                for r in 0..rounds {
                    let (txs, rxs): (Vec<_>, Vec<_>) =
                        (0..n).map(|_| oneshot::channel::<u64>()).unzip();
                    let children: Vec<JoinHandle<u64>> = rxs
                        .into_iter()
                        .map(|rx| tokio::spawn(async move { rx.await.unwrap() }))
                        .collect();
                    let base = r * n;
                    let completer = tokio::spawn(async move {
                        for (i, tx) in txs.into_iter().enumerate() {
                            tx.send(base + i as u64).unwrap();
                            yield_now().await;
                        }
                    });
                    for child in children {
                        sum += child.await.unwrap();
                    }
                    completer.await.unwrap();
                }
                sum
            });
            assert_eq!(sum, join_expected(rounds, n));
        }
    });
}

/// tokio::select! (biased; pending branch polled first) between a pending
/// and a ready future; the loser is dropped. One op = one select.
pub fn select_2(cfg: &Config) {
    bench(cfg, "select_2", CT.impl_name(), OPS, || {
        let rt = CT.runtime();
        move || {
            let sum = rt.block_on(async {
                let mut sum = 0u64;
                for i in 0..OPS {
                    sum += tokio::select! {
                        biased;
                        v = pending::<u64>() => v,
                        v = ready(black_box(i)) => v,
                    };
                }
                sum
            });
            assert_eq!(sum, tri(OPS));
        }
    });
}

/// One producer task sends MPSC_MSGS u64 over tokio's bounded(1024) mpsc
/// to a consumer task that sums them. One op = one message.
pub fn mpsc_throughput(cfg: &Config) {
    bench(cfg, "mpsc_throughput", CT.impl_name(), MPSC_MSGS, || {
        let rt = CT.runtime();
        move || {
            let sum = rt.block_on(async {
                let (tx, mut rx) = mpsc::channel::<u64>(MPSC_CAP);
                let producer = tokio::spawn(async move {
                    for i in 0..MPSC_MSGS {
                        tx.send(i).await.unwrap();
                    }
                });
                let consumer = tokio::spawn(async move {
                    let mut sum = 0u64;
                    while let Some(v) = rx.recv().await {
                        sum += v;
                    }
                    sum
                });
                producer.await.unwrap();
                consumer.await.unwrap()
            });
            assert_eq!(sum, tri(MPSC_MSGS));
        }
    });
}

async fn ready_child(i: u64) -> u64 {
    std::future::ready(i).await
}

/// An async fn awaiting a ready child in a loop, inside the current-thread
/// runtime's block_on. One op = one await.
pub fn coro_await_ready(cfg: &Config) {
    bench(cfg, "coro_await_ready", CT.impl_name(), OPS, || {
        let rt = CT.runtime();
        move || {
            let sum = rt.block_on(async {
                let mut sum = 0u64;
                for i in 0..OPS {
                    sum += ready_child(black_box(i)).await;
                }
                sum
            });
            assert_eq!(sum, tri(OPS));
        }
    });
}
