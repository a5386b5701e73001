'use strict';
// Node reference server: socket.io 4.8.4 implementing shared/EVENTS.md and the seed
// (websocket-connection-architecture.md). It is the yardstick the Go server is judged by, so it
// follows the seed's code where the seed shows code, and EVENTS.md where the seed is silent.
//
// Configured by the same env vars as the Go server (see notes/goserver.md); prints `listening`
// (plus the address) on stdout when ready.
//
// Redis keys (only when REDIS_URL is set):
//   ${RATE_PREFIX}${userId}:${event}  fixed-window event counter (INCR + PEXPIRE), shared by all
//                                     of a user's sockets and all instances
//   ${SUBS_PREFIX}${userId}           sorted set of "instanceId|socketId|room" members scored by
//                                     lease expiry (ms); live instances renew their leases, so a
//                                     crashed instance's pairs expire instead of staying stuck
const http = require('node:http');
const crypto = require('node:crypto');
const express = require('express');
const session = require('express-session');
const signature = require('cookie-signature');
const cookie = require('cookie');
const { Server } = require('socket.io');

const env = process.env;
const num = (name, def) => {
  const v = env[name];
  if (v === undefined || v === '') return def;
  const n = Number(v);
  if (!Number.isFinite(n)) {
    console.error(`invalid ${name}=${v}`);
    process.exit(2);
  }
  return n;
};

const cfg = {
  port: num('PORT', 3000),
  host: env.HOST || '0.0.0.0',
  corsOrigin: env.CORS_ORIGIN || '*',
  pingInterval: num('PING_INTERVAL_MS', 25000),
  pingTimeout: num('PING_TIMEOUT_MS', 60000),
  maxHttpBufferSize: num('MAX_HTTP_BUFFER_SIZE', 1e6),
  deflateThreshold: num('PER_MESSAGE_DEFLATE_THRESHOLD', 1024),
  sessionStore: env.SESSION_STORE || 'memory',
  mongoUri: env.MONGODB_URI || 'mongodb://127.0.0.1:27017',
  mongoDb: env.MONGODB_DB || undefined,
  sessionCollection: env.SESSION_COLLECTION || 'sessions',
  redisUrl: env.REDIS_URL || '',
  sessionRedisPrefix: env.SESSION_REDIS_PREFIX === undefined ? 'sess:' : env.SESSION_REDIS_PREFIX,
  secrets: (env.SESSION_SECRET || '').split(',').filter((s) => s !== ''),
  cookieName: env.SESSION_COOKIE_NAME || 'connect.sid',
  emitToken: env.EMIT_TOKEN || '',
  rateMax: num('RATE_LIMIT_MAX', 10),
  rateWindowMs: num('RATE_LIMIT_WINDOW_MS', 60000),
  maxSubscriptions: num('MAX_SUBSCRIPTIONS', 50),
  shutdownGraceMs: num('SHUTDOWN_GRACE_MS', 1000),
};

const RATE_PREFIX = 'ws:rate:';
const SUBS_PREFIX = 'ws:subs:';
const SUB_LEASE_MS = 30000;
const STORE_TIMEOUT_MS = 2000;
const instanceId = crypto.randomBytes(8).toString('hex');
const startedAt = Date.now();

const log = (...a) => { if (env.LOG_LEVEL === 'debug') console.error(...a); };

class AppError extends Error {
  constructor(code, message, extra = {}) {
    super(message);
    this.code = code;
    this.extra = extra;
  }
}

// ---------------------------------------------------------------- session store
let redisClient = null; // node-redis v5, shared by the session store, limits and the adapter pub
let redisSub = null;
let mongoClient = null;
let sessionStore;

