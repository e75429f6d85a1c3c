//! Workloads on the `futures` crate alone (impl `futures-rs`, plus
//! `futures-rs-unordered` for join_pending_N): futures::executor::LocalPool /
//! block_on, futures::channel::{oneshot, mpsc} and the futures::future
//! combinators (join_all, join!, select, then). Measures the cost of the
//! executor, channel and combinator machinery per operation.

use crate::harness::{bench, Config};
use crate::util::{join_expected, tri, yield_now};
use futures::channel::{mpsc, oneshot};
use futures::executor::{block_on, LocalPool};
use futures::future::{join, join_all, pending, ready, select, Either, RemoteHandle};
use futures::stream::{FuturesUnordered, StreamExt};
use futures::task::LocalSpawnExt;
use futures::{FutureExt, SinkExt};
use std::future::Future;
use std::hint::black_box;
use std::pin::Pin;

const IMPL: &str = "futures-rs";
const IMPL_UNORDERED: &str = "futures-rs-unordered";

/// Tasks spawned per spawn_complete batch.
const SPAWN_N: u64 = 100_000;
/// Operations per batch for the small per-op workloads.
const OPS: u64 = 100_000;
/// Children per batch for join_* (divisible by every N used).
const CHILDREN: u64 = 65_536;
/// Links per batch for and_then_chain_D (divisible by every D used).
const LINKS: u64 = 100_000;
/// Messages per mpsc_throughput batch.
const MPSC_MSGS: u64 = 1_000_000;
const MPSC_CAP: usize = 1024;

/// Spawn SPAWN_N trivial tasks on a LocalPool, then run them and sum their
/// outputs through the RemoteHandles. One op = one task.
pub fn spawn_complete(cfg: &Config) {
    bench(cfg, "spawn_complete", IMPL, SPAWN_N, || {
        let mut pool = LocalPool::new();
        let spawner = pool.spawner();
        move || {
            let handles: Vec<RemoteHandle<u64>> = (0..SPAWN_N)
                .map(|i| spawner.spawn_local_with_handle(async move { i }).unwrap())
                .collect();
            let sum = pool.run_until(async move {
                let mut sum = 0;
                for h in handles {
                    sum += h.await;
                }
                sum
            });
            assert_eq!(sum, tri(SPAWN_N));
        }
    });
}

