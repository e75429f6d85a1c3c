//! tokio's own multi-threaded runtime benchmarks (tokio's
//! benches/rt_multi_threaded.rs: spawn_many_local, spawn_many_remote_idle,
//! spawn_many_remote_busy, yield_many, ping_pong, chained_spawn) on a
//! tokio multi_thread runtime with 2 workers (impl `tokio-multi-thread`),
//! the same thread count as cfut's `cfut-pool` (bench/bench_pool.c); plus
//! oneshot_pingpong and mpsc_throughput on that runtime (the client and
//! the server, the producer and the consumer, are separate tasks that the
//! two workers share). One op is one task (spawn_*), one yield, one ping,
//! one spawn of the chain, one round trip, one message.
//! (async-executor is not among Debian's packaged crates, so it has no
//! row.)

use crate::harness::{bench, Config};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};
use std::sync::{mpsc as std_mpsc, Arc};
use tokio::runtime::{Builder, Runtime};
use tokio::sync::{mpsc, oneshot};

const IMPL: &str = "tokio-multi-thread";
const NUM_WORKERS: usize = 2;
const NUM_SPAWN: usize = 10_000;
const YIELD_TASKS: usize = 200;
const NUM_YIELD: usize = 1_000;
const NUM_PINGS: usize = 1_000;
const CHAIN: usize = 1_000;
const PINGPONG_OPS: u64 = 100_000;
const MPSC_MSGS: u64 = 1_000_000;
const MPSC_CAP: usize = 1024;

fn rt() -> Runtime {
    Builder::new_multi_thread()
        .worker_threads(NUM_WORKERS)
        .enable_all()
        .build()
        .expect("building tokio runtime")
}

pub fn spawn_many_local(cfg: &Config) {
    bench(cfg, "spawn_many_local", IMPL, NUM_SPAWN as u64, || {
        let rt = rt();
        let (tx, rx) = std_mpsc::sync_channel(1000);
        let rem = Arc::new(AtomicUsize::new(0));
        move || {
            rem.store(NUM_SPAWN, Relaxed);
            let (tx, rem) = (tx.clone(), rem.clone());
            rt.spawn(async move {
                for _ in 0..NUM_SPAWN {
                    let tx = tx.clone();
                    let rem = rem.clone();
                    tokio::spawn(async move {
                        if 1 == rem.fetch_sub(1, Relaxed) {
                            tx.send(()).unwrap();
                        }
                    });
                }
            });
            rx.recv().unwrap();
        }
    });
}

fn remote_batch(rt: &Runtime, handles: &mut Vec<tokio::task::JoinHandle<()>>) {
    for _ in 0..NUM_SPAWN {
        handles.push(rt.spawn(async {}));
    }
    rt.block_on(async {
        for h in handles.drain(..) {
            h.await.unwrap();
        }
    });
}

pub fn spawn_many_remote_idle(cfg: &Config) {
    bench(cfg, "spawn_many_remote_idle", IMPL, NUM_SPAWN as u64, || {
        let rt = rt();
        let mut handles = Vec::with_capacity(NUM_SPAWN);
        move || remote_batch(&rt, &mut handles)
    });
}

pub fn spawn_many_remote_busy(cfg: &Config) {
    bench(cfg, "spawn_many_remote_busy", IMPL, NUM_SPAWN as u64, || {
        let rt = rt();
        let mut handles = Vec::with_capacity(NUM_SPAWN);
        move || {
            // Every worker kept busy by a task that yields until told to stop.
            let stop = Arc::new(AtomicBool::new(false));
            let busy: Vec<_> = (0..NUM_WORKERS)
                .map(|_| {
                    let stop = stop.clone();
                    rt.spawn(async move {
                        while !stop.load(Relaxed) {
                            tokio::task::yield_now().await;
                        }
                    })
                })
                .collect();
            remote_batch(&rt, &mut handles);
            stop.store(true, Relaxed);
            rt.block_on(async {
                for h in busy {
                    h.await.unwrap();
                }
            });
        }
    });
}

