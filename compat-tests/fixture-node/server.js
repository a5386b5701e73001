'use strict';
// Conformance fixture, Node reference (socket.io 4.8.4 / engine.io 6.6.12).
// Configured as the Socket.IO project's published protocol test suites expect:
//   - raw Engine.IO at /engine.io/ echoing every message (text stays text, binary stays binary),
//     except "bye-then-close": "bye", then the server closes the socket
//   - Socket.IO at /socket.io/: namespaces "/" and "/custom" emit "auth" with handshake.auth on
//     connection; on "/", "message" -> "message-back" with the same arguments and
//     "message-with-ack" is acknowledged with the same arguments; any other namespace is invalid.
// PORT from env (0 = any free port); prints "listening <port>" on stdout when ready.
const http = require('node:http');
const engine = require('engine.io');
const { Server } = require('socket.io');

const opts = {
  pingInterval: 300,
  pingTimeout: 200,
  maxHttpBufferSize: 1e6,
  cors: { origin: '*' },
};

const httpServer = http.createServer();

const eio = engine.attach(httpServer, { ...opts, path: '/engine.io/' });
eio.on('connection', (socket) => {
  socket.on('message', (data) => {
    if (data === 'bye-then-close') {
      socket.send('bye');
      socket.close();
      return;
    }
    socket.send(data);
  });
});

const io = new Server(httpServer, { ...opts, connectTimeout: 1000 });

io.of('/').on('connection', (socket) => {
  socket.emit('auth', socket.handshake.auth);
  socket.on('message', (...args) => socket.emit('message-back', ...args));
  socket.on('message-with-ack', (...args) => {
    const ack = args.pop();
    ack(...args);
  });
});
io.of('/custom').on('connection', (socket) => {
  socket.emit('auth', socket.handshake.auth);
});

httpServer.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  console.log(`listening ${httpServer.address().port}`);
});

const stop = () => {
  io.close();
  eio.close();
  httpServer.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 500).unref();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
