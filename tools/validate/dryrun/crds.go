package dryrun

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/yaml"

	"github.com/edgewatch/edgewatch/tools/validate/manifest"
)

// crdResource is the API server's CustomResourceDefinition resource.
var crdResource = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// knativeCRDDirs are the CRD directories inside the Knative modules that
// tools/validate already requires, so their versions match the Go types
// the in-process validation uses.
var knativeCRDDirs = []struct{ module, dir string }{
	{"knative.dev/serving", "config/core/300-resources"},
	{"knative.dev/eventing", "config/core/resources"},
}

// KnativeCRDFiles returns the CRD manifests of Knative Serving and Eventing
// from the module cache, as `go list -m` finds them for the module in
// moduleDir (tools/validate).
func KnativeCRDFiles(ctx context.Context, moduleDir string) ([]string, error) {
	var files []string
	for _, m := range knativeCRDDirs {
		mod, sub := m.module, m.dir
		cmd := exec.CommandContext(ctx, "go", "list", "-m", "-f", "{{.Dir}}", mod)
		cmd.Dir = moduleDir
		cmd.Env = append(cmd.Environ(), "GOWORK=off")
		out, err := cmd.CombinedOutput()
		dir := strings.TrimSpace(string(out))
		if err != nil || dir == "" {
			return nil, fmt.Errorf("locate %s in the module cache (try: cd tools/validate && GOWORK=off go mod download %s): %v %s", mod, mod, err, dir)
		}
		found, err := filepath.Glob(filepath.Join(dir, sub, "*.yaml"))
		if err != nil {
			return nil, err
		}
		if len(found) == 0 {
			return nil, fmt.Errorf("no CRD manifests in %s", filepath.Join(dir, sub))
		}
		files = append(files, found...)
	}
	return files, nil
}

// InstallCRDs creates every CustomResourceDefinition in files (for real, not
// as a dry run) and waits until each is Established, so that its kinds are
// served. It returns the names installed.
func InstallCRDs(ctx context.Context, client dynamic.Interface, files []string, timeout time.Duration) ([]string, error) {
	var names []string
	for _, f := range files {
		docs, err := manifest.ReadFile(f)
		if err != nil {
			return names, err
		}
		for _, d := range docs {
			if d.Kind != "CustomResourceDefinition" {
				continue
			}
			u, err := toUnstructured(d.YAML)
			if err != nil {
				return names, fmt.Errorf("%s: %w", f, err)
			}
			// Right after /readyz the server may still refuse for a moment:
			// retry what may be transient until the deadline.
			err = wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
				_, err := client.Resource(crdResource).Create(ctx, u, metav1.CreateOptions{})
				if err != nil && transient(err) {
					return false, nil
				}
				return true, err
			})
			if err != nil && !apierrors.IsAlreadyExists(err) {
				return names, fmt.Errorf("install CRD %s from %s: %w", d.Name, f, err)
			}
			names = append(names, d.Name)
		}
	}
	for _, n := range names {
		err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
			u, err := client.Resource(crdResource).Get(ctx, n, metav1.GetOptions{})
			if err != nil {
				return false, nil // transient; the deadline reports it
			}
			return established(u), nil
		})
		if err != nil {
			return names, fmt.Errorf("CRD %s not Established after %s: %w", n, timeout, err)
		}
	}
	return names, nil
}

// established reports whether a CRD's Established condition is True.
func established(u *unstructured.Unstructured) bool {
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		m, ok := c.(map[string]any)
		if ok && m["type"] == "Established" && m["status"] == "True" {
			return true
		}
	}
	return false
}

// toUnstructured converts a YAML document to an object, keeping every field
// (unknown ones included) for the API server to judge.
func toUnstructured(doc []byte) (*unstructured.Unstructured, error) {
	j, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return nil, err
	}
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(j); err != nil {
		return nil, err
	}
	return u, nil
}
