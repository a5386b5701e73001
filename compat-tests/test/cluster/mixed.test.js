'use strict';
// The mixed Node/Go cluster over Node's classic createAdapter (PUBLISH /
// PSUBSCRIBE), plus @socket.io/redis-emitter 5.1 reaching Go clients.
const test = require('node:test');
const assert = require('node:assert');
const { Emitter } = require('@socket.io/redis-emitter');
const { clusterSuite } = require('./harness');

clusterSuite('mixed Node/Go cluster over @socket.io/redis-adapter (classic)', {
  extra(ctx, { track, connect, eventsUntil }) {
    test.it('@socket.io/redis-emitter reaches Go clients (room and all)', async () => {
      const goC = await track(connect(ctx.goPort, ['em']));
      const goOther = await track(connect(ctx.goPort, []));
      ctx.emitterClient = ctx.pub.duplicate();
      await ctx.emitterClient.connect();
      const emitter = new Emitter(ctx.emitterClient);
      const waits = [goC, goOther].map((s) => eventsUntil(s, 'em-sentinel'));
      emitter.to('em').emit('em-room', { a: 1 });
      emitter.emit('em-all', 'x');
      emitter.emit('em-sentinel');
      const [got, other] = await Promise.all(waits);
      assert.deepStrictEqual(got, ['em-room', 'em-all']);
      assert.deepStrictEqual(other, ['em-all']);
    });
  },
});
