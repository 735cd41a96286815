package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

var meta = Meta{Date: "2026-11-29T10:00:00Z", GoVersion: "go1.26.8", Hostname: "box", NumCPU: 2}

func parseFile(t *testing.T, path string) *Report {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rep, err := Parse(f)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// testdata/two-packages.txt is recorded output of
// go test -run '^$' -bench . -benchmem -benchtime 200x ./internal/triggers ./internal/broker
func TestParseRecordedSample(t *testing.T) {
	rep := parseFile(t, "testdata/two-packages.txt")
	if len(rep.Results) != 6 || len(rep.Failures) != 0 {
		t.Fatalf("got %d results, failures %v", len(rep.Results), rep.Failures)
	}
	if rep.GOOS != "linux" || rep.GOARCH != "amd64" || len(rep.CPUs) != 1 || rep.CPUs[0] != "AMD EPYC" {
		t.Errorf("platform %s/%s cpus %v", rep.GOOS, rep.GOARCH, rep.CPUs)
	}
	r := rep.Results[4]
	if r.Pkg != "github.com/edgewatch/edgewatch/internal/broker" || r.Name != "BenchmarkBroker/edgewatch/1KB" {
		t.Fatalf("result 4 = %s %s", r.Pkg, r.Name)
	}
	want := map[string]float64{"ns/op": 256315, "MB/s": 4, "events/s": 3901, "p99-ms": 7.768, "B/op": 34646, "allocs/op": 444}
	for u, v := range want {
		if r.Metrics[u] != v {
			t.Errorf("%s = %v, want %v", u, r.Metrics[u], v)
		}
	}
	if strings.Join(r.Units, ",") != "ns/op,MB/s,events/s,p99-ms,B/op,allocs/op" {
		t.Errorf("units %v", r.Units)
	}
}

func TestRowsPairVariantsWithBaselines(t *testing.T) {
	rows := Rows(parseFile(t, "testdata/two-packages.txt"))
	type pair struct{ family, variant, key, baseline string }
	want := []pair{
		{"BenchmarkParse", "baseline", "baseline", ""},
		{"BenchmarkParse", "strict", "strict", "BenchmarkParse/baseline"},
		{"BenchmarkBroker", "baseline", "baseline/1KB", ""},
		{"BenchmarkBroker", "baseline", "baseline/200KB", ""},
		{"BenchmarkBroker", "edgewatch", "edgewatch/1KB", "BenchmarkBroker/baseline/1KB"},
		{"BenchmarkBroker", "edgewatch", "edgewatch/200KB", "BenchmarkBroker/baseline/200KB"},
	}
	for i, w := range want {
		r := rows[i]
		got := pair{r.Family, r.Variant, r.Key, ""}
		if r.Baseline != nil {
			got.baseline = r.Baseline.Name
		}
		if got != w {
			t.Errorf("row %d = %+v, want %+v", i, got, w)
		}
	}
}

func TestRenderOneTableWithRatios(t *testing.T) {
	var out, errOut bytes.Buffer
	in, err := os.ReadFile("testdata/two-packages.txt")
	if err != nil {
		t.Fatal(err)
	}
	if code := run(bytes.NewReader(in), &out, &errOut, meta); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	s := out.String()
	for _, want := range []string{
		"- date: 2026-11-29T10:00:00Z", "- go version: go1.26.8", "- cpu: AMD EPYC", "- machine: box (linux/amd64, 2 CPUs)",
		"| package ", "| benchmark ", "| ns/op ", "| figures ", "| vs baseline ",
		"3901 events/s, 7.77 p99-ms",
		// 256315 / 87311 = 2.94; 3901 / 11454 = 0.34; 7.768 / 2.210 = 3.51
		"ns/op 2.94x, MB/s 0.34x, events/s 0.34x, p99-ms 3.51x, B/op 6.80x, allocs/op 5.35x",
		// 609212 / 402267 = 1.51
		"ns/op 1.51x, docs/op 1.00x, B/op 3.32x, allocs/op 1.27x",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q:\n%s", want, s)
		}
	}
	if n := strings.Count(s, "| package"); n != 1 {
		t.Errorf("%d tables, want one", n)
	}
	rows := 0
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, "| ") {
			rows++
		}
	}
	if rows != 2+6 {
		t.Errorf("%d table lines, want header, separator and 6 rows:\n%s", rows, s)
	}
}

func TestFailureExitsOne(t *testing.T) {
	// Shaped like the output of a package whose benchmark failed, after a
	// package that passed.
	in := `goos: linux
goarch: amd64
pkg: example.com/a
cpu: Test CPU
BenchmarkA/baseline-2   	100	  10.0 ns/op
BenchmarkA/fast-2       	100	   5.0 ns/op
PASS
ok  	example.com/a	0.1s
goos: linux
goarch: amd64
pkg: example.com/b
cpu: Test CPU
BenchmarkB
    b_test.go:10: connecting
--- FAIL: BenchmarkB
    b_test.go:12: no service
FAIL
exit status 1
FAIL	example.com/b	0.2s
`
	var out, errOut bytes.Buffer
	if code := run(strings.NewReader(in), &out, &errOut, meta); code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	if !strings.Contains(errOut.String(), "--- FAIL: BenchmarkB") {
		t.Errorf("stderr %q", errOut.String())
	}
	if !strings.Contains(out.String(), "ns/op 0.50x") {
		t.Errorf("the passing package's table is missing:\n%s", out.String())
	}
}

func TestRepeatedRunsAreAveragedAndNameOnlyLinesSkipped(t *testing.T) {
	in := `pkg: example.com/a
BenchmarkX/baseline/8
    x_test.go:1: log line
BenchmarkX/baseline/8-4 	10	100 ns/op	2.0 p99-ms
BenchmarkX/baseline/8-4 	10	300 ns/op	4.0 p99-ms
BenchmarkX/new/8-4      	10	100 ns/op	1.0 p99-ms
BenchmarkSolo-4         	10	7 ns/op
`
	rep, err := Parse(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Results) != 3 {
		t.Fatalf("results %d", len(rep.Results))
	}
	b := rep.Results[0]
	if b.Runs != 2 || b.Metrics["ns/op"] != 200 || b.Metrics["p99-ms"] != 3 {
		t.Errorf("averaged %+v", b.Metrics)
	}
	rows := Rows(rep)
	if rows[1].Variant != "new" || rows[1].Baseline != b || ratios(rows[1]) != "ns/op 0.50x, p99-ms 0.33x" {
		t.Errorf("row %+v ratios %q", rows[1], ratios(rows[1]))
	}
	if rows[2].Variant != "" || rows[2].Key != "" || ratios(rows[2]) != "" {
		t.Errorf("solo row %+v", rows[2])
	}
}

func TestEmptyInput(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run(strings.NewReader(""), &out, &errOut, meta); code != 0 {
		t.Errorf("exit %d", code)
	}
	if !strings.Contains(out.String(), "no benchmark results") {
		t.Errorf("output %q", out.String())
	}
}
