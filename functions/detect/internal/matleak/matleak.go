//go:build matprofile

// Package matleak fails a test binary that leaves gocv Mats unclosed. It is
// built only with -tags matprofile, which makes gocv count live Mats; each
// package's TestMain calls Run.
//
// detect and motion-source hold identical copies of this package (modules
// build alone and cannot share code); the root module's
// internal/sharedcopies fails when the copies differ. Edit
// functions/detect/internal/matleak and copy it to motion-source.
package matleak

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"gocv.io/x/gocv"
)

// Run runs the tests and exits non-zero when any Mat is still open after
// them, printing where each leaked Mat was made.
func Run(m *testing.M) {
	code := m.Run()
	if n := gocv.MatProfile.Count(); n != 0 {
		var b strings.Builder
		_ = gocv.MatProfile.WriteTo(&b, 1)
		fmt.Fprintf(os.Stderr, "%d gocv Mats were not closed:\n%s", n, b.String())
		code = 1
	}
	os.Exit(code)
}
