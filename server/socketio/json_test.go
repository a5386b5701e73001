package socketio

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"unicode/utf8"
)

// The expected strings are what Node's JSON.stringify writes.
func TestAppendString(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", `""`},
		{"ascii", "hello", `"hello"`},
		{"quote and backslash", `a"b\c`, `"a\"b\\c"`},
		{"short escapes", "\b\f\n\r\t", `"\b\f\n\r\t"`},
		{"other controls lowercase hex", "\x00\x01\x1f\x0b", `"\u0000\u0001\u001f\u000b"`},
		{"DEL not escaped", "\x7f", "\"\x7f\""},
		{"html not escaped", "<script>&</script>", `"<script>&</script>"`},
		{"line separators not escaped", "\u2028\u2029", "\"\u2028\u2029\""},
		{"slash not escaped", "a/b", `"a/b"`},
		{"multibyte", "é€😀", `"é€😀"`},
		{"invalid utf8", "a\xffb", "\"a\ufffdb\""},
		{"truncated rune", "\xe2\x82", "\"\ufffd\ufffd\""},
		{"encoded surrogate", "\xed\xa0\x80", "\"\ufffd\ufffd\ufffd\""},
		{"mixed", "x\ny\"é\x00", `"x\ny\"é\u0000"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(AppendString([]byte("pre:"), tt.in))
			if got != "pre:"+tt.want {
				t.Fatalf("AppendString(%q) = %s, want %s", tt.in, got, tt.want)
			}
		})
	}
}

func TestUTF16Len(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want int
	}{{"", 0}, {"abc", 3}, {"é", 1}, {"€", 1}, {"😀", 2}, {"a😀b", 4}} {
		t.Run(tt.in, func(t *testing.T) {
			if got := UTF16Len(tt.in); got != tt.want {
				t.Fatalf("UTF16Len(%q) = %d, want %d", tt.in, got, tt.want)
			}
		})
	}
}

// Numbers as JavaScript's JSON.stringify writes them.
func TestAppendValueNumbers(t *testing.T) {
	tests := []struct {
		name string
		in   any
		want string
	}{
		{"zero", 0.0, "0"},
		{"negative zero", math.Copysign(0, -1), "0"},
		{"integer", 42.0, "42"},
		{"negative", -3.0, "-3"},
		{"fraction", 1.5, "1.5"},
		{"0.1+0.2", point3(), "0.30000000000000004"},
		{"2^53", 9007199254740992.0, "9007199254740992"},
		{"1e20", 1e20, "100000000000000000000"},
		{"1.2345678901234568e20", 123456789012345680000.0, "123456789012345680000"},
		{"1e21", 1e21, "1e+21"},
		{"-1e21", -1e21, "-1e+21"},
		{"1.5e300", 1.5e300, "1.5e+300"},
		{"max", math.MaxFloat64, "1.7976931348623157e+308"},
		{"1e-6", 1e-6, "0.000001"},
		{"1e-7", 1e-7, "1e-7"},
		{"-1.5e-7", -1.5e-7, "-1.5e-7"},
		{"1e-10", 1e-10, "1e-10"},
		{"smallest", 5e-324, "5e-324"},
		{"NaN", math.NaN(), "null"},
		{"+Inf", math.Inf(1), "null"},
		{"-Inf", math.Inf(-1), "null"},
		{"int", 7, "7"},
		{"int64", int64(-1 << 62), "-4611686018427387904"},
		{"bool", true, "true"},
		{"nil", nil, "null"},
		{"nil raw", json.RawMessage(nil), "null"},
		{"raw", json.RawMessage(`{"a":[1]}`), `{"a":[1]}`},
		{"nil pointer", (*struct{ A int })(nil), "null"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := AppendValue(nil, tt.in, nil)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Fatalf("AppendValue(%v) = %s, want %s", tt.in, got, tt.want)
			}
		})
	}
}

func point3() float64 {
	a, b := 0.1, 0.2
	return a + b
}

func TestAppendValueObjects(t *testing.T) {
	type inner struct {
		HTML string `json:"html"`
	}
	type outer struct {
		B     int            `json:"b"`
		A     string         `json:"a"`
		Inner inner          `json:"inner"`
		Skip  string         `json:"-"`
		Opt   *int           `json:"opt,omitempty"`
		M     Map            `json:"m"`
		Any   map[string]any `json:"any"`
	}
	var m Map
	m.Set("zeta", 1.0)
	m.Set("alpha", "x")
	m.Set("mid", []any{true, nil})
	m.Set("zeta", 2.0) // replacing keeps the position
	tests := []struct {
		name string
		in   any
		want string
	}{
		{"Map keeps insertion order", m, `{"zeta":2,"alpha":"x","mid":[true,null]}`},
		{"empty Map", Map{}, `{}`},
		{"map[string]any sorted", map[string]any{"b": 1, "a": "<", "c": []any{}}, `{"a":"<","b":1,"c":[]}`},
		{"struct field order, no HTML escaping", outer{B: 1, A: "&", Inner: inner{HTML: "<b>"}, M: m, Any: map[string]any{"k": 1.5}},
			`{"b":1,"a":"&","inner":{"html":"<b>"},"m":{"zeta":2,"alpha":"x","mid":[true,null]},"any":{"k":1.5}}`},
		{"nested generic", []any{map[string]any{"x": []any{1.0, "y", nil}}, Map{Keys: []string{"q"}, Values: []any{false}}}, `[{"x":[1,"y",null]},{"q":false}]`},
		{"string escapes inside", []any{"a\"\n\u2028"}, "[\"a\\\"\\n\u2028\"]"},
		{"typed slice", []string{"a", "b"}, `["a","b"]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := AppendValue(nil, tt.in, nil)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Fatalf("got  %s\nwant %s", got, tt.want)
			}
			if !json.Valid(got) {
				t.Fatalf("not valid JSON: %s", got)
			}
		})
	}
	t.Run("Map MarshalJSON", func(t *testing.T) {
		b, err := json.Marshal(struct {
			M Map `json:"m"`
		}{m})
		if err != nil || string(b) != `{"m":{"zeta":2,"alpha":"x","mid":[true,null]}}` {
			t.Fatalf("Marshal = %s, %v", b, err)
		}
	})
	t.Run("Map MarshalJSON refuses binary", func(t *testing.T) {
		if _, err := json.Marshal(Map{Keys: []string{"b"}, Values: []any{[]byte("x")}}); err == nil {
			t.Fatal("binary in Map.MarshalJSON accepted")
		}
	})
}

