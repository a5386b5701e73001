'use strict';
// Graceful shutdown, restarts with the seed's restoreSubscriptions, disconnect reasons, the
// emit endpoint switched off, and a session store that is down. Each test starts its own server.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { describeTargets, EMIT_TOKEN, startRedis, startServer, suiteEnv, delay, STARTUP_MS } = require('../../lib/servers');
const { connect, connectError, waitFor, within, postEmit, ack, SeedClient } = require('../../lib/client');

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
// Once a restarted server answers /health/websocket, the seed's pending reconnection attempt
// fires within reconnectionDelayMax (each randomized delay is capped there); CONNECT_MS is for
// that attempt's own handshake, auth and `connected` (and the re-subscriptions) on a loaded machine.
const CONNECT_MS = 5000;
const RECONNECT_MS = SeedClient.RECONNECTION_DELAY_MAX + CONNECT_MS;
// waitFor's own timer only guards against a wait that outlives the test: the real bound is
// RECONNECT_MS from the moment the server is healthy again.
const RESTART_GUARD_MS = STARTUP_MS + RECONNECT_MS;

describeTargets('client: lifecycle', { perTest: true, concurrency: 3 }, (ctx) => {
  test('SIGTERM: server:shutdown to every client, unhealthy during the grace period, then io server disconnect, exit 0', async () => {
    const srv = await ctx.start({ SHUTDOWN_GRACE_MS: '1000' });
    const u = await ctx.user();
    const v = await ctx.user();
    const clients = [
      (await connect(srv.url, { auth: u.auth, transports: ['websocket'] })).socket,
      (await connect(srv.url, { auth: u.auth, transports: ['polling'] })).socket,
      (await connect(srv.url, { auth: v.auth })).socket, // default: polling + upgrade
    ];
    try {
      const events = clients.map((s) => {
        const order = [];
        s.on('server:shutdown', () => order.push('server:shutdown'));
        s.on('disconnect', (reason) => order.push(`disconnect:${reason}`));
        return { order, shutdown: waitFor(s, 'server:shutdown', 3000), disconnect: waitFor(s, 'disconnect', 5000) };
      });
      // health is asked as soon as the first client has server:shutdown (the server is shutting
      // down from then on), not after all three: under load the last one can arrive late enough
      // for the grace period to be over
      const duringGrace = Promise.race(events.map((e) => e.shutdown)).then(() => srv.health());
      duringGrace.catch(() => {}); // awaited below
      const t0 = Date.now();
      srv.kill('SIGTERM');
      for (const e of events) {
        const [data] = await e.shutdown;
        assert.deepEqual(Object.keys(data), ['message', 'timestamp']);
        assert.equal(typeof data.message, 'string');
        assert.match(data.timestamp, ISO);
      }
      const h = await duringGrace;
      assert.equal(h.json && h.json.status, 'unhealthy', `health during grace: ${h.status} ${h.body}`);
      const names = ['websocket', 'polling', 'polling + upgrade'];
      for (const [i, e] of events.entries()) {
        const [reason] = await e.disconnect;
        assert.equal(reason, 'io server disconnect', `the ${names[i]} client's disconnect reason`);
        assert.deepEqual(e.order, ['server:shutdown', 'disconnect:io server disconnect'], `the ${names[i]} client's events`);
      }
      assert.ok(Date.now() - t0 >= 900, `disconnected after ${Date.now() - t0} ms, grace is 1000 ms`);
      assert.equal(await srv.waitExit(5000), 0);
    } finally {
      for (const s of clients) s.close();
    }
  });

  test('transport close when the server is SIGKILLed; the seed hook reconnects after a restart, restores subscriptions, updates flow', async () => {
    const srv = await ctx.start();
    const u = await ctx.user();
    const seed = new SeedClient(srv.url, { sessionID: u.session.signed, userId: u.userId });
    try {
      await waitFor(seed.socket, 'connected', 5000);
      assert.equal(seed.socket.io.engine.transport.name, 'websocket');
      const sym = `RS${Date.now().toString(36).toUpperCase().slice(-6)}`;
      const subs = ['subscribed:portfolio', 'subscribed:trades', 'subscribed:watchlist'].map((e) => waitFor(seed.socket, e));
      seed.subscribe('portfolio');
      seed.subscribe('trades');
      seed.subscribe('watchlist', [sym]);
      await Promise.all(subs);

      const reason = waitFor(seed.socket, 'disconnect', 5000);
      srv.kill('SIGKILL');
      assert.equal((await reason)[0], 'transport close');
      assert.equal(await srv.waitExit(5000), 'SIGKILL');

      const restored = Promise.all(['connected', 'subscribed:portfolio', 'subscribed:trades', 'subscribed:watchlist'].map((e) => waitFor(seed.socket, e, RESTART_GUARD_MS)));
      restored.catch(() => {}); // awaited below, after the restart
      await srv.start();
      await within(restored, RECONNECT_MS, `the reconnect and the restored subscriptions (${RECONNECT_MS} ms after the restarted server was healthy)`);
      assert.equal(seed.reconnects, 1);

      const updates = [
        ['portfolio:update', { room: `portfolio:${u.userId}`, data: { userId: u.userId, portfolio: { value: 1, dayPL: 2 } } }],
        ['trade:executed', { room: `trades:${u.userId}`, data: { userId: u.userId, trade: { id: 'x' } } }],
        ['quote:update', { room: `watchlist:${sym}`, data: { symbol: sym, quote: { price: 3, change: 0 } } }],
      ];
      for (const [event, { room, data }] of updates) {
        const got = waitFor(seed.socket, event);
        const res = await postEmit(srv.url, { room, event, data }, { token: EMIT_TOKEN });
        assert.equal(res.status, 200);
        assert.deepEqual((await got)[0], data);
      }
    } finally {
      seed.close();
    }
  });

  test("after a SIGTERM restart the seed's manual reconnect (io server disconnect) connects again", async () => {
    const srv = await ctx.start({ SHUTDOWN_GRACE_MS: '100' });
    const u = await ctx.user();
    const seed = new SeedClient(srv.url, { sessionID: u.session.signed, userId: u.userId });
    try {
      await waitFor(seed.socket, 'connected', 5000);
      const reason = waitFor(seed.socket, 'disconnect', 5000);
      assert.equal(await srv.stop(), 0);
      assert.equal((await reason)[0], 'io server disconnect');
      const again = waitFor(seed.socket, 'connected', RESTART_GUARD_MS);
      again.catch(() => {}); // awaited below, after the restart
      await srv.start();
      const [data] = await within(again, RECONNECT_MS, `"connected" (${RECONNECT_MS} ms after the restarted server was healthy)`);
      assert.equal(data.userId, u.userId);
      const res = await ack(seed.socket, 'ping', 'ok');
      assert.equal(res.length, 2);
    } finally {
      seed.close();
    }
  });

  test('ping timeout when the server stops answering (SIGSTOP), short ping settings', async () => {
    const srv = await ctx.start({ PING_INTERVAL_MS: '200', PING_TIMEOUT_MS: '200' });
    const u = await ctx.user();
    const { socket } = await connect(srv.url, { auth: u.auth, transports: ['websocket'] });
    try {
      // the heartbeat works while the server runs
      await waitFor(socket.io.engine, 'ping', 2000);
      const reason = waitFor(socket, 'disconnect', 5000);
      srv.kill('SIGSTOP');
      try {
        assert.equal((await reason)[0], 'ping timeout');
      } finally {
        srv.kill('SIGCONT');
      }
    } finally {
      socket.close();
    }
  });

  test('the emit endpoint answers 404 when no EMIT_TOKEN is configured', async () => {
    const srv = await ctx.start({ EMIT_TOKEN: '' });
    const res = await postEmit(srv.url, { event: 'x', data: 1 }, { token: EMIT_TOKEN });
    assert.equal(res.status, 404);
    const res2 = await postEmit(srv.url, { event: 'x', data: 1 });
    assert.equal(res2.status, 404);
  });

  test('AUTHENTICATION_FAILED when the session store is down', async () => {
    const redis = await startRedis();
    if (process.env.REDIS_URL) return; // cannot stop a shared Redis
    // stopped on every path: a leaked redis-server child keeps this test file's process alive,
    // and `node --test` then waits for it forever
    try {
      const srv = await startServer(ctx.target, { env: suiteEnv(redis.url) });
      ctx.servers.push(srv);
      const u = await (async () => {
        const { login } = require('../../lib/servers');
        const session = await login(redis.url, `down-${Date.now()}`);
        return { auth: { sessionID: session.signed, userId: `down-${Date.now()}` }, session };
      })();
      await redis.stop();
      const t0 = Date.now();
      const err = await connectError(srv.url, { auth: { sessionID: u.session.signed, userId: 'whoever' }, transports: ['websocket'] }, 8000);
      assert.equal(err.message, 'AUTHENTICATION_FAILED');
      assert.equal(err.data && err.data.code, 'AUTHENTICATION_FAILED');
      assert.ok(Date.now() - t0 < 5000, `answered after ${Date.now() - t0} ms`);
      await delay(0);
    } finally {
      await redis.stop();
    }
  });
});