async function openStores() {
  if (cfg.redisUrl) {
    const { createClient } = require('redis');
    redisClient = createClient({ url: cfg.redisUrl });
    redisClient.on('error', (e) => log('redis error', e.message));
    await redisClient.connect();
  }
  switch (cfg.sessionStore) {
    case 'memory':
      sessionStore = new session.MemoryStore();
      break;
    case 'redis': {
      if (!redisClient) throw new Error('SESSION_STORE=redis needs REDIS_URL');
      const { RedisStore } = require('connect-redis');
      sessionStore = new RedisStore({ client: redisClient, prefix: cfg.sessionRedisPrefix });
      break;
    }
    case 'mongo': {
      const { MongoStore } = require('connect-mongo');
      const { MongoClient } = require('mongodb');
      mongoClient = new MongoClient(cfg.mongoUri, { serverSelectionTimeoutMS: STORE_TIMEOUT_MS });
      sessionStore = MongoStore.create({
        client: mongoClient,
        dbName: cfg.mongoDb,
        collectionName: cfg.sessionCollection,
        // No TTL index: FerretDB (and the product) must not need one; get() already ignores
        // sessions whose `expires` has passed.
        autoRemove: 'disabled',
      });
      break;
    }
    default:
      throw new Error(`unknown SESSION_STORE=${cfg.sessionStore}`);
  }
}

// ---------------------------------------------------------------- auth middleware (seed + EVENTS.md)
// resolveSid turns auth.sessionID / the cookie value into a raw sid, or null when a signed value
// does not verify with any of the secrets.
function resolveSid(value) {
  let v = String(value);
  try {
    v = decodeURIComponent(v);
  } catch {
    return null;
  }
  if (v.startsWith('s:')) {
    for (const secret of cfg.secrets) {
      const sid = signature.unsign(v.slice(2), secret);
      if (sid !== false) return sid;
    }
    return null;
  }
  return v;
}

function cookieSid(socket) {
  const header = socket.handshake.headers.cookie;
  if (!header) return undefined;
  const c = cookie.parse(header)[cfg.cookieName];
  return c === undefined || c === '' ? undefined : c;
}

function storeGet(sid) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('session store timeout')), STORE_TIMEOUT_MS);
    sessionStore.get(sid, (err, sess) => {
      clearTimeout(timer);
      if (err) reject(err);
      else resolve(sess);
    });
  });
}

function authError(message, code) {
  const err = new Error(message);
  err.data = { code };
  return err;
}

async function authenticateWebSocket(socket, next) {
  try {
    const auth = socket.handshake.auth || {};
    let { sessionID } = auth;
    const { userId } = auth;
    if (sessionID === undefined || sessionID === null || sessionID === '') sessionID = cookieSid(socket);

    if (!sessionID || !userId) {
      return next(authError('UNAUTHORIZED: Missing authentication credentials', 'UNAUTHORIZED'));
    }
    const invalid = () => next(authError('UNAUTHORIZED: Invalid session or user mismatch', 'UNAUTHORIZED'));
    if (typeof sessionID !== 'string') return invalid();
    const sid = resolveSid(sessionID);
    if (sid === null) return invalid();

    const sess = await storeGet(sid);
    if (!sess || !sess.passport || sess.passport.user !== userId) return invalid();
    if (sess.cookie && sess.cookie.expires && new Date(sess.cookie.expires).getTime() <= Date.now()) {
      return invalid(); // MemoryStore/redis TTL normally hides these; belt and braces
    }

    socket.handshake.auth.authenticated = true;
    socket.handshake.auth.userName = sess.userName || 'User';
    socket.handshake.auth.userRole = sess.userRole || 'user';
    socket.data.userId = userId;
    socket.data.userName = socket.handshake.auth.userName;
    socket.data.userRole = socket.handshake.auth.userRole;
    log(`WebSocket authenticated: ${userId} (${sess.userName})`);
    return next();
  } catch (error) {
    log('WebSocket authentication failed:', error.message);
    return next(authError('AUTHENTICATION_FAILED', 'AUTHENTICATION_FAILED'));
  }
}

