// Package auth authenticates Socket.IO handshakes against express-session
// sessions written by the Node app (connect-mongo or connect-redis), exactly
// as the Node server's middleware did (EVENTS.md "Handshake authentication").
package auth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/tradedash/realtime/internal/jsonscan"
)

// Defaults for Config's zero values.
const (
	DefaultCookieName = "connect.sid"
	DefaultTimeout    = 2 * time.Second
	DefaultUserName   = "User"
	DefaultUserRole   = "user"
)

// Config configures an Authenticator.
type Config struct {
	// Store reads sessions (required).
	Store SessionStore
	// Secrets verify signed session ids ("s:<sid>.<sig>"); any one may match
	// (rotation), the first is the one the Node app signs with. Zero means
	// signed values never verify (raw session ids still work).
	Secrets []string
	// CookieName is the express-session cookie read when the handshake has no
	// sessionID. Zero means "connect.sid".
	CookieName string
	// Timeout bounds each store call. Zero means 2s.
	Timeout time.Duration
	// Logger receives one line per refused or failed handshake; session ids
	// appear only as a short hash. Nil means no logging.
	Logger *slog.Logger
}

// Authenticator checks handshakes and re-checks live sessions. It is safe
// for concurrent use.
type Authenticator struct {
	store      SessionStore
	secrets    []string
	cookieName string
	timeout    time.Duration
	log        *slog.Logger
}

// New returns an Authenticator; it panics if cfg.Store is nil (a wiring bug).
func New(cfg Config) *Authenticator {
	if cfg.Store == nil {
		panic("auth: Config.Store is nil")
	}
	a := &Authenticator{
		store:      cfg.Store,
		secrets:    append([]string(nil), cfg.Secrets...),
		cookieName: cfg.CookieName,
		timeout:    cfg.Timeout,
		log:        cfg.Logger,
	}
	if a.cookieName == "" {
		a.cookieName = DefaultCookieName
	}
	if a.timeout <= 0 {
		a.timeout = DefaultTimeout
	}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	return a
}

// Identity is an authenticated socket's user.
type Identity struct {
	// UserID is the handshake's userId with its JSON type: a string or a
	// float64 (a bool true is possible too, as in JavaScript).
	UserID any
	// UserKey is JavaScript String(userId), for room names: 123 -> "123".
	UserKey string
	// UserName is session.userName, else "User"; UserRole session.userRole,
	// else "user".
	UserName string
	UserRole string
	// SessionID is the store's session id (unsigned), for Check.
	SessionID string
}

// Authenticate validates a handshake. auth is the Socket.IO handshake auth
// object ({sessionID, userId, userName?}; empty, null or non-object means
// {}), header the handshake request headers (for the cookie fallback).
// Errors are *Error: ErrMissingCredentials, ErrInvalidSession or
// ErrAuthenticationFailed (compare with errors.Is).
func (a *Authenticator) Authenticate(ctx context.Context, auth json.RawMessage, header http.Header) (Identity, error) {
	return a.AuthenticateWith(ctx, auth, func() http.Header { return header })
}

// AuthenticateWith is Authenticate with the headers given by a function,
// called only for the cookie fallback (a handshake without sessionID):
// building a connection's header map costs more than the rest of a
// successful check.
func (a *Authenticator) AuthenticateWith(ctx context.Context, auth json.RawMessage, header func() http.Header) (Identity, error) {
	// auth.sessionID and auth.userId as JavaScript reads them (exact keys,
	// the last duplicate wins); anything but an object has neither.
	var sidVal, userID any
	var rawSID, rawUser json.RawMessage
	hasSID := false
	jsonscan.Object(auth, func(k, v []byte) {
		switch {
		case jsonscan.KeyIs(k, "sessionID"):
			rawSID, hasSID = v, true
		case jsonscan.KeyIs(k, "userId"):
			rawUser = v
		}
	})
	if hasSID {
		sidVal = decodeValue(rawSID)
	}
	if rawUser != nil {
		userID = decodeValue(rawUser)
	}

	fromCookie := false
	if !hasSID || sidVal == nil || sidVal == "" {
		if v, ok := CookieValue(header(), a.cookieName); ok {
			sidVal, fromCookie = v, true
		}
	}
	if !jsTruthy(sidVal) || !jsTruthy(userID) {
		a.log.Info("auth: missing credentials", "cookie", fromCookie)
		return Identity{}, ErrMissingCredentials
	}
	raw, ok := sidVal.(string)
	if !ok {
		a.log.Info("auth: refused", "reason", "sessionID is not a string")
		return Identity{}, ErrInvalidSession
	}
	var sid string
	if fromCookie {
		// express-session ignores an unsigned session cookie.
		var verified bool
		if sid, verified = Unsign(raw, a.secrets); !verified {
			a.log.Info("auth: refused", "reason", "cookie not signed or signature invalid", "sid_hash", shortHash(raw))
			return Identity{}, ErrInvalidSession.withCause(ErrBadSignature)
		}
	} else {
		var err error
		if sid, err = ParseSessionID(raw, a.secrets); err != nil {
			a.log.Info("auth: refused", "reason", "signature invalid", "sid_hash", shortHash(raw))
			return Identity{}, ErrInvalidSession.withCause(err)
		}
	}
	if sid == "" {
		return Identity{}, ErrInvalidSession.withCause(ErrNotFound)
	}

	sess, err := a.get(ctx, sid)
	switch {
	case errors.Is(err, ErrNotFound):
		a.log.Info("auth: refused", "reason", "session not found or expired", "sid_hash", shortHash(sid))
		return Identity{}, ErrInvalidSession.withCause(err)
	case err != nil:
		a.log.Warn("auth: session store failed", "sid_hash", shortHash(sid), "err", err)
		return Identity{}, ErrAuthenticationFailed.withCause(err)
	}
	if !jsStrictEqual(sess.User, userID) {
		a.log.Info("auth: refused", "reason", "user mismatch", "sid_hash", shortHash(sid))
		return Identity{}, ErrInvalidSession
	}
	key, _ := jsString(userID) // userID equals a primitive here
	id := Identity{
		UserID:    userID,
		UserKey:   key,
		UserName:  sess.UserName,
		UserRole:  sess.UserRole,
		SessionID: sid,
	}
	if id.UserName == "" {
		id.UserName = DefaultUserName
	}
	if id.UserRole == "" {
		id.UserRole = DefaultUserRole
	}
	a.log.Debug("auth: authenticated", "user", id.UserKey, "sid_hash", shortHash(sid))
	return id, nil
}

// Check re-validates a live socket's session (Identity.SessionID): nil while
// it exists, ErrNotFound once it expired or was destroyed (logout), another
// error when the store failed (the caller then keeps the socket).
func (a *Authenticator) Check(ctx context.Context, sid string) error {
	_, err := a.get(ctx, sid)
	if err != nil && !errors.Is(err, ErrNotFound) {
		a.log.Warn("auth: session re-check failed", "sid_hash", shortHash(sid), "err", err)
	}
	return err
}

func (a *Authenticator) get(ctx context.Context, sid string) (*Session, error) {
	ctx, cancel := context.WithTimeout(ctx, a.timeout)
	defer cancel()
	return a.store.Get(ctx, sid)
}

// shortHash identifies a session id in logs without revealing it.
func shortHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:6])
}
