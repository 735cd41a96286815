//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"

	"github.com/edgewatch/edgewatch/internal/contract"
)

// slowResult is how a server treated a request whose body trickled in.
type slowResult struct {
	held time.Duration // from the header to the server's answer or close
	sent int           // body bytes the server took meanwhile
	end  string        // the status line, or how the connection ended
	cut  bool          // false when the whole body went through
}

// trickle sends a POST to addr that declares a body of n bytes and sends it
// one byte every gap, until the server answers or closes the connection.
func trickle(t *testing.T, addr, tok string, n int, gap time.Duration) slowResult {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST / HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nCe-Specversion: 1.0\r\nCe-Id: slow\r\nCe-Type: %s\r\nCe-Source: /cameras/slow\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n",
		addr, tok, contract.TypeMotionDetected, n)
	start := time.Now()
	ended := make(chan string, 1)
	go func() {
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			ended <- "closed (" + err.Error() + ")"
			return
		}
		resp.Body.Close()
		ended <- resp.Status
	}()
	r := slowResult{}
	for r.sent < n {
		select {
		case end := <-ended:
			r.held, r.end, r.cut = time.Since(start), end, true
			return r
		case <-time.After(gap):
		}
		if _, err := conn.Write([]byte{0xff}); err != nil {
			r.held, r.end, r.cut = time.Since(start), "write failed ("+err.Error()+")", true
			return r
		}
		r.sent++
	}
	r.held, r.end = time.Since(start), <-ended
	return r
}

// TestHostileSlowBody trickles a request body into the broker ingress and
// into detect's activator, both at once, one byte every half second: each
// server must cut its connection, long before the declared body is sent.
func TestHostileSlowBody(t *testing.T) {
	p := startPipeline(t, options{scaleToZeroAfter: time.Minute})
	const n, gap = 240, 500 * time.Millisecond // two minutes of trickle
	targets := map[string]string{
		"broker ingress":   fmt.Sprintf("127.0.0.1:%d", p.ports.broker()),
		"detect activator": fmt.Sprintf("127.0.0.1:%d", p.ports.first()),
	}
	tok := token(t, filepath.Join(p.state, "tokens", "operator"))
	results := map[string]slowResult{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for name, addr := range targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := trickle(t, addr, tok, n, gap)
			mu.Lock()
			results[name] = r
			mu.Unlock()
		}()
	}
	wg.Wait()
	var outcome []string
	for _, name := range []string{"broker ingress", "detect activator"} {
		r := results[name]
		if !r.cut {
			t.Errorf("%s took a body trickled over %v whole: %s", name, r.held, r.end)
		}
		outcome = append(outcome, fmt.Sprintf("%s cut after %.1f s, %d of %d bytes (%s)", name, r.held.Seconds(), r.sent, n, r.end))
	}
	// The servers still take valid events.
	status, body := postEvent(t, p.brokerURL(), motionEvent("after-slow", "cam-hostile", knifeCrop(t, 416)))
	if status != http.StatusAccepted {
		t.Errorf("a valid event after the slow ones: %d %s", status, body)
	}
	reportHostile(t, hostileResult{
		Test:    "slow body (slowloris) to the broker ingress and detect's activator",
		Load:    "1 byte every 0.5 s of a declared 240 B body",
		Faults:  "2 connections at once",
		Inputs:  "2 slow requests",
		Lost:    0,
		Outcome: strings.Join(outcome, "; ") + "; read timeout 15 s; a valid event after: " + fmt.Sprint(status),
	})
}

