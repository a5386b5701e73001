'use strict';
// Fault: a client that stops reading (raw WebSocket, socket paused) while the producer floods its
// room. The server must drop it once its pending output passes MAX_BUFFERED_BYTES, keep its own
// memory bounded, and keep serving a normal client in the same room.
const { describe, test, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const WebSocket = require('ws');
const { spawn } = require('node:child_process');
const path = require('node:path');
const { targets, startServer, startRedis, suiteEnv, login, closeClients, uniqueUser, delay } = require('../../lib/servers');
const { postEmit } = require('../../lib/client');
const { rssKb, waitUntil } = require('../../lib/faults');
const { EMIT_TOKEN } = require('../../lib/servers');

const BOUND = 65536;
const ITEM = 16 * 1024; // bytes of incompressible text per message
const PER_POST = 1; // a request's output is a quarter of the bound: the writer of a client that
// reads may lag a few requests behind (2 cores shared) without being taken for a slow client
const FLOOD_LIMIT = 64 * 1024 * 1024; // give up (fail) if the slow client is still connected after this
const AFTER = 4 * 1024 * 1024; // flooded after the slow client is gone
const RSS_GROWTH_LIMIT_KB = 48 * 1024;

// rawClient opens an Engine.IO/Socket.IO session over a bare WebSocket, authenticates, answers pings,
// and resolves once `connected` arrived.
function rawClient(url, auth) {
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/socket.io/?EIO=4&transport=websocket`, { perMessageDeflate: false });
  const state = { ws, frames: 0, bytes: 0, closed: null, acks: new Map() };
  ws.on('close', (code) => { state.closed = { code, at: Date.now() }; });
  state.ready = new Promise((resolve, reject) => {
    ws.on('error', reject);
    ws.on('message', (data) => {
      const text = data.toString();
      state.frames += 1;
      state.bytes += data.length;
      if (text[0] === '0') ws.send(`40${JSON.stringify(auth)}`);
      else if (text === '2') ws.send('3');
      else if (text.startsWith('42["connected"')) resolve(state);
      else if (text.startsWith('44')) reject(new Error(`refused: ${text}`));
      else if (text.startsWith('43')) {
        const m = /^43(\d+)(.*)$/.exec(text);
        const cb = m && state.acks.get(Number(m[1]));
        if (cb) cb(JSON.parse(m[2])[0]);
      }
    });
  });
  let id = 0;
  state.ack = (event, payload) => new Promise((resolve, reject) => {
    id += 1;
    const t = setTimeout(() => reject(new Error(`no ack for ${event}`)), 3000);
    state.acks.set(id, (v) => { clearTimeout(t); resolve(v); });
    ws.send(`42${id}${JSON.stringify([event, payload])}`);
  });
  return state;
}

// The normal client runs in its own process, so the flood loop here never keeps it from reading.
const READER = `
const { io } = require('socket.io-client');
const { URL_, AUTH, SYM } = process.env;
const socket = io(URL_, { auth: JSON.parse(AUTH), transports: ['websocket'], reconnection: false, forceNew: true });
let got = 0; let bytes = 0; const disconnects = [];
const report = () => process.send({ got, bytes, disconnects });
socket.on('quote:update', (d) => { got += 1; bytes += d.quote.blob.length; report(); });
socket.on('disconnect', (r) => { disconnects.push(r); report(); });
socket.on('connect_error', (e) => { process.send({ error: e.message }); });
socket.once('connected', () => socket.emit('subscribe:watchlist', { symbols: [SYM] }, (res) => process.send({ ready: res })));
setInterval(report, 50);
process.on('disconnect', () => process.exit(0));
`;

function startReader(url, auth, sym) {
  const child = spawn(process.execPath, ['-e', READER], {
    cwd: path.resolve(__dirname, '..', '..'), env: { ...process.env, URL_: url, AUTH: JSON.stringify(auth), SYM: sym }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const state = { child, got: 0, bytes: 0, disconnects: [] };
  state.ready = new Promise((resolve, reject) => {
    child.on('message', (m) => {
      if (m.ready) resolve(m.ready);
      if (m.error) reject(new Error(m.error));
      if (m.got !== undefined) Object.assign(state, m);
    });
    child.on('exit', (code) => reject(new Error(`reader exited ${code}`)));
  });
  state.stop = () => { if (child.exitCode === null) child.kill(); };
  return state;
}

for (const target of targets()) {
  describe(`faults: slow client that stops reading [${target}]`, () => {
    const skip = target === 'node' ? 'Node socket.io has no bound on a WebSocket\'s pending output (MAX_BUFFERED_BYTES is a Go-server setting): the reference buffers without limit' : false;
    const cleanup = [];
    after(async () => {
      for (const fn of cleanup.reverse()) {
        try { await fn(); } catch { /* best effort */ }
      }
      await closeClients();
    });

    test(`dropped past MAX_BUFFERED_BYTES=${BOUND}, RSS bounded, a normal client keeps receiving`, { timeout: 90000, skip }, async (t) => {
      const redis = await startRedis();
      cleanup.push(() => redis.stop());
      // long heartbeat: the paused client must be dropped for its backlog, not for a missed pong
      const srv = await startServer(target, {
        env: suiteEnv(redis.url, { MAX_BUFFERED_BYTES: String(BOUND), PING_INTERVAL_MS: '120000', PING_TIMEOUT_MS: '120000' }),
      });
      cleanup.push(() => srv.stop().catch(() => srv.kill()));
      const sym = `S${Date.now().toString(36).toUpperCase().slice(-6)}`;
      const mk = async () => {
        const userId = uniqueUser(`slow${target}`);
        const s = await login(redis.url, userId);
        return { sessionID: s.signed, userId };
      };
      const slow = rawClient(srv.url, await mk());
      cleanup.push(() => slow.ws.terminate());
      await slow.ready;
      assert.equal((await slow.ack('subscribe:watchlist', { symbols: [sym] })).ok, true);
      const normal = startReader(srv.url, await mk(), sym);
      cleanup.push(() => normal.stop());
      assert.equal((await normal.ready).ok, true);
      assert.equal((await srv.health()).json.stats.totalConnections, 2);

      const pid = srv.proc.pid;
      const rssBefore = rssKb(pid);
      let rssPeak = rssBefore;
      slow.ws._socket.pause(); // stop reading: the kernel buffers fill, then the server's queue
      const slowFramesAtPause = slow.frames;

      let sentMsgs = 0;
      let sentBytes = 0;
      let seq = 0;
      // the flood waits for the normal reader to be at most WINDOW messages behind before each
      // POST, so a reader that keeps up has at most WINDOW + 1 messages outstanding. They must fit
      // in the bound even if none has left the server's own queue yet (its writer can be
      // descheduled on a loaded machine too): with WINDOW 6 (7 x 16 KiB outstanding) the normal
      // reader was once dropped as well. So only a client that does not read can push its queue
      // past the bound.
      const WINDOW = Math.floor(BOUND / (ITEM + 1024)) - 1; // 1 KiB for the packet's framing
      const flood = async () => {
        if (sentMsgs - normal.got > WINDOW) {
          await waitUntil(() => sentMsgs - normal.got <= WINDOW || normal.disconnects.length, 20000, 'the normal reader to catch up');
        }
        const items = [];
        for (let i = 0; i < PER_POST; i++) {
          seq += 1;
          items.push({ room: `watchlist:${sym}`, event: 'quote:update', data: { symbol: sym, quote: { seq, blob: crypto.randomBytes(ITEM * 0.75).toString('base64') } } });
        }
        const res = await postEmit(srv.url, items, { token: EMIT_TOKEN });
        assert.equal(res.status, 200, res.body);
        sentMsgs += PER_POST;
        sentBytes += PER_POST * ITEM;
        if (seq % 8 === 0) rssPeak = Math.max(rssPeak, rssKb(pid));
      };
      const tFlood = Date.now();
      let droppedAt = null;
      let bytesAtDrop = null;
      while (sentBytes < FLOOD_LIMIT) {
        await flood();
        if (seq % 8 === 0 && (await srv.health()).json.stats.totalConnections < 2) {
          droppedAt = Date.now() - tFlood;
          bytesAtDrop = sentBytes;
          break;
        }
      }
      // keep flooding after the drop: the server and the normal client carry on
      const target2 = sentBytes + AFTER;
      while (droppedAt !== null && sentBytes < target2) await flood();
      const rssAfterFlood = rssKb(pid);
      await waitUntil(() => normal.got >= sentMsgs, 20000, `the normal client to get all ${sentMsgs} messages`).catch(() => {});
      const rssEnd = rssKb(pid);

      // the paused client reads again: it finds what the kernel held, then the connection's end
      slow.ws._socket.resume();
      await waitUntil(() => slow.closed, 10000, 'the slow client to see its connection closed').catch(() => {});
      const slowGot = slow.frames - slowFramesAtPause;

      t.diagnostic(`flood: ${sentMsgs} messages of ${ITEM} B (${(sentBytes / 1048576).toFixed(1)} MiB) in ${Date.now() - tFlood} ms, ${PER_POST} per POST`);
      t.diagnostic(`slow client dropped ${droppedAt === null ? 'NEVER' : `after ${droppedAt} ms, ${(bytesAtDrop / 1048576).toFixed(1)} MiB flooded`} (bound ${BOUND} B of server-side queue; the rest sat in kernel socket buffers); it received ${slowGot} frames after pausing, then close ${slow.closed ? `code ${slow.closed.code}` : 'NOT seen'}`);
      t.diagnostic(`server VmRSS before ${rssBefore} kB, peak ${rssPeak} kB (+${rssPeak - rssBefore} kB), after the flood ${rssAfterFlood} kB, at the end ${rssEnd} kB`);
      t.diagnostic(`normal client: ${normal.got}/${sentMsgs} messages (${(normal.bytes / 1048576).toFixed(1)} MiB of payload), disconnects ${JSON.stringify(normal.disconnects)}`);

      assert.notEqual(droppedAt, null, `the slow client was still connected after ${FLOOD_LIMIT} bytes`);
      assert.ok(slow.closed, 'the slow client\'s connection was not closed');
      assert.ok(slowGot < sentMsgs, 'the slow client got everything: it was not slow');
      assert.ok(rssPeak - rssBefore <= RSS_GROWTH_LIMIT_KB, `server RSS grew by ${rssPeak - rssBefore} kB (limit ${RSS_GROWTH_LIMIT_KB} kB)`);
      assert.deepEqual(normal.disconnects, []);
      assert.equal(normal.got, sentMsgs, 'the normal client missed messages');
      assert.equal((await srv.health()).json.stats.totalConnections, 1);
      await delay(0);
    });
  });
}
