package main

import (
	"os"
	"testing"
	"time"
)

func TestProcSchedCPU(t *testing.T) {
	a, err := procSchedCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if a <= 0 {
		t.Fatalf("own CPU time %v", a)
	}
	// Spin for 20 ms of CPU: the nanosecond clock sees it.
	for end := time.Now().Add(20 * time.Millisecond); time.Now().Before(end); {
	}
	b, err := procSchedCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if d := b - a; d < 10*time.Millisecond {
		t.Fatalf("20 ms of spinning counted as %v", d)
	}
	if _, err := procSchedCPU(1 << 30); err == nil {
		t.Fatal("no error for a pid that does not exist")
	}
}

func TestBurstSummary(t *testing.T) {
	var b burstStats
	if b.summary(100) != nil {
		t.Fatal("a summary without bursts")
	}
	ms := time.Millisecond
	b.wall = []time.Duration{90 * ms, 80 * ms, 120 * ms}
	b.server = []time.Duration{110 * ms, 100 * ms, 150 * ms}
	b.self = []time.Duration{40 * ms, 60 * ms, 50 * ms}
	s := b.summary(10000)
	want := burst{Count: 3, WallMs: 90, ServerCPUMs: 110, LoadgenCPUMs: 50, ServerCPUPerUs: 11, LoadgenPerUs: 5}
	if *s != want {
		t.Fatalf("summary = %+v, want %+v", *s, want)
	}
	if b.wall[0] != 90*ms {
		t.Fatal("summary sorted the samples in place")
	}
}
