package demo

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"time"
)

// Defaults of FeedConfig.
const (
	DefaultQuoteInterval     = time.Second
	DefaultPortfolioInterval = 3 * time.Second
	DefaultTradeInterval     = 10 * time.Second
)

// FeedConfig configures NewFeed.
type FeedConfig struct {
	// Emitter receives every event. Required.
	Emitter Emitter
	// Interval between two quote ticks. Zero means DefaultQuoteInterval (1s).
	Interval time.Duration
	// PortfolioInterval between two portfolio updates per user. Zero means
	// DefaultPortfolioInterval (3s).
	PortfolioInterval time.Duration
	// TradeInterval between two demo trades per user. Zero means
	// DefaultTradeInterval (10s).
	TradeInterval time.Duration
	// Seed makes the random walk reproducible. Zero means a random seed.
	Seed uint64
	// Now is the clock used for timestamps. Nil means time.Now.
	Now func() time.Time
	// Logger receives emit failures (at debug level: a demo feed failing to
	// reach an empty room is not news). Nil means slog.Default().
	Logger *slog.Logger
}

// ErrNoEmitter is returned by NewFeed when FeedConfig.Emitter is nil.
var ErrNoEmitter = errors.New("demo: FeedConfig.Emitter is required")

// Feed is the demo market. It publishes through the Emitter only, like any
// other producer: quote:update to every watchlist room on this instance,
// portfolio:update and now and then a trade:executed / trade:failed to every
// user connected to this instance.
//
// With several instances behind the Redis adapter each instance's feed
// publishes its own walk for the symbols it has subscribers for; that is fine
// for a demo and never used in production.
type Feed struct {
	cfg    FeedConfig
	rng    *rand.Rand
	quotes map[string]*quoteState
	users  map[string]*userState
	tradeN uint64
}

type quoteState struct {
	prevClose float64
	price     float64
}

type userState struct {
	positions map[string]int
	cash      float64
	openValue float64
}

// NewFeed returns a feed; Run starts it.
func NewFeed(cfg FeedConfig) (*Feed, error) {
	if cfg.Emitter == nil {
		return nil, ErrNoEmitter
	}
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultQuoteInterval
	}
	if cfg.PortfolioInterval <= 0 {
		cfg.PortfolioInterval = DefaultPortfolioInterval
	}
	if cfg.TradeInterval <= 0 {
		cfg.TradeInterval = DefaultTradeInterval
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	seed := cfg.Seed
	if seed == 0 {
		seed = rand.Uint64()
	}
	return &Feed{
		cfg:    cfg,
		rng:    rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		quotes: make(map[string]*quoteState),
		users:  make(map[string]*userState),
	}, nil
}

// Run publishes until ctx is done, then returns nil. The feed's state is
// owned by this goroutine: Run must not be called twice at once.
func (f *Feed) Run(ctx context.Context) error {
	quotes := time.NewTicker(f.cfg.Interval)
	defer quotes.Stop()
	portfolios := time.NewTicker(f.cfg.PortfolioInterval)
	defer portfolios.Stop()
	trades := time.NewTicker(f.cfg.TradeInterval)
	defer trades.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-quotes.C:
			f.tickQuotes()
		case <-portfolios.C:
			f.tickPortfolios()
		case <-trades.C:
			f.tickTrades()
		}
	}
}

// tickQuotes moves every watched symbol one step and publishes it.
func (f *Feed) tickQuotes() {
	symbols := roomSuffixes(f.cfg.Emitter.LocalRooms(watchlistRoomPrefix), watchlistRoomPrefix)
	now := isoTime(f.cfg.Now())
	for _, sym := range symbols {
		q := f.step(sym)
		change := round(q.price-q.prevClose, 2)
		f.emitRoom(watchlistRoomPrefix+sym, EventQuoteUpdate, QuoteUpdate{
			Symbol: sym,
			Quote: Quote{
				Price:         round(q.price, 2),
				Change:        change,
				ChangePercent: round(100*(q.price-q.prevClose)/q.prevClose, 2),
				Timestamp:     now,
			},
		})
	}
}

// step advances the random walk of sym (about 0.2% per tick).
func (f *Feed) step(sym string) *quoteState {
	q, ok := f.quotes[sym]
	if !ok {
		base := basePrice(sym)
		q = &quoteState{prevClose: base, price: base}
		f.quotes[sym] = q
		return q
	}
	q.price *= 1 + f.rng.NormFloat64()*0.002
	if q.price < 0.01 {
		q.price = 0.01
	}
	return q
}

// tickPortfolios publishes every connected user's portfolio.
func (f *Feed) tickPortfolios() {
	for _, uid := range f.syncUsers() {
		u := f.users[uid]
		var positions []Position
		value := u.cash
		for _, sym := range sortedKeys(u.positions) {
			qty := u.positions[sym]
			price := round(f.step(sym).price, 2)
			positions = append(positions, Position{Symbol: sym, Quantity: qty, Price: price, Value: round(price*float64(qty), 2)})
			value += price * float64(qty)
		}
		dayPL := value - u.openValue
		f.emitUser(uid, EventPortfolioUpdate, PortfolioUpdate{
			UserID: uid,
			Portfolio: Portfolio{
				Value:        round(value, 2),
				DayPL:        round(dayPL, 2),
				DayPLPercent: round(100*dayPL/u.openValue, 2),
				Positions:    positions,
			},
		})
	}
}

