//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image/color"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/lib/pq"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/edgewatch/edgewatch/functions/motion-source/samplevideo"
	"github.com/edgewatch/edgewatch/internal/contract"
	"github.com/edgewatch/edgewatch/internal/syncbuf"
)

// stopBound is how long after a signal no edgewatch process may remain: the
// runner's default -stop-timeout.
const stopBound = 10 * time.Second

// run is one `edgewatch up` of the stop tests, which share a database, a
// broker UID (so queues outlive a run) and a state directory.
type run struct {
	cmd  *exec.Cmd
	log  *syncbuf.Buffer
	done chan struct{}
	err  error
}

// stopRig is what the runs of one stop test share.
type stopRig struct {
	t       *testing.T
	ports   ports
	uid     string
	state   string
	dbURL   string
	db      *sql.DB
	cameras string
	env     []string
	extra   []string
}

func newStopRig(t *testing.T) *stopRig {
	dbURL, db := database(t)
	r := &stopRig{t: t, ports: freePorts(t), uid: "stop" + randomSuffix(), state: t.TempDir(), dbURL: dbURL, db: db}
	t.Cleanup(func() { deleteQueues(t, r.uid) })
	return r
}

// launch starts a run without waiting for it.
func (r *stopRig) launch(extra ...string) *run {
	r.t.Helper()
	args := []string{"up",
		"-broker-port", strconv.Itoa(r.ports.broker()),
		"-first-port", strconv.Itoa(r.ports.first()),
		"-metrics-port", strconv.Itoa(r.ports.metrics()),
		"-uid", r.uid,
		"-state", r.state,
		"-database-url", r.dbURL,
		"-triggers", filepath.Join(repoRoot(r.t), "config", "triggers"),
		"-scale-to-zero-after", "1m",
	}
	if r.cameras == "" {
		args = append(args, "-no-motion")
	}
	u := &run{cmd: exec.Command(binary, append(append(args, r.extra...), extra...)...), log: &syncbuf.Buffer{}, done: make(chan struct{})}
	u.cmd.Dir = repoRoot(r.t)
	u.cmd.Env = append(os.Environ(), r.env...)
	if r.cameras != "" {
		u.cmd.Env = append(u.cmd.Env, "CAMERAS="+r.cameras)
	}
	u.cmd.Stdout, u.cmd.Stderr = u.log, u.log
	if err := u.cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	go func() { u.err = u.cmd.Wait(); close(u.done) }()
	r.t.Cleanup(func() {
		_ = u.cmd.Process.Kill()
		<-u.done
		if r.t.Failed() {
			r.t.Logf("edgewatch up log (last lines):\n%s", u.log.Tail(60))
		}
	})
	return u
}

// waitRunning waits for the banner.
func (r *stopRig) waitRunning(u *run) {
	r.t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for !strings.Contains(u.log.String(), "edgewatch is running") {
		select {
		case <-u.done:
			r.t.Fatalf("edgewatch up exited before it ran (%v):\n%s", u.err, u.log.Tail(60))
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("edgewatch up not running after 3 minutes:\n%s", u.log.Tail(60))
		}
	}
}

