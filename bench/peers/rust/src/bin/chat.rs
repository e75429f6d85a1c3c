//! chat: the tokio twin of cfut's examples/chat.c, with the same behaviour
//! (a TCP line chat: every line goes to every other client, prefixed with
//! the sender's address; joins and leaves announced; lines over 512 bytes
//! refused; a ring of 1024 lines for clients that fall behind; a client
//! that reads nothing for 10 s dropped; SIGINT/SIGTERM stop it gracefully).
//! It passes cfut's tests/test_chat.py, and tests/count_lines.py counts
//! its lines beside the C program's.
//!
//! Run it: target/release/chat [HOST:]PORT   (default 127.0.0.1:7000)

use futures::{SinkExt, StreamExt};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::broadcast::{self, error::RecvError};
use tokio::time::timeout;
use tokio_util::codec::{Framed, LinesCodec, LinesCodecError};
use tokio_util::sync::CancellationToken;

const MAX_LINE: usize = 512;
const RING: usize = 1024;
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Clone)]
struct Msg {
    from: u64,
    text: Arc<str>,
}

async fn peer(s: TcpStream, id: u64, tx: broadcast::Sender<Msg>, stop: CancellationToken) {
    let name = s.peer_addr().map(|a| a.to_string()).unwrap_or_default();
    let mut rx = tx.subscribe();
    let mut lines = Framed::new(s, LinesCodec::new_with_max_length(MAX_LINE));
    let say = |text: String| tx.send(Msg { from: id, text: text.into() });
    let _ = say(format!("*** {name} joined"));
    let mut out = Some(format!("*** welcome, {name}"));
    loop {
        // Write out what is waiting, giving up on a stuck client.
        if let Some(text) = out.take() {
            match timeout(WRITE_TIMEOUT, lines.send(text)).await {
                Ok(Ok(())) => {}
                _ => break,
            }
        }
        tokio::select! {
            biased;
            _ = stop.cancelled() => {
                let _ = lines.send("*** server shutting down").await;
                break;
            }
            msg = rx.recv() => match msg {
                Ok(m) if m.from == id => {}
                Ok(m) => out = Some(m.text.to_string()),
                Err(RecvError::Lagged(n)) => out = Some(format!("*** missed {n} lines")),
                Err(RecvError::Closed) => break,
            },
            line = lines.next() => match line {
                Some(Ok(line)) => {
                    let _ = say(format!("{name}: {line}"));
                    tokio::task::yield_now().await; // one line per turn
                }
                Some(Err(LinesCodecError::MaxLineLengthExceeded)) => {
                    out = Some("*** line too long".into())
                }
                _ => break, // the client left (end of stream, reset, error)
            },
        }
    }
    let _ = say(format!("*** {name} left"));
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let arg = std::env::args().nth(1).unwrap_or_else(|| "7000".into());
    let addr = if arg.contains(':') { arg } else { format!("127.0.0.1:{arg}") };
    let listener = TcpListener::bind(&addr).await?;
    println!("listening on {}", listener.local_addr()?);
    let (tx, _) = broadcast::channel(RING);
    let stop = CancellationToken::new();
    let (mut intr, mut term) = (signal(SignalKind::interrupt())?, signal(SignalKind::terminate())?);
    let mut tasks = tokio::task::JoinSet::new();
    let mut n_conns = 0;
    loop {
        tokio::select! {
            _ = intr.recv() => break,
            _ = term.recv() => break,
            conn = listener.accept() => if let Ok((s, _)) = conn {
                let _ = s.set_nodelay(true);
                n_conns += 1;
                tasks.spawn(peer(s, n_conns, tx.clone(), stop.clone()));
            },
        }
    }
    stop.cancel();
    while tasks.join_next().await.is_some() {}
    Ok(())
}
