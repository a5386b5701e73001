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

// A server interval (ping interval, ping timeout) seen from the client: its end is observed when
// the packet that ends it arrives, and its start is not observable at all. So each bound is taken
// from the client event that cannot bias it toward passing:
// - atLeast: from an event no later than the server's start (e.g. the pong was sent before the
//   server received it, and the ping interval starts there); a late delivery of the end only
//   lengthens the figure, so only EARLY slack is needed.
// - atMost: from an event no earlier than the server's start (e.g. the receipt of the ping that
//   starts the ping timeout); a late delivery of that event only shortens the figure, so LATE
//   covers the delivery of the end.
// Measuring both from the receipt of the starting packet would let a ping that reaches the client
// late make the timeout look short.
function atLeast(actual, expected, what) {
  assert.ok(actual >= expected - EARLY, `${what}: ${actual} ms, expected at least ${expected} ms (-${EARLY})`);
}
function atMost(actual, expected, what) {
  assert.ok(actual <= expected + LATE, `${what}: ${actual} ms, expected at most ${expected} ms (+${LATE})`);
}

forEachTarget('heartbeat', (fx) => {
  it(`polling: "2" every pingInterval, pong keeps the session, no pong -> pending poll "1", then 400 (x${RUNS})`, async () => {
    const base = fx().eio;
    await R.repeat(RUNS, 60000, async () => {
      const t0 = Date.now();
      const { sid } = await R.eioHandshake(base);
      const tOpen = Date.now();
      let res = await R.eioPoll(base, sid);
      const t1 = Date.now();
      assert.equal(res.status, 200);
      assert.equal(res.body, '2');
      // the ping interval starts at the handshake: after t0, before tOpen
      atLeast(t1 - t0, PING_INTERVAL, 'first ping after the handshake request');
      atMost(t1 - tOpen, PING_INTERVAL, 'first ping after the handshake response');
      const tPong = Date.now();
      res = await R.eioPush(base, sid, '3');
      const tPongOk = Date.now();
      assert.equal(res.status, 200);
      assert.equal(res.body, 'ok');
      res = await R.eioPoll(base, sid);
      const t2 = Date.now();
      assert.equal(res.status, 200);
      assert.equal(res.body, '2');
      // the next ping is pingInterval after the server got the pong: after tPong, before tPongOk
      atLeast(t2 - tPong, PING_INTERVAL, 'second ping after the pong was sent');
      atMost(t2 - tPongOk, PING_INTERVAL, 'second ping after the pong was answered');
      // no pong: the pending poll is answered with a close packet when pingTimeout expires
      res = await R.eioPoll(base, sid);
      const t3 = Date.now();
      assert.equal(res.status, 200);
      assert.equal(res.body, '1');
      // the ping timeout starts when the server sends the ping: after tPong + pingInterval, before t2
      atLeast(t3 - tPong, PING_INTERVAL + PING_TIMEOUT, 'ping timeout after the pong was sent (pingInterval + pingTimeout)');
      atMost(t3 - t2, PING_TIMEOUT, 'ping timeout after the ping arrived');
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
      const t0 = Date.now();
      const c = await R.wsOpen(base);
      try {
        await c.waitFor((d) => typeof d === 'string' && d[0] === '0', 1000, 'open');
        const tOpen = Date.now();
        await c.waitFor((d) => d === '2', PING_INTERVAL + LATE, 'ping 1');
        const t1 = Date.now();
        // the ping interval starts at the handshake: after t0, before the open packet arrived
        atLeast(t1 - t0, PING_INTERVAL, 'first ping after the WebSocket request');
        atMost(t1 - tOpen, PING_INTERVAL, 'first ping after the open packet');
        const tPong = Date.now();
        c.send('3');
        await c.waitFor((d) => d === '2', PING_INTERVAL + LATE, 'ping 2');
        const t2 = Date.now();
        // the next ping is pingInterval after the server got the pong (the upper bound includes
        // the pong's own transit: there is no later client event before the server's receipt)
        atLeast(t2 - tPong, PING_INTERVAL, 'second ping after the pong was sent');
        atMost(t2 - tPong, PING_INTERVAL, 'second ping after the pong was sent');
        await c.waitClose(PING_TIMEOUT + LATE);
        const t3 = Date.now();
        // the ping timeout starts when the server sends ping 2: after tPong + pingInterval, before t2
        atLeast(t3 - tPong, PING_INTERVAL + PING_TIMEOUT, 'close after the pong was sent (pingInterval + pingTimeout)');
        atMost(t3 - t2, PING_TIMEOUT, 'close after ping 2 arrived');
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
