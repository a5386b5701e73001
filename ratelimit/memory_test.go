package ratelimit

import (
	"testing"
	"time"
)

// Idle (user, event) logs are swept, so memory follows the active pairs.
func TestMemoryEventLimiterSweepsIdleLogs(t *testing.T) {
	l := NewMemoryEventLimiter(EventConfig{Max: 2, Window: 50 * time.Millisecond})
	for _, u := range []string{"a", "b", "c"} {
		mustAllow(t, l, u, "e")
	}
	eventually(t, time.Second, "idle logs swept", func() bool {
		mustAllow(t, l, "d", "e")
		l.mu.Lock()
		defer l.mu.Unlock()
		_, a := l.logs[eventKey{"a", "e"}]
		return !a && len(l.logs) <= 1
	})
}

func TestMemorySubscriptionLimiterForgetsEmptyUsers(t *testing.T) {
	l := NewMemorySubscriptionLimiter(SubscriptionConfig{})
	runSteps(t, l, []subStep{acq("u", "s1", 2, true, 2), acq("u", "s2", 1, true, 3), rel("u", "s1", 2), relSock("u", "s2")})
	if len(l.users) != 0 {
		t.Fatalf("users left: %v", l.users)
	}
}
