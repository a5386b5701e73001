package auth

import (
	"math"
	"testing"
)

func TestJSNumberString(t *testing.T) {
	tests := []struct {
		in   float64
		want string
	}{
		{123, "123"}, {0, "0"}, {math.Copysign(0, -1), "0"}, {-5, "-5"}, {1.5, "1.5"},
		{0.1, "0.1"}, {1e21, "1e+21"}, {1e20, "100000000000000000000"}, {123e18, "123000000000000000000"},
		{1.2345e21, "1.2345e+21"}, {1e-6, "0.000001"}, {1e-7, "1e-7"}, {1.5e-7, "1.5e-7"},
		{12345678901234567890, "12345678901234567000"}, {9007199254740993, "9007199254740992"},
		{math.MaxFloat64, "1.7976931348623157e+308"}, {5e-324, "5e-324"}, {math.Inf(1), "Infinity"},
	}
	for _, tc := range tests {
		if got := jsNumberString(tc.in); got != tc.want {
			t.Errorf("jsNumberString(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestJSStrictEqual(t *testing.T) {
	tests := []struct {
		name string
		a, b any
		want bool
	}{
		{"same string", "u1", "u1", true},
		{"same number", 123.0, 123.0, true},
		{"number vs string", 123.0, "123", false},
		{"string vs number", "123", 123.0, false},
		{"objects never", map[string]any{}, map[string]any{}, false},
		{"arrays never", []any{}, []any{}, false},
		{"true", true, true, true},
		{"bool vs number", true, 1.0, false},
		{"nil vs string", nil, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := jsStrictEqual(tc.a, tc.b); got != tc.want {
				t.Fatalf("jsStrictEqual(%#v, %#v) = %v", tc.a, tc.b, got)
			}
		})
	}
}

func TestJSTruthy(t *testing.T) {
	for _, v := range []any{nil, false, "", 0.0, math.Copysign(0, -1), math.NaN()} {
		if jsTruthy(v) {
			t.Errorf("jsTruthy(%#v) = true", v)
		}
	}
	for _, v := range []any{true, "0", "x", 1.0, -1.0, map[string]any{}, []any{}} {
		if !jsTruthy(v) {
			t.Errorf("jsTruthy(%#v) = false", v)
		}
	}
}
