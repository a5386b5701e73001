'use strict';
// Start and stop the servers under test for the client-level suite.
//
//   targets()                      -> ['node', 'go'] from env TARGET (go|node|both, default both)
//   startRedis()                   -> { url, port, stop() }: env REDIS_URL if set, else Debian's
//                                     redis-server on a free loopback port (no persistence)
//   startServer(target, { env, port }) -> Server: the reference (node) or GO_SERVER_BIN (go) on a
//                                     free loopback port, resolved once /health/websocket answers
//   suiteEnv(redisUrl, extra)      -> the env every client-suite server gets (SESSION_STORE=redis…)
//   login(redisUrl, user, opts)    -> { sid, signed, cookie, cookieHeader } via the shared session
//                                     fixture (compat-tests/sessions), else a local fallback
//
// Server: { target, port, url, proc, output(), stop() -> exit code (SIGTERM), kill(signal),
//           waitExit(ms) -> code|signal, restart() (same port, same env), health() }.
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const http = require('node:http');

const ROOT = path.resolve(__dirname, '..', '..'); // repo root
const COMPAT = path.resolve(__dirname, '..');
const REFERENCE = path.join(COMPAT, 'reference', 'server.js');

const SECRET = 'compat-secret';
const EMIT_TOKEN = 'compat-emit-token';
const SESSION_PREFIX = 'sess:';

function targets() {
  const t = (process.env.TARGET || 'both').toLowerCase();
  if (t === 'both') return ['node', 'go'];
  if (t === 'node' || t === 'go') return [t];
  throw new Error(`TARGET must be go, node or both, not ${t}`);
}

function goBinary() {
  return process.env.GO_SERVER_BIN || path.join(ROOT, 'bin', 'server');
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

const delay = (ms) => new Promise((r) => setTimeout(r, ms));

// STARTUP_MS bounds how long a server may take to answer /health/websocket after its spawn. It is
// not a property under test: on a loaded 2-core machine the reference alone spends 2-5 s loading
// its modules, and a few servers start at once.
const STARTUP_MS = 30000;

function httpGet(url, timeout = 1000) {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false, timeout }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString() }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

function exitPromise(proc) {
  return new Promise((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) resolve(proc.exitCode ?? proc.signalCode);
    else proc.once('exit', (code, signal) => resolve(code ?? signal));
  });
}

class Server {
  constructor(target, env, port) {
    this.target = target;
    this.env = env;
    this.port = port;
    this.url = `http://127.0.0.1:${port}`;
    this.proc = null;
    this.log = [];
  }

  output() {
    return this.log.join('');
  }

  async start(timeoutMs = STARTUP_MS) {
    let cmd;
    let args;
    if (this.target === 'node') {
      cmd = process.execPath;
      args = [REFERENCE];
    } else if (this.target === 'go') {
      cmd = goBinary();
      args = [];
      if (!fs.existsSync(cmd)) {
        throw new Error(`TARGET includes go but the Go server binary ${cmd} does not exist: build it (make build) or set GO_SERVER_BIN`);
      }
    } else {
      throw new Error(`unknown target ${this.target}`);
    }
    const env = { ...process.env, ...this.env, PORT: String(this.port), HOST: '127.0.0.1' };
    this.proc = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const proc = this.proc;
    const keep = (d) => {
      this.log.push(d.toString());
      if (this.log.length > 500) this.log.shift();
    };
    proc.stdout.on('data', keep);
    proc.stderr.on('data', keep);
    this.exited = exitPromise(proc);
    const deadline = Date.now() + timeoutMs;
    let lastErr = null;
    while (Date.now() < deadline) {
      if (proc.exitCode !== null || proc.signalCode !== null) {
        throw new Error(`${this.target} server exited during startup (${proc.exitCode ?? proc.signalCode}):\n${this.output()}`);
      }
      try {
        const res = await this.health(1000);
        if (res.status === 200) return this;
        lastErr = new Error(`health status ${res.status}`);
      } catch (e) {
        lastErr = e;
      }
      await delay(50);
    }
    proc.kill('SIGKILL');
    throw new Error(`${this.target} server did not answer /health/websocket within ${timeoutMs} ms (${lastErr && lastErr.message}):\n${this.output()}`);
  }

