// ws_test.mjs PORT: an independent client (the npm package `ws`, Node's
// net and http modules, and the wire format of docs/wire-format.md written
// again here from the page) against `cfut-echo serve --ws-listen
// 127.0.0.1:PORT --shuffle --delay-ms N`. It checks: requests answered by
// id out of order, one transport frame per message from the server,
// fragmented and oddly split messages, a ping during a request, a closing
// handshake mid-request, hostile frames that close only their own
// connection with the right code, and the HTTP refusals 400/426/431.
// Prints one line per check; exits non-zero at the first failure.
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import WebSocket from 'ws';

const port = Number(process.argv[2]);
const url = `ws://127.0.0.1:${port}/`;

function check(cond, what) {
  if (!cond) throw new Error(`FAILED: ${what}`);
}

function ok(what) {
  console.log(`ok - ${what}`);
}

// ---- the cfut wire format, version 1 (docs/wire-format.md) ----

const REQUEST = 1, RESPONSE = 2, ERROR = 3;

function newId() {
  const id = randomBytes(16);
  id[6] = (id[6] & 0x0f) | 0x40; // UUID version 4
  id[8] = (id[8] & 0x3f) | 0x80; // variant 10
  return id;
}

function encodeFrame(kind, id, payload) {
  const f = Buffer.alloc(24 + payload.length);
  f.writeUInt32BE(20 + payload.length, 0);
  f[4] = 1; // version
  f[5] = kind;
  id.copy(f, 8);
  payload.copy(f, 24);
  return f;
}

// Takes bytes split anyhow; returns the whole frames they complete.
class Decoder {
  constructor() { this.buf = Buffer.alloc(0); }
  push(chunk) {
    this.buf = Buffer.concat([this.buf, chunk]);
    const frames = [];
    while (this.buf.length >= 4) {
      const len = this.buf.readUInt32BE(0);
      check(len >= 20 && len <= (1 << 20), `frame length ${len}`);
      if (this.buf.length < 4 + len) break;
      const f = this.buf.subarray(0, 4 + len);
      check(f[4] === 1, 'frame version 1');
      check(f[6] === 0 && f[7] === 0, 'reserved bytes are 0');
      frames.push({ kind: f[5], id: f.subarray(8, 24).toString('hex'),
                    payload: Buffer.from(f.subarray(24)) });
      this.buf = this.buf.subarray(4 + len);
    }
    return frames;
  }
}

// A client over one WebSocket: pending requests in a map by id, each a
// promise settled by its response, or failed when the connection closes.
class Client {
  static open() {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { perMessageDeflate: false });
      ws.once('open', () => resolve(new Client(ws)));
      ws.once('error', reject);
    });
  }
  constructor(ws) {
    this.ws = ws;
    this.pending = new Map();
    this.dec = new Decoder();
    this.messages = 0;
    this.frames = 0;
    this.closed = new Promise((resolve) => {
      ws.on('close', (code, reason) => {
        for (const p of this.pending.values())
          p.reject(new Error(`connection closed (${code})`));
        this.pending.clear();
        resolve({ code, reason: reason.toString() });
      });
    });
    ws.on('message', (data, isBinary) => {
      check(isBinary, 'the server sends binary messages');
      this.messages++;
      const frames = this.dec.push(data);
      // The server's promise: each message holds exactly one frame.
      check(frames.length === 1 && this.dec.buf.length === 0,
            'one transport frame per message');
      for (const f of frames) {
        this.frames++;
        check(f.kind === RESPONSE || f.kind === ERROR, 'response kind');
        const p = this.pending.get(f.id);
        check(p !== undefined, `response for a pending id ${f.id}`);
        this.pending.delete(f.id);
        p.resolve(f);
      }
    });
  }
  // Starts a request; returns [frame bytes, promise of the response].
  prepare(payload) {
    const id = newId();
    const frame = encodeFrame(REQUEST, id, payload);
    const done = new Promise((resolve, reject) => {
      this.pending.set(id.toString('hex'), { resolve, reject });
    });
    return [frame, done];
  }
  request(payload) {
    const [frame, done] = this.prepare(payload);
    this.ws.send(frame);
    return done;
  }
}

function timeout(ms, what) {
  return new Promise((_, reject) =>
    setTimeout(() => reject(new Error(`timed out: ${what}`)), ms).unref());
}

// ---- 1. many requests, 64 in flight, answered out of order ----

