package functions

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// root is the repository root, seen from this package's directory.
const root = "../.."

func TestTheTableParses(t *testing.T) {
	fs, err := Parse(table)
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != len(Names()) {
		t.Fatalf("All and Names disagree: %d and %d", len(fs), len(Names()))
	}
	for _, f := range fs {
		if got, ok := ByName(f.Name); !ok || got.Name != f.Name {
			t.Errorf("ByName(%q) = %v, %v", f.Name, got, ok)
		}
	}
	if _, ok := ByName("no-such-function"); ok {
		t.Error("ByName finds a function the table does not list")
	}
}

func TestParseRefusesABadRowByLine(t *testing.T) {
	good := "a cloudevents 0 1 no service func - does a\n"
	for name, tc := range map[string]struct{ text, want string }{
		"empty":           {"# only a comment\n", "no function"},
		"short row":       {"a cloudevents 0 1 no service func -\n", "line 1: 8 columns"},
		"bad kind":        {"a grpc 0 1 no service func - does a\n", `kind "grpc"`},
		"bad port":        {"a http x 1 no service func - does a\n", `port "x"`},
		"runner's metric": {"a http 0 0 no service func - does a\n", `metrics "0"`},
		"bad opencv":      {"a http 0 1 maybe service func - does a\n", `opencv "maybe"`},
		"bad role":        {"a http 0 1 no sink func - does a\n", `role "sink"`},
		"bad gpu":         {"a http 0 1 no service Dockerfile cuda does a\n", `gpu "cuda"`},
		"bad name":        {"A_b http 0 1 no service func - does a\n", `name "A_b"`},
		"twice":           {good + "a http 1 2 no service func - does a\n", "line 2: a is listed twice"},
		"shared port":     {good + "\nb http 0 2 no service func - does b\n", "line 3: b has port 0, as a has"},
		"shared metrics":  {good + "b http 1 1 no service func - does b\n", "b has metrics port 1, as a has"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse(tc.text)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Parse(%q) = %v, want an error with %q", tc.text, err, tc.want)
			}
		})
	}
	fs, err := Parse("# c\n\n" + good + "b http 1 2 yes source Dockerfile b-gpu:Dockerfile.gpu does b too\n")
	if err != nil {
		t.Fatal(err)
	}
	want := Function{Name: "b", Kind: HTTP, Port: 1, Metrics: 2, OpenCV: true, Role: Source, Image: "Dockerfile",
		GPUImage: "b-gpu", GPUDockerfile: "Dockerfile.gpu", Summary: "does b too"}
	if len(fs) != 2 || fs[1] != want {
		t.Fatalf("Parse = %+v, want a second row %+v", fs, want)
	}
}

