'use strict';
// Handshake authentication with SESSION_STORE=mongo against FerretDB, with sessions written by
// the real Express app through connect-mongo (compat-tests/sessions): every form of the session
// id, the cookie fallback, and every refusal with the exact err.message / err.data.code.
const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const signature = require('cookie-signature');
const { targets, startServer, uniqueUser, delay, SECRET, EMIT_TOKEN } = require('../../lib/servers');
const { connect, connectError } = require('../../lib/client');
const { startFerretDB } = require('../../lib/faults');
const sessions = require('../../sessions');

const DB = 'authmongo';
const MISSING = 'UNAUTHORIZED: Missing authentication credentials';
const INVALID = 'UNAUTHORIZED: Invalid session or user mismatch';

function assertRefused(err, message, code = 'UNAUTHORIZED') {
  assert.equal(err.message, message);
  assert.ok(err.data, 'connect_error carries data');
  assert.equal(err.data.code, code);
}

for (const target of targets()) {
  // The reference's connect-mongo store runs with autoRemove: 'disabled' (FerretDB has no TTL
  // indexes), so both servers are judged on the same sessions.
  describe(`client: handshake authentication, mongo store [${target}]`, () => {
    const ctx = {};
    before(async () => {
      ctx.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'auth-mongo-'));
      ctx.ferret = await startFerretDB({ dir: ctx.dir });
      ctx.server = await startServer(target, {
        env: {
          SESSION_STORE: 'mongo', MONGODB_URI: ctx.ferret.url, MONGODB_DB: DB, REDIS_URL: '',
          SESSION_SECRET: SECRET, EMIT_TOKEN, SHUTDOWN_GRACE_MS: '300', LOG_LEVEL: process.env.LOG_LEVEL || 'warn',
        },
      });
      ctx.url = ctx.server.url;
    });
    after(async () => {
      if (ctx.server) await ctx.server.stop().catch(() => ctx.server.kill());
      if (ctx.ferret) await ctx.ferret.stop();
      if (ctx.dir) fs.rmSync(ctx.dir, { recursive: true, force: true });
    });

    const login = async (user, extra = {}) => {
      const s = await sessions.login({ store: 'mongo', mongoUrl: ctx.ferret.url, dbName: DB, secret: SECRET, user, ...extra });
      return { ...s, cookieHeader: s.cookie.split(';')[0] };
    };
    const accepted = async (opts, userId) => {
      const { socket, connected } = await connect(ctx.url, opts);
      socket.close();
      assert.equal(connected.userId, userId);
      assert.equal(typeof connected.userId, typeof userId);
    };

    test('raw sid, signed sid and URL-encoded signed sid are accepted (websocket and polling)', async () => {
      const userId = uniqueUser('mg');
      const s = await login(userId);
      assert.match(s.signed, /^s:/);
      for (const sessionID of [s.sid, s.signed, encodeURIComponent(s.signed)]) {
        for (const transports of [['websocket'], ['polling']]) {
          await accepted({ auth: { sessionID, userId }, transports }, userId);
        }
      }
    });

    test('the connect.sid cookie is used when auth.sessionID is absent, null or empty', async () => {
      const userId = uniqueUser('mg');
      const s = await login(userId);
      assert.match(s.cookieHeader, /^connect\.sid=s%3A/);
      for (const sessionID of [undefined, null, '']) {
        const auth = { userId };
        if (sessionID !== undefined) auth.sessionID = sessionID;
        await accepted({ auth, transports: ['websocket'], extraHeaders: { cookie: `a=1; ${s.cookieHeader}` } }, userId);
      }
      // a wrong auth.sessionID is refused even with the good cookie
      const err = await connectError(ctx.url, { auth: { sessionID: 'nonexistent', userId }, transports: ['polling'], extraHeaders: { cookie: s.cookieHeader } });
      assertRefused(err, INVALID);
    });

    test('missing credentials', async () => {
      const userId = uniqueUser('mg');
      const s = await login(userId);
      for (const auth of [{}, { userId }, { sessionID: s.signed }, { sessionID: '', userId }, { sessionID: s.signed, userId: '' }]) {
        assertRefused(await connectError(ctx.url, { auth, transports: ['websocket'] }), MISSING);
      }
    });

    test('tampered signature, another secret, missing signature', async () => {
      const userId = uniqueUser('mg');
      const s = await login(userId);
      const sig = s.signed.slice(s.signed.lastIndexOf('.') + 1);
      const flipped = (sig[0] === 'A' ? 'B' : 'A') + sig.slice(1);
      for (const sessionID of [
        `s:${s.sid}.${flipped}`,
        encodeURIComponent(`s:${s.sid}.${flipped}`),
        `s:${signature.sign(s.sid, 'not-the-secret')}`,
        `s:${s.sid}`,
      ]) {
        assertRefused(await connectError(ctx.url, { auth: { sessionID, userId } }), INVALID);
      }
      const forged = `connect.sid=${encodeURIComponent(`s:${s.sid}.${flipped}`)}`;
      assertRefused(await connectError(ctx.url, { auth: { userId }, extraHeaders: { cookie: forged } }), INVALID);
    });

    test('unknown sid, raw and signed', async () => {
      const userId = uniqueUser('mg');
      const sid = crypto.randomBytes(24).toString('base64url');
      assertRefused(await connectError(ctx.url, { auth: { sessionID: sid, userId } }), INVALID);
      assertRefused(await connectError(ctx.url, { auth: { sessionID: `s:${signature.sign(sid, SECRET)}`, userId } }), INVALID);
    });

    test('a session of another user', async () => {
      const a = uniqueUser('mg');
      const b = uniqueUser('mg');
      const s = await login(a);
      assertRefused(await connectError(ctx.url, { auth: { sessionID: s.signed, userId: b } }), INVALID);
      assertRefused(await connectError(ctx.url, { auth: { sessionID: s.sid, userId: b } }), INVALID);
    });

    test('number vs string, both ways', async () => {
      const n = 100000 + crypto.randomInt(1e9);
      const num = await login(n);
      await accepted({ auth: { sessionID: num.signed, userId: n } }, n);
      assertRefused(await connectError(ctx.url, { auth: { sessionID: num.signed, userId: String(n) } }), INVALID);
      const m = 100000 + crypto.randomInt(1e9);
      const str = await login(String(m));
      await accepted({ auth: { sessionID: str.signed, userId: String(m) } }, String(m));
      assertRefused(await connectError(ctx.url, { auth: { sessionID: str.signed, userId: m } }), INVALID);
    });

    test('an expired session (the document outlives its expires) is refused', async () => {
      const userId = uniqueUser('mg');
      const maxAgeMs = 1500;
      const t0 = Date.now();
      const s = await login(userId, { maxAgeMs });
      // connect-mongo's autoRemove is disabled in the fixture: the document stays, past its expiry
      await accepted({ auth: { sessionID: s.signed, userId } }, userId);
      const deadline = t0 + maxAgeMs + 5000;
      await delay(Math.max(0, t0 + maxAgeMs - Date.now()));
      let last;
      for (;;) {
        try {
          const { socket } = await connect(ctx.url, { auth: { sessionID: s.signed, userId } });
          socket.close();
          last = 'accepted';
        } catch (err) {
          last = err;
          if (err.data) break;
        }
        assert.ok(Date.now() < deadline, `still ${last} ${Date.now() - t0} ms after login with maxAge ${maxAgeMs} ms`);
        await delay(100);
      }
      assertRefused(last, INVALID);
      assert.ok(Date.now() - t0 >= maxAgeMs - 50, `refused after ${Date.now() - t0} ms, before maxAge`);
    });

    test('a destroyed session (logout through the app) is refused', async () => {
      const userId = uniqueUser('mg');
      const s = await login(userId);
      await accepted({ auth: { sessionID: s.signed, userId } }, userId);
      const out = await sessions.logout({ store: 'mongo', mongoUrl: ctx.ferret.url, dbName: DB, secret: SECRET, signed: s.signed });
      assert.equal(out.destroyed, true);
      assertRefused(await connectError(ctx.url, { auth: { sessionID: s.signed, userId } }), INVALID);
    });
  });
}
