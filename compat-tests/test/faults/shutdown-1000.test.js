'use strict';
// Fault: SIGTERM with 1,000 connected WebSocket clients. Everyone is told (server:shutdown), then
// disconnected by the server (io server disconnect), and the process exits 0 in time.
const { describe, test, after } = require('node:test');
const assert = require('node:assert/strict');
const { execSync } = require('node:child_process');
const { targets, startServer, startRedis, suiteEnv, login, closeClients, uniqueUser } = require('../../lib/servers');
const { connectMany, closeAll, waitUntil, pct } = require('../../lib/faults');

const CLIENTS = 1000;
const USERS = 40; // 25 tabs each: auth is per user
const GRACE_MS = 1000;

for (const target of targets()) {
  describe(`faults: SIGTERM with ${CLIENTS} clients [${target}]`, () => {
    const cleanup = [];
    after(async () => {
      for (const fn of cleanup.reverse()) {
        try { await fn(); } catch { /* best effort */ }
      }
      await closeClients();
    });

    test('every client gets server:shutdown then io server disconnect; exit 0 within grace + 5 s', { timeout: 120000 }, async (t) => {
      const fdLimit = Number(execSync('ulimit -n', { shell: '/bin/bash' }).toString().trim()) || Infinity;
      assert.ok(fdLimit >= CLIENTS * 2 + 200, `the fd limit (${fdLimit}) is too low for ${CLIENTS} clients and the server in one shell: raise ulimit -n`);
      const redis = await startRedis();
      cleanup.push(() => redis.stop());
      const srv = await startServer(target, { env: suiteEnv(redis.url, { SHUTDOWN_GRACE_MS: String(GRACE_MS) }) });
      cleanup.push(() => srv.stop().catch(() => srv.kill()));

      const auths = [];
      for (let i = 0; i < USERS; i++) {
        const userId = uniqueUser(`term${target}`);
        const s = await login(redis.url, userId);
        for (let j = 0; j < CLIENTS / USERS; j++) auths.push({ sessionID: s.signed, userId });
      }
      const c0 = Date.now();
      const sockets = await connectMany(srv.url, auths, { concurrency: 50 });
      cleanup.push(() => closeAll(sockets));
      const connectMs = Date.now() - c0;
      const health = await srv.health();
      assert.equal(health.json.stats.totalConnections, CLIENTS);

      const seen = sockets.map((s) => {
        const rec = { events: [], shutdownAt: null, disconnectAt: null, reason: null };
        s.on('server:shutdown', () => { rec.events.push('server:shutdown'); rec.shutdownAt = Date.now(); });
        s.on('disconnect', (reason) => { rec.events.push(`disconnect:${reason}`); rec.disconnectAt = Date.now(); rec.reason = reason; });
        return rec;
      });
      const tTerm = Date.now();
      srv.kill('SIGTERM');
      let code;
      let exitErr = null;
      try {
        code = await srv.waitExit(GRACE_MS + 5000);
      } catch (e) {
        exitErr = e;
      }
      const exitMs = Date.now() - tTerm;
      await waitUntil(() => seen.every((r) => r.disconnectAt), 3000, 'every client to see its disconnect').catch(() => {});

      const shut = seen.filter((r) => r.shutdownAt).map((r) => r.shutdownAt - tTerm).sort((x, y) => x - y);
      const disc = seen.filter((r) => r.disconnectAt).map((r) => r.disconnectAt - tTerm).sort((x, y) => x - y);
      const reasons = {};
      for (const r of seen) reasons[r.reason] = (reasons[r.reason] || 0) + 1;
      const badOrder = seen.filter((r) => r.events.join() !== 'server:shutdown,disconnect:io server disconnect');

      t.diagnostic(`${CLIENTS} websocket clients (${USERS} users) connected in ${connectMs} ms; fd limit ${fdLimit}`);
      t.diagnostic(`server:shutdown received by ${shut.length}/${CLIENTS}, after min/p50/max ${shut[0]}/${pct(shut, 50)}/${shut[shut.length - 1]} ms`);
      t.diagnostic(`disconnect seen by ${disc.length}/${CLIENTS}, after min/p50/max ${disc[0]}/${pct(disc, 50)}/${disc[disc.length - 1]} ms (grace ${GRACE_MS} ms); reasons ${JSON.stringify(reasons)}`);
      t.diagnostic(`process exited ${exitErr ? 'NOT' : `with ${code}`} ${exitMs} ms after SIGTERM (bound ${GRACE_MS + 5000} ms)`);
      if (badOrder.length) t.diagnostic(`first wrong sequence: ${JSON.stringify(badOrder[0].events)} (${badOrder.length} clients)`);

      assert.equal(exitErr, null, exitErr && `${exitErr.message}\n${srv.output().slice(-2000)}`);
      assert.equal(code, 0, srv.output().slice(-2000));
      assert.equal(shut.length, CLIENTS, 'every client got server:shutdown');
      assert.equal(reasons['io server disconnect'], CLIENTS, `disconnect reasons ${JSON.stringify(reasons)}`);
      assert.equal(badOrder.length, 0, 'server:shutdown, then disconnect, once each');
      assert.ok(disc[0] >= GRACE_MS - 100, `disconnected ${disc[0]} ms after SIGTERM, before the ${GRACE_MS} ms grace`);
    });
  });
}
