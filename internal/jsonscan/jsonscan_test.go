package jsonscan

import (
	"encoding/json"
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

// FuzzUnquote: Unquote decodes as encoding/json does.
func FuzzUnquote(f *testing.F) {
	for _, s := range scanSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, lit []byte) {
		var want string
		werr := json.Unmarshal(lit, &want)
		wantOK := werr == nil && firstByte(lit) == '"' && lit[0] == '"' && lit[len(lit)-1] == '"'
		got, ok := Unquote(lit)
		if ok != wantOK || got != want && wantOK {
			t.Fatalf("%q: %q %v, want %q %v", lit, got, ok, want, wantOK)
		}
	})
}

func firstByte(b []byte) byte {
	if i := skipSpace(b, 0); i < len(b) {
		return b[i]
	}
	return 0
}

// FuzzKeyIs: KeyIs agrees with decoding the literal.
func FuzzKeyIs(f *testing.F) {
	for _, s := range scanSeeds {
		f.Add([]byte(s), "symbols")
	}
	f.Add([]byte("\"\xff\""), "\ufffd")
	f.Add([]byte(`"\u0041"`), "A")
	f.Fuzz(func(t *testing.T, lit []byte, key string) {
		var s string
		want := json.Unmarshal(lit, &s) == nil && len(lit) >= 2 && lit[0] == '"' && lit[len(lit)-1] == '"' && s == key
		if got := KeyIs(lit, key); got != want {
			t.Fatalf("KeyIs(%q, %q) = %v, want %v", lit, key, got, want)
		}
	})
}
