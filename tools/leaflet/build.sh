#!/bin/sh
# Copies Leaflet and leaflet.markercluster from npm (pinned in package-lock.json) into
# sync_server/static/vendor/leaflet for the map page. Only needed when upgrading them; the result is
# committed, so running the server and the tests needs no Node.
set -eu
cd "$(dirname "$0")"
npm ci --no-audit --no-fund --loglevel=error
out=../../sync_server/static/vendor/leaflet
rm -rf "$out"
mkdir -p "$out/images"
cp node_modules/leaflet/dist/leaflet.js node_modules/leaflet/dist/leaflet.css "$out/"
cp node_modules/leaflet/dist/images/*.png "$out/images/"
cp node_modules/leaflet/LICENSE "$out/LICENSE-leaflet.txt"
cp node_modules/leaflet.markercluster/dist/leaflet.markercluster.js \
   node_modules/leaflet.markercluster/dist/MarkerCluster.css \
   node_modules/leaflet.markercluster/dist/MarkerCluster.Default.css "$out/"
cp node_modules/leaflet.markercluster/MIT-LICENCE.txt "$out/LICENSE-markercluster.txt"
rm -rf node_modules
