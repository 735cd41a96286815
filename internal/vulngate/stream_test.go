package vulngate

import (
	"strings"
	"testing"
	"time"
)

// stream is govulncheck -format json output in the order govulncheck writes it: module-level
// findings first, then package-level ones, then those with call paths.
const stream = `{"config":{"protocol_version":"v1.0.0","go_version":"go1.26.11","scan_level":"symbol","scan_mode":"source"}}
{"progress":{"message":"Scanning your code"}}
{"osv":{"id":"GO-2000-0001","summary":"Called thing"}}
{"osv":{"id":"GO-2000-0002","summary":"Imported thing"}}
{"osv":{"id":"GO-2000-0003","summary":"Required thing"}}
{"finding":{"osv":"GO-2000-0001","fixed_version":"v1.2.0","trace":[{"module":"example.com/m","version":"v1.1.0"}]}}
{"finding":{"osv":"GO-2000-0002","fixed_version":"v1.2.0","trace":[{"module":"example.com/m","version":"v1.1.0"}]}}
{"finding":{"osv":"GO-2000-0003","trace":[{"module":"example.com/m","version":"v1.1.0"}]}}
{"finding":{"osv":"GO-2000-0001","fixed_version":"v1.2.0","trace":[{"module":"example.com/m","version":"v1.1.0","package":"example.com/m/p"}]}}
{"finding":{"osv":"GO-2000-0002","fixed_version":"v1.2.0","trace":[{"module":"example.com/m","version":"v1.1.0","package":"example.com/m/q"}]}}
{"finding":{"osv":"GO-2000-0001","fixed_version":"v1.2.0","trace":[{"module":"example.com/m","version":"v1.1.0","package":"example.com/m/p","function":"Read","receiver":"*Conn"},{"module":"example.com/app","package":"example.com/app/cmd/app","function":"main","position":{"filename":"cmd/app/main.go","line":7,"column":3}}]}}
`

func TestDecodeFoldsFindingsToTheirClosestLevel(t *testing.T) {
	scan, err := Decode(strings.NewReader(stream))
	if err != nil {
		t.Fatal(err)
	}
	if scan.GoVersion != "go1.26.11" {
		t.Errorf("Go version %q, want go1.26.11", scan.GoVersion)
	}
	want := []struct {
		id     string
		level  Level
		traces int
	}{{"GO-2000-0001", Called, 1}, {"GO-2000-0002", Imported, 0}, {"GO-2000-0003", Required, 0}}
	if len(scan.Vulns) != len(want) {
		t.Fatalf("got %d vulnerabilities %v, want %d", len(scan.Vulns), ids(scan.Vulns), len(want))
	}
	for i, w := range want {
		v := scan.Vulns[i]
		if v.ID != w.id || v.Level != w.level || len(v.Traces) != w.traces {
			t.Errorf("vulnerability %d: %s %s with %d traces, want %s %s with %d", i, v.ID, v.Level, len(v.Traces), w.id, w.level, w.traces)
		}
	}
	v := scan.Vulns[0]
	if v.Summary != "Called thing" || v.Module != "example.com/m" || v.FoundIn != "v1.1.0" || v.FixedIn != "v1.2.0" {
		t.Errorf("GO-2000-0001 decoded as %+v", v)
	}
	if got := v.Traces[0][0].Name(); got != "p.Conn.Read" {
		t.Errorf("vulnerable frame named %q, want p.Conn.Read", got)
	}
}

func TestDecodeTakesABinarysGoVersionFromItsSBOM(t *testing.T) {
	in := `{"config":{"scan_level":"symbol","scan_mode":"binary"}}
{"SBOM":{"go_version":"go1.26.11","modules":[{"path":"stdlib","version":"v1.26.11"}]}}`
	scan, err := Decode(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if scan.GoVersion != "go1.26.11" || len(scan.Vulns) != 0 {
		t.Errorf("decoded %+v, want go1.26.11 and no vulnerabilities", scan)
	}
}

func TestDecodeRefusesWhatTheGateCannotJudge(t *testing.T) {
	for name, in := range map[string]string{
		"not JSON":          "Scanning your code...\n",
		"package level":     `{"config":{"scan_level":"package"}}`,
		"finding, no trace": `{"finding":{"osv":"GO-2000-0001"}}`,
		"finding, no id":    `{"finding":{"trace":[{"module":"m"}]}}`,
	} {
		if _, err := Decode(strings.NewReader(in)); err == nil {
			t.Errorf("%s: decoded without an error", name)
		}
	}
}

func TestReportNamesCallPaths(t *testing.T) {
	scan, err := Decode(strings.NewReader(stream))
	if err != nil {
		t.Fatal(err)
	}
	rep := Judge([]Result{{Target: Target{Mode: "source", Path: "."}, Scan: scan}}, nil, time.Now())
	var out strings.Builder
	rep.Write(&out)
	for _, want := range []string{
		"source:. (go1.26.11): 1 called, 0 excepted, 2 imported or required only",
		"FAIL GO-2000-0001 example.com/m@v1.1.0 (fixed in v1.2.0): Called thing",
		"cmd/app/main.go:7:3: app.main calls p.Conn.Read",
		"imported, not called: GO-2000-0002",
		"required, not called: GO-2000-0003 example.com/m@v1.1.0 (no fixed release)",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
}
