package darknet

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
)

// HeaderSize is the size of a .weights header written by darknet since
// version 0.2: int32 major, minor, revision and a uint64 count of images seen.
const HeaderSize = 20

// Header is the start of a .weights file.
type Header struct {
	Major, Minor, Revision int32
	// Seen is the number of training images the weights have seen.
	Seen uint64
}

// Size returns the header's size in bytes: 20, or 16 for files older than
// version 0.2 whose Seen counter is 32-bit.
func (h Header) Size() int64 {
	if h.Major*10+h.Minor >= 2 {
		return 20
	}
	return 16
}

// ReadHeader reads the header at the start of r.
func ReadHeader(r io.Reader) (Header, error) {
	var v [3]int32
	if err := binary.Read(r, binary.LittleEndian, &v); err != nil {
		return Header{}, fmt.Errorf("weights header: %w", err)
	}
	h := Header{Major: v[0], Minor: v[1], Revision: v[2]}
	if h.Major < 0 || h.Minor < 0 || h.Major > 1000 || h.Minor > 1000 {
		return Header{}, fmt.Errorf("weights header: version %d.%d is not a darknet weights version", h.Major, h.Minor)
	}
	if h.Size() == 20 {
		if err := binary.Read(r, binary.LittleEndian, &h.Seen); err != nil {
			return Header{}, fmt.Errorf("weights header: %w", err)
		}
	} else {
		var seen uint32
		if err := binary.Read(r, binary.LittleEndian, &seen); err != nil {
			return Header{}, fmt.Errorf("weights header: %w", err)
		}
		h.Seen = uint64(seen)
	}
	return h, nil
}

// CheckWeights verifies that the weights file at path holds exactly the
// parameters the network needs: its size must equal its header size plus
// 4 bytes per parameter. OpenCV loads a truncated file without complaint
// and computes garbage, so this check runs before it.
func CheckWeights(path string, n *Network) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("weights: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("weights: %w", err)
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("weights %s: not a regular file", path)
	}
	h, err := ReadHeader(f)
	if err != nil {
		return fmt.Errorf("weights %s: %w", path, err)
	}
	want := h.Size() + 4*n.Params()
	if st.Size() != want {
		return fmt.Errorf("weights %s: size %d bytes, the cfg needs exactly %d (%d header + 4 × %d parameters): truncated or for another cfg",
			path, st.Size(), want, h.Size(), n.Params())
	}
	return nil
}

// Files names the three files of a darknet model.
type Files struct {
	// Cfg is the network description (.cfg).
	Cfg string
	// Weights holds the parameters (.weights).
	Weights string
	// Names lists one label per line (.names).
	Names string
}

// Model is a checked darknet model: its network and labels.
type Model struct {
	Files   Files
	Network *Network
	// Labels are the class labels in class-index order.
	Labels []string
}

// Check verifies a model's files without OpenCV: the cfg parses and
// describes a supported network, the weights size matches it exactly, and
// the names file has one label per class. Only a model that passes may be
// handed to gocv.ReadNet.
func Check(files Files) (*Model, error) {
	if files.Cfg == "" || files.Weights == "" || files.Names == "" {
		return nil, errors.New("model: cfg, weights and names paths are all required")
	}
	f, err := os.Open(files.Cfg)
	if err != nil {
		return nil, fmt.Errorf("model cfg: %w", err)
	}
	cfg, err := ParseCfg(f)
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("model cfg %s: %w", files.Cfg, err)
	}
	net, err := Analyze(cfg)
	if err != nil {
		return nil, fmt.Errorf("model cfg %s: %w", files.Cfg, err)
	}
	if err := CheckWeights(files.Weights, net); err != nil {
		return nil, fmt.Errorf("model %w", err)
	}
	labels, err := ReadNames(files.Names)
	if err != nil {
		return nil, err
	}
	if len(labels) != net.Classes() {
		return nil, fmt.Errorf("model names %s: %d labels, the cfg has %d classes", files.Names, len(labels), net.Classes())
	}
	return &Model{Files: files, Network: net, Labels: labels}, nil
}

// ReadNames reads a .names file: one label per non-empty line.
func ReadNames(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("model names: %w", err)
	}
	defer f.Close()
	var labels []string
	sc := bufio.NewScanner(io.LimitReader(f, 1<<20))
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			labels = append(labels, l)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("model names %s: %w", path, err)
	}
	return labels, nil
}

// WeightsWriter writes a .weights file layer by layer in darknet order.
type WeightsWriter struct {
	w   *bufio.Writer
	buf []byte
	err error
	n   int64
}

// NewWeightsWriter writes the version 0.2.5 header to w and returns a
// writer for the parameters.
func NewWeightsWriter(w io.Writer) *WeightsWriter {
	ww := &WeightsWriter{w: bufio.NewWriterSize(w, 1<<20), buf: make([]byte, 4)}
	ww.err = binary.Write(ww.w, binary.LittleEndian, []int32{0, 2, 5})
	if ww.err == nil {
		ww.err = binary.Write(ww.w, binary.LittleEndian, uint64(0))
	}
	return ww
}

// Write appends float32 values.
func (ww *WeightsWriter) Write(values ...float32) {
	for _, v := range values {
		if ww.err != nil {
			return
		}
		binary.LittleEndian.PutUint32(ww.buf, math.Float32bits(v))
		_, ww.err = ww.w.Write(ww.buf)
		ww.n++
	}
}

// Fill appends n copies of v.
func (ww *WeightsWriter) Fill(n int, v float32) {
	for i := 0; i < n; i++ {
		ww.Write(v)
	}
}

// Count returns the number of float32 values written so far.
func (ww *WeightsWriter) Count() int64 { return ww.n }

// Close flushes the writer and reports the first error.
func (ww *WeightsWriter) Close() error {
	if ww.err != nil {
		return ww.err
	}
	return ww.w.Flush()
}
