package contract

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// The function modules' copies of this package are generated
// (internal/contractgen checks that they are fresh); the request guard of
// alert and caption is kept by hand in two modules.

// TestGuardCopiesAreIdentical keeps the request guard of alert and caption
// one file in two modules.
func TestGuardCopiesAreIdentical(t *testing.T) {
	for _, name := range []string{"guard.go", "guard_test.go", "receiver_test.go"} {
		a, err := os.ReadFile(filepath.Join("..", "..", "functions", "alert", "guard", name))
		if err != nil {
			t.Fatal(err)
		}
		c, err := os.ReadFile(filepath.Join("..", "..", "functions", "caption", "guard", name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, c) {
			t.Errorf("functions/alert/guard/%s and functions/caption/guard/%s differ", name, name)
		}
	}
}
