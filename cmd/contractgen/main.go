// Command contractgen writes the generated copies of edgewatch's event
// contract from internal/contract: each function module's
// internal/contract package, internal/contract's schema limits and the
// validator's contract table. `go generate ./...` in the repository root
// runs it.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/edgewatch/edgewatch/internal/contractgen"
)

func main() {
	root := flag.String("root", ".", "the repository root")
	flag.Parse()
	if err := contractgen.Write(*root); err != nil {
		fmt.Fprintln(os.Stderr, "contractgen:", err)
		os.Exit(1)
	}
}
