package secrets

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Credentials are assembled at run time so that this file holds none.
var (
	awsKey   = "AKIA" + "Q3EGRT7ZL2MPYX4N"
	ghToken  = "ghp_" + strings.Repeat("a1B2", 9)
	password = "k7#Lq" + "2vRw9"
)

func TestScanText(t *testing.T) {
	cases := []struct {
		line string
		want string // "" = no finding
	}{
		{"key := \"" + awsKey + "\"", "AWS access key id"},
		{"token: " + ghToken, "GitHub token"},
		{"-----BEGIN " + "RSA PRIVATE KEY-----", "private key"},
		{"url: amqp://edgewatch:" + password + "@rabbitmq.edgewatch.svc:5672/", "URL with a password"},
		{"postgres://app:" + password + "@10.0.0.7/db", "URL with a password"},
		// Accepted: the local services' development logins, placeholders, documentation hosts, fakes.
		{"amqp://guest:guest@127.0.0.1:5672/", ""},
		{"postgres://postgres:postgres@localhost:5432/test", ""},
		{"amqp://edgewatch:${RABBITMQ_PASSWORD}@rabbitmq:5672/", ""},
		{"https://user:" + password + "@registry.example.com/v2", ""},
		{"fmt.Sprintf(\"amqp://%s:%s@%s/\", u, p, h)", ""},
		{"AKIAIOSFODNN7EXAMPLE", ""},
		{"xoxb-fake-token-for-tests", ""},
		{"scheme://user:password@host", ""},
	}
	for _, tc := range cases {
		fs := ScanText("f", []byte("first line\n"+tc.line+"\n"))
		switch {
		case tc.want == "" && len(fs) > 0:
			t.Errorf("%q: unexpected finding %v", tc.line, fs)
		case tc.want != "" && (len(fs) != 1 || !strings.Contains(fs[0].Message, tc.want) || fs[0].Line != 2):
			t.Errorf("%q: got %v, want one finding on line 2 containing %q", tc.line, fs, tc.want)
		}
	}
}

func TestScanManifest(t *testing.T) {
	doc := `apiVersion: v1
kind: Secret
metadata: {name: a}
stringData:
  uri: ${RABBITMQ_URI}
  password: ` + password + `
data:
  token: ` + "aHVudGVyMg==" + `
  empty: ""
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: d}
spec:
  template:
    spec:
      containers:
        - name: c
          env:
            - {name: API_KEY, value: ` + password + `}
            - {name: LOG_LEVEL, value: debug}
            - {name: VLM_MAX_TOKENS, value: "160"}
            - {name: DB_PASSWORD, valueFrom: {secretKeyRef: {name: s, key: k}}}
            - {name: WEBHOOK_TOKEN, value: "${WEBHOOK_TOKEN}"}
`
	fs := ScanManifest("m.yaml", []byte(doc))
	var msgs []string
	for _, f := range fs {
		msgs = append(msgs, f.Message)
	}
	all := strings.Join(msgs, "\n")
	for _, want := range []string{"stringData.password holds a value", "data.token holds a value", "env API_KEY has a literal value"} {
		if !strings.Contains(all, want) {
			t.Errorf("missing %q in:\n%s", want, all)
		}
	}
	if len(fs) != 3 {
		t.Errorf("got %d findings, want 3:\n%s", len(fs), all)
	}
}

func TestScanAllowlistAndBinaries(t *testing.T) {
	root := t.TempDir()
	files := map[string][]byte{
		"a/secret.txt":         []byte("k = " + awsKey + "\n"),
		"fixtures/secret.txt":  []byte("k = " + awsKey + "\n"),
		"bin/blob":             append([]byte{0, 1, 2}, []byte(awsKey)...),
		"deploy/manifest.yaml": []byte("apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {k: " + password + "}\n"),
	}
	var names []string
	for name, data := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		names = append(names, name)
	}
	got, err := Files(root)
	if err != nil || len(got) != len(files) {
		t.Fatalf("Files = %v, %v; want the %d files", got, err, len(files))
	}
	ps := Scanner{Allow: []string{"fixtures/"}}.Scan(root, names).Problems()
	if len(ps) != 2 {
		t.Fatalf("got %d problems, want 2 (a/secret.txt, deploy/manifest.yaml): %v", len(ps), ps)
	}
	if ps[0].Path != "a/secret.txt" || ps[1].Path != "deploy/manifest.yaml" {
		t.Errorf("problems in the wrong files: %v", ps)
	}
}
