// ws_load.mjs WS_DIR PORT SECONDS [CONNS] [PER_CONN] [INFLIGHT]: the soak's
// WebSocket load (tests/soak/soak.py): for SECONDS, CONNS connections at a
// time to `cfut-echo serve --ws-listen 127.0.0.1:PORT`, each made with the
// npm package `ws` (installed in WS_DIR, tests/ws), sends PER_CONN
// requests in the cfut wire format (docs/wire-format.md), INFLIGHT at
// once, checks each echo by id and payload, closes with the closing
// handshake and is replaced by a new connection: clients come and go.
// Prints one JSON line: {"requests": answered, "errors": failures,
// "connections": opened}. Exits 0 unless it could not run at all.
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import path from 'node:path';

const [wsDir, port, seconds] = process.argv.slice(2, 5);
const conns = Number(process.argv[5] || 4);
const perConn = Number(process.argv[6] || 500);
const inflight = Number(process.argv[7] || 16);
const require = createRequire(path.join(path.resolve(wsDir), 'package.json'));
const WebSocket = require('ws');
const url = `ws://127.0.0.1:${port}/`;
const until = Date.now() + Number(seconds) * 1000;
const stats = { requests: 0, errors: 0, connections: 0, first_error: null };

function fail(what) {
  stats.errors++;
  if (stats.first_error === null) stats.first_error = String(what);
}

function newId() {
  const id = randomBytes(16);
  id[6] = (id[6] & 0x0f) | 0x40;
  id[8] = (id[8] & 0x3f) | 0x80;
  return id;
}

function encode(id, payload) {
  const f = Buffer.alloc(24 + payload.length);
  f.writeUInt32BE(20 + payload.length, 0);
  f[4] = 1; // version
  f[5] = 1; // request
  id.copy(f, 8);
  payload.copy(f, 24);
  return f;
}

// One connection: PER_CONN requests, INFLIGHT at a time, then close.
function session() {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    const pending = new Map();
    let sent = 0, done = 0, over = false;
    stats.connections++;
    const finish = (err) => {
      if (over) return;
      over = true;
      if (err) fail(err);
      if (ws.readyState === WebSocket.OPEN) ws.close(1000);
      ws.once('close', () => resolve());
      if (ws.readyState === WebSocket.CLOSED) resolve();
    };
    const pump = () => {
      while (sent < perConn && pending.size < inflight && Date.now() < until) {
        const id = newId();
        const payload = randomBytes(1 + ((sent * 37) % 200));
        pending.set(id.toString('hex'), payload);
        ws.send(encode(id, payload));
        sent++;
      }
      if (pending.size === 0) finish(null);
    };
    ws.on('open', pump);
    ws.on('error', (e) => finish(e.message));
    ws.on('close', () => finish(pending.size ? 'closed with requests pending' : null));
    ws.on('message', (data) => {
      if (data.length < 24 || data.readUInt32BE(0) !== data.length - 4 ||
          data[5] !== 2)
        return finish('not a response frame');
      const key = data.subarray(8, 24).toString('hex');
      const want = pending.get(key);
      if (want === undefined) return finish('a response for no request');
      pending.delete(key);
      if (!want.equals(data.subarray(24))) return finish('a wrong echo');
      stats.requests++;
      done++;
      pump();
    });
  });
}

async function lane() {
  while (Date.now() < until) await session();
}

await Promise.all(Array.from({ length: conns }, lane));
console.log(JSON.stringify(stats));
