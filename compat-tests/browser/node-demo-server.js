'use strict';
// A small Node (socket.io 4.8) stand-in for `bin/server` with DEMO=true, used to develop the
// dashboard and this browser test before (or beside) the Go server: run the test with
// BROWSER_TARGET=node. It serves web-client/dist, POST /dev/login (sessions kept in Redis,
// connect-redis layout, so they survive a SIGKILL + restart), the subscribe handlers the page uses,
// a demo feed, and the graceful shutdown of notes/goserver.md. It is NOT the conformance reference
// (compat-tests/reference/server.js is): it implements only what the page needs.
const http = require('node:http');
const path = require('node:path');
const crypto = require('node:crypto');
const express = require('express');
const { Server } = require('socket.io');
const { createClient } = require('redis');

const env = process.env;
const PORT = Number(env.PORT || 3000);
const HOST = env.HOST || '127.0.0.1';
const PREFIX = env.SESSION_REDIS_PREFIX ?? 'sess:';
const TRADE_MS = Number(env.DEMO_TRADE_INTERVAL_MS || 10000);
const GRACE_MS = Number(env.SHUTDOWN_GRACE_MS || 1000);
const DIST = path.resolve(__dirname, '..', '..', 'web-client', 'dist');

async function main() {
  const redis = createClient({ url: env.REDIS_URL });
  redis.on('error', () => {});
  await redis.connect();

  const app = express();
  let healthy = true;
  app.get('/health/websocket', (req, res) => res.status(healthy ? 200 : 503).json({ status: healthy ? 'healthy' : 'unhealthy' }));
  app.post('/dev/login', express.json({ limit: '4kb' }), async (req, res) => {
    const userName = String((req.body && req.body.userName) || 'Demo Trader').trim();
    const sid = crypto.randomBytes(18).toString('base64url');
    const userId = `demo-${crypto.randomBytes(6).toString('hex')}`;
    await redis.set(PREFIX + sid, JSON.stringify({ cookie: { path: '/' }, passport: { user: userId }, userName }), { EX: 3600 });
    res.json({ sessionID: sid, userId, userName });
  });
  app.use(express.static(DIST));
  app.get(/^\/(?!assets\/).*/, (req, res) => res.sendFile(path.join(DIST, 'index.html')));

  const httpServer = http.createServer(app);
  const io = new Server(httpServer, { cors: { origin: '*', credentials: true } });

  io.use(async (socket, next) => {
    const { sessionID, userId } = socket.handshake.auth || {};
    const raw = sessionID && await redis.get(PREFIX + sessionID);
    const sess = raw && JSON.parse(raw);
    if (!sess || !sess.passport || sess.passport.user !== userId) {
      const err = new Error('UNAUTHORIZED: Invalid session or user mismatch');
      err.data = { code: 'UNAUTHORIZED' };
      return next(err);
    }
    socket.data.userId = userId;
    next();
  });

  io.on('connection', (socket) => {
    const { userId } = socket.data;
    socket.join(`user:${userId}`);
    socket.emit('connected', { socketId: socket.id, userId, timestamp: new Date().toISOString(), message: 'WebSocket connection established' });
    const on = (event, fn) => socket.on(event, (...args) => {
      const ack = typeof args[args.length - 1] === 'function' ? args.pop() : null;
      const out = fn(args[0]);
      if (ack) ack(out);
    });
    for (const kind of ['portfolio', 'trades']) {
      const room = `${kind}:${userId}`;
      on(`subscribe:${kind}`, () => { socket.join(room); socket.emit(`subscribed:${kind}`, { room, timestamp: new Date().toISOString() }); return { ok: true }; });
      on(`unsubscribe:${kind}`, () => { socket.leave(room); socket.emit(`unsubscribed:${kind}`, { room, timestamp: new Date().toISOString() }); return { ok: true }; });
    }
    for (const op of ['subscribe', 'unsubscribe']) {
      on(`${op}:watchlist`, (payload) => {
        const symbols = [...new Set(((payload && payload.symbols) || []).map((s) => String(s).trim().toUpperCase()))];
        if (!symbols.length || symbols.some((s) => !/^[A-Z0-9][A-Z0-9.\-/]{0,15}$/.test(s))) {
          const e = { code: 'INVALID_PAYLOAD', message: 'symbols must be a non-empty array of valid symbols', event: `${op}:watchlist` };
          socket.emit('error', e);
          return { ok: false, code: e.code, message: e.message };
        }
        for (const s of symbols) (op === 'subscribe' ? socket.join(`watchlist:${s}`) : socket.leave(`watchlist:${s}`));
        socket.emit(`${op}d:watchlist`, { symbols, timestamp: new Date().toISOString() });
        return { ok: true };
      });
    }
  });

  // The demo feed, published through room emits like any producer.
  const prices = new Map();
  const price = (sym) => {
    if (!prices.has(sym)) prices.set(sym, { close: 50 + (crypto.createHash('md5').update(sym).digest()[0] * 2), price: 0 });
    const q = prices.get(sym);
    q.price = q.price ? q.price * (1 + (Math.random() - 0.5) * 0.004) : q.close;
    return q;
  };
  const rooms = (prefix) => [...io.of('/').adapter.rooms.keys()].filter((r) => r.startsWith(prefix)).map((r) => r.slice(prefix.length));
  const r2 = (v) => Math.round(v * 100) / 100;
  const timers = [
    setInterval(() => {
      for (const symbol of rooms('watchlist:')) {
        const q = price(symbol);
        io.to(`watchlist:${symbol}`).emit('quote:update', { symbol, quote: { price: r2(q.price), change: r2(q.price - q.close), changePercent: r2((100 * (q.price - q.close)) / q.close), timestamp: new Date().toISOString() } });
      }
    }, 1000),
    setInterval(() => {
      for (const userId of rooms('user:')) {
        const positions = ['AAPL', 'MSFT', 'NVDA'].map((symbol, i) => {
          const p = r2(price(symbol).price);
          return { symbol, quantity: 10 * (i + 1), price: p, value: r2(p * 10 * (i + 1)) };
        });
        const value = 90000 + positions.reduce((sum, p) => sum + p.value, 0);
        const open = 90000 + positions.reduce((sum, p) => sum + prices.get(p.symbol).close * p.quantity, 0);
        io.to(`user:${userId}`).emit('portfolio:update', { userId, portfolio: { value: r2(value), dayPL: r2(value - open), dayPLPercent: r2((100 * (value - open)) / open), positions } });
      }
    }, 3000),
    setInterval(() => {
      for (const userId of rooms('user:')) {
        const symbol = ['AAPL', 'MSFT', 'NVDA'][Math.floor(Math.random() * 3)];
        if (Math.random() < 0.2) io.to(`user:${userId}`).emit('trade:failed', { userId, trade: { symbol, error: 'Insufficient buying power' } });
        else io.to(`user:${userId}`).emit('trade:executed', { userId, trade: { id: crypto.randomUUID(), symbol, side: 'buy', quantity: 5, price: r2(price(symbol).price), status: 'filled' } });
      }
    }, TRADE_MS),
  ];

  const shutdown = async () => {
    healthy = false;
    io.emit('server:shutdown', { message: 'Server is shutting down for maintenance', timestamp: new Date().toISOString() });
    await new Promise((r) => setTimeout(r, GRACE_MS));
    io.disconnectSockets(true);
    timers.forEach(clearInterval);
    io.close();
    await redis.quit().catch(() => {});
    process.exit(0);
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);

  await new Promise((resolve) => httpServer.listen(PORT, HOST, resolve));
  console.error(`listening addr=${HOST}:${PORT}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
