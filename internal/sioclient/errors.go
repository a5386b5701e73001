package sioclient

import (
	"encoding/json"
	"errors"
)

// Code says what kind of failure an Error is.
type Code string

const (
	// CodeHandshake: the Engine.IO handshake failed (HTTP error, dial
	// error, malformed open packet).
	CodeHandshake Code = "HANDSHAKE"
	// CodeRefused: the server answered the Socket.IO CONNECT with a
	// CONNECT_ERROR (Message and Data carry it).
	CodeRefused Code = "CONNECT_REFUSED"
	// CodeTimeout: the connect or an ack did not come in time.
	CodeTimeout Code = "TIMEOUT"
	// CodeClosed: the connection is closed (by Close, by the server, or
	// because the transport failed; Err says which).
	CodeClosed Code = "CLOSED"
	// CodeProtocol: the server sent something this client cannot parse.
	CodeProtocol Code = "PROTOCOL"
)

// Error is every error this package returns. errors.Is matches on Code
// against the Err* values below.
type Error struct {
	Code    Code
	Message string          // for CodeRefused: the server's err.message
	Data    json.RawMessage // for CodeRefused: the server's err.data (JSON), if any
	Err     error           // the cause, if any
}

func (e *Error) Error() string {
	s := "sioclient: " + string(e.Code)
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is an *Error with the same Code.
func (e *Error) Is(target error) bool {
	var t *Error
	return errors.As(target, &t) && t.Code == e.Code
}

// Sentinels for errors.Is.
var (
	ErrHandshake = &Error{Code: CodeHandshake}
	ErrRefused   = &Error{Code: CodeRefused}
	ErrTimeout   = &Error{Code: CodeTimeout}
	ErrClosed    = &Error{Code: CodeClosed}
	ErrProtocol  = &Error{Code: CodeProtocol}
)