  // health GETs /health/websocket; timeoutMs bounds the answer (the start loop retries with 1 s).
  async health(timeoutMs = 5000) {
    const res = await httpGet(`${this.url}/health/websocket`, timeoutMs);
    let json = null;
    try { json = JSON.parse(res.body); } catch { /* not JSON */ }
    return { status: res.status, headers: res.headers, body: res.body, json };
  }

  // waitExit resolves the exit code (or the signal name), rejecting after ms.
  async waitExit(ms = 10000) {
    let t;
    const timeout = new Promise((_, reject) => { t = setTimeout(() => reject(new Error(`${this.target} server did not exit within ${ms} ms`)), ms); });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(t);
    }
  }

  // stop sends SIGTERM and resolves the exit code (SIGKILL after ms as a last resort, then throws).
  async stop(ms = 10000) {
    if (!this.proc || this.proc.exitCode !== null || this.proc.signalCode !== null) return this.proc && (this.proc.exitCode ?? this.proc.signalCode);
    this.proc.kill('SIGTERM');
    try {
      return await this.waitExit(ms);
    } catch (e) {
      this.proc.kill('SIGKILL');
      await this.exited;
      throw e;
    }
  }

  kill(signal = 'SIGKILL') {
    if (this.proc && this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill(signal);
  }

  async restart() {
    this.kill('SIGKILL');
    if (this.exited) await this.exited;
    return this.start();
  }
}

async function startServer(target, { env = {}, port } = {}) {
  const p = port || await freePort();
  const srv = new Server(target, env, p);
  await srv.start();
  return srv;
}

async function startRedis() {
  if (process.env.REDIS_URL) return { url: process.env.REDIS_URL, stop: async () => {} };
  const port = await freePort();
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = exitPromise(proc);
  const deadline = Date.now() + 5000;
  for (;;) {
    const ok = await new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => { s.end(); resolve(true); });
      s.on('error', () => resolve(false));
    });
    if (ok) break;
    if (proc.exitCode !== null || Date.now() > deadline) throw new Error('redis-server did not start');
    await delay(20);
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    stop: async () => {
      if (proc.exitCode === null) proc.kill('SIGTERM');
      await exited;
    },
  };
}

// suiteEnv: the configuration every client-suite server runs with.
function suiteEnv(redisUrl, extra = {}) {
  return {
    SESSION_STORE: 'redis',
    REDIS_URL: redisUrl,
    SESSION_REDIS_PREFIX: SESSION_PREFIX,
    SESSION_SECRET: SECRET,
    EMIT_TOKEN,
    SHUTDOWN_GRACE_MS: '300',
    LOG_LEVEL: process.env.LOG_LEVEL || 'warn',
    ...extra,
  };
}

// ---------------------------------------------------------------- sessions
// The shared fixture (compat-tests/sessions/index.js) when it exists; otherwise a minimal
// express-session + connect-redis login writing the same layout.
let shared;
function sharedSessions() {
  if (shared !== undefined) return shared;
  try {
    shared = require(path.join(COMPAT, 'sessions'));
  } catch (e) {
    if (e.code !== 'MODULE_NOT_FOUND' || !String(e.message).includes(path.join(COMPAT, 'sessions'))) throw e;
    shared = null;
  }
  return shared;
}

const redisClients = new Map();
async function redisClient(url) {
  if (!redisClients.has(url)) {
    const { createClient } = require('redis');
    const c = createClient({ url });
    c.on('error', () => {});
    redisClients.set(url, c.connect().then(() => c));
  }
  return redisClients.get(url);
}

async function closeClients() {
  const all = [...redisClients.values()];
  redisClients.clear();
  for (const p of all) {
    try { (await p).destroy(); } catch { /* gone */ }
  }
  if (shared && typeof shared.close === 'function') await shared.close();
}

