package demo

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tradedash/realtime/auth"
)

// Defaults of RedisSessionsConfig.
const (
	DefaultSessionPrefix = "sess:"
	DefaultSessionTTL    = 24 * time.Hour // connect-redis' TTL for a cookie without maxAge
	redisWriteTimeout    = 2 * time.Second
)

// ErrNoRedisClient is returned by NewRedisSessions when the client is nil.
var ErrNoRedisClient = errors.New("demo: RedisSessionsConfig.Client is required")

// RedisSessionsConfig configures NewRedisSessions.
type RedisSessionsConfig struct {
	// Client is the Redis the session store reads. Required.
	Client *redis.Client
	// Prefix of session keys. Zero means DefaultSessionPrefix ("sess:").
	Prefix string
	// Secret signs the cookie value. Zero means no signature (the "signed"
	// value is then the raw sid).
	Secret string
	// TTL of a dev session. Zero means DefaultSessionTTL (24h).
	TTL time.Duration
}

// RedisSessions is a SessionCreator writing dev sessions in connect-redis'
// layout (key prefix+sid, JSON value, TTL), so that SESSION_STORE=redis
// finds them and they survive a restart of the server.
type RedisSessions struct {
	cfg RedisSessionsConfig
}

// NewRedisSessions returns a SessionCreator for a Redis session store.
func NewRedisSessions(cfg RedisSessionsConfig) (*RedisSessions, error) {
	if cfg.Client == nil {
		return nil, ErrNoRedisClient
	}
	if cfg.Prefix == "" {
		cfg.Prefix = DefaultSessionPrefix
	}
	if cfg.TTL <= 0 {
		cfg.TTL = DefaultSessionTTL
	}
	return &RedisSessions{cfg: cfg}, nil
}

// storedCookie and storedSession are what express-session serializes.
type storedCookie struct {
	OriginalMaxAge int64  `json:"originalMaxAge"`
	Expires        string `json:"expires"`
	HTTPOnly       bool   `json:"httpOnly"`
	Path           string `json:"path"`
}

type storedSession struct {
	Cookie   storedCookie   `json:"cookie"`
	Passport map[string]any `json:"passport"`
	UserName string         `json:"userName"`
	UserRole string         `json:"userRole"`
}

// CreateDevSession implements SessionCreator.
func (r *RedisSessions) CreateDevSession(userID any, userName string) (string, string, error) {
	var b [24]byte // express-session's uid-safe(24)
	if _, err := rand.Read(b[:]); err != nil {
		return "", "", err
	}
	sid := base64.RawURLEncoding.EncodeToString(b[:])
	body, err := json.Marshal(storedSession{
		Cookie: storedCookie{
			OriginalMaxAge: r.cfg.TTL.Milliseconds(),
			Expires:        isoTime(time.Now().Add(r.cfg.TTL)),
			HTTPOnly:       true,
			Path:           "/",
		},
		Passport: map[string]any{"user": userID},
		UserName: userName,
		UserRole: "user",
	})
	if err != nil {
		return "", "", fmt.Errorf("demo: encode session: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), redisWriteTimeout)
	defer cancel()
	if err := r.cfg.Client.Set(ctx, r.cfg.Prefix+sid, body, r.cfg.TTL).Err(); err != nil {
		return "", "", fmt.Errorf("demo: store session: %w", err)
	}
	signed := sid
	if r.cfg.Secret != "" {
		signed = auth.Sign(sid, r.cfg.Secret)
	}
	return sid, signed, nil
}
