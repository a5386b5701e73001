package engineio

import (
	"net/http"
	"strconv"
)

// ErrorCode is the code of an Engine.IO handshake error, as Node numbers them.
type ErrorCode int

// The error codes of Node's engine.io (Server.errors).
const (
	ErrUnknownTransport    ErrorCode = 0
	ErrUnknownSID          ErrorCode = 1
	ErrBadHandshakeMethod  ErrorCode = 2
	ErrBadRequest          ErrorCode = 3
	ErrForbidden           ErrorCode = 4
	ErrUnsupportedProtocol ErrorCode = 5
)

var errorMessages = [...]string{
	ErrUnknownTransport:    "Transport unknown",
	ErrUnknownSID:          "Session ID unknown",
	ErrBadHandshakeMethod:  "Bad handshake method",
	ErrBadRequest:          "Bad request",
	ErrForbidden:           "Forbidden",
	ErrUnsupportedProtocol: "Unsupported protocol version",
}

// String returns the message Node sends for the code.
func (c ErrorCode) String() string {
	if int(c) < len(errorMessages) {
		return errorMessages[c]
	}
	return "Bad request"
}

// writeError answers an HTTP request with Node's JSON error body:
// 403 for ErrForbidden, 400 for everything else.
func writeError(w http.ResponseWriter, code ErrorCode) {
	status := http.StatusBadRequest
	if code == ErrForbidden {
		status = http.StatusForbidden
	}
	body := `{"code":` + strconv.Itoa(int(code)) + `,"message":"` + code.String() + `"}`
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}

// writeEmpty answers with a status and no body, as Node's
// `res.writeHead(status); res.end()`.
func writeEmpty(w http.ResponseWriter, status int) {
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(status)
}
