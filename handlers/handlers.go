package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/tradedash/realtime/ratelimit"
	"github.com/tradedash/realtime/server"
	"github.com/tradedash/realtime/server/socketio"
)

// Config configures the event handlers.
type Config struct {
	// Events limits each subscribe/unsubscribe event per user (required).
	Events ratelimit.EventLimiter
	// Subscriptions caps the user's subscribed rooms (required).
	Subscriptions ratelimit.SubscriptionLimiter
	// MaxSubscriptions is the cap, for the error message. Zero means 50.
	MaxSubscriptions int
	// MaxSymbols caps the symbols of one watchlist request. Zero means 50.
	MaxSymbols int
	// Hooks observe refusals and limiter trouble (metrics). May be zero.
	Hooks Hooks
	// Logger receives logs. Nil means slog.Default().
	Logger *slog.Logger
	// Now returns the time for timestamps. Nil means time.Now.
	Now func() time.Time
}

// Hooks observe the handlers. Every field may be nil.
type Hooks struct {
	// Refused is called for every refused event with its error code.
	Refused func(event string, code Code)
	// LimiterUnavailable is called when a limiter's backend failed and its
	// fail-open/closed policy decided.
	LimiterUnavailable func(limiter string)
}

// Handlers holds the dependencies of the event handlers.
type Handlers struct {
	cfg Config
	log *slog.Logger

	// troubleMu guards the limiter-warning throttle: during a Redis outage
	// every event and every disconnect meets the failure, and one line
	// per LimiterWarnEvery says it (the metric counts each).
	troubleMu sync.Mutex
	trouble   map[string]troubleLog // by limiter
}

// troubleLog is when a limiter's last warning was logged and how many
// failures have not been since.
type troubleLog struct {
	logged time.Time
	quiet  int
}

// LimiterWarnEvery is the least time between two "limiter backend
// unavailable" warnings of one limiter; the ones in between are counted in
// the next warning's "suppressed" attribute.
const LimiterWarnEvery = 5 * time.Second

