package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tradedash/realtime/auth"
	"github.com/tradedash/realtime/demo"
	"github.com/tradedash/realtime/handlers"
	"github.com/tradedash/realtime/internal/redispipe"
	"github.com/tradedash/realtime/ratelimit"
	"github.com/tradedash/realtime/server"
	"github.com/tradedash/realtime/server/engineio"
	webclient "github.com/tradedash/realtime/web-client"
)

// App is a built server, ready to serve.
type App struct {
	cfg     Config
	log     *slog.Logger
	srv     *server.Server
	http    *http.Server
	authn   *auth.Authenticator
	metrics *metrics
	closers []func() error
	bg      []func(ctx context.Context)
}

// New builds the server from cfg: it connects to the configured stores
// (failing fast when a URL is malformed, not when a service is down: the
// server starts and reports the outage per connection).
func New(ctx context.Context, cfg Config, log *slog.Logger) (*App, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	a := &App{cfg: cfg, log: log, metrics: newMetrics()}
	ok := false
	defer func() {
		if !ok {
			a.closeAll()
		}
	}()

	var rdb *redis.Client
	if cfg.RedisURL != "" {
		opts, err := redis.ParseURL(cfg.RedisURL)
		if err != nil {
			return nil, fmt.Errorf("REDIS_URL: %w", err)
		}
		opts.ContextTimeoutEnabled = true
		rdb = redis.NewClient(opts)
		// Session lookups and limiter scripts of concurrent connections
		// share pipelines (see internal/redispipe).
		redispipe.Install(rdb, 4)
		a.closers = append(a.closers, rdb.Close)
	}

	store, creator, err := a.sessionStore(ctx, rdb)
	if err != nil {
		return nil, err
	}
	a.authn = auth.New(auth.Config{
		Store:      instrumentStore(store, a.metrics),
		Secrets:    cfg.SessionSecrets,
		CookieName: cfg.SessionCookieName,
		Timeout:    cfg.AuthTimeout,
		Logger:     log,
	})

	events, subs, err := a.limiters(rdb)
	if err != nil {
		return nil, err
	}

	adapterFactory, err := a.adapter(ctx, rdb)
	if err != nil {
		return nil, fmt.Errorf("REDIS_URL (adapter): %w", err)
	}

	a.srv = server.New(server.Config{
		Engine: engineio.Config{
			PingInterval:         orDefault(cfg.PingInterval, 25*time.Second),
			PingTimeout:          orDefault(cfg.PingTimeout, 60*time.Second),
			MaxPayload:           cfg.MaxHTTPBufferSize,
			CompressionThreshold: cfg.PerMessageDeflateThreshold,
			MaxBufferedBytes:     cfg.MaxBufferedBytes,
			CORS:                 engineio.CORS{Origins: engineio.ParseOrigins(orDefault(cfg.CORSOrigin, "*")), Credentials: true, Methods: "GET,POST"},
		},
		ConnectTimeout: cfg.ConnectTimeout,
		Adapter:        adapterFactory,
		ShutdownGrace:  cfg.ShutdownGrace,
		Logger:         log,
	})
	a.srv.SetHooks(a.metrics.serverHooks())
	a.srv.Use(a.authenticate)
	handlers.Register(a.srv, handlers.Config{
		Events:           events,
		Subscriptions:    subs,
		MaxSubscriptions: cfg.MaxSubscriptions,
		Hooks:            a.metrics.handlerHooks(),
		Logger:           log,
	})
	a.bg = append(a.bg, func(ctx context.Context) {
		handlers.WatchSessions(ctx, a.srv, a.authn, orDefault(cfg.SessionRecheck, 60*time.Second), log)
	})

	a.srv.Handle("GET /metrics", a.metrics.handler(a.srv))
	a.srv.Handle("GET /health/ready", a.readyHandler(rdb, store))
	if cfg.EmitToken != "" {
		a.srv.Handle("/internal/emit", handlers.EmitHandler(a.srv, cfg.EmitToken))
	} else {
		a.srv.Handle("/internal/emit", handlers.EmitDisabled())
	}
	if cfg.Demo {
		if creator == nil {
			return nil, errors.New("DEMO: the dev login needs SESSION_STORE=memory or redis")
		}
		a.srv.Handle("/dev/login", demo.DevLoginHandler(creator, cfg.SessionCookieName, log))
		feed, err := demo.NewFeed(demo.FeedConfig{Emitter: a.srv, TradeInterval: cfg.DemoTradeInterval, Logger: log})
		if err != nil {
			return nil, err
		}
		a.bg = append(a.bg, func(ctx context.Context) { _ = feed.Run(ctx) })
	}
	a.srv.Handle("/", webclient.Handler())
	if cfg.PprofAddr != "" {
		stop, err := a.servePprof()
		if err != nil {
			return nil, err
		}
		a.closers = append(a.closers, stop)
	}

	a.http = &http.Server{
		Addr:              net.JoinHostPort(cfg.Host, strconv.Itoa(orDefault(cfg.Port, 3000))),
		Handler:           a.srv.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		// Accepted connections get no TCP keep-alive (see Run), so an idle
		// keep-alive HTTP connection is closed after a minute instead.
		IdleTimeout: time.Minute,
	}
	ok = true
	return a, nil
}

