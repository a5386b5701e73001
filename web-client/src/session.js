// The dev login and where its answer is kept (per tab, like a session cookie).
const KEY = 'tradedash.session';

export function loadSession() {
  try {
    const s = JSON.parse(sessionStorage.getItem(KEY));
    return s && s.sessionID && s.userId ? s : null;
  } catch {
    return null;
  }
}

export function saveSession(session) {
  sessionStorage.setItem(KEY, JSON.stringify(session));
}

export function clearSession() {
  sessionStorage.removeItem(KEY);
}

// POST /dev/login { userName } -> { sessionID, userId, userName }; the server
// also sets the signed session cookie.
export async function devLogin(userName) {
  const res = await fetch('/dev/login', {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ userName })
  });
  if (res.status === 404) {
    throw new Error('Dev login is off: start the server with DEMO=true.');
  }
  const body = await res.json().catch(() => ({}));
  if (!res.ok) {
    throw new Error(body.error || `Login failed (HTTP ${res.status})`);
  }
  return body;
}

// ?transport=polling or ?transport=websocket forces one transport (tests);
// otherwise the hook's default order is used.
export function transportsFromQuery(search = window.location.search) {
  const t = new URLSearchParams(search).get('transport');
  if (t === 'polling' || t === 'websocket') return [t];
  return undefined;
}
