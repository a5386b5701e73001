'use strict';
// Helpers for the fault suite (test/faults): processes we can kill and bring back on the same
// port, a paced emit stream, arrival tracking and figures.
//
//   startRedisProc()              -> RedisProc: redis-server (no persistence) on a free loopback
//                                    port; kill(signal), restart() on the same port, stop()
//   startFerretDB({ dir })        -> FerretDB: bin/ferretdb ($FERRETDB_BIN) on a free loopback port
//                                    with a data dir; kill(signal), restart() (same port and dir),
//                                    stop(); .url is the mongodb:// URI
//   startStream(url, opts)        -> Stream: POST /internal/emit at opts.rate msgs/s without waiting
//                                    for answers; .sent [{ seq, t, writtenAt, status, answeredAt }],
//                                    stop()
//   track(socket, event, seqOf)   -> [{ seq, t }] arrivals of event on socket
//   maxGap(times, from, to)       -> the longest interval without an arrival inside [from, to]
//   watchLoop()                   -> records this process's own event-loop stalls (the observer's)
//   serverGap(arrivals, sent, from, to, loop) -> the longest time inside [from, to] the server held
//                                    a written message for a client that got nothing, less the
//                                    observer's own stalls: { ms, raw, at }
//   rssKb(pid)                    -> VmRSS of a process in KiB (Linux /proc)
//   connectMany(url, list, opts)  -> sockets, connected `concurrency` at a time
//   waitUntil(fn, ms, what)       -> polls fn() (sync or async) until truthy, rejects after ms
//   closeAll(sockets)
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const { freePort, delay, EMIT_TOKEN } = require('./servers');
const { connect, postEmit } = require('./client');

const ROOT = path.resolve(__dirname, '..', '..');

function exitPromise(proc) {
  return new Promise((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) resolve(proc.exitCode ?? proc.signalCode);
    else proc.once('exit', (code, signal) => resolve(code ?? signal));
  });
}

function accepts(port) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => { s.destroy(); resolve(true); });
    s.on('error', () => resolve(false));
  });
}

async function waitUntil(fn, ms, what = 'condition') {
  const deadline = Date.now() + ms;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
    await delay(25);
  }
}

// A child process that can be SIGKILLed and started again with the same arguments.
class Proc {
  constructor(name, cmd, args, port) {
    this.name = name;
    this.cmd = cmd;
    this.args = args;
    this.port = port;
    this.log = [];
    this.proc = null;
  }

  output() { return this.log.join(''); }

  get alive() { return !!this.proc && this.proc.exitCode === null && this.proc.signalCode === null; }

