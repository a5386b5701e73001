'use strict';
// POST /internal/emit: auth, validation, size limit, targeting and batch order.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { describeTargets, EMIT_TOKEN } = require('../../lib/servers');
const { connect, waitFor, expectNone, collect, postEmit } = require('../../lib/client');

const QUIET_MS = 300;

describeTargets('client: POST /internal/emit', {}, (ctx) => {
  let a; // user A, two tabs
  let b; // user B
  let tabs;
  let other;

  const setup = async () => {
    if (tabs) return;
    a = await ctx.user();
    b = await ctx.user();
    tabs = [
      (await connect(ctx.url, { auth: a.auth, transports: ['websocket'] })).socket,
      (await connect(ctx.url, { auth: a.auth, transports: ['polling'] })).socket,
    ];
    other = (await connect(ctx.url, { auth: b.auth, transports: ['websocket'] })).socket;
  };

  test('401 without a token, with a wrong token, or a non-Bearer scheme; nothing emitted', async () => {
    await setup();
    const item = { userId: a.userId, event: 'portfolio:update', data: { x: 1 } };
    const none = expectNone(tabs[0], 'portfolio:update', QUIET_MS);
    for (const opts of [{}, { token: 'wrong' }, { token: `${EMIT_TOKEN}x` }, { headers: { authorization: `Basic ${EMIT_TOKEN}` } }, { headers: { authorization: EMIT_TOKEN } }]) {
      const res = await postEmit(ctx.url, item, opts);
      assert.equal(res.status, 401, `${JSON.stringify(opts)} -> ${res.status} ${res.body}`);
    }
    await none;
  });

  const bad = [
    ['invalid JSON', { raw: '{"event": "x",' }],
    ['an empty body', { raw: '' }],
    ['a JSON string', { body: 'hello' }],
    ['a JSON number', { body: 42 }],
    ['null', { body: null }],
    ['a reserved event (connect)', { body: { event: 'connect', data: 1 } }],
    ['a reserved event (disconnect)', { body: { event: 'disconnect', data: 1 } }],
    ['a reserved event (connect_error)', { body: { event: 'connect_error', data: 1 } }],
    ['a reserved event (disconnecting)', { body: { event: 'disconnecting', data: 1 } }],
    ['a reserved event (newListener)', { body: { event: 'newListener', data: 1 } }],
    ['a reserved event (removeListener)', { body: { event: 'removeListener', data: 1 } }],
    ['both userId and room', { body: { userId: 'x', room: 'watchlist:AAPL', event: 'e', data: 1 } }],
    ['a missing event', { body: { room: 'watchlist:AAPL', data: 1 } }],
    ['an empty event', { body: { event: '', data: 1 } }],
    ['a non-string event', { body: { event: 7, data: 1 } }],
    ['a non-object item', { body: ['x'] }],
  ];
  for (const [name, req] of bad) {
    test(`400 for ${name}`, async () => {
      const res = await postEmit(ctx.url, req.body, { token: EMIT_TOKEN, raw: req.raw });
      assert.equal(res.status, 400, `${res.status} ${res.body}`);
    });
  }

  test('400 for a batch with one invalid item: nothing of the batch is emitted', async () => {
    await setup();
    const none = expectNone(tabs[0], 'trade:executed', QUIET_MS);
    const res = await postEmit(ctx.url, [
      { userId: a.userId, event: 'trade:executed', data: { n: 1 } },
      { userId: a.userId, room: `user:${a.userId}`, event: 'trade:executed', data: { n: 2 } },
    ], { token: EMIT_TOKEN });
    assert.equal(res.status, 400, res.body);
    const res2 = await postEmit(ctx.url, [
      { userId: a.userId, event: 'trade:executed', data: { n: 1 } },
      { event: 'disconnect', data: {} },
    ], { token: EMIT_TOKEN });
    assert.equal(res2.status, 400, res2.body);
    await none;
  });

  test('413 for a body over 1 MiB; nothing emitted', async () => {
    await setup();
    const none = expectNone(tabs[0], 'big', QUIET_MS);
    const body = { userId: a.userId, event: 'big', data: 'x'.repeat(1024 * 1024 + 10) };
    const res = await postEmit(ctx.url, body, { token: EMIT_TOKEN });
    assert.equal(res.status, 413, `${res.status} ${res.body || (res.error && res.error.message)}`);
    await none;
  });

  test('a body just under 1 MiB is accepted and delivered intact', async () => {
    await setup();
    const data = 'y'.repeat(1000 * 1000);
    const got = waitFor(tabs[0], 'big-ok', 5000);
    const res = await postEmit(ctx.url, { userId: a.userId, event: 'big-ok', data }, { token: EMIT_TOKEN });
    assert.equal(res.status, 200, res.body);
    const [d] = await got;
    assert.equal(d.length, data.length);
  });

  test('200 { ok: true, emitted: 1 } for one userId item: every tab of the user gets it, nobody else', async () => {
    await setup();
    const data = { userId: a.userId, trade: { id: 't1', symbol: 'AAPL', side: 'buy', quantity: 1, price: 10.5, status: 'filled' } };
    const got = tabs.map((s) => waitFor(s, 'trade:executed'));
    const none = expectNone(other, 'trade:executed', QUIET_MS);
    const res = await postEmit(ctx.url, { userId: a.userId, event: 'trade:executed', data }, { token: EMIT_TOKEN });
    assert.equal(res.status, 200);
    assert.deepEqual(res.json, { ok: true, emitted: 1 });
    for (const g of got) assert.deepEqual((await g)[0], data);
    await none;
  });

  test('a room item reaches the room; an item with neither reaches everyone', async () => {
    await setup();
    const gotUser = waitFor(other, 'room-ev');
    const noneA = expectNone(tabs[0], 'room-ev', QUIET_MS);
    let res = await postEmit(ctx.url, { room: `user:${b.userId}`, event: 'room-ev', data: 1 }, { token: EMIT_TOKEN });
    assert.deepEqual(res.json, { ok: true, emitted: 1 });
    assert.deepEqual(await gotUser, [1]);
    await noneA;
    const all = [...tabs, other].map((s) => waitFor(s, 'announce'));
    res = await postEmit(ctx.url, { event: 'announce', data: { text: 'hello' } }, { token: EMIT_TOKEN });
    assert.deepEqual(res.json, { ok: true, emitted: 1 });
    for (const g of all) assert.deepEqual((await g)[0], { text: 'hello' });
  });

  test('a batch is emitted in order and answers emitted: n', async () => {
    await setup();
    const seen = tabs.map((s) => collect(s, 'seq'));
    const batch = Array.from({ length: 20 }, (_, i) => ({ userId: a.userId, event: 'seq', data: { i } }));
    const res = await postEmit(ctx.url, batch, { token: EMIT_TOKEN });
    assert.equal(res.status, 200);
    assert.deepEqual(res.json, { ok: true, emitted: 20 });
    for (const s of seen) {
      const items = await s.until(20);
      assert.deepEqual(items.map((x) => x.i), Array.from({ length: 20 }, (_, i) => i));
    }
  });

  test('data keeps its JSON shape (nested objects, arrays, unicode, numbers)', async () => {
    await setup();
    const data = { userId: a.userId, portfolio: { value: 125000.5, dayPL: -2500, list: [1, 'two', null, true], name: 'Zürich \u{1F600}', big: 1e21 } };
    const got = waitFor(tabs[1], 'portfolio:update');
    const res = await postEmit(ctx.url, { userId: a.userId, event: 'portfolio:update', data }, { token: EMIT_TOKEN });
    assert.equal(res.status, 200);
    assert.deepEqual((await got)[0], data);
  });

  test('cleanup', () => {
    for (const s of [...(tabs || []), other]) if (s) s.close();
  });
});
