// Package vulngate runs govulncheck over modules and binaries and judges what it finds: a known
// vulnerability that the code calls fails the gate unless a reviewed exception covers it; one in
// code that is imported but not called, or only in a required module, is listed and passes.
package vulngate

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
)

// Level says how close the code comes to a vulnerable symbol.
type Level int

// The levels, from farthest to closest.
const (
	// Required: a required module has the vulnerability, no package of it with the symbol is imported.
	Required Level = iota + 1
	// Imported: a package with the vulnerable symbol is imported, the symbol is not called.
	Imported
	// Called: the code calls the vulnerable symbol (source mode) or links it (binary mode).
	Called
)

// String names the level as the report prints it.
func (l Level) String() string {
	switch l {
	case Required:
		return "required"
	case Imported:
		return "imported"
	case Called:
		return "called"
	}
	return fmt.Sprintf("level(%d)", int(l))
}

// Frame is one step of a call path as govulncheck reports it.
type Frame struct {
	Module   string    `json:"module"`
	Version  string    `json:"version"`
	Package  string    `json:"package"`
	Function string    `json:"function"`
	Receiver string    `json:"receiver"`
	Position *Position `json:"position"`
}

// Position is a place in a source file.
type Position struct {
	Filename string `json:"filename"`
	Line     int    `json:"line"`
	Column   int    `json:"column"`
}

// Name is the frame's function as pkg.Func or pkg.Type.Method.
func (f Frame) Name() string {
	name := f.Function
	if r := strings.TrimPrefix(f.Receiver, "*"); r != "" {
		name = r + "." + name
	}
	if f.Package != "" {
		name = path.Base(f.Package) + "." + name
	}
	return name
}

// Vuln is one advisory as found in one scan.
type Vuln struct {
	ID      string
	Summary string
	Module  string
	FoundIn string
	FixedIn string
	Level   Level
	// Traces are example call paths, each from the vulnerable symbol to the entry point.
	Traces [][]Frame
}

// Scan is what one govulncheck run found.
type Scan struct {
	GoVersion string
	Vulns     []*Vuln // sorted by ID
}

type message struct {
	Config *struct {
		GoVersion string `json:"go_version"`
		ScanLevel string `json:"scan_level"`
	} `json:"config"`
	SBOM *struct {
		GoVersion string `json:"go_version"`
	} `json:"SBOM"`
	OSV *struct {
		ID      string `json:"id"`
		Summary string `json:"summary"`
	} `json:"osv"`
	Finding *struct {
		OSV          string  `json:"osv"`
		FixedVersion string  `json:"fixed_version"`
		Trace        []Frame `json:"trace"`
	} `json:"finding"`
}

// Decode reads govulncheck's JSON stream (-format json) and folds its findings into one Vuln per
// advisory at the closest level found.
func Decode(r io.Reader) (Scan, error) {
	var scan Scan
	summaries := map[string]string{}
	vulns := map[string]*Vuln{}
	dec := json.NewDecoder(r)
	for {
		var m message
		err := dec.Decode(&m)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return Scan{}, fmt.Errorf("reading govulncheck's JSON: %w", err)
		}
		switch {
		case m.Config != nil:
			if m.Config.ScanLevel != "" && m.Config.ScanLevel != "symbol" {
				return Scan{}, fmt.Errorf("govulncheck scanned at %s level; the gate needs symbol level", m.Config.ScanLevel)
			}
			if m.Config.GoVersion != "" {
				scan.GoVersion = m.Config.GoVersion
			}
		case m.SBOM != nil:
			// Binary mode names the Go that built the binary here, not in the config.
			if scan.GoVersion == "" {
				scan.GoVersion = m.SBOM.GoVersion
			}
		case m.OSV != nil:
			summaries[m.OSV.ID] = m.OSV.Summary
		case m.Finding != nil:
			if err := addFinding(vulns, m.Finding.OSV, m.Finding.FixedVersion, m.Finding.Trace); err != nil {
				return Scan{}, err
			}
		}
	}
	for id, v := range vulns {
		v.Summary = summaries[id]
		scan.Vulns = append(scan.Vulns, v)
	}
	sort.Slice(scan.Vulns, func(i, j int) bool { return scan.Vulns[i].ID < scan.Vulns[j].ID })
	return scan, nil
}

func addFinding(vulns map[string]*Vuln, id, fixed string, trace []Frame) error {
	if id == "" || len(trace) == 0 {
		return fmt.Errorf("govulncheck reported a finding without an advisory or a trace")
	}
	top := trace[0]
	level := Required
	switch {
	case top.Function != "":
		level = Called
	case top.Package != "":
		level = Imported
	}
	v, ok := vulns[id]
	if !ok {
		v = &Vuln{ID: id, Module: top.Module, FoundIn: top.Version, FixedIn: fixed}
		vulns[id] = v
	}
	if level > v.Level {
		v.Level = level
	}
	if level == Called {
		v.Traces = append(v.Traces, trace)
	}
	return nil
}