  async start(timeoutMs = 15000) {
    this.proc = spawn(this.cmd, this.args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (d) => {
      this.log.push(d.toString());
      if (this.log.length > 300) this.log.shift();
    };
    this.proc.stdout.on('data', keep);
    this.proc.stderr.on('data', keep);
    this.exited = exitPromise(this.proc);
    const deadline = Date.now() + timeoutMs;
    while (!(await accepts(this.port))) {
      if (!this.alive) throw new Error(`${this.name} exited during startup:\n${this.output()}`);
      if (Date.now() > deadline) {
        this.kill('SIGKILL');
        throw new Error(`${this.name} did not accept on ${this.port} within ${timeoutMs} ms:\n${this.output()}`);
      }
      await delay(20);
    }
    this.startedAt = Date.now();
    return this;
  }

  kill(signal = 'SIGKILL') {
    if (this.alive) this.proc.kill(signal);
  }

  // restart SIGKILLs a running process (a stopped one is continued first so it can die) and
  // starts it again on the same port with the same arguments.
  async restart() {
    if (this.alive) {
      this.proc.kill('SIGKILL');
      await this.exited;
    }
    return this.start();
  }

  async stop(ms = 10000) {
    if (!this.alive) return;
    this.proc.kill('SIGCONT');
    this.proc.kill('SIGTERM');
    const t = setTimeout(() => this.kill('SIGKILL'), ms);
    await this.exited;
    clearTimeout(t);
  }
}

async function startRedisProc() {
  const port = await freePort();
  const p = new Proc('redis-server', 'redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], port);
  p.url = `redis://127.0.0.1:${port}`;
  return p.start();
}

function ferretBinary() {
  return process.env.FERRETDB_BIN || path.join(ROOT, 'bin', 'ferretdb');
}

async function startFerretDB({ dir }) {
  const bin = ferretBinary();
  if (!fs.existsSync(bin)) throw new Error(`FerretDB binary ${bin} is missing: build it (make build) or set FERRETDB_BIN`);
  const port = await freePort();
  const p = new Proc('ferretdb', bin, ['-listen', `127.0.0.1:${port}`, '-dir', dir], port);
  p.url = `mongodb://127.0.0.1:${port}/`;
  p.dir = dir;
  return p.start();
}

// startStream posts one emit every 1000/rate ms (paced from the start time, so a slow answer
// does not slow the stream). make(seq) returns the emit body.
function startStream(url, { rate, make, token = EMIT_TOKEN }) {
  const sent = [];
  const pending = new Set();
  const t0 = Date.now();
  let seq = 0;
  let stopped = false;
  let timer;
  const tick = () => {
    if (stopped) return;
    seq += 1;
    const rec = { seq, t: Date.now(), writtenAt: null, status: null, answeredAt: null };
    sent.push(rec);
    const p = postEmit(url, make(seq), { token, onWritten: () => { rec.writtenAt = Date.now(); } })
      .then((res) => { rec.status = res.status; })
      .catch((e) => { rec.status = e.code || e.message; })
      .finally(() => { rec.answeredAt = Date.now(); pending.delete(p); });
    pending.add(p);
    const next = t0 + (seq * 1000) / rate;
    timer = setTimeout(tick, Math.max(0, next - Date.now()));
  };
  tick();
  return {
    sent,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await Promise.all([...pending]);
    },
  };
}

function track(socket, event, seqOf) {
  const arrivals = [];
  socket.on(event, (...args) => arrivals.push({ seq: seqOf(...args), t: Date.now() }));
  return arrivals;
}

function maxGap(times, from, to) {
  let prev = from;
  let gap = 0;
  for (const t of times) {
    if (t < from || t > to) continue;
    gap = Math.max(gap, t - prev);
    prev = t;
  }
  return Math.max(gap, to - prev);
}

// watchLoop records when this process's own event loop did not run (a timer every TICK_MS that
// fires late): descheduled by the kernel, or busy with other work. Arrivals observed by this
// process are late by as much, whatever the server did. stalls() returns [from, to] intervals;
// stop() ends it.
const TICK_MS = 10;
const STALL_MS = 20; // a tick later than this counts as a stall of the observer
function watchLoop() {
  const stalls = [];
  let prev = Date.now();
  const timer = setInterval(() => {
    const now = Date.now();
    if (now - prev > TICK_MS + STALL_MS) stalls.push([prev + TICK_MS, now]);
    prev = now;
  }, TICK_MS);
  return {
    stalls: () => stalls,
    // the total time in [from, to] during which the observer was stalled
    overlap(from, to) {
      let ms = 0;
      for (const [a, b] of stalls) ms += Math.max(0, Math.min(b, to) - Math.max(a, from));
      return ms;
    },
    longest(from, to) {
      let ms = 0;
      for (const [a, b] of stalls) ms = Math.max(ms, Math.min(b, to) - Math.max(a, from));
      return ms;
    },
    stop() { clearInterval(timer); },
  };
}

// serverGap is the longest time, inside [from, to], during which the server held a message for a
// client and the client got nothing: for each arrival (and for `to`), the time since the later of
// the previous arrival and the moment the next message due to this client (the first one after
// the previous arrival's seq) was written to the server; minus the time this process itself was
// stalled meanwhile (loop: watchLoop()). A gap in arrivals that only mirrors a pause of the
// producer (this process's timers or writes running late) or of the observer is not the server's.
// Returns { ms, raw, at } (raw: without subtracting the observer's stalls; at: where it ends).
function serverGap(arrivals, sent, from, to, loop) {
  const writtenAt = (seq) => {
    const rec = sent[seq - 1];
    // never written (should not happen: the kernel takes a small request even from a server that
    // does not read): count from the moment the producer tried
    return rec ? (rec.writtenAt ?? rec.t) : Infinity;
  };
  let prevT = from;
  // the first message due at `from`: the one after the last seq that arrived before it
  let nextSeq = 1;
  for (const e of arrivals) if (e.t < from) nextSeq = Math.max(nextSeq, e.seq + 1);
  let worst = { ms: 0, raw: 0, at: from };
  const consider = (t) => {
    const start = Math.max(prevT, writtenAt(nextSeq));
    if (start >= t) return;
    const raw = t - start;
    const ms = raw - (loop ? loop.overlap(start, t) : 0);
    if (ms > worst.ms) worst = { ms, raw, at: t };
  };
  for (const e of arrivals) {
    if (e.t < from || e.t > to) continue;
    consider(e.t);
    prevT = e.t;
    nextSeq = Math.max(nextSeq, e.seq + 1);
  }
  consider(to);
  return worst;
}

function rssKb(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  if (!m) throw new Error(`no VmRSS for ${pid}`);
  return Number(m[1]);
}

async function connectMany(url, list, { concurrency = 50, ...opts } = {}) {
  const out = new Array(list.length);
  let next = 0;
  const worker = async () => {
    while (next < list.length) {
      const i = next++;
      out[i] = (await connect(url, { transports: ['websocket'], ...opts, auth: list[i] }, 15000)).socket;
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(concurrency, list.length) }, worker));
  } catch (e) {
    closeAll(out);
    throw e;
  }
  return out;
}

function closeAll(sockets) {
  for (const s of sockets) if (s) s.close();
}

const pct = (sorted, p) => sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] : NaN;

module.exports = {
  startRedisProc, startFerretDB, startStream, track, maxGap, serverGap, watchLoop, rssKb, connectMany, closeAll, waitUntil, pct, Proc,
};
