package function

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgewatch/edgewatch/functions/motion-source/samplevideo"
	"gocv.io/x/gocv"
)

// rtspCamera is a small RTSP camera on 127.0.0.1:0 speaking the real wire
// protocol: RTSP 1.0 (OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN) with RTP
// interleaved over the TCP connection, carrying JPEG frames as RFC 2435
// payloads (type 1, 4:2:0, quantisation tables in band). It refuses UDP
// transports with 461 and records every Transport header it was asked for.
type rtspCamera struct {
	ln         net.Listener
	frames     []rtpJPEG
	fps        float64
	transports []string
	mu         sync.Mutex
	plays      atomic.Int64
}

// rtpJPEG is one frame split for RFC 2435.
type rtpJPEG struct {
	width, height int
	qtables       []byte // luma then chroma, 64 bytes each
	scan          []byte // entropy-coded data, EOI stripped
}

func newRTSPCamera(t *testing.T, scene samplevideo.Scene) *rtspCamera {
	t.Helper()
	r := samplevideo.NewRenderer(scene)
	defer r.Close()
	img := gocv.NewMat()
	defer img.Close()
	c := &rtspCamera{fps: scene.FPS}
	for i := 0; i < scene.Frames; i++ {
		r.Render(i, &img)
		buf, err := gocv.IMEncode(gocv.JPEGFileExt, img)
		if err != nil {
			t.Fatal(err)
		}
		// Copy out of the C buffer before it is freed: the frame keeps slices of it.
		f, err := splitJPEG(append([]byte(nil), buf.GetBytes()...))
		buf.Close()
		if err != nil {
			t.Fatal(err)
		}
		c.frames = append(c.frames, f)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c.ln = ln
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() { defer wg.Done(); c.serve(conn) }()
		}
	}()
	return c
}

func (c *rtspCamera) url(userinfo string) string {
	return "rtsp://" + userinfo + c.ln.Addr().String() + "/cam"
}

func (c *rtspCamera) seen() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.transports...)
}

// splitJPEG takes a baseline JPEG apart into what RFC 2435 carries.
func splitJPEG(b []byte) (rtpJPEG, error) {
	var f rtpJPEG
	if len(b) < 4 || b[0] != 0xff || b[1] != 0xd8 {
		return f, errors.New("not a JPEG")
	}
	tables := map[byte][]byte{}
	for i := 2; i+4 <= len(b); {
		if b[i] != 0xff {
			return f, fmt.Errorf("no marker at %d", i)
		}
		marker := b[i+1]
		n := int(binary.BigEndian.Uint16(b[i+2:]))
		seg := b[i+4 : i+2+n]
		switch marker {
		case 0xdb: // DQT: one or more 8-bit tables
			for j := 0; j+65 <= len(seg); j += 65 {
				if seg[j]>>4 != 0 {
					return f, errors.New("16-bit quantisation table")
				}
				tables[seg[j]&0x0f] = seg[j+1 : j+65]
			}
		case 0xc0: // SOF0
			f.height = int(binary.BigEndian.Uint16(seg[1:]))
			f.width = int(binary.BigEndian.Uint16(seg[3:]))
			if seg[5] != 3 || seg[7] != 0x22 {
				return f, errors.New("want 3 components, 4:2:0")
			}
		case 0xdd:
			return f, errors.New("restart intervals are not supported here")
		case 0xda: // SOS: the scan follows to EOI
			scan := b[i+2+n:]
			if len(scan) >= 2 && scan[len(scan)-2] == 0xff && scan[len(scan)-1] == 0xd9 {
				scan = scan[:len(scan)-2]
			}
			f.scan = scan
			f.qtables = append(append([]byte(nil), tables[0]...), tables[1]...)
			if len(f.qtables) != 128 {
				return f, errors.New("want two quantisation tables")
			}
			return f, nil
		}
		i += 2 + n
	}
	return f, errors.New("no scan")
}

