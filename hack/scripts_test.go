// Package hack holds the tests of the shell scripts in this directory that
// can run without their heavy work: each build step is run against a stand-in
// for the go command that writes small executables where `go build -o` would,
// into an empty cache, so that the step's own logic (cache layout, temporary
// directory, move into place, exit status) is what is tested. deploy_test.go
// checks what hack/deploy.sh relies on in the deployment tree.
package hack

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// fakeGo is a stand-in for the go command: `go build ... -o PATH ...` writes a
// small executable at PATH and exits 0, or exits 1 without writing anything
// when FAKE_GO_FAIL is set. Any other subcommand fails.
const fakeGo = `#!/bin/sh
[ "$1" = build ] || { echo "fake go: only build is supported, got: $*" >&2; exit 2; }
[ -z "${FAKE_GO_FAIL:-}" ] || { echo "fake go: failing as asked" >&2; exit 1; }
out=""
while [ $# -gt 0 ]; do
  if [ "$1" = -o ]; then out="$2"; shift; fi
  shift
done
[ -n "$out" ] || { echo "fake go: no -o" >&2; exit 2; }
printf '#!/bin/sh\necho fake\n' >"$out" && chmod +x "$out"
`

// script runs hack/<name> with args, a fresh cache and the fake go command,
// and returns its stdout, stderr and exit error.
func script(t *testing.T, cache string, extraEnv []string, name string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "go")
	if err := os.WriteFile(bin, []byte(fakeGo), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", append([]string{name}, args...)...)
	cmd.Env = append(os.Environ(), "EDGEWATCH_CACHE="+cache, "GO="+bin)
	cmd.Env = append(cmd.Env, extraEnv...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	return out.String(), errOut.String(), err
}

// leftovers lists every entry under dir whose name starts with ".build".
func leftovers(t *testing.T, dir string) []string {
	t.Helper()
	var found []string
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if strings.HasPrefix(d.Name(), ".build") {
			found = append(found, path)
		}
		return nil
	})
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return found
}

// executable reports whether path is a regular file with an execute bit.
func executable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// buildStep is one script whose build step is tested: how to call it, and
// which executables it must leave in the directory it prints.
type buildStep struct {
	name  string
	args  []string
	files []string
}

var buildSteps = []buildStep{
	{"dry-run.sh", []string{"build"}, []string{"kube-apiserver", "etcd"}},
	{"knative-cli.sh", []string{"build", "func"}, []string{"func"}},
	{"knative-cli.sh", []string{"build", "kn"}, []string{"kn"}},
}

// TestBuildStepIntoEmptyCache runs each build step into an empty cache: it
// must exit 0, print where the executables now are, and leave
// no temporary build directory behind. A second run must find them and not
// build again.
func TestBuildStepIntoEmptyCache(t *testing.T) {
	for _, s := range buildSteps {
		t.Run(s.name+" "+strings.Join(s.args, " "), func(t *testing.T) {
			cache := filepath.Join(t.TempDir(), "cache")
			stdout, stderr, err := script(t, cache, nil, s.name, s.args...)
			if err != nil {
				t.Fatalf("%s %v into an empty cache: %v\nstderr:\n%s", s.name, s.args, err, stderr)
			}
			printed := strings.TrimSpace(stdout)
			if !strings.HasPrefix(printed, cache+string(filepath.Separator)) {
				t.Fatalf("printed %q, want a path under the cache %s", printed, cache)
			}
			dir := printed // dry-run.sh prints the directory, knative-cli.sh the executable
			if executable(printed) {
				dir = filepath.Dir(printed)
			}
			for _, f := range s.files {
				if !executable(filepath.Join(dir, f)) {
					t.Errorf("%s is not an executable in %s", f, dir)
				}
			}
			if l := leftovers(t, cache); len(l) > 0 {
				t.Errorf("temporary build directories left behind: %v", l)
			}
			// Warm: the executables are found, nothing is built (a failing go proves it).
			stdout2, stderr, err := script(t, cache, []string{"FAKE_GO_FAIL=1"}, s.name, s.args...)
			if err != nil || strings.TrimSpace(stdout2) != printed {
				t.Fatalf("warm run: err %v, printed %q, want %q\nstderr:\n%s", err, stdout2, printed, stderr)
			}
		})
	}
}

// TestFailedBuildLeavesNothing runs each build step with a go command that
// fails: the script must fail, put no executable in place (so the next run
// builds again) and leave no temporary build directory behind.
func TestFailedBuildLeavesNothing(t *testing.T) {
	for _, s := range buildSteps {
		t.Run(s.name+" "+strings.Join(s.args, " "), func(t *testing.T) {
			cache := filepath.Join(t.TempDir(), "cache")
			stdout, stderr, err := script(t, cache, []string{"FAKE_GO_FAIL=1"}, s.name, s.args...)
			if err == nil {
				t.Fatalf("%s %v succeeded with a failing go command; printed %q", s.name, s.args, stdout)
			}
			if !strings.Contains(stderr, "failing as asked") {
				t.Errorf("stderr does not show the go command's failure:\n%s", stderr)
			}
			if l := leftovers(t, cache); len(l) > 0 {
				t.Errorf("temporary build directories left behind: %v", l)
			}
			err = filepath.WalkDir(cache, func(path string, d os.DirEntry, err error) error {
				if err == nil && !d.IsDir() {
					t.Errorf("file left in the cache after a failed build: %s", path)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}
