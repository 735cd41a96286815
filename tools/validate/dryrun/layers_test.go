package dryrun

import (
	"context"
	"strings"
	"testing"

	"github.com/edgewatch/edgewatch/tools/validate/objects"
)

// TestLayers holds each validation layer to what docs/deploy.md says it adds:
// the objects here pass one layer and fail the other. Should a case start
// failing both, the in-process layer has caught up; should it pass both, a
// check was lost.
func TestLayers(t *testing.T) {
	c := checker(t)
	v, err := objects.NewValidator(context.Background(), objects.Cluster{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		yaml     string
		inServer bool // true: only the API server rejects it; false: only the in-process layer
	}{
		{"Trigger: label value with a space",
			strings.Replace(goodTrigger, "  namespace: edgewatch\n", "  namespace: edgewatch\n  labels:\n    app: motion detect\n", 1), true},
		{"Trigger: namespace that does not exist",
			strings.Replace(goodTrigger, "namespace: edgewatch", "namespace: edgewach", 1), true},
		{"Deployment: negative replicas",
			strings.Replace(goodDeployment, "spec:\n  selector", "spec:\n  replicas: -1\n  selector", 1), true},
		{"Deployment: invalid container name",
			strings.Replace(goodDeployment, "- name: motion-source", "- name: Motion_Source", 1), true},
		{"ConfigMap: invalid key",
			"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cameras\ndata:\n  bad key: x\n", true},
		{"Trigger: unknown top-level spec field",
			strings.Replace(goodTrigger, "  broker: default\n", "  broker: default\n  filtr: {}\n", 1), false},
		{"Service: containerConcurrency out of range",
			strings.Replace(goodService, "containerConcurrency: 10", "containerConcurrency: -3", 1), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := doc(t, tc.yaml)
			_, inProcess := v.Validate(d)
			server := c.Check(context.Background(), d)
			serverRejects := server.Status == Failed
			if tc.inServer && (len(inProcess) > 0 || !serverRejects) {
				t.Fatalf("want only the API server to reject it; in-process: %v; API server: %q", inProcess, server.Message)
			}
			if !tc.inServer && (len(inProcess) == 0 || serverRejects) {
				t.Fatalf("want only the in-process layer to reject it; in-process: %v; API server: %q", inProcess, server.Message)
			}
		})
	}
}
