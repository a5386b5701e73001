'use strict';
// Heartbeat: the server sends "2" every pingInterval (300 ms); no "3" within pingTimeout (200 ms)
// closes the session; afterwards polls get 400. Timing-sensitive: every case runs 20 times.
const { it } = require('node:test');
const assert = require('node:assert/strict');
const { forEachTarget } = require('../../lib/fixtures');
const R = require('../../lib/raw');

const RUNS = 20;
const PING_INTERVAL = 300;
const PING_TIMEOUT = 200;
// Scheduling slack on a shared 2-core machine: early by at most 30 ms, late by at most 350 ms.
const EARLY = 30;
const LATE = 350;

function assertAbout(actual, expected, what) {
  assert.ok(actual >= expected - EARLY && actual <= expected + LATE,
    `${what}: ${actual} ms, expected ${expected} ms (-${EARLY}/+${LATE})`);
}

forEachTarget('heartbeat', (fx) => {
  it(`polling: "2" every pingInterval, pong keeps the session, no pong -> pending poll "1", then 400 (x${RUNS})`, async () => {
    const base = fx().eio;
    await R.repeat(RUNS, 60000, async () => {
      const t0 = Date.now();
      const { sid } = await R.eioHandshake(base);
      let res = await R.eioPoll(base, sid);
      const t1 = Date.now();
      assert.equal(res.status, 200);
      assert.equal(res.body, '2');
      assertAbout(t1 - t0, PING_INTERVAL, 'first ping');
      res = await R.eioPush(base, sid, '3');
      assert.equal(res.status, 200);
      assert.equal(res.body, 'ok');
      res = await R.eioPoll(base, sid);
      const t2 = Date.now();
      assert.equal(res.status, 200);
      assert.equal(res.body, '2');
      assertAbout(t2 - t1, PING_INTERVAL, 'second ping');
      // no pong: the pending poll is answered with a close packet when pingTimeout expires
      res = await R.eioPoll(base, sid);
      const t3 = Date.now();
      assert.equal(res.status, 200);
      assert.equal(res.body, '1');
      assertAbout(t3 - t2, PING_TIMEOUT, 'ping timeout');
      res = await R.eioPoll(base, sid);
      assert.equal(res.status, 400);
      assert.equal(res.body, '{"code":1,"message":"Session ID unknown"}');
    });
  });

  it(`polling: with no poll and no pong, the session is alive before the ping and gone after pingInterval+pingTimeout (x${RUNS}, concurrent)`, async () => {
    const base = fx().eio;
    await Promise.all(Array.from({ length: RUNS }, async (_, i) => {
      const { sid } = await R.eioHandshake(base);
      let res = await R.eioPush(base, sid, '6');
      assert.equal(res.status, 200, `session ${i} alive before the first ping`);
      // the assertion is "gone by then": nothing to wait for on the wire
      await R.sleep(PING_INTERVAL + PING_TIMEOUT + LATE);
      res = await R.eioPoll(base, sid);
      assert.equal(res.status, 400, `session ${i}`);
      assert.equal(res.body, '{"code":1,"message":"Session ID unknown"}');
    }));
  });

  it(`websocket: "2" every pingInterval, pong keeps it open, no pong -> closed (x${RUNS})`, async () => {
    const base = fx().eio;
    await R.repeat(RUNS, 60000, async () => {
      const c = await R.wsOpen(base);
      try {
        const t0 = Date.now();
        await c.waitFor((d) => typeof d === 'string' && d[0] === '0', 1000, 'open');
        await c.waitFor((d) => d === '2', PING_INTERVAL + LATE, 'ping 1');
        const t1 = Date.now();
        assertAbout(t1 - t0, PING_INTERVAL, 'first ping');
        c.send('3');
        await c.waitFor((d) => d === '2', PING_INTERVAL + LATE, 'ping 2');
        const t2 = Date.now();
        assertAbout(t2 - t1, PING_INTERVAL, 'second ping');
        await c.waitClose(PING_TIMEOUT + LATE);
        assertAbout(Date.now() - t2, PING_TIMEOUT, 'ping timeout');
        assert.deepEqual(c.pending(), [], 'nothing but pings before the close');
      } finally { c.close(); }
    });
  });

  it('websocket: a message received while waiting for the pong extends the timeout once (engine.io 6.6)', async () => {
    const base = fx().eio;
    const c = await R.wsHandshake(base);
    try {
      await c.waitFor((d) => d === '2', PING_INTERVAL + LATE, 'ping');
      const tPing = Date.now();
      await R.sleep(120);
      c.send('4keepalive');
      await c.waitFor((d) => d === '4keepalive', 500, 'echo');
      await c.waitClose(1000);
      const delay = Date.now() - tPing;
      assert.ok(delay >= 120 + PING_TIMEOUT - EARLY, `closed ${delay} ms after the ping, expected >= ${120 + PING_TIMEOUT - EARLY}`);
    } finally { c.close(); }
  });
});
