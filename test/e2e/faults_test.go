//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Fault tests stop and start this machine's RabbitMQ and PostgreSQL with
// hack/services.sh, the commands CI uses, and always start them again.

// faultEnv keeps every detection of a camera in one incident however long a
// fault delays it, so the count of incidents tells loss from duplication.
var faultEnv = []string{"INCIDENT_GAP=10m", "INCIDENT_QUIET=30m"}

func services(t testing.TB, action string) {
	t.Helper()
	cmd := exec.Command("bash", filepath.Join(repoRoot(t), "hack", "services.sh"), action)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("services.sh %s: %v\n%s", action, err, out)
	}
}

// restartService stops a service, waits, and starts it again; the service is
// started again at cleanup whatever happens.
func restartService(t testing.TB, name string, down time.Duration) {
	t.Helper()
	t.Cleanup(func() { services(t, "start-"+name) })
	services(t, "stop-"+name)
	time.Sleep(down)
	services(t, "start-"+name)
}

// expectIncidents checks that every camera ends with exactly one incident
// holding every one of its detections, and one notification.
func expectIncidents(t *testing.T, p *pipeline, in *inbox, cams []string, perCamera int) {
	t.Helper()
	for _, cam := range cams {
		eventually(t, 3*time.Minute, fmt.Sprintf("%s: %d detections stored", cam, perCamera), func() bool {
			return detectionCount(p.db, cam) >= perCamera
		})
	}
	time.Sleep(2 * time.Second) // let redeliveries, if any, arrive
	for _, cam := range cams {
		if n := detectionCount(p.db, cam); n != perCamera {
			t.Errorf("%s: %d detections stored, want %d (each motion event once)", cam, n, perCamera)
		}
		rows := incidents(t, p.db, cam)
		if len(rows) != 1 || rows[0].hits != perCamera {
			t.Errorf("%s: incidents %+v, want exactly one with %d hits", cam, rows, perCamera)
		}
	}
	for _, cam := range cams {
		eventually(t, time.Minute, cam+": notification", func() bool { return in.count(cam) >= 1 })
		if n := in.count(cam); n != 1 {
			t.Errorf("%s: %d notifications, want 1", cam, n)
		}
	}
}

// faultScenario streams motion events from several cameras and runs fault
// while they flow.
func faultScenario(t *testing.T, o options, fault func(p *pipeline)) (*pipeline, *inbox) {
	in, v := newInbox(t), vlm(t)
	o.env = append(append(o.env, outsideEnv(in, v)...), faultEnv...)
	p := startPipeline(t, o)
	cams := []string{"cam-a", "cam-b", "cam-c"}
	const perCamera = 12
	ps := newPoster(t, p.brokerURL(), knifeCrop(t, 416))
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		ps.sendAll(ctx, t, cams, perCamera, 300*time.Millisecond, t.Name())
	}()
	// Strike once the stream is under way and incidents are opening.
	eventually(t, time.Minute, "first detections stored", func() bool { return detectionCount(p.db, "cam-a") >= 2 })
	fault(p)
	wg.Wait()
	expectIncidents(t, p, in, cams, perCamera)
	t.Logf("motion events: %d sends for %d events", ps.tries.Load(), len(cams)*perCamera)
	return p, in
}

func TestFaultRabbitMQRestart(t *testing.T) {
	faultScenario(t, options{}, func(p *pipeline) {
		restartService(t, "rabbitmq", 2*time.Second)
	})
}

func TestFaultPostgresRestart(t *testing.T) {
	faultScenario(t, options{}, func(p *pipeline) {
		restartService(t, "postgres", 3*time.Second)
	})
}

func TestFaultDetectKilledMidBatch(t *testing.T) {
	faultScenario(t, options{}, func(p *pipeline) {
		pattern := binary + " function detect"
		out, err := exec.Command("pkill", "-KILL", "-f", pattern).CombinedOutput()
		if err != nil {
			t.Fatalf("pkill %q: %v %s", pattern, err, out)
		}
		// The runner starts it again, as a cluster restarts a crashed pod.
		eventually(t, time.Minute, "detect started again", func() bool {
			return strings.Count(p.log.String(), `msg="process started" process=detect`) >= 2
		})
	})
}

// TestFaultAlertFailing cuts alert off its database for a while: alert
// answers 503, the broker retries, and every detection is stored once.
func TestFaultAlertFailing(t *testing.T) {
	proxy := newTCPProxy(t, "127.0.0.1:5432")
	faultScenario(t, options{databaseURL: "postgres://postgres@" + proxy.addr + "/DBNAME?sslmode=disable"}, func(p *pipeline) {
		proxy.cut()
		time.Sleep(6 * time.Second)
		if got := p.metric("alert", "edgewatch_alert_store_errors_total"); got < 1 {
			t.Errorf("alert counted %v store errors while its database was cut off", got)
		}
		proxy.restore(t)
	})
}

