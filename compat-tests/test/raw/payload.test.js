'use strict';
// Engine.IO payload encoding on polling ("\x1e" separator, binary as "b"+base64) and frames on
// WebSocket (text stays text, binary stays binary), plus invalid payloads.
const { it } = require('node:test');
const assert = require('node:assert/strict');
const { forEachTarget } = require('../../lib/fixtures');
const R = require('../../lib/raw');

forEachTarget('payload encoding (/engine.io/ echo)', (fx) => {
  const base = () => fx().eio;

  it('POST answers 200 "ok" text/html, Content-Length 2', async () => {
    const { sid } = await R.eioHandshake(base());
    const res = await R.eioPush(base(), sid, '4hello');
    assert.equal(res.status, 200);
    assert.equal(res.body, 'ok');
    assert.equal(res.headers['content-type'], 'text/html');
    assert.equal(res.headers['content-length'], '2');
    assert.equal(res.headers['access-control-allow-origin'], '*');
    assert.equal(res.headers['cache-control'], 'no-store');
  });

  it('text and binary packets are echoed in one payload: \\x1e separator, b+base64', async () => {
    const { sid } = await R.eioHandshake(base());
    const body = R.encodePayload(['4hello', '4wörld €', Buffer.from([1, 2, 3, 4]), '4']);
    assert.equal(body, '4hello\x1e4wörld €\x1ebAQIDBA==\x1e4');
    const push = await R.eioPush(base(), sid, body);
    assert.equal(push.status, 200);
    const res = await R.eioPoll(base(), sid);
    assert.equal(res.status, 200);
    assert.equal(res.body, body);
    assert.equal(res.headers['content-type'], 'text/plain; charset=UTF-8');
    assert.equal(res.headers['content-length'], String(Buffer.byteLength(body)));
    assert.equal(res.headers['cache-control'], 'no-store');
    assert.deepEqual(R.decodePayload(res.body), ['4hello', '4wörld €', Buffer.from([1, 2, 3, 4]), '4']);
  });

  it('a pending poll is answered as soon as a message is queued', async () => {
    const { sid } = await R.eioHandshake(base());
    const poll = R.eioPoll(base(), sid);
    await R.sleep(20);
    assert.equal((await R.eioPush(base(), sid, '4late')).status, 200);
    const res = await poll;
    assert.equal(res.status, 200);
    assert.equal(res.body, '4late');
  });

  it('server-side close after a message: the message alone, then NOOP + close in the next poll, then 400', async () => {
    // engine.io drains the queued packets before closing the transport: socket.io-client hands
    // decoded packets on a tick later, so a close in the same payload would overtake them.
    const { sid } = await R.eioHandshake(base());
    const first = R.eioPoll(base(), sid); // pending or not when the POST lands: same answers
    assert.equal((await R.eioPush(base(), sid, '4bye-then-close')).status, 200);
    const a = await first;
    assert.equal(a.status, 200);
    assert.equal(a.body, '4bye');
    const b = await R.eioPoll(base(), sid);
    assert.equal(b.status, 200);
    assert.equal(b.body, '6\x1e1');
    const c = await R.eioPoll(base(), sid);
    assert.equal(c.status, 400);
    assert.equal(c.body, '{"code":1,"message":"Session ID unknown"}');
  });

  it('POST body "abc" (invalid payload): Node answers 200 "ok", closes the session, next GET 400', async () => {
    const { sid } = await R.eioHandshake(base());
    const res = await R.eioPush(base(), sid, 'abc');
    assert.equal(res.status, 200);
    assert.equal(res.body, 'ok');
    const poll = await R.eioPoll(base(), sid);
    assert.equal(poll.status, 400);
    assert.equal(poll.body, '{"code":1,"message":"Session ID unknown"}');
  });

  it('POST with Content-Type application/octet-stream: 400 empty body, session closed', async () => {
    const { sid } = await R.eioHandshake(base());
    const res = await R.eioPush(base(), sid, Buffer.from([4, 1, 2]), { headers: { 'Content-Type': 'application/octet-stream' } });
    assert.equal(res.status, 400);
    assert.equal(res.body, '');
    const poll = await R.eioPoll(base(), sid);
    assert.equal(poll.status, 400);
    assert.equal(poll.body, '{"code":1,"message":"Session ID unknown"}');
  });

  it('websocket: text frame echoed as text, binary frame echoed as raw binary', async () => {
    const c = await R.wsHandshake(base(), { autoPong: true });
    try {
      c.send('4hello €');
      assert.equal(await c.next(), '4hello €');
      c.send(Buffer.from([0, 1, 2, 255]));
      const f = await c.waitFor((d) => d !== '2');
      assert.ok(Buffer.isBuffer(f), `expected a binary frame, got ${JSON.stringify(f)}`);
      assert.deepEqual(f, Buffer.from([0, 1, 2, 255]));
    } finally { c.close(); }
  });

  it('websocket: invalid packet "abc" closes the connection without a reply', async () => {
    const c = await R.wsHandshake(base());
    c.send('abc');
    await c.waitClose(1000);
    assert.deepEqual(c.pending().filter((d) => d !== '2'), []);
  });

  it('websocket: "1" (close) closes the connection', async () => {
    const c = await R.wsHandshake(base());
    c.send('1');
    await c.waitClose(1000);
    assert.deepEqual(c.pending().filter((d) => d !== '2'), []);
  });

  it('websocket: "2" (ping) from the client closes the connection (EIO 4: server pings only)', async () => {
    const c = await R.wsHandshake(base());
    c.send('2');
    await c.waitClose(1000);
    assert.deepEqual(c.pending(), []);
  });

  it('polling: POST "2" (ping) from the client closes the session; next GET 400', async () => {
    const { sid } = await R.eioHandshake(base());
    const res = await R.eioPush(base(), sid, '2');
    assert.equal(res.status, 200);
    assert.equal(res.body, 'ok');
    const poll = await R.eioPoll(base(), sid);
    assert.equal(poll.status, 400);
    assert.equal(poll.body, '{"code":1,"message":"Session ID unknown"}');
  });
});
