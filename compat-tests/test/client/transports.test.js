'use strict';
// Transports, the `connected` payload, health JSON, ordering, large and binary payloads.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { describeTargets } = require('../../lib/servers');
const { waitUntil } = require('../../lib/faults');
const { connect, waitFor, collect, ack } = require('../../lib/client');

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

describeTargets('client: transports and payloads', {}, (ctx) => {
  const cases = [
    { name: "['websocket','polling'] (the seed's hook)", transports: ['websocket', 'polling'], want: 'websocket' },
    { name: "['polling']", transports: ['polling'], want: 'polling' },
    { name: "['websocket']", transports: ['websocket'], want: 'websocket' },
    { name: 'default (polling, then upgrade)', transports: undefined, want: 'upgrade' },
  ];
  for (const c of cases) {
    test(`connects with ${c.name}; connected payload has exactly socketId,userId,timestamp,message`, async () => {
      const u = await ctx.user();
      const opts = { auth: u.auth };
      if (c.transports) opts.transports = c.transports;
      let upgraded = null;
      const { socket, connected } = await connect(ctx.url, opts);
      try {
        assert.deepEqual(Object.keys(connected), ['socketId', 'userId', 'timestamp', 'message']);
        assert.equal(connected.socketId, socket.id);
        assert.equal(connected.userId, u.userId);
        assert.match(connected.timestamp, ISO);
        assert.equal(connected.message, 'WebSocket connection established');
        const engine = socket.io.engine;
        if (c.want === 'upgrade') {
          if (engine.transport.name !== 'websocket') {
            upgraded = waitFor(engine, 'upgrade', 3000);
            const [transport] = await upgraded;
            assert.equal(transport.name, 'websocket');
          }
          assert.equal(engine.transport.name, 'websocket');
        } else {
          assert.equal(engine.transport.name, c.want);
        }
        // the connection is usable on the final transport
        const res = await ack(socket, 'ping', 'abc');
        assert.equal(res.ok, true);
        assert.equal(res.length, 3);
      } finally {
        socket.close();
      }
    });
  }

  test('GET /health/websocket has the seed shape and counts connections and users', async () => {
    // the earlier cases closed their sockets just before: wait until the server has seen those
    // disconnects, or one of them can leave between `before` and `during` and spoil the delta
    await waitUntil(async () => (await ctx.server.health()).json.stats.totalConnections === 0, 5000, 'the earlier cases\' connections to be gone');
    const before = await ctx.server.health();
    assert.equal(before.status, 200);
    assert.deepEqual(Object.keys(before.json), ['status', 'stats']);
    assert.equal(before.json.status, 'healthy');
    assert.deepEqual(Object.keys(before.json.stats), ['totalConnections', 'uniqueUsers', 'redisAdapter', 'uptime']);
    assert.equal(typeof before.json.stats.totalConnections, 'number');
    assert.equal(typeof before.json.stats.uniqueUsers, 'number');
    assert.equal(before.json.stats.redisAdapter, true);
    assert.ok(Number.isInteger(before.json.stats.uptime) && before.json.stats.uptime >= 0, `uptime ${before.json.stats.uptime}`);
    assert.match(before.headers['content-type'], /^application\/json/);

    const a = await ctx.user();
    const b = await ctx.user();
    const s1 = await connect(ctx.url, { auth: a.auth, transports: ['websocket'] });
    const s2 = await connect(ctx.url, { auth: a.auth, transports: ['polling'] });
    const s3 = await connect(ctx.url, { auth: b.auth, transports: ['websocket'] });
    try {
      const during = await ctx.server.health();
      assert.equal(during.json.stats.totalConnections - before.json.stats.totalConnections, 3);
      assert.equal(during.json.stats.uniqueUsers - before.json.stats.uniqueUsers, 2);
    } finally {
      for (const s of [s1, s2, s3]) s.socket.close();
    }
  });

  for (const transports of [['websocket'], ['polling']]) {
    test(`500 events from one client are handled in order (${transports})`, async () => {
      const u = await ctx.user();
      const { socket } = await connect(ctx.url, { auth: u.auth, transports });
      try {
        const pongs = collect(socket, 'pong');
        const order = [];
        const acks = [];
        for (let i = 0; i < 500; i += 1) {
          acks.push(ack(socket, 'ping', 'x'.repeat(i)).then((r) => { order.push(r.length); }));
        }
        await Promise.all(acks);
        assert.deepEqual(order, Array.from({ length: 500 }, (_, i) => i));
        await pongs.until(500, 5000);
        for (const p of pongs.items) assert.deepEqual(Object.keys(p), ['timestamp']);
      } finally {
        socket.close();
      }
    });
  }

  test('a 200 KiB payload over polling arrives intact (ack length in UTF-16 code units)', async () => {
    const u = await ctx.user();
    const { socket } = await connect(ctx.url, { auth: u.auth, transports: ['polling'] });
    try {
      const unit = 'a\u{1F600}\u00e9x'; // 1 + 2 + 1 + 1 UTF-16 units, 1 + 4 + 2 + 1 = 8 UTF-8 bytes
      const reps = (200 * 1024) / 8;
      const payload = unit.repeat(reps);
      assert.equal(Buffer.byteLength(payload), 200 * 1024);
      const res = await ack(socket, 'ping', payload);
      assert.deepEqual(Object.keys(res).sort(), ['length', 'ok', 'timestamp']);
      assert.equal(res.ok, true);
      assert.equal(res.length, payload.length);
      assert.equal(res.length, 5 * reps);
    } finally {
      socket.close();
    }
  });

  for (const transports of [['websocket'], ['polling']]) {
    test(`binary both ways (${transports}): binary ping is acked without length; a binary emit reaches the client`, async () => {
      const u = await ctx.user();
      const { socket } = await connect(ctx.url, { auth: u.auth, transports });
      const { createClient } = require('redis');
      const { Emitter } = require('@socket.io/redis-emitter');
      const redis = createClient({ url: ctx.redis.url });
      await redis.connect();
      try {
        const bytes = Buffer.from([0, 1, 2, 250, 255, 0x1e, 0x0a]);
        const res = await ack(socket, 'ping', bytes, { nested: bytes });
        assert.equal(res.ok, true);
        assert.equal('length' in res, false, 'length is only for string payloads');
        assert.match(res.timestamp, ISO);

        // server -> client binary: a producer through the Redis adapter (redis-emitter)
        const got = waitFor(socket, 'chart:data', 3000);
        new Emitter(redis).to(`user:${u.userId}`).emit('chart:data', { symbol: 'AAPL', bars: bytes }, bytes);
        const [obj, raw] = await got;
        assert.equal(obj.symbol, 'AAPL');
        assert.ok(Buffer.isBuffer(obj.bars), 'nested attachment is a Buffer');
        assert.deepEqual([...obj.bars], [...bytes]);
        assert.deepEqual([...raw], [...bytes]);
      } finally {
        socket.close();
        await redis.close();
      }
    });
  }
});