async function fallbackLogin({ redisUrl, prefix, secret, user, userName, userRole, maxAgeMs }) {
  const session = require('express-session');
  const signature = require('cookie-signature');
  const { RedisStore } = require('connect-redis');
  const crypto = require('node:crypto');
  const client = await redisClient(redisUrl);
  const store = new RedisStore({ client, prefix });
  const sid = crypto.randomBytes(18).toString('base64url');
  const c = new session.Cookie({ maxAge: maxAgeMs, httpOnly: true, path: '/' });
  const sess = { cookie: c.toJSON(), passport: { user } };
  if (userName !== undefined) sess.userName = userName;
  if (userRole !== undefined) sess.userRole = userRole;
  await store.set(sid, sess);
  const signed = `s:${signature.sign(sid, secret)}`;
  return { sid, signed, cookie: `connect.sid=${encodeURIComponent(signed)}` };
}

// login creates a session for user in the suite's Redis session store.
async function login(redisUrl, user, opts = {}) {
  const args = {
    store: 'redis',
    redisUrl,
    prefix: SESSION_PREFIX,
    secret: SECRET,
    user,
    userName: opts.userName,
    userRole: opts.userRole,
    maxAgeMs: opts.maxAgeMs || 3600000,
  };
  const fixture = sharedSessions();
  const res = fixture && typeof fixture.login === 'function' ? await fixture.login(args) : await fallbackLogin(args);
  // cookie may be a full Set-Cookie value; cookieHeader is what a browser sends back
  return { ...res, cookieHeader: res.cookie.split(';')[0] };
}

// logout destroys a session created by login (shared fixture only; the fallback deletes the key).
async function logout(redisUrl, session) {
  const fixture = sharedSessions();
  const args = { store: 'redis', redisUrl, prefix: SESSION_PREFIX, secret: SECRET, sid: session.sid, signed: session.signed };
  if (fixture && typeof fixture.logout === 'function') return fixture.logout(args);
  const client = await redisClient(redisUrl);
  return { destroyed: (await client.del(SESSION_PREFIX + session.sid)) === 1 };
}

let seq = 0;
// uniqueUser gives a fresh user id per call so rate and subscription budgets never collide.
function uniqueUser(tag = 'u') {
  seq += 1;
  return `${tag}-${process.pid}-${Date.now().toString(36)}-${seq}`;
}

// describeTargets registers `body(ctx)` once per target inside describe('<title> [target]').
// ctx.server / ctx.url / ctx.redis are set in before(); ctx.user(opts) logs a fresh user in and
// returns { userId, session, auth } (auth = { sessionID: signed, userId }).
// opts.concurrency: run the tests of one target concurrently (they must not share users/rooms).
// opts.perTest: no shared server; tests start their own with ctx.start(env).
function describeTargets(title, { env = {}, perTest = false, concurrency = false } = {}, body) {
  const { describe, before, after } = require('node:test');
  for (const target of targets()) {
    describe(`${title} [${target}]`, { concurrency }, () => {
      const ctx = { target, servers: [] };
      ctx.start = async (extraEnv = {}) => {
        const srv = await startServer(target, { env: suiteEnv(ctx.redis.url, { ...env, ...extraEnv }) });
        ctx.servers.push(srv);
        return srv;
      };
      ctx.user = async ({ userId, userName, userRole, maxAgeMs } = {}) => {
        const id = userId === undefined ? uniqueUser(target) : userId;
        const session = await login(ctx.redis.url, id, { userName, userRole, maxAgeMs });
        return { userId: id, session, auth: { sessionID: session.signed, userId: id } };
      };
      before(async () => {
        ctx.redis = await startRedis();
        if (!perTest) {
          ctx.server = await ctx.start();
          ctx.url = ctx.server.url;
        }
      });
      after(async () => {
        for (const srv of ctx.servers) {
          try { await srv.stop(); } catch { srv.kill('SIGKILL'); }
        }
        await closeClients();
        if (ctx.redis) await ctx.redis.stop();
      });
      body(ctx);
    });
  }
}

module.exports = {
  describeTargets,
  targets, startServer, startRedis, suiteEnv, login, logout, uniqueUser, closeClients, freePort, httpGet, delay, STARTUP_MS,
  SECRET, EMIT_TOKEN, SESSION_PREFIX, Server,
};
