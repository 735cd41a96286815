package metrics

import (
	"reflect"
	"testing"
)

func TestMetricNames(t *testing.T) {
	cases := []struct {
		expr string
		want []string
	}{
		{`up`, []string{"up"}},
		{`sum by (camera) (rate(edgewatch_motion_frames_analysed_total{camera=~"$camera"}[$__rate_interval]))`,
			[]string{"edgewatch_motion_frames_analysed_total"}},
		{`histogram_quantile(0.95, sum by (le, revision) (rate(kn_serving_invocation_duration_seconds_bucket{namespace="edgewatch", service=~"$service"}[5m])))`,
			[]string{"kn_serving_invocation_duration_seconds_bucket"}},
		{`sum(rate(a_sum[5m])) / sum(rate(a_count[5m])) by (le)`, []string{"a_sum", "a_count"}},
		{`max by (Hostname, gpu) (DCGM_FI_DEV_FB_USED + DCGM_FI_DEV_FB_FREE) * 1e3 - 2.5E-1`, []string{"DCGM_FI_DEV_FB_USED", "DCGM_FI_DEV_FB_FREE"}},
		{`count(sum by (kn_revision_name) (kn_revision_pods_count) == 0)`, []string{"kn_revision_pods_count"}},
		{`a / on(pod) group_left(node) b offset 5m`, []string{"a", "b"}},
		{`rate(x{l="}{[("}[1h:5m])`, []string{"x"}},
		{`sum without (instance) (y) > bool 3`, []string{"y"}},
		{`label_replace(z, "dst", "$1", "src", "(.*)")`, []string{"z"}},
	}
	for _, tc := range cases {
		got, err := MetricNames(tc.expr)
		if err != nil {
			t.Errorf("MetricNames(%q): %v", tc.expr, err)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("MetricNames(%q) = %v, want %v", tc.expr, got, tc.want)
		}
	}
}

func TestMetricNamesErrors(t *testing.T) {
	for _, expr := range []string{
		`rate(x[5m]`,
		`rate(x[5m]))`,
		`x{a="b}`,
		`sum(x{a="b"`,
		`histogramquantile(0.9, x)`,
	} {
		if _, err := MetricNames(expr); err == nil {
			t.Errorf("MetricNames(%q): no error", expr)
		}
	}
}

func TestSeries(t *testing.T) {
	e := Exported{}
	e.Add("h_seconds", Source{Kind: Histogram})
	e.Add("c_total", Source{Kind: Counter})
	e.Add("s", Source{Kind: Summary})
	e.Add("u", Source{Kind: Unknown})
	e.Add("u", Source{Kind: Unknown})
	for name, want := range map[string]bool{
		"h_seconds": false, "h_seconds_bucket": true, "h_seconds_sum": true, "h_seconds_count": true,
		"c_total": true, "c_total_bucket": false, "s": true, "s_sum": true, "s_bucket": false,
		"u": true, "u_bucket": true, "missing": false,
	} {
		if got, why := e.Series(name); got != want {
			t.Errorf("Series(%q) = %v (%s), want %v", name, got, why, want)
		}
	}
	e.Add("c_total", Source{Kind: Unknown})
	if e["c_total"].Kind != Counter {
		t.Error("an Unknown sighting replaced a known kind")
	}
}

func TestParseDashboardStructure(t *testing.T) {
	_, queries, errs := ParseDashboard([]byte(`{"uid":"u","title":"t","panels":[
		{"id":1,"type":"timeseries","title":"a","targets":[{"refId":"A","expr":"x"}]},
		{"id":1,"type":"timeseries","title":"b","targets":[{"refId":"A","expr":" "}]},
		{"id":2,"type":"row","title":"r","panels":[{"id":3,"type":"stat","title":"c","targets":[{"refId":"A","expr":"y"}]}]},
		{"id":4,"type":"","title":"","targets":[]}],
		"templating":{"list":[{"name":"v","type":"query","query":"label_values(z, camera)"},{"name":"d","type":"datasource","query":"prometheus"}]}}`))
	if len(queries) != 3 {
		t.Errorf("got %d queries, want 3 (x, y, z): %v", len(queries), queries)
	}
	if len(errs) != 4 { // duplicate id, empty expr, missing title/type, no targets
		t.Errorf("got %d errors, want 4: %v", len(errs), errs)
	}
	if _, _, errs := ParseDashboard([]byte(`{"panels": [`)); len(errs) != 1 {
		t.Errorf("broken JSON: got %v", errs)
	}
}

func TestMetricUsesTellsCountedReads(t *testing.T) {
	cases := []struct {
		expr string
		want []Use
	}{
		{`sum by (c) (rate(a_total{c=~"$c"}[$__rate_interval]))`, []Use{{"a_total", true}}},
		{`sum(increase(a_total[1h])) by (c) / sum(b)`, []Use{{"a_total", true}, {"b", false}}},
		{`histogram_quantile(0.95, sum by (le) (irate(h_bucket[5m]))) + max(g)`, []Use{{"h_bucket", true}, {"g", false}}},
		{`(max_over_time(a_total[5m])) - ((rate(b_total[5m])) * c)`, []Use{{"a_total", false}, {"b_total", true}, {"c", false}}},
		{`rate(a_total[5m]) or delta(g[5m])`, []Use{{"a_total", true}, {"g", false}}},
	}
	for _, tc := range cases {
		got, err := MetricUses(tc.expr)
		if err != nil {
			t.Errorf("MetricUses(%q): %v", tc.expr, err)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("MetricUses(%q) = %v, want %v", tc.expr, got, tc.want)
		}
	}
}

func TestFirstIncrease(t *testing.T) {
	e := Exported{
		"edgewatch_x_labelled_total": {Kind: Counter, Labelled: true},
		"edgewatch_x_started_total":  {Kind: Counter, Labelled: true, AtStart: true},
		"edgewatch_x_plain_total":    {Kind: Counter},
		"edgewatch_x_seconds":        {Kind: Histogram, Labelled: true},
		"edgewatch_x_info":           {Kind: Gauge, Labelled: true},
	}
	for expr, fails := range map[string]bool{
		`sum by (l) (rate(edgewatch_x_labelled_total[5m]))`:                           true,
		`increase(edgewatch_x_labelled_total[1h])`:                                    true,
		`edgewatch_x_labelled_total`:                                                  false,
		`rate(edgewatch_x_started_total[5m])`:                                         false,
		`rate(edgewatch_x_plain_total[5m])`:                                           false,
		`histogram_quantile(0.9, sum by (le) (rate(edgewatch_x_seconds_bucket[5m])))`: true,
		`max by (l) (edgewatch_x_info)`:                                               false,
	} {
		errs := CheckQueries(e, []Query{{Where: "q", Expr: expr}})
		if got := len(errs) > 0; got != fails {
			t.Errorf("%s: errors %v, want failing %v", expr, errs, fails)
		}
	}
}
