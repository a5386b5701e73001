package engineio

import (
	"net/http"
	"slices"
	"strings"
)

// CORS is the cross-origin policy of the Engine.IO endpoint.
//
// Browsers send an Origin header; a request whose Origin is not allowed is
// refused with 403 before any session or WebSocket is created. Loosening
// Origins to "*" lets any web page open an authenticated connection with the
// user's cookies (cross-site WebSocket hijacking): set it to the dashboard's
// origins in production. Requests without an Origin header (non-browser
// clients such as socket.io-client in Node) are always allowed: they carry
// no ambient browser credentials.
type CORS struct {
	// Origins lists the allowed origins, compared byte for byte
	// ("https://app.example.com"). Empty means no CORS headers are sent and
	// no origin is refused; ["*"] allows every origin.
	Origins []string
	// Credentials sends Access-Control-Allow-Credentials: true.
	Credentials bool
	// Methods answers preflights. Zero means what Node's cors package
	// answers by default: GET,HEAD,PUT,PATCH,POST,DELETE.
	Methods string
}

func (c CORS) enabled() bool { return len(c.Origins) > 0 }

func (c CORS) any() bool { return slices.Contains(c.Origins, "*") }

// allowed reports whether a request with this Origin header may proceed.
func (c CORS) allowed(origin string) bool {
	if origin == "" || !c.enabled() || c.any() {
		return true
	}
	return slices.Contains(c.Origins, origin)
}

// setHeaders writes the CORS response headers as Node's cors middleware does
// for socket.io's { origin, credentials, methods: GET,POST }.
func (c CORS) setHeaders(h http.Header, origin string) {
	if !c.enabled() {
		return
	}
	switch {
	case c.any():
		h.Set("Access-Control-Allow-Origin", "*")
	case origin != "" && slices.Contains(c.Origins, origin):
		h.Set("Access-Control-Allow-Origin", origin)
		h.Add("Vary", "Origin")
	default:
		h.Add("Vary", "Origin")
	}
	if c.Credentials {
		h.Set("Access-Control-Allow-Credentials", "true")
	}
}

// preflight answers an OPTIONS request.
func (c CORS) preflight(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	c.setHeaders(h, r.Header.Get("Origin"))
	methods := c.Methods
	if methods == "" {
		methods = "GET,HEAD,PUT,PATCH,POST,DELETE"
	}
	h.Set("Access-Control-Allow-Methods", methods)
	if req := r.Header.Get("Access-Control-Request-Headers"); req != "" {
		h.Set("Access-Control-Allow-Headers", req)
	}
	h.Add("Vary", "Access-Control-Request-Headers")
	writeEmpty(w, http.StatusNoContent)
}

// ParseOrigins splits a comma-separated CORS_ORIGIN value.
func ParseOrigins(s string) []string {
	var out []string
	for _, o := range strings.Split(s, ",") {
		if o = strings.TrimSpace(o); o != "" {
			out = append(out, strings.TrimRight(o, "/"))
		}
	}
	return out
}
