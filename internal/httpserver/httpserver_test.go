package httpserver

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestBoundedCutsATricklingBody sends a body one byte at a time,
// far slower than the read timeout allows, and expects the server to answer
// or close the connection before the body is complete.
func TestBoundedCutsATricklingBody(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := Bounded(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.ReadAll(r.Body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}), 300*time.Millisecond, time.Second)
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()

	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	const bodyLen = 100
	fmt.Fprintf(conn, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", bodyLen)
	sent := 0
	closed := make(chan string, 1)
	go func() {
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			closed <- "closed: " + err.Error()
			return
		}
		closed <- resp.Status
	}()
	for sent < bodyLen {
		select {
		case how := <-closed:
			if strings.HasPrefix(how, "204") {
				t.Fatalf("the server took a trickled body whole (%s)", how)
			}
			t.Logf("cut after %d of %d body bytes: %s", sent, bodyLen, how)
			return
		case <-time.After(50 * time.Millisecond):
		}
		if _, err := conn.Write([]byte("x")); err != nil {
			t.Logf("cut after %d of %d body bytes: write: %v", sent, bodyLen, err)
			return
		}
		sent++
	}
	t.Fatalf("the server read a body trickled over %d writes without cutting the connection", bodyLen)
}