// TestArgsRoundTrip decodes event arguments into generic values and encodes
// them back: the same JSON and the same attachments come out.
func TestArgsRoundTrip(t *testing.T) {
	tests := []struct {
		name  string
		msgs  []msg
		wantN int
	}{
		{"plain", []msg{text(`2["e",{"z":1,"a":[1.5,"x",null,true,{}],"m":{"q":-0.25}},"s",3]`)}, 3},
		{"numbers", []msg{text(`2["e",1e+21,1e-7,123456789012345680000,0.1,-5e-324]`)}, 5},
		{"no args", []msg{text(`2["e"]`)}, 0},
		{"binary top level and nested", []msg{
			text(`52-["e",{"_placeholder":true,"num":0},{"k":[{"_placeholder":true,"num":1}],"n":1}]`),
			binary("first"), binary("\x00second"),
		}, 2},
		{"placeholder false stays an object", []msg{
			text(`51-["e",{"_placeholder":false,"num":0},{"_placeholder":true,"num":0}]`), binary("b"),
		}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d Decoder
			var p *Packet
			var err error
			for _, m := range tt.msgs {
				if p, err = d.Add([]byte(m.data), m.binary); err != nil {
					t.Fatal(err)
				}
			}
			name, args, err := SplitEvent(p)
			if err != nil || name != "e" || args.Len() != tt.wantN {
				t.Fatalf("SplitEvent = %q, %d args, %v", name, args.Len(), err)
			}
			vals, err := args.Values()
			if err != nil {
				t.Fatal(err)
			}
			back, err := NewEvent(p.Nsp, name, vals, p.ID)
			if err != nil {
				t.Fatal(err)
			}
			if string(back.Data) != string(p.Data) {
				t.Fatalf("re-encoded\n %s\nwant\n %s", back.Data, p.Data)
			}
			if back.Type != p.Type || len(back.Attachments) != len(p.Attachments) {
				t.Fatalf("type %d with %d attachments, want %d with %d", back.Type, len(back.Attachments), p.Type, len(p.Attachments))
			}
			// Attachments are renumbered in the order met; compare the
			// values the placeholders stand for.
			for i := range vals {
				v1, _ := args.Value(i)
				v2, _ := Args{Raw: splitRaw(t, back.Data)[1:], Attachments: back.Attachments}.Value(i)
				a1, _ := AppendValue(nil, v1, &[][]byte{})
				a2, _ := AppendValue(nil, v2, &[][]byte{})
				if string(a1) != string(a2) {
					t.Fatalf("arg %d: %s != %s", i, a1, a2)
				}
			}
		})
	}
}

