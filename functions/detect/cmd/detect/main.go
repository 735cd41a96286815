// Command detect runs the detect function as a plain process, hosted by
// knative.dev/func-go exactly as the main that `func build` generates:
// CloudEvents on LISTEN_ADDRESS (default [::]:8080), /health/readiness and
// /health/liveness, configuration from the environment plus ./cfg, and a
// graceful stop on SIGTERM. The local runner and the process cold-start
// benchmark use it; clusters run the image built from the Dockerfiles.
package main

import (
	"context"
	"fmt"
	"os"

	fcloudevents "knative.dev/func-go/cloudevents"

	function "github.com/edgewatch/edgewatch/functions/detect"
)

func main() {
	limit, err := function.MaxRequestBytesFromEnv(os.Getenv)
	if err == nil {
		svc := fcloudevents.New(function.New())
		// Request bodies are capped before the CloudEvents SDK buffers them.
		svc.Handler = function.LimitRequests(svc.Handler, limit)
		err = svc.Start(context.Background())
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "detect:", err)
		os.Exit(1)
	}
}
