package postgres

// The read model the dashboard reads, part of the contract between alert and
// the dashboard (docs/alert.md, "Read model"). Alert's migrations own the
// view; these are copies of the repository's internal/contract constants,
// whose tests keep them in step.

// ReadModelView is the view alert's migrations keep for the dashboard: the
// only relation the dashboard reads.
const ReadModelView = "dashboard_incidents"

// IncidentChannel returns the PostgreSQL NOTIFY channel on which alert's
// schema announces every change to a row of the read model, with the
// incident id as payload.
func IncidentChannel(schema string) string { return "edgewatch." + schema + ".incidents" }
