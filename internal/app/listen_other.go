//go:build !linux

package app

func deferAccept(uintptr, int) error { return nil }
