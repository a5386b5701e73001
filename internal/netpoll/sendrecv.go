//go:build unix && !aix && !solaris

package netpoll

import (
	"syscall"
	"unsafe"
)

// Sendto is sendto(2) on a connected socket (no address), retried on
// EINTR: the bytes sent, or the call's error (syscall.EAGAIN when flags
// hold MSG_DONTWAIT, or a send timeout expired, and nothing fitted).
// b must not be empty.
func Sendto(fd int, b []byte, flags int) (int, error) {
	for {
		n, _, e := syscall.Syscall6(syscall.SYS_SENDTO, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)),
			uintptr(flags), 0, 0)
		if e == syscall.EINTR {
			continue
		}
		if e != 0 {
			return 0, e
		}
		return int(n), nil
	}
}

// Recvfrom is recvfrom(2) on a connected socket (no address), retried on
// EINTR: n > 0 bytes, or 0 and no error at the end of the stream, or the
// call's error (syscall.EAGAIN when flags hold MSG_DONTWAIT and nothing is
// there). b must not be empty.
func Recvfrom(fd int, b []byte, flags int) (int, error) {
	for {
		n, _, e := syscall.Syscall6(syscall.SYS_RECVFROM, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)),
			uintptr(flags), 0, 0)
		if e == syscall.EINTR {
			continue
		}
		if e != 0 {
			return 0, e
		}
		return int(n), nil
	}
}