// signal sends sig (0: none, only wait) and waits until the runner and
// every process it started are gone; it fails when any remains stopBound
// later, and returns how long that took.
func (r *stopRig) signal(u *run, sig syscall.Signal) time.Duration {
	r.t.Helper()
	began := time.Now()
	if sig != 0 {
		if err := u.cmd.Process.Signal(sig); err != nil {
			r.t.Fatalf("signal %v: %v", sig, err)
		}
	}
	for {
		left := edgewatchProcesses()
		exited := false
		select {
		case <-u.done:
			exited = true
		default:
		}
		if exited && len(left) == 0 {
			return time.Since(began)
		}
		if time.Since(began) > stopBound {
			for _, p := range left {
				_ = syscall.Kill(p.pid, syscall.SIGKILL)
			}
			r.t.Fatalf("%v: %d edgewatch processes left %v later (runner exited: %v): %v", sig, len(left), stopBound, exited, left)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// portsFree fails when a port of the run is still taken.
func (r *stopRig) portsFree(what string) {
	r.t.Helper()
	for _, port := range append(seq(r.ports.broker(), 12), append(seq(r.ports.metrics(), 6), r.ports.first()+1000)...) {
		if err := portFreed(port, 2*time.Second); err != nil {
			r.t.Fatalf("%s: port %d still taken: %v", what, port, err)
		}
	}
}

// portFreed waits up to within for port to be free. A process on its way
// out gives up its memory (and with it the cmdline edgewatchProcesses reads)
// before its files, so its sockets can outlive it by a moment.
func portFreed(port int, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			return ln.Close()
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type leftover struct {
	pid  int
	args string
}

func (l leftover) String() string { return fmt.Sprintf("%d %s", l.pid, l.args) }

// edgewatchProcesses lists the live processes running the binary under
// test, or one of the programs given.
func edgewatchProcesses(programs ...string) []leftover {
	if len(programs) == 0 {
		programs = []string{binary}
	}
	dirs, _ := os.ReadDir("/proc")
	var out []leftover
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile("/proc/" + d.Name() + "/cmdline")
		if err != nil || !runsOneOf(cmdline, programs) {
			continue
		}
		stat, err := os.ReadFile("/proc/" + d.Name() + "/stat")
		if i := bytes.LastIndexByte(stat, ')'); err != nil || i < 0 || len(stat) < i+3 || stat[i+2] == 'Z' {
			continue // gone, or a zombie: it holds nothing
		}
		out = append(out, leftover{pid, strings.ReplaceAll(strings.TrimRight(string(cmdline), "\x00"), "\x00", " ")})
	}
	return out
}

func runsOneOf(cmdline []byte, programs []string) bool {
	for _, p := range programs {
		if bytes.HasPrefix(cmdline, []byte(p+"\x00")) {
			return true
		}
	}
	return false
}

// deleteQueues removes the RabbitMQ queues and exchanges a test's broker
// UID left behind.
func deleteQueues(t testing.TB, uid string) {
	conn, err := amqp.Dial("amqp://guest:guest@127.0.0.1:5672/")
	if err != nil {
		t.Logf("cleanup: %v", err)
		return
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		t.Logf("cleanup: %v", err)
		return
	}
	defer ch.Close()
	for _, kind := range []string{"list_queues", "list_exchanges"} {
		out, err := exec.Command("rabbitmqctl", "-q", kind, "--no-table-headers", "name").Output()
		if err != nil {
			t.Logf("cleanup: rabbitmqctl %s: %v", kind, err)
			continue
		}
		for _, name := range strings.Fields(string(out)) {
			if !strings.HasSuffix(name, "."+uid) {
				continue
			}
			if kind == "list_queues" {
				_, err = ch.QueueDelete(name, false, false, false)
			} else {
				err = ch.ExchangeDelete(name, false, false)
			}
			if err != nil {
				t.Logf("cleanup: delete %s: %v", name, err)
				return // the channel is closed after an error
			}
		}
	}
}

// acked collects the ids of the events the broker accepted with 202.
type acked struct {
	mu              sync.Mutex
	detections      []string // detection events, stored under their id
	motions         []string // motion events, stored as the motion_id of detect's detection
	refused, failed int
}

// burst posts detection and motion events from four senders until ctx ends
// or the broker stops answering.
func (a *acked) burst(ctx context.Context, t testing.TB, brokerURL, prefix string, crop []byte) {
	det := cameraDetection(t, "cam-burst", crop)
	client := &http.Client{Timeout: 5 * time.Second}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				id := fmt.Sprintf("%s-%d-%d", prefix, w, i)
				var e cloudevents.Event
				motion := i%2 == 1
				if motion {
					e = motionEvent(id, "cam-burst", crop)
				} else {
					e = detectionEvent(id, "cam-burst", det)
				}
				status, err := post(client, brokerURL, e)
				a.mu.Lock()
				switch {
				case err != nil:
					a.failed++
				case status == http.StatusAccepted && motion:
					a.motions = append(a.motions, id)
				case status == http.StatusAccepted:
					a.detections = append(a.detections, id)
				default:
					a.refused++
				}
				a.mu.Unlock()
				if err != nil || status != http.StatusAccepted {
					return // the runner is stopping
				}
			}
		})
	}
	wg.Wait()
}

