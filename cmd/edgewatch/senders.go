package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/edgewatch/edgewatch/internal/broker"
	"github.com/edgewatch/edgewatch/internal/eventpolicy"
	"github.com/edgewatch/edgewatch/internal/triggers"
)

// tokensDir is where a run keeps its senders' tokens, inside the state
// directory, readable by its user only.
const tokensDir = "tokens"

// operatorTokenPath is the file that holds the operator's token.
func operatorTokenPath(state string) string {
	return filepath.Join(state, tokensDir, eventpolicy.Operator)
}

// loadSenders reads the EventPolicies that apply to the local broker and
// gives every sender they name, and the operator, a token: a new random
// one per run for the functions, and for the operator the one an earlier
// run kept in the state directory, so that an operator's scripts go on
// working across runs. Every token is written to <state>/tokens/<name>
// (mode 0600).
func loadSenders(state, triggersDir, policiesDir string) (*broker.Senders, error) {
	ts, err := triggers.LoadDir(triggersDir)
	if err != nil {
		return nil, err
	}
	table, err := eventpolicy.LoadDir(policiesDir, "edgewatch", "default", ts)
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(state, tokensDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return nil, err
	}
	tokens := map[string]string{}
	for _, name := range append(table.Senders(), eventpolicy.Operator) {
		tok := ""
		if name == eventpolicy.Operator {
			tok = keptToken(operatorTokenPath(state))
		}
		if tok == "" {
			if tok, err = newToken(); err != nil {
				return nil, err
			}
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(tok+"\n"), 0o600); err != nil {
			return nil, err
		}
		tokens[name] = tok
	}
	return &broker.Senders{Tokens: tokens, Allow: table}, nil
}

// keptToken returns the token an earlier run wrote to path, or "" when
// there is none fit to reuse (missing, readable by others, malformed).
func keptToken(path string) string {
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm()&0o077 != 0 {
		return ""
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	tok := strings.TrimSpace(string(b))
	if len(tok) != 64 {
		return ""
	}
	if _, err := hex.DecodeString(tok); err != nil {
		return ""
	}
	return tok
}

func newToken() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return hex.EncodeToString(b[:]), nil
}

// sinkWithToken returns sink with name and token as its user info: Go's
// HTTP client, which every function sends with, presents them as Basic
// credentials, so no function needs code of its own to prove who it is.
func sinkWithToken(sink, name, token string) (string, error) {
	u, err := url.Parse(sink)
	if err != nil {
		return "", err
	}
	if token == "" {
		return "", errors.New("no token for " + name)
	}
	u.User = url.UserPassword(name, token)
	return u.String(), nil
}

// tokenFromFile reads a token file, as edgewatch send does for -token-file.
func tokenFromFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("token: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}
