package auth

import (
	"strconv"
	"strings"
)

// Values decoded from JSON (encoding/json into any) or BSON (see bsonValue)
// follow JavaScript semantics here: numbers are float64, objects
// map[string]any, arrays []any, absent/null is nil.

// jsTruthy is JavaScript's Boolean(v) for a decoded JSON value.
func jsTruthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case string:
		return x != ""
	case float64:
		return x != 0 && x == x // 0, -0 and NaN are falsy
	default:
		return true // objects, arrays, dates
	}
}

// jsStrictEqual is JavaScript's a === b for decoded JSON values: primitives
// compare by type and value, objects and arrays never compare equal (two
// separately parsed objects are different references).
func jsStrictEqual(a, b any) bool {
	switch x := a.(type) {
	case string:
		y, ok := b.(string)
		return ok && x == y
	case float64:
		y, ok := b.(float64)
		return ok && x == y
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case nil:
		return b == nil
	default:
		return false
	}
}

// jsString is JavaScript's String(v) for primitives; ok is false for
// objects, arrays and other values without a useful string form.
func jsString(v any) (s string, ok bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case float64:
		return jsNumberString(x), true
	case bool:
		return strconv.FormatBool(x), true
	case nil:
		return "null", true
	default:
		return "", false
	}
}

// jsNumberString formats f like JavaScript's Number.prototype.toString()
// (ECMA-262 Number::toString with radix 10): 123 -> "123", 1e21 -> "1e+21",
// 1e-7 -> "1e-7", 0.1 -> "0.1".
func jsNumberString(f float64) string {
	switch {
	case f != f:
		return "NaN"
	case f == 0:
		return "0"
	case f < 0:
		return "-" + jsNumberString(-f)
	case f > 1.7976931348623157e308:
		return "Infinity"
	}
	// Shortest round-trip digits: "d.ddddde±XX".
	e := strconv.FormatFloat(f, 'e', -1, 64)
	mant, exp, _ := strings.Cut(e, "e")
	digits := strings.Replace(mant, ".", "", 1)
	x, _ := strconv.Atoi(exp)
	k := len(digits)
	n := x + 1 // f = 0.digits × 10^n
	switch {
	case k <= n && n <= 21:
		return digits + strings.Repeat("0", n-k)
	case 0 < n && n <= 21:
		return digits[:n] + "." + digits[n:]
	case -6 < n && n <= 0:
		return "0." + strings.Repeat("0", -n) + digits
	}
	sign := "+"
	if n-1 < 0 {
		sign = "-"
	}
	abs := n - 1
	if abs < 0 {
		abs = -abs
	}
	if k == 1 {
		return digits + "e" + sign + strconv.Itoa(abs)
	}
	return digits[:1] + "." + digits[1:] + "e" + sign + strconv.Itoa(abs)
}
