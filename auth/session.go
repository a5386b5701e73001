package auth

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/tradedash/realtime/internal/jsonscan"
)

// Session is what the authenticator needs from an express-session record.
type Session struct {
	// User is session.passport.user as stored: a string or a float64 for
	// the usual ids, nil when passport or passport.user is absent, or any
	// other decoded JSON/BSON value (which never matches a handshake userId).
	User any
	// UserName and UserRole are session.userName / session.userRole when
	// they are truthy primitives (JavaScript String() of numbers and
	// booleans), else "" (the authenticator then uses 'User' / 'user').
	UserName string
	UserRole string
	// Expires is when the store considers the session gone; zero if unknown.
	Expires time.Time
}

// maxJSONUnwrap bounds how many times a JSON string holding JSON is
// unwrapped (kruptein double-encodes: a JSON string of the JSON session).
const maxJSONUnwrap = 3

// decodeSessionJSON parses a serialized session as connect-redis and
// connect-mongo (stringify: true) store it. JSON that is valid but not an
// object (null, 5, "x") is a session without a user, as in JavaScript where
// session.passport is then undefined; invalid JSON is ErrCorruptSession.
func decodeSessionJSON(data []byte) (*Session, error) {
	s := &Session{}
	var passport, name, role json.RawMessage
	isObject := jsonscan.Object(data, func(k, v []byte) {
		switch {
		case jsonscan.KeyIs(k, "passport"):
			passport = v
		case jsonscan.KeyIs(k, "userName"):
			name = v
		case jsonscan.KeyIs(k, "userRole"):
			role = v
		}
	})
	if !isObject {
		// Valid JSON that is not an object: a session without a user.
		// Invalid JSON: refused, with encoding/json's reason.
		if _, err := parseJSONValue(data); err != nil {
			return nil, err
		}
		return s, nil
	}
	if user, ok := jsonscan.Field(passport, "user"); ok {
		s.User = decodeValue(user)
	}
	if name != nil {
		s.UserName = truthyString(decodeValue(name))
	}
	if role != nil {
		s.UserRole = truthyString(decodeValue(role))
	}
	return s, nil
}

// decodeValue decodes one valid JSON value as encoding/json does into an
// interface (strings, float64, bool, nil, maps, slices).
func decodeValue(raw json.RawMessage) any {
	if s, ok := jsonscan.Unquote(raw); ok {
		return s
	}
	var v any
	_ = json.Unmarshal(raw, &v)
	return v
}

// decodeSessionPlaintext parses the plaintext of a connect-mongo encrypted
// session: JSON, possibly a JSON string holding the JSON session.
func decodeSessionPlaintext(data []byte) (*Session, error) {
	v, err := parseJSONValue(data)
	if err != nil {
		return nil, err
	}
	for i := 0; i < maxJSONUnwrap; i++ {
		s, ok := v.(string)
		if !ok {
			break
		}
		inner, err := parseJSONValue([]byte(s))
		if err != nil {
			break // a plain string session: no passport
		}
		v = inner
	}
	return sessionFromValue(v), nil
}

// parseJSONValue decodes one JSON value; anything after it but white
// space is an error.
func parseJSONValue(data []byte) (any, error) {
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorruptSession, err)
	}
	return v, nil
}

// sessionFromValue reads the fields the authenticator needs from a decoded
// session object (map[string]any); anything else yields an empty Session.
func sessionFromValue(v any) *Session {
	s := &Session{}
	m, ok := v.(map[string]any)
	if !ok {
		return s
	}
	if passport, ok := m["passport"].(map[string]any); ok {
		s.User = passport["user"]
	}
	s.UserName = truthyString(m["userName"])
	s.UserRole = truthyString(m["userRole"])
	return s
}

// truthyString is String(v) when v is a truthy primitive, else "".
func truthyString(v any) string {
	if !jsTruthy(v) {
		return ""
	}
	s, _ := jsString(v)
	return s
}
