package darknet

import (
	"strings"
	"testing"
)

func TestOfficialSizes(t *testing.T) {
	for _, c := range []struct {
		name string
		cfg  string
		want int64
	}{{"tiny", TinyCfg(80, 416), 24251276}, {"full", FullCfg(80, 416), 257717640}} {
		cfg, err := ParseCfg(strings.NewReader(c.cfg))
		if err != nil {
			t.Fatal(err)
		}
		n, err := Analyze(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if got := n.WeightsSize(); got != c.want {
			t.Errorf("%s: weights size %d, want %d", c.name, got, c.want)
		}
	}
}