func (c *rtspCamera) serve(conn net.Conn) {
	defer conn.Close()
	rd := bufio.NewReader(conn)
	var wmu sync.Mutex
	write := func(p []byte) error {
		wmu.Lock()
		defer wmu.Unlock()
		_ = conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
		_, err := conn.Write(p)
		return err
	}
	stop := make(chan struct{})
	defer close(stop)
	playing := false
	for {
		first, err := rd.Peek(1)
		if err != nil {
			return
		}
		if first[0] == '$' { // interleaved RTCP from the client: skip
			hdr := make([]byte, 4)
			if _, err := io.ReadFull(rd, hdr); err != nil {
				return
			}
			if _, err := rd.Discard(int(binary.BigEndian.Uint16(hdr[2:]))); err != nil {
				return
			}
			continue
		}
		req, err := http.ReadRequest(rdWithProto(rd))
		if err != nil {
			return
		}
		_, _ = io.Copy(io.Discard, req.Body)
		cseq := req.Header.Get("Cseq")
		reply := func(status string, headers ...string) error {
			msg := "RTSP/1.0 " + status + "\r\nCSeq: " + cseq + "\r\n"
			for _, h := range headers {
				msg += h + "\r\n"
			}
			return write([]byte(msg + "\r\n"))
		}
		switch req.Method {
		case "OPTIONS":
			err = reply("200 OK", "Public: OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN")
		case "DESCRIBE":
			sdp := "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=edgewatch test camera\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\n" +
				"m=video 0 RTP/AVP 26\r\na=control:track1\r\n"
			err = reply("200 OK", "Content-Type: application/sdp", "Content-Base: "+c.url("")+"/",
				"Content-Length: "+strconv.Itoa(len(sdp)))
			if err == nil {
				err = write([]byte(sdp))
			}
		case "SETUP":
			tr := req.Header.Get("Transport")
			c.mu.Lock()
			c.transports = append(c.transports, tr)
			c.mu.Unlock()
			if !strings.Contains(tr, "RTP/AVP/TCP") {
				err = reply("461 Unsupported Transport")
				break
			}
			err = reply("200 OK", "Transport: RTP/AVP/TCP;unicast;interleaved=0-1", "Session: 12345678;timeout=60")
		case "PLAY":
			err = reply("200 OK", "Session: 12345678")
			if err == nil && !playing {
				playing = true
				c.plays.Add(1)
				go c.stream(write, stop)
			}
		case "TEARDOWN":
			_ = reply("200 OK", "Session: 12345678")
			return
		default:
			err = reply("200 OK", "Session: 12345678") // GET_PARAMETER keep-alives and the like
		}
		if err != nil {
			return
		}
	}
}

// rdWithProto lets net/http parse an RTSP request line: it rewrites the
// protocol version RTSP/1.0 as HTTP/1.0 on the fly.
func rdWithProto(rd *bufio.Reader) *bufio.Reader {
	line, err := rd.ReadString('\n')
	if err != nil {
		return bufio.NewReader(strings.NewReader(""))
	}
	line = strings.Replace(line, "RTSP/1.0", "HTTP/1.0", 1)
	return bufio.NewReader(io.MultiReader(strings.NewReader(line), rd))
}

// stream sends the frames as RTP over the interleaved channel 0, in a loop,
// at the camera's frame rate.
func (c *rtspCamera) stream(write func([]byte) error, stop <-chan struct{}) {
	tick := time.NewTicker(time.Duration(float64(time.Second) / c.fps))
	defer tick.Stop()
	var seq uint16
	for i := 0; ; i++ {
		f := c.frames[i%len(c.frames)]
		ts := uint32(float64(i) * 90000 / c.fps)
		const chunk = 1400
		for off := 0; off < len(f.scan); off += chunk {
			end := min(off+chunk, len(f.scan))
			pkt := make([]byte, 0, 12+8+132+chunk)
			mark := byte(0)
			if end == len(f.scan) {
				mark = 0x80
			}
			pkt = append(pkt, 0x80, mark|26, byte(seq>>8), byte(seq), byte(ts>>24), byte(ts>>16), byte(ts>>8), byte(ts), 0, 0, 0x12, 0x34)
			seq++
			pkt = append(pkt, 0, byte(off>>16), byte(off>>8), byte(off), 1, 255, byte(f.width/8), byte(f.height/8))
			if off == 0 {
				pkt = append(pkt, 0, 0, 0, 128)
				pkt = append(pkt, f.qtables...)
			}
			pkt = append(pkt, f.scan[off:end]...)
			frame := append([]byte{'$', 0, byte(len(pkt) >> 8), byte(len(pkt))}, pkt...)
			if err := write(frame); err != nil {
				return
			}
		}
		select {
		case <-stop:
			return
		case <-tick.C:
		}
	}
}

