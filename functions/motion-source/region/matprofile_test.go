//go:build matprofile

package region_test

import (
	"testing"

	"github.com/edgewatch/edgewatch/functions/motion-source/internal/matleak"
)

// TestMain fails the run when a test leaves a gocv Mat unclosed.
func TestMain(m *testing.M) { matleak.Run(m) }
