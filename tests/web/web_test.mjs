// web_test.mjs PAGEDIR WSPORT SERVERPID SCREENSHOT fast|slow: the page of
// examples/web (cfut compiled to WebAssembly) in headless chromium
// (Debian's, $CHROMIUM), driven with playwright-core, against cfut-echo's
// WebSocket listener on 127.0.0.1:WSPORT. Serves PAGEDIR itself on a free
// port of 127.0.0.1. Checks, in order:
//   1. 1,000 requests with random delays, 64 in flight: every response
//      matches its request (the C side compares the echoed bytes, and so
//      does this script), some arrive out of order, and the page's
//      pending count returns to 0;
//   2. a measurement: requests/s and p50 with 64 in flight (printed),
//      and the same load from a plain JavaScript client, for comparison;
//   3. a screenshot mid-burst (SCREENSHOT: responses out of order,
//      requests still pending);
//   4. the server killed (SIGKILL to SERVERPID) with 64 requests pending:
//      each of them fails with a visible error, the pending count returns
//      to 0, and a request sent afterwards fails at once, visibly.
import { chromium } from "playwright-core";
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { extname, join } from "node:path";

const [pagedir, wsPort, serverPid, shot, speed] = process.argv.slice(2);
const slow = speed === "slow";
let failures = 0;
function check(ok, what) {
  console.log((ok ? "ok   " : "FAIL ") + what);
  if (!ok) failures++;
}

const types = { ".html": "text/html", ".js": "text/javascript",
                 ".css": "text/css", ".wasm": "application/wasm" };