/// In one task: create a oneshot, send, await the (already ready) receiver.
pub fn oneshot_create_send_recv(cfg: &Config) {
    bench(cfg, "oneshot_create_send_recv", IMPL, OPS, || {
        || {
            let sum = block_on(async {
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

/// Client task sends requests (value + oneshot reply sender) one at a time
/// over an mpsc channel; the server task replies value + 1. One op = one
/// round trip.
pub fn oneshot_pingpong(cfg: &Config) {
    bench(cfg, "oneshot_pingpong", IMPL, OPS, || {
        let mut pool = LocalPool::new();
        let spawner = pool.spawner();
        move || {
            let (mut tx, mut rx) = mpsc::channel::<(u64, oneshot::Sender<u64>)>(16);
            let server = spawner
                .spawn_local_with_handle(async move {
                    let mut served = 0u64;
                    while let Some((x, reply)) = rx.next().await {
                        reply.send(x + 1).unwrap();
                        served += 1;
                    }
                    served
                })
                .unwrap();
            let client = spawner
                .spawn_local_with_handle(async move {
                    let mut sum = 0u64;
                    for i in 0..OPS {
                        let (reply_tx, reply_rx) = oneshot::channel();
                        tx.send((i, reply_tx)).await.unwrap();
                        sum += reply_rx.await.unwrap();
                    }
                    sum // dropping tx here ends the server loop
                })
                .unwrap();
            let (served, sum) = pool.run_until(join(server, client));
            assert_eq!(served, OPS);
            assert_eq!(sum, tri(OPS) + OPS);
        }
    });
}

/// Join N futures that are ready at once: futures::join! for N = 2,
/// join_all over `ready` futures otherwise. One op = one child.
pub fn join_ready(cfg: &Config, n: u64) {
    let name = format!("join_ready_{n}");
    let rounds = CHILDREN / n;
    bench(cfg, &name, IMPL, CHILDREN, || {
        move || {
            let sum = block_on(async {
                let mut sum = 0u64;
                for r in 0..rounds {
                    let base = black_box(r * n);
                    if n == 2 {
                        let (a, b) = futures::join!(ready(base), ready(base + 1));
                        sum += a + b;
                    } else {
                        let out = join_all((0..n).map(|i| ready(base + i))).await;
                        sum += out.iter().sum::<u64>();
                    }
                }
                sum
            });
            assert_eq!(sum, join_expected(rounds, n));
        }
    });
}

/// N oneshot channels; returns (senders, receivers).
fn oneshots(n: u64) -> (Vec<oneshot::Sender<u64>>, Vec<oneshot::Receiver<u64>>) {
    (0..n).map(|_| oneshot::channel::<u64>()).unzip()
}

/// Completer task body: send base + i on sender i, yielding after each send
/// so every completion is a separate wake-up of the joining task.
async fn complete_one_by_one(txs: Vec<oneshot::Sender<u64>>, base: u64) {
    for (i, tx) in txs.into_iter().enumerate() {
        tx.send(base + i as u64).unwrap();
        yield_now().await;
    }
}

/// Join N children each awaiting a oneshot receiver (join_all over boxed
/// futures); a second task completes the senders one by one. One op = one
/// child completed.
pub fn join_pending(cfg: &Config, n: u64) {
    let name = format!("join_pending_{n}");
    let rounds = CHILDREN / n;
    bench(cfg, &name, IMPL, CHILDREN, || {
        let mut pool = LocalPool::new();
        let spawner = pool.spawner();
        move || {
            let sum = pool.run_until(async {
                let mut sum = 0u64;
                for r in 0..rounds {
                    let (txs, rxs) = oneshots(n);
                    let children: Vec<Pin<Box<dyn Future<Output = u64>>>> = rxs
                        .into_iter()
                        .map(|rx| rx.map(|v| v.unwrap()).boxed_local())
                        .collect();
                    let completer = spawner
                        .spawn_local_with_handle(complete_one_by_one(txs, r * n))
                        .unwrap();
                    let (out, ()) = join(join_all(children), completer).await;
                    sum += out.iter().sum::<u64>();
                }
                sum
            });
            assert_eq!(sum, join_expected(rounds, n));
        }
    });
}

/// Same as join_pending, but the children are collected with
/// FuturesUnordered instead of join_all.
pub fn join_pending_unordered(cfg: &Config, n: u64) {
    let name = format!("join_pending_{n}");
    let rounds = CHILDREN / n;
    bench(cfg, &name, IMPL_UNORDERED, CHILDREN, || {
        let mut pool = LocalPool::new();
        let spawner = pool.spawner();
        move || {
            let sum = pool.run_until(async {
                let mut sum = 0u64;
                for r in 0..rounds {
                    let (txs, rxs) = oneshots(n);
                    let mut children: FuturesUnordered<_> = rxs.into_iter().collect();
                    let completer = spawner
                        .spawn_local_with_handle(complete_one_by_one(txs, r * n))
                        .unwrap();
                    let collect = async {
                        let mut s = 0u64;
                        let mut count = 0u64;
                        while let Some(v) = children.next().await {
                            s += v.unwrap();
                            count += 1;
                        }
                        assert_eq!(count, n);
                        s
                    };
                    let (s, ()) = join(collect, completer).await;
                    sum += s;
                }
                sum
            });
            assert_eq!(sum, join_expected(rounds, n));
        }
    });
}

/// futures::future::select between a pending future and a ready one; the
/// pending one is polled first, loses and is dropped. One op = one select.
pub fn select_2(cfg: &Config) {
    bench(cfg, "select_2", IMPL, OPS, || {
        || {
            let sum = block_on(async {
                let mut sum = 0u64;
                for i in 0..OPS {
                    match select(pending::<u64>(), ready(black_box(i))).await {
                        Either::Right((v, loser)) => {
                            drop(loser);
                            sum += v;
                        }
                        Either::Left(_) => unreachable!("pending future completed"),
                    }
                }
                sum
            });
            assert_eq!(sum, tri(OPS));
        }
    });
}

/// Build a boxed chain of D `then` links, each adding 1, and await it.
/// One op = one link.
pub fn and_then_chain(cfg: &Config, d: u64) {
    let name = format!("and_then_chain_{d}");
    let rounds = LINKS / d;
    bench(cfg, &name, IMPL, LINKS, || {
        move || {
            let sum = block_on(async {
                let mut sum = 0u64;
                for r in 0..rounds {
                    let mut f = ready(black_box(r)).boxed_local();
                    for _ in 0..d {
                        f = f.then(|x| ready(x + 1)).boxed_local();
                    }
                    sum += f.await;
                }
                sum
            });
            assert_eq!(sum, tri(rounds) + rounds * d);
        }
    });
}

/// One producer task sends MPSC_MSGS u64 over a bounded futures mpsc
/// channel to a consumer task that sums them. One op = one message.
/// (futures' mpsc::channel(1024) holds 1024 + one slot per sender.)
pub fn mpsc_throughput(cfg: &Config) {
    bench(cfg, "mpsc_throughput", IMPL, MPSC_MSGS, || {
        let mut pool = LocalPool::new();
        let spawner = pool.spawner();
        move || {
            let (mut tx, mut rx) = mpsc::channel::<u64>(MPSC_CAP);
            let producer = spawner
                .spawn_local_with_handle(async move {
                    for i in 0..MPSC_MSGS {
                        tx.send(i).await.unwrap();
                    }
                })
                .unwrap();
            let consumer = spawner
                .spawn_local_with_handle(async move {
                    let mut sum = 0u64;
                    while let Some(v) = rx.next().await {
                        sum += v;
                    }
                    sum
                })
                .unwrap();
            let ((), sum) = pool.run_until(join(producer, consumer));
            assert_eq!(sum, tri(MPSC_MSGS));
        }
    });
}

/// A trivial child async fn: awaits an already-ready future.
async fn ready_child(i: u64) -> u64 {
    std::future::ready(i).await
}

/// An async fn awaiting a ready child in a loop and summing; shows what the
/// compiler makes of a non-suspending await. One op = one await.
pub fn coro_await_ready(cfg: &Config) {
    bench(cfg, "coro_await_ready", IMPL, OPS, || {
        || {
            let sum = block_on(async {
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
