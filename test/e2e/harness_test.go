//go:build e2e

// Package e2e runs the whole pipeline — `edgewatch up` on the real RabbitMQ
// and PostgreSQL of this machine — and checks what users judge: every
// incident arrives once, with its picture, caption, notification and pin,
// also when parts of the system fail in the middle.
package e2e

import (
	"bufio"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "github.com/lib/pq"

	"github.com/edgewatch/edgewatch/internal/functions"
	"github.com/edgewatch/edgewatch/internal/syncbuf"
)

// binary is the edgewatch command built once for the whole package.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "edgewatch-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "edgewatch")
	build := exec.Command("go", "build", "-o", binary, "github.com/edgewatch/edgewatch/cmd/edgewatch")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build edgewatch:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// repoRoot is the repository's root directory.
func repoRoot(t testing.TB) string {
	t.Helper()
	abs, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

func randomSuffix() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// ports is the block of ports one pipeline uses.
type ports struct{ base int }

func (p ports) broker() int  { return p.base }
func (p ports) first() int   { return p.base + 1 }
func (p ports) metrics() int { return p.base + 20 }

// Ports of `edgewatch up` from the function table: functions from first(), metrics from metrics().
func (p ports) alert() int     { return p.of("alert") }
func (p ports) dashboard() int { return p.of("dashboard") }

func (p ports) of(name string) int {
	f, _ := functions.ByName(name)
	return p.first() + f.Port
}

// metricsOf is a function's metrics port; the runner's and broker's for any other name.
func (p ports) metricsOf(name string) int {
	f, _ := functions.ByName(name)
	return p.metrics() + f.Metrics
}

// freePorts finds a block of 40 free ports (and the detect process's port, first()+1000),
// all below 32768 where Linux's ephemeral range (/proc/sys/net/ipv4/ip_local_port_range)
// begins: a port a process binds only at a cold start must not be taken meanwhile by
// the kernel for some outgoing connection.
func freePorts(t testing.TB) ports {
	t.Helper()
	for try := 0; try < 50; try++ {
		var b [2]byte
		_, _ = rand.Read(b[:])
		base := 20000 + (int(b[0])<<8|int(b[1]))%11000
		base -= base % 50
		ok := true
		for _, port := range append(seq(base, 40), base+1+1000) {
			ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
			if err != nil {
				ok = false
				break
			}
			ln.Close()
		}
		if ok {
			return ports{base: base}
		}
	}
	t.Fatal("no free block of ports")
	return ports{}
}

func seq(from, n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = from + i
	}
	return out
}

// database creates a fresh PostgreSQL database for one test and drops it
// afterwards.
func database(t testing.TB) (url string, db *sql.DB) {
	t.Helper()
	admin, err := sql.Open("postgres", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable")
	if err != nil {
		t.Fatal(err)
	}
	name := "e2e_" + randomSuffix()
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatal(err)
	}
	url = "postgres://postgres@127.0.0.1:5432/" + name + "?sslmode=disable"
	db, err = sql.Open("postgres", url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		db.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		// PostgreSQL may be restarting after a fault test.
		for ctx.Err() == nil {
			if _, err := admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err == nil {
				break
			}
			time.Sleep(time.Second)
		}
		admin.Close()
	})
	return url, db
}

// pipeline is one running `edgewatch up`.
type pipeline struct {
	t     testing.TB
	ports ports
	cmd   *exec.Cmd
	log   *syncbuf.Buffer
	db    *sql.DB
	done  chan struct{}
	state string
}

// options configure startPipeline.
type options struct {
	// databaseURL overrides the test database's URL (a proxy in front of it, say).
	databaseURL string
	// env is added to the runner's environment and so to every function's.
	env []string
	// triggers is the Trigger directory (default the committed config/triggers).
	triggers string
	// motion starts motion-source with this CAMERAS value; empty runs without it.
	cameras string
	// scaleToZeroAfter is detect's idle time before it is stopped (0: never).
	scaleToZeroAfter time.Duration
}

