'use strict';
// The mixed Node/Go cluster over Node's createShardedAdapter (SPUBLISH /
// SSUBSCRIBE, subscriptionMode "dynamic") and the Go adapter's sharded
// mode, plus the room channel subscriptions following the Go rooms.
const test = require('node:test');
const assert = require('node:assert');
const { clusterSuite } = require('./harness');

clusterSuite('mixed Node/Go cluster over @socket.io/redis-adapter (sharded)', {
  sharded: true,
  extra(ctx, { track, connect, until }) {
    test.it('the Go instance subscribes to its public rooms only, and leaves them', async () => {
      const numsub = async (ch) => Number((await ctx.pub.sendCommand(['PUBSUB', 'SHARDNUMSUB', ch]))[1]);
      const goC = await track(connect(ctx.goPort, ['s-public']));
      await until('s-public channel', async () => (await numsub('socket.io#/#s-public#')) === 1);
      assert.strictEqual(await numsub(`socket.io#/#${goC.id}#`), 0, 'a socket id room has no channel in dynamic mode');
      goC.disconnect();
      await until('s-public channel gone', async () => (await numsub('socket.io#/#s-public#')) === 0);
    });
  },
});
