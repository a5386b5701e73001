import { useCallback, useState } from 'react';
import LoginForm from './components/LoginForm.jsx';
import Dashboard from './components/Dashboard.jsx';
import { clearSession, loadSession, saveSession } from './session.js';

export default function App() {
  const [session, setSession] = useState(loadSession);
  const [loginNotice, setLoginNotice] = useState(null);

  const onLogin = useCallback(s => {
    saveSession(s);
    setLoginNotice(null);
    setSession(s);
  }, []);

  // UNAUTHORIZED (the seed's redirectToLogin) and the logout button.
  const onLogout = useCallback(message => {
    clearSession();
    setSession(null);
    setLoginNotice(typeof message === 'string' ? message : null);
  }, []);

  if (!session) {
    return <LoginForm onLogin={onLogin} notice={loginNotice} />;
  }
  return <Dashboard key={session.sessionID} session={session} onLogout={onLogout} />;
}
