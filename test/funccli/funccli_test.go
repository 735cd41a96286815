//go:build funccli

// Package funccli runs the real func CLI (Knative Functions, the version
// tools/knative-cli builds) on the pure-Go functions as docs/deploy.md tells
// a user to: `func build --builder=host` in alert, caption and dashboard, and
// `func run` + `func invoke` of caption against the VLM stand-in. Every
// command runs in a copy of the repository's files (what a fresh clone holds,
// uncommitted changes included), because func rewrites func.yaml; the tree
// itself stays clean. hack/knative-cli.sh test builds
// func and sets EDGEWATCH_FUNC (make test).
package funccli

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/edgewatch/edgewatch/functions/caption/vlmtest"
)

// tree is the copy of the repository every test works in.
var tree string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if os.Getenv("EDGEWATCH_FUNC") == "" {
		fmt.Fprintln(os.Stderr, "EDGEWATCH_FUNC is not set: run hack/knative-cli.sh test (make test)")
		return 2
	}
	dir, err := os.MkdirTemp("", "edgewatch-funccli-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	defer os.RemoveAll(dir)
	tree = filepath.Join(dir, "edgewatch")
	if err := copyRepository("../..", tree); err != nil {
		fmt.Fprintln(os.Stderr, "copy the repository:", err)
		return 2
	}
	return m.Run()
}

// copyRepository copies the files git would put in a clone of root's working
// tree (tracked and not ignored, as they are now) to dst.
func copyRepository(root, dst string) error {
	out, err := exec.Command("git", "-C", root, "ls-files", "-z", "--cached", "--others", "--exclude-standard").Output()
	if err != nil {
		return fmt.Errorf("git ls-files: %w", err)
	}
	for _, rel := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		src := filepath.Join(root, rel)
		fi, err := os.Lstat(src)
		if os.IsNotExist(err) {
			continue // deleted in the working tree
		}
		if err != nil {
			return err
		}
		if !fi.Mode().IsRegular() {
			continue
		}
		data, err := os.ReadFile(src)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(target, data, fi.Mode().Perm()); err != nil {
			return err
		}
	}
	return nil
}

// funcEnv is the environment func runs in: this process's, without the
// workspace make exports (a user's shell has none) and any func settings,
// with func's own configuration in a temporary directory, plus extra.
func funcEnv(t *testing.T, extra ...string) []string {
	t.Helper()
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if name == "GOWORK" || name == "GOFLAGS" || strings.HasPrefix(name, "FUNC_") {
			continue
		}
		env = append(env, kv)
	}
	return append(append(env, "XDG_CONFIG_HOME="+t.TempDir()), extra...)
}

// modMod is the one setting `func build --builder=host` of func v0.49.2
// needs here (docs/deploy.md): its generated build module pins older
// versions than the functions require and it runs no go mod tidy.
const modMod = "GOFLAGS=-mod=mod"

// funcCmd returns `func args...` run in functions/<function> of the copy.
func funcCmd(t *testing.T, function string, env []string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Getenv("EDGEWATCH_FUNC"), args...)
	cmd.Dir = filepath.Join(tree, "functions", function)
	cmd.Env = env
	return cmd
}

// TestHostBuildNeedsModMod holds the one setting the docs ask for to what
// func v0.49.2 does without it, in a function directory of its own: when a
// later func builds without it, the docs and hack/deploy.sh should drop it.
func TestHostBuildNeedsModMod(t *testing.T) {
	dir := filepath.Join(tree, "functions", "alert-plain")
	if err := os.CopyFS(dir, os.DirFS(filepath.Join(tree, "functions", "alert"))); err != nil {
		t.Fatal(err)
	}
	out, err := funcCmd(t, "alert-plain", funcEnv(t), "build", "--builder=host", "--registry", "example.com/edgewatch").CombinedOutput()
	t.Logf("func build without %s:\n%s", modMod, out)
	if err == nil {
		t.Fatalf("func build --builder=host succeeded without %s: drop it from docs/deploy.md, hack/deploy.sh and this test", modMod)
	}
	if !bytes.Contains(out, []byte("updates to go.mod needed")) {
		t.Fatalf("func build failed for another reason than the generated go.mod: %v", err)
	}
}

