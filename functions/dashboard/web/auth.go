package web

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"strings"
)

// sessionCookie is the cookie that carries a browser's login.
const sessionCookie = "edgewatch_session"

// Auth guards the page, the API and the event stream. A request passes with
// the bearer token in an Authorization header, with the session cookie that
// logging in with the token sets, or with HTTP basic credentials. With
// neither a token nor a user configured, everything is open.
type Auth struct {
	Token    string
	User     string
	Password string
}

// Enabled reports whether any credential is configured.
func (a Auth) Enabled() bool { return a.Token != "" || a.User != "" }

// session is the cookie value for the token: an HMAC of a fixed label, so
// the cookie never holds the token itself.
func (a Auth) session() string {
	m := hmac.New(sha256.New, []byte(a.Token))
	m.Write([]byte("edgewatch dashboard session v1"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func equal(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

// Allowed reports whether r carries valid credentials.
func (a Auth) Allowed(r *http.Request) bool {
	if !a.Enabled() {
		return true
	}
	if a.Token != "" {
		if bearer, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok && equal(strings.TrimSpace(bearer), a.Token) {
			return true
		}
		if c, err := r.Cookie(sessionCookie); err == nil && equal(c.Value, a.session()) {
			return true
		}
	}
	if a.User != "" {
		if u, p, ok := r.BasicAuth(); ok && equal(u, a.User) && equal(p, a.Password) {
			return true
		}
	}
	return false
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

// SessionCookie returns the cookie a successful token login sets: HttpOnly
// so scripts cannot read it, SameSite=Strict so other sites cannot send it,
// Secure when the page is served over HTTPS.
func (a Auth) SessionCookie(secure bool) *http.Cookie {
	return &http.Cookie{Name: sessionCookie, Value: a.session(), Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: secure, MaxAge: 30 * 24 * 3600}
}
