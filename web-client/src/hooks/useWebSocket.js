// useWebSocket: the seed's hook (docs: websocket-connection-architecture.md,
// "Client-Side Implementation", "Disconnection Handling", "Reconnection Logic",
// "Client-Side Best Practices"), written against socket.io-client v4.
//
// Where this file departs from the seed's snippets, a comment starting with
// "DEVIATION" says exactly what and why. Everything else is the seed's code.
import { useCallback, useEffect, useRef, useState } from 'react';
import { io } from 'socket.io-client';

// Same origin by default: the dashboard is served by the realtime server.
// VITE_SOCKET_URL points the dev server (npx vite) at another backend.
const SOCKET_URL = import.meta.env.VITE_SOCKET_URL || window.location.origin;

// The seed's transport order.
export const DEFAULT_TRANSPORTS = ['websocket', 'polling'];

// The seed's connection state machine ("Architecture Diagrams").
export const ConnectionState = Object.freeze({
  IDLE: 'IDLE',
  CONNECTING: 'CONNECTING',
  CONNECTED: 'CONNECTED',
  RECONNECTING: 'RECONNECTING'
});

// A tiny console logger standing in for the seed's `logger`.
const logger = {
  info: (...args) => console.info('[ws]', ...args)
};

// Key of a subscription in the active-subscriptions set: at most one entry per
// type. The watchlist entry carries every watched symbol, so the seed's
// restoreSubscriptions loop re-subscribes them with one event.
const subscriptionKey = subscription => subscription.type;

