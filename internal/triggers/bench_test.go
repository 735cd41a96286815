package triggers

import (
	"os"
	"path/filepath"
	"testing"

	"sigs.k8s.io/yaml"
)

// BenchmarkParse compares reading the committed Trigger manifests strictly
// (unknown fields, durations, annotations checked) with a plain YAML decode
// of the same documents into the same types.
func BenchmarkParse(b *testing.B) {
	all, err := filepath.Glob(filepath.Join(committedDir, "*.yaml"))
	if err != nil || len(all) == 0 {
		b.Fatalf("no manifests: %v", err)
	}
	var files []string
	for _, f := range all {
		if !isKustomization(f) {
			files = append(files, f)
		}
	}
	var docs [][]byte
	for _, f := range files {
		d, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		docs = append(docs, d)
	}
	b.Run("baseline", func(b *testing.B) {
		for b.Loop() {
			for _, d := range docs {
				var m manifest
				if err := yaml.Unmarshal(d, &m); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(len(docs)), "docs/op")
	})
	b.Run("strict", func(b *testing.B) {
		for b.Loop() {
			for i, d := range docs {
				if _, err := Parse(files[i], d); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(len(docs)), "docs/op")
	})
}
