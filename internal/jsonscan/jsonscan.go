// Package jsonscan finds the parts of valid JSON without decoding it.
//
// The event path splits every packet's JSON array into its arguments, and
// handlers and the authenticator read a field or two of an object.
// encoding/json does both by decoding: a copy of every element,
// reflection, maps. These functions check the input with json.Valid (which
// allocates nothing) and then only find where values start and end; the
// values returned share the input's bytes (each with its capacity cut at
// its end, so that appending to one cannot overwrite the next).
package jsonscan

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"
)

// SplitArray returns the elements of the JSON array data. It fails when
// data is not valid JSON or not an array.
func SplitArray(data []byte) ([]json.RawMessage, bool) {
	if !json.Valid(data) {
		return nil, false
	}
	return SplitValid(data)
}

// SplitValid is SplitArray for data known to be valid JSON (json.Valid),
// which it does not check again.
func SplitValid(b []byte) ([]json.RawMessage, bool) {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '[' {
		return nil, false
	}
	i = skipSpace(b, i+1)
	out := []json.RawMessage{}
	if b[i] == ']' {
		return out, true
	}
	for {
		j := skipValue(b, i)
		out = append(out, json.RawMessage(b[i:j:j]))
		i = skipSpace(b, j)
		if b[i] == ']' {
			return out, true
		}
		i = skipSpace(b, i+1) // the comma
	}
}

// First returns the first element of data, a JSON array known to be valid
// (false for an empty array or anything else).
func First(b []byte) (json.RawMessage, bool) {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '[' {
		return nil, false
	}
	i = skipSpace(b, i+1)
	if i >= len(b) || b[i] == ']' {
		return nil, false
	}
	j := skipValue(b, i)
	return json.RawMessage(b[i:j:j]), true
}

// Field returns the value of key in the JSON object data, as JavaScript's
// data[key] reads it: keys compared exactly (after their escapes are
// decoded), the last of duplicate keys wins. It reports false when data
// is not valid JSON, not an object, or has no such key.
func Field(data []byte, key string) (json.RawMessage, bool) {
	var found json.RawMessage
	ok := false
	Object(data, func(k, v []byte) {
		if KeyIs(k, key) {
			found, ok = json.RawMessage(v), true
		}
	})
	return found, ok
}

// Object calls fn with each member of the JSON object data, in order: the
// key as its string literal (compare it with KeyIs) and the value. It
// reports false, without calling fn, when data is not valid JSON or not an
// object.
func Object(data []byte, fn func(key, value []byte)) bool {
	if !json.Valid(data) {
		return false
	}
	b := data
	i := skipSpace(b, 0)
	if b[i] != '{' {
		return false
	}
	i = skipSpace(b, i+1)
	for b[i] != '}' {
		j := skipString(b, i)
		k := b[i:j:j]
		i = skipSpace(b, j)
		i = skipSpace(b, i+1) // the colon
		j = skipValue(b, i)
		fn(k, b[i:j:j])
		i = skipSpace(b, j)
		if b[i] == ',' {
			i = skipSpace(b, i+1)
		}
	}
	return true
}

// KeyIs reports whether the JSON string literal lit decodes to key. A
// plain literal (no escape, valid UTF-8) is compared without decoding.
func KeyIs(lit []byte, key string) bool {
	if inner, ok := plain(lit); ok {
		return string(inner) == key
	}
	s, ok := Unquote(lit)
	return ok && s == key
}

// plain returns the inside of a string literal that decodes to itself.
func plain(lit []byte) ([]byte, bool) {
	if len(lit) < 2 || lit[0] != '"' || lit[len(lit)-1] != '"' {
		return nil, false
	}
	inner := lit[1 : len(lit)-1]
	if bytes.IndexByte(inner, '\\') >= 0 || bytes.IndexByte(inner, '"') >= 0 || hasControl(inner) || !utf8.Valid(inner) {
		return nil, false
	}
	return inner, true
}

// Unquote decodes a JSON string literal as encoding/json does
// (invalid UTF-8 becomes U+FFFD); ok is false when lit is not a string.
// A literal without escapes and with valid UTF-8 is converted directly.
func Unquote(lit []byte) (s string, ok bool) {
	if inner, ok := plain(lit); ok {
		return string(inner), true
	}
	if len(lit) < 2 || lit[0] != '"' || lit[len(lit)-1] != '"' || json.Unmarshal(lit, &s) != nil {
		return "", false
	}
	return s, true
}

func hasControl(b []byte) bool {
	for _, c := range b {
		if c < 0x20 {
			return true
		}
	}
	return false
}

func skipSpace(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// skipString returns the index past the string literal starting at b[i].
func skipString(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(b)
}

// skipValue returns the index past the valid JSON value starting at b[i].
func skipValue(b []byte, i int) int {
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				i = skipString(b, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return len(b)
	}
	// A number, true, false or null: up to the next delimiter.
	for i < len(b) {
		switch b[i] {
		case ',', ']', '}', ' ', '\t', '\n', '\r':
			return i
		}
		i++
	}
	return i
}
