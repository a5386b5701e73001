package auth

import (
	"net/http"
	"reflect"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/bson"
)

// Seed corpora live in testdata/fuzz/<FuzzName>/; run e.g.
// go test -fuzz=FuzzParseSessionID -fuzztime=30s ./auth/

func FuzzParseSessionID(f *testing.F) {
	f.Add("s:4xjBHJjlPq1xhsOu3AVYR-bxLgEVmsCZ.Z1AX+NSFZQu4aGCB/bCj2MLgSHPErixQVF9jwoy7dws", "s1")
	f.Add("s%3Aabc.def", "k")
	f.Fuzz(func(t *testing.T, value, secret string) {
		sid, err := ParseSessionID(value, []string{secret})
		decoded := DecodeCookieValue(value)
		if err != nil {
			return
		}
		if len(decoded) >= 2 && decoded[:2] == signedPrefix {
			if Sign(sid, secret) != decoded {
				t.Fatalf("verified %q as %q but Sign gives %q", decoded, sid, Sign(sid, secret))
			}
		} else if sid != decoded {
			t.Fatalf("raw value %q gave sid %q", decoded, sid)
		}
		// Round trip: what we sign we verify.
		if got, ok := Unsign(Sign(sid, secret), []string{"other", secret}); !ok || got != sid {
			t.Fatalf("Unsign(Sign(%q)) = %q, %v", sid, got, ok)
		}
	})
}

func FuzzCookieValue(f *testing.F) {
	f.Add("a=1; connect.sid=s%3Aabc.def; b=2")
	f.Add(`connect.sid="quoted"`)
	f.Fuzz(func(t *testing.T, header string) {
		h := http.Header{"Cookie": {header}}
		v1, ok1 := CookieValue(h, "connect.sid")
		v2, ok2 := CookieValue(h, "connect.sid")
		if v1 != v2 || ok1 != ok2 {
			t.Fatal("CookieValue is not deterministic")
		}
		if !ok1 && v1 != "" {
			t.Fatalf("not found but value %q", v1)
		}
	})
}

func FuzzDecodeSessionJSON(f *testing.F) {
	f.Add([]byte(`{"cookie":{"originalMaxAge":60000},"passport":{"user":123},"userName":"Alice"}`))
	f.Add([]byte(`"{\"passport\":{\"user\":\"u1\"}}"`))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, decode := range []func([]byte) (*Session, error){decodeSessionJSON, decodeSessionPlaintext} {
			s, err := decode(data)
			if err == nil && s == nil {
				t.Fatal("nil session without error")
			}
			if err == nil && s.User != nil {
				_ = jsStrictEqual(s.User, s.User)
				jsString(s.User)
			}
		}
	})
}

func FuzzDecodeMongoDocument(f *testing.F) {
	seed := func(d bson.D) {
		b, err := bson.Marshal(d)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	seed(bson.D{{Key: "_id", Value: "x"}, {Key: "session", Value: `{"passport":{"user":"u1"}}`}})
	seed(bson.D{{Key: "session", Value: bson.D{{Key: "passport", Value: bson.D{{Key: "user", Value: int32(7)}}}}}})
	// A cheap key for the web-crypto path; kruptein's 15000 iterations are fixed.
	c := newSessionCipher("crypto-secret", "", 1000)
	now := time.Unix(1_800_000_000, 0)
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, ci := range []*sessionCipher{nil, c} {
			s, err := decodeMongoDocument(bson.Raw(data), ci, now)
			if err == nil && s == nil {
				t.Fatal("nil session without error")
			}
		}
	})
}

// FuzzDecodeSessionJSONMatchesMap: the scanning reader of a session
// document finds what a decoded map of it holds (same user, name, role;
// refuses the same documents).
func FuzzDecodeSessionJSONMatchesMap(f *testing.F) {
	for _, s := range []string{
		`{"cookie":{"originalMaxAge":60000},"passport":{"user":123},"userName":"Alice"}`,
		`{"passport":{"user":"u1"},"passport":{"user":"u2"}}`, `{"Passport":{"user":"x"}}`, `{"passport":null}`,
		`{"passport":{"user":null}}`, `{"passport":{"user":{"id":1}}}`, `{"passport":"u1"}`, `{"userName":0,"userRole":true}`,
		`{"user\u004eame":"esc","userRole":"a\"b"}`, `null`, `5`, `"x"`, `[]`, `{`, `{"a":1}}`, `{"passport":{"user":"\ud800"}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, gerr := decodeSessionJSON(data)
		v, werr := parseJSONValue(data)
		if (gerr == nil) != (werr == nil) {
			t.Fatalf("%q: error %v, map reading %v", data, gerr, werr)
		}
		if werr != nil {
			return
		}
		if want := sessionFromValue(v); !reflect.DeepEqual(got, want) {
			t.Fatalf("%q: %#v, map reading %#v", data, got, want)
		}
	})
}
