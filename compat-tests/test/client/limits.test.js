'use strict';
// Event rate limit (per user, per event, across tabs) and the subscription cap.
// Servers run with RATE_LIMIT_WINDOW_MS=3000 so the window reset is observable.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { describeTargets, EMIT_TOKEN, delay } = require('../../lib/servers');
const { connect, waitFor, expectNone, ack, postEmit } = require('../../lib/client');

const WINDOW_MS = 3000;
const QUIET_MS = 300;

async function emit(url, item) {
  const res = await postEmit(url, item, { token: EMIT_TOKEN });
  assert.equal(res.status, 200, res.body);
}

// refused emits event with an ack and checks both the ack and the `error` event carry code.
async function refused(socket, code, event, ...args) {
  const errEv = waitFor(socket, 'error');
  const res = await ack(socket, event, ...args);
  const [err] = await errEv;
  assert.equal(res.ok, false, `${event} should be refused, got ${JSON.stringify(res)}`);
  assert.equal(res.code, code);
  assert.equal(err.code, code);
  assert.equal(typeof err.message, 'string');
  if ('event' in err) assert.equal(err.event, event);
  return { res, err };
}

async function ok(socket, event, ...args) {
  const res = await ack(socket, event, ...args);
  assert.equal(res.ok, true, `${event} should pass, got ${JSON.stringify(res)}`);
  return res;
}

// notJoined proves socket is not in room: a control socket in the room gets the event, socket not.
async function notJoined(ctx, socket, control, room) {
  const none = expectNone(socket, 'probe', QUIET_MS);
  const got = waitFor(control, 'probe');
  await emit(ctx.url, { room, event: 'probe', data: { room } });
  await got;
  await none;
}

const symbols = (prefix, n) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

