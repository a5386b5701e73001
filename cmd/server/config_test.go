package main

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// cleanEnv empties every configuration key for the test (viper treats an
// empty variable as unset) and sets the given ones.
func cleanEnv(t *testing.T, set map[string]string) {
	t.Helper()
	for k := range defaults {
		t.Setenv(k, "")
	}
	for k, v := range set {
		t.Setenv(k, v)
	}
}

func TestLoadConfigDefaults(t *testing.T) {
	cleanEnv(t, nil)
	var stderr bytes.Buffer
	cfg, log, err := loadConfig(nil, &stderr)
	if err != nil {
		t.Fatalf("loadConfig: %v", err)
	}
	if log == nil {
		t.Fatal("no logger")
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"Port", cfg.Port, 3000},
		{"PingInterval", cfg.PingInterval, 25 * time.Second},
		{"PingTimeout", cfg.PingTimeout, 60 * time.Second},
		{"MaxHTTPBufferSize", cfg.MaxHTTPBufferSize, 1000000},
		{"PerMessageDeflateThreshold", cfg.PerMessageDeflateThreshold, 1024},
		{"SessionStore", cfg.SessionStore, "memory"},
		{"SessionCollection", cfg.SessionCollection, "sessions"},
		{"SessionRedisPrefix", cfg.SessionRedisPrefix, "sess:"},
		{"SessionCookieName", cfg.SessionCookieName, "connect.sid"},
		{"SessionRecheck", cfg.SessionRecheck, 60 * time.Second},
		{"RateLimitMax", cfg.RateLimitMax, 10},
		{"RateLimitWindow", cfg.RateLimitWindow, 60 * time.Second},
		{"RateLimitFailOpen", cfg.RateLimitFailOpen, true},
		{"MaxSubscriptions", cfg.MaxSubscriptions, 50},
		{"ShutdownGrace", cfg.ShutdownGrace, time.Second},
		{"LogLevel", cfg.LogLevel, slog.LevelInfo},
		{"Demo", cfg.Demo, false},
		{"CORSOrigin", cfg.CORSOrigin, "*"},
		{"EmitToken", cfg.EmitToken, ""},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if stderr.Len() != 0 {
		t.Errorf("stderr %q", stderr.String())
	}
}

func TestLoadConfigEnvValues(t *testing.T) {
	cleanEnv(t, map[string]string{
		"PORT": "4000", "HOST": "127.0.0.1", "PING_INTERVAL_MS": "1500", "SESSION_SECRET": "new,old",
		"SESSION_STORE": "mongo", "MONGODB_URI": "mongodb://127.0.0.1:1/", "RATE_LIMIT_FAIL_OPEN": "false",
		"LOG_LEVEL": "debug", "PER_MESSAGE_DEFLATE_THRESHOLD": "0", "SESSION_RECHECK_MS": " 500 ", "EMIT_TOKEN": "tok",
	})
	cfg, _, err := loadConfig(nil, &bytes.Buffer{})
	if err != nil {
		t.Fatalf("loadConfig: %v", err)
	}
	if cfg.Port != 4000 || cfg.Host != "127.0.0.1" || cfg.PingInterval != 1500*time.Millisecond ||
		len(cfg.SessionSecrets) != 2 || cfg.SessionSecrets[0] != "new" || cfg.SessionSecrets[1] != "old" ||
		cfg.SessionStore != "mongo" || cfg.RateLimitFailOpen || cfg.LogLevel != slog.LevelDebug ||
		cfg.PerMessageDeflateThreshold != -1 || cfg.SessionRecheck != 500*time.Millisecond || cfg.EmitToken != "tok" {
		t.Fatalf("config %+v", cfg)
	}
}

