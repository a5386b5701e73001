package main

import (
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"github.com/spf13/viper"

	"github.com/tradedash/realtime/internal/app"
)

// defaults are every configuration key with its default, as the README's
// table lists them. Keys are env var names; a config file uses the same
// names (any case).
var defaults = map[string]string{
	"PORT": "3000", "HOST": "", "CORS_ORIGIN": "*",
	"PING_INTERVAL_MS": "25000", "PING_TIMEOUT_MS": "60000",
	"MAX_HTTP_BUFFER_SIZE": "1000000", "PER_MESSAGE_DEFLATE_THRESHOLD": "1024",
	"MAX_BUFFERED_BYTES": "1048576", "CONNECT_TIMEOUT_MS": "45000",
	"SESSION_STORE": "memory", "MONGODB_URI": "", "MONGODB_DB": "", "SESSION_COLLECTION": "sessions",
	"REDIS_URL": "", "SESSION_REDIS_PREFIX": "sess:", "SESSION_SECRET": "", "SESSION_COOKIE_NAME": "connect.sid",
	"SESSION_CRYPTO_SECRET": "", "SESSION_RECHECK_MS": "60000", "AUTH_TIMEOUT_MS": "2000",
	"EMIT_TOKEN":     "",
	"RATE_LIMIT_MAX": "10", "RATE_LIMIT_WINDOW_MS": "60000", "RATE_LIMIT_FAIL_OPEN": "true",
	"MAX_SUBSCRIPTIONS": "50", "SUBSCRIPTION_LEASE_MS": "30000",
	"REDIS_ADAPTER_KEY": "socket.io", "REDIS_ADAPTER_SHARDED": "false",
	"SHUTDOWN_GRACE_MS": "1000", "LOG_LEVEL": "info",
	"DEMO": "false", "DEMO_TRADE_INTERVAL_MS": "10000",
	"PPROF_ADDR": "",
}

// loadConfig reads flags, env vars and the optional --config file with a
// local viper instance (precedence: flag, env, file, default), reports
// unknown keys of the file and validates every value, naming the key.
func loadConfig(args []string, stderr io.Writer) (app.Config, *slog.Logger, error) {
	fs := pflag.NewFlagSet("server", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("config", "", "configuration file (yaml, json or toml) with the same keys as the env vars")
	fs.Int("port", 3000, "PORT")
	fs.String("host", "", "HOST")
	fs.String("log-level", "info", "LOG_LEVEL")
	fs.Bool("demo", false, "DEMO")
	if err := fs.Parse(args); err != nil {
		return app.Config{}, nil, err
	}
	v := viper.New()
	for k, d := range defaults {
		v.SetDefault(k, d)
		_ = v.BindEnv(k)
	}
	for flag, key := range map[string]string{"port": "PORT", "host": "HOST", "log-level": "LOG_LEVEL", "demo": "DEMO"} {
		if f := fs.Lookup(flag); f.Changed {
			_ = v.BindPFlag(key, f)
		}
	}
	var unknown []string
	if *file != "" {
		v.SetConfigFile(*file)
		if err := v.ReadInConfig(); err != nil {
			return app.Config{}, nil, fmt.Errorf("--config %s: %w", *file, err)
		}
		fv := viper.New()
		fv.SetConfigFile(*file)
		_ = fv.ReadInConfig()
		for _, k := range fv.AllKeys() {
			if _, ok := defaults[strings.ToUpper(k)]; !ok {
				unknown = append(unknown, k)
			}
		}
	}
	cfg, err := parse(func(k string) string { return strings.TrimSpace(v.GetString(k)) })
	if err != nil {
		return cfg, nil, err
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))
	slices.Sort(unknown)
	for _, k := range unknown {
		log.Warn("unknown configuration key ignored", "key", k, "file", *file)
	}
	return cfg, log, cfg.Validate()
}

// parse converts raw values, naming the key of any invalid one.
func parse(get func(string) string) (app.Config, error) {
	var c app.Config
	var errs []string
	integer := func(key string, min int) int {
		n, err := strconv.Atoi(get(key))
		if err != nil || n < min {
			errs = append(errs, fmt.Sprintf("%s: %q is not an integer >= %d", key, get(key), min))
		}
		return n
	}
	millis := func(key string, min int) time.Duration { return time.Duration(integer(key, min)) * time.Millisecond }
	boolean := func(key string) bool {
		b, err := strconv.ParseBool(get(key))
		if err != nil {
			errs = append(errs, fmt.Sprintf("%s: %q is not true or false", key, get(key)))
		}
		return b
	}
	c.Port = integer("PORT", 0)
	c.Host = get("HOST")
	c.CORSOrigin = get("CORS_ORIGIN")
	c.PingInterval = millis("PING_INTERVAL_MS", 1)
	c.PingTimeout = millis("PING_TIMEOUT_MS", 1)
	c.MaxHTTPBufferSize = integer("MAX_HTTP_BUFFER_SIZE", 1)
	c.PerMessageDeflateThreshold = integer("PER_MESSAGE_DEFLATE_THRESHOLD", -1)
	if c.PerMessageDeflateThreshold == 0 {
		c.PerMessageDeflateThreshold = -1 // 0 in the env means off
	}
	c.MaxBufferedBytes = integer("MAX_BUFFERED_BYTES", 1024)
	c.ConnectTimeout = millis("CONNECT_TIMEOUT_MS", 1)
	c.SessionStore = get("SESSION_STORE")
	c.MongoURI = get("MONGODB_URI")
	c.MongoDB = get("MONGODB_DB")
	c.SessionCollection = get("SESSION_COLLECTION")
	c.RedisURL = get("REDIS_URL")
	c.SessionRedisPrefix = get("SESSION_REDIS_PREFIX")
	if s := get("SESSION_SECRET"); s != "" {
		c.SessionSecrets = strings.Split(s, ",")
	}
	c.SessionCookieName = get("SESSION_COOKIE_NAME")
	c.SessionCryptoSecret = get("SESSION_CRYPTO_SECRET")
	c.SessionRecheck = millis("SESSION_RECHECK_MS", 1)
	c.AuthTimeout = millis("AUTH_TIMEOUT_MS", 1)
	c.EmitToken = get("EMIT_TOKEN")
	c.RateLimitMax = integer("RATE_LIMIT_MAX", 1)
	c.RateLimitWindow = millis("RATE_LIMIT_WINDOW_MS", 1)
	c.RateLimitFailOpen = boolean("RATE_LIMIT_FAIL_OPEN")
	c.MaxSubscriptions = integer("MAX_SUBSCRIPTIONS", 1)
	c.SubscriptionLease = millis("SUBSCRIPTION_LEASE_MS", 1)
	c.RedisAdapterKey = get("REDIS_ADAPTER_KEY")
	c.RedisAdapterSharded = boolean("REDIS_ADAPTER_SHARDED")
	c.ShutdownGrace = millis("SHUTDOWN_GRACE_MS", 0)
	if err := c.LogLevel.UnmarshalText([]byte(get("LOG_LEVEL"))); err != nil {
		errs = append(errs, fmt.Sprintf("LOG_LEVEL: %q is not debug, info, warn or error", get("LOG_LEVEL")))
	}
	c.PprofAddr = get("PPROF_ADDR")
	c.Demo = boolean("DEMO")
	c.DemoTradeInterval = millis("DEMO_TRADE_INTERVAL_MS", 1)
	if len(errs) > 0 {
		return c, fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return c, nil
}
