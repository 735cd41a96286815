package main

import (
	"slices"
	"testing"

	"github.com/edgewatch/edgewatch/internal/functions"
)

// TestEveryFunctionHasAHost fails when a row of the function table has no
// host in hosts(), or a host has no row: the runner could not start the
// one, and would start the other on no port.
func TestEveryFunctionHasAHost(t *testing.T) {
	h := hosts()
	for _, name := range functions.Names() {
		if h[name] == nil {
			t.Errorf("%s is in the function table but hosts() has no host for it", name)
		}
	}
	for name := range h {
		if !slices.Contains(functions.Names(), name) {
			t.Errorf("hosts() hosts %s, which the function table does not list", name)
		}
	}
}