func TestLoadConfigInvalidNamesKey(t *testing.T) {
	cases := []struct {
		env  map[string]string
		args []string
		key  string
	}{
		{map[string]string{"PORT": "abc"}, nil, "PORT"},
		{map[string]string{"PORT": "70000"}, nil, "PORT"},
		{map[string]string{"PORT": "-1"}, nil, "PORT"},
		{map[string]string{"PING_INTERVAL_MS": "-1"}, nil, "PING_INTERVAL_MS"},
		{map[string]string{"PING_INTERVAL_MS": "1.5"}, nil, "PING_INTERVAL_MS"},
		{map[string]string{"PING_TIMEOUT_MS": "0"}, nil, "PING_TIMEOUT_MS"},
		{map[string]string{"SESSION_STORE": "foo"}, nil, "SESSION_STORE"},
		{map[string]string{"SESSION_STORE": "mongo"}, nil, "MONGODB_URI"},
		{map[string]string{"SESSION_STORE": "mongo", "MONGODB_URI": "http://x"}, nil, "MONGODB_URI"},
		{map[string]string{"SESSION_STORE": "redis"}, nil, "REDIS_URL"},
		{map[string]string{"REDIS_URL": "http://x"}, nil, "REDIS_URL"},
		{map[string]string{"RATE_LIMIT_FAIL_OPEN": "maybe"}, nil, "RATE_LIMIT_FAIL_OPEN"},
		{map[string]string{"RATE_LIMIT_MAX": "0"}, nil, "RATE_LIMIT_MAX"},
		{map[string]string{"MAX_SUBSCRIPTIONS": "x"}, nil, "MAX_SUBSCRIPTIONS"},
		{map[string]string{"LOG_LEVEL": "loud"}, nil, "LOG_LEVEL"},
		{map[string]string{"DEMO": "yes please"}, nil, "DEMO"},
		{map[string]string{"SESSION_RECHECK_MS": "50"}, nil, "SESSION_RECHECK_MS"},
		{map[string]string{"SESSION_SECRET": "a,,b"}, nil, "SESSION_SECRET"},
		{nil, []string{"--port", "abc"}, "port"},
		{nil, []string{"--log-level", "loud"}, "LOG_LEVEL"},
		{nil, []string{"--config", "/nonexistent/realtime.yaml"}, "/nonexistent/realtime.yaml"},
	}
	for _, tc := range cases {
		t.Run(tc.key+"/"+strings.Join(tc.args, " ")+mapString(tc.env), func(t *testing.T) {
			cleanEnv(t, tc.env)
			_, _, err := loadConfig(tc.args, &bytes.Buffer{})
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), tc.key) {
				t.Fatalf("error %q does not name %s", err, tc.key)
			}
		})
	}
}

func mapString(m map[string]string) string {
	var b strings.Builder
	for k, v := range m {
		b.WriteString(" " + k + "=" + v)
	}
	return b.String()
}

