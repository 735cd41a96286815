package main

import (
	"bufio"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
)

// Result is one benchmark's figures, averaged over its runs (-count).
type Result struct {
	// Pkg is the import path from the preceding "pkg:" line.
	Pkg string
	// Name is the full benchmark name without the -GOMAXPROCS suffix,
	// e.g. BenchmarkBroker/edgewatch/1KB.
	Name string
	// Runs is how many result lines were averaged.
	Runs int
	// Metrics maps a unit (ns/op, B/op, events/s, p99-ms…) to its mean value.
	Metrics map[string]float64
	// Units lists the units in the order they first appeared.
	Units []string

	sums map[string]float64
	seen map[string]int
}

// Report is everything read from `go test -bench` output.
type Report struct {
	// Results in the order they first appeared.
	Results []*Result
	// GOOS, GOARCH and CPUs come from the goos:, goarch: and cpu: lines.
	GOOS, GOARCH string
	CPUs         []string
	// Failures holds the lines that show a failure (FAIL, --- FAIL, panic:).
	Failures []string
}

var procsSuffix = regexp.MustCompile(`-\d+$`)

// Parse reads `go test -bench` output of one or more packages.
func Parse(r io.Reader) (*Report, error) {
	rep := &Report{}
	byKey := map[string]*Result{}
	pkg := ""
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1024*1024), 16*1024*1024)
	for sc.Scan() {
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "pkg: "):
			pkg = strings.TrimSpace(strings.TrimPrefix(line, "pkg: "))
		case strings.HasPrefix(line, "goos: "):
			rep.GOOS = strings.TrimSpace(strings.TrimPrefix(line, "goos: "))
		case strings.HasPrefix(line, "goarch: "):
			rep.GOARCH = strings.TrimSpace(strings.TrimPrefix(line, "goarch: "))
		case strings.HasPrefix(line, "cpu: "):
			cpu := strings.TrimSpace(strings.TrimPrefix(line, "cpu: "))
			if !contains(rep.CPUs, cpu) {
				rep.CPUs = append(rep.CPUs, cpu)
			}
		case strings.HasPrefix(trimmed, "--- FAIL"), strings.HasPrefix(line, "FAIL"), strings.HasPrefix(line, "panic:"):
			rep.Failures = append(rep.Failures, trimmed)
		case strings.HasPrefix(line, "Benchmark"):
			name, values, ok := parseResultLine(line)
			if !ok {
				continue // a name printed before the benchmark's own output
			}
			key := pkg + "\x00" + name
			res := byKey[key]
			if res == nil {
				res = &Result{Pkg: pkg, Name: name, Metrics: map[string]float64{}, sums: map[string]float64{}, seen: map[string]int{}}
				byKey[key] = res
				rep.Results = append(rep.Results, res)
			}
			res.add(values)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading benchmark output: %w", err)
	}
	return rep, nil
}

type unitValue struct {
	unit  string
	value float64
}

// parseResultLine splits "BenchmarkX/a-2  100  123 ns/op  4.5 p99-ms" into
// the name without its -GOMAXPROCS suffix and the (value, unit) pairs.
func parseResultLine(line string) (string, []unitValue, bool) {
	f := strings.Fields(line)
	if len(f) < 4 || len(f)%2 != 0 {
		return "", nil, false
	}
	if _, err := strconv.ParseInt(f[1], 10, 64); err != nil {
		return "", nil, false
	}
	var vals []unitValue
	for i := 2; i+1 < len(f); i += 2 {
		v, err := strconv.ParseFloat(f[i], 64)
		if err != nil {
			return "", nil, false
		}
		vals = append(vals, unitValue{unit: f[i+1], value: v})
	}
	return procsSuffix.ReplaceAllString(f[0], ""), vals, true
}

func (r *Result) add(vals []unitValue) {
	r.Runs++
	for _, uv := range vals {
		if _, ok := r.sums[uv.unit]; !ok {
			r.Units = append(r.Units, uv.unit)
		}
		r.sums[uv.unit] += uv.value
		r.seen[uv.unit]++
		r.Metrics[uv.unit] = r.sums[uv.unit] / float64(r.seen[uv.unit])
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
