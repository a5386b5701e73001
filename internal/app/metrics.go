package app

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/tradedash/realtime/auth"
	"github.com/tradedash/realtime/handlers"
	"github.com/tradedash/realtime/server"
)

// reconnectWindow: a user connecting again within this time of their last
// disconnect counts as a reconnection.
const reconnectWindow = time.Minute

// metrics are the server's Prometheus metrics (README, "Metrics").
type metrics struct {
	reg *prometheus.Registry

	connects       *prometheus.CounterVec
	disconnects    *prometheus.CounterVec
	reconnections  prometheus.Counter
	connectRefused *prometheus.CounterVec
	eventDuration  *prometheus.HistogramVec
	emits          *prometheus.CounterVec
	errorEvents    *prometheus.CounterVec
	rateRejections *prometheus.CounterVec
	capRejections  *prometheus.CounterVec
	limiterDown    *prometheus.CounterVec
	storeErrors    prometheus.Counter
	storeDuration  prometheus.Histogram
	adapterErrors  *prometheus.CounterVec

	mu       sync.Mutex
	lastSeen map[string]time.Time // user key -> last disconnect
}

func newMetrics() *metrics {
	m := &metrics{reg: prometheus.NewRegistry(), lastSeen: make(map[string]time.Time)}
	f := func(c prometheus.Collector) { m.reg.MustRegister(c) }
	m.connects = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "realtime_connects_total", Help: "Sockets connected (after authentication)."}, []string{"transport"})
	m.disconnects = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "realtime_disconnects_total", Help: "Sockets disconnected, by Socket.IO reason."}, []string{"reason"})
	m.reconnections = prometheus.NewCounter(prometheus.CounterOpts{Name: "realtime_reconnections_total", Help: "Connects of a user within 60 s of that user's last disconnect; rate() gives reconnections per minute."})
	m.connectRefused = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "realtime_connect_refused_total", Help: "Handshakes refused by the authentication middleware, by code."}, []string{"code"})
	m.eventDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "realtime_event_duration_seconds", Help: "Time to handle a client event, per event.", Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5}}, []string{"event"})
	m.emits = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "realtime_emits_total", Help: "Broadcast emits (to a user, a room or everyone), per event."}, []string{"event"})
	m.errorEvents = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "realtime_error_events_total", Help: "`error` events sent to clients, by code."}, []string{"code"})
	m.rateRejections = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "realtime_rate_limit_rejections_total", Help: "Events refused with RATE_LIMIT, per event."}, []string{"event"})
	m.capRejections = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "realtime_subscription_limit_rejections_total", Help: "Subscriptions refused with SUBSCRIPTION_LIMIT, per event."}, []string{"event"})
	m.limiterDown = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "realtime_limiter_unavailable_total", Help: "Limiter calls whose Redis failed; the fail-open/closed policy decided."}, []string{"limiter"})
	m.storeErrors = prometheus.NewCounter(prometheus.CounterOpts{Name: "realtime_session_store_errors_total", Help: "Session store lookups that failed (down or timed out)."})
	m.storeDuration = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "realtime_session_store_duration_seconds", Help: "Session store lookup latency.", Buckets: prometheus.DefBuckets})
	m.adapterErrors = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "realtime_adapter_errors_total", Help: "Redis adapter errors: publish failures and undecodable messages."}, []string{"kind"})
	for _, c := range []prometheus.Collector{m.connects, m.disconnects, m.reconnections, m.connectRefused, m.eventDuration, m.emits, m.errorEvents, m.rateRejections, m.capRejections, m.limiterDown, m.storeErrors, m.storeDuration, m.adapterErrors} {
		f(c)
	}
	f(collectors.NewGoCollector())
	f(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// handler serves /metrics, with the live gauges read from the server.
func (m *metrics) handler(srv *server.Server) http.Handler {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "realtime_connections", Help: "Sockets connected to this instance now."},
		func() float64 { return float64(srv.Stats().TotalConnections) }))
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "realtime_unique_users", Help: "Distinct users connected to this instance now."},
		func() float64 { return float64(srv.Stats().UniqueUsers) }))
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

func (m *metrics) serverHooks() server.Hooks {
	return server.Hooks{
		Connect: func(s *server.Socket, _ bool) {
			m.connects.WithLabelValues(s.Transport()).Inc()
			key := s.Identity().UserKey
			if key == "" {
				return
			}
			m.mu.Lock()
			last, ok := m.lastSeen[key]
			delete(m.lastSeen, key)
			m.mu.Unlock()
			if ok && time.Since(last) < reconnectWindow {
				m.reconnections.Inc()
			}
		},
		Disconnect: func(s *server.Socket, reason string) {
			m.disconnects.WithLabelValues(reason).Inc()
			key := s.Identity().UserKey
			if key == "" {
				return
			}
			now := time.Now()
			m.mu.Lock()
			m.lastSeen[key] = now
			if len(m.lastSeen) > 10000 {
				for k, t := range m.lastSeen {
					if now.Sub(t) > reconnectWindow {
						delete(m.lastSeen, k)
					}
				}
			}
			m.mu.Unlock()
		},
		ConnectRefused: func(_ string, err error) {
			code := "OTHER"
			var ae *auth.Error
			if errors.As(err, &ae) {
				code = string(ae.Code)
			}
			m.connectRefused.WithLabelValues(code).Inc()
		},
		Event: func(event string, d time.Duration, _ error) {
			m.eventDuration.WithLabelValues(event).Observe(d.Seconds())
		},
		Emit: func(event string) { m.emits.WithLabelValues(event).Inc() },
	}
}

func (m *metrics) handlerHooks() handlers.Hooks {
	return handlers.Hooks{
		Refused: func(event string, code handlers.Code) {
			m.errorEvents.WithLabelValues(string(code)).Inc()
			switch code {
			case handlers.CodeRateLimit:
				m.rateRejections.WithLabelValues(event).Inc()
			case handlers.CodeSubscriptionLimit:
				m.capRejections.WithLabelValues(event).Inc()
			}
		},
		LimiterUnavailable: func(limiter string) { m.limiterDown.WithLabelValues(limiter).Inc() },
	}
}

// instrumentStore counts session store errors and latency.
func instrumentStore(s auth.SessionStore, m *metrics) auth.SessionStore {
	return &storeMetrics{SessionStore: s, m: m}
}

type storeMetrics struct {
	auth.SessionStore
	m *metrics
}

func (s *storeMetrics) Get(ctx context.Context, sid string) (*auth.Session, error) {
	start := time.Now()
	sess, err := s.SessionStore.Get(ctx, sid)
	s.m.storeDuration.Observe(time.Since(start).Seconds())
	if err != nil && !errors.Is(err, auth.ErrNotFound) {
		s.m.storeErrors.Inc()
	}
	return sess, err
}