const http = createServer(async (req, res) => {
  const name = new URL(req.url, "http://x").pathname.replace(/^\/$/, "/index.html");
  if (name.includes("..")) { res.writeHead(400).end(); return; }
  try {
    const body = await readFile(join(pagedir, name));
    res.writeHead(200, { "content-type": types[extname(name)] || "application/octet-stream" });
    res.end(body);
  } catch {
    res.writeHead(404).end();
  }
});
await new Promise((ok) => http.listen(0, "127.0.0.1", ok));
const url = `http://127.0.0.1:${http.address().port}/?ws=ws://127.0.0.1:${wsPort}/`;
console.log("page: " + url);

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--headless=new", "--no-sandbox", "--disable-gpu"],
});
try {
  const page = await browser.newPage({ viewport: { width: 1000, height: 720 } });
  page.on("console", (m) => console.log("page console: " + m.text()));
  page.on("pageerror", (e) => { console.log("page error: " + e); failures++; });
  await page.goto(url);
  await page.waitForFunction(() => window.cfutPage && window.cfutPage.ready,
                             null, { timeout: 60000 });

  // 1. 1,000 requests, 64 in flight, random delays of 0..20 ms.
  const n = 1000;
  const burst = await page.evaluate(async (n) => {
    const p = window.cfutPage;
    const first = p.nextSeq;
    await p.burst(n, 64, 20);
    let matched = 0, sameText = 0, failed = [];
    for (let seq = first; seq < first + n; seq++) {
      const r = p.results.get(seq), s = p.sent.get(seq);
      if (r && r.status === 0 && r.matched) matched++;
      else failed.push([seq, r && r.name]);
      if (r && s && r.text === `wait ${s.delay}ms ${s.text}`) sameText++;
    }
    return { matched, sameText, failed: failed.slice(0, 5),
             ooo: p.nOutOfOrder, pending: p.pending(),
             shown: document.getElementById("pending").textContent };
  }, n);
  check(burst.matched === n,
        `${n} requests, 64 in flight: ${burst.matched} answered and matched by the C transport` +
        (burst.failed.length ? ` (first failures: ${JSON.stringify(burst.failed)})` : ""));
  check(burst.sameText === n, `each response carries its own request's text (${burst.sameText}/${n})`);
  check(burst.ooo > 0, `responses arrived out of order (${burst.ooo} of them)`);
  check(burst.pending === 0 && burst.shown === "0",
        `pending count back to 0 (C: ${burst.pending}, page: ${burst.shown})`);

  // 2. The measurement: back-to-back requests, 64 in flight.
  const m = slow ? 2000 : 20000;
  const b = await page.evaluate((m) => window.cfutPage.measure(m, 64), m);
  const rps = b.n / (b.elapsedMs / 1000);
  check(b.errors === 0, `measurement: ${b.n} requests, ${b.errors} errors`);
  console.log(`browser: ${b.n} requests of 16 bytes, 64 in flight: ` +
              `${Math.round(rps)} requests/s, p50 ${b.p50Ms.toFixed(2)} ms, ` +
              `p99 ${b.p99Ms.toFixed(2)} ms${slow ? " (server under valgrind)" : ""}`);

  // 2b. The same load from plain JavaScript in the same page, for
  // comparison only (a floor for this browser and machine: the page never
  // uses it): its own WebSocket, frames built by hand (docs/wire-format.md),
  // one message per request, matched by a counter in the id.
  const js = await page.evaluate(([m, wsUrl]) => new Promise((resolve) => {
    const ws = new WebSocket(wsUrl);
    ws.binaryType = "arraybuffer";
    const sentAt = new Map(), lat = [];
    let next = 0, done = 0, errors = 0, t0 = 0, buf = new Uint8Array(0);
    const send = () => {
      const i = next++, f = new Uint8Array(40), v = new DataView(f.buffer);
      v.setUint32(0, 36);  // length: 20 + 16 payload bytes
      f[4] = 1; f[5] = 1;  // version 1, kind request
      f[14] = 0x40; f[16] = 0x80;  // a version-4 id, the counter at its end
      v.setUint32(20, i);
      f.fill(0x61, 24);
      sentAt.set(i, performance.now());
      ws.send(f);
    };
    ws.onopen = () => { t0 = performance.now(); for (let i = 0; i < 64; i++) send(); };
    ws.onmessage = (e) => {
      const b = new Uint8Array(buf.length + e.data.byteLength);
      b.set(buf); b.set(new Uint8Array(e.data), buf.length); buf = b;
      while (buf.length >= 4) {
        const v = new DataView(buf.buffer, buf.byteOffset);
        const len = v.getUint32(0);
        if (buf.length < 4 + len) break;
        const id = v.getUint32(20);
        if (buf[5] !== 2 || !sentAt.has(id)) errors++;
        else { lat.push(performance.now() - sentAt.get(id)); sentAt.delete(id); }
        buf = buf.subarray(4 + len);
        if (++done === m) {
          const elapsed = performance.now() - t0;
          lat.sort((a, b) => a - b);
          ws.close();
          resolve({ n: m, errors, elapsedMs: elapsed,
                    p50Ms: lat[lat.length >> 1] });
        } else if (next < m) send();
      }
    };
  }), [m, new URL(url).searchParams.get("ws")]);
  check(js.errors === 0, `plain JavaScript baseline: ${js.n} requests, ${js.errors} errors`);
  console.log(`browser, plain JavaScript client (comparison): ${js.n} requests, 64 in flight: ` +
              `${Math.round(js.n / (js.elapsedMs / 1000))} requests/s, p50 ${js.p50Ms.toFixed(2)} ms`);

  // 3. A screenshot mid-burst: typed words, sent at random delays.
  await page.fill("#words", "futures polled by the page");
  await page.fill("#max-delay", "1500");
  await page.click("#burst");
  await page.waitForTimeout(700);
  await page.fill("#words", "");
  await page.screenshot({ path: shot });
  console.log("screenshot: " + shot);
  await page.waitForFunction(() => window.cfutPage.pending() === 0, null,
                             { timeout: 30000 });

  // 4. Kill the server with 64 requests waiting 10 s on it.
  const first = await page.evaluate(() => {
    const p = window.cfutPage, first = p.nextSeq;
    for (let i = 0; i < 64; i++) p.send("doomed " + i, 10000);
    return first;
  });
  await page.waitForTimeout(slow ? 1500 : 300); // the requests reach it
  const before = await page.evaluate(() => window.cfutPage.pending());
  check(before === 64, `64 requests pending before the server dies (${before})`);
  process.kill(Number(serverPid), "SIGKILL");
  await page.waitForFunction(() => window.cfutPage.pending() === 0, null,
                             { timeout: 30000 });
  const killed = await page.evaluate((first) => {
    const p = window.cfutPage;
    let failed = 0, visible = 0, names = new Set();
    for (let seq = first; seq < first + 64; seq++) {
      const r = p.results.get(seq);
      if (r && r.status !== 0) { failed++; names.add(r.name); }
      const row = document.querySelector(`tr[data-seq="${seq}"]`);
      const state = row && row.querySelector("td.state");
      if (row && row.classList.contains("error") &&
          state.textContent.startsWith("failed: ") &&
          state.getBoundingClientRect().height > 0) visible++;
    }
    const banner = document.getElementById("error");
    const seq = p.send("after the end", 0);
    const after = p.results.get(seq);
    return { failed, visible, names: [...names],
             banner: banner.hidden ? "" : banner.textContent,
             pending: p.pending(),
             shown: document.getElementById("pending").textContent,
             after: after ? after.name : "none" };
  }, first);
  check(killed.failed === 64, `server killed: ${killed.failed}/64 pending requests failed (${killed.names.join(", ")})`);
  check(killed.visible === 64, `each failure is shown in its row (${killed.visible}/64)`);
  check(killed.banner.startsWith("connection lost"), `the page shows "${killed.banner}"`);
  check(killed.pending === 0 && killed.shown === "0",
        `pending count back to 0 (C: ${killed.pending}, page: ${killed.shown})`);
  check(killed.after !== "none" && killed.after !== "CFUT_OK",
        `a request after the end fails at once (${killed.after})`);

  // 5. A URL the browser's WebSocket would throw on is refused in C.
  const bad = await page.evaluate(() =>
    ["not a url", "http://127.0.0.1:1/", "ws://127.0.0.1:1/#x"].map((u) =>
      Module.UTF8ToString(Module._web_status_name(Module._web_connect_str(u)))));
  check(bad.every((n) => n === "CFUT_EINVAL" || n === "EINVAL"),
        `URLs a WebSocket refuses fail with EINVAL (${bad.join(", ")})`);
} finally {
  await browser.close();
  http.close();
}
console.log(failures === 0 ? "web test: every check passed" : `web test: ${failures} failed`);
process.exit(failures === 0 ? 0 : 1);
