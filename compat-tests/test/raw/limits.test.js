'use strict';
// maxHttpBufferSize (1000000): polling bodies and WebSocket messages at and over the limit.
const { it } = require('node:test');
const assert = require('node:assert/strict');
const { forEachTarget } = require('../../lib/fixtures');
const R = require('../../lib/raw');

const MAX = 1000000;

forEachTarget('size limits', (fx) => {
  it('polling body of exactly maxPayload bytes is accepted and echoed', async () => {
    const base = fx().eio;
    const { sid } = await R.eioHandshake(base);
    const body = '4' + 'a'.repeat(MAX - 1);
    const push = await R.eioPush(base, sid, body);
    assert.equal(push.status, 200);
    assert.equal(push.body, 'ok');
    const res = await R.eioPoll(base, sid);
    assert.equal(res.status, 200);
    assert.equal(res.body, body);
  });

  it('polling body over maxPayload -> 413 with an empty body (Node: the session survives)', async () => {
    const base = fx().eio;
    const { sid } = await R.eioHandshake(base);
    const push = await R.eioPush(base, sid, '4' + 'a'.repeat(MAX));
    assert.equal(push.status, 413);
    assert.equal(push.body, '');
    assert.equal(push.headers['content-type'], undefined);
    // Node: the 413 does not close the session; the next poll gets the first ping
    const res = await R.eioPoll(base, sid);
    assert.equal(res.status, 200);
    assert.equal(res.body, '2');
  });

  for (const [name, endpoint, pre] of [['engine.io', 'eio', false], ['socket.io', 'sio', true]]) {
    it(`${name} websocket message over maxPayload -> closed with code 1009`, async () => {
      const base = fx()[endpoint];
      const c = pre ? await R.sioConnect(base) : await R.wsHandshake(base, { autoPong: true });
      c.send(pre ? `42["message","${'a'.repeat(MAX)}"]` : '4' + 'a'.repeat(MAX));
      const closed = await c.waitClose(2000);
      assert.equal(closed.code, 1009);
      assert.deepEqual(c.pending().filter((d) => d !== '2'), []);
    });
  }

  it('engine.io websocket message of exactly maxPayload bytes is echoed', async () => {
    const c = await R.wsHandshake(fx().eio, { autoPong: true });
    try {
      const msg = '4' + 'a'.repeat(MAX - 1);
      c.send(msg);
      assert.equal(await c.next(3000), msg);
    } finally { c.close(); }
  });
});
