'use strict';
// login()/logout() run a real HTTP login/logout against the Express app in
// app.js (on an ephemeral loopback port) and return what the browser would
// get. Every client and server is closed before the promise settles.

const http = require('node:http');
const signature = require('cookie-signature');
const { createApp, COOKIE_NAME } = require('./app');

// openStore builds the session store the options ask for and returns it
// with a close function.
async function openStore(opts) {
  if (opts.store === 'mongo') {
    const { MongoStore, createWebCryptoAdapter } = require('connect-mongo');
    const storeOpts = {
      mongoUrl: opts.mongoUrl,
      dbName: opts.dbName,
      collectionName: opts.collection || 'sessions',
      autoRemove: 'disabled',
      stringify: opts.stringify !== false,
    };
    if (opts.cryptoSecret) {
      if (opts.cryptoAdapter === 'webcrypto') {
        storeOpts.cryptoAdapter = createWebCryptoAdapter({ secret: opts.cryptoSecret });
      } else {
        storeOpts.crypto = { secret: opts.cryptoSecret };
      }
    }
    const store = MongoStore.create(storeOpts);
    return { store, close: () => store.close() };
  }
  if (opts.store === 'redis') {
    const { createClient } = require('redis');
    const { RedisStore } = require('connect-redis');
    const client = createClient({ url: opts.redisUrl });
    client.on('error', () => {}); // surfaced through the failing command instead
    await client.connect();
    const store = new RedisStore({ client, prefix: opts.prefix == null ? 'sess:' : opts.prefix });
    return { store, close: () => client.close() };
  }
  throw new Error(`unknown store ${JSON.stringify(opts.store)} (want mongo or redis)`);
}

function secretOf(opts) {
  const s = opts.secret == null ? 'keyboard cat' : opts.secret;
  return Array.isArray(s) ? s : String(s).split(',');
}

// withApp starts the app on 127.0.0.1:0, runs fn(port) and shuts everything down.
async function withApp(opts, fn) {
  const { store, close } = await openStore(opts);
  const app = createApp({ store, secret: secretOf(opts), maxAgeMs: opts.maxAgeMs, cookieName: opts.cookieName });
  const server = http.createServer(app);
  try {
    await new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', resolve);
    });
    return await fn(server.address().port);
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(() => resolve()));
    await close();
  }
}

function post(port, path, body, headers = {}) {
  return new Promise((resolve, reject) => {
    const data = Buffer.from(JSON.stringify(body));
    const req = http.request({
      host: '127.0.0.1', port, path, method: 'POST', agent: false,
      headers: { 'content-type': 'application/json', 'content-length': data.length, ...headers },
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json;
        try { json = JSON.parse(text); } catch { json = { error: text }; }
        if (res.statusCode !== 200) {
          reject(new Error(`${path}: HTTP ${res.statusCode}: ${json.error || text}`));
          return;
        }
        resolve({ headers: res.headers, body: json });
      });
    });
    req.on('error', reject);
    req.end(data);
  });
}

// login performs POST /login and returns { sid, signed, cookie }:
// sid is the raw session id, signed the cookie value `s:<sid>.<sig>` (not
// URL-encoded), cookie the full Set-Cookie header value.
async function login(opts) {
  const name = opts.cookieName || COOKIE_NAME;
  return withApp(opts, async (port) => {
    const body = { user: opts.user };
    if (opts.userName !== undefined) body.userName = opts.userName;
    if (opts.userRole !== undefined) body.userRole = opts.userRole;
    const res = await post(port, '/login', body);
    const setCookie = (res.headers['set-cookie'] || []).find((c) => c.startsWith(name + '='));
    if (!setCookie) throw new Error('login: no Set-Cookie for ' + name);
    const encoded = setCookie.slice(name.length + 1).split(';')[0];
    const signed = decodeURIComponent(encoded);
    const sid = signature.unsign(signed.slice(2), secretOf(opts)[0]);
    if (sid !== res.body.sid) throw new Error('login: cookie does not carry the session id');
    return { sid, signed, cookie: setCookie };
  });
}

// logout destroys a session through the app. It takes the session id (sid)
// or the signed value (signed) and returns { destroyed } (false when the
// app did not find a live session for it).
async function logout(opts) {
  const name = opts.cookieName || COOKIE_NAME;
  const signed = opts.signed || ('s:' + signature.sign(String(opts.sid), secretOf(opts)[0]));
  return withApp(opts, async (port) => {
    const res = await post(port, '/logout', {}, { cookie: `${name}=${encodeURIComponent(signed)}` });
    return { destroyed: res.body.destroyed };
  });
}

module.exports = { login, logout, createApp };
