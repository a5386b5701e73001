'use strict';
// Polling session races: concurrent GETs, a cancelled poll, forced close. Each runs 20 times.
const { it } = require('node:test');
const assert = require('node:assert/strict');
const { forEachTarget } = require('../../lib/fixtures');
const R = require('../../lib/raw');

const RUNS = 20;
const GONE = '{"code":1,"message":"Session ID unknown"}';

forEachTarget('polling races', (fx) => {
  it(`two concurrent GET polls: first answered "1", second 400 (empty body), session closed (x${RUNS})`, async () => {
    const base = fx().eio;
    await R.repeat(RUNS, 30000, async () => {
      const { sid } = await R.eioHandshake(base);
      const first = await R.startPoll(base, sid);
      const second = await R.eioPoll(base, sid);
      const r1 = await first.promise;
      assert.equal(r1.status, 200);
      assert.equal(r1.body, '1');
      assert.equal(r1.headers['content-type'], 'text/plain; charset=UTF-8');
      assert.equal(second.status, 400);
      assert.equal(second.body, '');
      const after = await R.eioPoll(base, sid);
      assert.equal(after.status, 400);
      assert.equal(after.body, GONE);
    });
  });

  it(`a poll the client cancels (connection dropped) closes the session (x${RUNS})`, async () => {
    const base = fx().eio;
    await R.repeat(RUNS, 30000, async () => {
      const { sid } = await R.eioHandshake(base);
      const poll = await R.startPoll(base, sid);
      poll.abort();
      const res = await R.waitSessionGone(base, sid, 1000);
      assert.equal(res.status, 400, 'session still alive 1 s after the poll was cancelled');
      assert.equal(res.body, GONE);
    });
  });

  it(`forced close: POST "1" answers "ok", the pending poll gets "6", then the session is gone (x${RUNS})`, async () => {
    const base = fx().eio;
    await R.repeat(RUNS, 30000, async () => {
      const { sid } = await R.eioHandshake(base);
      const poll = await R.startPoll(base, sid);
      const push = await R.eioPush(base, sid, '1');
      assert.equal(push.status, 200);
      assert.equal(push.body, 'ok');
      const r = await poll.promise;
      assert.equal(r.status, 200);
      assert.equal(r.body, '6');
      const after = await R.eioPoll(base, sid);
      assert.equal(after.status, 400);
      assert.equal(after.body, GONE);
    });
  });

  it(`forced close without a pending poll: POST "1" -> "ok", next GET 400 (x${RUNS})`, async () => {
    const base = fx().eio;
    await R.repeat(RUNS, 30000, async () => {
      const { sid } = await R.eioHandshake(base);
      const push = await R.eioPush(base, sid, '1');
      assert.equal(push.status, 200);
      assert.equal(push.body, 'ok');
      const after = await R.eioPoll(base, sid);
      assert.equal(after.status, 400);
      assert.equal(after.body, GONE);
    });
  });

  it(`packets before the close in one POST are still delivered: "4a\\x1e1" (x${RUNS})`, async () => {
    const base = fx().eio;
    await R.repeat(RUNS, 30000, async () => {
      const { sid } = await R.eioHandshake(base);
      const poll = await R.startPoll(base, sid);
      const push = await R.eioPush(base, sid, '4a\x1e1');
      assert.equal(push.status, 200);
      const r = await poll.promise;
      assert.equal(r.status, 200);
      assert.equal(r.body, '4a');
      const after = await R.eioPoll(base, sid);
      assert.equal(after.status, 400);
    });
  });
});
