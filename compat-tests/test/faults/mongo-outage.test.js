'use strict';
// Fault: the MongoDB session store (FerretDB) stops answering (SIGSTOP, then SIGCONT) or dies
// (SIGKILL, then a restart on the same port and data dir) while users are connected with
// SESSION_STORE=mongo and receive a stream.
const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { targets, startServer, uniqueUser, delay, SECRET, EMIT_TOKEN } = require('../../lib/servers');
const { connect, connectError, ack } = require('../../lib/client');
const { startFerretDB, startStream, track, maxGap, serverGap, watchLoop, closeAll, pct } = require('../../lib/faults');
const sessions = require('../../sessions');

const DB = 'faults';
const AUTH_TIMEOUT_MS = 2000;
const MARGIN_MS = 1500;
const OUTAGE_MS = 3500;
const RATE = 20;

for (const target of targets()) {
  describe(`faults: MongoDB session store down [${target}]`, () => {
    const ctx = {};
    before(async () => {
      ctx.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faults-ferret-'));
      ctx.ferret = await startFerretDB({ dir: ctx.dir });
      ctx.server = await startServer(target, {
        env: {
          SESSION_STORE: 'mongo', MONGODB_URI: ctx.ferret.url, MONGODB_DB: DB, REDIS_URL: '',
          SESSION_SECRET: SECRET, EMIT_TOKEN, SHUTDOWN_GRACE_MS: '300', LOG_LEVEL: process.env.LOG_LEVEL || 'warn',
          // re-check sessions every second, so the checks run against the dead store too
          SESSION_RECHECK_MS: '1000',
        },
      });
      ctx.login = async () => {
        const userId = uniqueUser(`mgo${target}`);
        const s = await sessions.login({ store: 'mongo', mongoUrl: ctx.ferret.url, dbName: DB, secret: SECRET, user: userId });
        return { sessionID: s.signed, userId };
      };
      ctx.sym = `M${Date.now().toString(36).toUpperCase().slice(-6)}`;
      const users = [await ctx.login(), await ctx.login(), await ctx.login()];
      ctx.fresh = await ctx.login(); // connects only during and after the outage
      ctx.sockets = [];
      for (const auth of users) {
        for (let i = 0; i < 2; i++) {
          const { socket } = await connect(ctx.server.url, { auth, transports: ['websocket'] });
          ctx.sockets.push(socket);
          assert.equal((await ack(socket, 'subscribe:watchlist', { symbols: [ctx.sym] })).ok, true);
        }
      }
      ctx.disconnects = [];
      for (const s of ctx.sockets) s.on('disconnect', (r) => ctx.disconnects.push(r));
      ctx.arrivals = ctx.sockets.map((s) => track(s, 'quote:update', (d) => d.quote.seq));
      ctx.loop = watchLoop();
      ctx.stream = startStream(ctx.server.url, {
        rate: RATE,
        make: (seq) => ({ room: `watchlist:${ctx.sym}`, event: 'quote:update', data: { symbol: ctx.sym, quote: { price: seq, seq } } }),
      });
    });
    after(async () => {
      if (ctx.loop) ctx.loop.stop();
      if (ctx.stream) await ctx.stream.stop();
      closeAll(ctx.sockets || []);
      if (ctx.server) await ctx.server.stop().catch(() => ctx.server.kill());
      if (ctx.ferret) await ctx.ferret.stop();
      if (ctx.dir) fs.rmSync(ctx.dir, { recursive: true, force: true });
    });

    const outage = (mode) => async (t) => {
      const { server, ferret } = ctx;
      // control: a new connection works before the fault
      const c0 = Date.now();
      (await connect(server.url, { auth: ctx.fresh, transports: ['websocket'] })).socket.close();
      const okBefore = Date.now() - c0;

      const tFault = Date.now();
      ferret.kill(mode === 'SIGSTOP' ? 'SIGSTOP' : 'SIGKILL');
      if (mode === 'SIGKILL') await ferret.exited;
      const refused = [];
      for (let i = 0; i < 2; i++) {
        const t0 = Date.now();
        const err = await connectError(server.url, { auth: ctx.fresh, transports: ['websocket'] }, 8000);
        refused.push({ ms: Date.now() - t0, message: err.message, code: err.data && err.data.code });
      }
      await delay(Math.max(0, tFault + OUTAGE_MS - Date.now())); // the rest of the outage
      const tRestore = Date.now();
      if (mode === 'SIGSTOP') ferret.kill('SIGCONT');
      else await ferret.start();
      // connects work again: retry until one succeeds
      let attempts = 0;
      let recovered = null;
      let lastErr = null;
      while (Date.now() - tRestore < 15000) {
        attempts += 1;
        try {
          (await connect(server.url, { auth: ctx.fresh, transports: ['websocket'] }, 8000)).socket.close();
          recovered = Date.now() - tRestore;
          break;
        } catch (e) {
          lastErr = e;
          await delay(100);
        }
      }
      const tAfter = Date.now();
      await delay(500); // a few more stream messages after the restore
      // the stream's gaps as this process saw them, and the part the server is to blame for
      const rawGaps = ctx.arrivals.map((arr) => maxGap(arr.map((e) => e.t), tFault, tAfter)).sort((x, y) => x - y);
      const worst = ctx.arrivals.map((arr) => serverGap(arr, ctx.stream.sent, tFault, tAfter, ctx.loop)).sort((x, y) => x.ms - y.ms);
      const gaps = worst.map((g) => g.ms);
      const stalled = ctx.loop.longest(tFault, tAfter);
      const during = ctx.arrivals.map((arr) => arr.filter((e) => e.t > tFault && e.t < tRestore).length).sort((x, y) => x - y);
      const health = await server.health();

      t.diagnostic(`${mode}: connect before the fault ${okBefore} ms; during the outage: ${refused.map((r) => `${r.message}/${r.code} after ${r.ms} ms`).join(', ')}`);
      t.diagnostic(`${mode}: store down ${tRestore - tFault} ms; connected clients (${ctx.sockets.length}) got min/max ${during[0]}/${during[during.length - 1]} messages meanwhile (stream ${RATE}/s), longest gap seen min/p50/max ${rawGaps[0]}/${pct(rawGaps, 50)}/${rawGaps[rawGaps.length - 1]} ms; disconnects ${JSON.stringify(ctx.disconnects)}`);
      t.diagnostic(`${mode}: longest wait for a message already written to the server, less this process's own stalls (longest ${stalled} ms), min/p50/max ${gaps[0]}/${pct(gaps, 50)}/${gaps[gaps.length - 1]} ms (worst ${worst[worst.length - 1].raw} ms before subtracting, ending ${worst[worst.length - 1].at - tFault} ms after the fault)`);
      t.diagnostic(`${mode}: connects work again ${recovered === null ? 'NEVER (15 s)' : `${recovered} ms`} after ${mode === 'SIGSTOP' ? 'SIGCONT' : 'the restart'} (${attempts} attempt(s)${lastErr ? `, last refusal ${lastErr.message}` : ''}); health ${health.json && health.json.status}`);

      for (const r of refused) {
        assert.equal(r.message, 'AUTHENTICATION_FAILED');
        assert.equal(r.code, 'AUTHENTICATION_FAILED');
        assert.ok(r.ms <= AUTH_TIMEOUT_MS + MARGIN_MS, `connect_error after ${r.ms} ms (auth timeout ${AUTH_TIMEOUT_MS} ms + ${MARGIN_MS} ms margin)`);
      }
      assert.deepEqual(ctx.disconnects, [], 'connected users were disconnected while the store was down');
      assert.ok(gaps[gaps.length - 1] <= 1000, `a connected client waited ${gaps[gaps.length - 1]} ms for a message already written to the server (observer stalls subtracted)`);
      assert.notEqual(recovered, null, `connects did not work again within 15 s (last: ${lastErr && lastErr.message})`);
      assert.equal(server.proc.exitCode, null);
      assert.equal(health.json && health.json.status, 'healthy');
    };

    test('SIGSTOP: AUTHENTICATION_FAILED within the auth timeout, streams continue, connects work after SIGCONT', { timeout: 60000 }, outage('SIGSTOP'));
    test('SIGKILL: AUTHENTICATION_FAILED within the auth timeout, streams continue, connects work after a restart (same port, same data)', { timeout: 60000 }, outage('SIGKILL'));
  });
}
