// Package metrics knows which Prometheus metrics a deployment exports and
// checks that every query of a Grafana dashboard names only those.
//
// Names come from three places: edgewatch's own Go sources (every metric is
// declared with a full literal Name: "edgewatch_<component>_<what>"),
// Knative's OpenTelemetry instruments translated the way Knative's Prometheus
// exporter translates them, and NVIDIA's DCGM exporter.
package metrics

import (
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
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
	// Labelled is true for an edgewatch metric declared as a vector
	// (prometheus.NewCounterVec and the like): its series appear per label
	// value, each when the code first creates it.
	Labelled bool
	// AtStart is true when every series of a labelled metric is exported
	// from the start (see ReadStartSeries).
	AtStart bool
}

// Add records a name; a known kind wins over Unknown, and a name once seen
// declared as a vector stays labelled.
func (e Exported) Add(name string, s Source) {
	old, ok := e[name]
	if ok && old.Kind != Unknown && s.Kind == Unknown {
		return
	}
	s.Labelled = s.Labelled || (ok && old.Labelled)
	s.AtStart = s.AtStart || (ok && old.AtStart)
	e[name] = s
}

// MarkAtStart records that every series of each named metric exists from
// the start; it returns the names that nothing exports.
func (e Exported) MarkAtStart(names []string) []string {
	var unknown []string
	for _, n := range names {
		s, ok := e[n]
		if !ok {
			unknown = append(unknown, n)
			continue
		}
		s.AtStart = true
		e[n] = s
	}
	return unknown
}

// ReadStartSeries reads a list of metric family names, one a line, "#"
// starting a comment. A missing file is an empty list.
func ReadStartSeries(path string) ([]string, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var names []string
	for _, line := range strings.Split(string(data), "\n") {
		line, _, _ = strings.Cut(line, "#")
		if line = strings.TrimSpace(line); line != "" {
			names = append(names, line)
		}
	}
	return names, nil
}

// family returns the metric family a series name (as written in PromQL)
// belongs to: the name itself, or a histogram's or summary's name without
// _bucket, _sum or _count.
func (e Exported) family(name string) (string, Source, bool) {
	if s, ok := e[name]; ok {
		return name, s, true
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(name, suffix); ok {
			if s, ok := e[base]; ok {
				return base, s, true
			}
		}
	}
	return "", Source{}, false
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

// vectorConstructors are client_golang's constructors of labelled metrics.
var vectorConstructors = setOf("NewCounterVec", "NewGaugeVec", "NewHistogramVec", "NewSummaryVec")

// collectorMetrics are the metrics of client_golang's standard collectors
// (package collectors) that dashboards may query, by constructor.
var collectorMetrics = map[string]map[string]Kind{
	"NewProcessCollector": {
		"process_cpu_seconds_total": Counter, "process_resident_memory_bytes": Gauge,
		"process_virtual_memory_bytes": Gauge, "process_open_fds": Gauge, "process_max_fds": Gauge,
		"process_start_time_seconds": Gauge,
	},
	"NewGoCollector": {
		"go_goroutines": Gauge, "go_threads": Gauge, "go_memstats_heap_inuse_bytes": Gauge,
		"go_memstats_alloc_bytes": Gauge, "go_gc_duration_seconds": Summary, "go_info": Gauge,
	},
}

// nameLiteral is the shape of an edgewatch metric name.
var nameLiteral = regexp.MustCompile(`^edgewatch_[a-z0-9_]+$`)

// ScanGo adds every edgewatch metric declared in the non-test Go files under
// dirs: Name fields of prometheus.{Counter,Gauge,Histogram,Summary}Opts with
// their kind (labelled when passed to a New...Vec constructor), any other
// "edgewatch_..." string literal as Unknown, and the main process_* and go_*
// metrics where collectors.NewProcessCollector or NewGoCollector is called.
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
		case *ast.CallExpr:
			sel, ok := x.Fun.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			if pkg, ok := sel.X.(*ast.Ident); ok && pkg.Name == "collectors" {
				for name, kind := range collectorMetrics[sel.Sel.Name] {
					e.Add(name, Source{Kind: kind, From: rel})
				}
			}
			if !vectorConstructors[sel.Sel.Name] || len(x.Args) == 0 {
				return true
			}
			if lit, ok := x.Args[0].(*ast.CompositeLit); ok {
				if name, kind, ok := optsName(lit); ok {
					e.Add(name, Source{Kind: kind, From: rel, Labelled: true})
				}
			}
		case *ast.CompositeLit:
			if name, kind, ok := optsName(x); ok {
				e.Add(name, Source{Kind: kind, From: rel})
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

// optsName returns the edgewatch metric name and kind of a
// prometheus.{Counter,Gauge,Histogram,Summary}Opts literal.
func optsName(x *ast.CompositeLit) (string, Kind, bool) {
	sel, ok := x.Type.(*ast.SelectorExpr)
	if !ok {
		return "", "", false
	}
	kind, ok := optsKinds[sel.Sel.Name]
	if !ok {
		return "", "", false
	}
	for _, elt := range x.Elts {
		kv, ok := elt.(*ast.KeyValueExpr)
		if !ok {
			continue
		}
		if k, ok := kv.Key.(*ast.Ident); ok && k.Name == "Name" {
			if s, ok := literal(kv.Value); ok && nameLiteral.MatchString(s) {
				return s, kind, true
			}
		}
	}
	return "", "", false
}

func literal(x ast.Expr) (string, bool) {
	bl, ok := x.(*ast.BasicLit)
	if !ok || bl.Kind != token.STRING {
		return "", false
	}
	s, err := strconv.Unquote(bl.Value)
	return s, err == nil
}
