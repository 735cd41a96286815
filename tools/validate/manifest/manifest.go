// Package manifest reads Kubernetes manifests: it finds the YAML files of a
// configuration tree, splits multi-document files, and decodes documents
// strictly, so that a misspelt or misplaced field is an error rather than a
// silently dropped setting.
package manifest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// Document is one YAML document of a manifest file.
type Document struct {
	// Path is the file the document came from.
	Path string
	// Index is the document's position in the file, from 0.
	Index int
	// APIVersion, Kind, Name and Namespace identify the object.
	APIVersion, Kind, Name, Namespace string
	// YAML is the document's text.
	YAML []byte
}

// ID names the object for messages, e.g. "Trigger edgewatch/motion-detect".
func (d Document) ID() string {
	name := d.Name
	if d.Namespace != "" {
		name = d.Namespace + "/" + d.Name
	}
	if d.Kind == "" {
		return fmt.Sprintf("document %d", d.Index)
	}
	return d.Kind + " " + name
}

// Group returns the API group of the document's apiVersion ("" for core).
func (d Document) Group() string {
	if i := strings.Index(d.APIVersion, "/"); i >= 0 {
		return d.APIVersion[:i]
	}
	return ""
}

// IsKustomization reports whether the document is a kustomize Kustomization
// or Component, which are build instructions rather than objects.
func (d Document) IsKustomization() bool {
	return d.Group() == "kustomize.config.k8s.io"
}

// KustomizationFileNames are the names kustomize recognises.
var KustomizationFileNames = []string{"kustomization.yaml", "kustomization.yml", "Kustomization"}

// IsKustomizationFile reports whether path is named like a kustomization.
func IsKustomizationFile(path string) bool {
	base := filepath.Base(path)
	for _, n := range KustomizationFileNames {
		if base == n {
			return true
		}
	}
	return false
}

// IsYAML reports whether path has a YAML extension.
func IsYAML(path string) bool {
	ext := strings.ToLower(filepath.Ext(path))
	return ext == ".yaml" || ext == ".yml"
}

// FindYAML returns every YAML file under root, sorted.
func FindYAML(root string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if strings.HasPrefix(d.Name(), ".") && path != root {
				return filepath.SkipDir
			}
			return nil
		}
		if IsYAML(path) {
			files = append(files, path)
		}
		return nil
	})
	sort.Strings(files)
	return files, err
}

// ReadFile reads and splits a manifest file. Documents holding only comments
// are dropped.
func ReadFile(path string) ([]Document, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Split(path, data)
}

type header struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	} `json:"metadata"`
}

// Split splits a multi-document YAML stream and reads each document's
// apiVersion, kind, name and namespace.
func Split(path string, data []byte) ([]Document, error) {
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var docs []Document
	for i := 0; ; i++ {
		raw, err := r.Read()
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return docs, fmt.Errorf("%s: document %d: %w", path, i, err)
		}
		if isBlank(raw) {
			i--
			continue
		}
		var h header
		if err := yaml.Unmarshal(raw, &h); err != nil {
			return docs, fmt.Errorf("%s: document %d: %w", path, i, err)
		}
		docs = append(docs, Document{
			Path: path, Index: i, YAML: raw,
			APIVersion: h.APIVersion, Kind: h.Kind,
			Name: h.Metadata.Name, Namespace: h.Metadata.Namespace,
		})
	}
}

// isBlank reports whether a document holds nothing but comments and space.
func isBlank(doc []byte) bool {
	for _, line := range bytes.Split(doc, []byte("\n")) {
		t := bytes.TrimSpace(line)
		if len(t) == 0 || t[0] == '#' || bytes.Equal(t, []byte("---")) {
			continue
		}
		return false
	}
	return true
}

// DecodeStrict decodes a YAML document into out and fails on any field out's
// type does not have and on duplicate keys, as a Kubernetes API server does
// with strict field validation.
// Field names are case-sensitive, and an unknown field is reported with its
// path, e.g. unknown field "spec.template.spec.containerConcurency".
func DecodeStrict(doc []byte, out any) error {
	j, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return err
	}
	strict, err := kjson.UnmarshalStrict(j, out)
	if err != nil {
		return err
	}
	return errors.Join(strict...)
}
