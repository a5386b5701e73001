'use strict';
// Generates notepack.json: messages encoded by Node's notepack.io 3.0.1 (the
// msgpack of @socket.io/redis-adapter 8.3), with the Socket.IO packet text (and
// attachments) a client gets for the decoded packet, from socket.io-parser.
//   NODE_PATH=compat-tests/node_modules node adapter/testdata/notepack.js > adapter/testdata/notepack.json
const msgpack = require('notepack.io');
const { Encoder } = require('socket.io-parser');

const buf = (n, start = 0) => Buffer.from(Array.from({ length: n }, (_, i) => (i + start) & 0xff));
const ints = [0, 1, 127, 128, 255, 256, 65535, 65536, 4294967295, 4294967296, 9007199254740991,
  -1, -32, -33, -128, -129, -32768, -32769, -2147483648, -2147483649, -9007199254740991];
const floats = [1.5, -0.25, 1.5e-7, 5e-324, 0.1, -0, 4503599627370495.5];

const cases = {
  broadcast_all: ['abc123', { type: 2, data: ['tick', { symbol: 'AAPL', price: 187.25, qty: 10 }], nsp: '/' }, { rooms: [], except: [], flags: {} }],
  broadcast_room_except: ['abc123', { type: 2, data: ['news', 'hello', 42], nsp: '/' }, { rooms: ['room1', 'room2'], except: ['x'], flags: { volatile: true, compress: false } }],
  broadcast_binary: ['abc123', { type: 2, data: ['file', buf(3), { inner: buf(0), big: buf(300, 7) }], nsp: '/admin' }, { rooms: ['r'], except: [], flags: {} }],
  numbers: ['abc123', { type: 2, data: ['n', ints, floats], nsp: '/' }, { rooms: [], except: [], flags: {} }],
  strings: ['abc123', { type: 2, data: ['s', 'x'.repeat(31), 'y'.repeat(32), 'z'.repeat(255), 'w'.repeat(256), 'é€😀', ''], nsp: '/' }, { rooms: [], except: [], flags: {} }],
  ack_request: { uid: 'abc123', requestId: 'req001', type: 7, packet: { type: 2, data: ['ask', { q: 1 }], nsp: '/' }, opts: { rooms: [], except: [], flags: { timeout: 1000 } } },
  ack_response: { type: 9, requestId: 'req001', packet: { answer: buf(2), ok: true } },
  key_order: ['abc123', { type: 2, data: ['o', { b: 1, 2: 'two', a: 3, 1: 'one', '01': 'zero-one' }], nsp: '/' }, { rooms: [], except: [], flags: {} }],
  date_undefined: ['abc123', { type: 2, data: ['d', new Date(Date.UTC(2024, 0, 2, 3, 4, 5)), new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 678)), undefined, { u: undefined, k: null }], nsp: '/' }, { rooms: [], except: [], flags: {} }],
  big_collections: ['abc123', { type: 2, data: ['c', Array.from({ length: 20 }, (_, i) => i), Object.fromEntries(Array.from({ length: 17 }, (_, i) => ['k' + i, i]))], nsp: '/' }, { rooms: [], except: [], flags: {} }],
};

const out = {};
for (const [name, value] of Object.entries(cases)) {
  const bytes = msgpack.encode(value);
  const decoded = msgpack.decode(bytes);
  const packet = Array.isArray(decoded) ? decoded[1] : decoded.packet;
  let clientText = null;
  let attachments = [];
  if (packet && packet.data) {
    const [text, ...buffers] = new Encoder().encode({ type: 2, data: packet.data, nsp: packet.nsp || '/' });
    clientText = text;
    attachments = buffers.map((b) => Buffer.from(b).toString('hex'));
  }
  out[name] = { hex: bytes.toString('hex'), clientText, attachments };
}
process.stdout.write(JSON.stringify(out, null, 2) + '\n');
