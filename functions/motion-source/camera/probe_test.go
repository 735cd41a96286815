package camera

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// answering serves one canned answer to every connection's first line.
func answering(t *testing.T, answer string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				if _, err := bufio.NewReader(c).ReadString('\n'); err == nil {
					_, _ = c.Write([]byte(answer))
				}
			}()
		}
	}()
	return ln.Addr().String()
}

func TestProbe(t *testing.T) {
	web := httptest.NewServer(http.NotFoundHandler())
	defer web.Close()
	cases := []struct {
		name, url string
		ok        bool
		errHas    string
	}{
		{"rtsp 401 is alive", "rtsp://u:p@" + answering(t, "RTSP/1.0 401 Unauthorized\r\nCSeq: 1\r\n\r\n") + "/s", true, ""},
		{"rtsp 200", "rtsp://" + answering(t, "RTSP/1.0 200 OK\r\nCSeq: 1\r\n\r\n") + "/s", true, ""},
		{"http server at an rtsp url", "rtsp://" + answering(t, "HTTP/1.1 400 Bad Request\r\n\r\n") + "/s", false, "not an RTSP server"},
		{"refused", "rtsp://127.0.0.1:1/s", false, "refused"},
		{"http", web.URL + "/video.mjpg", true, ""},
		{"http refused", "http://127.0.0.1:1/video.mjpg", false, "refused"},
		{"file", "/no/such/file.avi", true, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src, err := ParseSource(c.url)
			if err != nil {
				t.Fatal(err)
			}
			err = probe(context.Background(), src)
			if (err == nil) != c.ok || err != nil && !strings.Contains(err.Error(), c.errHas) {
				t.Fatalf("probe(%s) = %v", c.url, err)
			}
			if err != nil && strings.Contains(err.Error(), ":p@") {
				t.Fatalf("credentials in %v", err)
			}
		})
	}
}
