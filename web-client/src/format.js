const usd = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD', minimumFractionDigits: 2, maximumFractionDigits: 2 });
const num = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });

export const formatMoney = v => (typeof v === 'number' && isFinite(v) ? usd.format(v) : '—');
export const formatPrice = v => (typeof v === 'number' && isFinite(v) ? num.format(v) : '—');

export function formatSigned(v, suffix = '') {
  if (typeof v !== 'number' || !isFinite(v)) return '—';
  const sign = v > 0 ? '+' : v < 0 ? '−' : '';
  return `${sign}${num.format(Math.abs(v))}${suffix}`;
}

export function formatSignedMoney(v) {
  if (typeof v !== 'number' || !isFinite(v)) return '—';
  const sign = v > 0 ? '+' : v < 0 ? '−' : '';
  return `${sign}${usd.format(Math.abs(v))}`;
}

export const trend = v => (v > 0 ? 'up' : v < 0 ? 'down' : 'flat');

export const formatTime = d => d.toLocaleTimeString('en-US', { hour12: false });

// A symbol as the server accepts it: trimmed, upper-cased, 1-16 of A-Z 0-9 . - /
// starting with a letter or digit.
export function normalizeSymbol(raw) {
  const s = String(raw ?? '').trim().toUpperCase();
  return /^[A-Z0-9][A-Z0-9.\-/]{0,15}$/.test(s) ? s : null;
}
