'use strict';
// Session re-check (Go server only): with SESSION_RECHECK_MS=500, a logout through the real
// Express app ends every socket of that session with `error` {code: 'UNAUTHORIZED'} and a
// server disconnect within the interval plus a margin; other users stay connected.
const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { targets, startServer, startRedis, suiteEnv, login, logout, uniqueUser, closeClients } = require('../../lib/servers');
const { connect, waitFor, expectNone, ack } = require('../../lib/client');

const RECHECK_MS = 500;
const MARGIN_MS = 1000;

for (const target of targets()) {
  const skip = target === 'node' ? 'the seed checks sessions only at connect' : false;
  describe(`client: session re-check [${target}]`, { skip }, () => {
    const ctx = { sockets: [] };
    before(async () => {
      ctx.redis = await startRedis();
      ctx.server = await startServer(target, { env: suiteEnv(ctx.redis.url, { SESSION_RECHECK_MS: String(RECHECK_MS) }) });
    });
    after(async () => {
      for (const s of ctx.sockets) s.close();
      if (ctx.server) await ctx.server.stop().catch(() => ctx.server.kill());
      await closeClients();
      if (ctx.redis) await ctx.redis.stop();
    });

    const open = async (auth, transports) => {
      const { socket } = await connect(ctx.server.url, { auth, transports });
      ctx.sockets.push(socket);
      return socket;
    };

    test('logout ends both sockets of the user; another user stays', async () => {
      const userId = uniqueUser('rc');
      const session = await login(ctx.redis.url, userId);
      const auth = { sessionID: session.signed, userId };
      const a = await open(auth, ['websocket']);
      const b = await open(auth, ['polling']);
      const otherId = uniqueUser('rc');
      const otherSession = await login(ctx.redis.url, otherId);
      const other = await open({ sessionID: otherSession.signed, userId: otherId }, ['websocket']);

      // Alive sessions survive a few re-check rounds.
      await expectNone(a, 'disconnect', RECHECK_MS * 3);
      assert.equal(a.connected && b.connected, true);

      const events = [a, b].map((s) => {
        const seen = [];
        s.on('error', (e) => seen.push(['error', e]));
        s.on('disconnect', (reason) => seen.push(['disconnect', reason]));
        return seen;
      });
      const ended = [a, b].map((s) => waitFor(s, 'disconnect', RECHECK_MS + MARGIN_MS + 2000));
      const otherGone = expectNone(other, 'disconnect', RECHECK_MS * 2 + MARGIN_MS);
      const otherError = expectNone(other, 'error', RECHECK_MS * 2 + MARGIN_MS);
      const t0 = Date.now();
      const out = await logout(ctx.redis.url, session);
      assert.equal(out.destroyed, true);
      const reasons = await Promise.all(ended);
      const took = Date.now() - t0;
      for (const [reason] of reasons) assert.equal(reason, 'io server disconnect');
      assert.ok(took <= RECHECK_MS + MARGIN_MS, `disconnected ${took} ms after the logout (interval ${RECHECK_MS} ms + ${MARGIN_MS} ms margin)`);
      for (const seen of events) {
        assert.equal(seen.length, 2, JSON.stringify(seen));
        assert.equal(seen[0][0], 'error');
        assert.deepEqual(Object.keys(seen[0][1]).sort(), ['code', 'message']);
        assert.equal(seen[0][1].code, 'UNAUTHORIZED');
        assert.deepEqual(seen[1], ['disconnect', 'io server disconnect']);
      }
      await otherGone;
      await otherError;
      assert.equal(other.connected, true);
      assert.equal((await ack(other, 'ping', 'x')).ok, true);
    });
  });
}
