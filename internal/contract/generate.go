package contract

// The function modules' copies of this package, its schema limits and the
// validator's contract table are generated from it.
//go:generate go run ../../cmd/contractgen -root ../..