// ---------------------------------------------------------------- limits
// Event rate: fixed window per (user, event). Only events that pass count.
const memRate = new Map(); // key -> { count, resetAt }
const RATE_LUA = `
local c = redis.call('INCR', KEYS[1])
if c == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
if c > tonumber(ARGV[1]) then
  redis.call('DECR', KEYS[1])
  local ttl = redis.call('PTTL', KEYS[1])
  if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]); ttl = tonumber(ARGV[2]) end
  return ttl
end
return -1`;

async function checkRate(userId, event) {
  const key = `${RATE_PREFIX}${userId}:${event}`;
  if (redisClient) {
    const ttl = await redisClient.eval(RATE_LUA, {
      keys: [key],
      arguments: [String(cfg.rateMax), String(cfg.rateWindowMs)],
    });
    return ttl >= 0 ? Math.max(1, Number(ttl)) : 0;
  }
  const now = Date.now();
  let e = memRate.get(key);
  if (!e || e.resetAt <= now) {
    e = { count: 0, resetAt: now + cfg.rateWindowMs };
    memRate.set(key, e);
  }
  if (e.count >= cfg.rateMax) return Math.max(1, e.resetAt - now);
  e.count += 1;
  return 0;
}

// Subscriptions: (socket, room) pairs per user. socket.data.counted holds the pairs this socket
// has counted, so re-subscribing and unsubscribing from rooms not held change nothing.
const memSubs = new Map(); // userId -> count
const SUBS_ADD_LUA = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local n = redis.call('ZCARD', KEYS[1])
local add = #ARGV - 3
if n + add > tonumber(ARGV[2]) then return 0 end
for i = 4, #ARGV do redis.call('ZADD', KEYS[1], ARGV[3], ARGV[i]) end
redis.call('PEXPIRE', KEYS[1], ${SUB_LEASE_MS * 2})
return 1`;

const member = (socket, room) => `${instanceId}|${socket.id}|${room}`;

async function reserveSubscriptions(socket, rooms) {
  const userId = socket.data.userId;
  if (rooms.length === 0) return true;
  if (redisClient) {
    const now = Date.now();
    const ok = await redisClient.eval(SUBS_ADD_LUA, {
      keys: [`${SUBS_PREFIX}${userId}`],
      arguments: [String(now), String(cfg.maxSubscriptions), String(now + SUB_LEASE_MS), ...rooms.map((r) => member(socket, r))],
    });
    return ok === 1;
  }
  const n = memSubs.get(userId) || 0;
  if (n + rooms.length > cfg.maxSubscriptions) return false;
  memSubs.set(userId, n + rooms.length);
  return true;
}

async function releaseSubscriptions(socket, rooms) {
  const userId = socket.data.userId;
  if (rooms.length === 0) return;
  if (redisClient) {
    await redisClient.zRem(`${SUBS_PREFIX}${userId}`, rooms.map((r) => member(socket, r)));
    return;
  }
  const n = (memSubs.get(userId) || 0) - rooms.length;
  if (n > 0) memSubs.set(userId, n);
  else memSubs.delete(userId);
}

// renewLeases keeps this instance's pairs alive in Redis.
async function renewLeases() {
  if (!redisClient) return;
  const byUser = new Map();
  for (const socket of io.of('/').sockets.values()) {
    if (!socket.data.counted || socket.data.counted.size === 0) continue;
    const list = byUser.get(socket.data.userId) || [];
    for (const room of socket.data.counted) list.push(member(socket, room));
    byUser.set(socket.data.userId, list);
  }
  const score = Date.now() + SUB_LEASE_MS;
  for (const [userId, members] of byUser) {
    const key = `${SUBS_PREFIX}${userId}`;
    await redisClient.zAdd(key, members.map((value) => ({ score, value })), { XX: true });
    await redisClient.pExpire(key, SUB_LEASE_MS * 2);
  }
}

// ---------------------------------------------------------------- validation
const SYMBOL_RE = /^[A-Z0-9][A-Z0-9.\-/]{0,15}$/;
const MAX_SYMBOLS = 50;

function parseSymbols(payload) {
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) {
    throw new AppError('INVALID_PAYLOAD', 'payload must be an object { symbols: string[] }');
  }
  const { symbols } = payload;
  if (!Array.isArray(symbols) || symbols.length === 0) {
    throw new AppError('INVALID_PAYLOAD', 'symbols must be a non-empty array of strings');
  }
  if (symbols.length > MAX_SYMBOLS) {
    throw new AppError('INVALID_PAYLOAD', `at most ${MAX_SYMBOLS} symbols per request`);
  }
  const out = [];
  for (const s of symbols) {
    if (typeof s !== 'string') throw new AppError('INVALID_PAYLOAD', 'symbols must be strings');
    const sym = s.trim().toUpperCase();
    if (!SYMBOL_RE.test(sym)) throw new AppError('INVALID_PAYLOAD', `invalid symbol: ${JSON.stringify(s).slice(0, 40)}`);
    if (!out.includes(sym)) out.push(sym);
  }
  return out;
}

// ---------------------------------------------------------------- handlers
const nowIso = () => new Date().toISOString();

function splitArgs(args) {
  const ack = args.length > 0 && typeof args[args.length - 1] === 'function' ? args.pop() : null;
  return { args, ack };
}

function refuse(socket, event, ack, err) {
  const code = err instanceof AppError ? err.code : 'INTERNAL';
  const message = err instanceof AppError ? err.message : 'internal error';
  if (!(err instanceof AppError)) log('handler error', event, err);
  const payload = { code, message, event, ...(err instanceof AppError ? err.extra : {}) };
  socket.emit('error', payload);
  if (ack) ack({ ok: false, code, message, ...(err instanceof AppError ? err.extra : {}) });
}

async function rateGate(socket, event) {
  const retryAfterMs = await checkRate(socket.data.userId, event);
  if (retryAfterMs > 0) {
    throw new AppError('RATE_LIMIT', `rate limit exceeded for ${event}`, { retryAfterMs });
  }
}

async function join(socket, rooms) {
  const fresh = rooms.filter((r) => !socket.data.counted.has(r));
  if (!(await reserveSubscriptions(socket, fresh))) {
    throw new AppError('SUBSCRIPTION_LIMIT', `subscription limit of ${cfg.maxSubscriptions} reached`);
  }
  if (!socket.connected) {
    await releaseSubscriptions(socket, fresh);
    return;
  }
  for (const r of fresh) socket.data.counted.add(r);
  socket.join(rooms);
}

async function leave(socket, rooms) {
  const held = rooms.filter((r) => socket.data.counted.has(r));
  for (const r of held) {
    socket.data.counted.delete(r);
    socket.leave(r);
  }
  await releaseSubscriptions(socket, held);
}

// Handlers run one at a time per socket, in arrival order (events are async because of Redis).
function serial(socket, fn) {
  return (...raw) => {
    socket.data.queue = socket.data.queue.then(() => fn(...raw)).catch((e) => log('queue', e));
  };
}

function roomHandler(socket, event, confirm, room, op) {
  socket.on(event, serial(socket, async (...raw) => {
    const { ack } = splitArgs(raw);
    try {
      await rateGate(socket, event);
      await op(socket, [room]);
      const data = { room, timestamp: nowIso() };
      socket.emit(confirm, data);
      if (ack) ack({ ok: true, ...data });
    } catch (err) {
      refuse(socket, event, ack, err);
    }
  }));
}

function watchlistHandler(socket, event, confirm, op) {
  socket.on(event, serial(socket, async (...raw) => {
    const { args, ack } = splitArgs(raw);
    try {
      await rateGate(socket, event);
      const symbols = parseSymbols(args[0]);
      await op(socket, symbols.map((s) => `watchlist:${s}`));
      const data = { symbols, timestamp: nowIso() };
      socket.emit(confirm, data);
      if (ack) ack({ ok: true, ...data });
    } catch (err) {
      refuse(socket, event, ack, err);
    }
  }));
}

// ---------------------------------------------------------------- server
const activeConnections = new Map(); // userId -> Set of socket ids (seed)
let shuttingDown = false;
let io;

function handleConnection(socket) {
  const { userId, userName } = socket.handshake.auth || {};
  log(`WebSocket connected: ${socket.id} (User: ${userName || userId})`);
  socket.data.counted = new Set();
  socket.data.queue = Promise.resolve();

  if (userId) {
    if (!activeConnections.has(userId)) activeConnections.set(userId, new Set());
    activeConnections.get(userId).add(socket.id);
    socket.join(`user:${userId}`);
  }

  socket.emit('connected', {
    socketId: socket.id,
    userId,
    timestamp: nowIso(),
    message: 'WebSocket connection established',
  });

  roomHandler(socket, 'subscribe:portfolio', 'subscribed:portfolio', `portfolio:${userId}`, join);
  roomHandler(socket, 'unsubscribe:portfolio', 'unsubscribed:portfolio', `portfolio:${userId}`, leave);
  roomHandler(socket, 'subscribe:trades', 'subscribed:trades', `trades:${userId}`, join);
  roomHandler(socket, 'unsubscribe:trades', 'unsubscribed:trades', `trades:${userId}`, leave);
  watchlistHandler(socket, 'subscribe:watchlist', 'subscribed:watchlist', join);
  watchlistHandler(socket, 'unsubscribe:watchlist', 'unsubscribed:watchlist', leave);

  socket.on('ping', (...raw) => {
    const { args, ack } = splitArgs(raw);
    const timestamp = nowIso();
    socket.emit('pong', { timestamp });
    if (ack) {
      const res = { ok: true, timestamp };
      if (typeof args[0] === 'string') res.length = args[0].length;
      ack(res);
    }
  });

  socket.on('disconnect', (reason) => {
    log(`WebSocket disconnected: ${socket.id} (Reason: ${reason})`);
    if (userId) {
      const connections = activeConnections.get(userId);
      if (connections) {
        connections.delete(socket.id);
        if (connections.size === 0) activeConnections.delete(userId);
      }
    }
    const held = [...socket.data.counted];
    socket.data.counted.clear();
    socket.data.queue = socket.data.queue
      .then(async () => {
        // pairs reserved by handlers still running when the socket left
        const late = [...socket.data.counted];
        socket.data.counted.clear();
        await releaseSubscriptions(socket, [...held, ...late]);
      })
      .catch((e) => log('release', e));
  });
}

function getStats() {
  let total = 0;
  for (const s of activeConnections.values()) total += s.size;
  return {
    initialized: !shuttingDown,
    totalConnections: total,
    uniqueUsers: activeConnections.size,
    redisAdapter: Boolean(redisClient),
    uptime: Math.floor((Date.now() - startedAt) / 1000),
  };
}

// ---------------------------------------------------------------- /internal/emit
const RESERVED = new Set(['connect', 'connect_error', 'disconnect', 'disconnecting', 'newListener', 'removeListener']);

function validateItem(item) {
  if (item === null || typeof item !== 'object' || Array.isArray(item)) return 'item must be an object';
  if (typeof item.event !== 'string' || item.event === '') return 'event must be a non-empty string';
  if (RESERVED.has(item.event)) return `reserved event name: ${item.event}`;
  if (item.userId !== undefined && item.room !== undefined) return 'userId and room are exclusive';
  if (item.userId !== undefined && !((typeof item.userId === 'string' && item.userId !== '') || Number.isFinite(item.userId))) {
    return 'userId must be a non-empty string or a number';
  }
  if (item.room !== undefined && (typeof item.room !== 'string' || item.room === '')) return 'room must be a non-empty string';
  return null;
}

function emitRouter() {
  const router = express.Router();
  router.post('/internal/emit', (req, res, next) => {
    if (!cfg.emitToken) return res.status(404).json({ ok: false, code: 'NOT_FOUND', message: 'emit endpoint disabled' });
    const h = req.get('authorization') || '';
    const m = /^Bearer (.+)$/.exec(h);
    const a = Buffer.from(m ? m[1] : '');
    const b = Buffer.from(cfg.emitToken);
    if (!m || a.length !== b.length || !crypto.timingSafeEqual(a, b)) {
      return res.status(401).json({ ok: false, code: 'UNAUTHORIZED', message: 'missing or wrong token' });
    }
    return next();
  }, express.json({ limit: '1mb', strict: false, type: () => true }), (req, res) => {
    const items = Array.isArray(req.body) ? req.body : [req.body];
    for (let i = 0; i < items.length; i += 1) {
      const problem = validateItem(items[i]);
      if (problem) return res.status(400).json({ ok: false, code: 'INVALID_PAYLOAD', message: `item ${i}: ${problem}` });
    }
    for (const it of items) {
      let target = io;
      if (it.userId !== undefined) target = io.to(`user:${it.userId}`);
      else if (it.room !== undefined) target = io.to(it.room);
      if ('data' in it) target.emit(it.event, it.data);
      else target.emit(it.event);
    }
    return res.json({ ok: true, emitted: items.length });
  });
  // body-parser errors: 400 bad JSON, 413 too large
  router.use((err, req, res, next) => {
    if (!err) return next();
    const status = err.status === 413 ? 413 : 400;
    return res.status(status).json({ ok: false, code: status === 413 ? 'PAYLOAD_TOO_LARGE' : 'INVALID_JSON', message: err.message });
  });
  return router;
}

async function main() {
  await openStores();
  const app = express();
  app.get('/health/websocket', (req, res) => {
    const stats = getStats();
    res.json({
      status: stats.initialized ? 'healthy' : 'unhealthy',
      stats: {
        totalConnections: stats.totalConnections,
        uniqueUsers: stats.uniqueUsers,
        redisAdapter: stats.redisAdapter,
        uptime: stats.uptime,
      },
    });
  });
  app.use(emitRouter());

  const httpServer = http.createServer(app);
  io = new Server(httpServer, {
    cors: { origin: cfg.corsOrigin, methods: ['GET', 'POST'], credentials: true },
    pingInterval: cfg.pingInterval,
    pingTimeout: cfg.pingTimeout,
    maxHttpBufferSize: cfg.maxHttpBufferSize,
    perMessageDeflate: { threshold: cfg.deflateThreshold },
  });
  if (redisClient) {
    const { createAdapter } = require('@socket.io/redis-adapter');
    redisSub = redisClient.duplicate();
    redisSub.on('error', (e) => log('redis sub error', e.message));
    await redisSub.connect();
    io.adapter(createAdapter(redisClient, redisSub));
  }
  io.use(authenticateWebSocket);
  io.on('connection', handleConnection);

  const leaseTimer = setInterval(() => renewLeases().catch((e) => log('lease', e.message)), SUB_LEASE_MS / 3);
  leaseTimer.unref();

  await new Promise((resolve) => httpServer.listen(cfg.port, cfg.host, resolve));
  const addr = httpServer.address();
  console.log(`listening addr=${addr.address}:${addr.port}`);

  const shutdown = async (signal) => {
    if (shuttingDown) return;
    shuttingDown = true;
    log(`Shutting down WebSocket server (${signal})...`);
    io.local.emit('server:shutdown', {
      message: 'Server is shutting down for maintenance',
      timestamp: nowIso(),
    });
    await new Promise((r) => setTimeout(r, cfg.shutdownGraceMs));
    const sockets = [...io.of('/').sockets.values()];
    for (const s of sockets) s.disconnect(true);
    // release this instance's subscription pairs before the Redis client goes away
    try {
      for (const s of sockets) await s.data.queue;
    } catch { /* logged by the queue */ }
    const bounded = (p) => Promise.race([p, new Promise((r) => setTimeout(r, 1000).unref())]).catch(() => {});
    await bounded(new Promise((r) => io.close(() => r())));
    if (redisSub) await bounded(redisSub.quit());
    if (redisClient) await bounded(redisClient.quit());
    if (mongoClient) await bounded(mongoClient.close());
    process.exit(0);
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((e) => {
  console.error('startup failed:', e);
  process.exit(1);
});
