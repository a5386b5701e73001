import Sparkline from './Sparkline.jsx';
import { formatMoney, formatPrice, formatSigned, formatSignedMoney, trend } from '../format.js';

export default function PortfolioCard({ portfolio, history }) {
  const p = portfolio || {};
  return (
    <section className="card portfolio" data-testid="portfolio">
      <header className="card-head">
        <h2>Portfolio</h2>
        {!portfolio && <span className="muted small">waiting for data…</span>}
      </header>
      <div className="portfolio-figures">
        <div>
          <div className="label">Total value</div>
          <div className="big" data-testid="portfolio-value">{formatMoney(p.value)}</div>
        </div>
        <div>
          <div className="label">Day P/L</div>
          <div className={`big ${trend(p.dayPL)}`} data-testid="portfolio-daypl">
            {formatSignedMoney(p.dayPL)}
            <span className="pct" data-testid="portfolio-daypl-percent">{formatSigned(p.dayPLPercent, '%')}</span>
          </div>
        </div>
        <Sparkline values={history} />
      </div>
      {Array.isArray(p.positions) && p.positions.length > 0 && (
        <table className="positions">
          <thead>
            <tr><th>Symbol</th><th className="num">Qty</th><th className="num">Price</th><th className="num">Value</th></tr>
          </thead>
          <tbody>
            {p.positions.map(pos => (
              <tr key={pos.symbol}>
                <td className="sym">{pos.symbol}</td>
                <td className="num">{pos.quantity}</td>
                <td className="num">{formatPrice(pos.price)}</td>
                <td className="num">{formatMoney(pos.value)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
