#!/usr/bin/env node
'use strict';
// Command-line front end of index.js for the Go tests. Prints one JSON line.
//
//   node cli.js login  --store redis --redis-url redis://127.0.0.1:6379 --prefix sess: \
//                      --secret s1 --user '"u1"' --user-name Alice --user-role admin --max-age-ms 60000
//   node cli.js login  --store mongo --mongo-url mongodb://127.0.0.1:27017/ --db-name app \
//                      --collection sessions [--no-stringify] [--crypto-secret x [--crypto-adapter webcrypto]] ...
//   node cli.js logout --store redis --redis-url ... --sid <sid> (or --signed 's:...')
//
// --user takes JSON ('"u1"' is a string, '123' a number); a value that is not
// JSON is taken as a string. Exit status 1 with {"error": ...} on failure.

const { login, logout } = require('./index');

const FLAGS = {
  '--store': 'store', '--mongo-url': 'mongoUrl', '--db-name': 'dbName', '--collection': 'collection',
  '--redis-url': 'redisUrl', '--prefix': 'prefix', '--secret': 'secret', '--user': 'user',
  '--user-name': 'userName', '--user-role': 'userRole', '--max-age-ms': 'maxAgeMs',
  '--crypto-secret': 'cryptoSecret', '--crypto-adapter': 'cryptoAdapter', '--sid': 'sid',
  '--signed': 'signed', '--cookie-name': 'cookieName',
};

function parseArgs(argv) {
  const opts = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--no-stringify') { opts.stringify = false; continue; }
    const key = FLAGS[a];
    if (!key || i + 1 >= argv.length) throw new Error(`bad argument ${JSON.stringify(a)}`);
    let v = argv[++i];
    if (key === 'user') {
      try { v = JSON.parse(v); } catch { /* a bare string */ }
    } else if (key === 'maxAgeMs') {
      v = Number(v);
      if (!Number.isFinite(v)) throw new Error('--max-age-ms wants a number');
    }
    opts[key] = v;
  }
  return opts;
}

async function main() {
  const [cmd, ...rest] = process.argv.slice(2);
  const opts = parseArgs(rest);
  let out;
  if (cmd === 'login') out = await login(opts);
  else if (cmd === 'logout') out = await logout(opts);
  else throw new Error('usage: cli.js login|logout --store mongo|redis ...');
  process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch((err) => {
  process.stdout.write(JSON.stringify({ error: String(err && err.message || err) }) + '\n');
  process.exitCode = 1;
});
