// Package darknet reads and writes darknet model files: the .cfg network
// description, the .weights parameter file and the .names label list. It
// checks a model before OpenCV sees it (OpenCV's importer aborts the whole
// process on a bad cfg and silently accepts truncated weights), and it
// generates official-layout YOLOv4 and YOLOv4-tiny files and a small crafted
// pattern model for tests and demos.
package darknet

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Section is one [section] of a darknet cfg with its key=value options.
type Section struct {
	// Type is the section name without brackets, e.g. "convolutional".
	Type string
	// Line is the 1-based line of the section header in the cfg text.
	Line int
	// Options holds the section's key=value pairs as written.
	Options map[string]string
}

// Cfg is a parsed darknet network description: the [net] section followed
// by the layers in order.
type Cfg struct {
	// Net is the [net] (or [network]) section.
	Net Section
	// Layers are the sections after [net]; layer i is Layers[i].
	Layers []Section
}

// maxCfgBytes bounds the cfg text read; the largest official cfgs are ~30 KB.
const maxCfgBytes = 4 << 20

// ParseCfg reads darknet cfg text. It refuses text that is not a darknet
// cfg: no [net] section first, an option outside a section, a line that is
// neither a section header, an option nor a comment, or binary content.
func ParseCfg(r io.Reader) (*Cfg, error) {
	raw, err := io.ReadAll(io.LimitReader(r, maxCfgBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read cfg: %w", err)
	}
	if len(raw) > maxCfgBytes {
		return nil, fmt.Errorf("cfg larger than %d bytes", maxCfgBytes)
	}
	if bytes.IndexByte(raw, 0) >= 0 {
		return nil, fmt.Errorf("cfg contains NUL bytes (binary file?)")
	}
	var sections []Section
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(make([]byte, 64*1024), maxCfgBytes)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		if line[0] == '[' {
			if !strings.HasSuffix(line, "]") || len(line) < 3 {
				return nil, fmt.Errorf("cfg line %d: malformed section header %q", n, line)
			}
			sections = append(sections, Section{Type: strings.TrimSpace(line[1 : len(line)-1]), Line: n, Options: map[string]string{}})
			continue
		}
		key, value, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("cfg line %d: expected key=value, got %q", n, truncate(line))
		}
		if len(sections) == 0 {
			return nil, fmt.Errorf("cfg line %d: option before the first section", n)
		}
		sections[len(sections)-1].Options[strings.TrimSpace(key)] = strings.TrimSpace(value)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read cfg: %w", err)
	}
	if len(sections) == 0 {
		return nil, fmt.Errorf("cfg has no sections")
	}
	if t := sections[0].Type; t != "net" && t != "network" {
		return nil, fmt.Errorf("cfg line %d: first section is [%s], want [net]", sections[0].Line, t)
	}
	return &Cfg{Net: sections[0], Layers: sections[1:]}, nil
}

func truncate(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// Int returns the integer option key, or def when the option is absent.
func (s Section) Int(key string, def int) (int, error) {
	v, ok := s.Options[key]
	if !ok {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, fmt.Errorf("cfg line %d [%s]: %s=%q is not an integer", s.Line, s.Type, key, v)
	}
	return n, nil
}

// Float returns the float option key, or def when the option is absent.
func (s Section) Float(key string, def float64) (float64, error) {
	v, ok := s.Options[key]
	if !ok {
		return def, nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return 0, fmt.Errorf("cfg line %d [%s]: %s=%q is not a number", s.Line, s.Type, key, v)
	}
	return f, nil
}

// Ints returns the comma-separated integer list option key (nil if absent).
func (s Section) Ints(key string) ([]int, error) {
	v, ok := s.Options[key]
	if !ok || v == "" {
		return nil, nil
	}
	parts := strings.Split(v, ",")
	out := make([]int, 0, len(parts))
	for _, p := range parts {
		n, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil {
			return nil, fmt.Errorf("cfg line %d [%s]: %s=%q is not an integer list", s.Line, s.Type, key, v)
		}
		out = append(out, n)
	}
	return out, nil
}

// Floats returns the comma-separated number list option key (nil if absent).
func (s Section) Floats(key string) ([]float64, error) {
	v, ok := s.Options[key]
	if !ok || v == "" {
		return nil, nil
	}
	parts := strings.Split(v, ",")
	out := make([]float64, 0, len(parts))
	for _, p := range parts {
		f, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil {
			return nil, fmt.Errorf("cfg line %d [%s]: %s=%q is not a number list", s.Line, s.Type, key, v)
		}
		out = append(out, f)
	}
	return out, nil
}
