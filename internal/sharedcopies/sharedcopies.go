// Package sharedcopies lists the helper packages that every function module
// (or several modules) carries a copy of. Each function builds alone from
// the module proxy, so modules cannot import each other's code; a small
// helper is kept once, in its source folder, and copied byte for byte.
// TestSharedCopiesIdentical fails when a copy differs from its source;
// `go test ./internal/sharedcopies -update` rewrites the copies.
package sharedcopies

// Copy is one helper package: its source folder and the folders holding
// copies of it, all relative to the repository root.
type Copy struct {
	Source string
	Copies []string
}

// Copies lists every shared helper package.
func Copies() []Copy {
	return []Copy{
		{Source: "functions/alert/internal/envconf", Copies: []string{
			"functions/caption/internal/envconf", "functions/dashboard/internal/envconf",
			"functions/detect/internal/envconf", "functions/motion-source/internal/envconf"}},
		{Source: "functions/alert/internal/metricsserver", Copies: []string{
			"functions/caption/internal/metricsserver", "functions/dashboard/internal/metricsserver",
			"functions/detect/internal/metricsserver", "functions/motion-source/internal/metricsserver"}},
		{Source: "internal/syncbuf", Copies: []string{
			"functions/alert/internal/syncbuf", "functions/caption/internal/syncbuf",
			"functions/motion-source/internal/syncbuf"}},
		{Source: "functions/detect/internal/matleak", Copies: []string{
			"functions/motion-source/internal/matleak"}},
		{Source: "functions/alert/guard", Copies: []string{"functions/caption/guard"}},
	}
}
