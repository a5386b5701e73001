//go:build !linux

package netpoll

import "syscall"

// Poller is not available on this platform; New always fails.
type Poller struct{}

func New() (*Poller, error)                                   { return nil, ErrUnsupported }
func (p *Poller) Add(syscall.RawConn, Handler) (int32, error) { return -1, ErrUnsupported }
func (p *Poller) AddFD(int, Handler) error                    { return ErrUnsupported }
func (p *Poller) AddFDEdge(int, Handler) error                { return ErrUnsupported }
func (p *Poller) Pause(int32, Handler) error                  { return ErrUnsupported }
func (p *Poller) Resume(int32, Handler) error                 { return ErrUnsupported }
func (p *Poller) Remove(int32, Handler)                       {}
func (p *Poller) Len() int                                    { return 0 }
func (p *Poller) Close() error                                { return nil }
