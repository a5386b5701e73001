package auth

import (
	"errors"
	"net/http"
	"net/url"
	"testing"
)

func TestSignMatchesCookieSignature(t *testing.T) {
	// Vector from the cookie-signature README/tests: sign('hello', 'tobiiscool').
	got := Sign("hello", "tobiiscool")
	want := "s:hello.DGDUkGlIkCzPz+C0B064FNgHdEjox7ch8tOBGslZ5QI"
	if got != want {
		t.Fatalf("Sign = %q, want %q", got, want)
	}
}

func TestParseSessionID(t *testing.T) {
	const sid = "4xjBHJjlPq1xhsOu3AVYR-bxLgEVmsCZ"
	signed := Sign(sid, "s1")
	tests := []struct {
		name    string
		value   string
		secrets []string
		want    string
		wantErr error
	}{
		{"raw id", sid, []string{"s1"}, sid, nil},
		{"raw id without secrets", sid, nil, sid, nil},
		{"signed", signed, []string{"s1"}, sid, nil},
		{"signed url-encoded", url.QueryEscape(signed), []string{"s1"}, sid, nil},
		{"signed lowercase escapes", "s%3a" + signed[2:], []string{"s1"}, sid, nil},
		{"rotated: old secret second", signed, []string{"new", "s1"}, sid, nil},
		{"wrong secret", signed, []string{"other"}, "", ErrBadSignature},
		{"no secrets", signed, nil, "", ErrBadSignature},
		{"tampered signature", signed[:len(signed)-1] + "A", []string{"s1"}, "", ErrBadSignature},
		{"tampered id", "s:X" + signed[3:], []string{"s1"}, "", ErrBadSignature},
		{"signature missing", "s:" + sid, []string{"s1"}, "", ErrBadSignature},
		{"padding kept is refused", signed + "=", []string{"s1"}, "", ErrBadSignature},
		{"plus decoded as space is refused", "s:" + sid + ".a+b", []string{"s1"}, "", ErrBadSignature},
		{"malformed escape kept verbatim", "ab%zz", nil, "ab%zz", nil},
		{"dot inside id", Sign("a.b", "s1"), []string{"s1"}, "a.b", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseSessionID(tc.value, tc.secrets)
			if !errors.Is(err, tc.wantErr) || got != tc.want {
				t.Fatalf("ParseSessionID(%q) = %q, %v; want %q, %v", tc.value, got, err, tc.want, tc.wantErr)
			}
		})
	}
}

func TestSignatureWithPlusSurvivesEncoding(t *testing.T) {
	// Find an id whose signature contains '+': decoding must not turn it into ' '.
	for i := 0; i < 1000; i++ {
		sid := newSessionID()
		signed := Sign(sid, "k")
		if !containsByte(signed, '+') {
			continue
		}
		enc := url.PathEscape(signed) // keeps '+' literal, as a browser may send it
		got, err := ParseSessionID(enc, []string{"k"})
		if err != nil || got != sid {
			t.Fatalf("ParseSessionID(%q) = %q, %v", enc, got, err)
		}
		return
	}
	t.Fatal("no signature with '+' in 1000 tries")
}

func containsByte(s string, c byte) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return true
		}
	}
	return false
}

func TestDecodeCookieValue(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", "plain"},
		{"s%3Aabc.d%2Be%2Ff", "s:abc.d+e/f"},
		{"a+b", "a+b"},
		{"a%2", "a%2"},             // truncated escape: unchanged
		{"%E2%82%AC", "€"},         // UTF-8
		{"%FF", "%FF"},             // invalid UTF-8: unchanged, like decodeURIComponent throwing
		{"%C0%AF", "%C0%AF"},       // overlong: unchanged
		{"%ED%A0%80", "%ED%A0%80"}, // surrogate: unchanged
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			if got := DecodeCookieValue(tc.in); got != tc.want {
				t.Fatalf("DecodeCookieValue(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestCookieValue(t *testing.T) {
	tests := []struct {
		name    string
		headers []string
		want    string
		wantOK  bool
	}{
		{"single", []string{"connect.sid=s%3Aabc.def"}, "s:abc.def", true},
		{"among others", []string{"a=1; connect.sid=xyz; b=2"}, "xyz", true},
		{"spaces and tabs", []string{"a=1;\t connect.sid \t=\t xyz \t"}, "xyz", true},
		{"quoted", []string{`connect.sid="xyz"`}, "xyz", true},
		{"lone quote", []string{`connect.sid="`}, "", true},
		{"first wins", []string{"connect.sid=one; connect.sid=two"}, "one", true},
		{"two header lines", []string{"a=1", "connect.sid=two"}, "two", true},
		{"pair without =", []string{"junk; connect.sid=v"}, "v", true},
		{"prefix name is not the name", []string{"xconnect.sid=v; connect.sidx=w"}, "", false},
		{"empty value", []string{"connect.sid="}, "", true},
		{"absent", []string{"a=1"}, "", false},
		{"no header", nil, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			for _, v := range tc.headers {
				h.Add("Cookie", v)
			}
			got, ok := CookieValue(h, "connect.sid")
			if got != tc.want || ok != tc.wantOK {
				t.Fatalf("CookieValue = %q, %v; want %q, %v", got, ok, tc.want, tc.wantOK)
			}
		})
	}
}
