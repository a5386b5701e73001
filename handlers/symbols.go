package handlers

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"

	"github.com/tradedash/realtime/internal/jsonscan"
)

// DefaultMaxSymbols is the most symbols one watchlist request may carry.
const DefaultMaxSymbols = 50

// maxSymbolLen is the longest valid symbol.
const maxSymbolLen = 16

// validSymbol reports whether s (already trimmed and upper-cased) is 1-16
// characters of A-Z 0-9 . - / starting with a letter or digit.
func validSymbol(s string) bool {
	if len(s) == 0 || len(s) > maxSymbolLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case i > 0 && (c == '.' || c == '-' || c == '/'):
		default:
			return false
		}
	}
	return true
}

// parseSymbols validates a watchlist payload {symbols: string[]} and
// returns the normalised symbols (trimmed, upper-cased, duplicates merged,
// first occurrence order). Any invalid symbol refuses the whole request.
func parseSymbols(raw json.RawMessage, max int) ([]string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' || !json.Valid(raw) {
		return nil, invalid("payload must be an object { symbols: string[] }")
	}
	// jsonscan.Field reads payload.symbols as JavaScript does: the key is
	// compared exactly ("Symbols" is another key; encoding/json would
	// match a struct field without regard to case).
	field, _ := jsonscan.Field(raw, "symbols")
	items, ok := jsonscan.SplitArray(field)
	if !ok || len(items) == 0 {
		return nil, invalid("symbols must be a non-empty array of strings")
	}
	if len(items) > max {
		return nil, invalid("at most %d symbols per request", max)
	}
	out := make([]string, 0, len(items))
	for _, it := range items {
		s, ok := jsonscan.Unquote(it)
		if !ok {
			return nil, invalid("symbols must be strings")
		}
		var err error
		if out, err = addSymbol(out, s, it); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// addSymbol normalises s (raw is its JSON, shown in the error) and appends
// it to out unless out has it already.
func addSymbol(out []string, s string, raw []byte) ([]string, error) {
	sym := jsUpper(jsTrim(s))
	if !validSymbol(sym) {
		shown := string(raw)
		if len(shown) > 40 {
			shown = shown[:40]
		}
		return nil, invalid("invalid symbol: %s", shown)
	}
	if slices.Contains(out, sym) {
		return out, nil
	}
	return append(out, sym), nil
}

// jsTrim is JavaScript's String.prototype.trim: it strips the ECMAScript
// WhiteSpace and LineTerminator characters, which include U+FEFF but not
// U+0085 (strings.TrimSpace does the opposite for both).
func jsTrim(s string) string {
	return strings.TrimFunc(s, func(r rune) bool {
		switch r {
		case '\t', '\n', '\v', '\f', '\r', ' ', 0xA0, 0x1680, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000, 0xFEFF:
			return true
		}
		return r >= 0x2000 && r <= 0x200A
	})
}

// jsSpecialUpper holds the full (SpecialCasing) upper-case mappings that
// JavaScript's toUpperCase applies and Go's per-rune strings.ToUpper does
// not, restricted to those whose result can be a valid symbol (ASCII).
var jsSpecialUpper = map[rune]string{
	0xDF: "SS", 0xFB00: "FF", 0xFB01: "FI", 0xFB02: "FL", 0xFB03: "FFI", 0xFB04: "FFL", 0xFB05: "ST", 0xFB06: "ST",
}

// jsUpper is JavaScript's String.prototype.toUpperCase as far as symbol
// validation can tell: "ß" is "SS" there, as Node's server sees it.
func jsUpper(s string) string {
	if !strings.ContainsFunc(s, func(r rune) bool { _, ok := jsSpecialUpper[r]; return ok }) {
		return strings.ToUpper(s)
	}
	var b strings.Builder
	for _, r := range s {
		if u, ok := jsSpecialUpper[r]; ok {
			b.WriteString(u)
		} else {
			b.WriteString(strings.ToUpper(string(r)))
		}
	}
	return b.String()
}
