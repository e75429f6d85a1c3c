// web_test.mjs PAGEDIR WSPORT SERVERPID SCREENSHOT fast|slow: the page of
// examples/web (cfut compiled to WebAssembly) in headless chromium
// (Debian's, $CHROMIUM), driven with playwright-core, against cfut-echo's
// WebSocket listener on 127.0.0.1:WSPORT. Serves PAGEDIR itself on a free
// port of 127.0.0.1. Checks, in order:
//   1. 1,000 requests with random delays, 64 in flight: every response
//      matches its request (the C side compares the echoed bytes, and so
//      does this script), some arrive out of order, and the page's
//      pending count returns to 0;
//   2. a measurement: requests/s and p50 with 64 in flight (printed);
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
} finally {
  await browser.close();
  http.close();
}
console.log(failures === 0 ? "web test: every check passed" : `web test: ${failures} failed`);
process.exit(failures === 0 ? 0 : 1);