// TestHostBuild builds each pure-Go function as docs/deploy.md shows and
// checks the image func wrote: one per platform, the function's binary as
// its command, and the stop signal the docs warn about.
func TestHostBuild(t *testing.T) {
	for _, fn := range []string{"alert", "caption", "dashboard"} {
		t.Run(fn, func(t *testing.T) {
			gitignore := filepath.Join(tree, "functions", fn, ".gitignore")
			before, err := os.ReadFile(gitignore)
			if err != nil {
				t.Fatal(err)
			}
			cmd := funcCmd(t, fn, funcEnv(t, modMod), "build", "--builder=host", "--registry", "example.com/edgewatch")
			out, err := cmd.CombinedOutput()
			t.Logf("func build --builder=host --registry example.com/edgewatch:\n%s", lastLines(out, 6))
			if err != nil {
				t.Fatalf("func build: %v\n%s", err, out)
			}
			want := "Function built: example.com/edgewatch/" + fn + ":latest"
			if !bytes.Contains(out, []byte(want)) {
				t.Errorf("output does not say %q", want)
			}
			// A changed .gitignore would make hack/deploy.sh's next tag -dirty after a build by hand.
			if after, err := os.ReadFile(gitignore); err != nil || !bytes.Equal(after, before) {
				t.Errorf("func build changed functions/%s/.gitignore (err %v):\n%s", fn, err, after)
			}
			layout := filepath.Join(tree, "functions", fn, ".func", "build", "oci")
			platforms, configs := readLayout(t, layout)
			for _, p := range []string{"linux/amd64", "linux/arm64", "linux/arm/v7"} {
				if !platforms[p] {
					t.Errorf("no %s image in %s (have %v)", p, layout, platforms)
				}
			}
			for p, c := range configs {
				if got := strings.Join(c.Config.Cmd, " "); got != "/func/f" {
					t.Errorf("%s: Cmd %q, want /func/f", p, got)
				}
				// docs/deploy.md: such an image stops with SIGKILL, so a function's Stop never runs in it.
				if c.Config.StopSignal != "SIGKILL" {
					t.Errorf("%s: StopSignal %q, want SIGKILL as the docs say", p, c.Config.StopSignal)
				}
			}
		})
	}
}

// ociConfig is the part of an OCI image configuration checked here.
type ociConfig struct {
	Config struct {
		Cmd        []string `json:"Cmd"`
		StopSignal string   `json:"StopSignal"`
	} `json:"config"`
}

// ociIndex is an OCI image index or manifest, as far as it is read here.
type ociIndex struct {
	Manifests []struct {
		MediaType string `json:"mediaType"`
		Digest    string `json:"digest"`
		Platform  *struct {
			OS           string `json:"os"`
			Architecture string `json:"architecture"`
			Variant      string `json:"variant"`
		} `json:"platform"`
	} `json:"manifests"`
	Config struct {
		Digest string `json:"digest"`
	} `json:"config"`
}

