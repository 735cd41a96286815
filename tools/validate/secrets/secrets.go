// Package secrets finds credentials committed in plain text: Kubernetes
// Secrets with real values, URLs with a user:password part, well-known token
// formats, private keys, and secret-named environment variables given a
// literal value in a manifest.
package secrets

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/edgewatch/edgewatch/tools/validate/manifest"
	"github.com/edgewatch/edgewatch/tools/validate/report"
)

const check = "secrets"

// Finding is one suspected secret.
type Finding struct {
	Path    string
	Line    int
	Message string
}

// tokenPatterns are credential formats with a recognisable shape.
var tokenPatterns = []struct {
	name string
	re   *regexp.Regexp
}{
	{"Slack token", regexp.MustCompile(`xox[abposr]-[0-9A-Za-z-]{10,}`)},
	{"Slack webhook", regexp.MustCompile(`hooks\.slack\.com/services/T[0-9A-Za-z]+/B[0-9A-Za-z]+/[0-9A-Za-z]{12,}`)},
	{"Discord webhook", regexp.MustCompile(`discord(?:app)?\.com/api/webhooks/[0-9]{8,}/[0-9A-Za-z_-]{30,}`)},
	{"GitHub token", regexp.MustCompile(`\b(?:ghp|gho|ghu|ghs|ghr)_[0-9A-Za-z]{36}\b|\bgithub_pat_[0-9A-Za-z_]{40,}`)},
	{"AWS access key id", regexp.MustCompile(`\b(?:AKIA|ASIA)[0-9A-Z]{16}\b`)},
	{"private key", regexp.MustCompile(`-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED )?PRIVATE KEY-----`)},
	{"OpenAI-style API key", regexp.MustCompile(`\bsk-(?:proj-)?[0-9A-Za-z_-]{32,}`)},
	{"Telegram bot token", regexp.MustCompile(`\b[0-9]{8,10}:AA[0-9A-Za-z_-]{33}\b`)},
}

// urlCredentials matches scheme://user:password@host.
var urlCredentials = regexp.MustCompile(`\b[a-zA-Z][a-zA-Z0-9+.-]*://([^\s:/@"'` + "`" + `]+):([^\s@/"'` + "`" + `]+)@([^\s/:?#"'` + "`" + `]+)`)

// obviouslyFake marks values that only examples and tests use.
var obviouslyFake = regexp.MustCompile(`(?i)example|fake|dummy|placeholder|not-?a-?real|xxxx|redacted|^\*+$|^(password|passwd|pass|secret|pw)$`)

// placeholder matches a value that is filled in at deploy time.
var placeholder = regexp.MustCompile(`^(\$\{[A-Za-z_][A-Za-z0-9_]*\}|\$\([A-Za-z_][A-Za-z0-9_]*\)|\$[A-Za-z_][A-Za-z0-9_]*|%[sv])$`)

// secretEnvName is an environment variable name that holds a credential:
// one ending in PASSWORD, SECRET, TOKEN, API_KEY, ... (VLM_MAX_TOKENS does not).
var secretEnvName = regexp.MustCompile(`(?i)(^|_)(password|passwd|pass|secret|token|api_?key|access_?key|credentials?|private_?key)$`)

// Scanner scans files for secrets.
type Scanner struct {
	// Allow lists paths (slash-separated, relative to the root, globs as in
	// path.Match, or a directory prefix ending in "/") whose findings are
	// accepted, each because it holds only obviously fake test values.
	Allow []string
}

// Files returns the files of the repository at root: those git tracks (and
// untracked, not ignored ones), or every file outside .git when root is not a
// git work tree.
func Files(root string) ([]string, error) {
	out, err := exec.Command("git", "-C", root, "ls-files", "-z", "--cached", "--others", "--exclude-standard").Output()
	if err == nil {
		var files []string
		for _, f := range bytes.Split(out, []byte{0}) {
			if len(f) > 0 {
				files = append(files, filepath.FromSlash(string(f)))
			}
		}
		return files, nil
	}
	var files []string
	err = filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == ".git" {
			return filepath.SkipDir
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(root, path)
			files = append(files, rel)
		}
		return nil
	})
	return files, err
}

// maxFileSize bounds what is read; larger files are data, not config.
const maxFileSize = 2 << 20

// Scan checks the files (relative to root) and returns a problem per finding
// outside the allowlist.
func (s Scanner) Scan(root string, files []string) *report.List {
	var l report.List
	for _, rel := range files {
		if s.allowed(filepath.ToSlash(rel)) {
			continue
		}
		path := filepath.Join(root, rel)
		st, err := os.Stat(path)
		if err != nil || !st.Mode().IsRegular() || st.Size() > maxFileSize {
			continue
		}
		data, err := os.ReadFile(path)
		if err != nil || bytes.IndexByte(data, 0) >= 0 {
			continue
		}
		for _, f := range ScanText(rel, data) {
			l.Addf(f.Path, fmt.Sprintf("line %d", f.Line), check, "%s", f.Message)
		}
		if manifest.IsYAML(rel) {
			for _, f := range ScanManifest(rel, data) {
				l.Addf(f.Path, "", check, "%s", f.Message)
			}
		}
	}
	return &l
}

