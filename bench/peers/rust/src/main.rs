//! cfut-peers: Rust peer benchmarks for the cfut C11 futures runtime.
//!
//! Runs the shared benchmark workloads with the `futures` crate (impls
//! `futures-rs`, `futures-rs-unordered`) and with tokio (impls
//! `tokio-current-thread`, `tokio-multi-thread`) and prints one JSON object
//! per line on stdout. Diagnostics go to stderr.
//!
//! Usage: cfut-peers [--quick] [--filter SUBSTR]

mod futures_rs;
mod harness;
mod reqresp;
mod rt_multi;
mod tokio_rt;
mod util;

use harness::Config;
use std::process::exit;
use std::time::Instant;
use tokio_rt::Flavor::{CurrentThread, MultiThread};

fn usage() -> ! {
    eprintln!("usage: cfut-peers [--quick] [--filter SUBSTR]");
    eprintln!("  --quick          3 repetitions of >= 10 ms (default: 7 of >= 50 ms)");
    eprintln!("  --filter SUBSTR  only run workloads whose name contains SUBSTR");
    exit(2);
}

fn parse_args() -> Config {
    let mut quick = false;
    let mut filter = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--quick" => quick = true,
            "--filter" => filter = Some(args.next().unwrap_or_else(|| usage())),
            "-h" | "--help" => usage(),
            s if s.starts_with("--filter=") => filter = Some(s["--filter=".len()..].to_string()),
            s => {
                eprintln!("cfut-peers: unknown argument {s:?}");
                usage();
            }
        }
    }
    let mut cfg = if quick {
        Config::quick()
    } else {
        Config::full()
    };
    cfg.filter = filter;
    cfg
}

fn main() {
    let cfg = parse_args();
    let start = Instant::now();

    futures_rs::spawn_complete(&cfg);
    tokio_rt::spawn_complete(&cfg, CurrentThread);
    tokio_rt::spawn_complete(&cfg, MultiThread);

    futures_rs::oneshot_create_send_recv(&cfg);
    tokio_rt::oneshot_create_send_recv(&cfg);

    futures_rs::oneshot_pingpong(&cfg);
    tokio_rt::oneshot_pingpong(&cfg);

    for n in [2, 8, 64] {
        futures_rs::join_ready(&cfg, n);
        tokio_rt::join_ready(&cfg, n);
    }

    for n in [8, 64, 1024] {
        futures_rs::join_pending(&cfg, n);
        futures_rs::join_pending_unordered(&cfg, n);
        tokio_rt::join_pending(&cfg, n);
    }

    futures_rs::select_2(&cfg);
    tokio_rt::select_2(&cfg);

    for d in [1, 10, 100] {
        futures_rs::and_then_chain(&cfg, d);
    }

    futures_rs::mpsc_throughput(&cfg);
    tokio_rt::mpsc_throughput(&cfg);

    for k in [1, 64] {
        reqresp::reqresp_socketpair(&cfg, k, CurrentThread);
        reqresp::reqresp_socketpair(&cfg, k, MultiThread);
    }

    futures_rs::coro_await_ready(&cfg);
    tokio_rt::coro_await_ready(&cfg);

    rt_multi::spawn_many_local(&cfg);
    rt_multi::spawn_many_remote_idle(&cfg);
    rt_multi::spawn_many_remote_busy(&cfg);
    rt_multi::yield_many(&cfg);
    rt_multi::ping_pong(&cfg);
    rt_multi::chained_spawn(&cfg);
    rt_multi::oneshot_pingpong(&cfg);
    rt_multi::mpsc_throughput(&cfg);

    eprintln!("cfut-peers: done in {:.2} s", start.elapsed().as_secs_f64());
}
