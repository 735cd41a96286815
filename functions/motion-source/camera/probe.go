package camera

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"strings"
	"time"
)

// checkFile tells a missing or unreadable video file from one OpenCV cannot
// decode, which FFmpeg reports alike.
func checkFile(src Source) error {
	if src.Kind != KindFile {
		return nil
	}
	st, err := os.Stat(src.Target)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("file not found: %s", src.Target)
	case err != nil:
		return fmt.Errorf("cannot read the file: %w", err)
	case st.IsDir():
		return fmt.Errorf("%s is a directory, not a video file", src.Target)
	}
	f, err := os.Open(src.Target)
	if err != nil {
		return fmt.Errorf("cannot read the file: %w", err)
	}
	return f.Close()
}

// probeTimeout bounds a probe of a network camera.
const probeTimeout = 3 * time.Second

// probe checks, in Go and within probeTimeout, that a network camera answers
// before OpenCV is asked to open it. OpenCV's FFmpeg backend opens captures
// under one process-wide lock, so a camera that is down (packets dropped) or
// mute (connection accepted, no answer) would otherwise hold up the
// (re)connection of every other camera for FFmpeg's whole timeout.
//
// RTSP: a TCP connection and an answer to OPTIONS (any status, 401 included).
// HTTP(S): a TCP connection. Other kinds are not probed.
func probe(ctx context.Context, src Source) error {
	if src.Kind != KindRTSP && src.Kind != KindHTTP {
		return nil
	}
	u, err := url.Parse(src.Target)
	if err != nil {
		return fmt.Errorf("probe: bad url")
	}
	host := u.Host
	if u.Port() == "" {
		port := map[string]string{"rtsp": "554", "rtsps": "322", "http": "80", "https": "443"}[strings.ToLower(u.Scheme)]
		host = net.JoinHostPort(u.Hostname(), port)
	}
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", host)
	if err != nil {
		return fmt.Errorf("probe: %w", err)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() }) // unblock the read on cancel
	defer stop()
	if src.Kind != KindRTSP || strings.EqualFold(u.Scheme, "rtsps") {
		return nil
	}
	deadline, _ := ctx.Deadline()
	_ = conn.SetDeadline(deadline)
	noUser := *u
	noUser.User = nil
	if _, err := fmt.Fprintf(conn, "OPTIONS %s RTSP/1.0\r\nCSeq: 1\r\nUser-Agent: edgewatch-probe\r\n\r\n", noUser.String()); err != nil {
		return fmt.Errorf("probe: %w", err)
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return fmt.Errorf("probe: no answer to RTSP OPTIONS within %v: %w", probeTimeout, err)
	}
	if !strings.HasPrefix(line, "RTSP/") {
		return fmt.Errorf("probe: not an RTSP server (answered %q)", strings.TrimSpace(line))
	}
	return nil
}
