package socketio

import (
	"reflect"
	"testing"
)

// TestSplitEventUnchanged: event names and arguments as before the
// scanner (encoding/json's reading), including escaped and numeric names.
func TestSplitEventUnchanged(t *testing.T) {
	for _, tc := range []struct {
		data string
		name string
		args []string
	}{
		{`["a",1,{"b":"]"}]`, "a", []string{`1`, `{"b":"]"}`}},
		{`["\u0061b"]`, "ab", []string{}},
		{`[12,"x"]`, "12", []string{`"x"`}},
		{` [ "sp" , [ ] ] `, "sp", []string{`[ ]`}},
	} {
		name, args, err := SplitEvent(&Packet{Data: []byte(tc.data)})
		if err != nil || name != tc.name {
			t.Fatalf("%s: %q %v", tc.data, name, err)
		}
		got := make([]string, len(args.Raw))
		for i, r := range args.Raw {
			got[i] = string(r)
		}
		if !reflect.DeepEqual(got, tc.args) {
			t.Fatalf("%s: args %q, want %q", tc.data, got, tc.args)
		}
	}
	for _, bad := range []string{`[]`, `{}`, `null`, `[`, `[true]`} {
		if _, _, err := SplitEvent(&Packet{Data: []byte(bad)}); err == nil {
			t.Fatalf("%s: accepted", bad)
		}
	}
}

func BenchmarkSplitEvent(b *testing.B) {
	p := &Packet{Data: []byte(`["subscribe:watchlist",{"symbols":["AAPL","MSFT","GOOG"]}]`)}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := SplitEvent(p); err != nil {
			b.Fatal(err)
		}
	}
}
