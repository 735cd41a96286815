// Package function is the motion-source: see docs/architecture.md.
package function

import "net/http"

// Source is the motion-source instance.
type Source struct{}

// New returns a new motion-source instance.
func New() *Source { return &Source{} }

// Handle serves the source's status.
func (s *Source) Handle(w http.ResponseWriter, r *http.Request) {
	w.WriteHeader(http.StatusOK)
}
