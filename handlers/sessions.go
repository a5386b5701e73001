package handlers

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/tradedash/realtime/auth"
	"github.com/tradedash/realtime/server"
)

// SessionChecker re-validates a session (auth.Authenticator.Check).
type SessionChecker interface {
	Check(ctx context.Context, sid string) error
}

// WatchSessions re-checks the session of every connected socket each
// interval until ctx ends. A socket whose session expired or was destroyed
// (logout) gets `error` {code: UNAUTHORIZED} and is disconnected; a store
// failure keeps the socket (the next round tries again). Each session is
// checked once per round, however many sockets share it.
func WatchSessions(ctx context.Context, srv *server.Server, checker SessionChecker, interval time.Duration, log *slog.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			CheckSessions(ctx, srv, checker, log)
		}
	}
}

// CheckSessions runs one round of WatchSessions.
func CheckSessions(ctx context.Context, srv *server.Server, checker SessionChecker, log *slog.Logger) {
	bySession := make(map[string][]*server.Socket)
	for _, s := range srv.Sockets().LocalSockets() {
		if sid := s.Identity().SessionID; sid != "" {
			bySession[sid] = append(bySession[sid], s)
		}
	}
	for sid, socks := range bySession {
		if ctx.Err() != nil {
			return
		}
		err := checker.Check(ctx, sid)
		if !errors.Is(err, auth.ErrNotFound) {
			continue
		}
		for _, s := range socks {
			log.Info("session ended, disconnecting", "socket", s.ID(), "user", s.Identity().UserKey)
			_ = s.Emit("error", errorEvent{Code: CodeUnauthorized, Message: "Session expired or logged out"})
			s.Disconnect(true)
		}
	}
}
