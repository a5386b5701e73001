// Package demo is the demo market for DEMO=true: a feed that publishes
// quote, portfolio and trade events through the same emit API real producers
// use, and a dev login endpoint that creates a session without a real login.
// Nothing here is used when DEMO is off.
package demo

// Emitter is the producer side of the realtime server. The server's
// *server.Server satisfies it.
type Emitter interface {
	// EmitToUser emits event to the room "user:"+userKey.
	EmitToUser(userKey, event string, data any) error
	// EmitToRoom emits event to every socket in room.
	EmitToRoom(room, event string, data any) error
	// LocalRooms lists the rooms that have members on this instance and
	// whose name starts with prefix (for example "watchlist:" or "user:").
	LocalRooms(prefix string) []string
}

// SessionCreator creates a logged-in session in the configured session store,
// as passport would after a real login.
type SessionCreator interface {
	// CreateDevSession stores a session whose passport.user is userID and
	// returns its raw id and the signed cookie value ("s:<sid>.<sig>").
	CreateDevSession(userID any, userName string) (sid string, signed string, err error)
}
