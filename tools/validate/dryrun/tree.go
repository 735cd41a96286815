package dryrun

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"k8s.io/client-go/rest"

	"github.com/edgewatch/edgewatch/tools/validate/kustomize"
	"github.com/edgewatch/edgewatch/tools/validate/manifest"
	"github.com/edgewatch/edgewatch/tools/validate/report"
)

// Source is a set of objects applied together: one kustomize build, or the
// files of the tree that no build renders (Knative ConfigMap patches,
// templates), taken as written.
type Source struct {
	// Name says where the objects come from, relative to the repository
	// root, e.g. "deploy/prod (kustomize build)".
	Name string
	// Docs are the objects.
	Docs []manifest.Document
}

// Tree renders the deployment tree: every kustomization under configDir
// and deployDir (which may be missing), then every YAML document under
// configDir that none of those builds read. A build that fails is a problem
// in the returned list; its objects are not checked.
func Tree(root, configDir, deployDir string) ([]Source, *report.List, error) {
	var l report.List
	rel := func(p string) string {
		if r, err := filepath.Rel(root, p); err == nil && !strings.HasPrefix(r, "..") {
			return filepath.ToSlash(r)
		}
		return p
	}
	roots, err := kustomize.Roots(configDir)
	if err != nil {
		return nil, nil, err
	}
	if st, err := os.Stat(deployDir); err == nil && st.IsDir() {
		overlays, err := kustomize.Roots(deployDir)
		if err != nil {
			return nil, nil, err
		}
		roots = append(roots, overlays...)
	}
	var sources []Source
	read := map[string]bool{}
	for _, r := range roots {
		b, err := kustomize.Run(r)
		if err != nil {
			l.Addf(rel(r), "", "dry-run", "%v", err)
			continue
		}
		for _, f := range b.Read {
			read[f] = true
		}
		name := rel(r) + " (kustomize build)"
		for i := range b.Docs {
			b.Docs[i].Path = name
		}
		sources = append(sources, Source{Name: name, Docs: b.Docs})
	}

	files, err := manifest.FindYAML(configDir)
	if err != nil {
		return nil, nil, err
	}
	loose := Source{Name: rel(configDir) + " (files no kustomization renders)"}
	for _, f := range files {
		abs, err := filepath.Abs(f)
		if err != nil {
			return nil, nil, err
		}
		if read[abs] || manifest.IsKustomizationFile(f) {
			continue
		}
		docs, err := manifest.ReadFile(f)
		if err != nil {
			l.Addf(rel(f), "", "dry-run", "%v", err)
			continue
		}
		for i := range docs {
			docs[i].Path = rel(f)
		}
		loose.Docs = append(loose.Docs, docs...)
	}
	if len(loose.Docs) > 0 {
		sources = append(sources, loose)
	}
	return sources, &l, nil
}

// Options says what to check.
type Options struct {
	// Root is the repository root; ConfigDir and DeployDir are relative to it
	// unless absolute (defaults "config" and "deploy").
	Root, ConfigDir, DeployDir string
	// CRDFiles are installed before any object is sent.
	CRDFiles []string
	// Timeout bounds the wait for each CRD to be Established; default 2 minutes.
	Timeout time.Duration
}

// Result is the outcome of a whole run.
type Result struct {
	// CRDs are the CustomResourceDefinitions installed.
	CRDs []string
	// Outcomes holds every object's outcome, in source order.
	Outcomes []Outcome
	// Problems are the failures, ready to print.
	Problems *report.List
}

// Count returns how many objects ended with status s.
func (r *Result) Count(s Status) int {
	n := 0
	for _, o := range r.Outcomes {
		if o.Status == s {
			n++
		}
	}
	return n
}

// Run renders the tree, installs the CRDs, creates every namespace the
// objects name, and dry-runs every object against the API server cfg
// reaches. The error is for failures to run at all (unreadable tree, CRDs
// that do not install); rejected objects are Problems.
func Run(ctx context.Context, cfg *rest.Config, opts Options) (*Result, error) {
	abs := func(p, def string) string {
		if p == "" {
			p = def
		}
		if filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(opts.Root, p)
	}
	if opts.Timeout == 0 {
		opts.Timeout = 2 * time.Minute
	}
	configDir := abs(opts.ConfigDir, "config")
	if st, err := os.Stat(configDir); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("config directory %s: not found", configDir)
	}
	sources, problems, err := Tree(opts.Root, configDir, abs(opts.DeployDir, "deploy"))
	if err != nil {
		return nil, err
	}
	c, err := NewChecker(cfg)
	if err != nil {
		return nil, err
	}
	res := &Result{Problems: problems}
	if res.CRDs, err = InstallCRDs(ctx, c.Client(), opts.CRDFiles, opts.Timeout); err != nil {
		return nil, err
	}
	if err := c.EnsureNamespaces(ctx, namespaces(sources)); err != nil {
		return nil, err
	}
	for _, s := range sources {
		for _, d := range s.Docs {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			o := c.Check(ctx, d)
			res.Outcomes = append(res.Outcomes, o)
			if o.Status == Failed {
				res.Problems.Addf(d.Path, d.ID(), "dry-run", "%s", o.Message)
			}
		}
	}
	return res, nil
}

// namespaces lists DefaultNamespace and every namespace an object names.
func namespaces(sources []Source) []string {
	set := map[string]bool{DefaultNamespace: true}
	for _, s := range sources {
		for _, d := range s.Docs {
			if d.Namespace != "" {
				set[d.Namespace] = true
			}
		}
	}
	out := make([]string, 0, len(set))
	for n := range set {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
