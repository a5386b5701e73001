package server

import "errors"

// Disconnect reasons, as Node's socket.io reports them to the server.
const (
	ReasonTransportClose     = "transport close"
	ReasonTransportError     = "transport error"
	ReasonPingTimeout        = "ping timeout"
	ReasonParseError         = "parse error"
	ReasonForcedClose        = "forced close"
	ReasonForcedServerClose  = "forced server close"
	ReasonServerShuttingDown = "server shutting down"
	ReasonClientNSDisconnect = "client namespace disconnect"
	ReasonServerNSDisconnect = "server namespace disconnect"
)

// Errors of the server API.
var (
	ErrDisconnected = errors.New("server: socket disconnected")
	ErrAckTimeout   = errors.New("server: operation has timed out")
	ErrReservedName = errors.New("server: reserved event name")
)

// ConnectError is an error a middleware returns to refuse a connection. The
// client receives it as connect_error with err.message = Message and
// err.data = Data.
type ConnectError struct {
	Message string
	Data    any
}

func (e *ConnectError) Error() string { return e.Message }

// connectErrorData is implemented by errors that carry connect_error data
// (for example auth.Error).
type connectErrorData interface {
	ConnectErrorData() any
}

// DecodeError is handed to the namespace's error handler when an event's
// payload does not decode into the handler's payload type.
type DecodeError struct {
	Event string
	Err   error
}

func (e *DecodeError) Error() string { return "decode " + e.Event + ": " + e.Err.Error() }
func (e *DecodeError) Unwrap() error { return e.Err }
