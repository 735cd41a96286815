// Package functions is the table of edgewatch's functions (functions.txt):
// each function's name, kind, local ports, whether it links OpenCV, how it
// runs and how its image is built. The local runner's registry and ports,
// hack/deploy.sh, hack/prometheus.sh, the Makefile's list of OpenCV modules
// and the function table of docs/architecture.md all come from it.
package functions

import (
	_ "embed"
	"fmt"
	"strconv"
	"strings"
)

//go:generate go run ./docgen ../../docs/architecture.md

// table is functions.txt, read-only.
//
//go:embed functions.txt
var table string

// Kind is the func-go host a function runs in.
type Kind string

// The kinds of function.
const (
	// CloudEvents functions receive CloudEvents (func-go's cloudevents host).
	CloudEvents Kind = "cloudevents"
	// HTTP functions serve plain HTTP requests (func-go's http host).
	HTTP Kind = "http"
)

// Role is how a function takes part in a run.
type Role string

// The roles.
const (
	// Service functions answer events and stay up.
	Service Role = "service"
	// ScaleToZero functions answer events and are started on demand
	// behind an activator, as Knative scales them from zero.
	ScaleToZero Role = "scale-to-zero"
	// Source functions send events of their own: they are started last
	// and stopped first.
	Source Role = "source"
)

// FuncBuild is the image column of a function func's host builder builds.
const FuncBuild = "func"

// modulePrefix is the module path of every function, less its name.
const modulePrefix = "github.com/edgewatch/edgewatch/functions/"

// Function is one row of the table.
type Function struct {
	// Name is the function's directory under functions/ and its name
	// everywhere: Knative Service, image, `edgewatch function NAME`.
	Name string
	Kind Kind
	// Port is the local port's offset from edgewatch up's -first-port.
	Port int
	// Metrics is the metrics port's offset from edgewatch up's
	// -metrics-port; 0 is the broker's and runner's own.
	Metrics int
	// OpenCV is set when the function links OpenCV through gocv.
	OpenCV bool
	Role   Role
	// Image is FuncBuild or the Dockerfile in the function's directory
	// that builds its image, which is named Name.
	Image string
	// GPUImage and GPUDockerfile, when set, are the image the GPU
	// overlays build instead, and its Dockerfile.
	GPUImage, GPUDockerfile string
	// Summary says what the function does, for the docs.
	Summary string
}

// Dir is the function's directory, relative to the repository root.
func (f Function) Dir() string { return "functions/" + f.Name }

// Module is the function's module path.
func (f Function) Module() string { return modulePrefix + f.Name }

// columns is how many fields a row has before its summary.
const columns = 8

// Parse reads a table in the format of functions.txt: a row of
// space-separated columns per function, # comments and blank lines.
func Parse(text string) ([]Function, error) {
	var out []Function
	seen := map[string]bool{}
	ports := map[int]string{}
	metrics := map[int]string{}
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f, err := parseRow(strings.Fields(line))
		if err != nil {
			return nil, fmt.Errorf("functions table, line %d: %w", i+1, err)
		}
		if seen[f.Name] {
			return nil, fmt.Errorf("functions table, line %d: %s is listed twice", i+1, f.Name)
		}
		if other, ok := ports[f.Port]; ok {
			return nil, fmt.Errorf("functions table, line %d: %s has port %d, as %s has", i+1, f.Name, f.Port, other)
		}
		if other, ok := metrics[f.Metrics]; ok {
			return nil, fmt.Errorf("functions table, line %d: %s has metrics port %d, as %s has", i+1, f.Name, f.Metrics, other)
		}
		seen[f.Name], ports[f.Port], metrics[f.Metrics] = true, f.Name, f.Name
		out = append(out, f)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("functions table: no function")
	}
	return out, nil
}

// parseRow reads one row's fields.
func parseRow(c []string) (Function, error) {
	if len(c) <= columns {
		return Function{}, fmt.Errorf("%d columns, want %d and a summary (name kind port metrics opencv role image gpu summary…)", len(c), columns)
	}
	f := Function{Name: c[0], Kind: Kind(c[1]), Role: Role(c[5]), Image: c[6], Summary: strings.Join(c[columns:], " ")}
	if strings.Trim(f.Name, "abcdefghijklmnopqrstuvwxyz0123456789-") != "" {
		return f, fmt.Errorf("name %q: want lower-case letters, digits and dashes", f.Name)
	}
	if f.Kind != CloudEvents && f.Kind != HTTP {
		return f, fmt.Errorf("%s: kind %q: want %s or %s", f.Name, f.Kind, CloudEvents, HTTP)
	}
	var err error
	if f.Port, err = strconv.Atoi(c[2]); err != nil || f.Port < 0 {
		return f, fmt.Errorf("%s: port %q: want an offset of 0 or more", f.Name, c[2])
	}
	if f.Metrics, err = strconv.Atoi(c[3]); err != nil || f.Metrics < 1 {
		return f, fmt.Errorf("%s: metrics %q: want an offset of 1 or more (0 is the runner's)", f.Name, c[3])
	}
	switch c[4] {
	case "yes":
		f.OpenCV = true
	case "no":
	default:
		return f, fmt.Errorf("%s: opencv %q: want yes or no", f.Name, c[4])
	}
	if f.Role != Service && f.Role != ScaleToZero && f.Role != Source {
		return f, fmt.Errorf("%s: role %q: want %s, %s or %s", f.Name, f.Role, Service, ScaleToZero, Source)
	}
	if c[7] != "-" {
		var ok bool
		if f.GPUImage, f.GPUDockerfile, ok = strings.Cut(c[7], ":"); !ok || f.GPUImage == "" || f.GPUDockerfile == "" {
			return f, fmt.Errorf("%s: gpu %q: want IMAGE:DOCKERFILE or -", f.Name, c[7])
		}
	}
	return f, nil
}

// All returns the table, in its order. The table is part of the build and
// its tests parse it, so a malformed one panics.
func All() []Function {
	fs, err := Parse(table)
	if err != nil {
		panic(err)
	}
	return fs
}

// Names returns the functions' names, in the table's order.
func Names() []string {
	fs := All()
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.Name
	}
	return out
}

// ByName returns the function called name.
func ByName(name string) (Function, bool) {
	for _, f := range All() {
		if f.Name == name {
			return f, true
		}
	}
	return Function{}, false
}
