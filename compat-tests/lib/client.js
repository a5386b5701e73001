'use strict';
// socket.io-client helpers for the client-level suite. Every wait has a deadline.
//
//   connect(url, opts)            -> { socket, connected } once `connected` arrives; rejects with the
//                                    connect_error (err.message, err.data) or on timeout
//   connectError(url, opts)       -> the connect_error of a refused handshake
//   waitFor(emitter, event, ms)   -> the first argument list of the next `event` (array)
//   within(promise, ms, what)     -> promise, rejected if it has not settled ms after the call
//   expectNone(emitter, event, ms)-> resolves if `event` does not arrive within ms, else rejects
//   collect(emitter, event)       -> { items, until(n, ms) } records every `event`
//   ack(socket, event, ...args)   -> the ack of an emit (rejects after 3 s)
//   postEmit(baseUrl, body, opts) -> { status, json, body } of POST /internal/emit
//   SeedClient                    -> the seed's useWebSocket hook, with restoreSubscriptions
const http = require('node:http');
const { io } = require('socket.io-client');

const DEFAULT_MS = 3000;

function timeoutError(what, ms) {
  return new Error(`timed out after ${ms} ms waiting for ${what}`);
}

function waitFor(emitter, event, ms = DEFAULT_MS) {
  return new Promise((resolve, reject) => {
    const handler = (...args) => {
      clearTimeout(t);
      resolve(args);
    };
    const t = setTimeout(() => {
      emitter.off(event, handler);
      reject(timeoutError(`"${event}"`, ms));
    }, ms);
    emitter.once(event, handler);
  });
}

// within rejects when promise has not settled ms after this call: for a deadline that starts at a
// later event than the wait itself (e.g. "connected" registered before a restart, bounded from the
// moment the server is healthy again).
function within(promise, ms, what) {
  let t;
  const timeout = new Promise((_, reject) => { t = setTimeout(() => reject(timeoutError(what, ms)), ms); });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(t));
}

function expectNone(emitter, event, ms = 300) {
  return new Promise((resolve, reject) => {
    const handler = (...args) => {
      clearTimeout(t);
      reject(new Error(`unexpected "${event}": ${JSON.stringify(args).slice(0, 300)}`));
    };
    const t = setTimeout(() => {
      emitter.off(event, handler);
      resolve();
    }, ms);
    emitter.once(event, handler);
  });
}

function collect(emitter, event) {
  const items = [];
  const waiters = [];
  emitter.on(event, (...args) => {
    items.push(args.length === 1 ? args[0] : args);
    for (const w of [...waiters]) if (items.length >= w.n) { w.resolve(items); waiters.splice(waiters.indexOf(w), 1); }
  });
  return {
    items,
    until(n, ms = DEFAULT_MS) {
      if (items.length >= n) return Promise.resolve(items);
      return new Promise((resolve, reject) => {
        const w = { n, resolve: (v) => { clearTimeout(t); resolve(v); } };
        const t = setTimeout(() => {
          waiters.splice(waiters.indexOf(w), 1);
          reject(timeoutError(`${n} x "${event}" (got ${items.length})`, ms));
        }, ms);
        waiters.push(w);
      });
    },
  };
}

// connect opens a socket with reconnection off (unless opts say otherwise) and waits for the
// server's `connected` event. The `connected` listener is attached before the connection opens.
function connect(url, opts = {}, ms = 5000) {
  const { timeoutMs, ...rest } = opts;
  const socket = io(url, { reconnection: false, forceNew: true, timeout: 4000, ...rest });
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      socket.close();
      reject(timeoutError('"connected"', timeoutMs || ms));
    }, timeoutMs || ms);
    socket.once('connected', (connected) => {
      clearTimeout(t);
      resolve({ socket, connected });
    });
    socket.once('connect_error', (err) => {
      clearTimeout(t);
      socket.close();
      reject(err);
    });
  });
}