describeTargets('client: limits', { env: { RATE_LIMIT_WINDOW_MS: String(WINDOW_MS) }, concurrency: 4 }, (ctx) => {
  test('the 11th subscribe:portfolio gets RATE_LIMIT with retryAfterMs; other events keep their own budget; the window resets', async () => {
    const u = await ctx.user();
    const { socket } = await connect(ctx.url, { auth: u.auth, transports: ['websocket'] });
    try {
      for (let i = 0; i < 10; i += 1) await ok(socket, 'subscribe:portfolio');
      const noConfirm = expectNone(socket, 'subscribed:portfolio', QUIET_MS);
      const { res, err } = await refused(socket, 'RATE_LIMIT', 'subscribe:portfolio');
      await noConfirm;
      assert.equal(typeof err.retryAfterMs, 'number');
      assert.ok(err.retryAfterMs > 0 && err.retryAfterMs <= WINDOW_MS, `retryAfterMs ${err.retryAfterMs}`);
      if ('retryAfterMs' in res) assert.ok(res.retryAfterMs > 0 && res.retryAfterMs <= WINDOW_MS);
      // a refused event does not count, and the budget is per event
      await ok(socket, 'subscribe:trades');
      await ok(socket, 'unsubscribe:portfolio');
      // after retryAfterMs the event passes again
      await delay(err.retryAfterMs + 50);
      await ok(socket, 'subscribe:portfolio');
    } finally {
      socket.close();
    }
  });

  test('over the rate limit nothing is joined', async () => {
    const u = await ctx.user();
    const c = await ctx.user();
    const { socket } = await connect(ctx.url, { auth: u.auth, transports: ['websocket'] });
    const control = await connect(ctx.url, { auth: c.auth, transports: ['websocket'] });
    try {
      const sym = `RL${Date.now().toString(36).toUpperCase().slice(-6)}`;
      await ok(control.socket, 'subscribe:watchlist', { symbols: [sym] });
      for (let i = 0; i < 10; i += 1) await ok(socket, 'subscribe:watchlist', { symbols: [`${sym}X${i}`] });
      await refused(socket, 'RATE_LIMIT', 'subscribe:watchlist', { symbols: [sym] });
      await notJoined(ctx, socket, control.socket, `watchlist:${sym}`);
    } finally {
      socket.close();
      control.socket.close();
    }
  });

  test('refused events (invalid payloads) count toward the rate', async () => {
    const u = await ctx.user();
    const { socket } = await connect(ctx.url, { auth: u.auth, transports: ['polling'] });
    try {
      for (let i = 0; i < 10; i += 1) await refused(socket, 'INVALID_PAYLOAD', 'subscribe:watchlist', { symbols: [] });
      await refused(socket, 'RATE_LIMIT', 'subscribe:watchlist', { symbols: ['AAPL'] });
    } finally {
      socket.close();
    }
  });

  test('two tabs of one user share the budget; the error also arrives without an ack', async () => {
    const u = await ctx.user();
    const a = await connect(ctx.url, { auth: u.auth, transports: ['websocket'] });
    const b = await connect(ctx.url, { auth: u.auth, transports: ['polling'] });
    try {
      for (let i = 0; i < 6; i += 1) await ok(a.socket, 'unsubscribe:trades');
      for (let i = 0; i < 4; i += 1) await ok(b.socket, 'unsubscribe:trades');
      const errEv = waitFor(b.socket, 'error');
      b.socket.emit('unsubscribe:trades');
      const [err] = await errEv;
      assert.equal(err.code, 'RATE_LIMIT');
      assert.ok(err.retryAfterMs > 0);
      await refused(a.socket, 'RATE_LIMIT', 'unsubscribe:trades');
      // another user is not affected
      const other = await ctx.user();
      const o = await connect(ctx.url, { auth: other.auth, transports: ['websocket'] });
      await ok(o.socket, 'unsubscribe:trades');
      o.socket.close();
    } finally {
      a.socket.close();
      b.socket.close();
    }
  });

  test('the 51st subscription gets SUBSCRIPTION_LIMIT; re-subscribing at the cap confirms; unsubscribing gives room again', async () => {
    const u = await ctx.user();
    const { socket } = await connect(ctx.url, { auth: u.auth, transports: ['websocket'] });
    const control = await connect(ctx.url, { auth: u.auth, transports: ['polling'] });
    try {
      const p = `C${Date.now().toString(36).toUpperCase().slice(-5)}`;
      const fifty = symbols(p, 50);
      await ok(socket, 'subscribe:watchlist', { symbols: fifty });
      const noConfirm = expectNone(socket, 'subscribed:portfolio', QUIET_MS);
      await refused(socket, 'SUBSCRIPTION_LIMIT', 'subscribe:portfolio');
      await noConfirm;
      // the control socket of the same user is at the cap too: subscribe it to portfolio fails
      await refused(control.socket, 'SUBSCRIPTION_LIMIT', 'subscribe:portfolio');
      // a request that would go over joins nothing, even its already-held part
      await refused(socket, 'SUBSCRIPTION_LIMIT', 'subscribe:watchlist', { symbols: [fifty[0], `${p}NEW`] });
      // re-subscribing to held rooms confirms at the cap
      const again = await ok(socket, 'subscribe:watchlist', { symbols: fifty.slice(0, 3) });
      assert.deepEqual(again.symbols, fifty.slice(0, 3));
      // unsubscribing from rooms not held frees nothing
      await ok(socket, 'unsubscribe:trades');
      await ok(socket, 'unsubscribe:watchlist', { symbols: [`${p}NOTHELD`] });
      await refused(socket, 'SUBSCRIPTION_LIMIT', 'subscribe:trades');
      // a user room emit still reaches the socket (user: does not count and is kept)
      const viaUser = waitFor(socket, 'trade:executed');
      await emit(ctx.url, { userId: u.userId, event: 'trade:executed', data: { n: 1 } });
      await viaUser;
      // unsubscribe one: exactly one slot
      await ok(socket, 'unsubscribe:watchlist', { symbols: [fifty[49]] });
      await ok(socket, 'subscribe:portfolio');
      await refused(socket, 'SUBSCRIPTION_LIMIT', 'subscribe:trades');
    } finally {
      socket.close();
      control.socket.close();
    }
  });

  test('the cap counts (socket, room) pairs across tabs; a disconnect gives room again', async () => {
    const u = await ctx.user();
    const a = await connect(ctx.url, { auth: u.auth, transports: ['websocket'] });
    const b = await connect(ctx.url, { auth: u.auth, transports: ['websocket'] });
    try {
      const p = `D${Date.now().toString(36).toUpperCase().slice(-5)}`;
      await ok(a.socket, 'subscribe:watchlist', { symbols: symbols(p, 30) });
      await ok(b.socket, 'subscribe:watchlist', { symbols: symbols(p, 20) }); // same rooms, other socket
      await refused(b.socket, 'SUBSCRIPTION_LIMIT', 'subscribe:portfolio');
      await refused(a.socket, 'SUBSCRIPTION_LIMIT', 'subscribe:portfolio');
      const gone = waitFor(b.socket, 'disconnect');
      b.socket.close();
      await gone;
      // the server frees the pairs when it sees the disconnect: retry briefly (9 events < budget)
      let res;
      for (let i = 0; i < 7; i += 1) {
        res = await ack(a.socket, 'subscribe:portfolio');
        if (res.ok) break;
        await delay(200);
      }
      assert.equal(res.ok, true, `after the disconnect: ${JSON.stringify(res)}`);
    } finally {
      a.socket.close();
      b.socket.close();
    }
  });
});
