import { ConnectionState } from '../hooks/useWebSocket.js';

const LABELS = {
  [ConnectionState.IDLE]: 'Offline',
  [ConnectionState.CONNECTING]: 'Connecting',
  [ConnectionState.CONNECTED]: 'Live',
  [ConnectionState.RECONNECTING]: 'Reconnecting'
};

export default function ConnectionStatus({ state, attempt, transport }) {
  return (
    <div className={`conn conn-${state.toLowerCase()}`} title={LABELS[state]}>
      <span className="conn-dot" />
      <span className="conn-state" data-testid="connection-state" data-state={state}>{state}</span>
      {state === ConnectionState.RECONNECTING && (
        <span className="conn-attempt" data-testid="reconnect-attempt" data-attempt={attempt}>
          attempt {attempt}
        </span>
      )}
      {state === ConnectionState.CONNECTED && transport && (
        <span className="conn-transport" data-testid="transport">{transport}</span>
      )}
    </div>
  );
}
