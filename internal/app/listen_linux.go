//go:build linux

package app

import "syscall"

// deferAccept asks the kernel to hand over accepted connections only once
// the client's first bytes (its request) have arrived, for up to the
// given seconds: the first read then finds them, instead of parking until
// they come. Clients see no difference.
func deferAccept(fd uintptr, seconds int) error {
	return syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_DEFER_ACCEPT, seconds)
}
