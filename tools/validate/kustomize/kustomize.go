// Package kustomize renders the kustomizations of a configuration tree with
// kustomize's own library (the one kubectl apply -k embeds), recording which
// files each build read, so that the validator can check the rendered
// objects and find manifest files that no build deploys.
package kustomize

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"

	"github.com/edgewatch/edgewatch/tools/validate/manifest"
)

// Build is the result of one kustomize build.
type Build struct {
	// Dir is the kustomization's directory.
	Dir string
	// Docs are the rendered objects.
	Docs []manifest.Document
	// Read are the absolute paths of the files the build read.
	Read []string
}

// Roots returns the directories under configDir holding a buildable
// kustomization (kind Kustomization, not Component), sorted.
func Roots(configDir string) ([]string, error) {
	files, err := manifest.FindYAML(configDir)
	if err != nil {
		return nil, err
	}
	var roots []string
	for _, f := range files {
		if !manifest.IsKustomizationFile(f) {
			continue
		}
		docs, err := manifest.ReadFile(f)
		if err != nil {
			return nil, err
		}
		if len(docs) == 1 && docs[0].Kind == "Kustomization" {
			roots = append(roots, filepath.Dir(f))
		}
	}
	sort.Strings(roots)
	return roots, nil
}

// recordingFS is the disk, noting every file read.
type recordingFS struct {
	filesys.FileSystem
	mu   sync.Mutex
	read map[string]bool
}

// ReadFile notes the absolute path and reads the file.
func (r *recordingFS) ReadFile(path string) ([]byte, error) {
	r.mu.Lock()
	if abs, err := filepath.Abs(path); err == nil {
		r.read[abs] = true
	}
	r.mu.Unlock()
	return r.FileSystem.ReadFile(path)
}

// Run builds the kustomization in dir as kubectl apply -k would (load
// restrictions on, no plugins).
func Run(dir string) (Build, error) {
	fs := &recordingFS{FileSystem: filesys.MakeFsOnDisk(), read: map[string]bool{}}
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	m, err := k.Run(fs, dir)
	if err != nil {
		return Build{Dir: dir}, fmt.Errorf("kustomize build %s: %w", dir, err)
	}
	out, err := m.AsYaml()
	if err != nil {
		return Build{Dir: dir}, fmt.Errorf("kustomize build %s: %w", dir, err)
	}
	docs, err := manifest.Split(dir+" (kustomize build)", out)
	if err != nil {
		return Build{Dir: dir}, err
	}
	b := Build{Dir: dir, Docs: docs}
	for f := range fs.read {
		b.Read = append(b.Read, f)
	}
	sort.Strings(b.Read)
	return b, nil
}

// Missing returns the local resources and components a kustomization in dir
// names that do not exist, so that a missing file is reported plainly
// rather than through kustomize's accumulation error.
func Missing(dir string) ([]string, error) {
	var path string
	for _, n := range manifest.KustomizationFileNames {
		if p := filepath.Join(dir, n); fileExists(p) {
			path = p
			break
		}
	}
	if path == "" {
		return nil, fmt.Errorf("%s: no kustomization file", dir)
	}
	docs, err := manifest.ReadFile(path)
	if err != nil || len(docs) == 0 {
		return nil, err
	}
	var k struct {
		Resources  []string `json:"resources"`
		Components []string `json:"components"`
	}
	if err := yaml.Unmarshal(docs[0].YAML, &k); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var missing []string
	for _, r := range append(k.Resources, k.Components...) {
		if strings.Contains(r, "://") || strings.HasPrefix(r, "github.com/") {
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, r)); err != nil {
			missing = append(missing, r)
		}
	}
	return missing, nil
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}
