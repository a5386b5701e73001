package main

import (
	"testing"
	"time"
)

func TestHistogramQuantiles(t *testing.T) {
	cases := []struct {
		name          string
		values        []time.Duration
		p50, p99, max float64 // ms, within 2%
	}{
		{"single", []time.Duration{10 * time.Millisecond}, 10, 10, 10},
		{"uniform 1..100ms", func() []time.Duration {
			var v []time.Duration
			for i := 1; i <= 100; i++ {
				v = append(v, time.Duration(i)*time.Millisecond)
			}
			return v
		}(), 50, 99, 100},
		{"sub-microsecond", []time.Duration{100, 200}, 0, 0, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var h histogram
			for i, v := range tc.values {
				h.record(i, v)
			}
			s := h.summary()
			if s.Count != uint64(len(tc.values)) {
				t.Fatalf("count %d", s.Count)
			}
			near := func(name string, got, want float64) {
				if want == 0 && got == 0 {
					return
				}
				if got < want*0.97 || got > want*1.03 {
					t.Errorf("%s = %v, want ~%v", name, got, want)
				}
			}
			near("p50", s.P50, tc.p50)
			near("p99", s.P99, tc.p99)
			near("max", s.Max, tc.max)
		})
	}
}
