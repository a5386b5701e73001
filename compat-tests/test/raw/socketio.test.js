'use strict';
// Socket.IO protocol v5 over raw WebSocket/polling: CONNECT, namespaces, DISCONNECT, malformed
// packets, connectTimeout, events, acks, binary attachments.
const { it } = require('node:test');
const assert = require('node:assert/strict');
const { forEachTarget } = require('../../lib/fixtures');
const R = require('../../lib/raw');

const CONNECT_RE = (prefix) => new RegExp(`^40${prefix}\\{"sid":"[A-Za-z0-9_-]+"\\}$`);

// assertClosedSilently: the connection closes within ms and nothing but pings arrived.
async function assertClosedSilently(c, ms = 1000) {
  await c.waitClose(ms);
  assert.deepEqual(c.pending().filter((d) => d !== '2'), [], 'no reply before the close');
}

forEachTarget('socket.io connect', (fx) => {
  const base = () => fx().sio;

  it('"40" -> 40{"sid":...} with exactly that key, then auth {}', async () => {
    const c = await R.sioConnect(base());
    try {
      assert.match(c.connectReply, CONNECT_RE(''));
      assert.deepEqual(Object.keys(JSON.parse(c.connectReply.slice(2))), ['sid']);
      assert.equal(c.authEvent, '42["auth",{}]');
    } finally { c.close(); }
  });

  it('"40/custom," -> 40/custom,{"sid":...}, then auth {}', async () => {
    const c = await R.sioConnect(base(), { nsp: '/custom' });
    try {
      assert.match(c.connectReply, CONNECT_RE('/custom,'));
      assert.equal(c.authEvent, '42/custom,["auth",{}]');
    } finally { c.close(); }
  });

  it('"40/custom" without the trailing comma works the same', async () => {
    const c = await R.wsHandshake(base(), { autoPong: true });
    try {
      c.send('40/custom');
      assert.match(await c.next(), CONNECT_RE('/custom,'));
      assert.equal(await c.next(), '42/custom,["auth",{}]');
    } finally { c.close(); }
  });

  it('CONNECT with auth payload is echoed in the auth event, key order kept', async () => {
    const c = await R.sioConnect(base(), { auth: '{"token":"123","b":1,"a":[true,null]}' });
    const d = await R.sioConnect(base(), { nsp: '/custom', auth: '{"token":"abc"}' });
    try {
      assert.equal(c.authEvent, '42["auth",{"token":"123","b":1,"a":[true,null]}]');
      assert.equal(d.authEvent, '42/custom,["auth",{"token":"abc"}]');
    } finally { c.close(); d.close(); }
  });

  it('both namespaces on one connection get distinct sids', async () => {
    const c = await R.sioConnect(base());
    try {
      c.send('40/custom,');
      const reply = await c.next();
      assert.match(reply, CONNECT_RE('/custom,'));
      assert.notEqual(JSON.parse(reply.slice(10)).sid, c.sioSid);
      assert.equal(await c.next(), '42/custom,["auth",{}]');
    } finally { c.close(); }
  });

  for (const pkt of ['40/random,', '40/random']) {
    it(`unknown namespace "${pkt}" -> 44/random,{"message":"Invalid namespace"}, connection stays`, async () => {
      const c = await R.wsHandshake(base(), { autoPong: true });
      try {
        c.send(pkt);
        assert.equal(await c.next(), '44/random,{"message":"Invalid namespace"}');
        c.send('40');
        assert.match(await c.next(), CONNECT_RE(''));
      } finally { c.close(); }
    });
  }

  it('"41" gets no reply, the connection stays, and "40" connects again', async () => {
    const c = await R.sioConnect(base());
    try {
      c.send('41');
      c.send('40/custom,');
      assert.match(await c.next(), CONNECT_RE('/custom,'), 'nothing in reply to 41 before the CONNECT reply');
      assert.equal(await c.next(), '42/custom,["auth",{}]');
      c.send('40');
      assert.match(await c.next(), CONNECT_RE(''));
      assert.equal(await c.next(), '42["auth",{}]');
    } finally { c.close(); }
  });

  it('"41/custom," then an event on "/" is still answered (DISCONNECT does not overtake)', async () => {
    const c = await R.sioConnect(base());
    try {
      c.send('40/custom,');
      await c.next(); await c.next();
      c.send('41/custom,');
      c.send('42["message","to main"]');
      assert.equal(await c.next(), '42["message-back","to main"]');
    } finally { c.close(); }
  });

  const beforeConnect = ['4abc', '40abc', '40/custom,abc', '40[]', '40"x"', '40null', '4', '47', '48', '49', '4x'];
  for (const pkt of beforeConnect) {
    it(`malformed/unknown packet before CONNECT ${JSON.stringify(pkt)} closes the connection`, async () => {
      const c = await R.wsHandshake(base(), { autoPong: true });
      c.send(pkt);
      await assertClosedSilently(c);
    });
  }

  const afterConnect = ['42{}', '42abc["message"]', '42"x"', '42[]', '4abc', '47', '49', '44{}', '451-{}',
    '42/custom,["message"]', '41/custom,'];
  for (const pkt of afterConnect) {
    it(`bad packet after CONNECT ${JSON.stringify(pkt)} closes the connection`, async () => {
      const c = await R.sioConnect(base());
      c.send(pkt);
      await assertClosedSilently(c);
    });
  }

  it('a numeric event name 42[1] is accepted (connection stays)', async () => {
    const c = await R.sioConnect(base());
    try {
      c.send('42[1]');
      c.send('42["message","after"]');
      assert.equal(await c.next(), '42["message-back","after"]');
      assert.equal(c.closed, null);
    } finally { c.close(); }
  });

  it('no CONNECT within connectTimeout (1000 ms) closes the connection', async () => {
    const c = await R.wsHandshake(base(), { autoPong: true });
    const t0 = Date.now();
    await c.waitClose(2000);
    const dt = Date.now() - t0;
    assert.ok(dt >= 950 && dt <= 1700, `closed after ${dt} ms`);
    assert.deepEqual(c.pending().filter((d) => d !== '2'), []);
  });

  it('polling: POST "40" -> poll "40{"sid":...}\\x1e42["auth",{}]"', async () => {
    const { sid } = await R.eioHandshake(base());
    const push = await R.eioPush(base(), sid, '40');
    assert.equal(push.status, 200);
    assert.equal(push.body, 'ok');
    const res = await R.eioPoll(base(), sid);
    assert.equal(res.status, 200);
    assert.match(res.body, /^40\{"sid":"[A-Za-z0-9_-]+"\}\x1e42\["auth",\{\}\]$/);
  });

  it('polling: a bad Socket.IO packet closes the session; the pending poll gets "1", then 400', async () => {
    const { sid } = await R.eioHandshake(base());
    await R.eioPush(base(), sid, '40');
    await R.eioPoll(base(), sid);
    const poll = await R.startPoll(base(), sid);
    const push = await R.eioPush(base(), sid, '42{}');
    assert.equal(push.status, 200);
    const r = await poll.promise;
    assert.equal(r.status, 200);
    assert.equal(r.body, '1');
    const after = await R.eioPoll(base(), sid);
    assert.equal(after.status, 400);
  });
});