func splitRaw(t *testing.T, data []byte) []json.RawMessage {
	t.Helper()
	var all []json.RawMessage
	if err := json.Unmarshal(data, &all); err != nil {
		t.Fatal(err)
	}
	return all
}

func TestArgsDecode(t *testing.T) {
	var d Decoder
	if _, err := d.Add([]byte(`52-["e",{"_placeholder":true,"num":1},{"a":1},{"_placeholder":true,"num":0},"s"]`), false); err != nil {
		t.Fatal(err)
	}
	d.Add([]byte("zero"), true)
	p, err := d.Add([]byte("one"), true)
	if err != nil {
		t.Fatal(err)
	}
	_, args, err := SplitEvent(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("attachment into []byte", func(t *testing.T) {
		var b []byte
		if err := args.Decode(0, &b); err != nil || string(b) != "one" {
			t.Fatalf("Decode = %q, %v", b, err)
		}
	})
	t.Run("object into struct", func(t *testing.T) {
		var v struct{ A int }
		if err := args.Decode(1, &v); err != nil || v.A != 1 {
			t.Fatalf("Decode = %+v, %v", v, err)
		}
	})
	t.Run("attachment into any", func(t *testing.T) {
		var v any
		if err := args.Decode(2, &v); err != nil || string(v.([]byte)) != "zero" {
			t.Fatalf("Decode = %#v, %v", v, err)
		}
	})
	t.Run("missing argument leaves the value", func(t *testing.T) {
		v := 5
		if err := args.Decode(9, &v); err != nil || v != 5 {
			t.Fatalf("Decode = %d, %v", v, err)
		}
		if val, err := args.Value(9); val != nil || err != nil {
			t.Fatalf("Value = %v, %v", val, err)
		}
	})
	t.Run("wrong type is an error", func(t *testing.T) {
		var n int
		if err := args.Decode(3, &n); err == nil {
			t.Fatal("string decoded into int")
		}
	})
}

func TestSplitEventNumericName(t *testing.T) {
	for _, tt := range []struct{ data, want string }{
		{`[1]`, "1"}, {`[-0]`, "0"}, {`[1.5,"x"]`, "1.5"}, {`[1e21]`, "1e+21"}, {`["x"]`, "x"},
	} {
		t.Run(tt.data, func(t *testing.T) {
			name, _, err := SplitEvent(&Packet{Type: Event, Data: json.RawMessage(tt.data)})
			if err != nil || name != tt.want {
				t.Fatalf("SplitEvent(%s) = %q, %v; want %q", tt.data, name, err, tt.want)
			}
		})
	}
}

func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "a", "\"\\", "\x00\x1f\x7f", "\u2028<>&", "é😀", "\xff\xfe", "\xed\xa0\x80", strings.Repeat("x\n", 40)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := AppendString(nil, s)
		if !json.Valid(out) {
			t.Fatalf("AppendString(%q) = %q, not valid JSON", s, out)
		}
		var back string
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatal(err)
		}
		if utf8.ValidString(s) {
			if back != s {
				t.Fatalf("round trip %q -> %s -> %q", s, out, back)
			}
		} else if back != strings.ToValidUTF8(s, "\ufffd") && back != validRunes(s) {
			t.Fatalf("invalid UTF-8 %q -> %q", s, back)
		}
		// JSON.stringify escapes nothing but '"', '\\' and controls.
		std, _ := json.Marshal(back)
		if len(out) > len(std) {
			t.Fatalf("%s longer than encoding/json's %s", out, std)
		}
	})
}

// validRunes replaces each invalid byte by U+FFFD, as AppendString does.
func validRunes(s string) string {
	var b strings.Builder
	for _, r := range s {
		b.WriteRune(r)
	}
	return b.String()
}
