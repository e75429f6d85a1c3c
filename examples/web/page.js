/*
 * page.js: the drawing half of the page. It calls the C functions of
 * app.c (compiled with cfut to cfut_web.wasm) and draws what they report:
 * one row per request, filled when its response, or its error, arrives.
 * The protocol (frames, ids, the pending map) is all in the C code.
 *
 * The WebSocket server: ?ws=ws://HOST:PORT/ in the page's address, else
 * port 8765 of the page's host.
 */
"use strict";

const MAX_ROWS = 200; /* rows kept on screen (every result is kept) */

const page = {
  url: new URLSearchParams(location.search).get("ws") ||
       "ws://" + (location.hostname || "127.0.0.1") + ":8765/",
  nextSeq: 1,
  sent: new Map(),    /* seq -> {text, delay, row, sentAt} */
  results: new Map(), /* seq -> the C side's report (tests read these) */
  nDone: 0,
  nFailed: 0,
  nOutOfOrder: 0,
  lastSeqDone: 0,
  bench: null,        /* the last measurement (web_bench) */
  ready: false,
};
window.cfutPage = page;

const $ = (id) => document.getElementById(id);

function showError(text) {
  const e = $("error");
  e.textContent = text;
  e.hidden = false;
}

function setConn(state) {
  const c = $("conn");
  c.textContent = state;
  c.className = "conn " + state.split(" ")[0];
}

function counts(pending) {
  $("pending").textContent = pending;
  $("done").textContent = page.nDone;
  $("failed").textContent = page.nFailed;
  $("ooo").textContent = page.nOutOfOrder;
}

function cell(tr, text, cls) {
  const td = document.createElement("td");
  td.textContent = text;
  if (cls) td.className = cls;
  tr.appendChild(td);
  return td;
}

/* Sends one request through the C transport; returns its number. */
page.send = function (text, delayMs) {
  const seq = page.nextSeq++;
  const tr = document.createElement("tr");
  tr.className = "pending";
  tr.dataset.seq = seq;
  cell(tr, seq, "num order");
  cell(tr, text);
  cell(tr, delayMs >= 0 ? delayMs + " ms" : "-", "num");
  cell(tr, "pending", "state");
  cell(tr, "");
  cell(tr, "", "num");
  const rows = $("rows");
  rows.insertBefore(tr, rows.firstChild);
  while (rows.childElementCount > MAX_ROWS) rows.removeChild(rows.lastChild);
  page.sent.set(seq, { text, delay: delayMs, row: tr });
  const rc = Module._web_send_str(seq, text, delayMs);
  if (rc < 0) {
    /* The request could not start: it fails now, visibly. */
    const name = Module.UTF8ToString(Module._web_status_name(rc));
    page.done({ seq, status: rc, name, error: "not sent: " + name,
                matched: false, rttMs: 0, text: "",
                pending: Module._web_pending() });
  } else {
    counts(rc);
  }
  return seq;
};

/* Module.cfutDone: one request finished (called from app.c). */
page.done = function (r) {
  const s = page.sent.get(r.seq);
  page.results.set(r.seq, r);
  const ok = r.status === 0 && r.matched;
  if (ok) page.nDone++; else page.nFailed++;
  if (r.seq < page.lastSeqDone) page.nOutOfOrder++;
  page.lastSeqDone = Math.max(page.lastSeqDone, r.seq);
  if (s && s.row) {
    const td = s.row.children;
    s.row.className = ok ? "ok" : "error";
    if (r.seq < page.lastSeqDone) s.row.classList.add("late");
    td[3].textContent = ok ? "answered" : "failed: " + (r.error || r.name);
    td[4].textContent = r.status === 0 ? r.text : r.name;
    td[5].textContent = r.rttMs.toFixed(1) + " ms";
  }
  if (r.status !== 0 && r.name !== "CFUT_ECANCELED") {
    const why = Module._web_status();
    if (why !== 0) {
      setConn("closed");
      showError("connection lost: " + Module.UTF8ToString(Module._web_status_name(why))
                + " - pending requests failed");
    }
  } else if (r.status === 0) {
    setConn("open");
  }
  counts(r.pending);
};

page.pending = () => Module._web_pending();

/* Sends 'n' requests, 'inflight' at a time, with random delays. */
page.burst = function (n, inflight, maxDelayMs) {
  return new Promise((resolve) => {
    let started = 0, finished = 0;
    const words = ["apple", "birch", "cedar", "dune", "ember", "fjord",
                   "grove", "heath", "inlet", "juniper"];
    const next = () => {
      while (started < n && started - finished < inflight) {
        started++;
        page.send(words[started % words.length] + " " + started,
                  Math.floor(Math.random() * (maxDelayMs + 1)));
      }
      if (finished === n) resolve();
    };
    page.onFinish = () => { finished++; next(); };
    next();
  });
};

/* Measures 'n' requests with 'inflight' in flight (app.c: web_bench). */
page.measure = function (n, inflight) {
  return new Promise((resolve, reject) => {
    page.onBench = (b) => { page.bench = b; resolve(b); };
    const rc = Module._web_bench(n, inflight);
    if (rc < 0) reject(new Error(Module.UTF8ToString(Module._web_status_name(rc))));
  });
};

var Module = {
  cfutDone(r) {
    page.done(r);
    if (page.onFinish) page.onFinish();
  },
  cfutBenchDone(b) {
    if (page.onBench) page.onBench(b);
  },
  onRuntimeInitialized() {
    Module._web_send_str = Module.cwrap("web_send", "number",
                                        ["number", "string", "number"]);
    Module._web_connect_str = Module.cwrap("web_connect", "number",
                                           ["string"]);
    $("url").textContent = page.url;
    const rc = Module._web_connect_str(page.url);
    if (rc < 0) {
      setConn("closed");
      showError("cannot connect: " + Module.UTF8ToString(Module._web_status_name(rc)));
    }
    page.ready = true;
  },
};

$("send-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const words = $("words").value.trim();
  if (!words) return;
  const max = Number($("max-delay").value) || 0;
  page.send(words, Math.floor(Math.random() * (max + 1)));
  $("words").value = "";
});

$("burst").addEventListener("click", () => {
  const max = Number($("max-delay").value) || 0;
  const words = ($("words").value.trim() || "hello").split(/\s+/);
  for (let i = 0; i < 20; i++)
    page.send(words[i % words.length] + " " + (i + 1),
              Math.floor(Math.random() * (max + 1)));
});
