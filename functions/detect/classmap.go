package function

// ResolveClassMap parses a CLASS_MAP value and resolves it against a
// model's labels exactly as Start does: index i of the result is label i's
// incident class, or "" when detect ignores the label. An empty value maps
// every label that is itself an incident class to itself. Tools that
// measure a model (yolo-model eval) use it to see classes as detect does.
func ResolveClassMap(classMap string, labels []string) ([]string, error) {
	m, err := ParseClassMap(classMap)
	if err != nil {
		return nil, err
	}
	return classesFor(m, labels), nil
}
