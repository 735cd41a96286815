// Package metrics knows which Prometheus metrics a deployment exports and
// checks that every query of a Grafana dashboard names only those.
//
// Names come from three places: edgewatch's own Go sources (every metric is
// declared with a full literal Name: "edgewatch_<component>_<what>"),
// Knative's OpenTelemetry instruments translated the way Knative's Prometheus
// exporter translates them, and NVIDIA's DCGM exporter.
package metrics

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Kind is a Prometheus metric type.
type Kind string

// Metric kinds. Unknown is a name found in source without its type.
const (
	Counter   Kind = "counter"
	Gauge     Kind = "gauge"
	Histogram Kind = "histogram"
	Summary   Kind = "summary"
	Unknown   Kind = "unknown"
)

// Exported maps a metric family name to its kind and where it was found.
type Exported map[string]Source

// Source says where an exported name comes from.
type Source struct {
	Kind Kind
	// From is a file path or a component name ("knative-serving queue-proxy").
	From string
}

// Add records a name; a known kind wins over Unknown.
func (e Exported) Add(name string, s Source) {
	if old, ok := e[name]; ok && old.Kind != Unknown && s.Kind == Unknown {
		return
	}
	e[name] = s
}

// Names returns the family names, sorted.
func (e Exported) Names() []string {
	out := make([]string, 0, len(e))
	for n := range e {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Series reports whether a series name (as written in PromQL) exists: a
// family name itself, or a histogram's _bucket, _sum and _count, or a
// summary's _sum and _count. The returned string explains a miss.
func (e Exported) Series(name string) (bool, string) {
	if s, ok := e[name]; ok {
		if s.Kind == Histogram {
			return false, "is a histogram: query " + name + "_bucket, _sum or _count"
		}
		return true, ""
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		base, ok := strings.CutSuffix(name, suffix)
		if !ok {
			continue
		}
		if s, ok := e[base]; ok {
			switch {
			case s.Kind == Histogram || s.Kind == Unknown:
				return true, ""
			case s.Kind == Summary && suffix != "_bucket":
				return true, ""
			default:
				return false, "the " + suffix + " series needs a histogram, but " + base + " is a " + string(s.Kind)
			}
		}
	}
	return false, "is exported by nothing: not declared in Go sources (Name: \"...\") nor a known Knative or DCGM metric"
}

// optsKinds maps client_golang option struct names to metric kinds.
var optsKinds = map[string]Kind{
	"CounterOpts": Counter, "GaugeOpts": Gauge, "HistogramOpts": Histogram, "SummaryOpts": Summary,
	"Opts": Unknown,
}

// nameLiteral is the shape of an edgewatch metric name.
var nameLiteral = regexp.MustCompile(`^edgewatch_[a-z0-9_]+$`)

// ScanGo adds every edgewatch metric declared in the non-test Go files under
// dirs: Name fields of prometheus.{Counter,Gauge,Histogram,Summary}Opts with
// their kind, and any other "edgewatch_..." string literal as Unknown.
// Missing directories are skipped.
func ScanGo(e Exported, root string, dirs ...string) error {
	for _, d := range dirs {
		base := filepath.Join(root, d)
		err := filepath.WalkDir(base, func(path string, de fs.DirEntry, err error) error {
			if err != nil {
				if path == base {
					return filepath.SkipDir
				}
				return err
			}
			if de.IsDir() {
				n := de.Name()
				if path != base && (n == "testdata" || n == "vendor" || strings.HasPrefix(n, ".")) {
					return filepath.SkipDir
				}
				return nil
			}
			if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return nil
			}
			rel, _ := filepath.Rel(root, path)
			return scanFile(e, path, rel)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func scanFile(e Exported, path, rel string) error {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
	if err != nil {
		return err
	}
	ast.Inspect(f, func(n ast.Node) bool {
		switch x := n.(type) {
		case *ast.CompositeLit:
			sel, ok := x.Type.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			kind, ok := optsKinds[sel.Sel.Name]
			if !ok {
				return true
			}
			for _, elt := range x.Elts {
				kv, ok := elt.(*ast.KeyValueExpr)
				if !ok {
					continue
				}
				if k, ok := kv.Key.(*ast.Ident); ok && k.Name == "Name" {
					if s, ok := literal(kv.Value); ok && nameLiteral.MatchString(s) {
						e.Add(s, Source{Kind: kind, From: rel})
					}
				}
			}
		case *ast.BasicLit:
			if s, ok := literal(x); ok && nameLiteral.MatchString(s) {
				e.Add(s, Source{Kind: Unknown, From: rel})
			}
		}
		return true
	})
	return nil
}

func literal(x ast.Expr) (string, bool) {
	bl, ok := x.(*ast.BasicLit)
	if !ok || bl.Kind != token.STRING {
		return "", false
	}
	s, err := strconv.Unquote(bl.Value)
	return s, err == nil
}