// TestFaultAlertPastRetryBudget cuts alert off its database for longer than
// the Triggers' retry budget: the events end on the dead-letter sink (alert
// itself), wait there until alert recovers, and are recorded as dead
// letters — and their detections still make the incidents, once each.
func TestFaultAlertPastRetryBudget(t *testing.T) {
	dir := shortBudgetTriggers(t)
	proxy := newTCPProxy(t, "127.0.0.1:5432")
	p, _ := faultScenario(t, options{triggers: dir, databaseURL: "postgres://postgres@" + proxy.addr + "/DBNAME?sslmode=disable"}, func(p *pipeline) {
		proxy.cut()
		eventually(t, time.Minute, "events dead-lettered by the broker", func() bool {
			return p.metricPort(p.ports.metrics(), "edgewatch_broker_dead_letters_total") >= 1
		})
		proxy.restore(t)
	})
	var n int
	if err := p.db.QueryRow(`SELECT count(*) FROM dead_letters`).Scan(&n); err != nil || n == 0 {
		t.Fatalf("dead letters recorded: %d, %v", n, err)
	}
	t.Logf("dead letters recorded and folded into incidents: %d", n)
}

// TestFaultCameraCut cuts a live MJPEG camera and restores it: motion-source
// reconnects with backoff, events flow again, and the object stays one
// incident.
func TestFaultCameraCut(t *testing.T) {
	in, v := newInbox(t), vlm(t)
	cam := newMJPEGCamera(t, movingBlueFrames(t, 640, 360, 90))
	cameras := fmt.Sprintf(`[{"id":"cam-live","url":%q,"fps":5,"cooldown":"200ms"}]`, cam.url())
	p := startPipeline(t, options{env: append(outsideEnv(in, v), append(faultEnv, "RECONNECT_BACKOFF=200ms", "RECONNECT_BACKOFF_MAX=2s")...), cameras: cameras})
	eventually(t, time.Minute, "an incident from the live camera", func() bool { return len(incidents(t, p.db, "cam-live")) == 1 })
	t.Logf("frames analysed %v, motion events sent %v", p.metric("motion-source", "edgewatch_motion_source_frames_analysed_total"),
		p.metric("motion-source", "edgewatch_motion_source_events_sent_total"))
	cam.cut()
	time.Sleep(3 * time.Second)
	before := detectionCount(p.db, "cam-live")
	cam.restore(t)
	eventually(t, time.Minute, "motion-source reconnected", func() bool {
		return p.metric("motion-source", "edgewatch_motion_source_reconnects_total") >= 1
	})
	eventually(t, time.Minute, "detections after the camera came back", func() bool { return detectionCount(p.db, "cam-live") > before })
	if rows := incidents(t, p.db, "cam-live"); len(rows) != 1 {
		t.Fatalf("incidents after the cut: %+v, want the same one", rows)
	}
	if n := in.count("cam-live"); n != 1 {
		t.Fatalf("%d notifications, want 1", n)
	}
}

// shortBudgetTriggers copies the committed Triggers with a retry budget of
// about a second, so a test can outlast it.
func shortBudgetTriggers(t testing.TB) string {
	t.Helper()
	src := filepath.Join(repoRoot(t), "config", "triggers")
	dst := t.TempDir()
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		s := string(data)
		var out []string
		for _, line := range strings.Split(s, "\n") {
			trimmed := strings.TrimSpace(line)
			indent := line[:len(line)-len(strings.TrimLeft(line, " "))]
			switch {
			case strings.HasPrefix(trimmed, "retry:"):
				line = indent + "retry: 2"
			case strings.HasPrefix(trimmed, "backoffDelay:"):
				line = indent + "backoffDelay: PT0.2S"
			case strings.HasPrefix(trimmed, "timeout:"):
				line = indent + "timeout: PT5S"
			}
			out = append(out, line)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), []byte(strings.Join(out, "\n")), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// tcpProxy stands between alert and PostgreSQL so a test can cut alert off
// its database without stopping the shared server.
type tcpProxy struct {
	addr, target string
	mu           sync.Mutex
	ln           net.Listener
	conns        map[net.Conn]bool
}

func newTCPProxy(t testing.TB, target string) *tcpProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpProxy{addr: ln.Addr().String(), target: target, ln: ln, conns: map[net.Conn]bool{}}
	go p.accept(ln)
	t.Cleanup(p.cut)
	return p
}

func (p *tcpProxy) accept(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go p.pipe(c)
	}
}

func (p *tcpProxy) pipe(c net.Conn) {
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	p.conns[c], p.conns[up] = true, true
	p.mu.Unlock()
	go func() { _, _ = io.Copy(up, c); up.Close() }()
	_, _ = io.Copy(c, up)
	c.Close()
}

// cut refuses new connections and breaks the open ones.
func (p *tcpProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
		delete(p.conns, c)
	}
}

// restore accepts connections again on the same address.
func (p *tcpProxy) restore(t testing.TB) {
	t.Helper()
	var ln net.Listener
	var err error
	for i := 0; i < 50; i++ {
		if ln, err = net.Listen("tcp", p.addr); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go p.accept(ln)
}
