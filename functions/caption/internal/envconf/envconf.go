// Package envconf reads a function's configuration from the cfg map its
// Start receives into a struct tagged for github.com/caarlos0/env
// (`env:"KEY" envDefault:"value"`), and reports every bad key at once, each
// error naming its key.
//
// Every function module holds an identical copy of this file (modules build
// alone and cannot share code); the root module's TestSharedCopiesIdentical
// fails when the copies differ. Edit functions/alert/internal/envconf and
// copy it to the others.
package envconf

import (
	"cmp"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/caarlos0/env/v11"
)

// Parsers are parsers for special field types, keyed by the field's type.
type Parsers = map[reflect.Type]env.ParserFunc

// Parse fills dst, a pointer to a tagged struct, from cfg. Values are
// trimmed and a blank value counts as unset, so its default applies. Every
// value that does not parse is reported, each as KEY="value": reason.
func Parse(dst any, cfg map[string]string, parsers Parsers) error {
	environ := make(map[string]string, len(cfg))
	for k, v := range cfg {
		if v = strings.TrimSpace(v); v != "" {
			environ[k] = v
		}
	}
	funcs := Parsers{reflect.TypeOf(0): wholeNumber}
	for t, f := range parsers {
		funcs[t] = f
	}
	err := env.ParseWithOptions(dst, env.Options{Environment: environ, FuncMap: funcs})
	if err == nil {
		return nil
	}
	var agg env.AggregateError
	if !errors.As(err, &agg) {
		return err
	}
	keys := fieldKeys(reflect.TypeOf(dst).Elem(), map[string]string{})
	var p Problems
	for _, e := range agg.Errors {
		var pe env.ParseError
		if !errors.As(e, &pe) || keys[pe.Name] == "" {
			p.errs = append(p.errs, e)
			continue
		}
		p.Add(keys[pe.Name], environ[keys[pe.Name]], reason(pe))
	}
	return p.Err()
}

// wholeNumber reads an int as wide as the platform's (caarlos0/env reads
// 32 bits only).
func wholeNumber(v string) (any, error) { return strconv.Atoi(v) }

// fieldKeys maps each tagged field's name to its key, through nested structs.
func fieldKeys(t reflect.Type, out map[string]string) map[string]string {
	for i := range t.NumField() {
		f := t.Field(i)
		if key, _, _ := strings.Cut(f.Tag.Get("env"), ","); key != "" {
			out[f.Name] = key
		} else if f.Type.Kind() == reflect.Struct {
			fieldKeys(f.Type, out)
		}
	}
	return out
}

// reason says what a value that did not parse should have been.
func reason(pe env.ParseError) string {
	switch pe.Type {
	case reflect.TypeOf(time.Duration(0)):
		return "not a duration such as 30s"
	case reflect.TypeOf(true):
		return "not true or false"
	}
	switch pe.Type.Kind() {
	case reflect.Int, reflect.Int64, reflect.Int32, reflect.Uint, reflect.Uint64, reflect.Uint32:
		return "not a whole number"
	case reflect.Float32, reflect.Float64:
		return "not a number"
	}
	return pe.Err.Error()
}

// Problems collects what a configuration's checks find wrong, so that every
// bad key is reported at once.
type Problems struct{ errs []error }

// Add records that key's value is wrong, and why.
func (p *Problems) Add(key, value, why string) {
	p.errs = append(p.errs, fmt.Errorf("%s=%q: %s", key, value, why))
}

// Addf records a problem that concerns more than one key; its text must name
// them.
func (p *Problems) Addf(format string, args ...any) {
	p.errs = append(p.errs, fmt.Errorf(format, args...))
}

// Join records an error that already names its key; nil is ignored.
func (p *Problems) Join(err error) {
	if err != nil {
		p.errs = append(p.errs, err)
	}
}

// Err returns every recorded problem joined, one per line, or nil.
func (p *Problems) Err() error { return errors.Join(p.errs...) }

// Positive records a problem when v is not more than zero.
func Positive[T cmp.Ordered](p *Problems, key string, v T) {
	var zero T
	if v <= zero {
		p.Add(key, fmt.Sprint(v), "must be more than 0")
	}
}

// InRange records a problem when v is outside lo–hi.
func InRange[T cmp.Ordered](p *Problems, key string, v, lo, hi T) {
	if v < lo || v > hi {
		p.Add(key, fmt.Sprint(v), fmt.Sprintf("must be from %v to %v", lo, hi))
	}
}
