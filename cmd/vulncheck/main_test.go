package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestRunRefusesBadArguments(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "exceptions.txt")
	if err := os.WriteFile(bad, []byte("GO-2026-0001 yesterday 2027-01-01 someone reason\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		args []string
		code int
		says string
	}{
		"no database":         {[]string{"source:."}, 2, ""},
		"no target":           {[]string{"-db", "db"}, 2, ""},
		"unknown flag":        {[]string{"-bogus"}, 2, ""},
		"bad target":          {[]string{"-db", "db", "module:."}, 1, "want source:DIR or binary:FILE"},
		"bad exception":       {[]string{"-db", "db", "-exceptions", bad, "source:."}, 1, "exception line 1"},
		"missing exceptions":  {[]string{"-db", "db", "-exceptions", filepath.Join(t.TempDir(), "none"), "source:."}, 1, "no such file"},
		"govulncheck missing": {[]string{"-db", "db", "-govulncheck", filepath.Join(t.TempDir(), "none"), "source:."}, 1, "govulncheck source:."},
	} {
		var errOut strings.Builder
		code := run(context.Background(), c.args, io.Discard, &errOut, time.Now())
		if code != c.code || !strings.Contains(errOut.String(), c.says) {
			t.Errorf("%s: exit %d, stderr %q; want exit %d saying %q", name, code, errOut.String(), c.code, c.says)
		}
	}
}
