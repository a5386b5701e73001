package server

import "time"

// Hooks observe the server (metrics, logs). Every field may be nil.
type Hooks struct {
	// Connect is called when a socket connects; again is true when its
	// user already had a socket on this instance.
	Connect func(s *Socket, again bool)
	// Disconnect is called when a socket disconnects, with Node's reason.
	Disconnect func(s *Socket, reason string)
	// ConnectRefused is called when a middleware refuses a connection.
	ConnectRefused func(nsp string, err error)
	// Event is called after each event handler, with its duration.
	Event func(event string, d time.Duration, err error)
	// Emit is called for each broadcast emit.
	Emit func(event string)
}

func (h *Hooks) connect(s *Socket, again bool) {
	if h.Connect != nil {
		h.Connect(s, again)
	}
}

func (h *Hooks) disconnect(s *Socket, reason string) {
	if h.Disconnect != nil {
		h.Disconnect(s, reason)
	}
}

func (h *Hooks) connectRefused(nsp string, err error) {
	if h.ConnectRefused != nil {
		h.ConnectRefused(nsp, err)
	}
}

func (h *Hooks) event(name string, d time.Duration, err error) {
	if h.Event != nil {
		h.Event(name, d, err)
	}
}

func (h *Hooks) emit(name string) {
	if h.Emit != nil {
		h.Emit(name)
	}
}
