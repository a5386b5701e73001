// Package handlers implements the client events of the trading dashboard
// (shared/EVENTS.md): the subscriptions, ping, the connection lifecycle,
// the session re-check and the HTTP producer endpoint.
package handlers

import (
	"fmt"
	"time"
)

// Code is the code of an `error` event (EVENTS.md).
type Code string

// The error codes of EVENTS.md.
const (
	CodeRateLimit         Code = "RATE_LIMIT"
	CodeSubscriptionLimit Code = "SUBSCRIPTION_LIMIT"
	CodeInvalidPayload    Code = "INVALID_PAYLOAD"
	CodeUnauthorized      Code = "UNAUTHORIZED"
	CodeInternal          Code = "INTERNAL"
)

// Error refuses an event: the client gets the `error` event and, when it
// asked for an ack, {ok: false, code, message}.
type Error struct {
	Code       Code
	Message    string
	RetryAfter time.Duration // RATE_LIMIT only
}

func (e *Error) Error() string { return string(e.Code) + ": " + e.Message }

func invalid(format string, args ...any) *Error {
	return &Error{Code: CodeInvalidPayload, Message: fmt.Sprintf(format, args...)}
}

// errorEvent is the payload of the `error` event, keys in the contract's
// order.
type errorEvent struct {
	Code         Code   `json:"code"`
	Message      string `json:"message"`
	Event        string `json:"event,omitempty"`
	RetryAfterMs int64  `json:"retryAfterMs,omitempty"`
}

// refusal is the ack of a refused event.
type refusal struct {
	OK           bool   `json:"ok"`
	Code         Code   `json:"code"`
	Message      string `json:"message"`
	RetryAfterMs int64  `json:"retryAfterMs,omitempty"`
}

func retryMs(d time.Duration) int64 {
	ms := d.Milliseconds()
	if d > 0 && ms < 1 {
		ms = 1
	}
	return ms
}
