package auth

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/tradedash/realtime/internal/testenv"
)

const fixtureSecret = "fixture-secret"

// storeEnv is one real store plus the Node flags that make the Express
// fixture app write to it.
type storeEnv struct {
	name  string
	store SessionStore
	flags []string // --store ... for sessions/cli.js
	node  *testenv.Node
	kill  func()
	// restart brings the server back; for Redis the data is gone (no persistence).
	restart func()
}

func (e *storeEnv) login(t *testing.T, user string, extra ...string) testenv.SessionLogin {
	t.Helper()
	args := append(append([]string{}, e.flags...), "--secret", fixtureSecret, "--user", user)
	return e.node.SessionLogin(t.Context(), append(args, extra...)...)
}

func newMongoEnv(t *testing.T, cryptoSecret string) (*storeEnv, *testenv.FerretDB) {
	t.Helper()
	node := testenv.RequireNode(t)
	fdb := testenv.StartFerretDB(t)
	store, err := NewMongoStore(t.Context(), MongoConfig{URI: fdb.URI(), DB: "app", CryptoSecret: cryptoSecret})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	return &storeEnv{
		name: "mongo", store: store, node: node,
		flags:   []string{"--store", "mongo", "--mongo-url", fdb.URI(), "--db-name", "app"},
		kill:    fdb.Kill,
		restart: fdb.Restart,
	}, fdb
}

