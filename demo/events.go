package demo

import "time"

// Event names the feed publishes (see shared/EVENTS.md).
const (
	EventQuoteUpdate     = "quote:update"
	EventPortfolioUpdate = "portfolio:update"
	EventTradeExecuted   = "trade:executed"
	EventTradeFailed     = "trade:failed"
)

// Room prefixes the feed reads from Emitter.LocalRooms.
const (
	watchlistRoomPrefix = "watchlist:"
	userRoomPrefix      = "user:"
)

// QuoteUpdate is the payload of quote:update.
type QuoteUpdate struct {
	Symbol string `json:"symbol"`
	Quote  Quote  `json:"quote"`
}

// Quote is one price tick.
type Quote struct {
	Price         float64 `json:"price"`
	Change        float64 `json:"change"`
	ChangePercent float64 `json:"changePercent"`
	Timestamp     string  `json:"timestamp"`
}

// PortfolioUpdate is the payload of portfolio:update.
type PortfolioUpdate struct {
	UserID    string    `json:"userId"`
	Portfolio Portfolio `json:"portfolio"`
}

// Portfolio is a user's account summary.
type Portfolio struct {
	Value        float64    `json:"value"`
	DayPL        float64    `json:"dayPL"`
	DayPLPercent float64    `json:"dayPLPercent"`
	Positions    []Position `json:"positions,omitempty"`
}

// Position is one holding of a portfolio.
type Position struct {
	Symbol   string  `json:"symbol"`
	Quantity int     `json:"quantity"`
	Price    float64 `json:"price"`
	Value    float64 `json:"value"`
}

// TradeExecuted is the payload of trade:executed.
type TradeExecuted struct {
	UserID string      `json:"userId"`
	Trade  FilledTrade `json:"trade"`
}

// FilledTrade is a filled order.
type FilledTrade struct {
	ID       string  `json:"id"`
	Symbol   string  `json:"symbol"`
	Side     string  `json:"side"`
	Quantity int     `json:"quantity"`
	Price    float64 `json:"price"`
	Status   string  `json:"status"`
}

// TradeFailed is the payload of trade:failed.
type TradeFailed struct {
	UserID string      `json:"userId"`
	Trade  FailedTrade `json:"trade"`
}

// FailedTrade is an order the broker refused.
type FailedTrade struct {
	Symbol string `json:"symbol"`
	Error  string `json:"error"`
}

// isoTime formats t as JavaScript's Date.prototype.toISOString does.
func isoTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}