async function outOfOrder(c) {
  const total = 2000, inflight = 64;
  let next = 0, done = 0, outOfOrder = 0, maxDone = -1;
  async function worker() {
    while (next < total) {
      const seq = next++;
      const payload = randomBytes(1 + (seq * 37) % 300);
      const r = await c.request(payload);
      check(r.kind === RESPONSE, 'an echo response');
      check(r.payload.equals(payload), `echo of request ${seq}`);
      if (seq < maxDone) outOfOrder++;
      else maxDone = seq;
      done++;
    }
  }
  await Promise.all(Array.from({ length: inflight }, worker));
  check(done === total, 'every request answered');
  check(outOfOrder > 0, 'some responses came out of order');
  check(c.messages === c.frames, 'as many messages as frames');
  ok(`${total} requests, ${inflight} in flight, matched by id ` +
     `(${outOfOrder} out of order)`);
}

// ---- 2. fragmented and oddly split messages ----

async function fragments(c) {
  const send = (buf, fin) => new Promise((resolve, reject) =>
    c.ws.send(buf, { binary: true, fin }, (e) => (e ? reject(e) : resolve())));
  // One transport frame in one message of three WebSocket frames.
  let [f, done] = c.prepare(Buffer.from('fragmented into three'));
  await send(f.subarray(0, 5), false);
  await send(f.subarray(5, 20), false);
  await send(f.subarray(20), true);
  check((await done).payload.toString() === 'fragmented into three',
        'a fragmented message is reassembled');
  // Two transport frames in one message.
  const [f1, d1] = c.prepare(Buffer.from('first'));
  const [f2, d2] = c.prepare(Buffer.from('second'));
  c.ws.send(Buffer.concat([f1, f2]));
  check((await d1).payload.toString() === 'first', 'two frames, one message');
  check((await d2).payload.toString() === 'second', 'two frames, one message');
  // One transport frame across two messages.
  [f, done] = c.prepare(Buffer.from('split across two messages'));
  c.ws.send(f.subarray(0, 11));
  c.ws.send(f.subarray(11));
  check((await done).payload.toString() === 'split across two messages',
        'one frame in two messages');
  // A large frame: 200 KiB, fragmented by ws into 64 KiB pieces.
  const big = randomBytes(200 * 1024);
  [f, done] = c.prepare(big);
  const pieces = 4, step = Math.ceil(f.length / pieces);
  for (let i = 0; i < pieces; i++)
    await send(f.subarray(i * step, (i + 1) * step), i === pieces - 1);
  check((await done).payload.equals(big), 'a 200 KiB fragmented request');
  ok('fragmented messages, frames split across messages and joined in one');
}

// ---- 3. a ping during a request ----

async function pingDuringRequest(c) {
  const data = Buffer.from('are you there?');
  const pong = new Promise((resolve) => c.ws.once('pong', resolve));
  const answers = [];
  for (let i = 0; i < 8; i++) answers.push(c.request(Buffer.from(`q${i}`)));
  c.ws.ping(data);
  const got = await Promise.race([pong, timeout(10000, 'pong')]);
  check(Buffer.from(got).equals(data), 'the pong carries the ping data');
  const rs = await Promise.all(answers);
  rs.forEach((r, i) => check(r.payload.toString() === `q${i}`, 'answer'));
  ok('a ping during requests is answered with a pong, requests go on');
}

// ---- 4. a closing handshake mid-request ----

async function closeMidRequest() {
  const c = await Client.open();
  const answers = [];
  for (let i = 0; i < 50; i++)
    answers.push(c.request(randomBytes(100)).then(() => 'ok', () => 'failed'));
  c.ws.close(1000, 'bye');
  const { code } = await Promise.race([c.closed, timeout(10000, 'close')]);
  const results = await Promise.all(answers);
  const failed = results.filter((r) => r === 'failed').length;
  check(code === 1000, `the server answered the close with 1000 (${code})`);
  check(failed > 0, 'requests still pending at the close failed');
  check(c.pending.size === 0, 'no request is left pending');
  ok(`closing handshake mid-request: code ${code}, ${failed} of 50 ` +
     'pending requests failed');
}

// ---- 5. hostile frames, on raw sockets ----

// Opens a raw TCP connection and does the opening handshake by hand.
function rawOpen() {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    const key = randomBytes(16).toString('base64');
    const want = createHash('sha1')
      .update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
    let head = Buffer.alloc(0);
    s.on('error', reject);
    s.on('connect', () => s.write(
      `GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\n` +
      `Connection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\n` +
      'Sec-WebSocket-Version: 13\r\n\r\n'));
    s.on('data', function onData(d) {
      head = Buffer.concat([head, d]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      s.off('data', onData);
      const text = head.subarray(0, end).toString();
      check(text.startsWith('HTTP/1.1 101 '), 'raw handshake: 101');
      check(text.includes(`Sec-WebSocket-Accept: ${want}`), 'accept key');
      resolve({ s, rest: head.subarray(end + 4) });
    });
  });
}

