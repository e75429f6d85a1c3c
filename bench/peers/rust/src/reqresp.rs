//! reqresp_socketpair_inflight_K (tokio only): request/response over a Unix
//! socketpair with client and server in the same runtime. Measures a small
//! framed RPC stack: framing, buffered socket IO, id -> oneshot matching and
//! task wake-ups. One op = one completed request.
//!
//! Frame (40 bytes): u32 big-endian length of the rest of the frame (36),
//! u8 version = 1, u8 kind (1 request, 2 response), 2 reserved bytes,
//! 16-byte request id, 16-byte payload. The server echoes the payload in a
//! response with the same id. The client keeps K requests in flight (K worker
//! tasks, each issuing requests back to back); a reader task matches
//! responses to callers through HashMap<[u8; 16], oneshot::Sender>, and a
//! writer task batches outgoing frames from an mpsc queue.

use crate::harness::{bench, Config};
use crate::tokio_rt::Flavor;
use std::collections::HashMap;
use std::io::ErrorKind;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader, BufWriter};
use tokio::net::UnixStream;
use tokio::sync::{mpsc, oneshot};

const FRAME_LEN: usize = 40;
const BODY_LEN: u32 = 36;
const VERSION: u8 = 1;
const KIND_REQUEST: u8 = 1;
const KIND_RESPONSE: u8 = 2;

/// Requests per batch (divisible by every K used).
const REQS: u64 = 8192;

type Id = [u8; 16];
type Payload = [u8; 16];
type Frame = [u8; FRAME_LEN];

fn encode(kind: u8, id: &Id, payload: &Payload) -> Frame {
    let mut f = [0u8; FRAME_LEN];
    f[0..4].copy_from_slice(&BODY_LEN.to_be_bytes());
    f[4] = VERSION;
    f[5] = kind;
    // f[6..8] reserved, zero
    f[8..24].copy_from_slice(id);
    f[24..40].copy_from_slice(payload);
    f
}

fn decode(f: &Frame, want_kind: u8) -> (Id, Payload) {
    assert_eq!(
        u32::from_be_bytes(f[0..4].try_into().unwrap()),
        BODY_LEN,
        "bad frame length"
    );
    assert_eq!(f[4], VERSION, "bad frame version");
    assert_eq!(f[5], want_kind, "unexpected frame kind");
    (f[8..24].try_into().unwrap(), f[24..40].try_into().unwrap())
}

/// Read one frame; Ok(None) on a clean EOF at a frame boundary.
async fn read_frame<R: AsyncRead + Unpin>(r: &mut R) -> std::io::Result<Option<Frame>> {
    let mut f = [0u8; FRAME_LEN];
    match r.read_exact(&mut f).await {
        Ok(_) => Ok(Some(f)),
        Err(e) if e.kind() == ErrorKind::UnexpectedEof => Ok(None),
        Err(e) => Err(e),
    }
}

/// Echo server: answer every request; flush once the read buffer is drained
/// so responses to pipelined requests go out in one write. Returns the number
/// of requests served.
async fn serve(mut stream: UnixStream) -> u64 {
    let (rd, wr) = stream.split();
    let mut rd = BufReader::new(rd);
    let mut wr = BufWriter::new(wr);
    let mut served = 0;
    while let Some(f) = read_frame(&mut rd).await.unwrap() {
        let (id, payload) = decode(&f, KIND_REQUEST);
        wr.write_all(&encode(KIND_RESPONSE, &id, &payload))
            .await
            .unwrap();
        served += 1;
        if rd.buffer().is_empty() {
            wr.flush().await.unwrap();
        }
    }
    wr.flush().await.unwrap();
    served
}

type Pending = Arc<Mutex<HashMap<Id, oneshot::Sender<Payload>>>>;

/// Client half of the connection, shared by the worker tasks.
struct Client {
    next_id: AtomicU64,
    pending: Pending,
    out: mpsc::UnboundedSender<Frame>,
}

impl Client {
    async fn request(&self, payload: Payload) -> Payload {
        let n = self.next_id.fetch_add(1, Ordering::Relaxed);
        let id: Id = (n as u128).to_be_bytes();
        let (tx, rx) = oneshot::channel();
        let prev = self.pending.lock().unwrap().insert(id, tx);
        assert!(prev.is_none(), "duplicate request id");
        self.out
            .send(encode(KIND_REQUEST, &id, &payload))
            .expect("writer task gone");
        rx.await.expect("connection closed before response")
    }
}

/// Writer task: write queued frames, flush when the queue is momentarily
/// empty, shut down the write side when every sender is gone.
async fn write_loop<W: AsyncWrite + Unpin>(w: W, mut queue: mpsc::UnboundedReceiver<Frame>) {
    let mut w = BufWriter::new(w);
    while let Some(f) = queue.recv().await {
        w.write_all(&f).await.unwrap();
        while let Ok(f) = queue.try_recv() {
            w.write_all(&f).await.unwrap();
        }
        w.flush().await.unwrap();
    }
    w.shutdown().await.unwrap();
}

/// Reader task: route each response to the caller waiting on its id.
async fn read_loop<R: AsyncRead + Unpin>(r: R, pending: Pending) -> u64 {
    let mut r = BufReader::new(r);
    let mut received = 0;
    while let Some(f) = read_frame(&mut r).await.unwrap() {
        let (id, payload) = decode(&f, KIND_RESPONSE);
        let waiter = pending
            .lock()
            .unwrap()
            .remove(&id)
            .expect("response for unknown id");
        let _ = waiter.send(payload);
        received += 1;
    }
    received
}

/// One batch: a fresh socketpair, server + client tasks, REQS requests with
/// K in flight. Returns the checksum of echoed payloads.
async fn run_batch(k: u64) -> u64 {
    let (client_sock, server_sock) = UnixStream::pair().expect("socketpair");
    let server = tokio::spawn(serve(server_sock));

    let (rd, wr) = client_sock.into_split();
    let pending: Pending = Arc::new(Mutex::new(HashMap::with_capacity(k as usize)));
    let (out_tx, out_rx) = mpsc::unbounded_channel();
    let writer = tokio::spawn(write_loop(wr, out_rx));
    let reader = tokio::spawn(read_loop(rd, pending.clone()));
    let client = Arc::new(Client {
        next_id: AtomicU64::new(0),
        pending,
        out: out_tx,
    });

    let per_worker = REQS / k;
    let workers: Vec<_> = (0..k)
        .map(|w| {
            let client = client.clone();
            tokio::spawn(async move {
                let mut sum = 0u64;
                for j in 0..per_worker {
                    let v = w * per_worker + j;
                    let payload = (v as u128).to_be_bytes();
                    let echoed = client.request(payload).await;
                    assert_eq!(echoed, payload, "payload not echoed");
                    sum += u128::from_be_bytes(echoed) as u64;
                }
                sum
            })
        })
        .collect();
    let mut sum = 0;
    for w in workers {
        sum += w.await.unwrap();
    }
    drop(client); // last sender gone: writer shuts down, server sees EOF
    writer.await.unwrap();
    assert_eq!(server.await.unwrap(), REQS);
    assert_eq!(reader.await.unwrap(), REQS);
    sum
}

pub fn reqresp_socketpair(cfg: &Config, k: u64, flavor: Flavor) {
    let name = format!("reqresp_socketpair_inflight_{k}");
    bench(cfg, &name, flavor.impl_name(), REQS, || {
        let rt = flavor.runtime();
        move || {
            let sum = rt.block_on(async move { tokio::spawn(run_batch(k)).await.unwrap() });
            assert_eq!(sum, REQS * (REQS - 1) / 2);
        }
    });
}