forEachTarget('socket.io messages', (fx) => {
  const base = () => fx().sio;

  it('message -> message-back with the same arguments, JSON compact and in key order', async () => {
    const c = await R.sioConnect(base());
    try {
      c.send('42["message",1,"2",{"3":[true],"b":null,"a":1.5}]');
      assert.equal(await c.next(), '42["message-back",1,"2",{"3":[true],"b":null,"a":1.5}]');
    } finally { c.close(); }
  });

  it('events are handled in order (100 events)', async () => {
    const c = await R.sioConnect(base());
    try {
      for (let i = 0; i < 100; i++) c.send(`42["message",${i}]`);
      for (let i = 0; i < 100; i++) assert.equal(await c.next(), `42["message-back",${i}]`);
    } finally { c.close(); }
  });

  it('message-with-ack -> 43<id>[same arguments]', async () => {
    const c = await R.sioConnect(base());
    try {
      c.send('421["message-with-ack",1,"2",{"3":[true]}]');
      assert.equal(await c.next(), '431[1,"2",{"3":[true]}]');
      c.send('42456["message-with-ack"]');
      assert.equal(await c.next(), '43456[]');
    } finally { c.close(); }
  });

  it('events on "/custom" have no handler: no reply', async () => {
    const c = await R.sioConnect(base(), { nsp: '/custom' });
    try {
      c.send('42/custom,["message",1]');
      c.send('40');
      assert.match(await c.next(), CONNECT_RE(''), 'nothing before the CONNECT reply');
    } finally { c.close(); }
  });

  it('binary event: 451-[...placeholder] + attachment frame both ways', async () => {
    const c = await R.sioConnect(base());
    try {
      c.send('452-["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]');
      c.send(Buffer.from([1, 2, 3]));
      c.send(Buffer.from([4, 5, 6]));
      assert.equal(await c.next(), '452-["message-back",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]');
      assert.deepEqual(await c.next(), Buffer.from([1, 2, 3]));
      assert.deepEqual(await c.next(), Buffer.from([4, 5, 6]));
    } finally { c.close(); }
  });

  it('binary ack: 451-12[...] -> 461-12[...] + attachment', async () => {
    const c = await R.sioConnect(base());
    try {
      c.send('451-12["message-with-ack",{"_placeholder":true,"num":0},"x"]');
      c.send(Buffer.from([9, 8]));
      assert.equal(await c.next(), '461-12[{"_placeholder":true,"num":0},"x"]');
      assert.deepEqual(await c.next(), Buffer.from([9, 8]));
    } finally { c.close(); }
  });

  it('10 attachments are accepted', async () => {
    const c = await R.sioConnect(base());
    try {
      const ph = Array.from({ length: 10 }, (_, i) => `{"_placeholder":true,"num":${i}}`).join(',');
      c.send(`4510-["message",${ph}]`);
      for (let i = 0; i < 10; i++) c.send(Buffer.from([i]));
      assert.equal(await c.next(), `4510-["message-back",${ph}]`);
      for (let i = 0; i < 10; i++) assert.deepEqual(await c.next(), Buffer.from([i]));
    } finally { c.close(); }
  });

  it('11 attachments: the connection is closed at once, before any attachment', async () => {
    const c = await R.sioConnect(base());
    const ph = Array.from({ length: 11 }, (_, i) => `{"_placeholder":true,"num":${i}}`).join(',');
    c.send(`4511-["message",${ph}]`);
    await assertClosedSilently(c);
  });

  it('binary event over polling: attachment as b+base64 in the same payload', async () => {
    const { sid } = await R.eioHandshake(base());
    await R.eioPush(base(), sid, '40');
    await R.eioPoll(base(), sid);
    const push = await R.eioPush(base(), sid, '451-["message",{"_placeholder":true,"num":0}]\x1ebAQID');
    assert.equal(push.status, 200);
    const res = await R.eioPoll(base(), sid);
    assert.equal(res.body, '451-["message-back",{"_placeholder":true,"num":0}]\x1ebAQID');
  });
});
