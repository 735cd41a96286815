//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"

	"github.com/edgewatch/edgewatch/functions/caption/vlmtest"
	"github.com/edgewatch/edgewatch/internal/contract"
)

// inbox is a generic-webhook receiver: the team's chat or pager.
type inbox struct {
	srv  *httptest.Server
	mu   sync.Mutex
	msgs []map[string]any
}

func newInbox(t testing.TB) *inbox {
	in := &inbox{}
	in.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m map[string]any
		if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		in.mu.Lock()
		in.msgs = append(in.msgs, m)
		in.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(in.srv.Close)
	return in
}

// count returns how many notifications mention the camera.
func (in *inbox) count(camera string) int {
	in.mu.Lock()
	defer in.mu.Unlock()
	n := 0
	for _, m := range in.msgs {
		raw, _ := json.Marshal(m)
		if bytes.Contains(raw, []byte(`"camera":"`+camera+`"`)) {
			n++
		}
	}
	return n
}

// vlm starts the chat-completions stand-in the tests watch.
func vlm(t testing.TB) *vlmtest.Server {
	s := vlmtest.NewServer(vlmtest.Options{})
	t.Cleanup(s.Close)
	return s
}

// outsideEnv points the runner at the test's own stand-ins.
func outsideEnv(in *inbox, v *vlmtest.Server) []string {
	return []string{"NOTIFY_WEBHOOK_URL=" + in.srv.URL + "/", "VLM_URL=" + v.URL, "VLM_MODEL=" + vlmtest.Model}
}

// knifeCrop is a real JPEG crop as motion-source sends it: a street-grey
// background with a solid blue object, which the demo model reports as a
// knife.
func knifeCrop(t testing.TB, size int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, size, size))
	draw.Draw(img, img.Bounds(), &image.Uniform{color.RGBA{118, 112, 104, 255}}, image.Point{}, draw.Src)
	q := size / 4
	draw.Draw(img, image.Rect(q, q, 3*q, 3*q), &image.Uniform{color.RGBA{0, 0, 255, 255}}, image.Point{}, draw.Src)
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 85}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// movingBlueFrames renders JPEG frames of a street-grey scene that stays
// empty for the first third of the frames (the motion gate calibrates on
// it), then a blue object crossing it, for a live camera.
func movingBlueFrames(t testing.TB, w, h, n int) [][]byte {
	t.Helper()
	frames := make([][]byte, n)
	size := h / 4
	empty := n / 3
	for i := range frames {
		img := image.NewRGBA(image.Rect(0, 0, w, h))
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				v := uint8(70 + 60*y/h + (x*7+y*13)%11) // a textured street-grey scene
				img.SetRGBA(x, y, color.RGBA{v + 10, v, v - 10, 255})
			}
		}
		if i >= empty {
			x := (i - empty) * (w - size) / (n - empty)
			draw.Draw(img, image.Rect(x, h/3, x+size, h/3+size), &image.Uniform{color.RGBA{0, 0, 255, 255}}, image.Point{}, draw.Src)
		}
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 85}); err != nil {
			t.Fatal(err)
		}
		frames[i] = buf.Bytes()
	}
	return frames
}

// poster sends motion events as a camera does: binary mode, the contract's
// extensions, and retries with backoff until the broker accepts (202).
type poster struct {
	target string
	client cloudevents.Client
	jpeg   []byte
	sent   sync.Map // motion id → time accepted
	tries  atomic.Int64
}

func newPoster(t testing.TB, brokerURL string, jpegCrop []byte) *poster {
	t.Helper()
	c, err := cloudevents.NewClientHTTP(cehttp.WithClient(http.Client{Timeout: 10 * time.Second}))
	if err != nil {
		t.Fatal(err)
	}
	return &poster{target: brokerURL, client: c, jpeg: jpegCrop}
}

