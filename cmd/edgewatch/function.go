package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"sort"

	alert "github.com/edgewatch/edgewatch/functions/alert"
	caption "github.com/edgewatch/edgewatch/functions/caption"
	dashboard "github.com/edgewatch/edgewatch/functions/dashboard"
	detect "github.com/edgewatch/edgewatch/functions/detect"
	motionsource "github.com/edgewatch/edgewatch/functions/motion-source"
	ce "knative.dev/func-go/cloudevents"
	fnhttp "knative.dev/func-go/http"
)

// hosts maps each function name to the func-go host that serves it, the
// same runtime the code `func build` generates uses.
func hosts() map[string]func(ctx context.Context) error {
	return map[string]func(ctx context.Context) error{
		"detect": startDetect,
		"alert": func(ctx context.Context) error {
			f := alert.New()
			return guarded(ce.New(f), f.Guard).Start(ctx)
		},
		"caption": func(ctx context.Context) error {
			f := caption.New()
			return guarded(ce.New(f), f.Guard).Start(ctx)
		},
		"dashboard":     func(ctx context.Context) error { return fnhttp.New(dashboard.New()).Start(ctx) },
		"motion-source": func(ctx context.Context) error { return fnhttp.New(motionsource.New()).Start(ctx) },
	}
}

// guarded puts a function's request guard (body limit, well-formed
// CloudEvent) in front of the handler func-go built for it.
func guarded(s *ce.Service, guard func(http.Handler) http.Handler) *ce.Service {
	s.Handler = guard(s.Handler)
	return s
}

// startDetect hosts detect as its own command (functions/detect/cmd/detect)
// does: request bodies are capped before the CloudEvents SDK buffers them.
func startDetect(ctx context.Context) error {
	limit, err := detect.MaxRequestBytesFromEnv(os.Getenv)
	if err != nil {
		return err
	}
	svc := ce.New(detect.New())
	svc.Handler = detect.LimitRequests(svc.Handler, limit)
	return svc.Start(ctx)
}

// runFunction hosts one function in this process. Its address comes from
// LISTEN_ADDRESS and its configuration from the environment, as on a cluster.
func runFunction(ctx context.Context, name string) error {
	h := hosts()
	start, ok := h[name]
	if !ok {
		names := make([]string, 0, len(h))
		for n := range h {
			names = append(names, n)
		}
		sort.Strings(names)
		return fmt.Errorf("unknown function %q (have %v)", name, names)
	}
	ce.SetLogLevel(ce.LogWarn)
	fnhttp.SetLogLevel(fnhttp.LogWarn)
	return start(ctx)
}
