package main

import (
	"net/http"
	"time"
)

// DefaultReadTimeout bounds how long a client may take to send one whole
// request, body included, to a server the runner starts. A client that
// trickles its body (slowloris) is cut off after it.
const DefaultReadTimeout = 15 * time.Second

// serverIdleTimeout is how long a kept-alive connection may wait for its
// next request.
const serverIdleTimeout = 2 * time.Minute

// boundedServer returns a server for h whose every phase has a deadline:
// the header within min(read, 10 s), the whole request within read, the
// response within write of the header's end (so write must cover read and
// the handler's own work), and an idle connection within 2 min.
func boundedServer(h http.Handler, read, write time.Duration) *http.Server {
	return &http.Server{Handler: h, ReadHeaderTimeout: min(read, 10*time.Second), ReadTimeout: read,
		WriteTimeout: write, IdleTimeout: serverIdleTimeout}
}
