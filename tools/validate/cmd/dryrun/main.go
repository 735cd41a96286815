// Command dryrun starts a real kube-apiserver and etcd on loopback, installs
// Knative Serving's and Eventing's CRDs, and dry-runs every object of the
// deployment tree (config/ and each deploy/ overlay, rendered by kustomize)
// with strict field validation. It prints every rejection and the objects it
// skipped, and exits 1 when anything was rejected. Both servers are always
// stopped, also on Ctrl-C.
//
//	hack/dry-run.sh report
//	cd tools/validate && GOWORK=off go run ./cmd/dryrun -root ../.. -bin ~/.cache/edgewatch/kube/<version>
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/edgewatch/edgewatch/tools/validate/dryrun"
	"github.com/edgewatch/edgewatch/tools/validate/kubeapi"
)

func main() {
	os.Exit(run())
}

func run() int {
	root := flag.String("root", "../..", "repository root")
	config := flag.String("config", "config", "deployment tree, relative to -root")
	deploy := flag.String("deploy", "deploy", "overlays of the deployment tree, relative to -root")
	bin := flag.String("bin", os.Getenv("EDGEWATCH_KUBE_BIN"), "directory holding kube-apiserver and etcd (default $EDGEWATCH_KUBE_BIN)")
	verbose := flag.Bool("v", false, "print every object's outcome")
	flag.Parse()

	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()

	began := time.Now()
	crds, err := dryrun.KnativeCRDFiles(ctx, ".")
	if err != nil {
		fmt.Fprintln(os.Stderr, "dryrun:", err)
		return 2
	}
	srv, err := kubeapi.Start(ctx, kubeapi.Options{BinDir: *bin, Log: os.Stderr})
	if err != nil {
		fmt.Fprintln(os.Stderr, "dryrun:", err)
		return 2
	}
	defer srv.Stop()

	res, err := dryrun.Run(ctx, srv.Config(), dryrun.Options{Root: *root, ConfigDir: *config, DeployDir: *deploy, CRDFiles: crds})
	if err != nil {
		fmt.Fprintln(os.Stderr, "dryrun:", err)
		return 2
	}
	for _, o := range res.Outcomes {
		switch {
		case o.Status == dryrun.Skipped:
			fmt.Printf("skipped %s: %s: %s\n", o.Doc.Path, o.Doc.ID(), o.Message)
		case *verbose && o.Status == dryrun.Passed:
			fmt.Printf("ok      %s: %s\n", o.Doc.Path, o.Doc.ID())
		}
		for _, w := range o.Warnings {
			fmt.Printf("warning %s: %s: %s\n", o.Doc.Path, o.Doc.ID(), w)
		}
	}
	problems := res.Problems.Problems()
	for _, p := range problems {
		fmt.Println(p)
	}
	fmt.Fprintf(os.Stderr, "dry-run: %d CRDs installed; %d objects accepted, %d skipped, %d rejected, %d problem(s) in %s\n",
		len(res.CRDs), res.Count(dryrun.Passed), res.Count(dryrun.Skipped), res.Count(dryrun.Failed), len(problems), time.Since(began).Round(100*time.Millisecond))
	if len(problems) > 0 {
		return 1
	}
	return 0
}