func TestRTSPCameraOverTCP(t *testing.T) {
	sk := newSink(t, http.StatusOK)
	cam := newRTSPCamera(t, samplevideo.Scene{FPS: 25, Frames: 50, Object: true, ObjectStart: 5})
	const password = "rtsp-Secret-9"
	s, reg, logs := started(t, map[string]string{
		KeySink:             sk.srv.URL,
		KeyReconnectInitial: "50ms",
		"LOBBY_PASSWORD":    password,
		KeyCameras: fmt.Sprintf(`[
  {"id": "lobby", "url": "rtsp://admin:${LOBBY_PASSWORD}@%s/cam", "transport": "tcp"},
  {"id": "lobby-udp", "url": "rtsp://admin:${LOBBY_PASSWORD}@%s/cam", "transport": "udp"}
]`, cam.ln.Addr(), cam.ln.Addr()),
	})
	t0 := time.Now()
	eventually(t, 30*time.Second, "the RTSP camera to be ready", func() bool { p, _ := status(t, s); return camStatus(p, "lobby").Ready })
	t.Logf("ready after %v", time.Since(t0))
	eventually(t, 30*time.Second, "motion events from the RTSP camera", func() bool {
		return len(sk.byCamera()["lobby"]) >= 3 &&
			metric(t, reg, "edgewatch_motion_source_stream_errors_total", map[string]string{"camera": "lobby-udp", "kind": "open"}) >= 2
	})
	page, raw := status(t, s)
	if !camStatus(page, "lobby").Ready || camStatus(page, "lobby-udp").Ready {
		t.Errorf("status: %s", raw)
	}
	var tcp, udp int
	for _, tr := range cam.seen() {
		if strings.Contains(tr, "RTP/AVP/TCP") {
			tcp++
		} else if strings.Contains(tr, "client_port") {
			udp++
		}
	}
	if tcp == 0 || udp == 0 {
		t.Errorf("transports asked for: %q; want TCP from one camera and UDP from the other", cam.seen())
	}
	dec := metric(t, reg, "edgewatch_motion_source_frames_decoded_total", map[string]string{"camera": "lobby"})
	an := metric(t, reg, "edgewatch_motion_source_frames_analysed_total", map[string]string{"camera": "lobby"})
	if an == 0 || dec < 3*an {
		t.Errorf("%v decoded, %v analysed", dec, an)
	}
	if strings.Contains(logs.String(), password) || strings.Contains(raw, password) {
		t.Error("the RTSP password leaked into logs or status")
	}
}

// A camera that accepts connections and never answers must not hold up the
// other cameras' opens.
func TestHangingCameraDoesNotBlockOthers(t *testing.T) {
	sk := newSink(t, http.StatusOK)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var held []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range held {
			c.Close()
		}
		mu.Unlock()
	})
	s, reg, logs := started(t, map[string]string{
		KeySink: sk.srv.URL,
		KeyCameras: fmt.Sprintf(`[
  {"id": "mute-a", "url": "rtsp://%s/a"},
  {"id": "mute-b", "url": "rtsp://%s/b", "transport": "tcp"},
  {"id": "hall", "url": %q}
]`, ln.Addr(), ln.Addr(), clip(t, "hall.avi", samplevideo.Scene{Frames: 25})),
	})
	start := time.Now()
	eventually(t, 5*time.Second, "the file camera to be ready while the mute ones hang in open", func() bool {
		p, _ := status(t, s)
		return camStatus(p, "hall").Ready
	})
	p, _ := status(t, s)
	if camStatus(p, "mute-a").Ready || camStatus(p, "mute-b").Ready {
		t.Fatal("a mute camera is ready")
	}
	t.Logf("file camera ready after %v", time.Since(start))
	eventually(t, 10*time.Second, "the mute cameras' probes to fail and be counted", func() bool {
		return metric(t, reg, "edgewatch_motion_source_stream_errors_total", map[string]string{"camera": "mute-a", "kind": "open"}) >= 1 &&
			metric(t, reg, "edgewatch_motion_source_stream_errors_total", map[string]string{"camera": "mute-b", "kind": "open"}) >= 1
	})
	if !strings.Contains(logs.String(), "no answer to RTSP OPTIONS") {
		t.Errorf("the probe failure is not logged:\n%.3000s", logs)
	}
}
