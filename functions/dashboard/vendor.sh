#!/usr/bin/env bash
# Installs the pinned browser libraries from package-lock.json with npm and
# copies what the page needs into web/static/vendor, which is committed so
# that `func build` works from a clean checkout without npm. Run through
# `go generate ./...` after changing package.json.
set -o errexit -o nounset -o pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

npm ci --ignore-scripts --no-audit --no-fund >/dev/null
dest=web/static/vendor/leaflet
rm -rf "${dest}"
mkdir -p "${dest}/images"
cp node_modules/leaflet/dist/leaflet.js node_modules/leaflet/dist/leaflet.css "${dest}/"
cp node_modules/leaflet/dist/images/*.png "${dest}/images/"
cp node_modules/leaflet/LICENSE "${dest}/LICENSE"
echo "leaflet $(node -p 'require("./node_modules/leaflet/package.json").version') vendored into ${dest}"