// TestLoadConfigAllErrorsAtOnce: several bad values are all named.
func TestLoadConfigAllErrorsAtOnce(t *testing.T) {
	cleanEnv(t, map[string]string{"PORT": "abc", "LOG_LEVEL": "loud", "RATE_LIMIT_FAIL_OPEN": "maybe"})
	_, _, err := loadConfig(nil, &bytes.Buffer{})
	for _, k := range []string{"PORT", "LOG_LEVEL", "RATE_LIMIT_FAIL_OPEN"} {
		if err == nil || !strings.Contains(err.Error(), k) {
			t.Fatalf("error %v does not name %s", err, k)
		}
	}
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadConfigFileUnknownKey(t *testing.T) {
	for _, f := range []struct{ name, content string }{
		{"c.yaml", "PORT: 4100\nrate_limit_max: 7\nPROT: 1\nsession_secret: s1\n"},
		{"c.json", `{"PORT": 4100, "RATE_LIMIT_MAX": 7, "PROT": 1, "SESSION_SECRET": "s1"}`},
		{"c.toml", "PORT = 4100\nRATE_LIMIT_MAX = 7\nPROT = 1\nSESSION_SECRET = \"s1\"\n"},
	} {
		t.Run(f.name, func(t *testing.T) {
			cleanEnv(t, nil)
			path := writeFile(t, f.name, f.content)
			var stderr bytes.Buffer
			cfg, _, err := loadConfig([]string{"--config", path}, &stderr)
			if err != nil {
				t.Fatalf("loadConfig: %v", err)
			}
			if cfg.Port != 4100 || cfg.RateLimitMax != 7 || len(cfg.SessionSecrets) != 1 || cfg.SessionSecrets[0] != "s1" {
				t.Fatalf("known keys not applied: %+v", cfg)
			}
			out := stderr.String()
			if !strings.Contains(out, "level=WARN") || !strings.Contains(out, "unknown configuration key") || !strings.Contains(strings.ToLower(out), "key=prot") {
				t.Fatalf("stderr %q does not report the unknown key", out)
			}
			if strings.Count(out, "unknown configuration key") != 1 {
				t.Fatalf("stderr %q reports more than PROT", out)
			}
		})
	}
}

func TestLoadConfigPrecedence(t *testing.T) {
	file := writeFile(t, "p.yaml", "PORT: 3003\nLOG_LEVEL: warn\nRATE_LIMIT_MAX: 33\nHOST: 10.0.0.3\n")
	cases := []struct {
		name     string
		env      map[string]string
		args     []string
		port     int
		level    slog.Level
		rateMax  int
		wantHost string
	}{
		{"default", nil, nil, 3000, slog.LevelInfo, 10, ""},
		{"file over default", nil, []string{"--config", file}, 3003, slog.LevelWarn, 33, "10.0.0.3"},
		{"env over file", map[string]string{"PORT": "3002", "RATE_LIMIT_MAX": "22"}, []string{"--config", file}, 3002, slog.LevelWarn, 22, "10.0.0.3"},
		{"flag over env", map[string]string{"PORT": "3002", "LOG_LEVEL": "error"}, []string{"--config", file, "--port", "3001", "--log-level", "debug", "--host", "127.0.0.1"}, 3001, slog.LevelDebug, 33, "127.0.0.1"},
		{"flag over default", nil, []string{"--port", "3001"}, 3001, slog.LevelInfo, 10, ""},
		{"unset flag does not override", map[string]string{"PORT": "3002"}, []string{"--log-level", "error"}, 3002, slog.LevelError, 10, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cleanEnv(t, tc.env)
			cfg, _, err := loadConfig(tc.args, &bytes.Buffer{})
			if err != nil {
				t.Fatalf("loadConfig: %v", err)
			}
			if cfg.Port != tc.port || cfg.LogLevel != tc.level || cfg.RateLimitMax != tc.rateMax || cfg.Host != tc.wantHost {
				t.Fatalf("port %d level %v rate %d host %q; want %d %v %d %q", cfg.Port, cfg.LogLevel, cfg.RateLimitMax, cfg.Host, tc.port, tc.level, tc.rateMax, tc.wantHost)
			}
		})
	}
}

func TestParseEveryKey(t *testing.T) {
	// Every default parses; parse alone reports each bad integer by key.
	for key := range defaults {
		vals := map[string]string{}
		for k, v := range defaults {
			vals[k] = v
		}
		if _, err := parse(func(k string) string { return vals[k] }); err != nil {
			t.Fatalf("defaults: %v", err)
		}
		vals[key] = "not-a-value"
		_, err := parse(func(k string) string { return vals[k] })
		isString := map[string]bool{"HOST": true, "CORS_ORIGIN": true, "SESSION_STORE": true, "MONGODB_URI": true, "MONGODB_DB": true,
			"SESSION_COLLECTION": true, "REDIS_URL": true, "SESSION_REDIS_PREFIX": true, "SESSION_SECRET": true, "SESSION_COOKIE_NAME": true,
			"SESSION_CRYPTO_SECRET": true, "EMIT_TOKEN": true, "REDIS_ADAPTER_KEY": true, "PPROF_ADDR": true}[key]
		if isString {
			continue // strings are checked by Validate
		}
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("%s=not-a-value: %v", key, err)
		}
	}
}
