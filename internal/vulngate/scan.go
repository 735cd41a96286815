package vulngate

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Target is what one scan looks at: a module's packages (source mode) or a built binary.
type Target struct {
	// Mode is "source" or "binary".
	Mode string
	// Path is the module's directory (source) or the binary's file (binary).
	Path string
}

// ParseTarget reads a target written as source:DIR or binary:FILE.
func ParseTarget(s string) (Target, error) {
	mode, p, ok := strings.Cut(s, ":")
	if !ok || p == "" || (mode != "source" && mode != "binary") {
		return Target{}, fmt.Errorf("target %q: want source:DIR or binary:FILE", s)
	}
	return Target{Mode: mode, Path: p}, nil
}

// String writes the target as ParseTarget reads it.
func (t Target) String() string { return t.Mode + ":" + t.Path }

// Scanner runs govulncheck against an offline database.
type Scanner struct {
	// Govulncheck is the path of the govulncheck binary.
	Govulncheck string
	// DB is the directory of the vulnerability database (the v1 layout cmd/indexdb writes).
	DB string
	// Env is the environment of the runs; nil means this process's.
	Env []string
}

// Scan runs govulncheck at symbol level over the target and decodes its findings. A source
// target is judged with its own go.mod (GOWORK=off), as `func build` and the Dockerfiles build
// it, unless its directory holds a go.work, which then decides the versions, as `make build` does.
func (s Scanner) Scan(ctx context.Context, t Target) (Scan, error) {
	db, err := filepath.Abs(s.DB)
	if err != nil {
		return Scan{}, err
	}
	args := []string{"-db", "file://" + filepath.ToSlash(db), "-format", "json", "-scan", "symbol"}
	env := s.Env
	if env == nil {
		env = os.Environ()
	}
	switch t.Mode {
	case "source":
		args = append(args, "-C", t.Path, "./...")
		if _, err := os.Stat(filepath.Join(t.Path, "go.work")); err != nil {
			env = append(env[:len(env):len(env)], "GOWORK=off")
		}
	case "binary":
		args = append(args, "-mode", "binary", t.Path)
	default:
		return Scan{}, fmt.Errorf("target %s: unknown mode %q", t, t.Mode)
	}
	cmd := exec.CommandContext(ctx, s.Govulncheck, args...)
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return Scan{}, fmt.Errorf("govulncheck %s: %w\n%s", t, err, strings.TrimSpace(stderr.String()))
	}
	scan, err := Decode(&stdout)
	if err != nil {
		return Scan{}, fmt.Errorf("govulncheck %s: %w", t, err)
	}
	return scan, nil
}
