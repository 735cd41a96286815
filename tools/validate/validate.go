// Package validate checks edgewatch's deployment tree (config/) the way a
// cluster would, without one: every object is decoded strictly into its real
// Go type and run through Knative's own defaulting and validation with the
// cluster's feature flags; every kustomization is built with kustomize's
// library and its output checked again; the Triggers are held against the
// event contract; every dashboard query must name a metric something
// exports; and no credential may be committed in plain text.
package validate

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"sigs.k8s.io/yaml"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"

	"github.com/edgewatch/edgewatch/tools/validate/contract"
	"github.com/edgewatch/edgewatch/tools/validate/kustomize"
	"github.com/edgewatch/edgewatch/tools/validate/manifest"
	"github.com/edgewatch/edgewatch/tools/validate/metrics"
	"github.com/edgewatch/edgewatch/tools/validate/objects"
	"github.com/edgewatch/edgewatch/tools/validate/report"
	"github.com/edgewatch/edgewatch/tools/validate/secrets"
)

// Options says what to validate. Relative paths are relative to Root.
type Options struct {
	// Root is the repository root.
	Root string
	// ConfigDir is the deployment tree; default "config".
	ConfigDir string
	// DeployDir holds the overlays of ConfigDir (kustomize refuses overlays
	// inside their base); default "deploy". It may be missing.
	DeployDir string
	// GoDirs hold the Go sources that declare edgewatch's metrics; default
	// "functions", "internal", "cmd".
	GoDirs []string
	// SecretAllow lists paths whose secret findings are accepted (see
	// secrets.Scanner).
	SecretAllow []string
}

func (o Options) withDefaults() Options {
	if o.ConfigDir == "" {
		o.ConfigDir = "config"
	}
	if o.DeployDir == "" {
		o.DeployDir = "deploy"
	}
	if o.GoDirs == nil {
		o.GoDirs = []string{"functions", "internal", "cmd"}
	}
	return o
}

func (o Options) abs(p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(o.Root, p)
}

func (o Options) rel(p string) string {
	if r, err := filepath.Rel(o.Root, p); err == nil && !strings.HasPrefix(r, "..") {
		return filepath.ToSlash(r)
	}
	return p
}

// Run validates the repository and returns every problem found. The error is
// for failures to run at all (an unreadable tree, a missing contract file).
func Run(ctx context.Context, opts Options) (*report.List, error) {
	opts = opts.withDefaults()
	configDir := opts.abs(opts.ConfigDir)
	var l report.List

	docs, jsonFiles, err := readTree(configDir, &l, opts)
	if err != nil {
		return nil, err
	}
	cluster, err := objects.ClusterFromDocuments(docs)
	if err != nil {
		return nil, err
	}
	v, err := objects.NewValidator(ctx, cluster)
	if err != nil {
		return nil, err
	}
	exported := metrics.Exported{}
	if err := metrics.ScanGo(exported, opts.Root, opts.GoDirs...); err != nil {
		return nil, err
	}
	metrics.AddKnown(exported)
	startSeries, err := metrics.ReadStartSeries(opts.abs(metrics.StartSeriesFile))
	if err != nil {
		return nil, err
	}
	for _, n := range exported.MarkAtStart(startSeries) {
		l.Addf(metrics.StartSeriesFile, "", "dashboards", "%s is listed but no Go source declares it", n)
	}

	// Dashboards as JSON files; a ConfigMap generated from one is not
	// checked a second time.
	checked := map[string]bool{}
	for _, f := range jsonFiles {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		checked[string(data)] = true
		for _, e := range checkDashboard(data, exported) {
			l.Addf(opts.rel(f), "", "dashboards", "%s", e)
		}
	}

	// Every object of every file, as written.
	var objs []objects.Object
	raw := map[string]bool{}
	for _, d := range docs {
		o, errs := v.Validate(d)
		for _, e := range errs {
			p := report.Problem{Path: opts.rel(d.Path), Object: d.ID(), Check: "objects", Message: e.Error()}
			l.Add(p)
			raw[d.ID()+"\x00"+p.Message] = true
		}
		if o.Value != nil {
			objs = append(objs, o)
		}
		l.Merge(dashboardConfigMap(o, exported, checked, opts))
	}

	// Every kustomization, rendered.
	read, built, err := checkBuilds(configDir, v, exported, checked, raw, &l, opts)
	if err != nil {
		return nil, err
	}
	if built {
		// Which files are deployed is known only when every build worked.
		checkDeployed(docs, read, &l, opts)
	}

	// The event contract, as generated from internal/contract.
	for _, p := range contract.CheckTriggers(contract.Edgewatch(), deployable(objs)).Problems() {
		p.Path = opts.rel(p.Path)
		l.Add(p)
	}

	// Plain-text secrets, over the whole repository.
	files, err := secrets.Files(opts.Root)
	if err != nil {
		return nil, err
	}
	l.Merge(secrets.Scanner{Allow: opts.SecretAllow}.Scan(opts.Root, files))
	return &l, nil
}