// cameraDetection is the data of a knife detection on camera.
func cameraDetection(t testing.TB, camera string, crop []byte) []byte {
	raw, err := json.Marshal(contract.Detection{Camera: camera, Class: "knife", Label: "knife", Confidence: 0.96,
		Box: contract.Box{X: 104, Y: 104, W: 208, H: 208}, Frame: contract.Frame{Width: 1280, Height: 720},
		Image: base64.StdEncoding.EncodeToString(crop), Model: "stop-test", DetectedAt: time.Now().UTC()})
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// post sends e in binary mode and returns the status.
func post(c *http.Client, url string, e cloudevents.Event) (int, error) {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(e.Data()))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", e.DataContentType())
	req.Header.Set("ce-specversion", "1.0")
	req.Header.Set("ce-id", e.ID())
	req.Header.Set("ce-type", e.Type())
	req.Header.Set("ce-source", e.Source())
	req.Header.Set("ce-time", e.Time().Format(time.RFC3339Nano))
	for k, v := range e.Extensions() {
		req.Header.Set("ce-"+k, fmt.Sprint(v))
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// missing returns the acknowledged events not stored in PostgreSQL.
func (a *acked) missing(db *sql.DB) (detections, motions int, err error) {
	a.mu.Lock()
	dets, mots := append([]string(nil), a.detections...), append([]string(nil), a.motions...)
	a.mu.Unlock()
	var stored int
	if err := db.QueryRow(`SELECT count(DISTINCT event_id) FROM detections WHERE event_id = ANY($1)`, pq.Array(dets)).Scan(&stored); err != nil {
		return len(dets), len(mots), err
	}
	detections = len(dets) - stored
	if err := db.QueryRow(`SELECT count(DISTINCT motion_id) FROM detections WHERE motion_id = ANY($1)`, pq.Array(mots)).Scan(&stored); err != nil {
		return detections, len(mots), err
	}
	return detections, len(mots) - stored, nil
}

// waitStored waits until every acknowledged event is in PostgreSQL.
func (a *acked) waitStored(t *testing.T, db *sql.DB, after string) {
	t.Helper()
	var d, m int
	var err error
	deadline := time.Now().Add(90 * time.Second)
	for {
		if d, m, err = a.missing(db); err == nil && d == 0 && m == 0 {
			return
		}
		if time.Now().After(deadline) {
			a.mu.Lock()
			t.Fatalf("%s: %d of %d acknowledged detection events and %d of %d motion events are not in PostgreSQL (%v)",
				after, d, len(a.detections), m, len(a.motions), err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestStopOnEverySignalAtAnyMoment starts the runner again and again with
// motion-source playing a clip, and ends each run with SIGINT, SIGTERM,
// SIGHUP or SIGKILL at a random moment: during start-up, idle, or under a
// burst of detection and motion events. Within the 10 s bound no edgewatch
// process may remain and every port must be free; every event the broker
// acknowledged before the signal must be in PostgreSQL after the next start.
func TestStopOnEverySignalAtAnyMoment(t *testing.T) {
	rig := newStopRig(t)
	clip := filepath.Join(t.TempDir(), "street.avi")
	if err := samplevideo.Write(clip, samplevideo.Scene{Width: 640, Height: 360, FPS: 10, Frames: 60, Object: true,
		ObjectSize: 100, ObjectStart: 10, ObjectColor: color.RGBA{B: 255, A: 255}}); err != nil {
		t.Fatal(err)
	}
	rig.cameras = fmt.Sprintf(`[{"id":"cam-stop","url":%q,"loop":true,"fps":2}]`, clip)
	crop := knifeCrop(t, 416)
	seed := time.Now().UnixNano()
	rng := rand.New(rand.NewPCG(uint64(seed), 0))
	t.Logf("random seed %d", seed)
	var events acked
	var idleStops []time.Duration
	n := 0
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGKILL} {
		for _, moment := range []string{"start-up", "idle", "burst"} {
			n++
			what := fmt.Sprintf("run %d, %v %s", n, sig, moment)
			u := rig.launch()
			var took time.Duration
			switch moment {
			case "start-up":
				time.Sleep(time.Duration(rng.Int64N(int64(2500 * time.Millisecond))))
				took = rig.signal(u, sig)
			case "idle":
				rig.waitRunning(u)
				events.waitStored(t, rig.db, what+" (the next start)")
				time.Sleep(time.Duration(rng.Int64N(int64(time.Second))))
				took = rig.signal(u, sig)
				if sig != syscall.SIGKILL {
					idleStops = append(idleStops, took)
				}
			case "burst":
				rig.waitRunning(u)
				events.waitStored(t, rig.db, what+" (the next start)")
				ctx, cancel := context.WithCancel(context.Background())
				sent := make(chan struct{})
				ingress := operatorURL(t, rig.state, rig.ports.broker())
				go func() {
					events.burst(ctx, t, ingress, fmt.Sprintf("r%d", n), crop)
					close(sent)
				}()
				time.Sleep(100*time.Millisecond + time.Duration(rng.Int64N(int64(500*time.Millisecond))))
				took = rig.signal(u, sig)
				cancel()
				<-sent
			}
			if sig != syscall.SIGKILL && moment != "start-up" {
				if u.err != nil || !strings.Contains(u.log.String(), "msg=stopped") {
					t.Fatalf("%s: the runner did not stop cleanly (%v):\n%s", what, u.err, u.log.Tail(40))
				}
				// Work in flight finishes: detect's results still reach the broker.
				if strings.Contains(u.log.String(), "detection event not delivered") {
					t.Fatalf("%s: detect could not send its results while the broker stopped:\n%s", what, u.log.Tail(40))
				}
			}
			rig.portsFree(what)
			t.Logf("%s: everything gone %v after the signal", what, took.Round(time.Millisecond))
		}
	}

	u := rig.launch("-teardown")
	rig.waitRunning(u)
	events.waitStored(t, rig.db, "the last start")
	rig.signal(u, syscall.SIGINT)
	events.mu.Lock()
	report(t, "stop: %d runs signalled; %d detection and %d motion events acknowledged, all stored after the next start; clean stops of a running pipeline took %v",
		n, len(events.detections), len(events.motions), idleStops)
	events.mu.Unlock()
}

// TestSecondSignalAndStopTimeoutKillWhatIsLeft holds a request open at
// caption (posted straight to it; the VLM it calls never answers), so that
// caption cannot finish its graceful stop: a second Ctrl-C, or the stop
// timeout, must kill what is left and say so, and leave no process behind.
func TestSecondSignalAndStopTimeoutKillWhatIsLeft(t *testing.T) {
	for _, c := range []struct {
		name  string
		extra []string
		again bool
		want  string
	}{
		{name: "second signal", again: true, want: "second signal received; killing what is left"},
		{name: "stop timeout", extra: []string{"-stop-timeout", "3s"}, want: "the stop timeout (3s) passed"},
	} {
		t.Run(c.name, func(t *testing.T) {
			rig := newStopRig(t)
			calls := make(chan struct{}, 16)
			release := make(chan struct{})
			hanging := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				calls <- struct{}{}
				select {
				case <-release:
				case <-r.Context().Done():
				}
			}))
			t.Cleanup(hanging.Close)
			t.Cleanup(func() { close(release) })
			rig.env = []string{"VLM_URL=" + hanging.URL, "VLM_MODEL=stand-in", "VLM_TIMEOUT=25s"}
			u := rig.launch(c.extra...)
			rig.waitRunning(u)

			go func() {
				_, _ = post(&http.Client{}, fmt.Sprintf("http://127.0.0.1:%d/", rig.ports.first()+2), incidentOpened(t, knifeCrop(t, 416)))
			}()
			select {
			case <-calls:
			case <-time.After(60 * time.Second):
				t.Fatalf("caption never called the VLM:\n%s", u.log.Tail(40))
			}

			last := syscall.SIGINT
			if err := u.cmd.Process.Signal(syscall.SIGINT); err != nil {
				t.Fatal(err)
			}
			if c.again {
				eventually(t, 10*time.Second, "the stop waiting for the functions", func() bool {
					return strings.Contains(u.log.String(), "stage=functions")
				})
			} else {
				last = 0 // only wait
			}
			took := rig.signal(u, last)
			log := u.log.String()
			if !strings.Contains(log, c.want) || !strings.Contains(log, "stop cut short; killed what was left") || !strings.Contains(log, "caption (pid") {
				t.Fatalf("the log does not say what was killed and why (want %q):\n%s", c.want, u.log.Tail(40))
			}
			if u.err == nil {
				t.Error("a stop cut short exited with status 0")
			}
			rig.portsFree(c.name)
			t.Logf("%s: everything gone %v after the last signal", c.name, took.Round(time.Millisecond))
		})
	}
}

// incidentOpened is an incident.opened event as alert sends it to caption.
func incidentOpened(t testing.TB, img []byte) cloudevents.Event {
	id := "00000000-0000-4000-8000-" + fmt.Sprintf("%012d", rand.IntN(1e12))
	e := cloudevents.NewEvent()
	e.SetID("incident-" + id + ".opened")
	e.SetType(contract.TypeIncidentOpened)
	e.SetSource(contract.CameraSource("cam-hold"))
	e.SetTime(time.Now())
	e.SetExtension(contract.ExtCamera, "cam-hold")
	e.SetExtension(contract.ExtClass, "knife")
	e.SetExtension(contract.ExtIncident, id)
	if err := e.SetData(contract.ContentTypeJSON, map[string]any{
		"incident_id": id, "camera": "cam-hold", "class": "knife", "status": "open",
		"opened_at": time.Now().UTC().Format(time.RFC3339), "last_seen_at": time.Now().UTC().Format(time.RFC3339),
		"confidence": 0.91, "hits": 3, "detection_id": "hold.knife",
		"image": base64.StdEncoding.EncodeToString(img),
	}); err != nil {
		t.Fatal(err)
	}
	return e
}

// TestMakeRunStops runs `make run` as a user does (the deps step skipped: the
// services run) in a process group of its own, as a terminal's foreground
// job, and ends it the ways users and process managers do: Ctrl-C and a
// closed terminal (SIGINT, SIGHUP to the whole group), SIGTERM to make, and
// SIGKILL to make. Within the bound no edgewatch process may remain and the
// ports must be free.
func TestMakeRunStops(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make is not installed")
	}
	root := repoRoot(t)
	programs := []string{"./bin/edgewatch", filepath.Join(root, "bin", "edgewatch")}
	for _, c := range []struct {
		name  string
		sig   syscall.Signal
		group bool
	}{
		{"Ctrl-C", syscall.SIGINT, true},
		{"terminal closed", syscall.SIGHUP, true},
		{"SIGTERM to make", syscall.SIGTERM, false},
		{"SIGKILL to make", syscall.SIGKILL, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			rig := newStopRig(t)
			flags := fmt.Sprintf("-broker-port %d -first-port %d -metrics-port %d -uid %s -state %s -database-url '%s' -no-motion -teardown",
				rig.ports.broker(), rig.ports.first(), rig.ports.metrics(), rig.uid, rig.state, rig.dbURL)
			mk := exec.Command("make", "--no-print-directory", "-o", "deps", "run", "UP_FLAGS="+flags)
			mk.Dir = root
			logs := &syncbuf.Buffer{}
			mk.Stdout, mk.Stderr = logs, logs
			mk.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			if err := mk.Start(); err != nil {
				t.Fatal(err)
			}
			done := waitFor(mk)
			t.Cleanup(func() {
				_ = syscall.Kill(-mk.Process.Pid, syscall.SIGKILL)
				<-done
				if t.Failed() {
					t.Logf("make run log (last lines):\n%s", logs.Tail(40))
				}
			})
			deadline := time.Now().Add(5 * time.Minute)
			for !strings.Contains(logs.String(), "edgewatch is running") {
				select {
				case <-done:
					t.Fatalf("make run exited before the pipeline ran:\n%s", logs.Tail(40))
				case <-time.After(100 * time.Millisecond):
				}
				if time.Now().After(deadline) {
					t.Fatalf("make run not running after 5 minutes:\n%s", logs.Tail(40))
				}
			}
			target := mk.Process.Pid
			if c.group {
				target = -target
			}
			began := time.Now()
			if err := syscall.Kill(target, c.sig); err != nil {
				t.Fatal(err)
			}
			for {
				left := edgewatchProcesses(programs...)
				if len(left) == 0 {
					break
				}
				if time.Since(began) > stopBound {
					for _, p := range left {
						_ = syscall.Kill(p.pid, syscall.SIGKILL)
					}
					t.Fatalf("%d edgewatch processes left %v after %s: %v", len(left), stopBound, c.name, left)
				}
				time.Sleep(20 * time.Millisecond)
			}
			took := time.Since(began)
			rig.portsFree(c.name)
			t.Logf("%s: every edgewatch process gone %v after the signal", c.name, took.Round(time.Millisecond))
		})
	}
}

// waitFor waits for cmd in the background; the channel closes when it exits.
func waitFor(cmd *exec.Cmd) chan struct{} {
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	return done
}
