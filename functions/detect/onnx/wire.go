package onnx

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// Protocol-buffer wire types (https://protobuf.dev/programming-guides/encoding/).
const (
	wireVarint  = 0
	wireFixed64 = 1
	wireBytes   = 2
	wireFixed32 = 5
)

// message appends the fields of one protocol-buffer message.
type message []byte

func (m *message) tag(field, wire int) { *m = binary.AppendUvarint(*m, uint64(field)<<3|uint64(wire)) }

// varint appends an integer field (int32, int64 and enums share the encoding).
func (m *message) varint(field int, v int64) {
	m.tag(field, wireVarint)
	*m = binary.AppendUvarint(*m, uint64(v))
}

// bytes appends a length-delimited field: a string, bytes or an embedded message.
func (m *message) bytes(field int, b []byte) {
	m.tag(field, wireBytes)
	*m = binary.AppendUvarint(*m, uint64(len(b)))
	*m = append(*m, b...)
}

func (m *message) str(field int, s string) { m.bytes(field, []byte(s)) }

func (m *message) float(field int, f float32) {
	m.tag(field, wireFixed32)
	*m = binary.LittleEndian.AppendUint32(*m, math.Float32bits(f))
}

// packedInts appends a packed repeated int64 field.
func (m *message) packedInts(field int, vs []int64) {
	var p []byte
	for _, v := range vs {
		p = binary.AppendUvarint(p, uint64(v))
	}
	m.bytes(field, p)
}

// littleEndian returns float32 values as ONNX stores them in raw_data.
func littleEndian(vs []float32) []byte {
	p := make([]byte, 0, 4*len(vs))
	for _, v := range vs {
		p = binary.LittleEndian.AppendUint32(p, math.Float32bits(v))
	}
	return p
}

// field is one decoded field of a message.
type field struct {
	num  int
	wire int
	v    uint64 // varint and fixed values
	b    []byte // length-delimited payload
}

// errTruncated reports a message that ends inside a field.
var errTruncated = errors.New("ends inside a field (truncated?)")

// fields decodes every field of a message. It checks the wire format only:
// tags, varints and lengths that stay inside the buffer.
func fields(b []byte) ([]field, error) {
	var out []field
	for len(b) > 0 {
		key, n := binary.Uvarint(b)
		if n <= 0 {
			return nil, errTruncated
		}
		b = b[n:]
		f := field{num: int(key >> 3), wire: int(key & 7)}
		if f.num == 0 || key>>3 > math.MaxInt32 {
			return nil, fmt.Errorf("field number %d is not valid", key>>3)
		}
		switch f.wire {
		case wireVarint:
			if f.v, n = binary.Uvarint(b); n <= 0 {
				return nil, errTruncated
			}
			b = b[n:]
		case wireFixed64:
			if len(b) < 8 {
				return nil, errTruncated
			}
			f.v, b = binary.LittleEndian.Uint64(b), b[8:]
		case wireFixed32:
			if len(b) < 4 {
				return nil, errTruncated
			}
			f.v, b = uint64(binary.LittleEndian.Uint32(b)), b[4:]
		case wireBytes:
			l, n := binary.Uvarint(b)
			if n <= 0 || l > uint64(len(b)-n) {
				return nil, errTruncated
			}
			f.b, b = b[n:n+int(l)], b[n+int(l):]
		default:
			return nil, fmt.Errorf("field %d has wire type %d, which ONNX does not use", f.num, f.wire)
		}
		out = append(out, f)
	}
	return out, nil
}

// ints returns the values of a repeated int64 field, packed or not.
func (f field) ints() ([]int64, error) {
	if f.wire == wireVarint {
		return []int64{int64(f.v)}, nil
	}
	if f.wire != wireBytes {
		return nil, fmt.Errorf("field %d: wire type %d for integers", f.num, f.wire)
	}
	var out []int64
	for b := f.b; len(b) > 0; {
		v, n := binary.Uvarint(b)
		if n <= 0 {
			return nil, errTruncated
		}
		out = append(out, int64(v))
		b = b[n:]
	}
	return out, nil
}

// want checks a field's wire type.
func (f field) want(wire int, what string) error {
	if f.wire != wire {
		return fmt.Errorf("%s (field %d) has wire type %d, want %d", what, f.num, f.wire, wire)
	}
	return nil
}
