package broker

import (
	"crypto/subtle"
	"net/http"
	"strings"
)

// Authorizer decides whether a sender may send an event of a type: nil
// allows it, an error says why not. *eventpolicy.Table implements it.
type Authorizer interface {
	Allows(sender, eventType string) error
}

// Senders are the identities the ingress knows and what each may send.
type Senders struct {
	// Tokens maps each sender's name to its secret token.
	Tokens map[string]string
	// Allow decides what each sender may send.
	Allow Authorizer
}

// lookup returns the sender whose token r carries, as a Bearer token or
// as the password of Basic credentials (a sink URL's user info). Every
// token is compared in constant time.
func (s *Senders) lookup(r *http.Request) (string, bool) {
	got := ""
	if _, pass, ok := r.BasicAuth(); ok {
		got = pass
	} else if scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " "); ok && strings.EqualFold(scheme, "Bearer") {
		got = strings.TrimSpace(tok)
	}
	if got == "" {
		return "", false
	}
	found := ""
	for name, tok := range s.Tokens {
		if subtle.ConstantTimeCompare([]byte(got), []byte(tok)) == 1 {
			found = name
		}
	}
	return found, found != ""
}
