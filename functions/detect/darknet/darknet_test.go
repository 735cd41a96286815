package darknet

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func analyze(t *testing.T, text string) (*Network, error) {
	t.Helper()
	cfg, err := ParseCfg(strings.NewReader(text))
	if err != nil {
		return nil, err
	}
	return Analyze(cfg)
}

func TestOfficialLayoutsHaveOfficialWeightsSizes(t *testing.T) {
	for _, c := range []struct {
		name      string
		cfg       string
		want      int64
		convs     int
		yoloGrids []int
	}{
		{"yolov4-tiny", TinyCfg(80, 416), 24_251_276, 21, []int{13, 26}},
		{"yolov4", FullCfg(80, 416), 257_717_640, 110, []int{52, 26, 13}},
	} {
		t.Run(c.name, func(t *testing.T) {
			n, err := analyze(t, c.cfg)
			if err != nil {
				t.Fatal(err)
			}
			if got := n.WeightsSize(); got != c.want {
				t.Errorf("weights size %d, want %d", got, c.want)
			}
			if len(n.Convs) != c.convs || len(n.Yolos) != len(c.yoloGrids) {
				t.Errorf("%d convolutions and %d [yolo] layers", len(n.Convs), len(n.Yolos))
			}
			for i, g := range c.yoloGrids {
				if i < len(n.Yolos) && (n.Yolos[i].Grid.W != g || len(n.Yolos[i].Anchors) != 3 || n.Yolos[i].Classes != 80) {
					t.Errorf("[yolo] %d: %+v, want a %d-cell grid", i, n.Yolos[i], g)
				}
			}
		})
	}
}

func TestGeneratedTinyFilesHaveTheOfficialSizeAndPassCheck(t *testing.T) {
	g, err := Generate(KindTiny, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(g.Files.Weights)
	if err != nil {
		t.Fatal(err)
	}
	if st.Size() != 24_251_276 {
		t.Fatalf("yolov4-tiny.weights is %d bytes", st.Size())
	}
	m, err := Check(g.Files)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Labels) != 80 || m.Labels[0] != "person" || m.Labels[43] != "knife" {
		t.Fatalf("labels %v", m.Labels[:3])
	}
}

func TestCheckRefusesBrokenFiles(t *testing.T) {
	g, err := Generate(KindPattern, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Check(g.Files); err != nil {
		t.Fatalf("generated pattern model: %v", err)
	}
	dir := t.TempDir()
	weights, _ := os.ReadFile(g.Files.Weights)
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cases := []struct {
		name  string
		files func(f Files) Files
		want  string
	}{
		{"missing cfg", func(f Files) Files { f.Cfg = filepath.Join(dir, "nope.cfg"); return f }, "no such file"},
		{"directory as cfg", func(f Files) Files { f.Cfg = dir; return f }, "cfg"},
		{"binary cfg", func(f Files) Files { f.Cfg = write("bin.cfg", []byte{0x7f, 'E', 'L', 'F', 0, 1}); return f }, "NUL"},
		{"empty cfg", func(f Files) Files { f.Cfg = write("empty.cfg", nil); return f }, "no sections"},
		{"truncated weights", func(f Files) Files { f.Weights = write("t.weights", weights[:len(weights)-100]); return f }, "truncated"},
		{"weights too long", func(f Files) Files { f.Weights = write("l.weights", append(weights, 0, 0, 0, 0)); return f }, "exactly"},
		{"header only", func(f Files) Files { f.Weights = write("h.weights", weights[:HeaderSize]); return f }, "truncated"},
		{"short header", func(f Files) Files { f.Weights = write("s.weights", weights[:7]); return f }, "header"},
		{"missing weights", func(f Files) Files { f.Weights = filepath.Join(dir, "nope.weights"); return f }, "no such file"},
		{"names count", func(f Files) Files { f.Names = write("n.names", []byte("a\nb\n")); return f }, "2 labels"},
		{"no paths", func(Files) Files { return Files{} }, "required"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Check(c.files(g.Files))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Check = %v; want an error mentioning %q", err, c.want)
			}
		})
	}
}

func TestAnalyzeRefusesWhatOpenCVWouldChokeOn(t *testing.T) {
	net := "[net]\nwidth=64\nheight=64\nchannels=3\n"
	conv := "[convolutional]\nfilters=18\nsize=1\nactivation=linear\n"
	yolo := "[yolo]\nmask=0,1,2\nanchors=1,1,2,2,3,3\nclasses=1\n"
	if _, err := analyze(t, net+conv+yolo); err != nil {
		t.Fatalf("minimal valid network: %v", err)
	}
	cases := map[string]struct{ text, want string }{
		"no net":              {conv + yolo, "[net]"},
		"no size":             {"[net]\nchannels=3\n" + conv + yolo, "input size"},
		"no yolo":             {net + conv, "no [yolo]"},
		"unknown layer":       {net + "[lstm]\n" + conv + yolo, "not supported"},
		"unknown activation":  {net + strings.Replace(conv, "linear", "gelu", 1) + yolo, "activation"},
		"yolo channels":       {net + strings.Replace(conv, "18", "17", 1) + yolo, "want 18"},
		"mask outside":        {net + conv + strings.Replace(yolo, "0,1,2", "0,1,5", 1), "mask"},
		"route out of range":  {net + conv + "[route]\nlayers=-5\n" + yolo, "outside"},
		"route forward":       {net + conv + "[route]\nlayers=3\n" + yolo, "outside"},
		"route size mismatch": {net + conv + "[maxpool]\nsize=2\nstride=2\n[route]\nlayers=-1,-2\n" + yolo, "different sizes"},
		"not a number":        {net + strings.Replace(conv, "size=1", "size=one", 1) + yolo, "not an integer"},
		"option first":        {"width=3\n" + net, "before the first section"},
		"bad header":          {"[net\n", "malformed"},
		"groups":              {net + "[convolutional]\nfilters=18\ngroups=4\n" + yolo, "divisible"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := analyze(t, c.text)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v; want an error mentioning %q", err, c.want)
			}
		})
	}
}

func TestReadHeaderOfOldWeights(t *testing.T) {
	// darknet < 0.2 wrote a 32-bit seen counter: a 16-byte header.
	old := []byte{0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0}
	h, err := ReadHeader(strings.NewReader(string(old)))
	if err != nil || h.Size() != 16 || h.Seen != 9 {
		t.Fatalf("header %+v size %d err %v", h, h.Size(), err)
	}
}

func TestPatternConfidenceIsTheCraftedFunction(t *testing.T) {
	if c := PatternConfidence(1); c < 0.96 || c > 0.97 {
		t.Fatalf("full cell: %v", c)
	}
	if c := PatternConfidence(0.5); c != 0.25 {
		t.Fatalf("half cell: %v", c)
	}
}
