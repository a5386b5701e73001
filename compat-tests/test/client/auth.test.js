'use strict';
// Handshake authentication: missing credentials, bad sessions, signed ids, cookie fallback,
// strict userId equality.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const signature = require('cookie-signature');
const { describeTargets, logout, SECRET } = require('../../lib/servers');
const { connect, connectError } = require('../../lib/client');

const MISSING = 'UNAUTHORIZED: Missing authentication credentials';
const INVALID = 'UNAUTHORIZED: Invalid session or user mismatch';

function assertRefused(err, message, code = 'UNAUTHORIZED') {
  assert.equal(err.message, message);
  assert.ok(err.data, 'connect_error carries data');
  assert.equal(err.data.code, code);
}

async function assertAccepted(ctx, opts, userId) {
  const { socket, connected } = await connect(ctx.url, opts);
  socket.close();
  assert.equal(connected.userId, userId);
  assert.equal(typeof connected.userId, typeof userId);
  return connected;
}

describeTargets('client: handshake authentication', {}, (ctx) => {
  for (const transports of [['websocket'], ['polling']]) {
    test(`missing credentials are refused (${transports})`, async () => {
      const u = await ctx.user();
      const variants = [
        {},
        { userId: u.userId },
        { sessionID: u.session.signed },
        { sessionID: '', userId: u.userId },
        { sessionID: null, userId: u.userId },
        { sessionID: u.session.signed, userId: '' },
        { sessionID: u.session.signed, userId: null },
      ];
      for (const auth of variants) {
        const err = await connectError(ctx.url, { auth, transports });
        assertRefused(err, MISSING);
      }
    });
  }

  test('no auth payload at all is refused as missing credentials', async () => {
    assertRefused(await connectError(ctx.url, { transports: ['websocket'] }), MISSING);
  });

  test('a session of another user is refused', async () => {
    const a = await ctx.user();
    const b = await ctx.user();
    assertRefused(await connectError(ctx.url, { auth: { sessionID: a.session.signed, userId: b.userId } }), INVALID);
    assertRefused(await connectError(ctx.url, { auth: { sessionID: a.session.sid, userId: b.userId } }), INVALID);
  });

  test('an unknown sid is refused, raw and signed', async () => {
    const u = await ctx.user();
    const sid = crypto.randomBytes(24).toString('base64url');
    assertRefused(await connectError(ctx.url, { auth: { sessionID: sid, userId: u.userId } }), INVALID);
    const signed = `s:${signature.sign(sid, SECRET)}`;
    assertRefused(await connectError(ctx.url, { auth: { sessionID: signed, userId: u.userId } }), INVALID);
  });

  test('a signed sid with a bad signature or another secret is refused', async () => {
    const u = await ctx.user();
    const bad = [
      `s:${u.session.sid}.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA`,
      `s:${signature.sign(u.session.sid, 'not-the-secret')}`,
      `s:${u.session.sid}`,
    ];
    for (const sessionID of bad) {
      assertRefused(await connectError(ctx.url, { auth: { sessionID, userId: u.userId } }), INVALID);
    }
  });

  test('a destroyed session (logout) is refused', async () => {
    const u = await ctx.user();
    await assertAccepted(ctx, { auth: u.auth }, u.userId);
    const out = await logout(ctx.redis.url, u.session);
    assert.equal(out.destroyed, true);
    assertRefused(await connectError(ctx.url, { auth: u.auth }), INVALID);
  });

  test('raw sid, signed sid and URL-encoded signed sid are all accepted', async () => {
    const u = await ctx.user();
    assert.match(u.session.signed, /^s:/);
    for (const sessionID of [u.session.sid, u.session.signed, encodeURIComponent(u.session.signed)]) {
      await assertAccepted(ctx, { auth: { sessionID, userId: u.userId }, transports: ['websocket'] }, u.userId);
      await assertAccepted(ctx, { auth: { sessionID, userId: u.userId }, transports: ['polling'] }, u.userId);
    }
  });

  test('number vs string: strict equality including the type', async () => {
    const n = 100000 + crypto.randomInt(1e9);
    const num = await ctx.user({ userId: n });
    // session user is the number n
    const c = await assertAccepted(ctx, { auth: { sessionID: num.session.signed, userId: n } }, n);
    assert.equal(typeof c.userId, 'number');
    assertRefused(await connectError(ctx.url, { auth: { sessionID: num.session.signed, userId: String(n) } }), INVALID);
    // session user is the string "m"
    const m = 100000 + crypto.randomInt(1e9);
    const str = await ctx.user({ userId: String(m) });
    await assertAccepted(ctx, { auth: { sessionID: str.session.signed, userId: String(m) } }, String(m));
    assertRefused(await connectError(ctx.url, { auth: { sessionID: str.session.signed, userId: m } }), INVALID);
  });

  test('the number user is joined to user:<n> (emit by numeric userId reaches it)', async () => {
    const n = 100000 + crypto.randomInt(1e9);
    const u = await ctx.user({ userId: n });
    const { socket } = await connect(ctx.url, { auth: u.auth, transports: ['websocket'] });
    try {
      const { postEmit, waitFor } = require('../../lib/client');
      const got = waitFor(socket, 'portfolio:update');
      const res = await postEmit(ctx.url, { userId: n, event: 'portfolio:update', data: { userId: n, portfolio: { value: 1 } } }, { token: require('../../lib/servers').EMIT_TOKEN });
      assert.equal(res.status, 200);
      const [data] = await got;
      assert.deepEqual(data, { userId: n, portfolio: { value: 1 } });
    } finally {
      socket.close();
    }
  });

  for (const transports of [['websocket'], ['polling']]) {
    test(`cookie fallback via extraHeaders when auth.sessionID is absent (${transports})`, async () => {
      const u = await ctx.user();
      assert.match(u.session.cookieHeader, /^connect\.sid=s%3A/);
      for (const sessionID of [undefined, null, '']) {
        const auth = { userId: u.userId };
        if (sessionID !== undefined) auth.sessionID = sessionID;
        await assertAccepted(ctx, { auth, transports, extraHeaders: { cookie: `other=1; ${u.session.cookieHeader}; x=y` } }, u.userId);
      }
    });
  }

  test('a wrong auth.sessionID is refused even with a good cookie', async () => {
    const u = await ctx.user();
    const other = await ctx.user();
    const auth = { sessionID: other.session.signed, userId: u.userId };
    assertRefused(await connectError(ctx.url, { auth, transports: ['websocket'], extraHeaders: { cookie: u.session.cookieHeader } }), INVALID);
    const auth2 = { sessionID: 'nonexistent', userId: u.userId };
    assertRefused(await connectError(ctx.url, { auth: auth2, transports: ['polling'], extraHeaders: { cookie: u.session.cookieHeader } }), INVALID);
  });

  test('a cookie for another user is refused; a cookie with a bad signature is refused', async () => {
    const u = await ctx.user();
    const other = await ctx.user();
    assertRefused(await connectError(ctx.url, { auth: { userId: u.userId }, transports: ['websocket'], extraHeaders: { cookie: other.session.cookieHeader } }), INVALID);
    const forged = `connect.sid=${encodeURIComponent(`s:${u.session.sid}.forged`)}`;
    assertRefused(await connectError(ctx.url, { auth: { userId: u.userId }, transports: ['websocket'], extraHeaders: { cookie: forged } }), INVALID);
  });
});