func (s Scanner) allowed(rel string) bool {
	for _, a := range s.Allow {
		if strings.HasSuffix(a, "/") && strings.HasPrefix(rel, a) {
			return true
		}
		if ok, _ := filepath.Match(a, rel); ok {
			return true
		}
	}
	return false
}

// ScanText looks for token formats, private keys and URL credentials, line
// by line.
func ScanText(path string, data []byte) []Finding {
	var out []Finding
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), maxFileSize)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		for _, p := range tokenPatterns {
			for _, m := range p.re.FindAllString(line, -1) {
				if !obviouslyFake.MatchString(m) {
					out = append(out, Finding{path, n, fmt.Sprintf("%s in plain text (%s…)", p.name, redact(m))})
				}
			}
		}
		for _, m := range urlCredentials.FindAllStringSubmatch(line, -1) {
			if msg := judgeURL(m[1], m[2], m[3]); msg != "" {
				out = append(out, Finding{path, n, msg})
			}
		}
	}
	return out
}

// judgeURL accepts credentials for loopback and documentation hosts (the
// local services' well-known development logins) and placeholders.
func judgeURL(user, password, host string) string {
	if placeholder.MatchString(password) || strings.HasPrefix(password, "$") || strings.HasPrefix(password, "{{") ||
		strings.HasPrefix(password, "<") || strings.Contains(password, "%") || obviouslyFake.MatchString(password) {
		return ""
	}
	h := strings.Trim(strings.ToLower(host), "[]")
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return ""
	}
	if ip := net.ParseIP(h); ip != nil && ip.IsLoopback() {
		return ""
	}
	for _, doc := range []string{"example.com", "example.org", "example.net", ".example", ".invalid", ".test"} {
		if h == doc || strings.HasSuffix(h, "."+strings.TrimPrefix(doc, ".")) {
			return ""
		}
	}
	return fmt.Sprintf("URL with a password for %s@%s in plain text: take it from a Secret or the environment", user, host)
}

func redact(s string) string {
	if len(s) <= 8 {
		return s[:len(s)/2]
	}
	return s[:8]
}

// ScanManifest looks at the Kubernetes objects of a YAML file: a Secret must
// hold only ${VARIABLE} placeholders (real ones are created with kubectl
// create secret), and an environment variable whose name says it is a
// credential must come from a Secret, not a literal value.
func ScanManifest(path string, data []byte) []Finding {
	docs, err := manifest.Split(path, data)
	if err != nil {
		return nil // not a manifest: the manifest checks report parse errors where they matter
	}
	var out []Finding
	for _, d := range docs {
		var obj map[string]any
		if manifest.DecodeStrict(d.YAML, &obj) != nil {
			continue
		}
		if d.APIVersion == "v1" && d.Kind == "Secret" {
			for _, field := range []string{"data", "stringData"} {
				m, _ := obj[field].(map[string]any)
				for k, v := range m {
					val := fmt.Sprint(v)
					if field == "data" {
						if dec, err := base64.StdEncoding.DecodeString(val); err == nil {
							val = string(dec)
						}
					}
					if val != "" && !placeholder.MatchString(strings.TrimSpace(val)) {
						out = append(out, Finding{path, 0, fmt.Sprintf("%s: %s.%s holds a value, not a ${VARIABLE} placeholder: create the Secret with kubectl create secret instead of committing it", d.ID(), field, k)})
					}
				}
			}
		}
		walkEnv(obj, func(name, value string) {
			if secretEnvName.MatchString(name) && value != "" && !placeholder.MatchString(value) && !obviouslyFake.MatchString(value) {
				out = append(out, Finding{path, 0, fmt.Sprintf("%s: env %s has a literal value: use valueFrom.secretKeyRef", d.ID(), name)})
			}
		})
	}
	return out
}

// walkEnv calls f for every {name, value} pair in any "env" list of obj.
func walkEnv(v any, f func(name, value string)) {
	switch x := v.(type) {
	case map[string]any:
		for k, child := range x {
			if k == "env" {
				if list, ok := child.([]any); ok {
					for _, e := range list {
						if m, ok := e.(map[string]any); ok {
							name, _ := m["name"].(string)
							if value, ok := m["value"].(string); ok {
								f(name, value)
							}
						}
					}
				}
			}
			walkEnv(child, f)
		}
	case []any:
		for _, child := range x {
			walkEnv(child, f)
		}
	}
}
