package socketio

import (
	"encoding/json"
	"reflect"
	"testing"
)

var scanSeeds = []string{
	`[]`, `[1]`, ` [ "a" , {"b":[1,2,{"c":"]"}]}, null,true,false, -1.5e3 ] `, `["a\"],", "\\"]`,
	`{"symbols":["AAPL"]}`, `{"symbols":1,"symbols":[2]}`, `{"symbol\u0073":"esc"}`, `{"Symbols":["x"]}`,
	`{}`, `{"a":{"symbols":"nested"}}`, `"\u00e9t\u00e9"`, `"plain"`, `"\ud800"`, "\"\xff\"", `"a\nb"`,
	`[`, `{"a":}`, `nul`, ``, `[1,]`, `{"a" "b"}`, `"`, `["x",`, `[[[[]]]]`, `[{"_placeholder":true,"num":0}]`,
}

// FuzzSplitArray: SplitArray agrees with encoding/json on every input, and
// shares the input's bytes.
func FuzzSplitArray(f *testing.F) {
	for _, s := range scanSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var want []json.RawMessage
		werr := json.Unmarshal(data, &want)
		wantOK := werr == nil && firstByte(data) == '['
		got, ok := SplitArray(data)
		if ok != wantOK {
			t.Fatalf("%q: ok %v, encoding/json %v (%v)", data, ok, wantOK, werr)
		}
		if !ok {
			return
		}
		if len(got) != len(want) {
			t.Fatalf("%q: %d elements, want %d", data, len(got), len(want))
		}
		for i := range got {
			if string(got[i]) != string(want[i]) {
				t.Fatalf("%q: element %d %q, want %q", data, i, got[i], want[i])
			}
			if cap(got[i]) != len(got[i]) {
				t.Fatalf("%q: element %d has room to grow into its neighbour", data, i)
			}
		}
	})
}

// FuzzField: Field reads what a map of the decoded object holds (exact,
// case-sensitive keys; the last duplicate wins), for a few keys.
func FuzzField(f *testing.F) {
	for _, s := range scanSeeds {
		f.Add([]byte(s), "symbols")
	}
	f.Add([]byte(`{"a":1,"b":2}`), "b")
	f.Add([]byte(`{"\u0041":1}`), "A")
	f.Fuzz(func(t *testing.T, data []byte, key string) {
		var m map[string]json.RawMessage
		merr := json.Unmarshal(data, &m)
		want, wantOK := m[key]
		if merr != nil || firstByte(data) != '{' {
			wantOK = false
		}
		got, ok := Field(data, key)
		if ok != wantOK || string(got) != string(want) && wantOK {
			t.Fatalf("%q [%q]: %q %v, want %q %v", data, key, got, ok, want, wantOK)
		}
	})
}

// FuzzUnquoteString: UnquoteString decodes as encoding/json does.
func FuzzUnquoteString(f *testing.F) {
	for _, s := range scanSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, lit []byte) {
		var want string
		werr := json.Unmarshal(lit, &want)
		wantOK := werr == nil && firstByte(lit) == '"' && lit[0] == '"' && lit[len(lit)-1] == '"'
		got, ok := UnquoteString(lit)
		if ok != wantOK || got != want && wantOK {
			t.Fatalf("%q: %q %v, want %q %v", lit, got, ok, want, wantOK)
		}
	})
}

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
