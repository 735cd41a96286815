package dryrun

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/edgewatch/edgewatch/tools/validate/kubeapi"
)

// server is the one API server the tests of this package share; nil when
// EDGEWATCH_KUBE_BIN is not set (hack/dry-run.sh sets it).
var server *kubeapi.Server

// crdFiles are Knative's CRD manifests, installed once by TestMain.
var crdFiles []string

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	bin := os.Getenv("EDGEWATCH_KUBE_BIN")
	if bin == "" {
		return m.Run()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	var err error
	if crdFiles, err = KnativeCRDFiles(ctx, ".."); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	if server, err = kubeapi.Start(ctx, kubeapi.Options{BinDir: bin, Log: os.Stderr}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	defer server.Stop()
	c, err := NewChecker(server.Config())
	if err == nil {
		_, err = InstallCRDs(ctx, c.Client(), crdFiles, 2*time.Minute)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	return m.Run()
}

// checker returns a Checker for the shared API server, or skips the test
// when there is none.
func checker(t *testing.T) *Checker {
	t.Helper()
	if server == nil {
		t.Skip("no API server: EDGEWATCH_KUBE_BIN is not set; run hack/dry-run.sh (make dry-run)")
	}
	c, err := NewChecker(server.Config())
	if err != nil {
		t.Fatal(err)
	}
	if err := c.EnsureNamespaces(context.Background(), []string{DefaultNamespace}); err != nil {
		t.Fatal(err)
	}
	return c
}
