// Package onnx reads and writes ONNX model files without OpenCV: Read
// checks a file's protocol-buffer structure against ONNX's schema
// (ModelProto, GraphProto, NodeProto, TensorProto, ValueInfoProto) and
// returns what detect needs to know before OpenCV sees it — opsets, ops,
// the input and output shapes; GraphWriter encodes small models; Generate
// writes the colour-pattern model in both YOLO output layouts.
//
// OpenCV's ONNX importer throws C++ exceptions that end the Go process, so a
// file must pass Read before it is handed to gocv.
package onnx

import (
	"errors"
	"fmt"
	"math"
	"os"
	"slices"
)

// Model is what Read found in an ONNX file.
type Model struct {
	// Path is the file read.
	Path string
	// IRVersion is the ONNX IR version of the file format.
	IRVersion int64
	// Producer names the program that wrote the file (e.g. "pytorch").
	Producer string
	// Opsets maps each operator-set domain ("" = the default ai.onnx) to
	// its version.
	Opsets map[string]int64
	// Metadata holds the model's metadata_props (Ultralytics exports write
	// "names", "stride", "imgsz" among others).
	Metadata map[string]string
	// Graph is the model's main graph.
	Graph Graph
}

// Graph is the part of a GraphProto detect looks at.
type Graph struct {
	// Nodes are the graph's operators in file (topological) order.
	Nodes []Node
	// Inputs are the graph inputs that are not initializers.
	Inputs []Value
	// Outputs are the graph outputs.
	Outputs []Value
	// Initializers counts the constant tensors.
	Initializers int

	constants map[string]bool
}

// Node is one operator of a graph.
type Node struct {
	Op, Domain, Name string
	Inputs, Outputs  []string
}

// Value is a named tensor with its declared shape.
type Value struct {
	Name string
	// Dims are the declared dimensions; -1 marks a symbolic or unknown one.
	// Nil when the shape is not declared.
	Dims []int64
}

// Ops returns the distinct operator types of the main graph, sorted.
func (m *Model) Ops() []string {
	var ops []string
	for _, n := range m.Graph.Nodes {
		if !slices.Contains(ops, n.Op) {
			ops = append(ops, n.Op)
		}
	}
	slices.Sort(ops)
	return ops
}

// Opset returns the default (ai.onnx) operator-set version.
func (m *Model) Opset() int64 { return m.Opsets[""] + m.Opsets["ai.onnx"] }

// maxFile bounds the files Read accepts: protocol buffers cannot exceed
// 2 GiB, and larger ONNX models keep their weights in external files.
const maxFile = math.MaxInt32

// Read reads and checks an ONNX file: it must be a well-formed ModelProto
// with an IR version, a default opset and a graph with nodes, inputs and
// outputs; every node input must be produced by an earlier node, a graph
// input or an initializer; every initializer's data must match its shape.
// Weights in external files are refused (OpenCV 4.6 does not load them).
func Read(path string) (*Model, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("onnx model: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("onnx model %s: not a regular file", path)
	}
	if st.Size() == 0 || st.Size() > maxFile {
		return nil, fmt.Errorf("onnx model %s: size %d bytes is not that of an ONNX model", path, st.Size())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("onnx model: %w", err)
	}
	m, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("onnx model %s: not a valid ONNX file: %w", path, err)
	}
	m.Path = path
	return m, nil
}

// Parse checks and decodes a serialised ModelProto; see Read.
func Parse(b []byte) (*Model, error) {
	fs, err := fields(b)
	if err != nil {
		return nil, fmt.Errorf("ModelProto: %w", err)
	}
	m := &Model{Opsets: map[string]int64{}, Metadata: map[string]string{}}
	var graph []byte
	for _, f := range fs {
		switch f.num {
		case 1: // ir_version
			if err := f.want(wireVarint, "ir_version"); err != nil {
				return nil, err
			}
			m.IRVersion = int64(f.v)
		case 2: // producer_name
			if err := f.want(wireBytes, "producer_name"); err != nil {
				return nil, err
			}
			m.Producer = string(f.b)
		case 7: // graph
			if err := f.want(wireBytes, "graph"); err != nil {
				return nil, err
			}
			graph = f.b
		case 8: // opset_import
			if err := f.want(wireBytes, "opset_import"); err != nil {
				return nil, err
			}
			domain, version, err := opset(f.b)
			if err != nil {
				return nil, err
			}
			m.Opsets[domain] = version
		case 14: // metadata_props
			if err := f.want(wireBytes, "metadata_props"); err != nil {
				return nil, err
			}
			key, value, err := entry(f.b)
			if err != nil {
				return nil, err
			}
			m.Metadata[key] = value
		}
	}
	if m.IRVersion < 1 || m.IRVersion > 100 {
		return nil, fmt.Errorf("ModelProto has no valid ir_version (%d)", m.IRVersion)
	}
	if m.Opset() <= 0 {
		return nil, errors.New("ModelProto imports no default (ai.onnx) opset")
	}
	if graph == nil {
		return nil, errors.New("ModelProto has no graph")
	}
	if m.Graph, err = parseGraph(graph); err != nil {
		return nil, fmt.Errorf("graph: %w", err)
	}
	if len(m.Graph.Nodes) == 0 || len(m.Graph.Inputs) == 0 || len(m.Graph.Outputs) == 0 {
		return nil, fmt.Errorf("graph has %d nodes, %d inputs and %d outputs: want at least one of each",
			len(m.Graph.Nodes), len(m.Graph.Inputs), len(m.Graph.Outputs))
	}
	if err := m.Graph.connected(); err != nil {
		return nil, fmt.Errorf("graph: %w", err)
	}
	return m, nil
}

