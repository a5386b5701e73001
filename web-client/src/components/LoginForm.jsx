import { useState } from 'react';
import { devLogin } from '../session.js';

export default function LoginForm({ onLogin, notice }) {
  const [userName, setUserName] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);

  async function submit(e) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      onLogin(await devLogin(userName.trim() || undefined));
    } catch (err) {
      setError(err.message);
      setBusy(false);
    }
  }

  return (
    <main className="login-page">
      <form className="login-card" onSubmit={submit} data-testid="login-form">
        <div className="brand brand-large">
          <Logo /> TradeDash
        </div>
        <p className="muted">Real-time portfolio, quotes and trade notifications.</p>
        {notice && <div className="alert alert-error" data-testid="login-notice">{notice}</div>}
        <label htmlFor="userName">Display name</label>
        <input
          id="userName"
          data-testid="login-username"
          autoFocus
          maxLength={64}
          placeholder="Demo Trader"
          value={userName}
          onChange={e => setUserName(e.target.value)}
        />
        <button type="submit" className="btn btn-primary" disabled={busy} data-testid="login-submit">
          {busy ? 'Signing in…' : 'Sign in (demo)'}
        </button>
        {error && <div className="alert alert-error" data-testid="login-error">{error}</div>}
        <p className="hint">Development login: creates a fresh demo account and session.</p>
      </form>
    </main>
  );
}

export function Logo() {
  return (
    <svg className="logo" viewBox="0 0 32 32" aria-hidden="true">
      <rect width="32" height="32" rx="7" fill="#0f1722" />
      <polyline points="5,22 12,15 17,19 27,8" fill="none" stroke="#22c55e" strokeWidth="3" strokeLinecap="round" strokeLinejoin="round" />
    </svg>
  );
}