export function useWebSocket({
  sessionID,
  userId,
  userName = 'User',
  autoConnect = true,
  transports = DEFAULT_TRANSPORTS,
  onUnauthorized
} = {}) {
  const socketRef = useRef(null);
  const mountedRef = useRef(true);
  const [socket, setSocket] = useState(null);
  const [connected, setConnected] = useState(false);
  const [connectionState, setConnectionState] = useState(ConnectionState.IDLE);
  const [error, setError] = useState(null);
  const [warning, setWarning] = useState(null);
  const [reconnectAttempt, setReconnectAttempt] = useState(0);
  const [transport, setTransport] = useState(null);
  // A string, so that a caller passing a new array each render does not
  // reconnect each render.
  const transportsKey = transports.join(',');

  // The seed: `const [activeSubscriptions, setActiveSubscriptions] = useState(new Set());`
  const [activeSubscriptions, setActiveSubscriptions] = useState(new Set());
  // DEVIATION: a ref mirrors the set. The seed's restoreSubscriptions is a
  // useCallback over [activeSubscriptions, emit], but it is called from a
  // socket handler registered once in connect(), which would keep calling the
  // first (empty) version: the ref lets that handler see the current set.
  const activeSubscriptionsRef = useRef(activeSubscriptions);

  const onUnauthorizedRef = useRef(onUnauthorized);
  onUnauthorizedRef.current = onUnauthorized;

  // The seed's redirectToLogin / showWarning / showError.
  const redirectToLogin = useCallback(message => {
    if (onUnauthorizedRef.current) onUnauthorizedRef.current(message);
  }, []);
  const showWarning = useCallback(message => setWarning(message), []);
  const showError = useCallback(message => setError(message), []);

  // emit(event, data): sends only while connected. DEVIATION (the seed does
  // not show emit): socket.io-client v4 buffers emits made while disconnected
  // and flushes them on reconnect; a subscribe buffered that way would be sent
  // twice (once from the buffer, once by restoreSubscriptions) and count twice
  // against the server's rate limit. Subscriptions made while offline are kept
  // in the active set instead and sent by restoreSubscriptions.
  const emit = useCallback((event, data, ack) => {
    const s = socketRef.current;
    if (!s || !s.connected) return false;
    const args = [event];
    if (data !== undefined) args.push(data);
    if (ack) args.push(ack);
    s.emit(...args);
    return true;
  }, []);

  // The seed's restoreSubscriptions, reading the set through the ref.
  const restoreSubscriptions = useCallback(() => {
    activeSubscriptionsRef.current.forEach(subscription => {
      if (subscription.type === 'portfolio') {
        emit('subscribe:portfolio');
      } else if (subscription.type === 'trades') {
        emit('subscribe:trades');
      } else if (subscription.type === 'watchlist') {
        emit('subscribe:watchlist', { symbols: subscription.symbols });
      }
    });
  }, [emit]);

  const replaceSubscriptions = useCallback(next => {
    activeSubscriptionsRef.current = next;
    setActiveSubscriptions(next);
  }, []);

  // addSubscription({ type, symbols? }): records the subscription (replacing
  // the entry of the same type) so it survives reconnects.
  const addSubscription = useCallback(subscription => {
    const next = new Set(
      [...activeSubscriptionsRef.current].filter(s => subscriptionKey(s) !== subscriptionKey(subscription))
    );
    next.add(subscription);
    replaceSubscriptions(next);
  }, [replaceSubscriptions]);

  const removeSubscription = useCallback(type => {
    replaceSubscriptions(new Set([...activeSubscriptionsRef.current].filter(s => s.type !== type)));
  }, [replaceSubscriptions]);

  // Initialize connection (the seed's connect, useWebSocket.js:35-141).
  const connect = useCallback(() => {
    if (socketRef.current) return;
    setConnectionState(ConnectionState.CONNECTING);

    const socket = io(SOCKET_URL, {
      // Authentication payload
      auth: {
        sessionID,        // Express session ID from cookies
        userId,           // User UUID from session
        // DEVIATION: the seed hard-codes userName: 'User'; the logged-in
        // name is passed instead ('User' stays the default).
        userName
      },
      // Transport configuration (the page may pass an override for tests)
      transports: transportsKey.split(','),
      // DEVIATION: the session cookie is sent on same-origin requests anyway;
      // this also sends it when VITE_SOCKET_URL points elsewhere.
      withCredentials: true,
      // Reconnection settings
      reconnection: true,
      reconnectionDelay: 1000,          // Start with 1 second
      reconnectionDelayMax: 5000,       // Max 5 seconds
      reconnectionAttempts: Infinity    // Never give up
    });

    // Connection success handler
    socket.on('connect', () => {
      setConnected(true);
      setError(null);
      setReconnectAttempt(0);
      setConnectionState(ConnectionState.CONNECTED);
      setTransport(socket.io.engine?.transport?.name ?? null);
      // DEVIATION: the seed restores subscriptions in the 'reconnect' handler.
      // In socket.io-client v4 the Manager's 'reconnect' fires before the
      // socket is connected again (the server has not yet accepted the new
      // CONNECT), and it never fires after the seed's own manual reconnect
      // following 'io server disconnect' (socket.connect() opens the Manager
      // afresh). 'connect' fires in every case, so restoring here keeps the
      // seed's intent. On the first connect this sends the initial
      // subscriptions; the server forgets rooms with the old socket, so every
      // connect needs them.
      restoreSubscriptions();
    });

    // Which transport is in use (shown on the page): set on every open and upgrade.
    socket.io.on('open', () => {
      const engine = socket.io.engine;
      setTransport(engine?.transport?.name ?? null);
      engine?.on('upgrade', t => setTransport(t.name));
    });

    // The seed's disconnect handler ("Disconnection Handling").
    socket.on('disconnect', reason => {
      logger.info(`WebSocket disconnected: ${reason}`);
      setConnected(false);
      setTransport(null);

      // Handle different disconnect reasons
      if (reason === 'io server disconnect') {
        // Server initiated disconnect - reconnect manually
        setConnectionState(ConnectionState.RECONNECTING);
        setTimeout(() => {
          // DEVIATION: guard so a reconnect scheduled before disconnect()
          // or unmount does not revive a socket the user closed.
          if (socketRef.current === socket) socket.connect();
        }, 1000);
      } else if (reason === 'transport close' || reason === 'ping timeout') {
        // Network issues - socket.io will auto-reconnect
        console.log('Network issue detected, auto-reconnecting...');
        setConnectionState(ConnectionState.RECONNECTING);
      } else if (reason === 'io client disconnect') {
        // The state machine's "disconnect -> IDLE".
        setConnectionState(ConnectionState.IDLE);
      } else {
        // transport error, parse error: socket.io auto-reconnects too.
        setConnectionState(ConnectionState.RECONNECTING);
      }
    });

    // DEVIATION: the seed listens with socket.on('reconnect_attempt') and
    // socket.on('reconnect'); in socket.io-client v4 both are emitted by the
    // Manager, socket.io, and never by the socket, so they are registered on
    // socket.io. The bodies are the seed's, except that restoring the
    // subscriptions moved to 'connect' (see above).

    // Track reconnection attempts
    socket.io.on('reconnect_attempt', attempt => {
      console.log(`Reconnection attempt ${attempt}...`);
      setReconnectAttempt(attempt);
      setConnectionState(ConnectionState.RECONNECTING);
    });

    // Reconnection successful
    socket.io.on('reconnect', attempt => {
      console.log(`✅ Reconnected after ${attempt} attempts`);
      setConnected(true);
      setError(null);
    });

    // DEVIATION (not in the seed): the handshake refusal. The server refuses a
    // bad session with connect_error; socket.io-client then stops
    // reconnecting, so UNAUTHORIZED goes to the login like the global handler
    // does, and a session store failure (AUTHENTICATION_FAILED) is retried.
    socket.on('connect_error', err => {
      const code = err?.data?.code;
      if (code === 'UNAUTHORIZED') {
        showError(err.message);
        redirectToLogin(err.message);
      } else if (code === 'AUTHENTICATION_FAILED' || err?.message === 'AUTHENTICATION_FAILED') {
        showError('Authentication service unavailable, retrying...');
        setConnectionState(ConnectionState.RECONNECTING);
        setTimeout(() => {
          if (socketRef.current === socket && !socket.connected) socket.connect();
        }, 5000);
      } else {
        // A transport failure: the Manager keeps trying ("CONNECTING -> fail -> RECONNECTING").
        setConnectionState(ConnectionState.RECONNECTING);
      }
    });

    socketRef.current = socket;
    setSocket(socket);
  }, [sessionID, userId, userName, transportsKey, restoreSubscriptions, redirectToLogin, showError]);

  const disconnect = useCallback(() => {
    const s = socketRef.current;
    if (!s) return;
    socketRef.current = null;
    s.disconnect();
    s.removeAllListeners();
    s.io.removeAllListeners();
    if (mountedRef.current) {
      setSocket(null);
      setConnected(false);
      setReconnectAttempt(0);
      setTransport(null);
      setConnectionState(ConnectionState.IDLE);
    }
  }, []);

  // subscribe(event, handler) -> unsubscribe. Listeners live on the socket
  // object, which socket.io-client keeps across reconnects.
  const subscribe = useCallback((event, handler) => {
    const s = socketRef.current;
    if (!s) return () => {};
    s.on(event, handler);
    return () => {
      s.off(event, handler);
    };
  }, []);

  // The seed's "Connection Management": auto-connect on mount, disconnect on unmount.
  useEffect(() => {
    mountedRef.current = true;
    if (autoConnect && sessionID) {
      connect();
    }

    return () => {
      mountedRef.current = false;
      disconnect();  // Clean up on unmount
    };
  }, [autoConnect, sessionID, connect, disconnect]);

  // The seed's global error handler ("Error Handling").
  useEffect(() => {
    if (!socket) return;

    const handleError = (err) => {
      console.error('WebSocket error:', err);

      if (err.code === 'UNAUTHORIZED') {
        redirectToLogin(err.message);
      } else if (err.code === 'RATE_LIMIT') {
        showWarning('Please slow down your requests');
      } else {
        showError(err.message);
      }
    };

    socket.on('error', handleError);

    return () => {
      socket.off('error', handleError);
    };
  }, [socket, redirectToLogin, showWarning, showError]);

  const clearError = useCallback(() => setError(null), []);
  const clearWarning = useCallback(() => setWarning(null), []);

  return {
    socket,
    connected,
    connectionState,
    reconnectAttempt,
    transport,
    error,
    warning,
    clearError,
    clearWarning,
    connect,
    disconnect,
    subscribe,
    emit,
    activeSubscriptions,
    addSubscription,
    removeSubscription,
    restoreSubscriptions
  };
}
