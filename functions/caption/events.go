package function

// CaptionID returns the id of the caption event of an incident; it is the
// same on every delivery, so the caption's consumers can drop repeats.
func CaptionID(incidentID string) string { return "caption-" + incidentID }
