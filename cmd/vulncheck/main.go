// Command vulncheck is the known-vulnerability gate of `make vulncheck`: it runs govulncheck
// against an offline Go vulnerability database over each target, a module's packages
// (source:DIR) or a built binary (binary:FILE), and prints every finding. It exits 1 when the
// code calls a vulnerable symbol (or a binary links one) that no current entry of the exception
// list covers; vulnerabilities in imported but uncalled code or in required modules only are
// listed and do not fail it.
//
//	vulncheck -govulncheck BIN -db DIR -exceptions FILE source:. source:functions/alert binary:bin/edgewatch
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"

	"github.com/edgewatch/edgewatch/internal/vulngate"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, time.Now())
	stop()
	os.Exit(code)
}

// errFailed says that the gate found a called vulnerability; the report has said which.
var errFailed = errors.New("called vulnerabilities without a current exception")

// run is main without the process: it returns the exit code.
func run(ctx context.Context, args []string, out, errOut io.Writer, now time.Time) int {
	err := gate(ctx, args, out, errOut, now)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 2
	default:
		fmt.Fprintln(errOut, "vulncheck:", err)
		return 1
	}
}

func gate(ctx context.Context, args []string, out, errOut io.Writer, now time.Time) error {
	fs := flag.NewFlagSet("vulncheck", flag.ContinueOnError)
	fs.SetOutput(errOut)
	var s vulngate.Scanner
	fs.StringVar(&s.Govulncheck, "govulncheck", "govulncheck", "path of the govulncheck binary")
	fs.StringVar(&s.DB, "db", "", "directory of the offline vulnerability database")
	exceptionsFile := fs.String("exceptions", "", "file of reviewed exceptions (optional)")
	if err := fs.Parse(args); err != nil {
		// The flag package has printed the problem and the usage.
		return flag.ErrHelp
	}
	if s.DB == "" || fs.NArg() == 0 {
		fs.Usage()
		return flag.ErrHelp
	}
	exceptions, err := readExceptions(*exceptionsFile)
	if err != nil {
		return err
	}
	var results []vulngate.Result
	for _, arg := range fs.Args() {
		t, err := vulngate.ParseTarget(arg)
		if err != nil {
			return err
		}
		scan, err := s.Scan(ctx, t)
		if err != nil {
			return err
		}
		results = append(results, vulngate.Result{Target: t, Scan: scan})
	}
	rep := vulngate.Judge(results, exceptions, now)
	rep.Write(out)
	if rep.Failed() {
		return errFailed
	}
	return nil
}

func readExceptions(name string) ([]vulngate.Exception, error) {
	if name == "" {
		return nil, nil
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return vulngate.ParseExceptions(f)
}
