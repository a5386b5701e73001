package auth

import "errors"

// Code is the machine-readable reason of a refused handshake; the server
// sends it to the client as connect_error data {"code": Code}.
type Code string

const (
	// CodeUnauthorized: missing credentials, or an unknown, expired or
	// foreign session (including a bad cookie signature).
	CodeUnauthorized Code = "UNAUTHORIZED"
	// CodeAuthenticationFailed: the session store failed or did not answer
	// within Config.Timeout.
	CodeAuthenticationFailed Code = "AUTHENTICATION_FAILED"
)

// The exact connect_error messages of the Node server (EVENTS.md).
const (
	MsgMissingCredentials   = "UNAUTHORIZED: Missing authentication credentials"
	MsgInvalidSession       = "UNAUTHORIZED: Invalid session or user mismatch"
	MsgAuthenticationFailed = "AUTHENTICATION_FAILED"
)

// Error is a refused handshake. Error() is the client-visible message.
// Compare with errors.Is against ErrMissingCredentials, ErrInvalidSession
// or ErrAuthenticationFailed, or read Code with errors.As.
type Error struct {
	Code    Code
	Message string
	cause   error // internal reason (never sent to the client)
}

// Sentinels for errors.Is; Authenticate returns copies carrying a cause.
var (
	ErrMissingCredentials   = &Error{Code: CodeUnauthorized, Message: MsgMissingCredentials}
	ErrInvalidSession       = &Error{Code: CodeUnauthorized, Message: MsgInvalidSession}
	ErrAuthenticationFailed = &Error{Code: CodeAuthenticationFailed, Message: MsgAuthenticationFailed}
)

func (e *Error) Error() string { return e.Message }

// Unwrap returns the internal cause (ErrNotFound, ErrBadSignature, a store
// error, ...), or nil.
func (e *Error) Unwrap() error { return e.cause }

// Is reports whether target is an *Error with the same code and message.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code && t.Message == e.Message
}

// ConnectErrorData is the value the server sends as connect_error data; it
// marshals to {"code":"UNAUTHORIZED"} (or AUTHENTICATION_FAILED).
func (e *Error) ConnectErrorData() any {
	return connectErrorData{Code: e.Code}
}

type connectErrorData struct {
	Code Code `json:"code"`
}

func (e *Error) withCause(err error) *Error {
	return &Error{Code: e.Code, Message: e.Message, cause: err}
}

// ErrNotFound is returned by SessionStore.Get and Authenticator.Check when
// the session does not exist or has expired.
var ErrNotFound = errors.New("auth: session not found or expired")

// ErrBadSignature: a signed session id ("s:<sid>.<sig>") did not verify
// with any configured secret.
var ErrBadSignature = errors.New("auth: session id signature does not verify")

// ErrCorruptSession: the store holds something connect-mongo/connect-redis
// could not have parsed either (bad JSON, undecryptable payload). Like the
// Node stores it is a store failure (AUTHENTICATION_FAILED), not a refusal.
var ErrCorruptSession = errors.New("auth: stored session cannot be decoded")