// Sends 'bytes' after the handshake; resolves with the close code the
// server sent before it ended the connection.
async function closeCodeFor(bytes) {
  const { s, rest } = await rawOpen();
  let got = rest;
  const ended = new Promise((resolve) => {
    s.on('data', (d) => { got = Buffer.concat([got, d]); });
    s.on('end', resolve);
    s.on('close', resolve);
  });
  s.write(bytes);
  await Promise.race([ended, timeout(10000, 'the server ending')]);
  s.destroy();
  check(got.length >= 4, 'a close frame came back');
  check(got[0] === 0x88, `a close frame (first byte ${got[0]})`);
  check((got[1] & 0x80) === 0, 'the server does not mask');
  return got.readUInt16BE(2);
}

function masked(b0, payload, lenBytes) {
  const key = randomBytes(4);
  const body = Buffer.from(payload.map((x, i) => x ^ key[i % 4]));
  return Buffer.concat([Buffer.from([b0]), lenBytes, key, body]);
}

async function hostile(good) {
  const cases = [
    ['an unmasked client frame', Buffer.from([0x82, 0x03, 1, 2, 3]), 1002],
    ['an oversized length (2^40 bytes)',
     masked(0x82, [1, 2, 3, 4], Buffer.from([0xff, 0, 0, 1, 0, 0, 0, 0, 0])),
     1009],
    ['a reserved opcode (3)', masked(0x83, [1], Buffer.from([0x81])), 1002],
    ['a bad close code (1005)',
     masked(0x88, [0x03, 0xed], Buffer.from([0x82])), 1002],
    ['a bad close code (2999)',
     masked(0x88, [0x0b, 0xb7], Buffer.from([0x82])), 1002],
    ['a text frame', masked(0x81, [0x68, 0x69], Buffer.from([0x82])), 1003],
  ];
  for (const [what, bytes, want] of cases) {
    const code = await closeCodeFor(bytes);
    check(code === want, `${what}: close ${want} (got ${code})`);
    const r = await good.request(Buffer.from(`after ${what}`));
    check(r.payload.toString() === `after ${what}`, 'the other connection');
    ok(`${what}: closed with ${code}; another connection keeps working`);
  }
  // A text message from the ws client itself: the server closes with 1003.
  const c = await Client.open();
  c.ws.send('this is text');
  const { code } = await Promise.race([c.closed, timeout(10000, 'close')]);
  check(code === 1003, `ws text message: close 1003 (got ${code})`);
  const r = await good.request(Buffer.from('still fine'));
  check(r.payload.toString() === 'still fine', 'the other connection');
  ok('a text message from the ws client: closed with 1003');
}

// ---- 6. HTTP refusals ----

function httpGet(headers) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: '/', headers });
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => resolve(res));
    });
    req.on('upgrade', () => reject(new Error('unexpected upgrade')));
    req.on('error', reject);
    req.end();
  });
}

async function refusals() {
  let res = await httpGet({});
  check(res.statusCode === 426, `a plain GET: 426 (got ${res.statusCode})`);
  check(res.headers['sec-websocket-version'] === '13', 'version 13 offered');
  res = await httpGet({ Upgrade: 'websocket', Connection: 'Upgrade',
                        'Sec-WebSocket-Version': '8',
                        'Sec-WebSocket-Key': randomBytes(16).toString('base64') });
  check(res.statusCode === 426, `version 8: 426 (got ${res.statusCode})`);
  res = await httpGet({ Upgrade: 'websocket', Connection: 'Upgrade',
                        'Sec-WebSocket-Version': '13',
                        'Sec-WebSocket-Key': 'too-short' });
  check(res.statusCode === 400, `a bad key: 400 (got ${res.statusCode})`);
  res = await httpGet({ 'X-Padding': 'x'.repeat(9000) });
  check(res.statusCode === 431, `a 9 KB head: 431 (got ${res.statusCode})`);
  const many = {};
  for (let i = 0; i < 70; i++) many[`X-F${i}`] = '1';
  res = await httpGet(many);
  check(res.statusCode === 431, `70 fields: 431 (got ${res.statusCode})`);
  ok('HTTP refusals: 426 (no upgrade, version 8), 400 (bad key), ' +
     '431 (head too large, too many fields)');
}

async function main() {
  const good = await Client.open();
  await outOfOrder(good);
  await fragments(good);
  await pingDuringRequest(good);
  await closeMidRequest();
  await hostile(good);
  await refusals();
  const r = await good.request(Buffer.from('last'));
  check(r.payload.toString() === 'last', 'the first connection still works');
  good.ws.close(1000);
  const { code } = await good.closed;
  check(code === 1000, 'a clean close at the end');
  ok('the first connection worked throughout and closed cleanly');
}

main().then(() => process.exit(0), (e) => {
  console.error(e.stack || String(e));
  process.exit(1);
});