func newRedisEnv(t *testing.T, prefix string) *storeEnv {
	t.Helper()
	node := testenv.RequireNode(t)
	r := testenv.StartRedis(t)
	store, err := NewRedisStore(RedisConfig{URL: r.URL(), Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	flags := []string{"--store", "redis", "--redis-url", r.URL()}
	if prefix != "" {
		flags = append(flags, "--prefix", prefix)
	}
	return &storeEnv{name: "redis", store: store, node: node, flags: flags, kill: r.Kill, restart: r.Restart}
}

func authJSON(t *testing.T, fields map[string]any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(fields)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// runFixtureCases runs the shared handshake table against one store, with
// every session made by the real Express app.
func runFixtureCases(t *testing.T, env *storeEnv) {
	a := New(Config{Store: env.store, Secrets: []string{fixtureSecret}})
	str := env.login(t, `"u1"`, "--user-name", "Alice", "--user-role", "admin", "--max-age-ms", "600000")
	num := env.login(t, `123`, "--max-age-ms", "600000")
	str123 := env.login(t, `"123"`)
	cookieValue := strings.SplitN(strings.TrimPrefix(str.Cookie, "connect.sid="), ";", 2)[0] // URL-encoded
	alice := Identity{UserID: "u1", UserKey: "u1", UserName: "Alice", UserRole: "admin", SessionID: str.SID}

	tests := []struct {
		name    string
		auth    map[string]any
		header  http.Header
		a       *Authenticator
		want    Identity
		wantErr error
	}{
		{"raw sid", map[string]any{"sessionID": str.SID, "userId": "u1"}, nil, a, alice, nil},
		{"signed sid", map[string]any{"sessionID": str.Signed, "userId": "u1"}, nil, a, alice, nil},
		{"signed sid url-encoded", map[string]any{"sessionID": cookieValue, "userId": "u1"}, nil, a, alice, nil},
		{"cookie fallback", map[string]any{"userId": "u1"}, http.Header{"Cookie": {"theme=dark; connect.sid=" + cookieValue}}, a, alice, nil},
		{"cookie ignored for a wrong sessionID", map[string]any{"sessionID": "nope", "userId": "u1"}, http.Header{"Cookie": {"connect.sid=" + cookieValue}}, a, Identity{}, ErrInvalidSession},
		{"tampered signature", map[string]any{"sessionID": str.Signed[:len(str.Signed)-2] + "xx", "userId": "u1"}, nil, a, Identity{}, ErrInvalidSession},
		{"rotated secret", map[string]any{"sessionID": str.Signed, "userId": "u1"}, nil,
			New(Config{Store: env.store, Secrets: []string{"new-secret", fixtureSecret}}), alice, nil},
		{"secret no longer configured", map[string]any{"sessionID": str.Signed, "userId": "u1"}, nil,
			New(Config{Store: env.store, Secrets: []string{"new-secret"}}), Identity{}, ErrInvalidSession},
		{"unknown sid", map[string]any{"sessionID": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "userId": "u1"}, nil, a, Identity{}, ErrInvalidSession},
		{"wrong user", map[string]any{"sessionID": str.SID, "userId": "u2"}, nil, a, Identity{}, ErrInvalidSession},
		{"number user", map[string]any{"sessionID": num.SID, "userId": 123}, nil, a,
			Identity{UserID: 123.0, UserKey: "123", UserName: "User", UserRole: "user", SessionID: num.SID}, nil},
		{"number session, string userId", map[string]any{"sessionID": num.SID, "userId": "123"}, nil, a, Identity{}, ErrInvalidSession},
		{"string session, number userId", map[string]any{"sessionID": str123.SID, "userId": 123}, nil, a, Identity{}, ErrInvalidSession},
		{"string session, string userId", map[string]any{"sessionID": str123.SID, "userId": "123"}, nil, a,
			Identity{UserID: "123", UserKey: "123", UserName: "User", UserRole: "user", SessionID: str123.SID}, nil},
		{"missing userId", map[string]any{"sessionID": str.SID}, nil, a, Identity{}, ErrMissingCredentials},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.a.Authenticate(t.Context(), authJSON(t, tc.auth), tc.header)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if got != tc.want {
				t.Fatalf("identity = %#v, want %#v", got, tc.want)
			}
		})
	}

	t.Run("logout then Check", func(t *testing.T) {
		s := env.login(t, `"bye"`)
		if err := a.Check(t.Context(), s.SID); err != nil {
			t.Fatalf("Check live = %v", err)
		}
		if !env.node.SessionLogout(t.Context(), append(append([]string{}, env.flags...), "--secret", fixtureSecret, "--sid", s.SID)...) {
			t.Fatal("logout: the app did not find the session")
		}
		if err := a.Check(t.Context(), s.SID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Check after logout = %v, want ErrNotFound", err)
		}
	})

	t.Run("expired", func(t *testing.T) {
		s := env.login(t, `"short"`, "--max-age-ms", "1500")
		auth := authJSON(t, map[string]any{"sessionID": s.SID, "userId": "short"})
		waitFor(t, 15*time.Second, "session to expire", func() bool {
			return errors.Is(a.Check(t.Context(), s.SID), ErrNotFound)
		})
		if _, err := a.Authenticate(t.Context(), auth, nil); !errors.Is(err, ErrInvalidSession) {
			t.Fatalf("expired: err = %v, want ErrInvalidSession", err)
		}
	})

	t.Run("store down then back", func(t *testing.T) {
		fast := New(Config{Store: env.store, Secrets: []string{fixtureSecret}, Timeout: 500 * time.Millisecond})
		auth := authJSON(t, map[string]any{"sessionID": str.SID, "userId": "u1"})
		env.kill()
		start := time.Now()
		_, err := fast.Authenticate(t.Context(), auth, nil)
		if !errors.Is(err, ErrAuthenticationFailed) {
			t.Fatalf("store down: err = %v, want ErrAuthenticationFailed", err)
		}
		if d := time.Since(start); d > 1500*time.Millisecond {
			t.Fatalf("store down: took %v, want about the 500ms timeout", d)
		}
		if err := fast.Check(t.Context(), str.SID); err == nil || errors.Is(err, ErrNotFound) {
			t.Fatalf("Check with store down = %v, want a store error", err)
		}
		env.restart()
		// Redis restarts empty (no persistence): log in again; FerretDB keeps its data.
		sid, user := str.SID, "u1"
		if env.name == "redis" {
			sid, user = env.login(t, `"again"`).SID, "again"
		}
		auth = authJSON(t, map[string]any{"sessionID": sid, "userId": user})
		waitFor(t, 20*time.Second, "authentication to recover", func() bool {
			_, err := fast.Authenticate(t.Context(), auth, nil)
			return err == nil
		})
	})
}

func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestRedisStoreWithNodeSessions(t *testing.T) {
	runFixtureCases(t, newRedisEnv(t, ""))
}

func TestRedisStoreCustomPrefix(t *testing.T) {
	env := newRedisEnv(t, "myapp:sess:")
	s := env.login(t, `"u1"`)
	sess, err := env.store.Get(t.Context(), s.SID)
	if err != nil || sess.User != "u1" {
		t.Fatalf("Get = %#v, %v", sess, err)
	}
	other, err := NewRedisStore(RedisConfig{URL: env.flags[3]}) // default prefix
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, err := other.Get(t.Context(), s.SID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("default prefix: err = %v, want ErrNotFound", err)
	}
}

func TestMongoStoreWithNodeSessions(t *testing.T) {
	env, _ := newMongoEnv(t, "")
	runFixtureCases(t, env)
}

func TestMongoStoreVariants(t *testing.T) {
	env, fdb := newMongoEnv(t, "crypto-secret")
	a := New(Config{Store: env.store, Secrets: []string{fixtureSecret}})
	tests := []struct {
		name  string
		user  string
		flags []string
		want  any
	}{
		{"plain JSON with a crypto secret configured is a store failure (as in connect-mongo)", `"u1"`, nil, nil},
		{"stringify false, string user", `"u1"`, []string{"--no-stringify"}, "u1"},
		{"stringify false, number user", `123`, []string{"--no-stringify"}, 123.0},
		{"stringify false, large number user", `1099511627776`, []string{"--no-stringify"}, 1099511627776.0},
		{"kruptein crypto", `"u1"`, []string{"--crypto-secret", "crypto-secret"}, "u1"},
		{"kruptein crypto, stringify false", `123`, []string{"--crypto-secret", "crypto-secret", "--no-stringify"}, 123.0},
		{"web crypto", `"u1"`, []string{"--crypto-secret", "crypto-secret", "--crypto-adapter", "webcrypto"}, "u1"},
		{"web crypto, stringify false", `7`, []string{"--crypto-secret", "crypto-secret", "--crypto-adapter", "webcrypto", "--no-stringify"}, 7.0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := env.login(t, tc.user, append([]string{"--user-name", "Bob"}, tc.flags...)...)
			uid := tc.want
			if uid == nil {
				uid = "u1"
			}
			id, err := a.Authenticate(t.Context(), authJSON(t, map[string]any{"sessionID": s.Signed, "userId": uid}), nil)
			if tc.want == nil {
				if !errors.Is(err, ErrAuthenticationFailed) {
					t.Fatalf("err = %v, want ErrAuthenticationFailed", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Authenticate = %v", err)
			}
			if id.UserID != tc.want || id.UserName != "Bob" || id.UserRole != "user" {
				t.Fatalf("identity = %#v", id)
			}
		})
	}

	t.Run("crypto session with the wrong secret is a store failure", func(t *testing.T) {
		s := env.login(t, `"u1"`, "--crypto-secret", "another-secret")
		_, err := a.Authenticate(t.Context(), authJSON(t, map[string]any{"sessionID": s.SID, "userId": "u1"}), nil)
		if !errors.Is(err, ErrAuthenticationFailed) || !errors.Is(err, ErrCorruptSession) {
			t.Fatalf("err = %v, want ErrAuthenticationFailed caused by ErrCorruptSession", err)
		}
	})

	t.Run("crypto session without a configured secret is a store failure", func(t *testing.T) {
		plain, err := NewMongoStore(t.Context(), MongoConfig{URI: fdb.URI(), DB: "app"})
		if err != nil {
			t.Fatal(err)
		}
		defer plain.Close()
		s := env.login(t, `"u1"`, "--crypto-secret", "crypto-secret")
		_, err = New(Config{Store: plain}).Authenticate(t.Context(), authJSON(t, map[string]any{"sessionID": s.SID, "userId": "u1"}), nil)
		if !errors.Is(err, ErrAuthenticationFailed) {
			t.Fatalf("err = %v, want ErrAuthenticationFailed", err)
		}
	})

	t.Run("expired document still present is invalid", func(t *testing.T) {
		s := env.login(t, `"gone"`, "--max-age-ms", "1000")
		waitFor(t, 15*time.Second, "session to expire", func() bool {
			return errors.Is(a.Check(t.Context(), s.SID), ErrNotFound)
		})
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		client, err := mongo.Connect(ctx, options.Client().ApplyURI(fdb.URI()))
		if err != nil {
			t.Fatal(err)
		}
		defer client.Disconnect(context.Background())
		n, err := client.Database("app").Collection("sessions").CountDocuments(ctx, bson.D{{Key: "_id", Value: s.SID}})
		if err != nil || n != 1 {
			t.Fatalf("the expired document should still exist (autoRemove disabled): n=%d err=%v", n, err)
		}
	})
}

func TestFerretDBStopsOnSIGTERM(t *testing.T) {
	fdb := testenv.StartFerretDB(t)
	if err := fdb.Stop(); err != nil {
		t.Fatalf("ferretdb exit after SIGTERM: %v, want a clean exit", err)
	}
}
