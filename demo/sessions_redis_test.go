package demo

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tradedash/realtime/auth"
	"github.com/tradedash/realtime/internal/testenv"
)

func TestNewRedisSessionsRequiresClient(t *testing.T) {
	if _, err := NewRedisSessions(RedisSessionsConfig{}); !errors.Is(err, ErrNoRedisClient) {
		t.Fatalf("err = %v, want ErrNoRedisClient", err)
	}
}

func TestRedisSessions(t *testing.T) {
	rs := testenv.StartRedis(t)
	client := redis.NewClient(&redis.Options{Addr: rs.Addr})
	t.Cleanup(func() { client.Close() })
	store, err := auth.NewRedisStore(auth.RedisConfig{Client: client, Prefix: "sess:"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		secret string
		prefix string
	}{
		{"signed, default prefix", "s3cret", ""},
		{"unsigned", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			creator, err := NewRedisSessions(RedisSessionsConfig{Client: client, Secret: tc.secret, Prefix: tc.prefix})
			if err != nil {
				t.Fatal(err)
			}
			sid, signed, err := creator.CreateDevSession("demo-abc", "Alice")
			if err != nil {
				t.Fatal(err)
			}
			if tc.secret == "" && signed != sid {
				t.Fatalf("unsigned value %q, want the sid %q", signed, sid)
			}
			if tc.secret != "" {
				got, ok := auth.Unsign(signed, []string{tc.secret})
				if !ok || got != sid {
					t.Fatalf("Unsign(%q) = %q, %v", signed, got, ok)
				}
			}
			// The auth package's connect-redis reader finds it.
			sess, err := store.Get(context.Background(), sid)
			if err != nil {
				t.Fatal(err)
			}
			if sess.User != "demo-abc" || sess.UserName != "Alice" || sess.UserRole != "user" {
				t.Fatalf("session = %+v", sess)
			}
			ttl, err := client.TTL(context.Background(), "sess:"+sid).Result()
			if err != nil || ttl <= 23*time.Hour || ttl > DefaultSessionTTL {
				t.Fatalf("TTL = %v, %v", ttl, err)
			}
		})
	}
	t.Run("redis down", func(t *testing.T) {
		creator, _ := NewRedisSessions(RedisSessionsConfig{Client: client})
		rs.Kill()
		if _, _, err := creator.CreateDevSession("demo-x", "X"); err == nil {
			t.Fatal("no error with Redis down")
		}
	})
}
