//go:build race

package netpoll

// raceEnabled: sync.Pool drops items on purpose under the race detector.
const raceEnabled = true
