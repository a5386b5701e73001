'use strict';
// The mixed Node/Go cluster suite, run by mixed.test.js (Node's classic
// createAdapter) and sharded.test.js (createShardedAdapter): a Node
// socket.io 4.8 server with @socket.io/redis-adapter 8.3 and a Go instance
// (adapter/internal/clusterfixture) on one Redis and prefix. Every
// operation crosses intact both ways. Run as a test file itself, it
// defines no tests.
const test = require('node:test');
const assert = require('node:assert');
const { spawn, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const http = require('node:http');
const { Server } = require('socket.io');
const { io: ioc } = require('socket.io-client');
const { createClient } = require('redis');
const { createAdapter, createShardedAdapter } = require('@socket.io/redis-adapter');
const { startRedis, freePort, httpGet, delay } = require('../../lib/servers');

const ROOT = path.resolve(__dirname, '..', '..', '..');

function post(port, p, body) {
  return new Promise((resolve, reject) => {
    const data = JSON.stringify(body);
    const req = http.request({ host: '127.0.0.1', port, path: p, method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, body: JSON.parse(Buffer.concat(chunks).toString() || 'null') }));
    });
    req.on('error', reject);
    req.end(data);
  });
}

function once(socket, event, ms = 5000) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no ${event}`)), ms);
    socket.once(event, (...args) => { clearTimeout(t); resolve(args); });
  });
}

// eventsUntil collects the events a client gets before the sentinel.
function eventsUntil(socket, sentinel, ms = 5000) {
  return new Promise((resolve, reject) => {
    const got = [];
    const t = setTimeout(() => { socket.offAny(fn); reject(new Error(`no ${sentinel}, got ${got}`)); }, ms);
    const fn = (ev) => {
      if (ev === sentinel) { clearTimeout(t); socket.offAny(fn); resolve(got); } else got.push(ev);
    };
    socket.onAny(fn);
  });
}

// connect resolves once the server joined the client's rooms ("joined",
// sent by both servers after their joins).
function connect(port, rooms) {
  const s = ioc(`http://127.0.0.1:${port}`, { transports: ['websocket'], auth: { rooms }, reconnection: false });
  return once(s, 'joined').then(() => s);
}

// until polls cond (async) until it holds.
async function until(what, cond, ms = 5000) {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(20);
  }
}

