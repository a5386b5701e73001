import { useState } from 'react';
import { formatPrice, formatSigned, trend } from '../format.js';

export default function Watchlist({ symbols, quotes, onAdd, onRemove }) {
  const [input, setInput] = useState('');

  function submit(e) {
    e.preventDefault();
    if (onAdd(input)) setInput('');
  }

  return (
    <section className="card watchlist" data-testid="watchlist">
      <header className="card-head">
        <h2>Watchlist</h2>
        <span className="muted small">{symbols.length} symbols</span>
      </header>
      <form className="add-symbol" onSubmit={submit}>
        <input
          data-testid="watchlist-input"
          placeholder="Add symbol, e.g. TSLA"
          value={input}
          maxLength={16}
          onChange={e => setInput(e.target.value)}
        />
        <button type="submit" className="btn" data-testid="watchlist-add">Add</button>
      </form>
      <table className="quotes">
        <thead>
          <tr><th>Symbol</th><th className="num">Price</th><th className="num">Change</th><th className="num">%</th><th /></tr>
        </thead>
        <tbody>
          {symbols.length === 0 && (
            <tr><td colSpan={5} className="muted empty">No symbols yet.</td></tr>
          )}
          {symbols.map(sym => {
            const q = quotes[sym];
            const dir = q ? trend(q.change) : 'flat';
            return (
              <tr key={sym} data-testid={`watchlist-row-${sym}`}>
                <td className="sym">{sym}</td>
                <td className="num">
                  <span key={q?.seq ?? 0} className={`price tick-${q?.tick ?? 'none'}`} data-testid={`quote-price-${sym}`}>
                    {q ? formatPrice(q.price) : '—'}
                  </span>
                </td>
                <td className={`num ${dir}`} data-testid={`quote-change-${sym}`}>{q ? formatSigned(q.change) : ''}</td>
                <td className={`num ${dir}`}>{q ? formatSigned(q.changePercent, '%') : ''}</td>
                <td className="num">
                  <button
                    className="icon-btn"
                    title={`Remove ${sym}`}
                    aria-label={`Remove ${sym}`}
                    data-testid={`watchlist-remove-${sym}`}
                    onClick={() => onRemove(sym)}
                  >
                    ×
                  </button>
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </section>
  );
}
