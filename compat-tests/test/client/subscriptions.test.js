'use strict';
// Every subscribe/unsubscribe event with and without ack, exact confirmation keys, updates flowing
// through /internal/emit, and invalid payloads that get INVALID_PAYLOAD and join nothing.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { describeTargets, EMIT_TOKEN } = require('../../lib/servers');
const { connect, waitFor, expectNone, ack, postEmit } = require('../../lib/client');

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const QUIET_MS = 300;

async function emit(url, item) {
  const res = await postEmit(url, item, { token: EMIT_TOKEN });
  assert.equal(res.status, 200, res.body);
  return res;
}

// call emits event (with args), with or without an ack, and returns { confirm, ackRes }.
async function call(socket, { event, confirm, args = [], withAck }) {
  const conf = waitFor(socket, confirm);
  const ackRes = withAck ? await ack(socket, event, ...args) : (socket.emit(event, ...args), undefined);
  const [confirmData] = await conf;
  return { confirm: confirmData, ackRes };
}

describeTargets('client: subscriptions', { concurrency: 6 }, (ctx) => {
  for (const withAck of [true, false]) {
    const how = withAck ? 'with ack' : 'without ack';

    for (const kind of ['portfolio', 'trades']) {
      test(`subscribe:${kind} / unsubscribe:${kind} ${how}`, async () => {
        const u = await ctx.user();
        const room = `${kind}:${u.userId}`;
        const update = kind === 'portfolio' ? 'portfolio:update' : 'trade:executed';
        const a = await connect(ctx.url, { auth: u.auth, transports: ['websocket'] });
        const control = await connect(ctx.url, { auth: u.auth, transports: ['polling'] });
        try {
          await ack(control.socket, `subscribe:${kind}`);
          const sub = await call(a.socket, { event: `subscribe:${kind}`, confirm: `subscribed:${kind}`, withAck });
          assert.deepEqual(Object.keys(sub.confirm), ['room', 'timestamp']);
          assert.equal(sub.confirm.room, room);
          assert.match(sub.confirm.timestamp, ISO);
          if (withAck) {
            assert.equal(sub.ackRes.ok, true);
            assert.equal(sub.ackRes.room, room);
            assert.match(sub.ackRes.timestamp, ISO);
          }
          const data = { userId: u.userId, [kind === 'portfolio' ? 'portfolio' : 'trade']: { value: 1, n: 'first' } };
          // the control socket is in the room too: take its copy of this update before waiting
          // for the second one there (a poll may bring it after the emit's answer).
          const got = waitFor(a.socket, update);
          const ctlFirst = waitFor(control.socket, update);
          await emit(ctx.url, { room, event: update, data });
          assert.deepEqual((await got)[0], data);
          assert.deepEqual((await ctlFirst)[0], data);

          // subscribing twice is a no-op that still confirms
          const again = await call(a.socket, { event: `subscribe:${kind}`, confirm: `subscribed:${kind}`, withAck });
          assert.equal(again.confirm.room, room);

          const unsub = await call(a.socket, { event: `unsubscribe:${kind}`, confirm: `unsubscribed:${kind}`, withAck });
          assert.deepEqual(Object.keys(unsub.confirm), ['room', 'timestamp']);
          assert.equal(unsub.confirm.room, room);
          assert.match(unsub.confirm.timestamp, ISO);
          if (withAck) assert.equal(unsub.ackRes.ok, true);

          const data2 = { userId: u.userId, n: 'second' };
          const none = expectNone(a.socket, update, QUIET_MS);
          const ctl = waitFor(control.socket, update);
          await emit(ctx.url, { room, event: update, data: data2 });
          assert.deepEqual((await ctl)[0], data2);
          await none;
        } finally {
          a.socket.close();
          control.socket.close();
        }
      });
    }

    test(`subscribe:watchlist / unsubscribe:watchlist ${how}: trimmed, upper-cased, merged`, async () => {
      const u = await ctx.user();
      const sym = `W${Date.now().toString(36).toUpperCase().slice(-5)}${withAck ? 'A' : 'N'}`;
      const a = await connect(ctx.url, { auth: u.auth, transports: ['websocket'] });
      try {
        const sub = await call(a.socket, {
          event: 'subscribe:watchlist', confirm: 'subscribed:watchlist', withAck,
          args: [{ symbols: [` ${sym.toLowerCase()} `, sym, `${sym.toLowerCase()}.b`, `${sym}/USD`, `1-${sym}`] }],
        });
        const want = [sym, `${sym}.B`, `${sym}/USD`, `1-${sym}`];
        assert.deepEqual(Object.keys(sub.confirm), ['symbols', 'timestamp']);
        assert.deepEqual(sub.confirm.symbols, want);
        assert.match(sub.confirm.timestamp, ISO);
        if (withAck) {
          assert.equal(sub.ackRes.ok, true);
          assert.deepEqual(sub.ackRes.symbols, want);
        }
        for (const s of [sym, `${sym}/USD`]) {
          const q = { symbol: s, quote: { price: 1.5, change: -0.25 } };
          const got = waitFor(a.socket, 'quote:update');
          await emit(ctx.url, { room: `watchlist:${s}`, event: 'quote:update', data: q });
          assert.deepEqual((await got)[0], q);
        }
        const unsub = await call(a.socket, {
          event: 'unsubscribe:watchlist', confirm: 'unsubscribed:watchlist', withAck,
          args: [{ symbols: [sym.toLowerCase()] }],
        });
        assert.deepEqual(Object.keys(unsub.confirm), ['symbols', 'timestamp']);
        assert.deepEqual(unsub.confirm.symbols, [sym]);
        if (withAck) assert.equal(unsub.ackRes.ok, true);
        const none = expectNone(a.socket, 'quote:update', QUIET_MS);
        await emit(ctx.url, { room: `watchlist:${sym}`, event: 'quote:update', data: { symbol: sym } });
        await none;
        // still in the others
        const got = waitFor(a.socket, 'quote:update');
        await emit(ctx.url, { room: `watchlist:${sym}.B`, event: 'quote:update', data: { symbol: `${sym}.B` } });
        assert.deepEqual((await got)[0], { symbol: `${sym}.B` });
      } finally {
        a.socket.close();
      }
    });
  }

  test('ping without ack gets pong { timestamp } only', async () => {
    const u = await ctx.user();
    const a = await connect(ctx.url, { auth: u.auth, transports: ['websocket'] });
    try {
      const p = waitFor(a.socket, 'pong');
      a.socket.emit('ping');
      const [data] = await p;
      assert.deepEqual(Object.keys(data), ['timestamp']);
      assert.match(data.timestamp, ISO);
      const res = await ack(a.socket, 'ping', { some: 'object' });
      assert.deepEqual(Object.keys(res).sort(), ['ok', 'timestamp']);
    } finally {
      a.socket.close();
    }
  });

  // Each invalid payload: INVALID_PAYLOAD as `error` and as the ack, and the valid-looking symbol
  // in it (OKSYM) is not joined: a control client subscribed to it receives the quote, the
  // refused client does not.
  const OK = 'OKSYM';
  const invalid = [
    ['no payload', []],
    ['null', [null]],
    ['a string', ['AAPL']],
    ['an array', [[OK]]],
    ['an empty object', [{}]],
    ['symbols: []', [{ symbols: [] }]],
    ['symbols not an array', [{ symbols: OK }]],
    ['a number symbol', [{ symbols: [OK, 42] }]],
    ['an empty symbol', [{ symbols: [OK, ''] }]],
    ['a blank symbol', [{ symbols: [OK, '   '] }]],
    ['a symbol with a space', [{ symbols: [OK, 'BAD SYM'] }]],
    ['a symbol starting with -', [{ symbols: [OK, '-ABC'] }]],
    ['a symbol starting with .', [{ symbols: [OK, '.ABC'] }]],
    ['a 17-character symbol', [{ symbols: [OK, 'A'.repeat(17)] }]],
    ['a symbol with $', [{ symbols: [OK, 'AB$'] }]],
    ['a non-ASCII symbol', [{ symbols: [OK, 'ÄPFEL'] }]],
    ['51 symbols', [{ symbols: [OK, ...Array.from({ length: 50 }, (_, i) => `S${i}`)] }]],
    ['an object symbol', [{ symbols: [OK, { s: 'X' }] }]],
  ];
  for (const event of ['subscribe:watchlist', 'unsubscribe:watchlist']) {
    for (const [name, args] of invalid) {
      test(`${event} with ${name} -> INVALID_PAYLOAD, joins nothing`, async () => {
        const u = await ctx.user();
        const bad = await connect(ctx.url, { auth: u.auth, transports: ['websocket'] });
        const ctlUser = await ctx.user();
        const control = await connect(ctx.url, { auth: ctlUser.auth, transports: ['websocket'] });
        try {
          await ack(control.socket, 'subscribe:watchlist', { symbols: [OK] });
          const errEv = waitFor(bad.socket, 'error');
          const noConfirm = expectNone(bad.socket, event === 'subscribe:watchlist' ? 'subscribed:watchlist' : 'unsubscribed:watchlist', QUIET_MS);
          const res = await ack(bad.socket, event, ...args);
          assert.equal(res.ok, false);
          assert.equal(res.code, 'INVALID_PAYLOAD');
          assert.equal(typeof res.message, 'string');
          const [err] = await errEv;
          assert.equal(err.code, 'INVALID_PAYLOAD');
          assert.equal(typeof err.message, 'string');
          for (const k of Object.keys(err)) assert.ok(['code', 'message', 'event', 'retryAfterMs'].includes(k), `unexpected error key ${k}`);
          if ('event' in err) assert.equal(err.event, event);
          await noConfirm;
          const none = expectNone(bad.socket, 'quote:update', QUIET_MS);
          const ctl = waitFor(control.socket, 'quote:update');
          await emit(ctx.url, { room: `watchlist:${OK}`, event: 'quote:update', data: { symbol: OK } });
          await ctl;
          await none;
        } finally {
          bad.socket.close();
          control.socket.close();
        }
      });
    }
  }

  test('an invalid payload without ack still gets the error event', async () => {
    const u = await ctx.user();
    const a = await connect(ctx.url, { auth: u.auth, transports: ['polling'] });
    try {
      const errEv = waitFor(a.socket, 'error');
      a.socket.emit('subscribe:watchlist', { symbols: ['BAD SYM'] });
      const [err] = await errEv;
      assert.equal(err.code, 'INVALID_PAYLOAD');
    } finally {
      a.socket.close();
    }
  });
});