// clusterSuite defines the suite; opts.sharded selects createShardedAdapter
// and the Go fixture's SHARDED=1; opts.extra(ctx) adds tests.
function clusterSuite(name, opts = {}) {
  test.describe(name, () => {
    const ctx = { clients: [] };
    let redis, goProc, dir, pub, sub;
    let goOutput = '';

    test.before(async () => {
      redis = await startRedis();
      ctx.redis = redis;
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clusterfixture-'));
      const bin = path.join(dir, 'clusterfixture');
      execFileSync('go', ['build', '-o', bin, './adapter/internal/clusterfixture'], { cwd: ROOT, stdio: 'inherit' });
      ctx.goPort = await freePort();
      const env = { ...process.env, PORT: String(ctx.goPort), REDIS_URL: redis.url, SHARDED: opts.sharded ? '1' : '' };
      goProc = spawn(bin, [], { env });
      ctx.goProc = goProc;
      ctx.goOutput = () => goOutput;
      goProc.stderr.on('data', (d) => { goOutput += d; });
      goProc.stdout.on('data', (d) => { goOutput += d; });
      for (let i = 0; ; i++) {
        try { if ((await httpGet(`http://127.0.0.1:${ctx.goPort}/health/websocket`)).status === 200) break; } catch {}
        if (i > 100) throw new Error(`Go fixture did not start: ${goOutput}`);
        await delay(50);
      }
      pub = createClient({ url: redis.url });
      sub = pub.duplicate();
      ctx.pub = pub;
      await Promise.all([pub.connect(), sub.connect()]);
      ctx.httpServer = http.createServer();
      const adapter = opts.sharded ? createShardedAdapter(pub, sub) : createAdapter(pub, sub);
      const io = new Server(ctx.httpServer, { adapter });
      ctx.io = io;
      io.on('connection', (s) => {
        if (s.handshake.auth.rooms) s.join(s.handshake.auth.rooms);
        s.emit('joined');
      });
      ctx.nodePort = await freePort();
      await new Promise((r) => ctx.httpServer.listen(ctx.nodePort, '127.0.0.1', r));
      await until('the Go instance to subscribe', async () => (await io.of('/').adapter.serverCount()) === 2);
    });

    test.after(async () => {
      ctx.clients.forEach((c) => c.disconnect());
      if (ctx.io) await new Promise((r) => ctx.io.close(r));
      for (const c of [pub, sub, ctx.emitterClient]) { try { await c?.quit(); } catch {} }
      if (goProc) { goProc.kill('SIGKILL'); }
      if (redis) await redis.stop();
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    const track = async (p) => { const s = await p; ctx.clients.push(s); return s; };
    // roomsReady waits, in sharded mode, until each room's channel has as
    // many subscribers as instances have members in it (dynamic mode
    // subscribes asynchronously on join); classic mode needs no wait.
    const roomsReady = async (want) => {
      if (!opts.sharded) return;
      await until(`room channels ${JSON.stringify(want)}`, async () => {
        for (const [room, n] of Object.entries(want)) {
          const res = await pub.sendCommand(['PUBSUB', 'SHARDNUMSUB', `socket.io#/#${room}#`]);
          if (Number(res[1]) !== n) return false;
        }
        return true;
      });
    };

    test.it('Node emits reach Go clients: all, room, except, binary', async () => {
      const { io, goPort: gp, nodePort } = ctx;
      const goA = await track(connect(gp, ['a', 'vip']));
      const goB = await track(connect(gp, ['b']));
      const nodeA = await track(connect(nodePort, ['a']));
      await roomsReady({ a: 2, vip: 1, b: 1 });
      const cases = [
        ['all', () => io.emit('all', { z: 1, a: [1.5, null, 'é'] }), [true, true, true]],
        ['room', () => io.to('a').emit('room', 1), [true, false, true]],
        ['rooms', () => io.to(['a', 'b']).emit('rooms'), [true, true, true]],
        ['except', () => io.except('vip').emit('except'), [false, true, true]],
        ['to-socket', () => io.to(goB.id).emit('to-socket'), [false, true, false]],
      ];
      for (const [name, emit, want] of cases) {
        const waits = [goA, goB, nodeA].map((s) => eventsUntil(s, 'sentinel'));
        emit();
        io.emit('sentinel');
        const got = await Promise.all(waits);
        assert.deepStrictEqual(got.map((g) => g.includes(name)), want, `${name}: ${JSON.stringify(got)}`);
      }
      const p = once(goA, 'all');
      io.emit('all', { z: 1, a: [1.5, null, 'é'] });
      assert.deepStrictEqual(JSON.stringify((await p)[0]), '{"z":1,"a":[1.5,null,"é"]}');
      const b = once(goA, 'bin');
      io.to('a').emit('bin', Buffer.from([1, 2, 3]), { inner: Buffer.alloc(0) });
      const [buf, obj] = await b;
      assert.deepStrictEqual([...buf], [1, 2, 3]);
      assert.strictEqual(obj.inner.length, 0);
    });

    test.it('Go emits reach Node clients: all, room, except, binary', async () => {
      const { goPort: gp, nodePort } = ctx;
      const nodeA = await track(connect(nodePort, ['ga', 'gvip']));
      const nodeB = await track(connect(nodePort, ['gb']));
      const goA = await track(connect(gp, ['ga']));
      await roomsReady({ ga: 2, gvip: 1, gb: 1 });
      const cases = [
        ['g-all', {}, [true, true, true]],
        ['g-room', { rooms: ['ga'] }, [true, false, true]],
        ['g-rooms', { rooms: ['ga', 'gb'] }, [true, true, true]],
        ['g-except', { except: ['gvip'] }, [false, true, true]],
        ['g-socket', { rooms: [nodeB.id] }, [false, true, false]],
      ];
      for (const [name, sel, want] of cases) {
        const waits = [nodeA, nodeB, goA].map((s) => eventsUntil(s, 'g-sentinel'));
        assert.strictEqual((await post(gp, '/emit', { ...sel, event: name, args: [{ k: 'v', n: 2 }] })).status, 200);
        await post(gp, '/emit', { event: 'g-sentinel' });
        const got = await Promise.all(waits);
        assert.deepStrictEqual(got.map((g) => g.includes(name)), want, `${name}: ${JSON.stringify(got)}`);
      }
      const b = once(nodeA, 'g-bin');
      await post(gp, '/emit', { rooms: ['ga'], event: 'g-bin', args: [{ x: 1 }], binary: 'hey' });
      const [obj, buf] = await b;
      assert.deepStrictEqual(obj, { x: 1 });
      assert.strictEqual(Buffer.from(buf).toString(), 'hey');
    });

    test.it('broadcast with ack from Node collects Go clients answers', async () => {
      const goC = await track(connect(ctx.goPort, ['acks']));
      const nodeC = await track(connect(ctx.nodePort, ['acks']));
      goC.on('question', (n, cb) => cb({ from: 'go', n }));
      nodeC.on('question', (n, cb) => cb({ from: 'node', n }));
      const answers = await ctx.io.to('acks').timeout(3000).emitWithAck('question', 7);
      assert.deepStrictEqual(answers.map((a) => a.from).sort(), ['go', 'node']);
      assert.deepStrictEqual(answers.map((a) => a.n), [7, 7]);
    });

    test.it('broadcast with ack from Go collects Node clients answers', async () => {
      const goC = await track(connect(ctx.goPort, ['gacks']));
      const nodeC = await track(connect(ctx.nodePort, ['gacks']));
      const nodeOut = await track(connect(ctx.nodePort, []));
      nodeOut.on('g-question', (n, cb) => cb({ from: 'outsider' }));
      goC.on('g-question', (n, cb) => cb({ from: 'go', n }));
      nodeC.on('g-question', (n, cb) => cb({ from: 'node', n }, 'ignored second arg'));
      const res = await post(ctx.goPort, '/emitWithAck', { rooms: ['gacks'], event: 'g-question', args: [8] });
      assert.strictEqual(res.status, 200, JSON.stringify(res.body));
      assert.strictEqual(res.body.error, undefined, JSON.stringify(res.body));
      assert.deepStrictEqual(res.body.answers.sort((x, y) => x.from.localeCompare(y.from)), [{ from: 'go', n: 8 }, { from: 'node', n: 8 }]);
      // A Node client that does not answer: the Go side times out with the answers so far.
      const mute = await track(connect(ctx.nodePort, ['gacks']));
      mute.on('g-question', () => {});
      const slow = await post(ctx.goPort, '/emitWithAck', { rooms: ['gacks'], event: 'g-question', args: [9], timeoutMs: 400 });
      assert.match(slow.body.error, /timed out|timeout/i, JSON.stringify(slow.body));
      assert.strictEqual(slow.body.answers.length, 2, JSON.stringify(slow.body));
    });

    test.it('fetchSockets sees both sides', async () => {
      const { io } = ctx;
      const goC = await track(connect(ctx.goPort, ['fetch']));
      const nodeC = await track(connect(ctx.nodePort, ['fetch']));
      const fromNode = await io.in('fetch').fetchSockets();
      const goSock = fromNode.find((s) => s.id === goC.id);
      assert.ok(goSock, `Go socket missing: ${fromNode.map((s) => s.id)}`);
      assert.ok(goSock.rooms.has('fetch'));
      assert.deepStrictEqual(goSock.handshake.auth, { rooms: ['fetch'] });
      assert.strictEqual(goSock.handshake.query.EIO, '4');
      assert.strictEqual(fromNode.length, 2);
      const fromGo = await post(ctx.goPort, '/fetch', { rooms: ['fetch'] });
      assert.strictEqual(fromGo.status, 200, JSON.stringify(fromGo.body));
      const nodeSock = fromGo.body.find((s) => s.id === nodeC.id);
      assert.ok(nodeSock, JSON.stringify(fromGo.body));
      assert.ok(nodeSock.rooms.includes('fetch'));
      assert.deepStrictEqual(nodeSock.handshake.auth, { rooms: ['fetch'] });
      assert.strictEqual(fromGo.body.length, 2);
    });

    test.it('serverSideEmit both ways', async () => {
      const { io } = ctx;
      const answers = await io.serverSideEmitWithAck('ping', 'from-node', 5);
      assert.deepStrictEqual(answers, [{ from: 'go', args: ['from-node', 5] }]);
      const got = new Promise((resolve) => io.once('hello', (...args) => resolve(args)));
      await post(ctx.goPort, '/serverSideEmit', { event: 'hello', args: ['from-go', { n: 1 }] });
      assert.deepStrictEqual(await got, ['from-go', { n: 1 }]);
      io.once('hello', (a, cb) => cb({ node: a }));
      const res = await post(ctx.goPort, '/serverSideEmit?ack=1', { event: 'hello', args: ['q'] });
      assert.strictEqual(res.status, 200, JSON.stringify(res.body));
      assert.deepStrictEqual(res.body, [{ node: 'q' }]);
    });

    test.it('socketsJoin, socketsLeave, disconnectSockets from Node reach Go sockets', async () => {
      const { io } = ctx;
      const goC = await track(connect(ctx.goPort, ['j-src']));
      const goOther = await track(connect(ctx.goPort, ['j-other']));
      const roomsOf = async (id) => (await io.in(id).fetchSockets())[0]?.rooms ?? new Set();
      io.in('j-src').socketsJoin(['j-dst', 'j-dst2']);
      await until('remote join', async () => (await roomsOf(goC.id)).has('j-dst'));
      assert.ok((await roomsOf(goC.id)).has('j-dst2'));
      assert.ok(!(await roomsOf(goOther.id)).has('j-dst'));
      await roomsReady({ 'j-dst': 1 }); // the Go instance subscribed to the room it now has
      const got = once(goC, 'in-dst');
      io.to('j-dst').emit('in-dst', 1);
      assert.deepStrictEqual(await got, [1]);
      io.in(goC.id).socketsLeave('j-src');
      await until('remote leave', async () => !(await roomsOf(goC.id)).has('j-src'));
      await roomsReady({ 'j-src': 0 }); // and left the channel of the room gone
      const goId = goC.id; // the client forgets it on disconnect
      const bye = once(goC, 'disconnect');
      io.in('j-dst').disconnectSockets();
      assert.strictEqual((await bye)[0], 'io server disconnect');
      assert.ok(goOther.connected);
      await until('the Go socket gone', async () => (await io.in(goId).fetchSockets()).length === 0);
    });

    test.it('socketsJoin, socketsLeave, disconnectSockets from Go reach Node sockets', async () => {
      const { io } = ctx;
      const nodeC = await track(connect(ctx.nodePort, ['k-src']));
      const nodeOther = await track(connect(ctx.nodePort, ['k-other']));
      const local = (id) => io.of('/').sockets.get(id);
      assert.strictEqual((await post(ctx.goPort, '/join', { rooms: ['k-src'], join: ['k-dst'] })).status, 200);
      await until('remote join', () => local(nodeC.id).rooms.has('k-dst'));
      assert.ok(!local(nodeOther.id).rooms.has('k-dst'));
      await roomsReady({ 'k-dst': 1 });
      const got = once(nodeC, 'k-in-dst');
      await post(ctx.goPort, '/emit', { rooms: ['k-dst'], event: 'k-in-dst', args: [2] });
      assert.deepStrictEqual(await got, [2]);
      await post(ctx.goPort, '/leave', { rooms: [nodeC.id], join: ['k-src'] });
      await until('remote leave', () => !local(nodeC.id).rooms.has('k-src'));
      assert.ok(local(nodeC.id).rooms.has('k-dst'));
      const bye = once(nodeC, 'disconnect');
      await post(ctx.goPort, '/disconnect', { rooms: ['k-dst'], close: false });
      assert.strictEqual((await bye)[0], 'io server disconnect');
      assert.ok(nodeOther.connected);
    });

    if (opts.extra) opts.extra(ctx, { track, connect, eventsUntil, once, until, post });

    test.it('both instances are still alive', async () => {
      assert.strictEqual(ctx.goProc.exitCode, null, ctx.goOutput());
      assert.ok(!/panic/.test(ctx.goOutput()), ctx.goOutput());
      assert.strictEqual((await ctx.io.of('/').adapter.serverCount()), 2);
    });
  });
}

module.exports = { clusterSuite };
