package handlers

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/tradedash/realtime/server"
)

// TestLimiterTroubleThrottled: during an outage every event and every
// disconnect meets the failed limiter; the metric hook counts each, the log
// says it once per LimiterWarnEvery per limiter, with how many it left out.
func TestLimiterTroubleThrottled(t *testing.T) {
	var logs bytes.Buffer
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	counted := map[string]int{}
	h := Register(server.New(server.Config{}), Config{
		Logger: slog.New(slog.NewTextHandler(&logs, nil)),
		Now:    func() time.Time { return now },
		Hooks:  Hooks{LimiterUnavailable: func(l string) { counted[l]++ }},
	})
	cause := errors.New("redis: connection refused")
	lines := func() []string { return strings.Split(strings.TrimSpace(logs.String()), "\n") }

	for range 1000 {
		h.limiterTrouble("subscriptions", cause)
	}
	h.limiterTrouble("events", cause)
	if counted["subscriptions"] != 1000 || counted["events"] != 1 {
		t.Fatalf("hook counts %v, want every call counted", counted)
	}
	if l := lines(); len(l) != 2 || !strings.Contains(l[0], "limiter=subscriptions") || !strings.Contains(l[0], "suppressed=0") ||
		!strings.Contains(l[0], "connection refused") || !strings.Contains(l[1], "limiter=events") {
		t.Fatalf("first warnings:\n%s", logs.String())
	}

	now = now.Add(LimiterWarnEvery - time.Millisecond)
	h.limiterTrouble("subscriptions", cause)
	if len(lines()) != 2 {
		t.Fatalf("a warning within LimiterWarnEvery:\n%s", logs.String())
	}
	now = now.Add(time.Millisecond)
	h.limiterTrouble("subscriptions", cause)
	if l := lines(); len(l) != 3 || !strings.Contains(l[2], "suppressed=1000") {
		t.Fatalf("after LimiterWarnEvery, want one warning with suppressed=1000:\n%s", logs.String())
	}
}