// readTree reads every YAML document under dir (kustomizations aside) and
// lists the JSON files (dashboards).
func readTree(dir string, l *report.List, opts Options) ([]manifest.Document, []string, error) {
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return nil, nil, fmt.Errorf("config directory %s: not found", dir)
	}
	files, err := manifest.FindYAML(dir)
	if err != nil {
		return nil, nil, err
	}
	inputs, err := generatorInputs(files)
	if err != nil {
		return nil, nil, err
	}
	var docs []manifest.Document
	for _, f := range files {
		if inputs[f] {
			// A file a configMapGenerator or secretGenerator turns into an
			// object's data (a camera list, say) is data, not an object.
			continue
		}
		ds, err := manifest.ReadFile(f)
		if err != nil {
			l.Addf(opts.rel(f), "", "yaml", "%v", err)
			continue
		}
		for _, d := range ds {
			if d.IsKustomization() {
				if !manifest.IsKustomizationFile(f) {
					l.Addf(opts.rel(f), d.ID(), "yaml", "a kustomization must be named kustomization.yaml")
				}
				continue
			}
			if manifest.IsKustomizationFile(f) {
				l.Addf(opts.rel(f), d.ID(), "yaml", "a kustomization file holds a %s", d.Kind)
				continue
			}
			docs = append(docs, d)
		}
	}
	var jsonFiles []string
	err = filepath.WalkDir(dir, func(path string, de os.DirEntry, err error) error {
		if err == nil && !de.IsDir() && strings.EqualFold(filepath.Ext(path), ".json") {
			jsonFiles = append(jsonFiles, path)
		}
		return err
	})
	return docs, jsonFiles, err
}