// Server returns the Socket.IO server (for producers in the same process).
func (a *App) Server() *server.Server { return a.srv }

// authenticate is the connection middleware: the handshake's session must be
// a live express-session of the claimed user.
func (a *App) authenticate(ctx context.Context, s *server.Socket) error {
	id, err := a.authn.AuthenticateWith(ctx, s.Auth(), s.Header)
	if err != nil {
		return err
	}
	s.SetIdentity(server.Identity{
		UserID: id.UserID, UserKey: id.UserKey, UserName: id.UserName, UserRole: id.UserRole, SessionID: id.SessionID,
	})
	return nil
}

// Run serves until ctx ends, then shuts down gracefully: server:shutdown to
// this instance's clients, the grace period, a DISCONNECT to each, the
// listener and the store clients closed.
func (a *App) Run(ctx context.Context) error {
	// No TCP keep-alive probes on accepted connections, as in Node: a dead
	// Engine.IO peer is found by the heartbeat (pingInterval +
	// pingTimeout), and an idle HTTP connection by IdleTimeout. That saves
	// four setsockopt calls per connection.
	lc := net.ListenConfig{KeepAlive: -1, Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		if err := c.Control(func(fd uintptr) { serr = deferAccept(fd, 10) }); err != nil {
			return err
		}
		return serr
	}}
	ln, err := lc.Listen(context.Background(), "tcp", a.http.Addr)
	if err != nil {
		return fmt.Errorf("PORT/HOST: %w", err)
	}
	a.log.Info("listening", "addr", ln.Addr().String())
	bgCtx, stopBG := context.WithCancel(context.Background())
	defer stopBG()
	for _, fn := range a.bg {
		go fn(bgCtx)
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- a.http.Serve(a.srv.Listener(ln, a.http.ReadHeaderTimeout)) }()

	select {
	case err := <-serveErr:
		a.closeAll()
		return err
	case <-ctx.Done():
	}
	a.log.Info("shutting down", "grace", orDefault(a.cfg.ShutdownGrace, server.DefaultShutdownGrace))
	stopBG()
	sctx, cancel := context.WithTimeout(context.Background(), orDefault(a.cfg.ShutdownGrace, server.DefaultShutdownGrace)+5*time.Second)
	defer cancel()
	if err := a.srv.Shutdown(sctx); err != nil {
		a.log.Warn("socket.io shutdown", "err", err)
	}
	hctx, hcancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer hcancel()
	if err := a.http.Shutdown(hctx); err != nil {
		a.log.Warn("http shutdown", "err", err)
		_ = a.http.Close()
	}
	a.closeAll()
	a.log.Info("shut down")
	return nil
}

func (a *App) closeAll() {
	for i := len(a.closers) - 1; i >= 0; i-- {
		if err := a.closers[i](); err != nil {
			a.log.Warn("close", "err", err)
		}
	}
	a.closers = nil
}

