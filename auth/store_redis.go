package auth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// DefaultRedisPrefix is connect-redis's default key prefix.
const DefaultRedisPrefix = "sess:"

// RedisConfig configures a RedisStore. Exactly one of Client and URL is set.
type RedisConfig struct {
	// Client is an existing client, owned by the caller (Close leaves it open).
	Client redis.UniversalClient
	// URL is a redis:// URL; the store opens a client and Close closes it.
	URL string
	// Prefix is the key prefix (key = Prefix + sid). Zero means "sess:".
	Prefix string
}

// RedisStore reads sessions written by connect-redis 10: key prefix+sid,
// value the JSON session, expiry by the key's TTL.
type RedisStore struct {
	client redis.UniversalClient
	prefix string
	owned  bool
}

// NewRedisStore returns a store; it does not contact Redis (see Ping).
func NewRedisStore(cfg RedisConfig) (*RedisStore, error) {
	s := &RedisStore{client: cfg.Client, prefix: cfg.Prefix}
	if s.prefix == "" {
		s.prefix = DefaultRedisPrefix
	}
	switch {
	case cfg.Client != nil && cfg.URL != "":
		return nil, errors.New("auth: RedisConfig: set Client or URL, not both")
	case cfg.Client == nil && cfg.URL == "":
		return nil, errors.New("auth: RedisConfig: Client or URL is required")
	case cfg.Client == nil:
		opts, err := redis.ParseURL(cfg.URL)
		if err != nil {
			return nil, fmt.Errorf("auth: RedisConfig.URL: %w", err)
		}
		// Fail fast when Redis is down; the authenticator bounds each call anyway.
		opts.DialTimeout = time.Second
		opts.MaxRetries = -1
		s.client = redis.NewClient(opts)
		s.owned = true
	}
	return s, nil
}

// Get implements SessionStore.
func (s *RedisStore) Get(ctx context.Context, sid string) (*Session, error) {
	data, err := s.client.Get(ctx, s.prefix+sid).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("auth: redis get: %w", err)
	}
	if len(data) == 0 { // connect-redis: `if (!data) return null`
		return nil, ErrNotFound
	}
	return decodeSessionJSON(data)
}

// Ping checks that Redis answers.
func (s *RedisStore) Ping(ctx context.Context) error {
	return s.client.Ping(ctx).Err()
}

// Close closes the client if the store opened it.
func (s *RedisStore) Close() error {
	if !s.owned {
		return nil
	}
	return s.client.Close()
}
