package hack

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/edgewatch/edgewatch/internal/functions"
)

// imageLine matches a container image in a manifest or a JSON patch value
// (a value that starts with a host name with a dot: JSON patches of images).
var imageLine = regexp.MustCompile(`(?m)^\s*(?:-\s*)?(?:image|value):\s*"?([^\s":/]+\.[^\s":/]+(?::\d+)?/[^\s"]+)"?\s*$`)

// deployPlan runs hack/deploy.sh for overlay with PLAN_ONLY=1 and returns
// what it would build: the image, function and Dockerfile of each docker
// build ("func" as the Dockerfile of a func build).
func deployPlan(t *testing.T, overlay string) [][3]string {
	t.Helper()
	cmd := exec.Command("bash", "deploy.sh", overlay)
	cmd.Env = append(os.Environ(), "PLAN_ONLY=1", "REGISTRY=registry.invalid/edgewatch")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("PLAN_ONLY=1 deploy.sh %s: %v", overlay, err)
	}
	var plan [][3]string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		how, spec, _ := strings.Cut(line, " ")
		switch how {
		case "docker":
			f := strings.Split(spec, ":")
			if len(f) != 3 {
				t.Fatalf("deploy.sh %s: docker build %q is not IMAGE:FUNCTION:DOCKERFILE", overlay, spec)
			}
			plan = append(plan, [3]string{f[0], f[1], f[2]})
		case "func":
			plan = append(plan, [3]string{spec, spec, "func"})
		default:
			t.Fatalf("deploy.sh %s: unexpected plan line %q", overlay, line)
		}
	}
	return plan
}

// deployedImages lists the image names hack/deploy.sh builds and pins in
// any overlay.
func deployedImages(t *testing.T) map[string]bool {
	t.Helper()
	names := map[string]bool{}
	for _, overlay := range []string{"dev", "prod"} {
		for _, b := range deployPlan(t, overlay) {
			names[b[0]] = true
		}
	}
	return names
}

// TestDeployBuildsEveryFunctionOfTheTable checks that hack/deploy.sh builds
// each function of internal/functions/functions.txt once, as its row says:
// with func or its Dockerfile, and outside dev with its GPU image.
func TestDeployBuildsEveryFunctionOfTheTable(t *testing.T) {
	for _, overlay := range []string{"dev", "prod"} {
		built := map[string][3]string{}
		for _, b := range deployPlan(t, overlay) {
			if _, twice := built[b[1]]; twice {
				t.Errorf("%s: %s is built twice", overlay, b[1])
			}
			built[b[1]] = b
		}
		for _, f := range functions.All() {
			want := [3]string{f.Name, f.Name, f.Image}
			if overlay != "dev" && f.GPUImage != "" {
				want = [3]string{f.GPUImage, f.Name, f.GPUDockerfile}
			}
			if built[f.Name] != want {
				t.Errorf("%s: %s is built as %v, want %v", overlay, f.Name, built[f.Name], want)
			}
			delete(built, f.Name)
		}
		for name := range built {
			t.Errorf("%s: deploy.sh builds %s, which the function table does not list", overlay, name)
		}
	}
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
