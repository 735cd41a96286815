// Package kubeapi runs a real kube-apiserver and etcd on loopback, as two
// child processes in a temporary directory, so that manifests can be sent to
// the API server's own validation without a cluster. Stop always ends both:
// the API server first with SIGKILL (SIGTERM can hang it for minutes while
// etcd goes away beneath it), then etcd.
package kubeapi

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"k8s.io/client-go/rest"
)

// Options configures Start.
type Options struct {
	// BinDir holds the kube-apiserver and etcd executables.
	BinDir string
	// ReadyTimeout bounds the wait for each process to become healthy;
	// default 2 minutes (a loaded machine can take far longer than the
	// usual 2–10 s).
	ReadyTimeout time.Duration
	// Attempts is how many times Start tries from scratch (fresh ports,
	// fresh data directory) before giving up; default 3.
	Attempts int
	// Log receives progress lines; nil discards them.
	Log io.Writer
}

// Server is a running etcd and kube-apiserver pair.
type Server struct {
	dir       string
	etcd      *process
	apiserver *process
	config    *rest.Config
	stopOnce  sync.Once
}

// process is a started child with its log file.
type process struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
	err  error // set before done is closed
}

// Start starts etcd and kube-apiserver from opts.BinDir and waits until the
// API server's /readyz answers 200. Call Stop when done, also after an error
// from later steps.
func Start(ctx context.Context, opts Options) (*Server, error) {
	if opts.ReadyTimeout == 0 {
		opts.ReadyTimeout = 2 * time.Minute
	}
	if opts.Attempts == 0 {
		opts.Attempts = 3
	}
	if opts.Log == nil {
		opts.Log = io.Discard
	}
	for _, b := range []string{"etcd", "kube-apiserver"} {
		if st, err := os.Stat(filepath.Join(opts.BinDir, b)); err != nil || st.IsDir() {
			return nil, fmt.Errorf("kubeapi: %s not found in %q (hack/dry-run.sh build makes it)", b, opts.BinDir)
		}
	}
	var errs []error
	for attempt := 1; attempt <= opts.Attempts; attempt++ {
		s, err := start(ctx, opts)
		if err == nil {
			return s, nil
		}
		errs = append(errs, fmt.Errorf("attempt %d: %w", attempt, err))
		if ctx.Err() != nil {
			break
		}
		fmt.Fprintf(opts.Log, "kubeapi: attempt %d failed, retrying: %v\n", attempt, err)
	}
	return nil, fmt.Errorf("kubeapi: could not start the API server: %w", errors.Join(errs...))
}

func start(ctx context.Context, opts Options) (_ *Server, err error) {
	dir, err := os.MkdirTemp("", "edgewatch-kubeapi-")
	if err != nil {
		return nil, err
	}
	s := &Server{dir: dir}
	defer func() {
		if err != nil {
			s.Stop()
		}
	}()
	ports, err := freePorts(3)
	if err != nil {
		return nil, err
	}
	etcdClient := "http://127.0.0.1:" + strconv.Itoa(ports[0])
	etcdPeer := "http://127.0.0.1:" + strconv.Itoa(ports[1])

	began := time.Now()
	s.etcd, err = launch(filepath.Join(opts.BinDir, "etcd"), dir, "etcd",
		"--name=default",
		"--data-dir="+filepath.Join(dir, "etcd"),
		"--listen-client-urls="+etcdClient,
		"--advertise-client-urls="+etcdClient,
		"--listen-peer-urls="+etcdPeer,
		"--initial-advertise-peer-urls="+etcdPeer,
		"--initial-cluster=default="+etcdPeer,
		"--unsafe-no-fsync",
		"--log-level=warn",
	)
	if err != nil {
		return nil, err
	}
	plain := &http.Client{Timeout: 5 * time.Second}
	if err := waitHealthy(ctx, s.etcd, plain, etcdClient+"/health", "", opts.ReadyTimeout); err != nil {
		return nil, err
	}
	fmt.Fprintf(opts.Log, "kubeapi: etcd healthy after %s\n", time.Since(began).Round(10*time.Millisecond))

	token, err := randomToken()
	if err != nil {
		return nil, err
	}
	tokenFile := filepath.Join(dir, "tokens.csv")
	if err := os.WriteFile(tokenFile, []byte(token+",admin,admin,system:masters\n"), 0o600); err != nil {
		return nil, err
	}
	keyFile := filepath.Join(dir, "sa.key")
	if err := writeRSAKey(keyFile); err != nil {
		return nil, err
	}
	host := "https://127.0.0.1:" + strconv.Itoa(ports[2])
	began = time.Now()
	s.apiserver, err = launch(filepath.Join(opts.BinDir, "kube-apiserver"), dir, "kube-apiserver",
		"--etcd-servers="+etcdClient,
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		"--secure-port="+strconv.Itoa(ports[2]),
		"--cert-dir="+filepath.Join(dir, "certs"),
		"--token-auth-file="+tokenFile,
		"--authorization-mode=RBAC",
		"--service-account-issuer=https://kubernetes.default.svc",
		"--service-account-key-file="+keyFile,
		"--service-account-signing-key-file="+keyFile,
		"--service-cluster-ip-range=10.0.0.0/24",
		// On loopback the endpoint reconciler refuses 127.0.0.1 as the
		// advertise address; nothing here needs the kubernetes Service's
		// endpoints.
		"--endpoint-reconciler-type=none",
		"--logging-format=text",
		"-v=1",
	)
	if err != nil {
		return nil, err
	}
	insecure := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		// The API server's certificate is self-signed in cert-dir; the
		// connection never leaves loopback.
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, // #nosec G402 -- self-signed test server on loopback
	}}
	if err := waitHealthy(ctx, s.apiserver, insecure, host+"/readyz", token, opts.ReadyTimeout); err != nil {
		return nil, err
	}
	fmt.Fprintf(opts.Log, "kubeapi: kube-apiserver ready at %s after %s\n", host, time.Since(began).Round(10*time.Millisecond))

	s.config = &rest.Config{
		Host:            host,
		BearerToken:     token,
		TLSClientConfig: rest.TLSClientConfig{Insecure: true},
		QPS:             200,
		Burst:           400,
		Timeout:         30 * time.Second,
	}
	return s, nil
}

