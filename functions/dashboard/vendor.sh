#!/usr/bin/env bash
# Installs the pinned browser libraries and map data from package-lock.json
# with npm and copies what the page needs into web/static/vendor, which is
# committed so that `func build` works from a clean checkout without npm
# (and the map works without internet). Run through
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

# The offline basemap: Natural Earth's 1:110m country outlines (public domain) from world-atlas (ISC),
# turned from TopoJSON into GeoJSON with topojson-client (ISC) and rounded to 0.01 degrees.
world=web/static/vendor/world
rm -rf "${world}"
mkdir -p "${world}"
node -e '
const topojson = require("topojson-client");
const atlas = require("./node_modules/world-atlas/countries-110m.json");
const round = (c) => Array.isArray(c[0]) ? c.map(round) : [Math.round(c[0] * 100) / 100, Math.round(c[1] * 100) / 100];
const fc = topojson.feature(atlas, atlas.objects.countries);
for (const f of fc.features) {
  f.geometry.coordinates = round(f.geometry.coordinates);
  f.properties = { name: f.properties.name };
  delete f.id;
}
process.stdout.write(JSON.stringify(fc) + "\n");
' >"${world}/countries-110m.geojson"
cp node_modules/world-atlas/LICENSE "${world}/LICENSE"
cat >"${world}/NOTICE" <<NOTICE
countries-110m.geojson: Natural Earth 1:110m Admin 0 country boundaries (public domain,
https://www.naturalearthdata.com/), version 4.1.0, from world-atlas $(node -p 'require("./node_modules/world-atlas/package.json").version')
(ISC licence, LICENSE), converted to GeoJSON with topojson-client $(node -p 'require("./node_modules/topojson-client/package.json").version') (ISC).
NOTICE
echo "world outlines vendored into ${world}"
