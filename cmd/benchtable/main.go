// Command benchtable reads `go test -bench` output of one or more packages
// on stdin and prints one Markdown table of every benchmark: package,
// family, variant, key, ns/op, every unit reported with b.ReportMetric, and
// for each variant its ratios against its "baseline" sibling (the benchmark
// whose name differs only in that segment, which is literally "baseline").
// A header gives the date, the Go version, the CPU model and the machine.
//
// It exits 1 when the input shows a failure (FAIL, --- FAIL, panic:), after
// printing the table of what did run.
//
//	go test -run '^$' -bench . ./... | go run ./cmd/benchtable
package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"time"
)

func main() {
	host, err := os.Hostname()
	if err != nil {
		host = "unknown"
	}
	meta := Meta{
		Date:      time.Now().UTC().Format(time.RFC3339),
		GoVersion: runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH,
		Hostname:  host,
		NumCPU:    runtime.NumCPU(),
	}
	os.Exit(run(os.Stdin, os.Stdout, os.Stderr, meta))
}

// run is main without the process: it returns the exit code.
func run(in io.Reader, out, errOut io.Writer, meta Meta) int {
	rep, err := Parse(in)
	if err != nil {
		fmt.Fprintln(errOut, "benchtable:", err)
		return 1
	}
	if err := Render(out, rep, meta); err != nil {
		fmt.Fprintln(errOut, "benchtable:", err)
		return 1
	}
	if len(rep.Failures) > 0 {
		fmt.Fprintln(errOut, "benchtable: the benchmark run failed:")
		for _, l := range rep.Failures {
			fmt.Fprintln(errOut, "  "+l)
		}
		return 1
	}
	return 0
}
