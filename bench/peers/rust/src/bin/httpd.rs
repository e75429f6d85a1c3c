//! httpd: the tokio twin of cfut's examples/httpd.c, with the same
//! behaviour (GET/HEAD of "/" answer "Hello, world!", other paths 404,
//! other methods 405; keep-alive and pipelining, answers to every request
//! read going out in one write; a head of at most 8 KB (431), lines of at
//! most 4 KB (414/431), 64 fields (431), no body (413/501); a deadline for
//! a whole head (408) and for an idle connection; SIGINT/SIGTERM stop it
//! gracefully). It parses with httparse, as hyper does. It runs in the
//! benchmark http_keepalive_c{1,50,500} (bench/http_bench.py) on the
//! current-thread runtime or, with --multi-thread, the multi-thread one.
//!
//! Run it: target/release/httpd [--multi-thread] [HOST:]PORT [HEAD_TIMEOUT_MS]

use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::signal::unix::{signal, SignalKind};
use tokio::time::{sleep_until, Instant};
use tokio_util::sync::CancellationToken;

const MAX_HEAD: usize = 8192;
const MAX_LINE: usize = 4096;
const MAX_HEADERS: usize = 64;
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
const BODY: &str = "Hello, world!\n";
const OK_KEEP: &str = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 14\r\n\r\nHello, world!\n";

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        413 => "Content Too Large",
        414 => "URI Too Long",
        431 => "Request Header Fields Too Large",
        501 => "Not Implemented",
        _ => "HTTP Version Not Supported",
    }
}

/// Appends the answer: the fixed body for a 200, the reason for the others.
fn answer(out: &mut Vec<u8>, status: u16, keep: bool, head: bool, minor: u8) {
    if status == 200 && keep && !head && minor == 1 {
        return out.extend_from_slice(OK_KEEP.as_bytes());
    }
    let body = if status == 200 { BODY.to_string() } else { format!("{}\n", reason(status)) };
    out.extend_from_slice(
        format!(
            "HTTP/1.1 {status} {}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n{}{}{}\r\n{}",
            reason(status),
            body.len(),
            if status == 405 { "Allow: GET, HEAD\r\n" } else { "" },
            if !keep { "Connection: close\r\n" } else { "" },
            if keep && minor == 0 { "Connection: keep-alive\r\n" } else { "" },
            if head { "" } else { &body }
        )
        .as_bytes(),
    );
}

/// Parses the head at the start of 'buf': Ok(None) when more bytes are
/// needed, else its length, status, keep-alive and HEAD flags and version.
fn parse(buf: &[u8]) -> Result<Option<(usize, u16, bool, bool, u8)>, u16> {
    let mut fields = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut fields);
    let n = match req.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => {
            let line = buf.split(|&b| b == b'\n').last().map_or(0, |l| l.len());
            let first = !buf.contains(&b'\n');
            return match () {
                _ if line > MAX_LINE => Err(if first { 414 } else { 431 }),
                _ if buf.len() >= MAX_HEAD => Err(431),
                _ => Ok(None),
            };
        }
        Err(httparse::Error::TooManyHeaders) => return Err(431),
        Err(httparse::Error::Version) => return Err(505),
        Err(_) => return Err(400),
    };
    let (minor, method) = (req.version.unwrap_or(1), req.method.unwrap_or(""));
    let tchar = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
    if !method.bytes().all(tchar) {
        return Err(400); // httparse lets some through
    }
    let mut keep = minor == 1;
    let (mut hosts, mut length, mut encoded) = (0, None, false);
    for f in req.headers.iter() {
        let value = std::str::from_utf8(f.value).map_err(|_| 400u16)?.trim();
        if f.name.eq_ignore_ascii_case("host") {
            hosts += 1;
        } else if f.name.eq_ignore_ascii_case("connection") {
            for token in value.split(',').map(str::trim) {
                if token.eq_ignore_ascii_case("close") {
                    keep = false;
                } else if token.eq_ignore_ascii_case("keep-alive") {
                    keep = true;
                }
            }
        } else if f.name.eq_ignore_ascii_case("content-length") {
            let v: u64 = value.parse().map_err(|_| 400u16)?;
            if length.map_or(false, |l| l != v) {
                return Err(400);
            }
            length = Some(v);
        } else if f.name.eq_ignore_ascii_case("transfer-encoding") {
            encoded = true;
        }
    }
    if (length.is_some() && encoded) || hosts > 1 || (minor == 1 && hosts == 0) {
        return Err(400);
    }
    let head = method == "HEAD";
    let status = match () {
        _ if encoded => 501,
        _ if length.unwrap_or(0) > 0 => 413,
        _ if !head && method != "GET" => 405,
        _ if req.path == Some("/") => 200,
        _ => 404,
    };
    Ok(Some((n, status, keep && status != 501 && status != 413, head, minor)))
}

