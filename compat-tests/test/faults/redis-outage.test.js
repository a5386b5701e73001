'use strict';
// Fault: Redis (adapter, rate/subscription counts, sessions) is SIGKILLed and restarted on the same
// port while 200 clients on two instances receive a 50 msgs/s stream emitted on instance A.
const { describe, test, after } = require('node:test');
const assert = require('node:assert/strict');
const { targets, startServer, suiteEnv, login, closeClients, uniqueUser, delay } = require('../../lib/servers');
const { connect, ack } = require('../../lib/client');
const { startRedisProc, startStream, track, maxGap, serverGap, watchLoop, connectMany, closeAll, waitUntil, pct } = require('../../lib/faults');

const USERS = 20;
const TABS = 10; // 20 x 10 = 200 clients, tabs 0-4 on A, 5-9 on B
const RATE = 50;
const OUTAGE_MS = 3000;
const CAP = 20;
const LEASE_MS = 3000;

for (const target of targets()) {
  describe(`faults: Redis SIGKILL + restart under a stream [${target}]`, () => {
    const cleanup = [];
    after(async () => {
      for (const fn of cleanup.reverse()) {
        try { await fn(); } catch { /* best effort */ }
      }
      await closeClients();
    });

    // The reference does not reliably survive this (seen: exit 1 on an unhandled
    // SocketClosedUnexpectedlyError from @redis/client 5.9.0; in another run B never got messages
    // again within 15 s): its result is reported, not counted.
    const todo = target === 'node' ? 'the Node reference does not reliably survive a Redis SIGKILL (exit 1 on an unhandled SocketClosedUnexpectedlyError, or cross-instance delivery never resuming)' : false;
    test('local delivery continues, cross-instance resumes within 5 s, no crash, no stuck subscription counts', { timeout: 90000, todo }, async (t) => {
      const redis = await startRedisProc();
      cleanup.push(() => redis.stop());
      // Redis runs without persistence, so its restart also loses the sessions: the periodic
      // session re-check would (rightly) log everyone out, which is not this test's subject.
      const env = suiteEnv(redis.url, {
        RATE_LIMIT_MAX: '1000', MAX_SUBSCRIPTIONS: String(CAP), SUBSCRIPTION_LEASE_MS: String(LEASE_MS), SESSION_RECHECK_MS: '600000',
      });
      const a = await startServer(target, { env });
      cleanup.push(() => a.stop().catch(() => a.kill()));
      const b = await startServer(target, { env });
      cleanup.push(() => b.stop().catch(() => b.kill()));

      const sym = `F${Date.now().toString(36).toUpperCase().slice(-6)}`;
      const room = `watchlist:${sym}`;
      const auths = [];
      for (let i = 0; i < USERS; i++) {
        const userId = uniqueUser(`flt${target}`);
        const s = await login(redis.url, userId);
        for (let j = 0; j < TABS; j++) auths.push({ auth: { sessionID: s.signed, userId }, side: j < TABS / 2 ? 'A' : 'B' });
      }
      const onA = auths.filter((x) => x.side === 'A').map((x) => x.auth);
      const onB = auths.filter((x) => x.side === 'B').map((x) => x.auth);
      const sockA = await connectMany(a.url, onA);
      cleanup.push(() => closeAll(sockA));
      const sockB = await connectMany(b.url, onB);
      cleanup.push(() => closeAll(sockB));
      await Promise.all([...sockA, ...sockB].map(async (s) => {
        const res = await ack(s, 'subscribe:watchlist', { symbols: [sym] });
        assert.equal(res.ok, true, JSON.stringify(res));
      }));

      // a user at the subscription cap, on B (its count lives in Redis)
      const capUser = uniqueUser(`cap${target}`);
      const capSess = await login(redis.url, capUser);
      const { socket: capSock } = await connect(b.url, { auth: { sessionID: capSess.signed, userId: capUser }, transports: ['websocket'] });
      cleanup.push(() => capSock.close());
      const capSyms = Array.from({ length: CAP + 2 }, (_, i) => `C${i}${sym}`);
      assert.equal((await ack(capSock, 'subscribe:watchlist', { symbols: capSyms.slice(0, CAP) })).ok, true);
      const before = await ack(capSock, 'subscribe:watchlist', { symbols: [capSyms[CAP]] });
      assert.equal(before.code, 'SUBSCRIPTION_LIMIT', `at the cap before the outage: ${JSON.stringify(before)}`);

      const arrA = sockA.map((s) => track(s, 'quote:update', (d) => d.quote.seq));
      const arrB = sockB.map((s) => track(s, 'quote:update', (d) => d.quote.seq));
      const loop = watchLoop();
      cleanup.push(() => loop.stop());
      const stream = startStream(a.url, {
        rate: RATE,
        make: (seq) => ({ room, event: 'quote:update', data: { symbol: sym, quote: { price: 100 + seq / 100, seq } } }),
      });
      cleanup.push(() => stream.stop());
      const all = [...arrA, ...arrB];
      await waitUntil(() => all.every((x) => x.length >= 20), 15000, 'every client to get 20 messages before the fault');

      const tKill = Date.now();
      redis.kill('SIGKILL');
      await redis.exited;
      await delay(OUTAGE_MS); // the outage itself
      // Redis may accept (and A flush what it queued) a little before this process, which polls
      // for it and serves 200 clients, notices: "during the outage" ends when it is spawned.
      const tRestart = Date.now();
      await redis.start();
      const tBack = Date.now();

      // every B client gets a message emitted after the kill, once Redis is back (messages queued
      // during the outage count: delivery has resumed)
      const sentAt = (seq) => stream.sent[seq - 1].t;
      const firstAfter = (arr) => { const x = arr.find((e) => e.t >= tBack && sentAt(e.seq) > tKill); return x && x.t; };
      await waitUntil(() => arrB.every((arr) => firstAfter(arr)), 15000, 'cross-instance delivery to resume on every B client').catch(() => {});
      const recovery = arrB.map((arr) => (firstAfter(arr) ? firstAfter(arr) - tBack : Infinity)).sort((x, y) => x - y);
      // the fault is real: nothing emitted after the kill crosses instances while Redis is down,
      // i.e. before it was spawned again (arrival times, not seqs: this process may lag behind
      // the stream under load)
      const duringB = arrB.reduce((n, arr) => n + arr.filter((e) => e.t < tRestart && sentAt(e.seq) > tKill).length, 0);
      await delay(2000); // keep streaming after the recovery
      await stream.stop();
      const last = stream.sent[stream.sent.length - 1].seq;
      await waitUntil(() => arrA.every((arr) => arr.some((e) => e.seq === last)), 5000, `the last message (${last}) on every A client`).catch(() => {});
      await waitUntil(() => arrB.every((arr) => arr.some((e) => e.seq === last)), 5000, `the last message (${last}) on every B client`).catch(() => {});
      const tEnd = Date.now();

      // local delivery around the outage: the gaps as this process saw them, and the part the
      // server is to blame for (a message already written to A, the client getting nothing, this
      // process not stalled itself: 200 clients and the producer share one event loop here)
      const rawGapsA = arrA.map((arr) => maxGap(arr.map((e) => e.t), Math.max(tKill - 1000, arr[0].t), tBack + 2000)).sort((x, y) => x - y);
      const worstA = arrA.map((arr) => serverGap(arr, stream.sent, tKill - 1000, tBack + 2000, loop)).sort((x, y) => x.ms - y.ms);
      const gapsA = worstA.map((g) => g.ms);
      const stalled = loop.longest(tKill - 1000, tBack + 2000);
      const written = stream.sent.filter((s) => s.writtenAt).map((s) => s.writtenAt - s.t).sort((x, y) => x - y);
      // the same figure before the fault, on A and B: what this loaded machine shows anyway
      const base = [...arrA, ...arrB].map((arr) => maxGap(arr.map((e) => e.t).filter((x) => x < tKill), arr[0].t, tKill)).sort((x, y) => x - y);
      const lostA = arrA.map((arr) => stream.sent.length - new Set(arr.map((e) => e.seq)).size).sort((x, y) => x - y);
      const lostB = arrB.map((arr) => stream.sent.length - new Set(arr.map((e) => e.seq)).size).sort((x, y) => x - y);
      const statuses = {};
      for (const s of stream.sent) statuses[s.status] = (statuses[s.status] || 0) + 1;
      const slowest = Math.max(...stream.sent.map((s) => (s.answeredAt || tEnd) - s.t));
      const died = [a, b].filter((s) => s.proc.exitCode !== null || s.proc.signalCode !== null);
      assert.equal(died.length, 0, died.map((s) => `${s.url} exited (${s.proc.exitCode ?? s.proc.signalCode}):\n${s.output().slice(-3000)}`).join('\n'));
      const [ha, hb] = [await a.health(), await b.health()];

      // stuck counts: the cap user can trade one room for another, and the cap still holds
      const unsub = await ack(capSock, 'unsubscribe:watchlist', { symbols: [capSyms[0]] });
      const resub = await ack(capSock, 'subscribe:watchlist', { symbols: [capSyms[CAP]] });
      // one lease period after Redis came back every instance has re-published its counts
      await delay(Math.max(0, tBack + LEASE_MS + 500 - Date.now()));
      const over = await ack(capSock, 'subscribe:watchlist', { symbols: [capSyms[CAP + 1]] });

      t.diagnostic(`clients: ${sockA.length} on A, ${sockB.length} on B; stream ${RATE} msgs/s on A, sent ${stream.sent.length} (POST answers ${JSON.stringify(statuses)}, slowest ${slowest} ms)`);
      t.diagnostic(`Redis down ${tBack - tKill} ms (SIGKILL, restart on port ${redis.port})`);
      t.diagnostic(`before the fault (${tKill - all[0][0].t} ms): longest gap per client min/p50/max ${base[0]}/${pct(base, 50)}/${base[base.length - 1]} ms`);
      t.diagnostic(`A (local): longest gap seen around the outage min/p50/max ${rawGapsA[0]}/${pct(rawGapsA, 50)}/${rawGapsA[rawGapsA.length - 1]} ms; messages missed per client min/max ${lostA[0]}/${lostA[lostA.length - 1]}`);
      t.diagnostic(`A (local): longest wait for a message already written to A, less this process's own stalls (longest ${stalled} ms; producer write delay p50/max ${pct(written, 50)}/${written[written.length - 1]} ms), min/p50/max ${gapsA[0]}/${pct(gapsA, 50)}/${gapsA[gapsA.length - 1]} ms (worst ${worstA[worstA.length - 1].raw} ms before subtracting, ending ${worstA[worstA.length - 1].at - tKill} ms after the kill)`);
      t.diagnostic(`B (cross-instance): resumed after Redis came back min/p50/max ${recovery[0]}/${pct(recovery, 50)}/${recovery[recovery.length - 1]} ms; messages missed per client min/max ${lostB[0]}/${lostB[lostB.length - 1]}; messages emitted after the kill that reached B before Redis was restarted ${duringB} (${tBack - tRestart} ms from the restart to this process seeing it accept)`);
      t.diagnostic(`health after: A ${ha.json && ha.json.status} ${JSON.stringify(ha.json && ha.json.stats)}, B ${hb.json && hb.json.status}; alive A=${a.proc.exitCode === null} B=${b.proc.exitCode === null}`);
      t.diagnostic(`cap ${CAP} after the outage: unsubscribe one ${unsub.ok}, subscribe another ${resub.ok}${resub.code ? ` (${resub.code})` : ''}, one more over the cap ${over.ok ? 'ADMITTED' : over.code}`);

      assert.ok(gapsA[gapsA.length - 1] <= 1000, `local delivery stalled: an A client waited ${gapsA[gapsA.length - 1]} ms for a message already written to A (observer stalls subtracted)`);
      assert.ok(recovery[recovery.length - 1] <= 5000, `cross-instance delivery resumed only after ${recovery[recovery.length - 1]} ms on some B client`);
      assert.equal(duringB, 0, 'B clients received messages while Redis was down: the fault did not take effect');
      for (const arr of all) assert.ok(arr.some((e) => e.seq === last), 'the last message reached every client');
      for (const s of [a, b]) assert.equal(s.proc.exitCode, null, `${s.url} exited:\n${s.output()}`);
      assert.equal(ha.json && ha.json.status, 'healthy');
      assert.equal(hb.json && hb.json.status, 'healthy');
      assert.equal(ha.json.stats.totalConnections, sockA.length);
      assert.equal(hb.json.stats.totalConnections, sockB.length + 1);
      assert.equal(unsub.ok, true, JSON.stringify(unsub));
      assert.equal(resub.ok, true, `a user at the cap could not re-subscribe after unsubscribing: ${JSON.stringify(resub)}`);
      if (target === 'go') {
        assert.equal(over.code, 'SUBSCRIPTION_LIMIT', `the cap no longer holds after Redis lost its data: ${JSON.stringify(over)}`);
      } else if (over.ok) {
        // The reference renews its leases with ZADD XX, so pairs lost with Redis's data are never
        // re-published: after a data-losing restart it admits more than the cap (known gap).
        t.diagnostic('node reference: admitted a subscription over the cap after Redis lost its data (leases renewed with ZADD XX are not re-published)');
      }
    });
  });
}