// generatorInputs returns the files that the kustomizations among files
// name as configMapGenerator or secretGenerator inputs.
func generatorInputs(files []string) (map[string]bool, error) {
	inputs := map[string]bool{}
	for _, f := range files {
		if !manifest.IsKustomizationFile(f) {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var k struct {
			ConfigMapGenerator []struct {
				Files []string `json:"files"`
			} `json:"configMapGenerator"`
			SecretGenerator []struct {
				Files []string `json:"files"`
			} `json:"secretGenerator"`
		}
		if err := yaml.Unmarshal(data, &k); err != nil {
			continue // reported when the kustomization is built
		}
		var names []string
		for _, g := range k.ConfigMapGenerator {
			names = append(names, g.Files...)
		}
		for _, g := range k.SecretGenerator {
			names = append(names, g.Files...)
		}
		for _, n := range names {
			// An entry is PATH or KEY=PATH.
			if _, p, ok := strings.Cut(n, "="); ok {
				n = p
			}
			inputs[filepath.Join(filepath.Dir(f), filepath.FromSlash(n))] = true
		}
	}
	return inputs, nil
}

func checkDashboard(data []byte, exported metrics.Exported) []error {
	_, queries, errs := metrics.ParseDashboard(data)
	return append(errs, metrics.CheckQueries(exported, queries)...)
}

// GrafanaDashboardLabel marks a ConfigMap that Grafana's sidecar loads.
const GrafanaDashboardLabel = "grafana_dashboard"

// dashboardConfigMap checks the dashboards inside a ConfigMap labelled for
// Grafana's sidecar.
func dashboardConfigMap(o objects.Object, exported metrics.Exported, checked map[string]bool, opts Options) *report.List {
	var l report.List
	cm, ok := o.Value.(*corev1.ConfigMap)
	if !ok {
		return &l
	}
	if _, ok := cm.Labels[GrafanaDashboardLabel]; !ok {
		return &l
	}
	if len(cm.Data) == 0 {
		l.Addf(opts.rel(o.Doc.Path), o.Doc.ID(), "dashboards", "labelled %s but holds no data", GrafanaDashboardLabel)
	}
	for k, data := range cm.Data {
		if checked[data] {
			continue
		}
		for _, e := range checkDashboard([]byte(data), exported) {
			l.Addf(opts.rel(o.Doc.Path), o.Doc.ID(), "dashboards", "%s: %s", k, e)
		}
	}
	return &l
}

// checkBuilds renders every kustomization under configDir, validates what
// it renders (reporting only what the files as written did not already
// show). It returns the files the builds read and whether every build
// worked.
func checkBuilds(configDir string, v *objects.Validator, exported metrics.Exported, checked, raw map[string]bool, l *report.List, opts Options) (map[string]bool, bool, error) {
	roots, err := kustomize.Roots(configDir)
	if err != nil {
		return nil, false, err
	}
	deployDir := opts.abs(opts.DeployDir)
	var overlays []string
	if st, err := os.Stat(deployDir); err == nil && st.IsDir() {
		if overlays, err = kustomize.Roots(deployDir); err != nil {
			return nil, false, err
		}
	}
	isOverlay := map[string]bool{}
	for _, r := range overlays {
		isOverlay[r] = true
	}
	roots = append(roots, overlays...)
	read := map[string]bool{}
	built := true
	for _, root := range roots {
		missing, err := kustomize.Missing(root)
		if err != nil {
			return nil, false, err
		}
		if len(missing) > 0 {
			for _, m := range missing {
				l.Addf(opts.rel(root), "", "kustomize", "resources/components entry %q does not exist", m)
			}
			built = false
			continue
		}
		b, err := kustomize.Run(root)
		if err != nil {
			l.Addf(opts.rel(root), "", "kustomize", "%v", err)
			built = false
			continue
		}
		for _, f := range b.Read {
			read[f] = true
		}
		overlay := isOverlay[root]
		for _, d := range b.Docs {
			d.Path = opts.rel(root) + " (kustomize build)"
			o, errs := v.Validate(d)
			for _, e := range errs {
				if !raw[d.ID()+"\x00"+e.Error()] {
					l.Addf(d.Path, d.ID(), "objects", "%v", e)
				}
			}
			l.Merge(dashboardConfigMap(o, exported, checked, opts))
			if overlay {
				for _, img := range images(o.Value) {
					if !hasRegistry(img) {
						l.Addf(d.Path, d.ID(), "images", "image %q has no registry: add it to the overlay's images:", img)
					}
				}
			}
		}
	}
	return read, built, nil
}

// checkDeployed reports manifest files no kustomization deploys. Patches of
// Knative's own ConfigMaps (namespaces knative-serving and knative-eventing)
// and templates (*.template.yaml, *.example.yaml) are applied otherwise.
func checkDeployed(docs []manifest.Document, read map[string]bool, l *report.List, opts Options) {
	seen := map[string]bool{}
	for _, d := range docs {
		if seen[d.Path] {
			continue
		}
		seen[d.Path] = true
		if isTemplate(d.Path) || d.Namespace == objects.ServingNamespace || d.Namespace == objects.EventingNamespace {
			continue
		}
		abs, _ := filepath.Abs(d.Path)
		if !read[abs] {
			l.Addf(opts.rel(d.Path), "", "kustomize", "no kustomization deploys this file: add it to the resources: of config/kustomization.yaml (or of the kustomization in its directory)")
		}
	}
}

func isTemplate(path string) bool {
	b := filepath.Base(path)
	return strings.Contains(b, ".template.") || strings.Contains(b, ".example.")
}

// deployable drops templates, which are not applied as written.
func deployable(objs []objects.Object) []objects.Object {
	var out []objects.Object
	for _, o := range objs {
		if !isTemplate(o.Doc.Path) {
			out = append(out, o)
		}
	}
	return out
}

// images lists the container images of a workload.
func images(v any) []string {
	var spec *corev1.PodSpec
	switch o := v.(type) {
	case *servingv1.Service:
		spec = &o.Spec.Template.Spec.PodSpec
	case *appsv1.Deployment:
		spec = &o.Spec.Template.Spec
	case *appsv1.StatefulSet:
		spec = &o.Spec.Template.Spec
	case *appsv1.DaemonSet:
		spec = &o.Spec.Template.Spec
	default:
		return nil
	}
	var out []string
	for _, c := range append(append([]corev1.Container(nil), spec.InitContainers...), spec.Containers...) {
		out = append(out, c.Image)
	}
	return out
}

// hasRegistry reports whether an image reference names a registry host.
func hasRegistry(image string) bool {
	first, _, ok := strings.Cut(image, "/")
	return ok && (strings.ContainsAny(first, ".:") || first == "localhost")
}