func startPipeline(t testing.TB, o options) *pipeline {
	t.Helper()
	dbURL, db := database(t)
	if o.databaseURL != "" {
		dbURL = strings.Replace(o.databaseURL, "DBNAME", strings.TrimPrefix(strings.SplitN(dbURL, "?", 2)[0], "postgres://postgres@127.0.0.1:5432/"), 1)
	}
	if o.triggers == "" {
		o.triggers = filepath.Join(repoRoot(t), "config", "triggers")
	}
	p := &pipeline{t: t, ports: freePorts(t), log: &syncbuf.Buffer{}, db: db, done: make(chan struct{}), state: t.TempDir()}
	args := []string{"up",
		"-broker-port", strconv.Itoa(p.ports.broker()),
		"-first-port", strconv.Itoa(p.ports.first()),
		"-metrics-port", strconv.Itoa(p.ports.metrics()),
		"-uid", "e2e" + randomSuffix(),
		"-state", p.state,
		"-database-url", dbURL,
		"-triggers", o.triggers,
		"-scale-to-zero-after", o.scaleToZeroAfter.String(),
		"-teardown",
	}
	if o.cameras == "" {
		args = append(args, "-no-motion")
	}
	p.cmd = exec.Command(binary, args...)
	p.cmd.Dir = repoRoot(t)
	p.cmd.Env = append(os.Environ(), o.env...)
	if o.cameras != "" {
		p.cmd.Env = append(p.cmd.Env, "CAMERAS="+o.cameras)
	}
	// The stand-ins the runner would start are the tests' own.
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(p.stop)
	deadline := time.Now().Add(3 * time.Minute)
	for !strings.Contains(p.log.String(), "edgewatch is running") {
		select {
		case <-p.done:
			t.Fatalf("edgewatch up exited:\n%s", p.log.Tail(80))
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("edgewatch up not running after 3 minutes:\n%s", p.log.Tail(80))
		}
	}
	return p
}

// stop interrupts the runner as Ctrl-C would and waits for it; the log is
// printed when the test failed.
func (p *pipeline) stop() {
	select {
	case <-p.done:
	default:
		_ = p.cmd.Process.Signal(os.Interrupt)
		select {
		case <-p.done:
		case <-time.After(90 * time.Second):
			_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
			<-p.done
		}
	}
	if p.t.Failed() {
		p.t.Logf("edgewatch up log (last lines):\n%s", p.log.Tail(150))
	}
}

// brokerURL is the broker ingress with the operator's token as user info,
// which Go's HTTP client sends as credentials.
func (p *pipeline) brokerURL() string { return operatorURL(p.t, p.state, p.ports.broker()) }

// operatorURL is the broker ingress on port of the run whose state
// directory is state, with the operator's token that run wrote there.
func operatorURL(t testing.TB, state string, port int) string {
	t.Helper()
	tok, err := os.ReadFile(filepath.Join(state, "tokens", "operator"))
	if err != nil {
		t.Fatalf("the operator's token: %v", err)
	}
	return fmt.Sprintf("http://operator:%s@127.0.0.1:%d/", strings.TrimSpace(string(tok)), port)
}

// metric sums the samples of a Prometheus metric whose labels contain every
// label=value given, from a service's metrics port.
func (p *pipeline) metric(service, name string, labels ...string) float64 {
	return p.metricPort(p.ports.metricsOf(service), name, labels...)
}

// metricPort is metric for the metrics endpoint on a port.
func (p *pipeline) metricPort(port int, name string, labels ...string) float64 {
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", port))
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	var sum float64
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name) || (len(line) > len(name) && line[len(name)] != '{' && line[len(name)] != ' ') {
			continue
		}
		match := true
		for _, l := range labels {
			if !strings.Contains(line, l) {
				match = false
			}
		}
		if !match {
			continue
		}
		f := strings.Fields(line)
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err == nil {
			sum += v
		}
	}
	return sum
}

// eventually polls cond until it holds or the timeout passes.
func eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %s", timeout, what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
