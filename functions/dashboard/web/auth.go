package web

import (
	"crypto/subtle"
	"net/http"
	"strings"
)

// sessionCookie is the cookie that carries a browser's session id.
const sessionCookie = "edgewatch_session"

// Auth holds the dashboard's credentials. A request passes with the bearer
// token in an Authorization header, with HTTP basic credentials, or with the
// cookie of a session that logging in with the token opened (see
// Sessions). With neither a token nor a user configured, everything is open.
type Auth struct {
	Token    string
	User     string
	Password string
}

// Enabled reports whether any credential is configured.
func (a Auth) Enabled() bool { return a.Token != "" || a.User != "" }

// equal compares in constant time, so that how long a comparison takes
// says nothing of how much of a guess was right.
func equal(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

// verdict is what a request's own credentials (not its session) are worth.
type verdict int

const (
	// noCredentials: the request carries neither a bearer token nor basic
	// credentials.
	noCredentials verdict = iota
	// rightCredentials: one of them is right.
	rightCredentials
	// wrongCredentials: it carries some, and none is right.
	wrongCredentials
)

// credentials judges r's bearer token and basic credentials.
func (a Auth) credentials(r *http.Request) verdict {
	v := noCredentials
	if bearer, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		if a.TokenValid(strings.TrimSpace(bearer)) {
			return rightCredentials
		}
		v = wrongCredentials
	}
	if u, p, ok := r.BasicAuth(); ok {
		// Both compared, always, so that a right user name takes no
		// longer to refuse than a wrong one.
		userOK, passOK := equal(u, a.User), equal(p, a.Password)
		if a.User != "" && userOK && passOK {
			return rightCredentials
		}
		v = wrongCredentials
	}
	return v
}

// TokenValid reports whether t is the configured token.
func (a Auth) TokenValid(t string) bool { return a.Token != "" && equal(t, a.Token) }

// challenge sets the WWW-Authenticate headers for a 401.
func (a Auth) challenge(w http.ResponseWriter) {
	if a.User != "" {
		w.Header().Add("WWW-Authenticate", `Basic realm="edgewatch", charset="UTF-8"`)
	}
	if a.Token != "" {
		w.Header().Add("WWW-Authenticate", `Bearer realm="edgewatch"`)
	}
}

// sessionCookieFor returns the cookie that carries a session id: HttpOnly
// so scripts cannot read it, SameSite=Strict so other sites cannot send it,
// Secure when the page is served over HTTPS, and no longer-lived than the
// session. An empty id with maxAge < 0 deletes it.
func sessionCookieFor(id string, maxAge int, secure bool) *http.Cookie {
	return &http.Cookie{Name: sessionCookie, Value: id, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: secure, MaxAge: maxAge}
}
