// Package modelfetch downloads the official darknet YOLOv4 and YOLOv4-tiny
// COCO model files from their published URLs and verifies each against a
// pinned size and SHA-256 before it is renamed into place, so a partial or
// altered download is never mistaken for a model.
package modelfetch

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
)

// File is one file to fetch with its pins.
type File struct {
	// Name is the file name written in the target directory.
	Name string
	// URL is where the file is published.
	URL string
	// Size is the exact size in bytes.
	Size int64
	// SHA256 is the hex SHA-256 of the content.
	SHA256 string
}

// Set is the three files of a darknet model.
type Set struct {
	Cfg, Weights, Names File
}

// Files returns the set's files in download order (small ones first).
func (s Set) Files() []File { return []File{s.Cfg, s.Names, s.Weights} }

// darknetCommit pins the cfg and names files to one commit of
// AlexeyAB/darknet, so their checksums cannot drift with the branch.
const darknetCommit = "59596d7880f6504768df41d6daa586f5cb2b932f"

const raw = "https://raw.githubusercontent.com/AlexeyAB/darknet/" + darknetCommit + "/"

// cocoNames is the 80-label COCO names file both official models use.
var cocoNames = File{Name: "coco.names", URL: raw + "data/coco.names", Size: 625,
	SHA256: "634a1132eb33f8091d60f2c346ababe8b905ae08387037aed883953b7329af84"}

// Official returns the pinned files of an official model: "tiny"
// (YOLOv4-tiny) or "full" (YOLOv4). docs/models.md records where each pin
// comes from.
func Official(kind string) (Set, error) {
	switch kind {
	case "tiny":
		return Set{
			Cfg: File{Name: "yolov4-tiny.cfg", URL: raw + "cfg/yolov4-tiny.cfg", Size: 3231,
				SHA256: "f858e3724962eedf3ac44e3b6cb3f0c3d9ed067c306bb831f539c578b924c90e"},
			Weights: File{Name: "yolov4-tiny.weights", Size: 24_251_276,
				URL:    "https://github.com/AlexeyAB/darknet/releases/download/darknet_yolo_v4_pre/yolov4-tiny.weights",
				SHA256: "037676f0d929c24e1bd9a0037fe30dc416fc26e0ca2a4491a44d024873316061"},
			Names: cocoNames,
		}, nil
	case "full":
		return Set{
			Cfg: File{Name: "yolov4.cfg", URL: raw + "cfg/yolov4.cfg", Size: 12231,
				SHA256: "a6d0f8e5c62cc8378384f75a8159b95fa2964d4162e33351b00ac82e0fc46a34"},
			Weights: File{Name: "yolov4.weights", Size: 257_717_640,
				URL:    "https://github.com/AlexeyAB/darknet/releases/download/darknet_yolo_v3_optimal/yolov4.weights",
				SHA256: "e8a4f6c62188738d86dc6898d82724ec0964d0eb9d2ae0f0a9d53d65d108d562"},
			Names: cocoNames,
		}, nil
	}
	return Set{}, fmt.Errorf("unknown official model %q (want tiny or full)", kind)
}

// Mirror returns the set with every URL replaced by base + "/" + file name,
// for a local mirror of the files.
func (s Set) Mirror(base string) Set {
	base = strings.TrimSuffix(base, "/")
	for _, f := range []*File{&s.Cfg, &s.Weights, &s.Names} {
		f.URL = base + "/" + f.Name
	}
	return s
}

// Fetcher downloads files.
type Fetcher struct {
	// Client does the requests (default http.DefaultClient).
	Client *http.Client
	// Progress, if set, is called with a line per file.
	Progress func(format string, args ...any)
}

// Fetch downloads f into dir unless a file with the right size and hash is
// already there, and returns its path. The download goes to a temporary
// file that is renamed into place only after size and SHA-256 match.
func (ft Fetcher) Fetch(ctx context.Context, f File, dir string) (string, error) {
	if f.Name == "" || strings.ContainsAny(f.Name, `/\`) || f.Size <= 0 || len(f.SHA256) != 64 {
		return "", fmt.Errorf("fetch %q: needs a plain name, a size and a 64-digit SHA-256 pin", f.Name)
	}
	path := filepath.Join(dir, f.Name)
	if err := verify(path, f); err == nil {
		ft.say("%s: already present and verified", f.Name)
		return path, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	ft.say("%s: downloading %d bytes from %s", f.Name, f.Size, f.URL)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, f.URL, nil)
	if err != nil {
		return "", fmt.Errorf("fetch %s: %w", f.Name, err)
	}
	client := ft.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("fetch %s: %w", f.Name, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("fetch %s: %s answered %s", f.Name, f.URL, resp.Status)
	}
	tmp, err := os.CreateTemp(dir, f.Name+".*.part")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), io.LimitReader(resp.Body, f.Size+1))
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", fmt.Errorf("fetch %s: %w", f.Name, err)
	}
	if n != f.Size {
		return "", fmt.Errorf("fetch %s: got %d bytes, pinned size is %d", f.Name, n, f.Size)
	}
	if sum := hex.EncodeToString(h.Sum(nil)); sum != strings.ToLower(f.SHA256) {
		return "", fmt.Errorf("fetch %s: SHA-256 %s does not match the pin %s", f.Name, sum, f.SHA256)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return "", err
	}
	ft.say("%s: verified", f.Name)
	return path, nil
}

// FetchSet fetches the three files of a set into dir.
func (ft Fetcher) FetchSet(ctx context.Context, s Set, dir string) error {
	for _, f := range s.Files() {
		if _, err := ft.Fetch(ctx, f, dir); err != nil {
			return err
		}
	}
	return nil
}

func (ft Fetcher) say(format string, args ...any) {
	if ft.Progress != nil {
		ft.Progress(format, args...)
	}
}

// verify checks an existing file against its pins.
func verify(path string, f File) error {
	fh, err := os.Open(path)
	if err != nil {
		return err
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return err
	}
	if st.Size() != f.Size {
		return errors.New("size differs")
	}
	h := sha256.New()
	if _, err := io.Copy(h, fh); err != nil {
		return err
	}
	if hex.EncodeToString(h.Sum(nil)) != strings.ToLower(f.SHA256) {
		return errors.New("hash differs")
	}
	return nil
}
