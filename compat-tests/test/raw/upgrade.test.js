'use strict';
// Upgrade from polling to WebSocket: probe, NOOP to the pending poll, "5", and the requests that
// must be refused afterwards. Each case runs 20 times.
const { it } = require('node:test');
const assert = require('node:assert/strict');
const { forEachTarget } = require('../../lib/fixtures');
const R = require('../../lib/raw');

const RUNS = 20;
const BAD_REQUEST = '{"code":3,"message":"Bad request"}';

// sync proves the server has processed everything sent before on the WebSocket: the echo endpoint
// answers in order.
async function sync(c, tag) {
  c.send(`4${tag}`);
  assert.equal(await c.waitFor((d) => d !== '2', 1000, `echo ${tag}`), `4${tag}`);
}

// probe opens the WebSocket for sid and does 2probe/3probe.
async function probe(base, sid) {
  const c = await R.wsOpen(base, { sid, autoPong: true });
  c.send('2probe');
  assert.equal(await c.waitFor((d) => d !== '2', 1000, '3probe'), '3probe');
  return c;
}

// upgradeNoop resolves once the poll that was pending at the probe has been answered with the NOOP
// ("6") that lets a polling client finish its upgrade. The server's ping interval (300 ms from the
// handshake or the last pong) races the upgrade, so the pending poll may legitimately get a ping
// ("2") first: it is answered with a pong and the poll renewed, as a client does, and the renewed
// poll must then get the NOOP. Any other answer fails.
const MAX_PINGS_BEFORE_NOOP = 3;
async function upgradeNoop(base, sid, poll) {
  const answers = [];
  let r = await poll.promise;
  for (;;) {
    answers.push(r.body);
    assert.equal(r.status, 200, `poll answers ${JSON.stringify(answers)}`);
    if (r.body !== '2') break;
    assert.ok(answers.length <= MAX_PINGS_BEFORE_NOOP, `more than ${MAX_PINGS_BEFORE_NOOP} pings and no NOOP: ${JSON.stringify(answers)}`);
    const pong = await R.eioPush(base, sid, '3');
    assert.equal(pong.status, 200);
    assert.equal(pong.body, 'ok');
    r = await R.eioPoll(base, sid);
  }
  assert.equal(r.body, '6', `pending poll answered ${JSON.stringify(answers)}, expected the NOOP "6" (after pings "2" only)`);
  return answers;
}

// secondSocketRefused opens another WebSocket with sid and expects it to be shut without any frame.
async function secondSocketRefused(base, sid) {
  const c2 = new R.WsClient(`${base.replace(/^http/, 'ws')}/?EIO=4&transport=websocket&sid=${sid}`);
  await c2.opened.catch(() => {});
  await c2.waitClose(1000);
  assert.equal(c2.frames.length, 0, `second socket got frames ${c2.dump()}`);
  return c2;
}

forEachTarget('upgrade', (fx) => {
  it(`probe answers 3probe, pending poll gets "6", "5" completes; then GET/POST 400 Bad request (x${RUNS})`, async () => {
    const base = fx().eio;
    await R.repeat(RUNS, 40000, async () => {
      const { sid } = await R.eioHandshake(base);
      const poll = await R.startPoll(base, sid);
      const c = await probe(base, sid);
      try {
        await upgradeNoop(base, sid, poll);
        c.send('5');
        await sync(c, 'after-upgrade');
        const get = await R.eioPoll(base, sid);
        assert.equal(get.status, 400);
        assert.equal(get.body, BAD_REQUEST);
        assert.equal(get.headers['content-type'], 'application/json');
        const post = await R.eioPush(base, sid, '4x');
        assert.equal(post.status, 400);
        assert.equal(post.body, BAD_REQUEST);
        await sync(c, 'still-open');
      } finally { c.close(); }
    });
  });

  it(`a message POSTed during the upgrade is delivered over the WebSocket after "5" (x${RUNS})`, async () => {
    const base = fx().eio;
    await R.repeat(RUNS, 40000, async () => {
      const { sid } = await R.eioHandshake(base);
      const poll = await R.startPoll(base, sid);
      const c = await probe(base, sid);
      try {
        await upgradeNoop(base, sid, poll);
        const post = await R.eioPush(base, sid, '4during');
        assert.equal(post.status, 200);
        assert.equal(post.body, 'ok');
        c.send('5');
        assert.equal(await c.waitFor((d) => d !== '2', 1000, 'buffered echo'), '4during');
      } finally { c.close(); }
    });
  });

  it(`upgrade without a pending poll: nothing but 3probe on the socket, then GET 400 (x${RUNS})`, async () => {
    const base = fx().eio;
    await R.repeat(RUNS, 40000, async () => {
      const { sid } = await R.eioHandshake(base);
      const c = await probe(base, sid);
      try {
        c.send('5');
        await sync(c, 'sync');
        assert.deepEqual(c.frames.map((f) => f.data).filter((d) => d !== '2'), ['3probe', '4sync']);
        const get = await R.eioPoll(base, sid);
        assert.equal(get.status, 400);
        assert.equal(get.body, BAD_REQUEST);
      } finally { c.close(); }
    });
  });

  it(`a second WebSocket with the same sid after the upgrade is closed; the first keeps working (x${RUNS})`, async () => {
    const base = fx().eio;
    await R.repeat(RUNS, 40000, async () => {
      const { sid } = await R.eioHandshake(base);
      const c = await probe(base, sid);
      try {
        c.send('5');
        await sync(c, 'upgraded');
        await secondSocketRefused(base, sid);
        await sync(c, 'first-alive');
      } finally { c.close(); }
    });
  });

  it(`a second WebSocket with the same sid during the upgrade is closed; the upgrade completes (x${RUNS})`, async () => {
    const base = fx().eio;
    await R.repeat(RUNS, 40000, async () => {
      const { sid } = await R.eioHandshake(base);
      const c = await probe(base, sid);
      try {
        await secondSocketRefused(base, sid);
        c.send('5');
        await sync(c, 'upgraded');
      } finally { c.close(); }
    });
  });
});
