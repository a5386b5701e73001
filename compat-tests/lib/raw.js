'use strict';
// Raw Engine.IO / Socket.IO helpers for the differential compat suite.
// Plain node:http requests (a fresh agent-less request with Connection: close every time, so no
// keep-alive reuse hides per-connection behaviour) and `ws` WebSocket clients that collect frames
// and wait for them with deadlines.
const http = require('node:http');
const { WebSocket } = require('ws');

const SEP = '\x1e';

// request performs one HTTP request and resolves {status, headers, body (string), raw (Buffer)}.
// opts: {method, body, headers, timeout (ms, default 5000), signal}. Rejects on network error
// or timeout.
function request(url, opts = {}) {
  const { method = 'GET', body, headers = {}, timeout = 5000, signal, onSent } = opts;
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const hdrs = { Connection: 'close', ...headers };
    let payload;
    if (body !== undefined) {
      payload = Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8');
      hdrs['Content-Length'] = String(payload.length);
      if (!Object.keys(hdrs).some((k) => k.toLowerCase() === 'content-type')) {
        hdrs['Content-Type'] = 'text/plain;charset=UTF-8';
      }
    }
    const req = http.request(
      { host: u.hostname, port: u.port, path: u.pathname + u.search, method, headers: hdrs, agent: false, signal },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          clearTimeout(timer);
          const raw = Buffer.concat(chunks);
          resolve({ status: res.statusCode, headers: res.headers, rawHeaders: res.rawHeaders, body: raw.toString('utf8'), raw });
        });
        res.on('error', (e) => { clearTimeout(timer); reject(e); });
      },
    );
    const timer = setTimeout(() => {
      req.destroy(new Error(`timeout after ${timeout}ms: ${method} ${url}`));
    }, timeout);
    req.on('error', (e) => { clearTimeout(timer); reject(e); });
    if (onSent) req.once('finish', onSent);
    if (payload) req.write(payload);
    req.end();
  });
}

// startRequest is request() with handles: returns {promise, sent, abort()}. `sent` resolves once
// the whole request has been written to the socket; abort() destroys the underlying socket (the
// client "cancels" the request); the promise then rejects.
function startRequest(url, opts = {}) {
  const ac = new AbortController();
  let onSent;
  const sent = new Promise((r) => (onSent = r));
  const promise = request(url, { ...opts, signal: ac.signal, onSent });
  promise.catch(() => {});
  return { promise, sent, abort: () => ac.abort() };
}

// GRACE_MS is how long a test waits after a request is fully written before it relies on the
// server having registered it (there is no wire-visible signal for "the poll is now pending").
const GRACE_MS = 25;

// startPoll starts a GET poll and resolves {promise, abort} once it was written plus GRACE_MS.
async function startPoll(base, sid, opts = {}) {
  const h = startRequest(eioURL(base, `&sid=${encodeURIComponent(sid)}`), opts);
  await h.sent;
  await sleep(GRACE_MS);
  return h;
}

// waitSessionGone POSTs a harmless NOOP ("6") until the server answers 400 (session unknown) or
// the deadline passes; resolves the final response.
async function waitSessionGone(base, sid, ms = 1500) {
  const deadline = Date.now() + ms;
  for (;;) {
    const res = await eioPush(base, sid, '6');
    if (res.status === 400 || Date.now() > deadline) return res;
    await sleep(10);
  }
}

const eioURL = (base, q = '') => `${base}/?EIO=4&transport=polling${q}`;

// eioHandshake opens a polling session; resolves {sid, handshake, res}.
async function eioHandshake(base) {
  const res = await request(eioURL(base));
  if (res.status !== 200 || res.body[0] !== '0') {
    throw new Error(`handshake failed: ${res.status} ${JSON.stringify(res.body)}`);
  }
  const handshake = JSON.parse(res.body.slice(1));
  return { sid: handshake.sid, handshake, res };
}

function eioPoll(base, sid, opts = {}) {
  return request(eioURL(base, `&sid=${encodeURIComponent(sid)}`), opts);
}

function eioPush(base, sid, body, opts = {}) {
  return request(eioURL(base, `&sid=${encodeURIComponent(sid)}`), { ...opts, method: 'POST', body });
}

// encodePayload joins Engine.IO packets for polling: strings as-is, Buffers as "b"+base64.
function encodePayload(packets) {
  return packets.map((p) => (Buffer.isBuffer(p) ? 'b' + p.toString('base64') : p)).join(SEP);
}

// decodePayload splits a polling body; "b..." entries become Buffers.
function decodePayload(body) {
  if (body === '') return [];
  return body.split(SEP).map((p) => (p[0] === 'b' ? Buffer.from(p.slice(1), 'base64') : p));
}

