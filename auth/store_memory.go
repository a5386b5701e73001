package auth

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"sync"
	"time"
)

// DefaultMemoryTTL is the lifetime of a MemoryStore session created with a
// zero ttl (connect-redis's default TTL).
const DefaultMemoryTTL = 24 * time.Hour

// MemoryConfig configures a MemoryStore.
type MemoryConfig struct {
	// Now is the clock. Nil means time.Now.
	Now func() time.Time
}

// MemoryStore keeps sessions in process memory: for the embedded default
// (the dev login) and tests. Expired sessions are dropped lazily.
type MemoryStore struct {
	now func() time.Time

	mu       sync.Mutex
	sessions map[string]memorySession
	creates  int
}

type memorySession struct {
	sess    Session
	expires time.Time
}

// NewMemoryStore returns an empty store.
func NewMemoryStore(cfg MemoryConfig) *MemoryStore {
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	return &MemoryStore{now: now, sessions: make(map[string]memorySession)}
}

// Create stores a logged-in session and returns its id (32 URL-safe
// characters, like express-session's). userID keeps its JSON type: pass a
// string or a number (ints are stored as float64, as JSON would). A ttl <= 0
// means DefaultMemoryTTL.
func (m *MemoryStore) Create(userID any, userName, userRole string, ttl time.Duration) string {
	if ttl <= 0 {
		ttl = DefaultMemoryTTL
	}
	sid := newSessionID()
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.creates++
	if m.creates%64 == 0 {
		m.sweepLocked(now)
	}
	m.sessions[sid] = memorySession{
		sess: Session{
			User:     normalizeUserID(userID),
			UserName: userName,
			UserRole: userRole,
			Expires:  now.Add(ttl),
		},
		expires: now.Add(ttl),
	}
	return sid
}

// Destroy removes a session (logout). Unknown ids are ignored.
func (m *MemoryStore) Destroy(sid string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.sessions, sid)
}

// Get implements SessionStore.
func (m *MemoryStore) Get(ctx context.Context, sid string) (*Session, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.sessions[sid]
	if !ok {
		return nil, ErrNotFound
	}
	if !now.Before(s.expires) {
		delete(m.sessions, sid)
		return nil, ErrNotFound
	}
	sess := s.sess
	return &sess, nil
}

// Len returns the number of stored sessions, expired ones included until
// they are swept.
func (m *MemoryStore) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.sessions)
}

// Close implements the stores' common Close; it keeps the sessions.
func (m *MemoryStore) Close() error { return nil }

func (m *MemoryStore) sweepLocked(now time.Time) {
	for sid, s := range m.sessions {
		if !now.Before(s.expires) {
			delete(m.sessions, sid)
		}
	}
}

// normalizeUserID maps Go integer types to float64 so that a session made
// with Create(123, ...) matches the JSON number 123 of a handshake.
func normalizeUserID(v any) any {
	switch x := v.(type) {
	case int:
		return float64(x)
	case int32:
		return float64(x)
	case int64:
		return float64(x)
	case uint:
		return float64(x)
	case uint32:
		return float64(x)
	case uint64:
		return float64(x)
	case float32:
		return float64(x)
	default:
		return v
	}
}

// newSessionID returns 24 random bytes as unpadded base64url, the shape of
// express-session's uid-safe ids.
func newSessionID() string {
	var b [24]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b[:])
}