// send posts one motion event and retries it until it is accepted or ctx ends.
func (p *poster) send(ctx context.Context, camera, id string) error {
	e := cloudevents.NewEvent()
	e.SetID(id)
	e.SetType(contract.TypeMotionDetected)
	e.SetSource(contract.CameraSource(camera))
	e.SetTime(time.Now())
	e.SetExtension(contract.ExtCamera, camera)
	e.SetExtension(contract.ExtRegionX, 100)
	e.SetExtension(contract.ExtRegionY, 80)
	e.SetExtension(contract.ExtRegionW, 416)
	e.SetExtension(contract.ExtRegionH, 416)
	e.SetExtension(contract.ExtFrameWidth, 1280)
	e.SetExtension(contract.ExtFrameHeight, 720)
	e.SetExtension(contract.ExtLat, "37.5665")
	e.SetExtension(contract.ExtLon, "126.978")
	_ = e.SetData(contract.ContentTypeJPEG, p.jpeg)
	backoff := 100 * time.Millisecond
	for {
		p.tries.Add(1)
		res := p.client.Send(cloudevents.ContextWithTarget(ctx, p.target), e)
		var status *cehttp.Result
		if cloudevents.IsACK(res) && (!cloudevents.ResultAs(res, &status) || status.StatusCode == http.StatusAccepted) {
			p.sent.Store(id, time.Now())
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("motion %s not accepted: %v (last: %v)", id, ctx.Err(), res)
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 2*time.Second)
	}
}

// sendAll posts events per camera, every interval, concurrently across cameras.
func (p *poster) sendAll(ctx context.Context, t testing.TB, cameras []string, perCamera int, interval time.Duration, prefix string) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, len(cameras)*perCamera)
	for _, cam := range cameras {
		wg.Add(1)
		go func(cam string) {
			defer wg.Done()
			for i := range perCamera {
				if err := p.send(ctx, cam, prefix+"-"+cam+"-"+strconv.Itoa(i)); err != nil {
					errs <- err
					return
				}
				time.Sleep(interval)
			}
		}(cam)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// mjpegCamera serves a live HTTP MJPEG stream that can be cut and restored,
// as a network camera that loses power would.
type mjpegCamera struct {
	addr   string
	frames [][]byte
	mu     sync.Mutex
	ln     net.Listener
	conns  map[net.Conn]bool
	srv    *http.Server
}

func newMJPEGCamera(t testing.TB, frames [][]byte) *mjpegCamera {
	t.Helper()
	c := &mjpegCamera{frames: frames, conns: map[net.Conn]bool{}}
	c.srv = &http.Server{Handler: http.HandlerFunc(c.serve), ConnState: func(conn net.Conn, s http.ConnState) {
		c.mu.Lock()
		defer c.mu.Unlock()
		if s == http.StateNew {
			c.conns[conn] = true
		} else if s == http.StateClosed || s == http.StateHijacked {
			delete(c.conns, conn)
		}
	}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c.addr = ln.Addr().String()
	c.ln = ln
	go func() { _ = c.srv.Serve(ln) }()
	t.Cleanup(func() { c.cut() })
	return c
}

func (c *mjpegCamera) url() string { return "http://" + c.addr + "/video.mjpg" }

func (c *mjpegCamera) serve(w http.ResponseWriter, r *http.Request) {
	const boundary = "edgewatchframe"
	w.Header().Set("Content-Type", "multipart/x-mixed-replace; boundary="+boundary)
	tick := time.NewTicker(40 * time.Millisecond)
	defer tick.Stop()
	for i := 0; ; i++ {
		f := c.frames[i%len(c.frames)]
		if _, err := fmt.Fprintf(w, "--%s\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n", boundary, len(f)); err != nil {
			return
		}
		if _, err := w.Write(f); err != nil {
			return
		}
		_, _ = io.WriteString(w, "\r\n")
		if fl, ok := w.(http.Flusher); ok {
			fl.Flush()
		}
		select {
		case <-r.Context().Done():
			return
		case <-tick.C:
		}
	}
}

// cut closes the listener and every open stream.
func (c *mjpegCamera) cut() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ln != nil {
		c.ln.Close()
		c.ln = nil
	}
	for conn := range c.conns {
		conn.Close()
	}
}

// restore listens again on the same address.
func (c *mjpegCamera) restore(t testing.TB) {
	t.Helper()
	var ln net.Listener
	var err error
	for i := 0; i < 50; i++ {
		if ln, err = net.Listen("tcp", c.addr); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	c.mu.Lock()
	c.ln = ln
	c.mu.Unlock()
	go func() { _ = c.srv.Serve(ln) }()
}
