// Command validate checks edgewatch's deployment tree without a cluster and
// prints every problem it finds; it exits 1 when there is any.
//
//	cd tools/validate && GOWORK=off go run ./cmd/validate -root ../..
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/edgewatch/edgewatch/tools/validate"
)

func main() {
	root := flag.String("root", "../..", "repository root")
	config := flag.String("config", "config", "deployment tree, relative to -root")
	deploy := flag.String("deploy", "deploy", "overlays of the deployment tree, relative to -root")
	flag.Parse()

	l, err := validate.Run(context.Background(), validate.Options{Root: *root, ConfigDir: *config, DeployDir: *deploy})
	if err != nil {
		fmt.Fprintln(os.Stderr, "validate:", err)
		os.Exit(2)
	}
	problems := l.Problems()
	for _, p := range problems {
		fmt.Println(p)
	}
	if len(problems) > 0 {
		fmt.Fprintf(os.Stderr, "%d problem(s)\n", len(problems))
		os.Exit(1)
	}
	fmt.Fprintln(os.Stderr, "config is valid")
}
