package handlers

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

func TestValidSymbol(t *testing.T) {
	cases := []struct {
		sym  string
		want bool
	}{
		{"A", true},
		{"AAPL", true},
		{"0", true},
		{"9AB", true},
		{"BRK.B", true},
		{"BTC-USD", true},
		{"EUR/USD", true},
		{"A.-/", true},
		{strings.Repeat("A", 16), true},
		{strings.Repeat("A", 17), false},
		{"", false},
		{".A", false},
		{"-A", false},
		{"/A", false},
		{"aapl", false}, // validSymbol sees upper-cased input; lower case is invalid there
		{"A B", false},
		{"A_B", false},
		{"A+B", false},
		{"É", false},
		{"A\x00", false},
		{"Ａ", false}, // full-width A
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%q", tc.sym), func(t *testing.T) {
			if got := validSymbol(tc.sym); got != tc.want {
				t.Fatalf("validSymbol(%q) = %v, want %v", tc.sym, got, tc.want)
			}
		})
	}
}

func TestParseSymbols(t *testing.T) {
	many := func(n int) string {
		s := make([]string, n)
		for i := range s {
			s[i] = fmt.Sprintf(`"S%d"`, i)
		}
		return `{"symbols":[` + strings.Join(s, ",") + `]}`
	}
	manyWant := func(n int) []string {
		s := make([]string, n)
		for i := range s {
			s[i] = fmt.Sprintf("S%d", i)
		}
		return s
	}
	deep := strings.Repeat("[", 5000) + strings.Repeat("]", 5000)
	cases := []struct {
		name    string
		payload string // "" means no payload at all
		want    []string
	}{
		{"one", `{"symbols":["AAPL"]}`, []string{"AAPL"}},
		{"trim and upper-case", `{"symbols":["  aapl ","\tmsft\n","brk.b"]}`, []string{"AAPL", "MSFT", "BRK.B"}},
		{"duplicates merged, first order kept", `{"symbols":["b","A","B","a "," b"]}`, []string{"B", "A"}},
		{"16 characters", `{"symbols":["ABCDEFGHIJKLMNOP"]}`, []string{"ABCDEFGHIJKLMNOP"}},
		{"16 after trim", `{"symbols":["  abcdefghijklmnop  "]}`, []string{"ABCDEFGHIJKLMNOP"}},
		{"punctuation inside", `{"symbols":["EUR/USD","BTC-USD","A.B"]}`, []string{"EUR/USD", "BTC-USD", "A.B"}},
		{"50 symbols", many(50), manyWant(50)},
		{"50 with duplicates up to 50 items", `{"symbols":[` + strings.Repeat(`"X",`, 49) + `"X"]}`, []string{"X"}},
		{"extra keys ignored", `{"symbols":["A"],"other":{"x":[1,2]}}`, []string{"A"}},
		{"whitespace around the object", " \n{\"symbols\":[\"A\"]}\t", []string{"A"}},

		{"51 symbols", many(51), nil},
		{"51 items even if duplicates", `{"symbols":[` + strings.Repeat(`"X",`, 50) + `"X"]}`, nil},
		{"huge array", many(100000), nil},
		{"no payload", "", nil},
		{"null", `null`, nil},
		{"number", `42`, nil},
		{"string", `"AAPL"`, nil},
		{"bool", `true`, nil},
		{"array", `["AAPL"]`, nil},
		{"empty object", `{}`, nil},
		{"symbols null", `{"symbols":null}`, nil},
		{"symbols object", `{"symbols":{}}`, nil},
		{"symbols string", `{"symbols":"AAPL"}`, nil},
		{"symbols number", `{"symbols":1}`, nil},
		{"symbols empty", `{"symbols":[]}`, nil},
		{"symbols [1]", `{"symbols":[1]}`, nil},
		{"symbols [null]", `{"symbols":[null]}`, nil},
		{"symbols [true]", `{"symbols":[true]}`, nil},
		{"symbols [\"\"]", `{"symbols":[""]}`, nil},
		{"symbols [\"   \"]", `{"symbols":["   "]}`, nil},
		{"symbols [\"bad sym\"]", `{"symbols":["bad sym"]}`, nil},
		{"one bad refuses all", `{"symbols":["AAPL","MSFT","bad sym"]}`, nil},
		{"bad first refuses all", `{"symbols":["$$","AAPL"]}`, nil},
		{"17 characters", `{"symbols":["ABCDEFGHIJKLMNOPQ"]}`, nil},
		{"leading dot", `{"symbols":[".A"]}`, nil},
		{"leading dash", `{"symbols":["-A"]}`, nil},
		{"leading slash", `{"symbols":["/A"]}`, nil},
		{"underscore", `{"symbols":["A_B"]}`, nil},
		{"non-ASCII", `{"symbols":["ÄPFEL"]}`, nil},
		// JavaScript's trim().toUpperCase(), as the Node server applies it.
		{"ß upper-cases to SS as in JavaScript", `{"symbols":["ß"]}`, []string{"SS"}},
		{"ligatures upper-case as in JavaScript", `{"symbols":["\ufb00","\ufb01x","\ufb06"]}`, []string{"FF", "FIX", "ST"}},
		{"dotless i and long s", `{"symbols":["ı","ſ"]}`, []string{"I", "S"}},
		{"BOM and NBSP are trimmed", `{"symbols":["\ufeffa\u00a0","\u3000b\u2028"]}`, []string{"A", "B"}},
		{"NEL is not trimmed in JavaScript", `{"symbols":["\u0085A"]}`, nil},
		{"Kelvin sign stays non-ASCII", `{"symbols":["\u212a"]}`, nil},
		{"NUL", `{"symbols":["A\u0000"]}`, nil},
		{"nested array", `{"symbols":[["A"]]}`, nil},
		{"nested object", `{"symbols":[{"s":"A"}]}`, nil},
		{"deeply nested junk", `{"symbols":` + deep + `}`, nil},
		{"deep junk beside", `{"x":` + deep + `,"symbols":["A"]}`, []string{"A"}},
		{"duplicate key, last wins", `{"symbols":["bad sym"],"symbols":["A"]}`, []string{"A"}},
		{"key case matters: Symbols", `{"Symbols":["A"]}`, nil},
		{"key case matters: SYMBOLS beside a bad symbols", `{"symbols":["bad sym"],"SYMBOLS":["A"]}`, nil},
		{"truncated JSON", `{"symbols":["A"]`, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseSymbols(json.RawMessage(tc.payload), DefaultMaxSymbols)
			if tc.want == nil {
				var e *Error
				if !errors.As(err, &e) || e.Code != CodeInvalidPayload {
					t.Fatalf("parseSymbols = %v, %v; want INVALID_PAYLOAD", got, err)
				}
				if got != nil {
					t.Fatalf("refused but returned %v", got)
				}
				if len(e.Message) > 200 {
					t.Fatalf("message %d bytes long: the payload leaks into it", len(e.Message))
				}
				return
			}
			if err != nil {
				t.Fatalf("parseSymbols: %v", err)
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestParseSymbolsMaxConfigurable(t *testing.T) {
	if _, err := parseSymbols(json.RawMessage(`{"symbols":["A","B","C"]}`), 2); err == nil {
		t.Fatal("3 symbols with a max of 2 accepted")
	}
	if got, err := parseSymbols(json.RawMessage(`{"symbols":["A","B"]}`), 2); err != nil || len(got) != 2 {
		t.Fatalf("2 symbols with a max of 2: %v, %v", got, err)
	}
}