// failureReasons are the broker errors a failed demo trade reports.
var failureReasons = [...]string{
	"Insufficient buying power",
	"Market closed for this symbol",
	"Order rejected by broker: price outside limit band",
}

// tickTrades gives every connected user one trade, one in five failed.
func (f *Feed) tickTrades() {
	for _, uid := range f.syncUsers() {
		u := f.users[uid]
		sym := f.tradeSymbol(u)
		if f.rng.IntN(5) == 0 {
			f.emitUser(uid, EventTradeFailed, TradeFailed{
				UserID: uid,
				Trade:  FailedTrade{Symbol: sym, Error: failureReasons[f.rng.IntN(len(failureReasons))]},
			})
			continue
		}
		side := "buy"
		qty := 1 + f.rng.IntN(20)
		if held := u.positions[sym]; held > 0 && f.rng.IntN(2) == 0 {
			side = "sell"
			qty = min(qty, held)
		}
		price := round(f.step(sym).price, 2)
		if side == "buy" {
			u.positions[sym] += qty
			u.cash -= price * float64(qty)
		} else {
			u.positions[sym] -= qty
			u.cash += price * float64(qty)
			if u.positions[sym] == 0 {
				delete(u.positions, sym)
			}
		}
		f.tradeN++
		f.emitUser(uid, EventTradeExecuted, TradeExecuted{
			UserID: uid,
			Trade: FilledTrade{
				ID:       fmt.Sprintf("demo-%d-%04x", f.tradeN, f.rng.Uint32()&0xffff),
				Symbol:   sym,
				Side:     side,
				Quantity: qty,
				Price:    price,
				Status:   "filled",
			},
		})
	}
}

// tradeSymbols are the symbols demo trades pick from, with any watched one.
var tradeSymbols = [...]string{"AAPL", "MSFT", "NVDA", "AMZN", "TSLA", "GOOGL", "META", "BTC-USD"}

func (f *Feed) tradeSymbol(u *userState) string {
	watched := sortedKeys(f.quotes)
	if len(watched) > 0 && f.rng.IntN(2) == 0 {
		return watched[f.rng.IntN(len(watched))]
	}
	return tradeSymbols[f.rng.IntN(len(tradeSymbols))]
}

// syncUsers returns the users connected to this instance, creating state for
// new ones and forgetting those that left.
func (f *Feed) syncUsers() []string {
	ids := roomSuffixes(f.cfg.Emitter.LocalRooms(userRoomPrefix), userRoomPrefix)
	present := make(map[string]bool, len(ids))
	for _, id := range ids {
		present[id] = true
		if _, ok := f.users[id]; !ok {
			f.users[id] = f.newUser(id)
		}
	}
	for id := range f.users {
		if !present[id] {
			delete(f.users, id)
		}
	}
	return ids
}

// newUser opens a portfolio of about 100k with a few positions.
func (f *Feed) newUser(id string) *userState {
	u := &userState{positions: make(map[string]int)}
	start := 90000 + float64(hash(id)%20000)
	invested := 0.0
	for _, sym := range []string{"AAPL", "MSFT", "NVDA"} {
		qty := 10 + int(hash(id+sym)%40)
		u.positions[sym] = qty
		invested += f.step(sym).price * float64(qty)
	}
	u.cash = start - invested
	u.openValue = start
	return u
}

func (f *Feed) emitRoom(room, event string, data any) {
	if err := f.cfg.Emitter.EmitToRoom(room, event, data); err != nil {
		f.cfg.Logger.Debug("demo feed emit failed", "room", room, "event", event, "err", err)
	}
}

func (f *Feed) emitUser(userKey, event string, data any) {
	if err := f.cfg.Emitter.EmitToUser(userKey, event, data); err != nil {
		f.cfg.Logger.Debug("demo feed emit failed", "user", userKey, "event", event, "err", err)
	}
}

// knownPrices start the walk of familiar symbols near their real price.
var knownPrices = map[string]float64{
	"AAPL": 189.5, "MSFT": 421.3, "NVDA": 118.2, "AMZN": 186.4, "TSLA": 242.8,
	"GOOGL": 172.1, "META": 512.6, "BTC-USD": 67250, "ETH-USD": 3480, "SPY": 548.9,
}

// basePrice is the previous close of sym: known, or derived from its name.
func basePrice(sym string) float64 {
	if p, ok := knownPrices[sym]; ok {
		return p
	}
	return 20 + float64(hash(sym)%48000)/100
}

// roomSuffixes strips prefix from rooms, dropping empty names and sorting
// so that a seeded feed is reproducible.
func roomSuffixes(rooms []string, prefix string) []string {
	out := make([]string, 0, len(rooms))
	for _, r := range rooms {
		if s, ok := strings.CutPrefix(r, prefix); ok && s != "" {
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func hash(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}

func round(v float64, places int) float64 {
	p := math.Pow10(places)
	return math.Round(v*p) / p
}