// readLayout reads the OCI layout at dir: the platforms of its image index
// and each platform image's configuration.
func readLayout(t *testing.T, dir string) (map[string]bool, map[string]ociConfig) {
	t.Helper()
	blob := func(digest string) []byte {
		algo, hex, _ := strings.Cut(digest, ":")
		data, err := os.ReadFile(filepath.Join(dir, "blobs", algo, hex))
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	decode := func(data []byte, v any) {
		if err := json.Unmarshal(data, v); err != nil {
			t.Fatal(err)
		}
	}
	var top ociIndex
	data, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	decode(data, &top)
	platforms := map[string]bool{}
	configs := map[string]ociConfig{}
	var walk func(idx ociIndex)
	walk = func(idx ociIndex) {
		for _, m := range idx.Manifests {
			var next ociIndex
			decode(blob(m.Digest), &next)
			if m.Platform == nil {
				walk(next) // a nested index
				continue
			}
			p := m.Platform.OS + "/" + m.Platform.Architecture
			if m.Platform.Variant != "" {
				p += "/" + m.Platform.Variant
			}
			platforms[p] = true
			var c ociConfig
			decode(blob(next.Config.Digest), &c)
			configs[p] = c
		}
	}
	walk(top)
	return platforms, configs
}

// TestRunAndInvokeCaption runs caption with `func run` against the VLM
// stand-in and sends it an incident with `func invoke`: the reply must be
// the caption event with the stand-in's caption, and the stand-in must have
// been asked about the incident's snapshot.
func TestRunAndInvokeCaption(t *testing.T) {
	vlm := vlmtest.NewServer(vlmtest.Options{})
	defer vlm.Close()
	addr := freeAddr(t)

	run := funcCmd(t, "caption", funcEnv(t, "VLM_URL="+vlm.URL, "VLM_MODEL="+vlmtest.Model, "METRICS_ADDRESS=127.0.0.1:0"),
		"run", "--builder=host", "--address", addr)
	run.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // func run starts the function as its child
	// func run and the function write to both streams; one pipe keeps their order.
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	run.Stdout, run.Stderr = w, w
	if err := run.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	exited := make(chan error, 1)
	running := make(chan string, 1)
	var runOut syncWriter
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			line := sc.Text()
			runOut.WriteString(line + "\n")
			if strings.HasPrefix(line, "Function running on ") {
				running <- line
			}
		}
		exited <- run.Wait()
	}()
	defer stop(t, run, exited)

	select {
	case line := <-running:
		t.Logf("func run --builder=host --address %s: %s", addr, line)
	case err := <-exited:
		t.Fatalf("func run exited before the function ran: %v\n%s", err, lastLines([]byte(runOut.String()), 30))
	case <-time.After(8 * time.Minute):
		t.Fatalf("func run: no function running after 8 minutes\n%s", lastLines([]byte(runOut.String()), 30))
	}

	incident := incidentJSON(t, "inc-funccli-1", "knife")
	file := filepath.Join(t.TempDir(), "incident.json")
	if err := os.WriteFile(file, incident, 0o644); err != nil {
		t.Fatal(err)
	}
	invoke := funcCmd(t, "caption", funcEnv(t), "invoke", "--target", "http://"+addr, "-f", "cloudevent",
		"--type", "dev.edgewatch.incident.opened", "--source", "/cameras/cam-1", "--id", "incident-inc-funccli-1.opened",
		"--file", file, "--content-type", "application/json")
	out, err := invoke.CombinedOutput()
	t.Logf("func invoke:\n%s", out)
	if err != nil {
		t.Fatalf("func invoke: %v", err)
	}
	// func invoke exits 0 whatever the function answered, so the reply is what counts.
	for _, want := range []string{"dev.edgewatch.caption.created", "caption-inc-funccli-1", vlmtest.CaptionPrefix} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("func invoke printed no %q", want)
		}
	}
	t.Logf("func run printed (last lines):\n%s", lastLines([]byte(runOut.String()), 8))
	reqs := vlm.Requests()
	if len(reqs) != 1 {
		t.Fatalf("the VLM stand-in got %d valid requests, want 1", len(reqs))
	}
	if reqs[0].Model != vlmtest.Model || len(reqs[0].Image) == 0 || !strings.Contains(reqs[0].Prompt, "knife") {
		t.Errorf("VLM request: model %q, %d image bytes, prompt %q", reqs[0].Model, len(reqs[0].Image), reqs[0].Prompt)
	}
}

// stop interrupts func run as Ctrl-C would and waits for it; if it does not
// end, it kills its process group.
func stop(t *testing.T, run *exec.Cmd, exited <-chan error) {
	t.Helper()
	_ = run.Process.Signal(os.Interrupt)
	select {
	case <-exited:
	case <-time.After(time.Minute):
		t.Errorf("func run did not stop on an interrupt within a minute; killing its process group")
		_ = syscall.Kill(-run.Process.Pid, syscall.SIGKILL)
		<-exited
	}
	// The function is func run's child; make sure nothing of the group is left.
	_ = syscall.Kill(-run.Process.Pid, syscall.SIGKILL)
}

// incidentJSON is an incident.opened event's data as alert writes it, with
// a small JPEG snapshot.
func incidentJSON(t *testing.T, id, class string) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 64, 48))
	for y := 0; y < 48; y++ {
		for x := 0; x < 64; x++ {
			img.Set(x, y, color.RGBA{uint8(x * 4), uint8(y * 5), 80, 255})
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(map[string]any{
		"incident_id": id, "camera": "cam-1", "class": class, "status": "open",
		"opened_at": time.Now().UTC().Format(time.RFC3339), "detection_id": "m-1." + class,
		"image": base64.StdEncoding.EncodeToString(b.Bytes()),
	})
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// freeAddr returns a loopback address with a port nothing listens on now.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// lastLines returns the last n lines of out.
func lastLines(out []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// syncWriter collects output written by one goroutine and read by another.
type syncWriter struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// WriteString appends s.
func (w *syncWriter) WriteString(s string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.WriteString(s)
}

// String returns everything written so far.
func (w *syncWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}