// sessionStore opens the configured store; for memory it also returns the
// dev-login session creator.
func (a *App) sessionStore(ctx context.Context, rdb *redis.Client) (auth.SessionStore, demo.SessionCreator, error) {
	cfg := a.cfg
	switch cfg.SessionStore {
	case "mongo":
		s, err := auth.NewMongoStore(ctx, auth.MongoConfig{
			URI: cfg.MongoURI, DB: cfg.MongoDB, Collection: cfg.SessionCollection, CryptoSecret: cfg.SessionCryptoSecret,
		})
		if err != nil {
			return nil, nil, fmt.Errorf("SESSION_STORE=mongo: %w", err)
		}
		a.closers = append(a.closers, s.Close)
		return s, nil, nil
	case "redis":
		s, err := auth.NewRedisStore(auth.RedisConfig{Client: rdb, Prefix: cfg.SessionRedisPrefix})
		if err != nil {
			return nil, nil, fmt.Errorf("SESSION_STORE=redis: %w", err)
		}
		if !cfg.Demo {
			return s, nil, nil
		}
		// The dev login writes connect-redis sessions, which outlive a
		// restart of this process.
		creator, err := demo.NewRedisSessions(demo.RedisSessionsConfig{Client: rdb, Prefix: cfg.SessionRedisPrefix, Secret: firstSecret(cfg)})
		if err != nil {
			return nil, nil, fmt.Errorf("DEMO: %w", err)
		}
		return s, creator, nil
	}
	m := auth.NewMemoryStore(auth.MemoryConfig{})
	return m, devSessions{store: m, secret: firstSecret(cfg)}, nil
}

func firstSecret(cfg Config) string {
	if len(cfg.SessionSecrets) > 0 {
		return cfg.SessionSecrets[0]
	}
	return ""
}

// devSessions creates dev-login sessions in the memory store.
type devSessions struct {
	store  *auth.MemoryStore
	secret string
}

func (d devSessions) CreateDevSession(userID any, userName string) (string, string, error) {
	sid := d.store.Create(userID, userName, "user", 0)
	signed := sid
	if d.secret != "" {
		signed = auth.Sign(sid, d.secret)
	}
	return sid, signed, nil
}

func (a *App) limiters(rdb *redis.Client) (ratelimit.EventLimiter, ratelimit.SubscriptionLimiter, error) {
	cfg := a.cfg
	ev := ratelimit.EventConfig{Max: cfg.RateLimitMax, Window: cfg.RateLimitWindow}
	sc := ratelimit.SubscriptionConfig{MaxSubscriptions: cfg.MaxSubscriptions}
	if rdb == nil {
		subs := ratelimit.NewMemorySubscriptionLimiter(sc)
		a.closers = append(a.closers, subs.Close)
		return ratelimit.NewMemoryEventLimiter(ev), subs, nil
	}
	events, err := ratelimit.NewRedisEventLimiter(ratelimit.RedisEventConfig{EventConfig: ev, Client: rdb, FailOpen: cfg.RateLimitFailOpen})
	if err != nil {
		return nil, nil, err
	}
	subs, err := ratelimit.NewRedisSubscriptionLimiter(ratelimit.RedisSubscriptionConfig{
		SubscriptionConfig: sc, Client: rdb, LeaseTTL: cfg.SubscriptionLease, FailOpen: cfg.RateLimitFailOpen, Logger: a.log,
	})
	if err != nil {
		return nil, nil, err
	}
	a.closers = append(a.closers, subs.Close)
	return events, subs, nil
}

// readyHandler answers GET /health/ready: 200 when the configured Redis and
// session store answer, 503 otherwise.
func (a *App) readyHandler(rdb *redis.Client, store auth.SessionStore) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), time.Second)
		defer cancel()
		status, body := http.StatusOK, `{"status":"ready"}`
		if !a.srv.Healthy() {
			status, body = http.StatusServiceUnavailable, `{"status":"shutting down"}`
		} else if rdb != nil && rdb.Ping(ctx).Err() != nil {
			status, body = http.StatusServiceUnavailable, `{"status":"unavailable","dependency":"redis"}`
		} else if p, ok := store.(interface{ Ping(context.Context) error }); ok && p.Ping(ctx) != nil {
			status, body = http.StatusServiceUnavailable, `{"status":"unavailable","dependency":"session store"}`
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	})
}