func opset(b []byte) (string, int64, error) {
	fs, err := fields(b)
	if err != nil {
		return "", 0, fmt.Errorf("opset_import: %w", err)
	}
	var domain string
	var version int64
	for _, f := range fs {
		switch f.num {
		case 1:
			domain = string(f.b)
		case 2:
			version = int64(f.v)
		}
	}
	return domain, version, nil
}

// entry reads a StringStringEntryProto.
func entry(b []byte) (string, string, error) {
	fs, err := fields(b)
	if err != nil {
		return "", "", fmt.Errorf("metadata_props: %w", err)
	}
	var key, value string
	for _, f := range fs {
		switch f.num {
		case 1:
			key = string(f.b)
		case 2:
			value = string(f.b)
		}
	}
	return key, value, nil
}

func parseGraph(b []byte) (Graph, error) {
	fs, err := fields(b)
	if err != nil {
		return Graph{}, err
	}
	g := Graph{constants: map[string]bool{}}
	var inputs []Value
	for _, f := range fs {
		switch f.num {
		case 1, 5, 11, 12:
			if err := f.want(wireBytes, "graph member"); err != nil {
				return Graph{}, err
			}
		}
		switch f.num {
		case 1: // node
			n, err := parseNode(f.b)
			if err != nil {
				return Graph{}, fmt.Errorf("node %d: %w", len(g.Nodes), err)
			}
			g.Nodes = append(g.Nodes, n)
		case 5: // initializer
			name, err := checkTensor(f.b)
			if err != nil {
				return Graph{}, fmt.Errorf("initializer %d (%s): %w", g.Initializers, name, err)
			}
			g.constants[name] = true
			g.Initializers++
		case 11: // input
			v, err := parseValue(f.b)
			if err != nil {
				return Graph{}, fmt.Errorf("input: %w", err)
			}
			inputs = append(inputs, v)
		case 12: // output
			v, err := parseValue(f.b)
			if err != nil {
				return Graph{}, fmt.Errorf("output: %w", err)
			}
			g.Outputs = append(g.Outputs, v)
		}
	}
	for _, v := range inputs {
		if !g.constants[v.Name] { // older exporters list initializers as inputs too
			g.Inputs = append(g.Inputs, v)
		}
	}
	return g, nil
}

// connected checks that every node input exists when the node runs (ONNX
// requires nodes in topological order) and every graph output is produced.
func (g Graph) connected() error {
	known := map[string]bool{"": true}
	for _, v := range g.Inputs {
		known[v.Name] = true
	}
	for name := range g.constants {
		known[name] = true
	}
	for i, n := range g.Nodes {
		for _, in := range n.Inputs {
			if !known[in] {
				return fmt.Errorf("node %d (%s) reads %q, which no earlier node, input or initializer provides", i, n.Op, in)
			}
		}
		for _, o := range n.Outputs {
			known[o] = true
		}
	}
	for _, o := range g.Outputs {
		if !known[o.Name] {
			return fmt.Errorf("output %q is produced by no node", o.Name)
		}
	}
	return nil
}

func parseNode(b []byte) (Node, error) {
	fs, err := fields(b)
	if err != nil {
		return Node{}, err
	}
	var n Node
	for _, f := range fs {
		switch f.num {
		case 1, 2, 3, 4, 5, 7:
			if err := f.want(wireBytes, "node member"); err != nil {
				return Node{}, err
			}
		}
		switch f.num {
		case 1:
			n.Inputs = append(n.Inputs, string(f.b))
		case 2:
			n.Outputs = append(n.Outputs, string(f.b))
		case 3:
			n.Name = string(f.b)
		case 4:
			n.Op = string(f.b)
		case 5:
			if err := checkAttribute(f.b); err != nil {
				return Node{}, fmt.Errorf("%s attribute: %w", n.Op, err)
			}
		case 7:
			n.Domain = string(f.b)
		}
	}
	if n.Op == "" {
		return Node{}, errors.New("no op_type")
	}
	if len(n.Outputs) == 0 {
		return Node{}, fmt.Errorf("%s has no outputs", n.Op)
	}
	return n, nil
}

