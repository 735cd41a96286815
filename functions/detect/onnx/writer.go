package onnx

// GraphWriter builds a small ONNX graph of float32 tensors and encodes it
// as a ModelProto. It writes only what ONNX requires and OpenCV reads: no
// doc strings, no metadata.
type GraphWriter struct {
	name                  string
	nodes, inits, in, out []message
	meta                  []message
}

// Metadata adds a metadata_props entry to the model.
func (g *GraphWriter) Metadata(key, value string) {
	var e message
	e.str(1, key)
	e.str(2, value)
	g.meta = append(g.meta, e)
}

// NewGraph returns an empty graph called name.
func NewGraph(name string) *GraphWriter { return &GraphWriter{name: name} }

// Input declares a float32 graph input with fixed dims (-1 for a symbolic dim).
func (g *GraphWriter) Input(name string, dims ...int64) { g.in = append(g.in, valueInfo(name, dims)) }

// Output declares a float32 graph output; dims may be empty (shape not declared).
func (g *GraphWriter) Output(name string, dims ...int64) {
	g.out = append(g.out, valueInfo(name, dims))
}

// Floats adds a float32 initializer.
func (g *GraphWriter) Floats(name string, dims []int64, data []float32) {
	var t message
	t.packedInts(1, dims)
	t.varint(2, 1) // FLOAT
	t.str(8, name)
	t.bytes(9, littleEndian(data))
	g.inits = append(g.inits, t)
}

// Ints adds a 1-D int64 initializer (shapes, axes, split sizes).
func (g *GraphWriter) Ints(name string, data ...int64) {
	var t message
	t.packedInts(1, []int64{int64(len(data))})
	t.varint(2, 7) // INT64
	t.str(8, name)
	t.packedInts(7, data)
	g.inits = append(g.inits, t)
}

// Attr is one node attribute.
type Attr struct{ m message }

// Int returns an INT attribute.
func Int(name string, v int64) Attr {
	var a message
	a.str(1, name)
	a.varint(20, 2)
	a.varint(3, v)
	return Attr{a}
}

// Float returns a FLOAT attribute.
func Float(name string, v float32) Attr {
	var a message
	a.str(1, name)
	a.varint(20, 1)
	a.float(2, v)
	return Attr{a}
}

// String returns a STRING attribute.
func String(name, v string) Attr {
	var a message
	a.str(1, name)
	a.varint(20, 3)
	a.str(4, v)
	return Attr{a}
}

// Ints returns an INTS attribute.
func Ints(name string, vs ...int64) Attr {
	var a message
	a.str(1, name)
	a.varint(20, 7)
	for _, v := range vs {
		a.varint(8, v)
	}
	return Attr{a}
}

// Node adds an operator; its name is its first output.
func (g *GraphWriter) Node(op string, inputs, outputs []string, attrs ...Attr) {
	var n message
	for _, s := range inputs {
		n.str(1, s)
	}
	for _, s := range outputs {
		n.str(2, s)
	}
	n.str(3, outputs[0])
	n.str(4, op)
	for _, a := range attrs {
		n.bytes(5, a.m)
	}
	g.nodes = append(g.nodes, n)
}

// Encode returns the serialised ModelProto importing the default opset at
// version opset.
func (g *GraphWriter) Encode(opset int64, producer string) []byte {
	var gr message
	for _, n := range g.nodes {
		gr.bytes(1, n)
	}
	gr.str(2, g.name)
	for _, t := range g.inits {
		gr.bytes(5, t)
	}
	for _, v := range g.in {
		gr.bytes(11, v)
	}
	for _, v := range g.out {
		gr.bytes(12, v)
	}
	var op message
	op.str(1, "")
	op.varint(2, opset)
	var m message
	m.varint(1, irVersion(opset))
	m.str(2, producer)
	m.str(3, "1")
	m.bytes(7, gr)
	m.bytes(8, op)
	for _, e := range g.meta {
		m.bytes(14, e)
	}
	return m
}

// irVersion is the IR version ONNX released alongside an opset.
func irVersion(opset int64) int64 {
	switch {
	case opset <= 8:
		return 3
	case opset <= 10:
		return 5
	case opset <= 11:
		return 6
	case opset <= 14:
		return 7
	case opset <= 18:
		return 8
	case opset <= 20:
		return 9
	}
	return 10
}

func valueInfo(name string, dims []int64) message {
	var shape message
	for _, d := range dims {
		var dim message
		if d > 0 {
			dim.varint(1, d)
		} else {
			dim.str(2, "batch")
		}
		shape.bytes(1, dim)
	}
	var tensor message
	tensor.varint(1, 1) // FLOAT
	if len(dims) > 0 {
		tensor.bytes(2, shape)
	}
	var typ message
	typ.bytes(1, tensor)
	var v message
	v.str(1, name)
	v.bytes(2, typ)
	return v
}
