package main

import (
	"net/http"
	"os"
	"path/filepath"
	"testing"
)

func TestLoadSendersKeepsTheOperatorTokenAndRenewsTheFunctions(t *testing.T) {
	state := t.TempDir()
	first, err := loadSenders(state, "../../config/triggers", "../../config/eventpolicies")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"operator", "motion-source", "detect", "alert", "caption"} {
		path := filepath.Join(state, tokensDir, name)
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatalf("%s's token file: %v", name, err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s's token file has mode %v, want 0600", name, fi.Mode().Perm())
		}
		if len(first.Tokens[name]) != 64 || tokenOf(t, path) != first.Tokens[name] {
			t.Errorf("%s's token %q, file %q", name, first.Tokens[name], tokenOf(t, path))
		}
	}
	if fi, err := os.Stat(filepath.Join(state, tokensDir)); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("tokens directory: %v %v, want mode 0700", fi, err)
	}
	second, err := loadSenders(state, "../../config/triggers", "../../config/eventpolicies")
	if err != nil {
		t.Fatal(err)
	}
	if second.Tokens["operator"] != first.Tokens["operator"] {
		t.Error("the operator's token changed between runs")
	}
	if second.Tokens["detect"] == first.Tokens["detect"] {
		t.Error("detect's token was reused by the next run")
	}
	// A token file others may read is not reused.
	if err := os.Chmod(operatorTokenPath(state), 0o644); err != nil {
		t.Fatal(err)
	}
	third, err := loadSenders(state, "../../config/triggers", "../../config/eventpolicies")
	if err != nil {
		t.Fatal(err)
	}
	if third.Tokens["operator"] == second.Tokens["operator"] {
		t.Error("an operator token readable by others was reused")
	}
}

func TestSinkWithTokenIsSentAsBasicCredentials(t *testing.T) {
	u, err := sinkWithToken("http://127.0.0.1:8080/", "detect", "secret")
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	// What net/http's client does with a URL's user info.
	if pw, ok := req.URL.User.Password(); !ok || pw != "secret" || req.URL.User.Username() != "detect" {
		t.Errorf("sink %s: user info %v", u, req.URL.User)
	}
	if _, err := sinkWithToken("http://x/", "dashboard", ""); err == nil {
		t.Error("a sink without a token was made")
	}
}

func tokenOf(t *testing.T, path string) string {
	t.Helper()
	tok, err := tokenFromFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}