// TestHostileOversizedBody declares and sends bodies far past the limits
// of the broker ingress (10 MiB) and detect (its largest image in base64
// plus the event): each is refused with 413 and a reason, the declared
// ones before a byte of the body is sent, and detect's memory stays put.
func TestHostileOversizedBody(t *testing.T) {
	p := startPipeline(t, options{scaleToZeroAfter: time.Minute})
	broker := fmt.Sprintf("127.0.0.1:%d", p.ports.broker())
	detect := fmt.Sprintf("127.0.0.1:%d", p.ports.first())
	tok := token(t, filepath.Join(p.state, "tokens", "operator"))
	var outcome []string
	tried := 0
	for _, c := range []struct {
		name, addr string
		declared   bool
		size       int
	}{
		{"broker, 1 GiB declared", broker, true, 1 << 30},
		{"broker, 24 MiB chunked", broker, false, 24 << 20},
		{"detect, 1 GiB declared", detect, true, 1 << 30},
		{"detect, 24 MiB chunked", detect, false, 24 << 20},
	} {
		tried++
		status, reason := oversized(t, c.addr, tok, c.declared, c.size)
		if status != http.StatusRequestEntityTooLarge || !strings.Contains(reason, "limit") {
			t.Errorf("%s: %d %q, want 413 naming the limit", c.name, status, reason)
		}
		outcome = append(outcome, fmt.Sprintf("%s: %d", c.name, status))
	}
	rss := p.metric("detect", "process_resident_memory_bytes")
	// Nothing valid is refused: a motion event of the usual size goes through detect.
	status, body := postEvent(t, p.brokerURL(), motionEvent("after-big", "cam-hostile", knifeCrop(t, 416)))
	if status != http.StatusAccepted {
		t.Fatalf("a valid event after the oversized ones: %d %s", status, body)
	}
	lost := 0
	deadline := time.Now().Add(2 * time.Minute)
	for {
		var n int
		_ = p.db.QueryRow(`SELECT count(*) FROM detections WHERE motion_id = 'after-big'`).Scan(&n)
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			lost = 1
			t.Error("the valid motion event after the oversized ones made no detection")
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	reportHostile(t, hostileResult{
		Test:    "oversized bodies to the broker ingress and detect",
		Load:    "1 valid motion event after",
		Faults:  "-",
		Inputs:  fmt.Sprintf("%d bodies (1 GiB declared, 24 MiB chunked)", tried),
		Lost:    lost,
		Outcome: strings.Join(outcome, "; ") + fmt.Sprintf("; detect RSS %.0f MiB after", rss/(1<<20)),
	})
}

// oversized posts a body of size bytes to addr, declared in its header or
// chunked, and returns the status and the reason the server gave.
func oversized(t *testing.T, addr, tok string, declared bool, size int) (int, string) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	length := fmt.Sprintf("Content-Length: %d", size)
	if !declared {
		length = "Transfer-Encoding: chunked"
	}
	fmt.Fprintf(conn, "POST / HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nCe-Specversion: 1.0\r\nCe-Id: big\r\nCe-Type: %s\r\nCe-Source: /cameras/big\r\nContent-Type: image/jpeg\r\n%s\r\n\r\n",
		addr, tok, contract.TypeMotionDetected, length)
	if !declared {
		go func() {
			chunk := bytes.Repeat([]byte{0xff}, 64<<10)
			for sent := 0; sent < size; sent += len(chunk) {
				if _, err := fmt.Fprintf(conn, "%x\r\n%s\r\n", len(chunk), chunk); err != nil {
					return // the server answered and closed
				}
			}
			_, _ = io.WriteString(conn, "0\r\n\r\n")
		}()
	}
	_ = conn.SetReadDeadline(time.Now().Add(3 * time.Minute))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("%s: no answer: %v", addr, err)
	}
	defer resp.Body.Close()
	reason, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return resp.StatusCode, strings.TrimSpace(string(reason))
}

// TestHostileForgedEvents sends each event type of the contract with every
// function's token: only the producer the EventPolicies name is taken,
// every other sender is refused with 403 and the policy that forbids it,
// no token with 401; a detection sent with detect's token is stored.
func TestHostileForgedEvents(t *testing.T) {
	p := startPipeline(t, options{})
	producers := map[string]string{
		contract.TypeMotionDetected: "motion-source",
		contract.TypeDetectionKnife: "detect",
		contract.TypeIncidentOpened: "alert",
		contract.TypeCaptionCreated: "caption",
		contract.TypeDetectionFire:  "detect",
	}
	senders := []string{"motion-source", "detect", "alert", "caption"}
	forged, refused, forbidden, valid, accepted := 0, 0, 0, 0, 0
	var reasons []string
	for typ, producer := range producers {
		for _, sender := range append(senders, "") {
			url := fmt.Sprintf("http://127.0.0.1:%d/", p.ports.broker())
			if sender != "" {
				url = senderURL(t, p, sender)
			}
			e := eventOfType(t, typ, sender)
			status, body := postEvent(t, url, e)
			switch {
			case sender == producer:
				valid++
				if status == http.StatusAccepted {
					accepted++
				} else {
					t.Errorf("%s from its producer %s: %d %s", typ, sender, status, body)
				}
			case sender == "":
				forged++
				if status == http.StatusUnauthorized {
					refused++
				} else {
					t.Errorf("%s without a token: %d %s, want 401", typ, status, body)
				}
			default:
				forged++
				if status == http.StatusForbidden && strings.Contains(body, "EventPolicy") {
					refused++
					forbidden++
					if len(reasons) == 0 {
						reasons = append(reasons, body)
					}
				} else {
					t.Errorf("%s forged by %s: %d %s, want 403 naming the EventPolicy", typ, sender, status, body)
				}
			}
		}
	}
	// The detection sent with detect's token went all the way to alert.
	eventually(t, time.Minute, "the detection sent with detect's token stored", func() bool {
		var n int
		_ = p.db.QueryRow(`SELECT count(*) FROM detections WHERE event_id = $1`, "forge-detect-"+contract.TypeDetectionKnife).Scan(&n)
		return n == 1
	})
	if got := p.metricPort(p.ports.metrics(), "edgewatch_broker_ingress_rejected_total", `reason="forbidden"`); int(got) != forbidden {
		t.Errorf("rejected{forbidden} = %v, want %d", got, forbidden)
	}
	reportHostile(t, hostileResult{
		Test:    "forged events: every type with every function's token and none",
		Load:    fmt.Sprintf("%d valid events from their producers", valid),
		Faults:  "-",
		Inputs:  fmt.Sprintf("%d forged events", forged),
		Lost:    valid - accepted,
		Outcome: fmt.Sprintf("%d of %d forged refused (403 wrong sender, 401 no token); %d of %d valid taken; e.g. %q", refused, forged, accepted, valid, reasons),
	})
}