async fn conn(mut s: TcpStream, stop: CancellationToken, head_timeout: Duration) {
    let (mut buf, mut have) = (vec![0u8; MAX_HEAD], 0);
    let mut out = Vec::with_capacity(16384);
    let mut deadline = None;
    let mut keep = true;
    while keep {
        let (status, head, minor) = match parse(&buf[..have]) {
            Ok(Some((n, status, k, head, minor))) => {
                buf.copy_within(n..have, 0);
                have -= n;
                deadline = None; // the next head has a deadline of its own
                keep = k;
                (status, head, minor)
            }
            Err(status) => {
                keep = false;
                (status, false, 1)
            }
            Ok(None) => {
                // Send the answers so far, then read more, until the head's
                // deadline (from its first byte) or the stop.
                if !out.is_empty() {
                    if s.write_all(&out).await.is_err() {
                        break;
                    }
                    out.clear();
                }
                if have > 0 && deadline.is_none() {
                    deadline = Some(Instant::now() + head_timeout);
                }
                let until = deadline.unwrap_or_else(|| Instant::now() + IDLE_TIMEOUT);
                let got = tokio::select! {
                    biased;
                    _ = stop.cancelled() => None,
                    n = s.read(&mut buf[have..]) => Some(n),
                    _ = sleep_until(until) => Some(Err(std::io::ErrorKind::TimedOut.into())),
                };
                match got {
                    Some(Ok(n)) if n > 0 => {
                        have += n;
                        continue;
                    }
                    Some(Err(e)) if e.kind() == std::io::ErrorKind::TimedOut && have > 0 => {
                        keep = false;
                        (408, false, 1)
                    }
                    _ => break, // stopping, idle too long, or the client left
                }
            }
        };
        answer(&mut out, status, keep, head, minor);
    }
    let _ = s.write_all(&out).await;
}

fn main() -> std::io::Result<()> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let multi = args.first().map_or(false, |a| a == "--multi-thread");
    if multi {
        args.remove(0);
    }
    let arg = args.first().cloned().unwrap_or_else(|| "8080".into());
    let addr = if arg.contains(':') { arg } else { format!("127.0.0.1:{arg}") };
    let ms = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(10000);
    let rt = if multi {
        tokio::runtime::Builder::new_multi_thread().enable_all().build()?
    } else {
        tokio::runtime::Builder::new_current_thread().enable_all().build()?
    };
    rt.block_on(serve(addr, Duration::from_millis(ms)))
}

async fn serve(addr: String, head_timeout: Duration) -> std::io::Result<()> {
    let listener = TcpListener::bind(&addr).await?;
    println!("listening on {}", listener.local_addr()?);
    let stop = CancellationToken::new();
    let (mut intr, mut term) = (signal(SignalKind::interrupt())?, signal(SignalKind::terminate())?);
    let mut tasks = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            _ = intr.recv() => break,
            _ = term.recv() => break,
            conn_ = listener.accept() => if let Ok((s, _)) = conn_ {
                let _ = s.set_nodelay(true);
                tasks.spawn(conn(s, stop.clone(), head_timeout));
            },
        }
    }
    stop.cancel();
    while tasks.join_next().await.is_some() {}
    Ok(())
}
