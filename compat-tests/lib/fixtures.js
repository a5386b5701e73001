'use strict';
// Starts the conformance fixture for one TARGET on a free loopback port and stops it.
//   node -> node fixture-node/server.js
//   go   -> $GO_FIXTURE_BIN (default <repo>/bin/fixture); missing binary is a hard failure.
// TARGET env: go | node | both (default both). Test files loop over targets() and register
// every case once per target: describe(`[${target}] ...`).
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');

const COMPAT_DIR = path.resolve(__dirname, '..');
const REPO_DIR = path.resolve(COMPAT_DIR, '..');

function targets() {
  const t = (process.env.TARGET || 'both').trim();
  if (t === 'both') return ['node', 'go'];
  if (t === 'node' || t === 'go') return [t];
  throw new Error(`TARGET must be go, node or both, got ${JSON.stringify(t)}`);
}

function goFixtureBin() {
  return process.env.GO_FIXTURE_BIN || path.join(REPO_DIR, 'bin', 'fixture');
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function command(target) {
  if (target === 'node') return [process.execPath, [path.join(COMPAT_DIR, 'fixture-node', 'server.js')]];
  if (target === 'go') {
    const bin = goFixtureBin();
    if (!fs.existsSync(bin)) {
      throw new Error(`TARGET includes go but the Go fixture binary ${bin} is missing: build it (go build -o bin/fixture ./compat-tests/fixture) or set GO_FIXTURE_BIN`);
    }
    return [bin, []];
  }
  throw new Error(`unknown target ${target}`);
}

function canConnect(port) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

// startFixture resolves {target, port, origin, eio, sio, stop()} where eio and sio are the
// base URLs of the raw Engine.IO and the Socket.IO endpoints (no trailing slash).
// readyTimeoutMs is not a property under test: a loaded 2-core machine can take seconds to load
// the Node fixture's modules.
async function startFixture(target, { readyTimeoutMs = 30000 } = {}) {
  const [cmd, args] = command(target);
  const port = await freePort();
  const child = spawn(cmd, args, {
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let sawListening = false;
  const onData = (d) => {
    output += d.toString();
    if (output.length > 100000) output = output.slice(-50000);
    if (/listening/.test(output)) sawListening = true;
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  let exited = null;
  child.on('exit', (code, signal) => { exited = { code, signal }; });

  const deadline = Date.now() + readyTimeoutMs;
  for (;;) {
    if (exited) throw new Error(`[${target}] fixture exited early (${JSON.stringify(exited)}): ${output}`);
    if (sawListening && (await canConnect(port))) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`[${target}] fixture not ready after ${readyTimeoutMs}ms: ${output}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  const origin = `http://127.0.0.1:${port}`;
  return {
    target,
    port,
    origin,
    eio: `${origin}/engine.io`,
    sio: `${origin}/socket.io`,
    output: () => output,
    stop: () => new Promise((resolve) => {
      if (exited) return resolve();
      const t = setTimeout(() => child.kill('SIGKILL'), 2000);
      child.once('exit', () => { clearTimeout(t); resolve(); });
      child.kill('SIGTERM');
    }),
  };
}

// forEachTarget registers describe(`[${target}] ${title}`) once per target, with the fixture
// started before the cases and stopped after them; body receives a getter for the fixture.
function forEachTarget(title, body) {
  const { describe, before, after } = require('node:test');
  for (const target of targets()) {
    describe(`[${target}] ${title}`, () => {
      let fx = null;
      let startError = null;
      // A fixture that cannot start (e.g. missing Go binary) fails every case with the reason.
      before(async () => {
        try { fx = await startFixture(target); } catch (e) { startError = e; }
      });
      after(async () => { if (fx) await fx.stop(); });
      body(() => {
        if (startError) throw startError;
        return fx;
      }, target);
    });
  }
}

module.exports = { targets, startFixture, forEachTarget, goFixtureBin, COMPAT_DIR, REPO_DIR };
