package demo

import (
	"context"
	"errors"
	"math"
	"reflect"
	"testing"
	"time"
)

var fixedNow = func() time.Time { return time.Date(2025, 10, 20, 14, 30, 5, 123_000_000, time.UTC) }

func newTestFeed(t *testing.T, em *fakeEmitter, seed uint64) *Feed {
	t.Helper()
	f, err := NewFeed(FeedConfig{Emitter: em, Seed: seed, Now: fixedNow})
	if err != nil {
		t.Fatalf("NewFeed: %v", err)
	}
	return f
}

func TestNewFeedRequiresEmitter(t *testing.T) {
	_, err := NewFeed(FeedConfig{})
	if !errors.Is(err, ErrNoEmitter) {
		t.Fatalf("err = %v, want ErrNoEmitter", err)
	}
}

func TestNewFeedDefaults(t *testing.T) {
	f, err := NewFeed(FeedConfig{Emitter: &fakeEmitter{}})
	if err != nil {
		t.Fatal(err)
	}
	if f.cfg.Interval != DefaultQuoteInterval || f.cfg.PortfolioInterval != DefaultPortfolioInterval || f.cfg.TradeInterval != DefaultTradeInterval {
		t.Fatalf("intervals = %v %v %v", f.cfg.Interval, f.cfg.PortfolioInterval, f.cfg.TradeInterval)
	}
	if f.cfg.Logger == nil || f.cfg.Now == nil {
		t.Fatal("nil Logger or Now not defaulted")
	}
}

func TestTickQuotes(t *testing.T) {
	tests := []struct {
		name      string
		rooms     []string
		wantRooms []string
	}{
		{"no watchlist rooms", []string{"user:a", "portfolio:a"}, nil},
		{"one symbol", []string{"watchlist:AAPL", "user:a"}, []string{"watchlist:AAPL"}},
		{"unknown symbols and an empty suffix", []string{"watchlist:ZZZ9", "watchlist:", "watchlist:BRK.B"}, []string{"watchlist:BRK.B", "watchlist:ZZZ9"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			em := &fakeEmitter{rooms: tc.rooms}
			f := newTestFeed(t, em, 1)
			f.tickQuotes()
			var got []string
			for _, c := range em.take() {
				if c.event != EventQuoteUpdate {
					t.Fatalf("event %q, want quote:update", c.event)
				}
				q := c.data.(QuoteUpdate)
				if "watchlist:"+q.Symbol != c.target {
					t.Fatalf("symbol %q sent to %q", q.Symbol, c.target)
				}
				if q.Quote.Timestamp != "2025-10-20T14:30:05.123Z" {
					t.Fatalf("timestamp %q", q.Quote.Timestamp)
				}
				if q.Quote.Price <= 0 {
					t.Fatalf("price %v", q.Quote.Price)
				}
				got = append(got, c.target)
			}
			if !reflect.DeepEqual(got, tc.wantRooms) {
				t.Fatalf("rooms = %v, want %v", got, tc.wantRooms)
			}
		})
	}
}

func TestQuotesWalk(t *testing.T) {
	em := &fakeEmitter{rooms: []string{"watchlist:AAPL"}}
	f := newTestFeed(t, em, 7)
	prices := map[float64]bool{}
	for range 20 {
		f.tickQuotes()
		q := em.take()[0].data.(QuoteUpdate).Quote
		prices[q.Price] = true
		// change and changePercent are relative to the previous close.
		if math.Abs(q.Change-(q.Price-knownPrices["AAPL"])) > 0.011 {
			t.Fatalf("change %v for price %v", q.Change, q.Price)
		}
		if math.Abs(q.ChangePercent-100*q.Change/knownPrices["AAPL"]) > 0.011 {
			t.Fatalf("changePercent %v for change %v", q.ChangePercent, q.Change)
		}
		if math.Abs(q.Price-knownPrices["AAPL"]) > knownPrices["AAPL"]*0.2 {
			t.Fatalf("price %v walked too far", q.Price)
		}
	}
	if len(prices) < 10 {
		t.Fatalf("only %d distinct prices in 20 ticks", len(prices))
	}
}