// Register installs the connection lifecycle and the client events of
// EVENTS.md on the server's default namespace. The authentication
// middleware must set each socket's Identity before it connects.
func Register(srv *server.Server, cfg Config) *Handlers {
	if cfg.MaxSubscriptions <= 0 {
		cfg.MaxSubscriptions = ratelimit.DefaultMaxSubscriptions
	}
	if cfg.MaxSymbols <= 0 {
		cfg.MaxSymbols = DefaultMaxSymbols
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	h := &Handlers{cfg: cfg, log: cfg.Logger, trouble: map[string]troubleLog{}}
	nsp := srv.Sockets()
	nsp.OnConnection(h.onConnection)
	nsp.OnError(h.onError)

	server.On(nsp, "subscribe:portfolio", h.roomHandler("subscribe:portfolio", "subscribed:portfolio", "portfolio:", true))
	server.On(nsp, "unsubscribe:portfolio", h.roomHandler("unsubscribe:portfolio", "unsubscribed:portfolio", "portfolio:", false))
	server.On(nsp, "subscribe:trades", h.roomHandler("subscribe:trades", "subscribed:trades", "trades:", true))
	server.On(nsp, "unsubscribe:trades", h.roomHandler("unsubscribe:trades", "unsubscribed:trades", "trades:", false))
	server.On(nsp, "subscribe:watchlist", h.watchlistHandler("subscribe:watchlist", "subscribed:watchlist", true))
	server.On(nsp, "unsubscribe:watchlist", h.watchlistHandler("unsubscribe:watchlist", "unsubscribed:watchlist", false))
	server.On(nsp, "ping", h.ping)
	return h
}

// connected is the welcome event's payload.
type connected struct {
	SocketID  string `json:"socketId"`
	UserID    any    `json:"userId"`
	Timestamp string `json:"timestamp"`
	Message   string `json:"message"`
}

// onConnection joins the user's room, then sends `connected`, as the seed.
func (h *Handlers) onConnection(s *server.Socket) {
	id := s.Identity()
	h.log.Info("websocket connected", "socket", s.ID(), "user", id.UserKey, "transport", s.Transport())
	if id.UserKey != "" {
		s.Join("user:" + id.UserKey)
	}
	_ = s.Emit("connected", connected{
		SocketID:  s.ID(),
		UserID:    id.UserID,
		Timestamp: server.ISOTime(h.cfg.Now()),
		Message:   "WebSocket connection established",
	})
	s.OnDisconnect(func(reason string) {
		h.log.Info("websocket disconnected", "socket", s.ID(), "user", id.UserKey, "reason", reason)
		if id.UserKey == "" {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if err := h.cfg.Subscriptions.ReleaseSocket(ctx, id.UserKey, s.ID()); err != nil {
			h.limiterTrouble("subscriptions", err)
		}
	})
}

// roomConfirm is the confirmation of a portfolio/trades (un)subscription.
type roomConfirm struct {
	Room      string `json:"room"`
	Timestamp string `json:"timestamp"`
}

type roomAck struct {
	OK        bool   `json:"ok"`
	Room      string `json:"room"`
	Timestamp string `json:"timestamp"`
}

func (h *Handlers) roomHandler(event, confirm, prefix string, subscribe bool) server.HandlerFunc[json.RawMessage] {
	return func(ctx context.Context, s *server.Socket, _ json.RawMessage, ack server.Ack) error {
		if err := h.rateGate(ctx, s, event); err != nil {
			return err
		}
		// A user can only ever name its own room: it is derived from the
		// authenticated identity, never from the payload.
		room := prefix + s.Identity().UserKey
		var err error
		if subscribe {
			err = h.join(ctx, s, []string{room})
		} else {
			err = h.leave(ctx, s, []string{room})
		}
		if err != nil {
			return err
		}
		ts := server.ISOTime(h.cfg.Now())
		_ = s.Emit(confirm, roomConfirm{Room: room, Timestamp: ts})
		if ack != nil {
			ack(roomAck{OK: true, Room: room, Timestamp: ts})
		}
		return nil
	}
}

type symbolsConfirm struct {
	Symbols   []string `json:"symbols"`
	Timestamp string   `json:"timestamp"`
}

type symbolsAck struct {
	OK        bool     `json:"ok"`
	Symbols   []string `json:"symbols"`
	Timestamp string   `json:"timestamp"`
}

func (h *Handlers) watchlistHandler(event, confirm string, subscribe bool) server.HandlerFunc[json.RawMessage] {
	return func(ctx context.Context, s *server.Socket, payload json.RawMessage, ack server.Ack) error {
		if err := h.rateGate(ctx, s, event); err != nil {
			return err
		}
		symbols, err := parseSymbols(payload, h.cfg.MaxSymbols)
		if err != nil {
			return err
		}
		rooms := make([]string, len(symbols))
		for i, sym := range symbols {
			rooms[i] = "watchlist:" + sym
		}
		if subscribe {
			err = h.join(ctx, s, rooms)
		} else {
			err = h.leave(ctx, s, rooms)
		}
		if err != nil {
			return err
		}
		ts := server.ISOTime(h.cfg.Now())
		_ = s.Emit(confirm, symbolsConfirm{Symbols: symbols, Timestamp: ts})
		if ack != nil {
			ack(symbolsAck{OK: true, Symbols: symbols, Timestamp: ts})
		}
		return nil
	}
}

type pong struct {
	Timestamp string `json:"timestamp"`
}

type pingAck struct {
	OK        bool   `json:"ok"`
	Timestamp string `json:"timestamp"`
	Length    *int   `json:"length,omitempty"`
}

// ping answers pong; its ack carries the payload's JavaScript length when
// the payload is a string.
func (h *Handlers) ping(_ context.Context, s *server.Socket, payload json.RawMessage, ack server.Ack) error {
	ts := server.ISOTime(h.cfg.Now())
	_ = s.Emit("pong", pong{Timestamp: ts})
	if ack != nil {
		res := pingAck{OK: true, Timestamp: ts}
		var str string
		if len(payload) > 0 && payload[0] == '"' && json.Unmarshal(payload, &str) == nil {
			n := socketio.UTF16Len(str)
			res.Length = &n
		}
		ack(res)
	}
	return nil
}

// rateGate counts the event against the user's rate limit.
func (h *Handlers) rateGate(ctx context.Context, s *server.Socket, event string) error {
	d, err := h.cfg.Events.Allow(ctx, s.Identity().UserKey, event)
	if err := h.limiterErr("events", err); err != nil {
		return err
	}
	if !d.Allowed {
		return &Error{Code: CodeRateLimit, Message: "rate limit exceeded for " + event, RetryAfter: d.RetryAfter}
	}
	return nil
}

// join takes subscription slots for the rooms the socket does not hold yet,
// all or nothing, then joins them.
func (h *Handlers) join(ctx context.Context, s *server.Socket, rooms []string) error {
	var fresh []string
	for _, r := range rooms {
		if !s.InRoom(r) {
			fresh = append(fresh, r)
		}
	}
	if len(fresh) == 0 {
		return nil
	}
	user := s.Identity().UserKey
	ok, _, err := h.cfg.Subscriptions.Acquire(ctx, user, s.ID(), len(fresh))
	if err := h.limiterErr("subscriptions", err); err != nil {
		return err
	}
	if !ok {
		return &Error{Code: CodeSubscriptionLimit, Message: fmt.Sprintf("subscription limit of %d reached", h.cfg.MaxSubscriptions)}
	}
	s.Join(fresh...)
	if !s.Connected() {
		// The socket left while the slots were taken: give everything back.
		for _, r := range fresh {
			s.Leave(r)
		}
		_ = h.cfg.Subscriptions.Release(ctx, user, s.ID(), len(fresh))
	}
	return nil
}

// leave leaves the rooms the socket holds and gives their slots back.
func (h *Handlers) leave(ctx context.Context, s *server.Socket, rooms []string) error {
	held := 0
	for _, r := range rooms {
		if s.InRoom(r) {
			s.Leave(r)
			held++
		}
	}
	if held == 0 {
		return nil
	}
	if err := h.cfg.Subscriptions.Release(ctx, s.Identity().UserKey, s.ID(), held); err != nil {
		h.limiterTrouble("subscriptions", err)
	}
	return nil
}

// limiterErr returns a limiter's error unless it is ErrUnavailable: then
// the limiter's fail-open/closed policy has decided (its answer stands), and
// the trouble is only logged and counted.
func (h *Handlers) limiterErr(limiter string, err error) error {
	if err == nil {
		return nil
	}
	if !errors.Is(err, ratelimit.ErrUnavailable) {
		return err
	}
	h.limiterTrouble(limiter, err)
	return nil
}

func (h *Handlers) limiterTrouble(limiter string, err error) {
	now := h.cfg.Now()
	h.troubleMu.Lock()
	tl, seen := h.trouble[limiter]
	warn := !seen || now.Sub(tl.logged) >= LimiterWarnEvery
	suppressed := tl.quiet
	if warn {
		tl = troubleLog{logged: now}
	} else {
		tl.quiet++
	}
	h.trouble[limiter] = tl
	h.troubleMu.Unlock()
	if warn {
		h.log.Warn("limiter backend unavailable, policy applied", "limiter", limiter, "err", err, "suppressed", suppressed)
	}
	if h.cfg.Hooks.LimiterUnavailable != nil {
		h.cfg.Hooks.LimiterUnavailable(limiter)
	}
}

// onError turns a handler's error into the `error` event and the refusing
// ack. Errors that are not *Error are INTERNAL and logged.
func (h *Handlers) onError(_ context.Context, s *server.Socket, event string, err error, ack server.Ack) {
	var e *Error
	var de *server.DecodeError
	switch {
	case errors.As(err, &e):
	case errors.As(err, &de):
		e = invalid("payload could not be decoded")
	default:
		h.log.Error("event handler failed", "event", event, "socket", s.ID(), "err", err)
		e = &Error{Code: CodeInternal, Message: "internal error"}
	}
	if h.cfg.Hooks.Refused != nil {
		h.cfg.Hooks.Refused(event, e.Code)
	}
	retry := int64(0)
	if e.Code == CodeRateLimit {
		retry = retryMs(e.RetryAfter)
	}
	_ = s.Emit("error", errorEvent{Code: e.Code, Message: e.Message, Event: event, RetryAfterMs: retry})
	if ack != nil {
		ack(refusal{OK: false, Code: e.Code, Message: e.Message, RetryAfterMs: retry})
	}
}
