package contractgen

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

const repoRoot = "../.."

// TestGeneratedFilesAreFresh fails when a generated copy of the contract
// differs from what internal/contract and its schemas generate now.
func TestGeneratedFilesAreFresh(t *testing.T) {
	files, err := Files(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range sortedKeys(files) {
		got, err := os.ReadFile(filepath.Join(repoRoot, filepath.FromSlash(path)))
		switch {
		case err != nil:
			t.Errorf("%s: %v; run %q in the repository root", path, err, Command)
		case !bytes.Equal(got, files[path]):
			t.Errorf("%s is stale: internal/contract changed since it was generated; run %q in the repository root", path, Command)
		}
	}
}

// TestGeneratedFilesSayTheyAreGenerated checks the header Go's tools look
// for (https://go.dev/s/generatedcode).
func TestGeneratedFilesSayTheyAreGenerated(t *testing.T) {
	files, err := Files(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	generated := regexp.MustCompile(`(?m)^// Code generated .* DO NOT EDIT\.$`)
	for path, code := range files {
		first, _, _ := bytes.Cut(code, []byte("\n"))
		if !generated.Match(first) {
			t.Errorf("%s starts with %q, not Go's generated-code header", path, first)
		}
	}
}