// WsClient wraps a `ws` socket: every frame lands in .frames as {data: string|Buffer, binary}
// (text frames as strings); waitFor(pred, ms) resolves with the first frame at or after the read
// cursor that satisfies pred and advances the cursor past it. Close is recorded in .closed
// ({code, reason}) and waitClose(ms) waits for it.
class WsClient {
  constructor(url, opts = {}) {
    this.url = url;
    this.frames = [];
    this.cursor = 0;
    this.closed = null;
    this.error = null;
    this.autoPong = !!opts.autoPong;
    this.waiters = new Set();
    this.ws = new WebSocket(url, { perMessageDeflate: false, ...(opts.wsOptions || {}) });
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', resolve);
      this.ws.once('close', () => reject(new Error(`closed before open: ${url}`)));
      this.ws.once('unexpected-response', (req, res) => {
        this.unexpected = { status: res.statusCode, headers: res.headers };
        let b = '';
        res.on('data', (c) => (b += c));
        res.on('end', () => {
          this.unexpected.body = b;
          // the HTTP upgrade was refused: record it as a close so waitClose() resolves
          this.closed = { code: null, http: res.statusCode, reason: b, at: Date.now() };
          this._wake();
          reject(Object.assign(new Error(`unexpected response ${res.statusCode}`), { response: this.unexpected }));
        });
      });
    });
    this.opened.catch(() => {});
    this.ws.on('message', (data, isBinary) => {
      const frame = { data: isBinary ? Buffer.from(data) : data.toString('utf8'), binary: isBinary, at: Date.now() };
      if (this.autoPong && !isBinary && frame.data === '2') this.ws.send('3');
      this.frames.push(frame);
      this._wake();
    });
    this.ws.on('error', (e) => { this.error = e; this._wake(); });
    this.ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString(), at: Date.now() };
      this._wake();
    });
  }

  _wake() { for (const w of [...this.waiters]) w(); }

  send(data) { this.ws.send(data); }

  // waitFor resolves with the next frame (from the cursor) matching pred; rejects after ms or
  // when the socket closes first.
  waitFor(pred = () => true, ms = 2000, what = 'frame') {
    return new Promise((resolve, reject) => {
      const check = () => {
        for (let i = this.cursor; i < this.frames.length; i++) {
          if (pred(this.frames[i].data, this.frames[i])) {
            this.cursor = i + 1;
            done();
            resolve(this.frames[i].data);
            return true;
          }
        }
        if (this.closed) {
          done();
          reject(new Error(`socket closed (${this.closed.code}) while waiting for ${what}; frames: ${this.dump()}`));
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timeout ${ms}ms waiting for ${what}; frames: ${this.dump()}`));
      }, ms);
      const done = () => { clearTimeout(timer); this.waiters.delete(check); };
      if (!check()) this.waiters.add(check);
    });
  }

  // next returns the next frame that is not a ping ("2") from the cursor.
  next(ms = 2000) { return this.waitFor((d) => d !== '2', ms, 'next non-ping frame'); }

  waitClose(ms = 2000) {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (this.closed) { done(); resolve(this.closed); return true; }
        return false;
      };
      const timer = setTimeout(() => { done(); reject(new Error(`timeout ${ms}ms waiting for close; frames: ${this.dump()}`)); }, ms);
      const done = () => { clearTimeout(timer); this.waiters.delete(check); };
      if (!check()) this.waiters.add(check);
    });
  }

  // framesSince returns frames received after the cursor (not consuming them).
  pending() { return this.frames.slice(this.cursor).map((f) => f.data); }

  dump() {
    return JSON.stringify(this.frames.map((f) => (f.binary ? `<bin ${f.data.toString('hex')}>` : f.data)));
  }

  close() { try { this.ws.terminate(); } catch { /* already gone */ } }
}

// wsOpen connects a WebSocket to `${base}/?EIO=4&transport=websocket[&sid=]` and waits for open.
async function wsOpen(base, { sid, autoPong = false } = {}) {
  const url = base.replace(/^http/, 'ws') + `/?EIO=4&transport=websocket${sid ? `&sid=${encodeURIComponent(sid)}` : ''}`;
  const c = new WsClient(url, { autoPong });
  await c.opened;
  return c;
}

// wsHandshake opens a WebSocket-only session and consumes the "0{...}" open packet.
async function wsHandshake(base, opts = {}) {
  const c = await wsOpen(base, opts);
  const open = await c.waitFor((d) => typeof d === 'string' && d[0] === '0', 2000, 'open packet');
  c.handshake = JSON.parse(open.slice(1));
  c.openPacket = open;
  return c;
}

// sioConnect opens a WebSocket session, sends CONNECT for nsp (with optional auth JSON string) and
// consumes the CONNECT reply and the "auth" event. Returns the client with .sioSid.
async function sioConnect(base, { nsp = '/', auth, autoPong = true } = {}) {
  const c = await wsHandshake(base, { autoPong });
  const prefix = nsp === '/' ? '' : `${nsp},`;
  c.send(`40${prefix}${auth === undefined ? '' : auth}`);
  const reply = await c.next();
  if (!reply.startsWith(`40${prefix}{`)) throw new Error(`unexpected CONNECT reply ${JSON.stringify(reply)}`);
  c.sioSid = JSON.parse(reply.slice(2 + prefix.length)).sid;
  c.connectReply = reply;
  c.authEvent = await c.next();
  return c;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// repeat runs fn(i) n times sequentially, failing with the iteration number; bounded by budgetMs.
async function repeat(n, budgetMs, fn) {
  const start = Date.now();
  for (let i = 0; i < n; i++) {
    if (Date.now() - start > budgetMs) throw new Error(`repeat: budget ${budgetMs}ms exceeded after ${i}/${n} runs`);
    try {
      await fn(i);
    } catch (e) {
      e.message = `run ${i + 1}/${n}: ${e.message}`;
      throw e;
    }
  }
}

module.exports = {
  SEP, GRACE_MS, request, startRequest, startPoll, waitSessionGone, eioURL, eioHandshake, eioPoll, eioPush, encodePayload, decodePayload,
  WsClient, wsOpen, wsHandshake, sioConnect, sleep, repeat,
};