// senderURL is the broker ingress with a function's token as user info.
func senderURL(t *testing.T, p *pipeline, name string) string {
	return fmt.Sprintf("http://%s:%s@127.0.0.1:%d/", name, token(t, filepath.Join(p.state, "tokens", name)), p.ports.broker())
}

func token(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// eventOfType is a well-formed event of typ, as sender would send it.
func eventOfType(t *testing.T, typ, sender string) cloudevents.Event {
	t.Helper()
	if typ == contract.TypeMotionDetected {
		return motionEvent("forge-"+sender+"-"+typ, "cam-hostile", knifeCrop(t, 416))
	}
	e := cloudevents.NewEvent()
	e.SetID("forge-" + sender + "-" + typ)
	e.SetType(typ)
	e.SetSource(contract.CameraSource("cam-forge"))
	e.SetTime(time.Now())
	e.SetExtension(contract.ExtCamera, "cam-forge")
	var data []byte
	switch {
	case strings.HasPrefix(typ, contract.DetectionTypePrefix):
		e.SetExtension(contract.ExtClass, strings.TrimPrefix(typ, contract.DetectionTypePrefix))
		var d contract.Detection
		if err := json.Unmarshal(cameraDetection(t, "cam-forge", knifeCrop(t, 416)), &d); err != nil {
			t.Fatal(err)
		}
		d.MotionID = "forge-motion-" + sender
		data, _ = json.Marshal(d)
	case typ == contract.TypeCaptionCreated:
		e.SetExtension(contract.ExtIncident, "1")
		data, _ = json.Marshal(contract.Caption{IncidentID: "1", Camera: "cam-forge", Class: "knife", Caption: "forged", Model: "none", CreatedAt: time.Now().UTC()})
	default:
		e.SetExtension(contract.ExtIncident, "1")
		data = []byte(`{}`)
	}
	_ = e.SetData(contract.ContentTypeJSON, data)
	return e
}

// postEvent posts e in binary mode and returns the status and the body.
func postEvent(t *testing.T, url string, e cloudevents.Event) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(e.Data()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", e.DataContentType())
	req.Header.Set("Ce-Specversion", "1.0")
	req.Header.Set("Ce-Id", e.ID())
	req.Header.Set("Ce-Type", e.Type())
	req.Header.Set("Ce-Source", e.Source())
	req.Header.Set("Ce-Time", e.Time().Format(time.RFC3339Nano))
	for k, v := range e.Extensions() {
		req.Header.Set("Ce-"+k, fmt.Sprint(v))
	}
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return resp.StatusCode, strings.TrimSpace(string(body))
}

// TestHostileCrashLoopBackoffReset crashes caption four times in a row, as
// a crash loop would, then lets it run for a healthy minute and crashes it
// once more: the runner's restart delays double in the loop and start again
// from the shortest after the healthy minute.
func TestHostileCrashLoopBackoffReset(t *testing.T) {
	p := startPipeline(t, options{})
	started := regexp.MustCompile(`msg="process started" process=caption pid=(\d+)`)
	died := regexp.MustCompile(`msg="process died; restarting" process=caption after=(\S+)`)
	crash := func() {
		t.Helper()
		m := started.FindAllStringSubmatch(p.log.String(), -1)
		if len(m) == 0 {
			t.Fatal("caption never started")
		}
		pid, _ := strconv.Atoi(m[len(m)-1][1])
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatalf("kill caption (pid %d): %v", pid, err)
		}
		eventually(t, time.Minute, "caption started again", func() bool {
			return len(started.FindAllStringSubmatch(p.log.String(), -1)) == len(m)+1
		})
	}
	for range 4 {
		crash()
	}
	time.Sleep(65 * time.Second) // a healthy minute
	crash()
	var delays []string
	for _, m := range died.FindAllStringSubmatch(p.log.String(), -1) {
		delays = append(delays, m[1])
	}
	want := []string{"500ms", "1s", "2s", "4s", "500ms"}
	if strings.Join(delays, " ") != strings.Join(want, " ") {
		t.Errorf("restart delays %v, want %v (doubling in the loop, from 0.5 s again after a healthy minute)", delays, want)
	}
	status, body := postEvent(t, p.brokerURL(), motionEvent("after-crashes", "cam-hostile", knifeCrop(t, 416)))
	if status != http.StatusAccepted {
		t.Errorf("a valid event after the crashes: %d %s", status, body)
	}
	reportHostile(t, hostileResult{
		Test:    "crash loop, then a healthy minute, then one more crash (caption)",
		Load:    "-",
		Faults:  "5 × SIGKILL",
		Inputs:  "-",
		Lost:    0,
		Outcome: "restart delays " + strings.Join(delays, ", ") + " (without the reset the last would be 8s)",
	})
}