pub fn yield_many(cfg: &Config) {
    bench(cfg, "yield_many", IMPL, (YIELD_TASKS * NUM_YIELD) as u64, || {
        let rt = rt();
        let (tx, rx) = std_mpsc::sync_channel(YIELD_TASKS);
        move || {
            for _ in 0..YIELD_TASKS {
                let tx = tx.clone();
                rt.spawn(async move {
                    for _ in 0..NUM_YIELD {
                        tokio::task::yield_now().await;
                    }
                    tx.send(()).unwrap();
                });
            }
            for _ in 0..YIELD_TASKS {
                rx.recv().unwrap();
            }
        }
    });
}

pub fn ping_pong(cfg: &Config) {
    bench(cfg, "ping_pong", IMPL, NUM_PINGS as u64, || {
        let rt = rt();
        let (done_tx, done_rx) = std_mpsc::sync_channel(1000);
        let rem = Arc::new(AtomicUsize::new(0));
        move || {
            let done_tx = done_tx.clone();
            let rem = rem.clone();
            rem.store(NUM_PINGS, Relaxed);
            rt.spawn(async move {
                for _ in 0..NUM_PINGS {
                    let rem = rem.clone();
                    let done_tx = done_tx.clone();
                    tokio::spawn(async move {
                        let (tx1, rx1) = oneshot::channel::<u64>();
                        let (tx2, rx2) = oneshot::channel::<u64>();
                        tokio::spawn(async move {
                            let v = rx1.await.unwrap();
                            tx2.send(v + 1).unwrap();
                        });
                        tx1.send(1).unwrap();
                        assert_eq!(rx2.await.unwrap(), 2);
                        if 1 == rem.fetch_sub(1, Relaxed) {
                            done_tx.send(()).unwrap();
                        }
                    });
                }
            });
            done_rx.recv().unwrap();
        }
    });
}

pub fn chained_spawn(cfg: &Config) {
    fn iter(done_tx: std_mpsc::SyncSender<()>, n: usize) {
        if n == 0 {
            done_tx.send(()).unwrap();
        } else {
            tokio::spawn(async move {
                iter(done_tx, n - 1);
            });
        }
    }
    bench(cfg, "chained_spawn", IMPL, CHAIN as u64, || {
        let rt = rt();
        let (done_tx, done_rx) = std_mpsc::sync_channel(1000);
        move || {
            let done_tx = done_tx.clone();
            rt.spawn(async move {
                iter(done_tx, CHAIN);
            });
            done_rx.recv().unwrap();
        }
    });
}

/// A client task sends PINGPONG_OPS requests one after another over an
/// unbounded mpsc channel to a server task, each with a oneshot sender for
/// the reply; both tasks on the 2-worker runtime.
pub fn oneshot_pingpong(cfg: &Config) {
    bench(cfg, "oneshot_pingpong", IMPL, PINGPONG_OPS, || {
        let rt = rt();
        move || {
            let (tx, mut rx) = mpsc::unbounded_channel::<(oneshot::Sender<u64>, u64)>();
            rt.spawn(async move {
                while let Some((reply, v)) = rx.recv().await {
                    let _ = reply.send(v + 1);
                }
            });
            let sum = rt.block_on(async move {
                tokio::spawn(async move {
                    let mut sum = 0u64;
                    for i in 0..PINGPONG_OPS {
                        let (otx, orx) = oneshot::channel();
                        tx.send((otx, i)).unwrap();
                        sum += orx.await.unwrap();
                    }
                    sum
                })
                .await
                .unwrap()
            });
            assert_eq!(sum, PINGPONG_OPS * (PINGPONG_OPS + 1) / 2);
        }
    });
}

/// A producer task sends MPSC_MSGS u64 over a bounded(1024) channel to a
/// consumer task that sums them; both on the 2-worker runtime.
pub fn mpsc_throughput(cfg: &Config) {
    bench(cfg, "mpsc_throughput", IMPL, MPSC_MSGS, || {
        let rt = rt();
        move || {
            let (tx, mut rx) = mpsc::channel::<u64>(MPSC_CAP);
            rt.spawn(async move {
                for i in 0..MPSC_MSGS {
                    tx.send(i).await.unwrap();
                }
            });
            let sum = rt.block_on(async move {
                tokio::spawn(async move {
                    let mut sum = 0u64;
                    while let Some(v) = rx.recv().await {
                        sum += v;
                    }
                    sum
                })
                .await
                .unwrap()
            });
            assert_eq!(sum, MPSC_MSGS * (MPSC_MSGS - 1) / 2);
        }
    });
}
