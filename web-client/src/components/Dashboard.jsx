import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { ConnectionState, useWebSocket } from '../hooks/useWebSocket.js';
import { transportsFromQuery } from '../session.js';
import { normalizeSymbol } from '../format.js';
import ConnectionStatus from './ConnectionStatus.jsx';
import PortfolioCard from './PortfolioCard.jsx';
import Watchlist from './Watchlist.jsx';
import TradeFeed from './TradeFeed.jsx';
import { Logo } from './LoginForm.jsx';

const DEFAULT_WATCHLIST = ['AAPL', 'MSFT', 'NVDA'];
const MAX_TRADES = 25;
const HISTORY = 60;

export default function Dashboard({ session, onLogout }) {
  const transports = useMemo(() => transportsFromQuery(), []);
  const ws = useWebSocket({
    sessionID: session.sessionID,
    userId: session.userId,
    userName: session.userName,
    transports,
    onUnauthorized: onLogout
  });
  const { socket, subscribe, emit, addSubscription, removeSubscription } = ws;

  const [watchlist, setWatchlist] = useState(DEFAULT_WATCHLIST);
  const watchlistRef = useRef(watchlist);
  const [quotes, setQuotes] = useState({});
  const [portfolio, setPortfolio] = useState(null);
  const [history, setHistory] = useState([]);
  const [trades, setTrades] = useState([]);
  const [shutdown, setShutdown] = useState(null);
  const [localError, setLocalError] = useState(null);

  const setWatch = useCallback(next => {
    watchlistRef.current = next;
    setWatchlist(next);
    if (next.length) addSubscription({ type: 'watchlist', symbols: next });
    else removeSubscription('watchlist');
  }, [addSubscription, removeSubscription]);

  // The streams this page wants; the hook (re)sends them on every connect.
  useEffect(() => {
    addSubscription({ type: 'portfolio' });
    addSubscription({ type: 'trades' });
    addSubscription({ type: 'watchlist', symbols: watchlistRef.current });
  }, [addSubscription]);

  // Server events (the seed's "Subscribe with cleanup").
  useEffect(() => {
    if (!socket) return;
    let seq = 0;
    const unsubscribes = [
      subscribe('portfolio:update', data => {
        if (data?.userId !== undefined && String(data.userId) !== String(session.userId)) return;
        const p = data?.portfolio;
        if (!p) return;
        setPortfolio(p);
        if (typeof p.value === 'number') setHistory(h => [...h.slice(-(HISTORY - 1)), p.value]);
      }),
      subscribe('quote:update', data => {
        const sym = data?.symbol;
        const q = data?.quote;
        if (!sym || !q || !watchlistRef.current.includes(sym)) return;
        setQuotes(prev => {
          const old = prev[sym];
          const tick = !old ? 'none' : q.price > old.price ? 'up' : q.price < old.price ? 'down' : old.tick;
          return { ...prev, [sym]: { ...q, tick, seq: ++seq } };
        });
      }),
      subscribe('trade:executed', data => {
        if (!data?.trade) return;
        setTrades(t => [{ key: `${Date.now()}-${++seq}`, kind: 'executed', trade: data.trade, at: new Date() }, ...t].slice(0, MAX_TRADES));
      }),
      subscribe('trade:failed', data => {
        if (!data?.trade) return;
        setTrades(t => [{ key: `${Date.now()}-${++seq}`, kind: 'failed', trade: data.trade, at: new Date() }, ...t].slice(0, MAX_TRADES));
      }),
      subscribe('server:shutdown', data => {
        setShutdown({ message: data?.message || 'Server is shutting down', timestamp: data?.timestamp });
      }),
      subscribe('connect', () => setShutdown(null))
    ];
    return () => unsubscribes.forEach(off => off());
  }, [socket, subscribe, session.userId]);

  const addSymbol = useCallback(raw => {
    const sym = normalizeSymbol(raw);
    if (!sym) {
      setLocalError(`“${String(raw).trim()}” is not a valid symbol (1-16 of A-Z 0-9 . - /).`);
      return false;
    }
    setLocalError(null);
    if (watchlistRef.current.includes(sym)) return true;
    setWatch([...watchlistRef.current, sym]);
    // Offline: the symbol is in the active subscriptions and is sent on connect.
    emit('subscribe:watchlist', { symbols: [sym] }, ack => {
      if (ack && ack.ok === false) {
        // Refused (rate or subscription limit, invalid): the error event tells the user.
        setWatch(watchlistRef.current.filter(s => s !== sym));
      }
    });
    return true;
  }, [emit, setWatch]);

  const removeSymbol = useCallback(sym => {
    setWatch(watchlistRef.current.filter(s => s !== sym));
    setQuotes(prev => {
      const next = { ...prev };
      delete next[sym];
      return next;
    });
    emit('unsubscribe:watchlist', { symbols: [sym] });
  }, [emit, setWatch]);

  const logout = useCallback(() => {
    ws.disconnect();
    onLogout();
  }, [ws, onLogout]);

  const { clearWarning, warning } = ws;
  useEffect(() => {
    if (!warning) return;
    const t = setTimeout(clearWarning, 6000);
    return () => clearTimeout(t);
  }, [warning, clearWarning]);

  const error = localError || ws.error;
  const dismissError = () => {
    setLocalError(null);
    ws.clearError();
  };

  return (
    <div className="app">
      <header className="topbar">
        <div className="brand"><Logo /> TradeDash</div>
        <ConnectionStatus state={ws.connectionState} attempt={ws.reconnectAttempt} transport={ws.transport} />
        <div className="spacer" />
        <div className="user" data-testid="user-name">{session.userName}</div>
        <button className="btn btn-ghost" onClick={logout} data-testid="logout">Sign out</button>
      </header>

      {shutdown && (
        <div className="banner banner-shutdown" data-testid="shutdown-banner" role="status">
          <b>Server maintenance:</b> {shutdown.message}. Reconnecting automatically…
        </div>
      )}
      {ws.connectionState === ConnectionState.RECONNECTING && !shutdown && (
        <div className="banner banner-reconnecting" role="status">
          Connection lost. Reconnecting{ws.reconnectAttempt ? ` (attempt ${ws.reconnectAttempt})` : ''}… your subscriptions will be restored.
        </div>
      )}
      {warning && (
        <div className="banner banner-warning" data-testid="warning-message" role="status">
          {warning}
          <button className="icon-btn" onClick={clearWarning} aria-label="Dismiss">×</button>
        </div>
      )}
      {error && (
        <div className="banner banner-error" data-testid="error-message" role="alert">
          {error}
          <button className="icon-btn" onClick={dismissError} aria-label="Dismiss">×</button>
        </div>
      )}

      <main className="grid">
        <PortfolioCard portfolio={portfolio} history={history} />
        <Watchlist symbols={watchlist} quotes={quotes} onAdd={addSymbol} onRemove={removeSymbol} />
        <TradeFeed trades={trades} />
      </main>
      <footer className="footer muted small">
        user {session.userId}
        {socket?.id ? ` · socket ${socket.id}` : ''}
      </footer>
    </div>
  );
}
