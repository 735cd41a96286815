// Command motion-source hosts the motion-source function with the Knative
// Functions runtime (knative.dev/func-go/http), exactly as the main that
// `func build` generates does: it listens on LISTEN_ADDRESS (default
// [::]:8080) for the status page and /health/{readiness,liveness}, passes the
// environment (and ./cfg) to Start, and calls Stop on SIGTERM or SIGINT.
// Container images with OpenCV are built from this main (see Dockerfile),
// because func's host builder forces CGO_ENABLED=0.
package main

import (
	"fmt"
	"os"

	function "github.com/edgewatch/edgewatch/functions/motion-source"
	fhttp "knative.dev/func-go/http"
)

func main() {
	if err := fhttp.Start(function.New()); err != nil {
		fmt.Fprintln(os.Stderr, "motion-source:", err)
		os.Exit(1)
	}
}
