package ratelimit

import "fmt"

// Code classifies an Error.
type Code int

// Error codes.
const (
	// CodeUnavailable: the backend (Redis) failed or did not answer within
	// Config.Timeout. The call still returned a result according to the
	// limiter's FailOpen policy; the caller should log and count it.
	CodeUnavailable Code = iota + 1
	// CodeClosed: the limiter was closed.
	CodeClosed
	// CodeInvalidArgument: a negative count or an empty key.
	CodeInvalidArgument
	// CodeConfig: a constructor was given an unusable Config.
	CodeConfig
)

func (c Code) String() string {
	switch c {
	case CodeUnavailable:
		return "unavailable"
	case CodeClosed:
		return "closed"
	case CodeInvalidArgument:
		return "invalid argument"
	case CodeConfig:
		return "config"
	}
	return fmt.Sprintf("code(%d)", int(c))
}

// Error is the error type of this package. Match it with errors.Is against
// the sentinels below (which compare by Code only) or errors.As to read the
// operation and the underlying cause.
type Error struct {
	Code Code
	Op   string // e.g. "allow", "acquire"; empty in sentinels
	Err  error  // the underlying cause, may be nil
}

// Sentinels for errors.Is.
var (
	ErrUnavailable     = &Error{Code: CodeUnavailable}
	ErrClosed          = &Error{Code: CodeClosed}
	ErrInvalidArgument = &Error{Code: CodeInvalidArgument}
	ErrConfig          = &Error{Code: CodeConfig}
)

func (e *Error) Error() string {
	msg := "ratelimit: " + e.Code.String()
	if e.Op != "" {
		msg = "ratelimit: " + e.Op + ": " + e.Code.String()
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is an *Error with the same Code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

func newError(code Code, op string, err error) error {
	return &Error{Code: code, Op: op, Err: err}
}
