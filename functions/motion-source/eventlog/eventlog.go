// Package eventlog records the motion events a source delivered as JSON
// lines (EVENT_LOG), so that an operator can capture what their own cameras
// send over a day and replay it, for instance through `edgewatch savings`.
//
// Each line is one event the sink acknowledged:
//
//	{"time":"2026-12-03T10:20:07.61Z","camera":"gate-1","id":"…","bytes":31234,"kind":"crop",
//	 "track":"1764755207610881","tracks":["1764755207610881","1764755207610883"]}
//
// time is the event's time (a file's media time, a live camera's wall
// clock); kind is crop (a region) or frame (the whole frame, letterboxed);
// track and tracks are absent when the camera does not track. Lines of one
// camera are in the order sent; cameras interleave, so a capture of several
// cameras is sorted by time before it is replayed.
package eventlog

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/edgewatch/edgewatch/functions/motion-source/emit"
)

// Record is one line of the log.
type Record struct {
	Time   time.Time `json:"time"`
	Camera string    `json:"camera"`
	ID     string    `json:"id"`
	Bytes  int       `json:"bytes"`
	Kind   string    `json:"kind"`
	Track  string    `json:"track,omitempty"`
	Tracks []string  `json:"tracks,omitempty"`
}

// Log appends records to a file. It is safe for concurrent use by every
// camera of a process.
type Log struct {
	mu     sync.Mutex
	f      *os.File
	failed bool // a write failed: it was reported once, later ones are not
	warn   func(error)
}

// Open opens (creating or appending to) the log at path. warn is told of
// the first failed write; the cameras go on without the log.
func Open(path string, warn func(error)) (*Log, error) {
	if path == "" {
		return nil, errors.New("eventlog: empty path")
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("eventlog: %w", err)
	}
	return &Log{f: f, warn: warn}, nil
}

// Sent records an event the sink acknowledged (emit.Recorder).
func (l *Log) Sent(m emit.Motion, id string) {
	r := Record{Time: m.Time.UTC(), Camera: m.Camera, ID: id, Bytes: len(m.JPEG), Kind: m.Kind}
	if m.Track != 0 {
		r.Track = strconv.FormatUint(m.Track, 10)
		for _, t := range m.Tracks {
			r.Tracks = append(r.Tracks, strconv.FormatUint(t, 10))
		}
	}
	line, err := json.Marshal(r)
	if err != nil {
		l.fail(err)
		return
	}
	line = append(line, '\n')
	l.mu.Lock()
	defer l.mu.Unlock()
	// One write per line: a crash leaves whole lines.
	if _, err := l.f.Write(line); err != nil {
		l.failLocked(err)
	}
}

func (l *Log) fail(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.failLocked(err)
}

func (l *Log) failLocked(err error) {
	if !l.failed && l.warn != nil {
		l.warn(fmt.Errorf("eventlog: %w", err))
	}
	l.failed = true
}

// Close closes the file.
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.f.Close()
}