func TestTickPortfolios(t *testing.T) {
	em := &fakeEmitter{rooms: []string{"user:alice", "user:42", "watchlist:AAPL"}}
	f := newTestFeed(t, em, 3)
	f.tickPortfolios()
	calls := em.take()
	if len(calls) != 2 {
		t.Fatalf("%d emits, want 2: %+v", len(calls), calls)
	}
	for i, want := range []string{"42", "alice"} {
		c := calls[i]
		p := c.data.(PortfolioUpdate)
		if c.target != "user:"+want || c.event != EventPortfolioUpdate || p.UserID != want {
			t.Fatalf("call %d = %s %s userId=%q", i, c.target, c.event, p.UserID)
		}
		if p.Portfolio.Value < 50000 || p.Portfolio.Value > 200000 {
			t.Fatalf("value %v", p.Portfolio.Value)
		}
		if len(p.Portfolio.Positions) == 0 {
			t.Fatal("no positions")
		}
	}
	// A user that left is forgotten; one that came gets a fresh portfolio.
	em.setRooms("user:bob")
	f.tickPortfolios()
	calls = em.take()
	if len(calls) != 1 || calls[0].target != "user:bob" {
		t.Fatalf("calls after change = %+v", calls)
	}
	if _, ok := f.users["alice"]; ok {
		t.Fatal("state of a departed user kept")
	}
}

func TestTickTrades(t *testing.T) {
	em := &fakeEmitter{rooms: []string{"user:u1", "user:u2"}}
	f := newTestFeed(t, em, 11)
	counts := map[string]int{}
	for range 50 {
		f.tickTrades()
		calls := em.take()
		if len(calls) != 2 {
			t.Fatalf("%d trade emits in a tick, want one per user", len(calls))
		}
		for _, c := range calls {
			counts[c.event]++
			switch d := c.data.(type) {
			case TradeExecuted:
				tr := d.Trade
				if c.target != "user:"+d.UserID || tr.Status != "filled" || tr.Quantity <= 0 || tr.Price <= 0 || tr.ID == "" || (tr.Side != "buy" && tr.Side != "sell") {
					t.Fatalf("bad executed trade to %s: %+v", c.target, d)
				}
			case TradeFailed:
				if c.target != "user:"+d.UserID || d.Trade.Symbol == "" || d.Trade.Error == "" {
					t.Fatalf("bad failed trade to %s: %+v", c.target, d)
				}
			default:
				t.Fatalf("unexpected payload %T", c.data)
			}
		}
	}
	if counts[EventTradeExecuted] == 0 || counts[EventTradeFailed] == 0 {
		t.Fatalf("counts = %v, want both kinds", counts)
	}
}

func TestSeededFeedIsReproducible(t *testing.T) {
	run := func() []emitted {
		em := &fakeEmitter{rooms: []string{"watchlist:AAPL", "watchlist:XYZ", "user:a"}}
		f := newTestFeed(t, em, 99)
		for range 5 {
			f.tickQuotes()
			f.tickTrades()
			f.tickPortfolios()
		}
		return em.take()
	}
	a, b := run(), run()
	if !reflect.DeepEqual(a, b) {
		t.Fatal("two feeds with the same seed published different events")
	}
}

func TestEmitErrorDoesNotStopTheTick(t *testing.T) {
	em := &fakeEmitter{rooms: []string{"watchlist:AAPL", "watchlist:MSFT"}, failFor: "watchlist:AAPL"}
	f := newTestFeed(t, em, 5)
	f.tickQuotes()
	if n := len(em.take()); n != 2 {
		t.Fatalf("%d emits, want 2 despite the first failing", n)
	}
}

func TestRunPublishesUntilCancelled(t *testing.T) {
	em := &fakeEmitter{rooms: []string{"watchlist:AAPL", "user:u1"}, notify: make(chan emitted, 64)}
	f, err := NewFeed(FeedConfig{Emitter: em, Interval: 5 * time.Millisecond, PortfolioInterval: 7 * time.Millisecond, TradeInterval: 9 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()

	want := map[string]bool{EventQuoteUpdate: true, EventPortfolioUpdate: true, "trade": true}
	deadline := time.After(5 * time.Second)
	for len(want) > 0 {
		select {
		case c := <-em.notify:
			if c.event == EventTradeExecuted || c.event == EventTradeFailed {
				delete(want, "trade")
			}
			delete(want, c.event)
		case <-deadline:
			t.Fatalf("still waiting for %v", want)
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run returned %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}
