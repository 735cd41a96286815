package kustomize

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func writeFiles(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestRootsAndRun(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{
		"base/kustomization.yaml":      "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: ns\nresources: [cm.yaml]\n",
		"base/cm.yaml":                 "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {k: v}\n",
		"base/unused.yaml":             "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n",
		"component/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\n",
	})
	roots, err := Roots(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(roots) != 1 || roots[0] != filepath.Join(root, "base") {
		t.Fatalf("roots = %v, want only base (a Component cannot be built alone)", roots)
	}
	b, err := Run(roots[0])
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Docs) != 1 || b.Docs[0].Namespace != "ns" || b.Docs[0].Name != "a" {
		t.Errorf("rendered %+v", b.Docs)
	}
	if !slices.Contains(b.Read, filepath.Join(root, "base", "cm.yaml")) || slices.Contains(b.Read, filepath.Join(root, "base", "unused.yaml")) {
		t.Errorf("read = %v", b.Read)
	}
}

func TestRunReportsBrokenBuilds(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{
		"kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [missing.yaml]\n",
	})
	if _, err := Run(root); err == nil || !strings.Contains(err.Error(), "missing.yaml") {
		t.Errorf("err = %v, want one naming missing.yaml", err)
	}
}

func TestMissing(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{
		"kustomization.yaml":     "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [a.yaml, gone.yaml, sub, https://example.com/x.yaml]\ncomponents: [../nowhere]\n",
		"a.yaml":                 "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n",
		"sub/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n",
	})
	got, err := Missing(root)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, []string{"gone.yaml", "../nowhere"}) {
		t.Errorf("Missing = %v", got)
	}
}
