'use strict';
// Engine.IO handshake and the HTTP 400 error cases, on both the raw Engine.IO endpoint and the
// Socket.IO endpoint, byte for byte (status, exact body, JSON key order, content type).
const { it } = require('node:test');
const assert = require('node:assert/strict');
const { forEachTarget } = require('../../lib/fixtures');
const R = require('../../lib/raw');

const HANDSHAKE_RE = (upgrades) =>
  new RegExp(`^0\\{"sid":"([A-Za-z0-9_-]+)","upgrades":${upgrades.replace(/[[\]]/g, '\\$&')},"pingInterval":300,"pingTimeout":200,"maxPayload":1000000\\}$`);

const ERRORS = {
  transport: '{"code":0,"message":"Transport unknown"}',
  sid: '{"code":1,"message":"Session ID unknown"}',
  method: '{"code":2,"message":"Bad handshake method"}',
  bad: '{"code":3,"message":"Bad request"}',
  version: '{"code":5,"message":"Unsupported protocol version"}',
};

function assertJSONError(res, body) {
  assert.equal(res.status, 400, `status; body ${JSON.stringify(res.body)}`);
  assert.equal(res.body, body);
  assert.equal(res.headers['content-type'], 'application/json');
  assert.equal(res.headers['access-control-allow-origin'], '*');
}

for (const endpoint of ['eio', 'sio']) {
  forEachTarget(`handshake (${endpoint === 'eio' ? '/engine.io/' : '/socket.io/'})`, (fx) => {
    const base = () => fx()[endpoint];

    it('polling handshake: exact keys in order, text/plain, CORS *, no-store', async () => {
      const res = await R.request(`${base()}/?EIO=4&transport=polling`);
      assert.equal(res.status, 200);
      assert.match(res.body, HANDSHAKE_RE('["websocket"]'));
      assert.equal(res.headers['content-type'], 'text/plain; charset=UTF-8');
      assert.equal(res.headers['content-length'], String(Buffer.byteLength(res.body)));
      assert.equal(res.headers['access-control-allow-origin'], '*');
      assert.equal(res.headers['cache-control'], 'no-store');
      const hs = JSON.parse(res.body.slice(1));
      assert.deepEqual(Object.keys(hs), ['sid', 'upgrades', 'pingInterval', 'pingTimeout', 'maxPayload']);
    });

    it('every handshake gets a distinct sid', async () => {
      const sids = new Set();
      for (let i = 0; i < 10; i++) sids.add((await R.eioHandshake(base())).sid);
      assert.equal(sids.size, 10);
    });

    it('websocket handshake: same keys with "upgrades":[]', async () => {
      const c = await R.wsHandshake(base());
      try {
        assert.match(c.openPacket, HANDSHAKE_RE('[]'));
        assert.deepEqual(Object.keys(c.handshake), ['sid', 'upgrades', 'pingInterval', 'pingTimeout', 'maxPayload']);
      } finally { c.close(); }
    });

    const cases = [
      ['missing EIO', 'GET', '?transport=polling', ERRORS.version],
      ['EIO=abc', 'GET', '?EIO=abc&transport=polling', ERRORS.version],
      ['EIO=3 (unsupported)', 'GET', '?EIO=3&transport=polling', ERRORS.version],
      ['EIO=5 (unsupported)', 'GET', '?EIO=5&transport=polling', ERRORS.version],
      ['missing transport', 'GET', '?EIO=4', ERRORS.transport],
      ['unknown transport', 'GET', '?EIO=4&transport=abc', ERRORS.transport],
      ['POST without sid', 'POST', '?EIO=4&transport=polling', ERRORS.method],
      ['PUT without sid', 'PUT', '?EIO=4&transport=polling', ERRORS.method],
      ['GET unknown sid', 'GET', '?EIO=4&transport=polling&sid=nope', ERRORS.sid],
      ['POST unknown sid', 'POST', '?EIO=4&transport=polling&sid=nope', ERRORS.sid],
      ['transport=websocket without Upgrade', 'GET', '?EIO=4&transport=websocket', ERRORS.bad],
      ['transport=websocket unknown sid without Upgrade', 'GET', '?EIO=4&transport=websocket&sid=nope', ERRORS.sid],
    ];
    for (const [name, method, query, body] of cases) {
      it(`400 ${name} -> ${body}`, async () => {
        const res = await R.request(`${base()}/${query}`, { method, body: method === 'GET' ? undefined : '4x' });
        assertJSONError(res, body);
      });
    }

    it('CORS preflight: 204, allow-origin *, allow-methods', async () => {
      const res = await R.request(`${base()}/?EIO=4&transport=polling`, {
        method: 'OPTIONS',
        headers: { Origin: 'http://example.test', 'Access-Control-Request-Method': 'POST' },
      });
      assert.equal(res.status, 204);
      assert.equal(res.body, '');
      assert.equal(res.headers['access-control-allow-origin'], '*');
      assert.equal(res.headers['access-control-allow-methods'], 'GET,HEAD,PUT,PATCH,POST,DELETE');
    });

    it('websocket upgrade with unknown sid: HTTP 400 text/html "Session ID unknown"', async () => {
      const c = new R.WsClient(`${base().replace(/^http/, 'ws')}/?EIO=4&transport=websocket&sid=nope`);
      const err = await c.opened.then(() => null, (e) => e);
      c.close();
      assert.ok(err && err.response, `expected an HTTP error response, got ${err && err.message}`);
      assert.equal(err.response.status, 400);
      assert.equal(err.response.headers['content-type'], 'text/html');
      assert.equal(err.response.body, 'Session ID unknown');
    });

    for (const [name, query] of [['missing EIO', '?transport=websocket'], ['EIO=3', '?EIO=3&transport=websocket']]) {
      // Node accepts the WebSocket and then writes an HTTP 400 onto the upgraded socket and
      // destroys it; refusing the upgrade with HTTP 400 is indistinguishable for a client.
      it(`websocket with ${name}: no open packet, connection ends`, async () => {
        const c = new R.WsClient(`${base().replace(/^http/, 'ws')}/${query}`);
        await c.opened.catch(() => {});
        await c.waitClose(2000);
        assert.ok(!c.frames.some((f) => typeof f.data === 'string' && f.data[0] === '0'), `got frames ${c.dump()}`);
      });
    }
  });
}
