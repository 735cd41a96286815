package onnx

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestPatternModelReadsBack(t *testing.T) {
	for _, c := range []struct {
		kind Kind
		out  []int64
	}{{KindPatternV5, []int64{1, 400, 9}}, {KindPatternV8, []int64{1, 8, 400}}} {
		g, err := Generate(c.kind, t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		m, err := Read(g.Model)
		if err != nil {
			t.Fatal(err)
		}
		in, out := m.Graph.Inputs, m.Graph.Outputs
		if m.Producer != PatternProducer || m.Opset() != PatternOpset || m.IRVersion != 7 ||
			len(in) != 1 || in[0].Name != "images" || !slices.Equal(in[0].Dims, []int64{1, 3, 640, 640}) ||
			len(out) != 1 || out[0].Name != "output0" || !slices.Equal(out[0].Dims, c.out) {
			t.Errorf("%s: producer %q opset %d IR %d inputs %+v outputs %+v", c.kind, m.Producer, m.Opset(), m.IRVersion, in, out)
		}
		if !slices.Contains(m.Ops(), "Conv") || !slices.Contains(m.Ops(), "Concat") || m.Graph.Initializers < 8 {
			t.Errorf("%s: ops %v, %d initializers", c.kind, m.Ops(), m.Graph.Initializers)
		}
		names, _ := os.ReadFile(g.Names)
		if string(names) != "accident\nfire\ngun\nknife\n" {
			t.Errorf("names %q", names)
		}
	}
	if _, err := Generate("pattern-onnx-v9", t.TempDir()); err == nil {
		t.Error("an unknown kind was generated")
	}
}

// model encodes a one-node graph after letting edit change it.
func model(edit func(g *GraphWriter)) []byte {
	g := NewGraph("t")
	g.Input("x", 1, 3, 8, 8)
	edit(g)
	g.Output("y", 1, 3, 8, 8)
	return g.Encode(13, "test")
}

func TestParseRefusesBrokenModels(t *testing.T) {
	relu := func(g *GraphWriter) { g.Node("Relu", []string{"x"}, []string{"y"}) }
	good := model(relu)
	if _, err := Parse(good); err != nil {
		t.Fatalf("a good model: %v", err)
	}
	var tensorShort message
	tensorShort.packedInts(1, []int64{2, 2})
	tensorShort.varint(2, 1)
	tensorShort.str(8, "w")
	tensorShort.bytes(9, littleEndian([]float32{1, 2, 3}))
	var external message
	external.packedInts(1, []int64{1})
	external.varint(2, 1)
	external.str(8, "w")
	external.varint(14, 1)
	withInit := func(t message) func(g *GraphWriter) {
		return func(g *GraphWriter) { g.inits = append(g.inits, t); relu(g) }
	}
	cases := []struct {
		name string
		b    []byte
		want string
	}{
		{"empty", nil, "no valid ir_version"},
		{"truncated", good[:len(good)-3], "truncated"},
		{"random text", []byte("hello, world"), "ModelProto"},
		{"no graph", func() []byte {
			var m message
			m.varint(1, 7)
			m.bytes(8, func() message { var o message; o.varint(2, 13); return o }())
			return m
		}(), "no graph"},
		{"no opset", func() []byte { var m message; m.varint(1, 7); return m }(), "no default"},
		{"dangling input", model(func(g *GraphWriter) { g.Node("Add", []string{"x", "z"}, []string{"y"}) }), `reads "z"`},
		{"output produced by nothing", model(func(g *GraphWriter) { g.Node("Relu", []string{"x"}, []string{"q"}) }), `output "y" is produced by no node`},
		{"tensor data short of its dims", model(withInit(tensorShort)), "raw data of 12 bytes"},
		{"external weights", model(withInit(external)), "external file"},
		{"node without op", model(func(g *GraphWriter) { var n message; n.str(2, "y"); g.nodes = append(g.nodes, n) }), "no op_type"},
	}
	for _, c := range cases {
		if _, err := Parse(c.b); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one saying %q", c.name, err, c.want)
		}
	}
}

func TestReadRefusesWhatIsNotAFile(t *testing.T) {
	dir := t.TempDir()
	if _, err := Read(dir); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("directory: %v", err)
	}
	if _, err := Read(filepath.Join(dir, "absent.onnx")); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("absent: %v", err)
	}
}

func TestNamesFromUltralyticsMetadata(t *testing.T) {
	cases := []struct {
		meta string
		want []string
		err  bool
	}{
		{"{0: 'person', 1: 'bicycle', 2: 'cell phone'}", []string{"person", "bicycle", "cell phone"}, false},
		{"{1: 'b', 0: 'a'}", []string{"a", "b"}, false},
		{`{0: "driver's seat", 1: 'back\\slash'}`, []string{"driver's seat", `back\slash`}, false},
		{"['accident', 'fire']", []string{"accident", "fire"}, false},
		{"{0: 'a', 2: 'c'}", nil, true},
		{"person,bicycle", nil, true},
		{"{}", nil, true},
	}
	for _, c := range cases {
		m := &Model{Metadata: map[string]string{"names": c.meta}}
		got, ok, err := m.Names()
		if !ok || (err != nil) != c.err || !slices.Equal(got, c.want) {
			t.Errorf("%s: %q, %v, %v; want %q (error %v)", c.meta, got, ok, err, c.want, c.err)
		}
	}
	if _, ok, _ := (&Model{}).Names(); ok {
		t.Error("a model without names metadata has names")
	}
	g, err := Generate(KindPatternV8, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	m, err := Read(g.Model)
	if err != nil {
		t.Fatal(err)
	}
	if names, ok, err := m.Names(); !ok || err != nil || strings.Join(names, ",") != "accident,fire,gun,knife" {
		t.Fatalf("the pattern model's names metadata: %q %v %v", names, ok, err)
	}
}
