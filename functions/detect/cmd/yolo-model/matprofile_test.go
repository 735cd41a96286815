//go:build matprofile

package main

import (
	"testing"

	"github.com/edgewatch/edgewatch/functions/detect/internal/matleak"
)

// TestMain fails the run when a test leaves a gocv Mat unclosed.
func TestMain(m *testing.M) { matleak.Run(m) }