async function connectError(url, opts = {}, ms = 5000) {
  try {
    const { socket } = await connect(url, opts, ms);
    socket.close();
  } catch (err) {
    if (/timed out/.test(err.message) && !err.data) throw err;
    return err;
  }
  throw new Error('expected connect_error, but the connection was accepted');
}

function ack(socket, event, ...args) {
  return socket.timeout(DEFAULT_MS).emitWithAck(event, ...args);
}

// opts.onWritten is called once the whole request has been handed to the kernel (the server can
// read it from then on).
function postEmit(baseUrl, body, { token, raw, headers = {}, onWritten } = {}) {
  const payload = raw !== undefined ? Buffer.from(raw) : Buffer.from(JSON.stringify(body));
  const u = new URL('/internal/emit', baseUrl);
  const hdrs = { 'content-type': 'application/json', 'content-length': String(payload.length), ...headers };
  if (token) hdrs.authorization = `Bearer ${token}`;
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, path: u.pathname, method: 'POST', headers: hdrs, agent: false }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        let json = null;
        try { json = JSON.parse(text); } catch { /* not JSON */ }
        resolve({ status: res.statusCode, json, body: text });
      });
    });
    req.on('error', (e) => {
      // a server may answer 413 and close before reading the whole body
      if (e.code === 'EPIPE' || e.code === 'ECONNRESET') resolve({ status: -1, error: e });
      else reject(e);
    });
    if (onWritten) req.once('finish', onWritten);
    req.end(payload);
  });
}

// SeedClient mirrors the seed's useWebSocket hook: transports ['websocket','polling'],
// reconnection 1 s..5 s forever, a manual reconnect after `io server disconnect`, and
// restoreSubscriptions() on the Manager's `reconnect` event.
class SeedClient {
  // The seed's reconnection backoff: 1 s doubling to at most 5 s (socket.io-client randomizes each
  // delay by +-50 % and then caps it at reconnectionDelayMax), and its manual reconnect 1 s after
  // `io server disconnect`.
  static RECONNECTION_DELAY = 1000;

  static RECONNECTION_DELAY_MAX = 5000;

  constructor(url, { sessionID, userId, userName = 'User', ...extra } = {}) {
    this.activeSubscriptions = new Set();
    this.reconnects = 0;
    this.disconnects = [];
    this.socket = io(url, {
      auth: { sessionID, userId, userName },
      transports: ['websocket', 'polling'],
      reconnection: true,
      reconnectionDelay: SeedClient.RECONNECTION_DELAY,
      reconnectionDelayMax: SeedClient.RECONNECTION_DELAY_MAX,
      reconnectionAttempts: Infinity,
      forceNew: true,
      ...extra,
    });
    this.socket.on('disconnect', (reason) => {
      this.disconnects.push(reason);
      if (reason === 'io server disconnect' && !this.closed) {
        setTimeout(() => { if (!this.closed) this.socket.connect(); }, SeedClient.RECONNECTION_DELAY);
      }
    });
    this.socket.io.on('reconnect', () => {
      this.reconnects += 1;
      this.restoreSubscriptions();
    });
  }

  subscribe(type, symbols) {
    const key = type === 'watchlist' ? `watchlist:${symbols.join(',')}` : type;
    this.activeSubscriptions.add(JSON.stringify({ key, type, symbols }));
    if (type === 'watchlist') this.socket.emit('subscribe:watchlist', { symbols });
    else this.socket.emit(`subscribe:${type}`);
  }

  restoreSubscriptions() {
    for (const raw of this.activeSubscriptions) {
      const subscription = JSON.parse(raw);
      if (subscription.type === 'portfolio') this.socket.emit('subscribe:portfolio');
      else if (subscription.type === 'trades') this.socket.emit('subscribe:trades');
      else if (subscription.type === 'watchlist') this.socket.emit('subscribe:watchlist', { symbols: subscription.symbols });
    }
  }

  close() {
    this.closed = true;
    this.socket.close();
  }
}

module.exports = { connect, connectError, waitFor, within, expectNone, collect, ack, postEmit, SeedClient, DEFAULT_MS };
