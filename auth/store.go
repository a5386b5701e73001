package auth

import "context"

// SessionStore reads express-session records. Implementations: MongoStore
// (connect-mongo layout), RedisStore (connect-redis layout) and MemoryStore.
// They are safe for concurrent use.
type SessionStore interface {
	// Get returns the live session sid, ErrNotFound when it does not exist
	// or has expired, or another error when the store failed (including
	// ErrCorruptSession for data that cannot be decoded).
	Get(ctx context.Context, sid string) (*Session, error)
}
