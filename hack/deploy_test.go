package hack

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// imageLine matches a container image in a manifest or a JSON patch value
// (a value that starts with a host name with a dot: JSON patches of images).
var imageLine = regexp.MustCompile(`(?m)^\s*(?:-\s*)?(?:image|value):\s*"?([^\s":/]+\.[^\s":/]+(?::\d+)?/[^\s"]+)"?\s*$`)

// deployArray matches a bash array assignment of hack/deploy.sh.
var deployArray = regexp.MustCompile(`(?m)(docker_images|func_functions)=\(([^)]*)\)`)

// deployedImages lists the image names hack/deploy.sh builds and pins:
// every image:function:Dockerfile entry of docker_images and every name of
// func_functions.
func deployedImages(t *testing.T) map[string]bool {
	t.Helper()
	script, err := os.ReadFile("deploy.sh")
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, m := range deployArray.FindAllStringSubmatch(string(script), -1) {
		for _, f := range strings.Fields(m[2]) {
			name, _, _ := strings.Cut(f, ":")
			names[name] = true
		}
	}
	if len(names) == 0 {
		t.Fatal("no docker_images or func_functions in deploy.sh")
	}
	return names
}

// TestDeployPinsEveryImage holds every container image the deployment tree
// names to the one convention hack/deploy.sh and the overlays rely on:
// ghcr.io/edgewatch/<image>, with <image> one that deploy.sh builds and pins.
// An image outside it would be applied as written and never pulled.
func TestDeployPinsEveryImage(t *testing.T) {
	pinned := deployedImages(t)
	found := 0
	for _, dir := range []string{"../config", "../deploy/components"} {
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".yaml") || strings.Contains(path, "/monitoring/") {
				return err
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			for _, m := range imageLine.FindAllStringSubmatch(string(data), -1) {
				found++
				ref := m[1]
				name, ok := strings.CutPrefix(ref, "ghcr.io/edgewatch/")
				if !ok {
					t.Errorf("%s: image %s is not ghcr.io/edgewatch/<image>: neither deploy/dev nor hack/deploy.sh renames it", path, ref)
					continue
				}
				name, _, _ = strings.Cut(name, ":")
				if !pinned[name] {
					t.Errorf("%s: image %s is not one hack/deploy.sh builds and pins (%v)", path, ref, pinned)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if found == 0 {
		t.Fatal("no container image found under config/: the pattern no longer matches the manifests")
	}
}