// TestEveryRowIsAFunctionOfThisTree checks each row against the function it
// names: its module, its Dockerfiles, whether it links OpenCV, the shape of
// its Handle method, and a manifest that deploys its image.
func TestEveryRowIsAFunctionOfThisTree(t *testing.T) {
	handle := map[Kind]*regexp.Regexp{
		CloudEvents: regexp.MustCompile(`(?m)^func \(\w+ \*\w+\) Handle\(ctx context\.Context, \w+ event\.Event\)`),
		HTTP:        regexp.MustCompile(`(?m)^func \(\w+ \*\w+\) Handle\(\w+ http\.ResponseWriter, \w+ \*http\.Request\)`),
	}
	for _, f := range All() {
		dir := filepath.Join(root, f.Dir())
		mod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err != nil {
			t.Errorf("%s: %v", f.Name, err)
			continue
		}
		if !strings.HasPrefix(string(mod), "module "+f.Module()+"\n") {
			t.Errorf("%s: go.mod does not declare module %s", f.Name, f.Module())
		}
		if links := strings.Contains(string(mod), "gocv.io/x/gocv "); links != f.OpenCV {
			t.Errorf("%s: the table says opencv %v, its go.mod requiring gocv says %v", f.Name, f.OpenCV, links)
		}
		for _, file := range []string{f.Image, f.GPUDockerfile} {
			if file == "" || file == FuncBuild {
				continue
			}
			if _, err := os.Stat(filepath.Join(dir, file)); err != nil {
				t.Errorf("%s: its image is built from %s: %v", f.Name, file, err)
			}
		}
		if !anyFileMatches(t, dir, handle[f.Kind]) {
			t.Errorf("%s: no Handle method of a %s function in %s", f.Name, f.Kind, f.Dir())
		}
		image := f.Name
		if f.GPUImage != "" {
			image = f.GPUImage
		}
		manifest := filepath.Join(root, "config", "services", f.Name+".yaml")
		if f.Role == Source {
			manifest = filepath.Join(root, "config", "sources", f.Name+".yaml")
		}
		if b, err := os.ReadFile(manifest); err != nil || !strings.Contains(string(b), "image: ghcr.io/edgewatch/"+image+":") {
			t.Errorf("%s: %s does not deploy the image ghcr.io/edgewatch/%s (%v)", f.Name, manifest, image, err)
		}
		kustomization := filepath.Join(filepath.Dir(manifest), "..", "kustomization.yaml")
		entry := "- services/" + f.Name + ".yaml"
		if f.Role == Source {
			kustomization, entry = filepath.Join(filepath.Dir(manifest), "kustomization.yaml"), "- "+f.Name+".yaml"
		}
		if b, err := os.ReadFile(kustomization); err != nil || !strings.Contains(string(b), entry) {
			t.Errorf("%s: %s does not list %q (%v)", f.Name, kustomization, entry, err)
		}
	}
}

// anyFileMatches reports whether a non-test Go file directly in dir matches re.
func anyFileMatches(t *testing.T, dir string, re *regexp.Regexp) bool {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range files {
		if strings.HasSuffix(file, "_test.go") {
			continue
		}
		if b, err := os.ReadFile(file); err == nil && re.Match(b) {
			return true
		}
	}
	return false
}

// TestEveryFunctionModuleHasARow fails on a function directory the table
// does not list.
func TestEveryFunctionModuleHasARow(t *testing.T) {
	mods, err := filepath.Glob(filepath.Join(root, "functions", "*", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	if len(mods) == 0 {
		t.Fatal("no function module found")
	}
	for _, mod := range mods {
		name := filepath.Base(filepath.Dir(mod))
		if _, ok := ByName(name); !ok {
			t.Errorf("functions/%s is a function module with no row in functions.txt", name)
		}
	}
}

// TestTheDocsTableIsCurrent fails when docs/architecture.md's function
// table is not what go generate ./internal/functions writes.
func TestTheDocsTableIsCurrent(t *testing.T) {
	path := filepath.Join(root, "docs", "architecture.md")
	doc, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want, err := ReplaceSection(string(doc), Markdown(All()))
	if err != nil {
		t.Fatal(err)
	}
	if want != string(doc) {
		t.Fatalf("%s: the function table is stale: run go generate ./internal/functions", path)
	}
}

// TestTheREADMEListsEveryFunction checks the README's two lists of
// functions: the banner of `make run` with each function's default port,
// and the table of pieces with each function's directory.
func TestTheREADMEListsEveryFunction(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range All() {
		scales := ""
		if f.Role == ScaleToZero {
			scales = ` \(scales to zero\)`
		}
		banner := regexp.MustCompile(fmt.Sprintf(`(?m)^ +%s%s +http://127\.0\.0\.1:%d/$`, regexp.QuoteMeta(f.Name), scales, defaultFirstPort+f.Port))
		if !banner.Match(readme) {
			t.Errorf("README.md: the banner of make run does not list %s on port %d", f.Name, defaultFirstPort+f.Port)
		}
		if !strings.Contains(string(readme), "| `"+f.Dir()+"`") {
			t.Errorf("README.md: the table of pieces has no row for `%s`", f.Dir())
		}
	}
	metrics := fmt.Sprintf("ports %d-%d (functions)", defaultMetricsPort+1, defaultMetricsPort+len(All()))
	if !strings.Contains(string(readme), metrics) {
		t.Errorf("README.md: the banner of make run does not say %q", metrics)
	}
}
