package handlers

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
)

// FuzzParseSymbols: any payload either is refused with INVALID_PAYLOAD or
// yields 1..max valid, distinct symbols; it never panics.
func FuzzParseSymbols(f *testing.F) {
	for _, seed := range []string{
		`{"symbols":["aapl"," msft "]}`, `{"symbols":[]}`, `{"symbols":null}`, `null`, `42`, `"x"`,
		`[]`, `{"symbols":["bad sym"]}`, `{"Symbols":["X"]}`, `{"symbols":["ß","ﬀ"]}`,
		`{"symbols":[1,2]}`, `{"symbols":[["A"]]}`, `{"symbols":"AAPL"}`, `{"symbols":["A","a","A "]}`,
		`{"symbols":["BRK.B","BTC/USD","X-1"]}`, `{"symbols":["-A"]}`, `{"symbols":["\ufeffA"]}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		syms, err := parseSymbols(raw, DefaultMaxSymbols)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Code != CodeInvalidPayload {
				t.Fatalf("error %v is not INVALID_PAYLOAD", err)
			}
			if syms != nil {
				t.Fatalf("refused payload returned symbols %v", syms)
			}
			return
		}
		if len(syms) == 0 || len(syms) > DefaultMaxSymbols {
			t.Fatalf("accepted %d symbols", len(syms))
		}
		seen := map[string]bool{}
		for _, s := range syms {
			if !validSymbol(s) || seen[s] {
				t.Fatalf("accepted invalid or duplicate symbol %q in %v", s, syms)
			}
			seen[s] = true
		}
	})
}

// FuzzParseEmitBody: a body is refused, or every item it yields is
// validated before anything would be emitted; neither step panics, and an
// accepted item names a non-reserved event.
func FuzzParseEmitBody(f *testing.F) {
	for _, seed := range []string{
		`{"event":"x"}`, `{"userId":"u1","event":"trade:executed","data":{"a":1}}`, `{"room":"r","event":"e"}`,
		`[{"event":"a"},{"event":"b","data":null}]`, `{"userId":"u","room":"r","event":"e"}`, `{"event":"connect"}`,
		`{"EVENT":"x"}`, `{"event":""}`, `{"userId":12,"event":"x"}`, `{"userId":1e400,"event":"x"}`, `[1,"a",null]`,
		`not json`, `[]`, `{}`, `{"event":"x","data":[1,2,{"b":true}]}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		items, err := parseEmitBody(body)
		if err != nil {
			return
		}
		if !json.Valid(body) {
			t.Fatalf("invalid JSON %q accepted", body)
		}
		for _, it := range items {
			r, err := validateItem(it)
			if err != nil {
				continue
			}
			if r.event == "" {
				t.Fatalf("accepted an item without an event: %q", body)
			}
		}
	})
}

// parseSymbolsReference reads the payload as parseSymbols did with
// encoding/json (a map of the object, the array and each string decoded);
// the scanner version must find the same strings (the normalisation after
// is shared).
func parseSymbolsReference(raw json.RawMessage, max int) ([]string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return nil, invalid("payload must be an object { symbols: string[] }")
	}
	// A map, not a struct: encoding/json matches struct fields without
	// regard to case, and JavaScript's payload.symbols does not ("Symbols"
	// is another key).
	var p map[string]json.RawMessage
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, invalid("payload must be an object { symbols: string[] }")
	}
	var items []json.RawMessage
	if s := bytes.TrimSpace(p["symbols"]); len(s) == 0 || s[0] != '[' || json.Unmarshal(s, &items) != nil || len(items) == 0 {
		return nil, invalid("symbols must be a non-empty array of strings")
	}
	if len(items) > max {
		return nil, invalid("at most %d symbols per request", max)
	}
	out := make([]string, 0, len(items))
	for _, it := range items {
		var s string
		if len(it) == 0 || it[0] != '"' || json.Unmarshal(it, &s) != nil {
			return nil, invalid("symbols must be strings")
		}
		var err error
		if out, err = addSymbol(out, s, it); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// FuzzParseSymbolsMatchesReference: same symbols, same error text.
func FuzzParseSymbolsMatchesReference(f *testing.F) {
	for _, seed := range []string{
		`{"symbols":["aapl"," msft "]}`, `{"symbols":[]}`, `{"Symbols":["X"]}`, `{"symbols":1,"symbols":["B"]}`,
		`{"symbol\u0073":["ESC"]}`, `{"symbols":["\u0041"]}`, `{"symbols":["A"],}`, `{"symbols":["A"]} x`,
		` {"symbols" : [ "A" , "b" ] } `, `{"a":{"symbols":["N"]}}`, `{"symbols":["A",1]}`, "{\"symbols\":[\"\xff\"]}",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		got, gerr := parseSymbols(raw, DefaultMaxSymbols)
		want, werr := parseSymbolsReference(raw, DefaultMaxSymbols)
		if fmt.Sprint(got) != fmt.Sprint(want) || fmt.Sprint(gerr) != fmt.Sprint(werr) {
			t.Fatalf("%q: %q %v, reference %q %v", raw, got, gerr, want, werr)
		}
	})
}