// checkAttribute checks the wire structure of an attribute, including the
// tensors and subgraphs it holds.
func checkAttribute(b []byte) error {
	fs, err := fields(b)
	if err != nil {
		return err
	}
	for _, f := range fs {
		switch f.num {
		case 5, 10: // t, tensors
			if _, err := checkTensor(f.b); err != nil {
				return err
			}
		case 6, 11: // g, graphs
			if _, err := parseGraph(f.b); err != nil {
				return fmt.Errorf("subgraph: %w", err)
			}
		}
	}
	return nil
}

// elemSize returns the byte size of an ONNX TensorProto data type, and
// false for types without a fixed size (strings, complex, sub-byte types).
func elemSize(dtype int64) (int64, bool) {
	switch dtype {
	case 2, 3, 9: // UINT8, INT8, BOOL
		return 1, true
	case 4, 5, 10, 16: // UINT16, INT16, FLOAT16, BFLOAT16
		return 2, true
	case 1, 6, 12: // FLOAT, INT32, UINT32
		return 4, true
	case 7, 11, 13: // INT64, DOUBLE, UINT64
		return 8, true
	}
	return 0, false
}

// checkTensor checks that a TensorProto's data matches its shape and type
// and that it is stored in the file; it returns the tensor's name.
func checkTensor(b []byte) (string, error) {
	fs, err := fields(b)
	if err != nil {
		return "", err
	}
	var (
		name          string
		dims          []int64
		dtype         int64
		raw           []byte
		hasRaw        bool
		typed, counts int64
		external      bool
	)
	for _, f := range fs {
		switch f.num {
		case 1:
			d, err := f.ints()
			if err != nil {
				return "", err
			}
			dims = append(dims, d...)
		case 2:
			dtype = int64(f.v)
		case 8:
			name = string(f.b)
		case 9:
			raw, hasRaw = f.b, true
		case 4: // float_data: packed or single fixed32
			typed++
			if f.wire == wireBytes {
				counts += int64(len(f.b) / 4)
			} else {
				counts++
			}
		case 10: // double_data: packed or single fixed64
			typed++
			if f.wire == wireBytes {
				counts += int64(len(f.b) / 8)
			} else {
				counts++
			}
		case 5, 7, 11: // int32_data, int64_data, uint64_data: varints
			typed++
			vs, err := f.ints()
			if err != nil {
				return name, err
			}
			counts += int64(len(vs))
		case 13:
			external = true
		case 14:
			external = external || f.v == 1
		}
	}
	if external {
		return name, errors.New("weights stored in an external file are not supported: export with the weights inside the .onnx file")
	}
	n := int64(1)
	for _, d := range dims {
		if d < 0 || (d > 0 && n > math.MaxInt32/d) {
			return name, fmt.Errorf("dims %v are not valid", dims)
		}
		n *= d
	}
	size, known := elemSize(dtype)
	switch {
	case hasRaw && known && int64(len(raw)) != n*size:
		return name, fmt.Errorf("raw data of %d bytes, dims %v of type %d need %d", len(raw), dims, dtype, n*size)
	case !hasRaw && typed > 0 && counts != n:
		return name, fmt.Errorf("%d values, dims %v need %d", counts, dims, n)
	}
	return name, nil
}

// parseValue reads a ValueInfoProto's name and tensor shape.
func parseValue(b []byte) (Value, error) {
	fs, err := fields(b)
	if err != nil {
		return Value{}, err
	}
	var v Value
	for _, f := range fs {
		switch f.num {
		case 1:
			v.Name = string(f.b)
		case 2: // TypeProto
			if v.Dims, err = tensorShape(f.b); err != nil {
				return Value{}, fmt.Errorf("%s: %w", v.Name, err)
			}
		}
	}
	if v.Name == "" {
		return Value{}, errors.New("value without a name")
	}
	return v, nil
}

// tensorShape reads TypeProto.tensor_type.shape: the dims, -1 where a dim
// has no value.
func tensorShape(typeProto []byte) ([]int64, error) {
	tensor, err := sub(typeProto, 1)
	if err != nil || tensor == nil {
		return nil, err
	}
	shape, err := sub(tensor, 2)
	if err != nil || shape == nil {
		return nil, err
	}
	fs, err := fields(shape)
	if err != nil {
		return nil, err
	}
	dims := []int64{}
	for _, f := range fs {
		if f.num != 1 {
			continue
		}
		d := int64(-1)
		ds, err := fields(f.b)
		if err != nil {
			return nil, err
		}
		for _, x := range ds {
			if x.num == 1 && x.wire == wireVarint && int64(x.v) > 0 {
				d = int64(x.v)
			}
		}
		dims = append(dims, d)
	}
	return dims, nil
}

// sub returns the payload of the last length-delimited field num (nil if none).
func sub(b []byte, num int) ([]byte, error) {
	fs, err := fields(b)
	if err != nil {
		return nil, err
	}
	var out []byte
	for _, f := range fs {
		if f.num == num && f.wire == wireBytes {
			out = f.b
		}
	}
	return out, nil
}
