import { formatPrice, formatTime } from '../format.js';

export default function TradeFeed({ trades }) {
  return (
    <section className="card trades" data-testid="trades">
      <header className="card-head">
        <h2>Trade notifications</h2>
        <span className="muted small">{trades.length ? `${trades.length} recent` : ''}</span>
      </header>
      {trades.length === 0 && <p className="muted empty">No trades yet.</p>}
      <ul className="trade-list" data-testid="trade-list">
        {trades.map(t => (
          <li key={t.key} className={`trade trade-${t.kind}`} data-testid="trade-item" data-kind={t.kind}>
            <span className="trade-time">{formatTime(t.at)}</span>
            {t.kind === 'executed' ? (
              <span className="trade-text">
                <span className={`side side-${t.trade.side}`}>{String(t.trade.side || '').toUpperCase()}</span>
                {' '}{t.trade.quantity} <b>{t.trade.symbol}</b> @ {formatPrice(t.trade.price)}
                <span className="badge badge-ok">{t.trade.status || 'filled'}</span>
              </span>
            ) : (
              <span className="trade-text">
                <b>{t.trade.symbol}</b> order failed: {t.trade.error}
                <span className="badge badge-fail">failed</span>
              </span>
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}
