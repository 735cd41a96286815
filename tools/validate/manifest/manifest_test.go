package manifest

import (
	"strings"
	"testing"
)

func TestSplit(t *testing.T) {
	data := `# only a comment
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: a
  namespace: ns1
---
# comment between
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: {name: b}
`
	docs, err := Split("f.yaml", []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) != 2 {
		t.Fatalf("got %d documents, want 2", len(docs))
	}
	if docs[0].ID() != "ConfigMap ns1/a" || docs[1].ID() != "Trigger b" || docs[1].Group() != "eventing.knative.dev" {
		t.Errorf("got %q (index %d), %q (index %d)", docs[0].ID(), docs[0].Index, docs[1].ID(), docs[1].Index)
	}
	if docs[0].Index != 0 || docs[1].Index != 1 {
		t.Errorf("indexes %d, %d; want 0, 1", docs[0].Index, docs[1].Index)
	}
}

func TestDecodeStrict(t *testing.T) {
	type spec struct {
		Replicas int `json:"replicas"`
	}
	type obj struct {
		Spec spec `json:"spec"`
	}
	var o obj
	if err := DecodeStrict([]byte("spec:\n  replicas: 2\n"), &o); err != nil || o.Spec.Replicas != 2 {
		t.Fatalf("good document: %v, %+v", err, o)
	}
	for doc, want := range map[string]string{
		"spec:\n  replicaz: 2\n":                `unknown field "spec.replicaz"`,
		"spec:\n  Replicas: 2\n":                `unknown field "spec.Replicas"`,
		"spec:\n  replicas: 2\n  replicas: 3\n": "already set",
		"spec:\n  replicas: two\n":              "cannot unmarshal",
	} {
		err := DecodeStrict([]byte(doc), &obj{})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want one containing %q", doc, err, want)
		}
	}
}
