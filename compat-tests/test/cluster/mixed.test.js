'use strict';
// A Node socket.io 4.8 server with @socket.io/redis-adapter 8.3 and a Go
// instance (adapter/internal/clusterfixture) on one Redis and prefix, plus
// @socket.io/redis-emitter 5.1: every emit crosses intact both ways.
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
const { createAdapter } = require('@socket.io/redis-adapter');
const { Emitter } = require('@socket.io/redis-emitter');
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

function connect(port, rooms) {
  const s = ioc(`http://127.0.0.1:${port}`, { transports: ['websocket'], auth: { rooms }, reconnection: false });
  return once(s, 'connect').then(() => s);
}

test.describe('mixed Node/Go cluster over @socket.io/redis-adapter', () => {
  let redis, goProc, goPort, nodePort, io, httpServer, pub, sub, emitterClient, dir;
  const clients = [];
  let goOutput = '';

  test.before(async () => {
    redis = await startRedis();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clusterfixture-'));
    const bin = path.join(dir, 'clusterfixture');
    execFileSync('go', ['build', '-o', bin, './adapter/internal/clusterfixture'], { cwd: ROOT, stdio: 'inherit' });
    goPort = await freePort();
    goProc = spawn(bin, [], { env: { ...process.env, PORT: String(goPort), REDIS_URL: redis.url } });
    goProc.stderr.on('data', (d) => { goOutput += d; });
    goProc.stdout.on('data', (d) => { goOutput += d; });
    for (let i = 0; ; i++) {
      try { if ((await httpGet(`http://127.0.0.1:${goPort}/health/websocket`)).status === 200) break; } catch {}
      if (i > 100) throw new Error(`Go fixture did not start: ${goOutput}`);
      await delay(50);
    }
    pub = createClient({ url: redis.url });
    sub = pub.duplicate();
    emitterClient = pub.duplicate();
    await Promise.all([pub.connect(), sub.connect(), emitterClient.connect()]);
    httpServer = http.createServer();
    io = new Server(httpServer, { adapter: createAdapter(pub, sub) });
    io.on('connection', (s) => { if (s.handshake.auth.rooms) s.join(s.handshake.auth.rooms); });
    nodePort = await freePort();
    await new Promise((r) => httpServer.listen(nodePort, '127.0.0.1', r));
    for (let i = 0; (await io.of('/').adapter.serverCount()) < 2; i++) {
      if (i > 100) throw new Error('Go instance never subscribed');
      await delay(50);
    }
  });

  test.after(async () => {
    clients.forEach((c) => c.disconnect());
    if (io) await new Promise((r) => io.close(r));
    for (const c of [pub, sub, emitterClient]) { try { await c?.quit(); } catch {} }
    if (goProc) { goProc.kill('SIGKILL'); }
    if (redis) await redis.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const track = async (p) => { const s = await p; clients.push(s); return s; };

  test.it('Node emits reach Go clients: all, room, except, binary', async () => {
    const goA = await track(connect(goPort, ['a', 'vip']));
    const goB = await track(connect(goPort, ['b']));
    const nodeA = await track(connect(nodePort, ['a']));
    const cases = [
      ['all', () => io.emit('all', { z: 1, a: [1.5, null, 'é'] }), [true, true, true]],
      ['room', () => io.to('a').emit('room', 1), [true, false, true]],
      ['rooms', () => io.to(['a', 'b']).emit('rooms'), [true, true, true]],
      ['except', () => io.except('vip').emit('except'), [false, true, true]],
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
    const nodeA = await track(connect(nodePort, ['ga', 'gvip']));
    const nodeB = await track(connect(nodePort, ['gb']));
    const goA = await track(connect(goPort, ['ga']));
    const cases = [
      ['g-all', {}, [true, true, true]],
      ['g-room', { rooms: ['ga'] }, [true, false, true]],
      ['g-rooms', { rooms: ['ga', 'gb'] }, [true, true, true]],
      ['g-except', { except: ['gvip'] }, [false, true, true]],
    ];
    for (const [name, sel, want] of cases) {
      const waits = [nodeA, nodeB, goA].map((s) => eventsUntil(s, 'g-sentinel'));
      assert.strictEqual((await post(goPort, '/emit', { ...sel, event: name, args: [{ k: 'v', n: 2 }] })).status, 200);
      await post(goPort, '/emit', { event: 'g-sentinel' });
      const got = await Promise.all(waits);
      assert.deepStrictEqual(got.map((g) => g.includes(name)), want, `${name}: ${JSON.stringify(got)}`);
    }
    const b = once(nodeA, 'g-bin');
    await post(goPort, '/emit', { rooms: ['ga'], event: 'g-bin', args: [{ x: 1 }], binary: 'hey' });
    const [obj, buf] = await b;
    assert.deepStrictEqual(obj, { x: 1 });
    assert.strictEqual(Buffer.from(buf).toString(), 'hey');
  });

  test.it('broadcast with ack from Node collects Go clients answers', async () => {
    const goC = await track(connect(goPort, ['acks']));
    const nodeC = await track(connect(nodePort, ['acks']));
    goC.on('question', (n, cb) => cb({ from: 'go', n }));
    nodeC.on('question', (n, cb) => cb({ from: 'node', n }));
    const answers = await io.to('acks').timeout(3000).emitWithAck('question', 7);
    assert.deepStrictEqual(answers.map((a) => a.from).sort(), ['go', 'node']);
  });

  test.it('fetchSockets sees both sides', async () => {
    const goC = await track(connect(goPort, ['fetch']));
    const nodeC = await track(connect(nodePort, ['fetch']));
    const fromNode = await io.in('fetch').fetchSockets();
    const goSock = fromNode.find((s) => s.id === goC.id);
    assert.ok(goSock, `Go socket missing: ${fromNode.map((s) => s.id)}`);
    assert.ok(goSock.rooms.has('fetch'));
    assert.deepStrictEqual(goSock.handshake.auth, { rooms: ['fetch'] });
    assert.strictEqual(goSock.handshake.query.EIO, '4');
    assert.strictEqual(fromNode.length, 2);
    const fromGo = await post(goPort, '/fetch', { rooms: ['fetch'] });
    assert.strictEqual(fromGo.status, 200, JSON.stringify(fromGo.body));
    const nodeSock = fromGo.body.find((s) => s.id === nodeC.id);
    assert.ok(nodeSock, JSON.stringify(fromGo.body));
    assert.ok(nodeSock.rooms.includes('fetch'));
    assert.deepStrictEqual(nodeSock.handshake.auth, { rooms: ['fetch'] });
  });

  test.it('serverSideEmit both ways', async () => {
    const answers = await io.serverSideEmitWithAck('ping', 'from-node', 5);
    assert.deepStrictEqual(answers, [{ from: 'go', args: ['from-node', 5] }]);
    const got = new Promise((resolve) => io.once('hello', (...args) => resolve(args)));
    await post(goPort, '/serverSideEmit', { event: 'hello', args: ['from-go', { n: 1 }] });
    assert.deepStrictEqual(await got, ['from-go', { n: 1 }]);
    io.once('hello', (a, cb) => cb({ node: a }));
    const res = await post(goPort, '/serverSideEmit?ack=1', { event: 'hello', args: ['q'] });
    assert.strictEqual(res.status, 200, JSON.stringify(res.body));
    assert.deepStrictEqual(res.body, [{ node: 'q' }]);
  });

  test.it('@socket.io/redis-emitter reaches Go clients (room and all)', async () => {
    const goC = await track(connect(goPort, ['em']));
    const goOther = await track(connect(goPort, []));
    const emitter = new Emitter(emitterClient);
    const waits = [goC, goOther].map((s) => eventsUntil(s, 'em-sentinel'));
    emitter.to('em').emit('em-room', { a: 1 });
    emitter.emit('em-all', 'x');
    emitter.emit('em-sentinel');
    const [got, other] = await Promise.all(waits);
    assert.deepStrictEqual(got, ['em-room', 'em-all']);
    assert.deepStrictEqual(other, ['em-all']);
  });

  test.it('the Go instance is still alive', async () => {
    assert.strictEqual(goProc.exitCode, null, goOutput);
    assert.ok(!/panic/.test(goOutput), goOutput);
  });
});