// Config returns a client configuration for the API server, authenticated
// as a member of system:masters. Callers may modify their copy.
func (s *Server) Config() *rest.Config { return rest.CopyConfig(s.config) }

// Stop kills the API server, waits for it, then stops etcd and removes the
// temporary directory. It is safe to call more than once.
func (s *Server) Stop() {
	s.stopOnce.Do(func() {
		if s.apiserver != nil {
			s.apiserver.kill(syscall.SIGKILL, 30*time.Second)
		}
		if s.etcd != nil {
			if !s.etcd.kill(syscall.SIGTERM, 10*time.Second) {
				s.etcd.kill(syscall.SIGKILL, 30*time.Second)
			}
		}
		os.RemoveAll(s.dir)
	})
}

// launch starts bin with args, its output going to dir/<name>.log. The child
// gets SIGKILL should this process die without calling Stop.
func launch(bin, dir, name string, args ...string) (*process, error) {
	logPath := filepath.Join(dir, name+".log")
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Stdout = f
	cmd.Stderr = f
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &process{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	return p, nil
}

// kill sends sig and waits up to wait for the process to end; it reports
// whether it ended.
func (p *process) kill(sig syscall.Signal, wait time.Duration) bool {
	select {
	case <-p.done:
		return true
	default:
	}
	_ = p.cmd.Process.Signal(sig)
	select {
	case <-p.done:
		return true
	case <-time.After(wait):
		return false
	}
}

// tail returns the end of the process's log, for error messages.
func (p *process) tail() string {
	data, err := os.ReadFile(p.log)
	if err != nil {
		return ""
	}
	const max = 3000
	if len(data) > max {
		data = data[len(data)-max:]
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			data = data[i+1:]
		}
	}
	return strings.TrimSpace(string(data))
}

// waitHealthy polls url until it answers 200, the process exits, ctx ends or
// timeout passes.
func waitHealthy(ctx context.Context, p *process, c *http.Client, url, token string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var last string
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		if resp, err := c.Do(req); err != nil {
			last = err.Error()
		} else {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = fmt.Sprintf("%s: %s", resp.Status, strings.TrimSpace(string(body)))
		}
		select {
		case <-p.done:
			return fmt.Errorf("%s exited before it was ready (%v); its log ends:\n%s", p.name, p.err, p.tail())
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready after %s (last answer: %s); its log ends:\n%s", p.name, timeout, last, p.tail())
		}
	}
}

// freePorts returns n distinct loopback ports that were free a moment ago.
func freePorts(n int) ([]int, error) {
	var ports []int
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func randomToken() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// writeRSAKey writes a fresh RSA key for signing service-account tokens.
func writeRSAKey(path string) error {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	block := &pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}
	return os.WriteFile(path, pem.EncodeToMemory(block), 0o600)
}
