package function

// Leaflet comes from npm (package.json, package-lock.json) and is copied
// into web/static/vendor, which is committed.
//go:generate bash vendor.sh
