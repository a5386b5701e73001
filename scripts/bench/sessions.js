#!/usr/bin/env node
'use strict';
// Creates benchmark sessions with the real Express 5 + express-session 1.19 + connect-redis 10
// app of compat-tests/sessions (POST /login, passport-style), one login per user, many logins
// over keep-alive connections, and writes one JSON line per session to the output file:
//   {"user":"bench-17","signed":"s:<sid>.<sig>"}
//
//   node scripts/bench/sessions.js <redisUrl> <count> <secret> <outFile>
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');

const COMPAT = path.resolve(__dirname, '..', '..', 'compat-tests');
const requireCompat = (m) => require(require.resolve(m, { paths: [COMPAT] }));
const { createApp, COOKIE_NAME } = require(path.join(COMPAT, 'sessions', 'app.js'));

async function main() {
  const [redisUrl, countArg, secret, out] = process.argv.slice(2);
  const count = Number(countArg);
  if (!redisUrl || !Number.isInteger(count) || count < 1 || !secret || !out) {
    throw new Error('usage: sessions.js <redisUrl> <count> <secret> <outFile>');
  }
  const { createClient } = requireCompat('redis');
  const { RedisStore } = requireCompat('connect-redis');
  const signature = requireCompat('cookie-signature');
  const client = createClient({ url: redisUrl });
  await client.connect();
  const store = new RedisStore({ client, prefix: 'sess:' });
  const app = createApp({ store, secret: [secret], maxAgeMs: 24 * 3600 * 1000 });
  const server = http.createServer(app);
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });

  const login = (user) => new Promise((resolve, reject) => {
    const body = Buffer.from(JSON.stringify({ user, userName: `Bench ${user}` }));
    const req = http.request({
      host: '127.0.0.1', port, path: '/login', method: 'POST', agent,
      headers: { 'content-type': 'application/json', 'content-length': body.length },
    }, (res) => {
      res.resume();
      res.on('end', () => {
        const c = (res.headers['set-cookie'] || []).find((s) => s.startsWith(COOKIE_NAME + '='));
        if (res.statusCode !== 200 || !c) return reject(new Error(`login ${user}: HTTP ${res.statusCode}`));
        const signed = decodeURIComponent(c.slice(COOKIE_NAME.length + 1).split(';')[0]);
        if (signature.unsign(signed.slice(2), secret) === false) return reject(new Error('bad signature'));
        return resolve(signed);
      });
    });
    req.on('error', reject);
    req.end(body);
  });

  const start = Date.now();
  const lines = new Array(count);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      const user = `bench-${i}`;
      lines[i] = JSON.stringify({ user, signed: await login(user) });
    }
  };
  await Promise.all(Array.from({ length: 32 }, worker));
  fs.writeFileSync(out, lines.join('\n') + '\n');
  agent.destroy();
  server.close();
  await client.close();
  const s = (Date.now() - start) / 1000;
  console.error(`sessions: ${count} logins in ${s.toFixed(1)} s (${Math.round(count / s)}/s) -> ${out}`);
}

main().catch((e) => { console.error(e); process.exit(1); });
