package kubeapi

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestMissingBinaries(t *testing.T) {
	_, err := Start(context.Background(), Options{BinDir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "etcd not found") {
		t.Fatalf("err = %v, want etcd not found", err)
	}
}

// TestFailingServerIsRetriedAndExplained uses an etcd that dies at once: Start
// must try Attempts times and quote the process's own words.
func TestFailingServerIsRetriedAndExplained(t *testing.T) {
	dir := t.TempDir()
	for name, script := range map[string]string{
		"etcd":           "#!/bin/sh\necho 'etcd: unknown flag --no-such-flag' >&2\nexit 1\n",
		"kube-apiserver": "#!/bin/sh\nexit 1\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	_, err := Start(context.Background(), Options{BinDir: dir, Attempts: 2, ReadyTimeout: 20 * time.Second})
	if err == nil {
		t.Fatal("Start succeeded with an etcd that exits")
	}
	for _, want := range []string{"attempt 1", "attempt 2", "etcd exited before it was ready", "unknown flag --no-such-flag"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

// TestStartStop runs the real servers (hack/dry-run.sh sets EDGEWATCH_KUBE_BIN)
// and checks that Stop leaves no process and no directory behind.
func TestStartStop(t *testing.T) {
	bin := os.Getenv("EDGEWATCH_KUBE_BIN")
	if bin == "" {
		t.Skip("EDGEWATCH_KUBE_BIN is not set; run hack/dry-run.sh (make dry-run)")
	}
	s, err := Start(context.Background(), Options{BinDir: bin})
	if err != nil {
		t.Fatal(err)
	}
	pids := []int{s.etcd.cmd.Process.Pid, s.apiserver.cmd.Process.Pid}
	if s.Config().BearerToken == "" || !strings.HasPrefix(s.Config().Host, "https://127.0.0.1:") {
		t.Errorf("config = %+v", s.Config())
	}
	s.Stop()
	s.Stop() // a second call does nothing
	for _, pid := range pids {
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("process %d still exists after Stop (kill 0: %v)", pid, err)
		}
	}
	if _, err := os.Stat(s.dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s still exists after Stop", s.dir)
	}
}
