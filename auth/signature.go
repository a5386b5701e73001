package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strings"
	"unicode/utf8"
)

// signedPrefix marks a signed express-session cookie value.
const signedPrefix = "s:"

// Sign returns the signed cookie value express-session sets (before URL
// encoding): "s:<sid>.<base64(HMAC-SHA256(secret, sid)) without padding>".
func Sign(sid, secret string) string {
	return signedPrefix + sid + "." + mac(sid, secret)
}

func mac(val, secret string) string {
	h := hmac.New(sha256.New, []byte(secret))
	h.Write([]byte(val))
	return base64.RawStdEncoding.EncodeToString(h.Sum(nil))
}

// Unsign verifies a signed value "s:<sid>.<sig>" (already URL-decoded)
// against each secret in turn, in constant time per secret, and returns the
// session id. Like cookie-signature, the id is everything before the last '.'.
func Unsign(signed string, secrets []string) (sid string, ok bool) {
	body, ok := strings.CutPrefix(signed, signedPrefix)
	if !ok {
		return "", false
	}
	dot := strings.LastIndexByte(body, '.')
	if dot < 0 {
		return "", false
	}
	sid = body[:dot]
	for _, secret := range secrets {
		want := sid + "." + mac(sid, secret)
		if hmac.Equal([]byte(want), []byte(body)) {
			return sid, true
		}
	}
	return "", false
}

// ParseSessionID turns a handshake sessionID into the store's session id:
// a raw id is returned unchanged, a signed value "s:<sid>.<sig>" (plain or
// URL-encoded, e.g. "s%3A...") must verify with one of secrets, else
// ErrBadSignature.
func ParseSessionID(value string, secrets []string) (string, error) {
	value = DecodeCookieValue(value)
	if !strings.HasPrefix(value, signedPrefix) {
		return value, nil
	}
	sid, ok := Unsign(value, secrets)
	if !ok {
		return "", ErrBadSignature
	}
	return sid, nil
}

// DecodeCookieValue percent-decodes v like the `cookie` package does with
// decodeURIComponent: '+' stays '+', and a malformed escape or an invalid
// UTF-8 result leaves v unchanged.
func DecodeCookieValue(v string) string {
	if strings.IndexByte(v, '%') < 0 {
		return v
	}
	var b strings.Builder
	b.Grow(len(v))
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c != '%' {
			b.WriteByte(c)
			continue
		}
		if i+2 >= len(v) {
			return v
		}
		hi, ok1 := unhex(v[i+1])
		lo, ok2 := unhex(v[i+2])
		if !ok1 || !ok2 {
			return v
		}
		b.WriteByte(hi<<4 | lo)
		i += 2
	}
	out := b.String()
	if !utf8.ValidString(out) {
		return v
	}
	return out
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// CookieValue returns the decoded value of the named cookie from the
// request's Cookie header(s), parsed like the `cookie` npm package
// (express-session's parser): pairs split on ';', names and values trimmed
// of spaces and tabs, one pair of surrounding double quotes removed, the
// first occurrence of a name wins.
func CookieValue(h http.Header, name string) (string, bool) {
	return parseCookie(strings.Join(h.Values("Cookie"), "; "), name)
}

func parseCookie(str, name string) (string, bool) {
	for len(str) > 0 {
		var pair string
		pair, str, _ = strings.Cut(str, ";")
		key, val, ok := strings.Cut(pair, "=")
		if !ok {
			continue
		}
		if trimSpaceTab(key) != name {
			continue
		}
		val = trimSpaceTab(val)
		if len(val) >= 2 && val[0] == '"' && val[len(val)-1] == '"' {
			val = val[1 : len(val)-1]
		} else if val == `"` { // cookie@0.7 strips a lone quote to ""
			val = ""
		}
		return DecodeCookieValue(val), true
	}
	return "", false
}

func trimSpaceTab(s string) string {
	return strings.Trim(s, " \t")
}
