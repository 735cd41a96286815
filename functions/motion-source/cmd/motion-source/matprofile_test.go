//go:build matprofile

package main

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"gocv.io/x/gocv"
)

// TestMain fails the run when a test leaves a gocv Mat unclosed (built with
// -tags matprofile, which makes gocv count live Mats).
func TestMain(m *testing.M) {
	code := m.Run()
	if n := gocv.MatProfile.Count(); n != 0 {
		var b strings.Builder
		_ = gocv.MatProfile.WriteTo(&b, 1)
		fmt.Fprintf(os.Stderr, "%d gocv Mats leaked:\n%s", n, b.String())
		code = 1
	}
	os.Exit(code)
}
